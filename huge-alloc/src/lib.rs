//! The broker's global allocator: the system allocator, except that an allocation of
//! [`THRESHOLD`] bytes or more is an anonymous mapping made with `MAP_NORESERVE`.
//!
//! Why: kafka-protocol (0.15) decodes an array by reading its element count off the wire and
//! reserving room for that many elements before it decodes one. A 14-byte Metadata request
//! claiming 2^31 topics asks for ~150 GiB at once. The system allocator's `mmap` is charged
//! against the kernel's commit limit, an allocation that large fails, and a failed allocation
//! aborts the process: one malformed request from any client took the broker down.
//! With `MAP_NORESERVE` the kernel charges nothing until pages are touched, so the reservation
//! costs address space only; the decoder runs out of bytes at the first missing element, the
//! request is rejected as malformed and the mapping is unmapped untouched.
//!
//! Nothing the broker does legitimately comes near the threshold (requests are capped by
//! `socket.request.max.bytes`, 100 MiB by default), and the pages of a real huge allocation
//! behave like any other overcommitted memory. Under `vm.overcommit_memory = 2` (strict
//! accounting) the kernel ignores `MAP_NORESERVE`, and such a request still aborts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

use rustix::mm::{mmap_anonymous, mremap, munmap, MapFlags, MremapFlags, ProtFlags};

/// Allocations of this many bytes or more are mapped without reserving memory.
pub const THRESHOLD: usize = 1 << 30;

/// The smallest page size Linux uses; mappings are aligned to it, so larger alignments go to
/// the system allocator.
const PAGE: usize = 4096;

/// See the crate documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct HugeAlloc;

fn is_huge(size: usize, align: usize) -> bool {
    size >= THRESHOLD && align <= PAGE
}

/// A fresh zeroed private mapping of `size` bytes, or null.
fn map(size: usize) -> *mut u8 {
    // SAFETY: a new anonymous mapping at an address of the kernel's choosing aliases nothing.
    let mapped = unsafe {
        mmap_anonymous(
            ptr::null_mut(),
            size,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::NORESERVE,
        )
    };
    mapped.map_or(ptr::null_mut(), |p| p.cast())
}

