//! The on-disk partition log, laid out as Kafka lays it out.
//!
//! A [`Log`] owns one partition directory (`<log.dir>/<topic>-<partition>/`) holding segments
//! named by their 20-digit base offset (`.log`, `.index`, `.timeindex`, see [`segment`]) and
//! the `leader-epoch-checkpoint` ([`LeaderEpochCache`]). Opening a log recovers it: every batch
//! is checked, a torn or corrupt tail is cut off (with any later segments) and the indexes are
//! rebuilt where they disagree with the data.
//!
//! - `mod.rs`: configuration, errors, open/append/read.
//! - [`segment`]: one segment's files, scan and recovery.
//! - [`index`]: the sparse offset and time indexes.
//! - [`epoch`]: the leader epoch cache.
//! - `maintenance`: roll, flush, retention, truncation.
//! - `start`: raising the log start offset (DeleteRecords, followers, retention).
//! - `lookup`: timestamp lookups (ListOffsets) and batch header listing.
//! - `relocate`: renaming a log's directory, and making one log a copy's successor (moves
//!   between log dirs, `replica::dir_move`).
//! - [`slice`]: what a read returns, batches left in their segment file until sent.

pub mod cleaner;
#[cfg(test)]
mod disk_errors;
mod epoch;
mod index;
mod lookup;
mod maintenance;
pub use maintenance::Rolled;
mod policy;
mod relocate;
mod segment;
mod slice;
mod start;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use epoch::{EpochEntry, LeaderEpochCache, CHECKPOINT_FILE};
pub use policy::{CleanupPolicy, Ratio};
pub use slice::LogSlice;

use crate::records::header::{self, batches, BatchHeader, RecordError, HEADER_SIZE};
use segment::Segment;

/// Per-log settings, Kafka's topic-level configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would grow beyond this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment's first append is older than this.
    pub segment_ms: Option<u64>,
    /// `retention.ms`: delete segments whose newest timestamp is older. None = forever.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: delete oldest segments while the log is larger. None = no limit.
    pub retention_bytes: Option<u64>,
    /// `index.interval.bytes`: log bytes between offset index entries.
    pub index_interval_bytes: usize,
    /// `segment.index.bytes / 8`: roll when the offset index has this many entries.
    pub max_index_entries: usize,
    /// `flush.messages`: fsync after this many messages. None = leave it to the OS.
    pub flush_interval_messages: Option<u64>,
    /// `flush.ms`: fsync when the last flush is older than this (checked on append and by
    /// [`Log::flush_if_due`]). None = leave it to the OS.
    pub flush_interval_ms: Option<u64>,
    /// `cleanup.policy`: time and size retention apply only with `delete`; the cleaner keeps
    /// the latest record of every key with `compact`.
    pub cleanup_policy: CleanupPolicy,
    /// `min.cleanable.dirty.ratio`: a compacted log is cleaned once this share of it is dirty.
    pub min_cleanable_dirty_ratio: Ratio,
    /// `min.compaction.lag.ms`: records younger than this are never cleaned.
    pub min_compaction_lag_ms: u64,
    /// `max.compaction.lag.ms`: a log whose oldest dirty record is older is cleaned whatever
    /// its dirty ratio. None = no limit (Kafka's Long.MAX_VALUE).
    pub max_compaction_lag_ms: Option<u64>,
    /// `delete.retention.ms`: how long a tombstone outlives the cleaning that first reached it.
    pub delete_retention_ms: u64,
}

impl Default for LogConfig {
    /// Kafka's defaults: 1 GiB segments, 7 days retention, 4 KiB index interval, 10 MiB index.
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(7 * 24 * 60 * 60 * 1000),
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            retention_bytes: None,
            index_interval_bytes: 4096,
            max_index_entries: (10 << 20) / 8,
            flush_interval_messages: None,
            flush_interval_ms: None,
            cleanup_policy: CleanupPolicy::DELETE,
            min_cleanable_dirty_ratio: Ratio::default(),
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: None,
            delete_retention_ms: 24 * 60 * 60 * 1000,
        }
    }
}

