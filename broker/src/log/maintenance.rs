//! Segment housekeeping: listing on open, rolling, flushing, retention and truncation.

use std::fs;
use std::path::Path;

use super::epoch::sync_dir;
use super::segment::{segment_path, Segment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use super::{now_ms, IoContext, Log, LogError};

/// Base offsets of the segments in `dir`, ascending, after finishing an interrupted cleaning
/// ([`complete_swaps`]). Leftovers that belong to no segment (an index whose `.log` is gone,
/// Kafka's `.deleted` and `.cleaned` files) are removed.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<i64>, LogError> {
    complete_swaps(dir)?;
    let mut logs = Vec::new();
    let mut others = Vec::new();
    for entry in fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, suffix)) = name.split_once('.') else {
            continue;
        };
        let Ok(base) = stem.parse::<i64>() else {
            continue;
        };
        if stem.len() != 20 {
            continue;
        }
        match suffix {
            LOG_SUFFIX => logs.push(base),
            INDEX_SUFFIX | TIME_INDEX_SUFFIX => others.push((base, entry.path())),
            s if s.ends_with("deleted") || s.ends_with("cleaned") => {
                fs::remove_file(entry.path()).ctx(|| format!("removing {name}"))?;
            }
            _ => {}
        }
    }
    logs.sort_unstable();
    for (base, path) in others {
        if logs.binary_search(&base).is_err() {
            fs::remove_file(&path).ctx(|| format!("removing orphan {}", path.display()))?;
        }
    }
    Ok(logs)
}

/// Finishes the swaps a crash interrupted (Kafka's log loading does the same). A
/// `<base>.log.swap` was fully written and synced before any segment it replaces was deleted,
/// so it wins: every segment whose base offset lies in the swap's offset range is deleted,
/// then the swap takes its final name (its indexes are rebuilt on open). A `.cleaned` file
/// never got that far and is left for [`list_segments`] to remove.
fn complete_swaps(dir: &Path) -> Result<(), LogError> {
    let listing = || format!("listing {}", dir.display());
    let mut swaps = Vec::new();
    let mut logs = Vec::new();
    for entry in fs::read_dir(dir).ctx(listing)? {
        let name = entry
            .ctx(listing)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some((stem, suffix)) = name.split_once('.') else {
            continue;
        };
        let Ok(base) = stem.parse::<i64>() else {
            continue;
        };
        match suffix {
            "log.swap" if stem.len() == 20 => swaps.push(base),
            LOG_SUFFIX if stem.len() == 20 => logs.push(base),
            _ => {}
        }
    }
    for base in swaps {
        let swap = segment_path(dir, base, "log.swap");
        let next = next_offset_of(&swap)?;
        for &old in logs.iter().filter(|&&b| b >= base && b < next) {
            for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                remove_if_present(&segment_path(dir, old, suffix))?;
            }
        }
        for suffix in ["index.swap", "timeindex.swap"] {
            remove_if_present(&segment_path(dir, base, suffix))?;
        }
        let target = segment_path(dir, base, LOG_SUFFIX);
        fs::rename(&swap, &target).ctx(|| format!("renaming {}", swap.display()))?;
        tracing::info!(segment = %target.display(), "completed an interrupted swap of cleaned segments");
    }
    sync_dir(dir)
}

/// The offset after the last complete batch of the segment file at `path`.
fn next_offset_of(path: &Path) -> Result<i64, LogError> {
    use std::io::Read;
    let file = fs::File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .ctx(|| format!("stat {}", path.display()))?
        .len();
    let mut reader = std::io::BufReader::new(file);
    let mut head = [0u8; crate::records::header::HEADER_SIZE];
    let (mut pos, mut next) = (0u64, i64::MIN);
    while len - pos >= head.len() as u64 {
        reader
            .read_exact(&mut head)
            .ctx(|| format!("reading {}", path.display()))?;
        let Ok(h) = crate::records::BatchHeader::parse(&head) else {
            break;
        };
        let size = h.total_size() as u64;
        if size > len - pos {
            break;
        }
        std::io::copy(
            &mut (&mut reader).take(size - head.len() as u64),
            &mut std::io::sink(),
        )
        .ctx(|| format!("reading {}", path.display()))?;
        next = h.next_offset();
        pos += size;
    }
    Ok(next)
}

