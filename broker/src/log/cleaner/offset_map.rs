//! The cleaner's key map (Kafka's `SkimpyOffsetMap`): for each key of the dirty section, the
//! offset of its latest record. A flat open-addressing table of (128-bit key hash, offset)
//! slots, allocated once and never grown, so its memory is exactly what it was given; keys
//! are not stored. Two keys with the same 128-bit hash would be taken for one (as with
//! Kafka's MD5), with odds far below those of a disk error.

use std::hash::{Hash, Hasher};

/// Bytes one slot takes: two hash words and an offset.
pub(crate) const SLOT_BYTES: usize = 24;
/// Kafka's `log.cleaner.io.buffer.load.factor`: the map counts as full beyond this.
const LOAD_FACTOR: f64 = 0.9;

#[derive(Clone, Copy)]
struct Slot {
    /// 0 in both words marks an empty slot (real hashes have bit 0 of `hi` set).
    hi: u64,
    lo: u64,
    offset: i64,
}

const EMPTY: Slot = Slot {
    hi: 0,
    lo: 0,
    offset: -1,
};

pub(crate) struct OffsetMap {
    slots: Vec<Slot>,
    len: usize,
    /// Entries allowed before the map reports itself full.
    max_entries: usize,
}

impl OffsetMap {
    /// A map for at most `expected_keys` keys within `memory_bytes`: the smaller of the two
    /// decides its size (at least one slot).
    pub(crate) fn new(memory_bytes: usize, expected_keys: usize) -> OffsetMap {
        let by_memory = memory_bytes / SLOT_BYTES;
        let wanted = ((expected_keys as f64 / LOAD_FACTOR) as usize).saturating_add(1);
        let slots = by_memory.min(wanted).max(1);
        OffsetMap {
            slots: vec![EMPTY; slots],
            len: 0,
            max_entries: ((slots as f64 * LOAD_FACTOR) as usize).max(1),
        }
    }

    /// Bytes the table holds.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots.len() * SLOT_BYTES
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Keys the map takes before it is full.
    pub(crate) fn capacity(&self) -> usize {
        self.max_entries
    }

    /// Records `offset` as the latest for `key`; false (and nothing recorded) when the key is
    /// new and the map is full.
    pub(crate) fn put(&mut self, key: KeyHash, offset: i64) -> bool {
        let KeyHash(hi, lo) = key;
        let i = self.find(hi, lo);
        let slot = &mut self.slots[i];
        if slot.hi == 0 {
            if self.len >= self.max_entries {
                return false;
            }
            self.len += 1;
            slot.hi = hi;
            slot.lo = lo;
        }
        slot.offset = slot.offset.max(offset);
        true
    }

    /// The latest offset recorded for `key`, -1 if none.
    pub(crate) fn get(&self, key: KeyHash) -> i64 {
        let KeyHash(hi, lo) = key;
        self.slots[self.find(hi, lo)].offset
    }

    /// Reads the first slot of each key, so that a batch's keys wait for memory together
    /// rather than one after another: the table is far larger than the CPU's caches, and its
    /// slots are visited at random.
    pub(crate) fn warm(&self, keys: impl Iterator<Item = KeyHash>) {
        let mut any = 0u64;
        for KeyHash(_, lo) in keys {
            any ^= self.slots[self.home(lo)].hi;
        }
        std::hint::black_box(any);
    }

    fn home(&self, lo: u64) -> usize {
        // The hash scaled onto 0..n: a multiply, where `%` would divide on every lookup.
        ((u128::from(lo) * self.slots.len() as u128) >> 64) as usize
    }

    /// The slot holding (hi, lo), or the empty slot where it would go (linear probing; the
    /// load factor guarantees an empty slot exists).
    fn find(&self, hi: u64, lo: u64) -> usize {
        let n = self.slots.len();
        let mut i = self.home(lo);
        loop {
            let s = &self.slots[i];
            if s.hi == 0 || (s.hi == hi && s.lo == lo) {
                return i;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }
}

/// A key's 128-bit hash, from two SipHash runs (std's, fixed keys: the same on every run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyHash(u64, u64);

impl KeyHash {
    pub(crate) fn of(key: &[u8]) -> KeyHash {
        let mut a = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut a);
        let mut b = std::collections::hash_map::DefaultHasher::new();
        0xc1ea_u16.hash(&mut b);
        key.hash(&mut b);
        KeyHash(a.finish() | 1, b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_offset_per_key_within_the_memory_given() {
        let mut map = OffsetMap::new(SLOT_BYTES * 100, 1000);
        assert_eq!(map.memory_bytes(), SLOT_BYTES * 100);
        for offset in 0..60 {
            assert!(map.put(KeyHash::of(format!("k{}", offset % 20).as_bytes()), offset));
        }
        assert_eq!(map.len(), 20);
        assert_eq!(map.get(KeyHash::of(b"k3")), 43);
        assert_eq!(map.get(KeyHash::of(b"k19")), 59);
        assert_eq!(map.get(KeyHash::of(b"absent")), -1);
        // An older offset never replaces a newer one.
        map.put(KeyHash::of(b"k3"), 1);
        assert_eq!(map.get(KeyHash::of(b"k3")), 43);
        let mut full_at = None;
        for i in 0..200 {
            if !map.put(KeyHash::of(format!("new{i}").as_bytes()), 100 + i) {
                full_at = Some(i);
                break;
            }
        }
        assert_eq!(full_at, Some(90 - 20), "full at the load factor");
        assert_eq!(map.len(), map.capacity());
        assert!(
            map.put(KeyHash::of(b"k5"), 500),
            "known keys still update when full"
        );
        assert_eq!(map.get(KeyHash::of(b"k5")), 500);
    }

    #[test]
    fn a_small_log_gets_a_small_map() {
        let map = OffsetMap::new(128 << 20, 10);
        assert!(map.memory_bytes() < 1024, "{}", map.memory_bytes());
    }
}