#[derive(Error, Debug)]
pub enum LogError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("offset {requested} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        requested: i64,
        log_start: i64,
        log_end: i64,
    },
    #[error("corrupt log data: {0}")]
    Corrupt(String),
    /// The log dir holding the log has failed (see `replica::log_dirs`): nothing is read or
    /// written there any more.
    #[error("log dir {} is offline", .0.display())]
    DirOffline(PathBuf),
    /// A background job on the log (a cleaning) was stopped before it finished.
    #[error("aborted")]
    Aborted,
}

impl LogError {
    /// An error of the disk (ENOSPC, EIO, ...) rather than of the data or the request: what
    /// fails a log dir.
    pub fn is_io(&self) -> bool {
        matches!(self, LogError::Io { .. })
    }
}

impl From<RecordError> for LogError {
    fn from(e: RecordError) -> Self {
        LogError::Corrupt(e.to_string())
    }
}

/// Attaches a context (the path involved) to I/O errors.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, LogError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, LogError> {
        self.map_err(|source| LogError::Io {
            context: f(),
            source,
        })
    }
}

/// Wall-clock milliseconds, for roll and flush timing.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: i64,
    pub last_offset: i64,
    /// The LogAppendTime stamped on the batches, -1 for CreateTime.
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole batches, back to back, as stored.
    pub data: LogSlice,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// One partition's log. Always has at least one segment; the last one is active.
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    epochs: LeaderEpochCache,
    unflushed_messages: u64,
    last_flush_ms: i64,
    /// Segments rolled since the last [`Log::take_unsynced`], still to be fsynced.
    unsynced: Vec<segment::Unsynced>,
}