fn remove_if_present(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::Io {
            context: format!("deleting {}", path.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Removes the files of segments that come after a corrupt one (recovery drops them).
pub(super) fn delete_segment_files_after(dir: &Path, bases: &[i64]) -> Result<(), LogError> {
    for &base in bases {
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            let path = segment_path(dir, base, suffix);
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::Io {
                        context: format!("deleting {}", path.display()),
                        source: e,
                    })
                }
                _ => {}
            }
        }
        tracing::warn!(dir = %dir.display(), base, "deleted segment after corrupt data");
    }
    Ok(())
}

impl Log {
    /// Rolls when appending `size` bytes covering `[first, last]` would overflow the active
    /// segment (bytes, age, index entries, or 32-bit relative offsets).
    pub(super) fn maybe_roll(&mut self, size: u64, first: i64, last: i64) -> Result<(), LogError> {
        let seg = self.active();
        if seg.is_empty() {
            return Ok(());
        }
        let max_bytes = self.config.segment_bytes.min(i32::MAX as u64);
        let full = seg.size() + size > max_bytes;
        let aged = match (self.config.segment_ms, seg.first_append_ms()) {
            (Some(ms), Some(t)) => now_ms() - t >= ms as i64,
            _ => false,
        };
        let index_full = seg.index_entries() >= self.config.max_index_entries;
        let overflow = last - seg.base_offset() > i32::MAX as i64 || first < seg.base_offset();
        if full || aged || index_full || overflow {
            self.roll()?;
        }
        Ok(())
    }

    /// Starts a new active segment at LEO (no-op when the active one is empty). The old one is
    /// sealed; its fsync (and the directory's) is left to [`Log::take_unsynced`]'s caller, as
    /// Kafka flushes rolled segments in the background: a roll happens inside an append, and
    /// an fsync there, while other writers keep the disk busy, held up the partition's
    /// appends and the request thread they ran on for tens of milliseconds.
    pub fn roll(&mut self) -> Result<(), LogError> {
        if self.active().is_empty() {
            return Ok(());
        }
        let leo = self.log_end_offset();
        let unsynced = self.active_mut().seal_unsynced()?;
        let seg = Segment::create(&self.dir, leo, self.config.index_interval_bytes)?;
        self.segments.insert(leo, seg);
        self.unsynced.push(unsynced);
        Ok(())
    }

    /// Whether rolled segments wait for their fsync.
    pub fn has_unsynced(&self) -> bool {
        !self.unsynced.is_empty()
    }

    /// The rolled segments still to be fsynced, for the caller to sync without the log's
    /// lock.
    pub fn take_unsynced(&mut self) -> Option<Rolled> {
        (!self.unsynced.is_empty()).then(|| Rolled {
            dir: self.dir.clone(),
            segments: std::mem::take(&mut self.unsynced),
        })
    }

    /// Applies `flush.messages` / `flush.ms` after an append of `messages` records.
    pub(super) fn after_append(&mut self, messages: u64) -> Result<(), LogError> {
        self.unflushed_messages += messages;
        let by_count = self
            .config
            .flush_interval_messages
            .is_some_and(|n| self.unflushed_messages >= n);
        if by_count {
            return self.flush();
        }
        self.flush_if_due(now_ms())
    }

    /// Flushes if `flush.ms` has passed since the last flush; meant for a periodic task too,
    /// since a quiet partition gets no appends to trigger it.
    pub fn flush_if_due(&mut self, now_ms: i64) -> Result<(), LogError> {
        match self.config.flush_interval_ms {
            Some(ms) if self.unflushed_messages > 0 && now_ms - self.last_flush_ms >= ms as i64 => {
                self.flush()
            }
            _ => Ok(()),
        }
    }

    /// fsyncs the rolled segments not yet synced and the active one, and writes the
    /// leader epochs assigned since the checkpoint's last write, so a flushed log never needs
    /// its epochs rebuilt.
    pub fn flush(&mut self) -> Result<(), LogError> {
        if let Some(rolled) = self.take_unsynced() {
            rolled.sync()?;
        }
        self.active_mut().sync()?;
        self.epochs.write_if_behind()?;
        self.unflushed_messages = 0;
        self.last_flush_ms = now_ms();
        Ok(())
    }

