//! The leader epoch cache (Kafka's `LeaderEpochFileCache`) and its `leader-epoch-checkpoint`.
//!
//! Each entry says "epoch E started at offset S". Followers use it (via OffsetForLeaderEpoch)
//! to find where their log diverges from the leader's after a leader change, instead of
//! truncating blindly to the high watermark.
//!
//! Checkpoint format (text): `0` (version), the entry count, then `<epoch> <startOffset>` per
//! line in ascending order. It is written to a temporary file, fsynced and renamed over the
//! old one so a crash leaves either the old or the new checkpoint, never a torn one.
//!
//! New entries ([`LeaderEpochCache::assign`]) are not written at once, so that a broker taking
//! over many new partitions does not pay two fsyncs per partition in LeaderAndIsr or on its
//! fetch path. A crash cannot lose one: an epoch that batches were written in is rebuilt by
//! `Log::open`, which scans every batch; a leader's epoch with no batch yet is assigned again
//! by the role the controller sends a restarted broker, and with no batch of it anywhere no
//! follower can ask for its end. New entries are written with the next flush of the log
//! (`flush.ms`, `flush.messages`, `log.flush.interval.ms`, shutdown) or with a truncation.
//! Truncations are written before they return, as Kafka writes every change: a stale file
//! could bring back an entry for offsets that now hold batches of an older epoch, which no
//! scan would correct.
//! (Writing new entries every few seconds instead, even outside the log's lock, put
//! thousands of fsyncs of a just-created topic in the way of the produce path.)

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{IoContext, LogError};

/// File name of the checkpoint inside the partition directory.
pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
const VERSION: &str = "0";

/// "Epoch `epoch` started at `start_offset`."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Ascending `(epoch, start offset)` entries, persisted by truncations and flushes.
#[derive(Debug)]
pub struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
    /// Entries from [`Self::assign`] not yet in the checkpoint file.
    unwritten: bool,
}

impl LeaderEpochCache {
    /// Loads the checkpoint at `path`, or starts empty when there is none.
    pub fn load(path: &Path) -> Result<LeaderEpochCache, LogError> {
        let entries = match fs::read_to_string(path) {
            Ok(text) => parse_checkpoint(&text)
                .map_err(|e| LogError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(LogError::Io {
                    context: format!("reading {}", path.display()),
                    source: e,
                })
            }
        };
        Ok(LeaderEpochCache {
            path: path.to_path_buf(),
            entries,
            unwritten: false,
        })
    }

    /// An empty cache that replaces the file at `path` on its next write: for a checkpoint that
    /// cannot be read, whose entries `Log::open` rebuilds from the batches.
    pub(super) fn replacing(path: &Path) -> LeaderEpochCache {
        LeaderEpochCache {
            path: path.to_path_buf(),
            entries: Vec::new(),
            unwritten: true,
        }
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    pub fn earliest_entry(&self) -> Option<EpochEntry> {
        self.entries.first().copied()
    }

    /// Records that `epoch` starts at `start_offset`, in memory until the next write (see the
    /// module notes). Ignored unless `epoch` is newer than the latest one. Entries starting at
    /// or after `start_offset` are dropped first, as Kafka does, so start offsets stay strictly
    /// increasing. Returns whether an entry was added.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return false;
        }
        self.entries.retain(|e| e.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.unwritten = true;
        true
    }

    /// Whether entries from [`Self::assign`] are still only in memory.
    #[cfg(test)]
    pub fn is_behind(&self) -> bool {
        self.unwritten
    }

    /// The log's directory was renamed: the checkpoint is now at `path`.
    pub(super) fn moved_to(&mut self, path: PathBuf) {
        self.path = path;
    }

    /// Takes `entries` (another copy's of the same log) instead of its own, written with the
    /// next flush.
    pub(super) fn adopt(&mut self, entries: &[EpochEntry]) {
        self.entries = entries.to_vec();
        self.unwritten = true;
    }

    /// Writes the checkpoint if [`Self::assign`] added entries since the last write.
    pub fn write_if_behind(&mut self) -> Result<(), LogError> {
        if self.unwritten {
            self.persist()?;
        }
        Ok(())
    }

    /// OffsetForLeaderEpoch: `(epoch, end offset)` for `requested_epoch`, following Kafka's
    /// `LeaderEpochFileCache.endOffsetFor`. The end offset of an epoch is the start offset of
    /// the next higher epoch; for the latest epoch it is the log end offset. `(-1, -1)` when
    /// unknown.
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch < 0 {
            return (-1, -1);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested_epoch) else {
            return (-1, -1);
        };
        match self
            .entries
            .iter()
            .rev()
            .find(|e| e.epoch <= requested_epoch)
        {
            Some(floor) => (floor.epoch, higher.start_offset),
            None => (requested_epoch, higher.start_offset),
        }
    }

    /// Drops entries starting at or after `end_offset` (the log was truncated there).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> Result<(), LogError> {
        if end_offset < 0 || !self.entries.iter().any(|e| e.start_offset >= end_offset) {
            return Ok(());
        }
        self.entries.retain(|e| e.start_offset < end_offset);
        self.persist()
    }

    /// The log now starts at `start_offset`: entries wholly before it are dropped, and the
    /// epoch covering `start_offset` is moved to start there (Kafka's `truncateFromStart`).
    pub fn truncate_from_start(&mut self, start_offset: i64) -> Result<(), LogError> {
        let n = self
            .entries
            .iter()
            .take_while(|e| e.start_offset <= start_offset)
            .count();
        if start_offset < 0 || n == 0 || self.entries[0].start_offset >= start_offset {
            return Ok(());
        }
        let covering = self.entries[n - 1];
        self.entries.drain(..n);
        self.entries.insert(
            0,
            EpochEntry {
                epoch: covering.epoch,
                start_offset,
            },
        );
        self.persist()
    }

    /// Removes every entry (the log was emptied).
    pub fn clear(&mut self) -> Result<(), LogError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        self.entries.clear();
        self.persist()
    }

    /// Writes the checkpoint atomically: temp file, fsync, rename, fsync the directory.
    fn persist(&mut self) -> Result<(), LogError> {
        let mut text = format!("{VERSION}\n{}\n", self.entries.len());
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        let tmp = self.path.with_extension("tmp");
        let ctx = || format!("writing {}", tmp.display());
        let mut file = File::create(&tmp).ctx(ctx)?;
        file.write_all(text.as_bytes()).ctx(ctx)?;
        file.sync_all().ctx(ctx)?;
        fs::rename(&tmp, &self.path).ctx(|| format!("renaming to {}", self.path.display()))?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        self.unwritten = false;
        Ok(())
    }
}