impl Log {
    /// Opens (creating if needed) the log in `dir` and recovers it.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Log, LogError> {
        fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        let bases = maintenance::list_segments(dir)?;
        let mut segments = BTreeMap::new();
        let mut epoch_starts = Vec::new();
        let mut min_offset = 0;
        for (i, &base) in bases.iter().enumerate() {
            let sealed = i + 1 < bases.len();
            let r = Segment::recover(dir, base, min_offset, config.index_interval_bytes, sealed)?;
            if r.rebuilt_index {
                tracing::info!(segment = %r.segment.log_path().display(), "rebuilt index");
            }
            epoch_starts.extend(r.epoch_starts);
            min_offset = r.segment.next_offset();
            segments.insert(base, r.segment);
            if r.truncated_bytes > 0 {
                tracing::warn!(dir = %dir.display(), base, bytes = r.truncated_bytes, "truncated corrupt log tail");
                maintenance::delete_segment_files_after(dir, &bases[i + 1..])?;
                break;
            }
        }
        if segments.is_empty() {
            segments.insert(0, Segment::create(dir, 0, config.index_interval_bytes)?);
        }
        let log_start_offset = segments.keys().next().copied().unwrap_or(0);
        let checkpoint = dir.join(CHECKPOINT_FILE);
        let epochs = match LeaderEpochCache::load(&checkpoint) {
            Ok(epochs) => epochs,
            // Every batch carries its epoch, so the log itself can stand in for the file.
            Err(LogError::Corrupt(why)) => {
                tracing::warn!(error = %why, "unreadable leader epoch checkpoint: rebuilding it from the log");
                LeaderEpochCache::replacing(&checkpoint)
            }
            Err(e) => return Err(e),
        };
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset,
            epochs,
            unflushed_messages: 0,
            last_flush_ms: now_ms(),
            unsynced: Vec::new(),
        };
        let leo = log.log_end_offset();
        log.epochs.truncate_from_end(leo)?;
        log.epochs.truncate_from_start(log_start_offset)?;
        // Entries the batches carry but the checkpoint missed (appended after its last write);
        // like the appends' own, they reach the file with the next flush.
        let mut rebuilt = 0;
        for e in epoch_starts {
            rebuilt += usize::from(log.epochs.assign(e.epoch, e.start_offset));
        }
        if rebuilt > 0 {
            tracing::info!(dir = %dir.display(), entries = rebuilt, "rebuilt leader epochs from the log");
        }
        Ok(log)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Applies changed topic configs (AlterConfigs); they take effect from the next append
    /// or retention pass. Existing index entries keep the old interval.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The next offset to be written (LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    pub fn leader_epochs(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    pub fn leader_epochs_mut(&mut self) -> &mut LeaderEpochCache {
        &mut self.epochs
    }

    fn active(&self) -> &Segment {
        match self.segments.last_key_value() {
            Some((_, s)) => s,
            None => unreachable!("a log always has an active segment"),
        }
    }

    fn active_mut(&mut self) -> &mut Segment {
        match self.segments.last_entry() {
            Some(e) => e.into_mut(),
            None => unreachable!("a log always has an active segment"),
        }
    }

    /// `batches`: one or more complete, already validated v2 batches. Assigns consecutive
    /// offsets from LEO (rewrites each baseOffset), stamps `leader_epoch`, and when
    /// `log_append_time_ms` is Some switches each batch to LogAppendTime with that time.
    /// Rolls first if needed.
    ///
    /// Only the 61 header bytes of each batch are copied and patched; the records are written
    /// from the request buffer as they arrived (the CRC does not cover the offset or epoch).
    pub fn append_as_leader(
        &mut self,
        batches: &[u8],
        leader_epoch: i32,
        log_append_time_ms: Option<i64>,
    ) -> Result<AppendInfo, LogError> {
        let mut offset = self.log_end_offset();
        let mut heads = Vec::new();
        let mut bodies = Vec::new();
        let mut iter = header::batches(batches);
        for item in iter.by_ref() {
            let (_, batch) = item?;
            let (original, body) = batch.split_at(HEADER_SIZE);
            let mut head = [0u8; HEADER_SIZE];
            head.copy_from_slice(original);
            header::set_base_offset(&mut head, offset);
            header::set_partition_leader_epoch(&mut head, leader_epoch);
            if let Some(t) = log_append_time_ms {
                header::stamp_log_append_time(&mut head, body, t);
            }
            let stored = BatchHeader::parse(&head)?;
            offset = stored.next_offset();
            heads.push((head, stored));
            bodies.push(body);
        }
        if iter.position() != batches.len() {
            return Err(LogError::Corrupt("incomplete batch in append".into()));
        }
        let headers: Vec<BatchHeader> = heads.iter().map(|(_, h)| *h).collect();
        let parts: Vec<&[u8]> = heads
            .iter()
            .zip(&bodies)
            .flat_map(|((head, _), body)| [&head[..], body])
            .collect();
        let mut info = self.write_batches(&parts, &headers)?;
        info.log_append_time = log_append_time_ms.unwrap_or(-1);
        Ok(info)
    }

    /// Followers: batches keep the leader's offsets, at or after LEO (a compacted log has gaps
    /// between batches, as Kafka's `appendAsFollower` allows). Each batch's CRC is checked
    /// since it crossed the network. A partial batch at the end (a fetch response may end with
    /// one) is ignored, as Kafka's replica fetcher does.
    pub fn append_as_follower(&mut self, batches: &[u8]) -> Result<AppendInfo, LogError> {
        let leo = self.log_end_offset();
        let mut expected = leo;
        let mut iter = header::batches(batches);
        for item in iter.by_ref() {
            let (h, bytes) = item?;
            h.verify_crc(bytes)?;
            // Gaps are fine: a compacted leader's log has them. Going back is not.
            if h.base_offset < expected {
                return Err(LogError::Corrupt(format!(
                    "follower batch at offset {} does not follow offset {expected} (LEO {leo})",
                    h.base_offset
                )));
            }
            expected = h.next_offset();
        }
        let complete = iter.position();
        self.append_batches(&batches[..complete])
    }

    /// Writes batches whose offsets are final, rolling first if they do not fit.
    fn append_batches(&mut self, data: &[u8]) -> Result<AppendInfo, LogError> {
        let mut headers = Vec::new();
        let mut iter = batches(data);
        for item in iter.by_ref() {
            headers.push(item?.0);
        }
        if iter.position() != data.len() {
            return Err(LogError::Corrupt(
                "trailing bytes after the last batch".into(),
            ));
        }
        self.write_batches(&[data], &headers)
    }

    /// Writes `parts` (which concatenate to the batches `headers` describe) at the end of the
    /// log, rolling first if they do not fit.
    fn write_batches(
        &mut self,
        parts: &[&[u8]],
        headers: &[BatchHeader],
    ) -> Result<AppendInfo, LogError> {
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Err(LogError::Corrupt("append without a complete batch".into()));
        };
        let (first_offset, last_offset) = (first.base_offset, last.last_offset());
        let size: usize = parts.iter().map(|p| p.len()).sum();
        self.maybe_roll(size as u64, first_offset, last_offset)?;
        self.active_mut().append(parts, headers)?;
        for h in headers {
            // Ignored unless the epoch is newer than the latest entry.
            self.epochs.assign(h.partition_leader_epoch, h.base_offset);
        }
        let messages: u64 = headers.iter().map(|h| h.last_offset_delta as u64 + 1).sum();
        self.after_append(messages)?;
        Ok(AppendInfo {
            first_offset,
            last_offset,
            log_append_time: -1,
            log_start_offset: self.log_start_offset,
        })
    }

    /// Whole batches starting with the one containing `offset`, at most `max_bytes` total,
    /// never including a batch whose base offset is ≥ `max_offset`. With `min_one_batch` the
    /// first batch is returned even if larger than `max_bytes` (KIP-74). Reads stay within
    /// one segment, as Kafka's do.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one_batch: bool,
    ) -> Result<ReadResult, LogError> {
        let leo = self.log_end_offset();
        if offset < self.log_start_offset || offset > leo {
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset,
                log_end: leo,
            });
        }
        let data = if offset == leo || offset >= max_offset {
            LogSlice::default()
        } else {
            self.read_segment_data(offset, max_bytes, max_offset, min_one_batch)?
        };
        Ok(ReadResult {
            data,
            log_start_offset: self.log_start_offset,
            log_end_offset: leo,
        })
    }

    fn read_segment_data(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one_batch: bool,
    ) -> Result<LogSlice, LogError> {
        let start = self
            .segments
            .range(..=offset)
            .next_back()
            .map_or(i64::MIN, |(b, _)| *b);
        for seg in self.segments.range(start..).map(|(_, s)| s) {
            let Some((first_pos, first)) = seg.find_batch(offset)? else {
                continue;
            };
            let mut len = 0usize;
            let mut take = |h: &BatchHeader| {
                let size = h.total_size();
                let fits = len + size <= max_bytes || (len == 0 && min_one_batch);
                if h.base_offset >= max_offset || !fits {
                    return false;
                }
                len += size;
                true
            };
            // The first batch's header is the one `find_batch` just read.
            if take(&first) {
                let next = first_pos + first.total_size() as u64;
                seg.scan_headers(next, |_, h| take(h))?;
            }
            return Ok(seg.slice(first_pos, len));
        }
        Ok(LogSlice::default())
    }

    /// Closes the log after an fsync.
    pub fn close(mut self) -> Result<(), LogError> {
        self.flush()
    }

    /// Removes the partition directory and everything in it.
    pub fn delete(self) -> Result<(), LogError> {
        let dir = self.dir.clone();
        drop(self);
        fs::remove_dir_all(&dir).ctx(|| format!("deleting {}", dir.display()))
    }
}
