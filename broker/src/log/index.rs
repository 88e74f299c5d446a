//! Sparse offset and time indexes of one segment (`.index`, `.timeindex`).
//!
//! The crate forbids `unsafe`, so unlike Kafka we do not mmap the files: entries live in a
//! `Vec` and new ones are appended to the file with positional writes. The on-disk format is
//! Kafka's: `.index` holds 8-byte `[relativeOffset i32, position i32]` entries, `.timeindex`
//! 12-byte `[timestamp i64, relativeOffset i32]` entries, all big-endian, no header and no
//! preallocated tail.
//!
//! Indexes are derived data. On open the segment rebuilds them from its `.log` while it checks
//! the batches anyway, then [`IndexFile::reconcile`] compares the derived entries with the file
//! and rewrites the file when they differ (missing, truncated, torn or stale index).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{IoContext, LogError};

/// One fixed-size index entry and its big-endian encoding.
pub(crate) trait IndexEntry: Copy + PartialEq {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
}

/// `.index` entry: the last offset of a batch (relative to the segment base) and the file
/// position where that batch starts. Kafka indexes the batch's last offset, so a lookup of
/// any offset ≥ the entry's offset may start scanning at that position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) relative_offset: i32,
    pub(crate) position: u32,
}

impl IndexEntry for OffsetEntry {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
}

/// `.timeindex` entry: the largest timestamp seen so far in the segment and the (relative)
/// last offset of the batch that carries it. Every record at or before that offset has a
/// timestamp ≤ `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) timestamp: i64,
    pub(crate) relative_offset: i32,
}

impl IndexEntry for TimeEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
}

/// An index file plus its entries in memory.
pub(crate) struct IndexFile<E: IndexEntry> {
    path: PathBuf,
    file: File,
    entries: Vec<E>,
    /// How many of `entries` are already in the file.
    persisted: usize,
}

impl<E: IndexEntry> IndexFile<E> {
    /// Opens (creating if needed) the file without reading it; entries start empty and are
    /// filled by the segment's scan, then [`Self::reconcile`] brings the file in line.
    pub(crate) fn open(path: &Path) -> Result<Self, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .ctx(|| format!("opening index {}", path.display()))?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            entries: Vec::new(),
            persisted: 0,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The file was renamed (its handle is unchanged).
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds an entry in memory; [`Self::write_pending`] puts it on disk.
    pub(crate) fn push(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// Entries not yet written to the file.
    pub(crate) fn pending(&self) -> usize {
        self.entries.len() - self.persisted
    }

    /// Appends the entries not yet on disk to the file.
    pub(crate) fn write_pending(&mut self) -> Result<(), LogError> {
        if self.persisted == self.entries.len() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        let at = (self.persisted * E::SIZE) as u64;
        self.file
            .write_all_at(&buf, at)
            .ctx(|| format!("writing index {}", self.path.display()))?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Makes the file hold exactly the in-memory entries, rewriting it only when its bytes
    /// differ. Returns whether it was rewritten (i.e. the file was missing, stale or corrupt).
    pub(crate) fn reconcile(&mut self) -> Result<bool, LogError> {
        let mut expected = Vec::with_capacity(self.entries.len() * E::SIZE);
        for e in &self.entries {
            e.encode(&mut expected);
        }
        let len = self
            .file
            .metadata()
            .ctx(|| format!("stat {}", self.path.display()))?
            .len();
        let mut actual = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut actual, 0)
            .ctx(|| format!("reading index {}", self.path.display()))?;
        self.persisted = self.entries.len();
        if actual == expected {
            return Ok(false);
        }
        self.file
            .set_len(0)
            .ctx(|| format!("truncating index {}", self.path.display()))?;
        self.file
            .write_all_at(&expected, 0)
            .ctx(|| format!("rewriting index {}", self.path.display()))?;
        Ok(true)
    }

    pub(crate) fn sync(&self) -> Result<(), LogError> {
        self.file
            .sync_all()
            .ctx(|| format!("syncing index {}", self.path.display()))
    }
}

impl IndexFile<OffsetEntry> {
    /// The entry with the largest offset ≤ `offset` as `(absolute offset, position)`, or the
    /// segment start when there is none: scanning batches from there reaches `offset`.
    pub(crate) fn lookup(&self, base_offset: i64, offset: i64) -> (i64, u64) {
        let idx = self
            .entries
            .partition_point(|e| base_offset + e.relative_offset as i64 <= offset);
        match idx.checked_sub(1).map(|i| self.entries[i]) {
            Some(e) => (base_offset + e.relative_offset as i64, e.position as u64),
            None => (base_offset, 0),
        }
    }
}

impl IndexFile<TimeEntry> {
    /// Appends `(timestamp, offset)` only if it raises the maximum, keeping timestamps strictly
    /// increasing (Kafka's `TimeIndex.maybeAppend`).
    pub(crate) fn maybe_push(&mut self, base_offset: i64, timestamp: i64, offset: i64) {
        // `offset < base_offset`: no batch carried a timestamp yet (all were -1).
        let stale = self
            .entries
            .last()
            .is_some_and(|e| e.timestamp >= timestamp);
        if offset < base_offset || stale {
            return;
        }
        let relative_offset = (offset - base_offset) as i32;
        self.entries.push(TimeEntry {
            timestamp,
            relative_offset,
        });
    }

    /// Absolute offset of the last entry whose timestamp is < `timestamp`: every record at or
    /// before it is older than `timestamp`, so the first record with a timestamp ≥ `timestamp`
    /// comes after it. `None` means "scan from the segment start".
    pub(crate) fn last_offset_before(&self, base_offset: i64, timestamp: i64) -> Option<i64> {
        let idx = self.entries.partition_point(|e| e.timestamp < timestamp);
        idx.checked_sub(1)
            .map(|i| base_offset + self.entries[i].relative_offset as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_lookup_arithmetic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut idx = IndexFile::<OffsetEntry>::open(&dir.path().join("a.index")).expect("open");
        let base = 100;
        idx.push(OffsetEntry {
            relative_offset: 4,
            position: 500,
        });
        idx.push(OffsetEntry {
            relative_offset: 9,
            position: 1200,
        });
        assert_eq!(idx.lookup(base, 100), (100, 0));
        assert_eq!(idx.lookup(base, 103), (100, 0));
        assert_eq!(idx.lookup(base, 104), (104, 500));
        assert_eq!(idx.lookup(base, 108), (104, 500));
        assert_eq!(idx.lookup(base, 109), (109, 1200));
        assert_eq!(idx.lookup(base, 5000), (109, 1200));
        idx.write_pending().expect("write");
        let bytes = std::fs::read(idx.path()).expect("read");
        assert_eq!(bytes, [0, 0, 0, 4, 0, 0, 1, 244, 0, 0, 0, 9, 0, 0, 4, 176]);
        assert!(!idx.reconcile().expect("reconcile"));
    }

    #[test]
    fn time_index_is_monotonic_and_reconciles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.timeindex");
        std::fs::write(&path, b"garbage").expect("write");
        let mut idx = IndexFile::<TimeEntry>::open(&path).expect("open");
        idx.maybe_push(10, 1000, 12);
        idx.maybe_push(10, 900, 13);
        idx.maybe_push(10, 1000, 14);
        idx.maybe_push(10, 2000, 20);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.last_offset_before(10, 1000), None);
        assert_eq!(idx.last_offset_before(10, 1001), Some(12));
        assert_eq!(idx.last_offset_before(10, 5000), Some(20));
        assert!(idx.reconcile().expect("reconcile"));
        assert_eq!(std::fs::read(&path).expect("read").len(), 24);
    }
}