// SAFETY: every block comes from `System` or from `map`, and is returned to the one it came
// from: the layout given back to `dealloc` and `realloc` is the one it was allocated with, and
// `is_huge` of that layout tells which.
unsafe impl GlobalAlloc for HugeAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(layout.size(), layout.align()) {
            map(layout.size())
        } else {
            // SAFETY: the caller's contract for `layout` is passed on unchanged.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(layout.size(), layout.align()) {
            // Anonymous mappings are zero-filled.
            map(layout.size())
        } else {
            // SAFETY: as in `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(layout.size(), layout.align()) {
            // SAFETY: `ptr` is a mapping of `layout.size()` bytes made by `map` (or resized by
            // `mremap`), and the caller gives up every reference into it. munmap can only fail
            // for a range that is not a mapping, and a deallocator has no one to report to.
            let _ = unsafe { munmap(ptr.cast(), layout.size()) };
        } else {
            // SAFETY: `ptr` came from `System` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let was_huge = is_huge(layout.size(), layout.align());
        let will_be_huge = is_huge(new_size, layout.align());
        match (was_huge, will_be_huge) {
            // SAFETY: `ptr` came from `System` with `layout`; the caller vouches for `new_size`.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => {
                // SAFETY: `ptr` is a page-aligned mapping of `layout.size()` bytes; MAYMOVE
                // lets the kernel move it, and the caller uses only the returned pointer.
                let moved =
                    unsafe { mremap(ptr.cast(), layout.size(), new_size, MremapFlags::MAYMOVE) };
                moved.map_or(ptr::null_mut(), |p| p.cast())
            }
            _ => {
                // SAFETY: `GlobalAlloc::realloc` requires `new_size`, rounded up to the
                // alignment, not to overflow `isize`, so this layout is valid.
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                // SAFETY: `new_layout` has a non-zero size (the caller's contract).
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least this long.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far more than any test machine's memory plus swap, far less than x86-64's 128 TiB of
    /// user address space.
    const ONE_TIB: usize = 1 << 40;

    fn strict_overcommit() -> bool {
        std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
            .map(|mode| mode.trim() == "2")
            .unwrap_or(false)
    }

    fn memory_plus_swap() -> usize {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib = |key: &str| {
            meminfo
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        };
        (kib("MemTotal:") + kib("SwapTotal:")) * 1024
    }

    #[test]
    fn an_allocation_beyond_memory_and_swap_is_only_reserved() {
        if strict_overcommit() {
            eprintln!("vm.overcommit_memory is 2: MAP_NORESERVE is ignored, nothing to test");
            return;
        }
        assert!(memory_plus_swap() < ONE_TIB, "this machine has over 1 TiB");
        let layout = Layout::from_size_align(ONE_TIB, 8).expect("layout");
        // The system allocator refuses it: what used to abort the broker.
        // SAFETY: a non-zero layout; a non-null result is freed with the same layout.
        let system = unsafe { System.alloc(layout) };
        if !system.is_null() {
            // SAFETY: allocated just above with `layout`.
            unsafe { System.dealloc(system, layout) };
            panic!("the system allocator granted 1 TiB: this test shows nothing here");
        }
        // SAFETY: as above, freed with `layout` at the end.
        let p = unsafe { HugeAlloc.alloc(layout) };
        assert!(!p.is_null(), "a 1 TiB reservation failed");
        // SAFETY: both offsets are inside the block; touching a page commits only that page.
        unsafe {
            p.write(7);
            p.add(ONE_TIB - 1).write(9);
            assert_eq!((p.read(), p.add(ONE_TIB - 1).read()), (7, 9));
            HugeAlloc.dealloc(p, layout);
        }
    }

    #[test]
    fn growing_past_the_threshold_and_back_keeps_the_contents() {
        if strict_overcommit() {
            eprintln!("vm.overcommit_memory is 2: skipping the huge step");
            return;
        }
        let small = Layout::from_size_align(4096, 8).expect("layout");
        // SAFETY: every pointer is used within the size it was last given, and the block is
        // freed with the layout of its last size.
        unsafe {
            let p = HugeAlloc.alloc(small);
            assert!(!p.is_null());
            for i in 0..4096 {
                p.add(i).write((i % 251) as u8);
            }
            let p = HugeAlloc.realloc(p, small, THRESHOLD + 4096);
            assert!(!p.is_null(), "growing into a mapping failed");
            p.add(THRESHOLD).write(42);
            let huge = Layout::from_size_align(THRESHOLD + 4096, 8).expect("layout");
            let p = HugeAlloc.realloc(p, huge, 2 * THRESHOLD);
            assert!(!p.is_null(), "mremap failed");
            assert_eq!(p.add(THRESHOLD).read(), 42);
            let huger = Layout::from_size_align(2 * THRESHOLD, 8).expect("layout");
            let p = HugeAlloc.realloc(p, huger, 4096);
            assert!(!p.is_null(), "shrinking back to the heap failed");
            for i in 0..4096 {
                assert_eq!(p.add(i).read(), (i % 251) as u8, "byte {i}");
            }
            HugeAlloc.dealloc(p, small);
        }
    }

    #[test]
    fn zeroed_allocations_are_zero_either_way() {
        for size in [64, THRESHOLD] {
            if size >= THRESHOLD && strict_overcommit() {
                continue;
            }
            let layout = Layout::from_size_align(size, 8).expect("layout");
            // SAFETY: read within the block, freed with its layout.
            unsafe {
                let p = HugeAlloc.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!((p.read(), p.add(size - 1).read()), (0, 0), "size {size}");
                HugeAlloc.dealloc(p, layout);
            }
        }
    }
}