/// Makes a rename or file creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("syncing directory {}", dir.display()))
}

fn parse_checkpoint(text: &str) -> Result<Vec<EpochEntry>, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(v) if v.trim() == VERSION => {}
        other => return Err(format!("unsupported checkpoint version {other:?}")),
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("missing entry count")?;
    let mut entries: Vec<EpochEntry> = Vec::with_capacity(count.min(1024));
    for line in lines.by_ref().take(count) {
        let mut parts = line.split_whitespace();
        let epoch = parts.next().and_then(|p| p.parse().ok());
        let start_offset = parts.next().and_then(|p| p.parse().ok());
        let (Some(epoch), Some(start_offset)) = (epoch, start_offset) else {
            return Err(format!("malformed entry {line:?}"));
        };
        if entries
            .last()
            .is_some_and(|l: &EpochEntry| l.epoch >= epoch || l.start_offset > start_offset)
        {
            return Err(format!("entry {line:?} is not ascending"));
        }
        entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    if entries.len() != count {
        return Err(format!("expected {count} entries, found {}", entries.len()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path) -> LeaderEpochCache {
        LeaderEpochCache::load(&dir.join(CHECKPOINT_FILE)).expect("load")
    }

    #[test]
    fn assign_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = cache(dir.path());
        assert_eq!(c.latest_epoch(), None);
        c.assign(1, 0);
        c.assign(1, 5);
        c.assign(0, 7);
        c.assign(3, 10);
        c.assign(4, 10);
        let want = [
            EpochEntry {
                epoch: 1,
                start_offset: 0,
            },
            EpochEntry {
                epoch: 4,
                start_offset: 10,
            },
        ];
        assert_eq!(c.entries(), &want);
        assert_eq!(c.latest_epoch(), Some(4));
    }

    #[test]
    fn end_offset_for_follows_kafka() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = cache(dir.path());
        assert_eq!(c.end_offset_for(0, 10), (-1, -1));
        c.assign(2, 5);
        c.assign(4, 20);
        c.assign(7, 30);
        assert_eq!(c.end_offset_for(7, 42), (7, 42));
        assert_eq!(c.end_offset_for(4, 42), (4, 30));
        assert_eq!(c.end_offset_for(5, 42), (4, 30));
        assert_eq!(c.end_offset_for(2, 42), (2, 20));
        assert_eq!(c.end_offset_for(1, 42), (1, 5));
        assert_eq!(c.end_offset_for(8, 42), (-1, -1));
        assert_eq!(c.end_offset_for(-1, 42), (-1, -1));
    }

    #[test]
    fn truncation_and_checkpoint_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = cache(dir.path());
        c.assign(1, 0);
        c.assign(2, 10);
        c.assign(3, 20);
        c.assign(5, 30);
        c.write_if_behind().expect("write");
        let text = fs::read_to_string(dir.path().join(CHECKPOINT_FILE)).expect("read");
        assert_eq!(text, "0\n4\n1 0\n2 10\n3 20\n5 30\n");

        c.truncate_from_end(20).expect("truncate");
        assert_eq!(c.latest_epoch(), Some(2));
        c.truncate_from_start(15).expect("truncate");
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 2,
                start_offset: 15
            }]
        );
        c.truncate_from_start(10).expect("no-op");
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 2,
                start_offset: 15
            }]
        );

        let reloaded = cache(dir.path());
        assert_eq!(reloaded.entries(), c.entries());
        assert!(!dir.path().join("leader-epoch-checkpoint.tmp").exists());
    }

    #[test]
    fn new_epochs_wait_for_the_next_write_and_truncations_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CHECKPOINT_FILE);
        let mut c = cache(dir.path());
        assert!(c.assign(1, 0));
        assert!(!c.assign(1, 4), "same epoch");
        assert!(c.is_behind());
        assert!(!path.exists(), "written before a flush");
        c.write_if_behind().expect("write");
        assert!(!c.is_behind());
        assert_eq!(fs::read_to_string(&path).expect("read"), "0\n1\n1 0\n");

        assert!(c.assign(2, 10));
        assert!(c.assign(3, 20));
        assert_eq!(cache(dir.path()).latest_epoch(), Some(1));
        // A truncation is written at once, with the new entries it keeps.
        c.truncate_from_end(20).expect("truncate");
        assert!(!c.is_behind());
        assert_eq!(cache(dir.path()).entries(), c.entries());
        assert_eq!(c.latest_epoch(), Some(2));
    }

    #[test]
    fn rejects_corrupt_checkpoint() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(CHECKPOINT_FILE), "0\n2\n1 0\n").expect("write");
        assert!(matches!(
            LeaderEpochCache::load(&dir.path().join(CHECKPOINT_FILE)),
            Err(LogError::Corrupt(_))
        ));
    }
}