    /// Deletes the oldest segments whose newest timestamp is older than `retention.ms`, then
    /// the oldest while the log exceeds `retention.bytes`. Returns how many were deleted.
    /// The active segment is rolled first when it would be deleted too, so an empty active
    /// segment at LEO always remains.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        // A compacted log is trimmed by time and size only if its policy also says `delete`.
        if !self.config.cleanup_policy.delete {
            return Ok(0);
        }
        if let Some(ms) = self.config.retention_ms {
            deleted +=
                self.delete_oldest_while(|s| s.is_empty() || now_ms - s.max_timestamp() > ms)?;
        }
        if let Some(limit) = self.config.retention_bytes {
            let mut excess = self.size_bytes().saturating_sub(limit);
            deleted += self.delete_oldest_while(|s| {
                let fits = s.size() <= excess && excess > 0;
                if fits {
                    excess -= s.size();
                }
                fits
            })?;
        }
        Ok(deleted)
    }

    /// Deletes the leading run of segments matching `pred` (called oldest first, once each).
    fn delete_oldest_while(
        &mut self,
        mut pred: impl FnMut(&Segment) -> bool,
    ) -> Result<usize, LogError> {
        let mut count = self.segments.values().take_while(|s| pred(s)).count();
        if count == self.segments.len() {
            if self.active().is_empty() {
                count -= 1;
            } else {
                self.roll()?;
            }
        }
        // The log now starts at the first segment kept: those before it go with the move.
        match self.segments.keys().nth(count) {
            Some(&kept) if count > 0 => self.raise_log_start_offset(kept),
            _ => Ok(0),
        }
    }

    fn first_base(&self) -> i64 {
        self.segments
            .keys()
            .next()
            .copied()
            .unwrap_or(self.log_start_offset)
    }

    /// Drops everything at or after `offset` (a follower diverged from its leader). The batch
    /// containing `offset` goes entirely, so LEO may end up below `offset` when it is not a
    /// batch boundary. Below the log start, the log is emptied and restarts at `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset <= self.first_base() {
            return self.truncate_fully_and_start_at(offset);
        }
        let doomed: Vec<i64> = self.segments.range(offset..).map(|(b, _)| *b).collect();
        for base in doomed {
            if let Some(seg) = self.segments.remove(&base) {
                seg.delete()?;
            }
        }
        if let Some((pos, _)) = self.active().find_batch(offset)? {
            self.truncate_active_at(pos)?;
        }
        let leo = self.log_end_offset();
        self.epochs.truncate_from_end(leo)
    }

    /// Cuts the active segment's `.log` at `pos` and reopens it so its indexes and timestamps
    /// are rebuilt from what remains.
    fn truncate_active_at(&mut self, pos: u64) -> Result<(), LogError> {
        let Some((base, seg)) = self.segments.pop_last() else {
            return Ok(());
        };
        let path = seg.log_path().to_path_buf();
        drop(seg);
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(pos))
            .ctx(|| format!("truncating {}", path.display()))?;
        let r = Segment::recover(
            &self.dir,
            base,
            base,
            self.config.index_interval_bytes,
            false,
        )?;
        self.segments.insert(base, r.segment);
        Ok(())
    }

    /// Deletes every segment and starts an empty log at `offset` (Kafka's
    /// `truncateFullyAndStartAt`); the epoch cache is cleared as it describes nothing left.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogError> {
        // Keep going on errors so the log still ends up with an active segment.
        let mut result = Ok(());
        for (_, seg) in std::mem::take(&mut self.segments) {
            result = result.and(seg.delete());
        }
        let seg = Segment::create(&self.dir, offset, self.config.index_interval_bytes)?;
        self.segments.insert(offset, seg);
        self.log_start_offset = offset;
        result?;
        self.epochs.clear()?;
        sync_dir(&self.dir)
    }
}

/// Rolled segments whose files (and directory entries) are still to be fsynced.
#[must_use = "rolled segments stay unsynced until synced"]
pub struct Rolled {
    dir: std::path::PathBuf,
    segments: Vec<super::segment::Unsynced>,
}

impl Rolled {
    pub fn sync(self) -> Result<(), LogError> {
        for s in &self.segments {
            s.sync()?;
        }
        sync_dir(&self.dir)
    }
}
