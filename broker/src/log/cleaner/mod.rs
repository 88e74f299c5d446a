//! Log compaction (Kafka's `Cleaner`): keep the latest record of every key, at its offset.
//!
//! One cleaning of a log, in three steps so that the log's lock is held only to look and to
//! swap, never while reading or writing segments:
//! 1. [`Log::clean_snapshot`] (read lock): the sealed segments from the log start up to the
//!    first uncleanable offset (the active segment, or the first segment with records younger
//!    than `min.compaction.lag.ms`), where the dirty section starts (the cleaner's checkpoint)
//!    and how dirty the log is.
//! 2. [`clean`] (no lock): map every key of the dirty section to its latest offset (at most as
//!    many keys as the memory given holds; the rest stays dirty for the next pass), then copy
//!    the snapshot's segments, in groups that fit `segment.bytes`, into new segments written
//!    aside (`<base>.log.cleaned`), keeping a record only if it is its key's latest. Batches
//!    keep their base and last offsets and producer identity; a batch emptied of records is
//!    kept when it is its producer's last, for the producer's sequence. Tombstones are kept
//!    until `delete.retention.ms` after the cleaning that first reached them (KIP-534: the
//!    batch carries that delete horizon).
//! 3. [`Log::swap_cleaned`] (write lock, one group at a time): for a group still in the log
//!    unchanged, the cleaned files are renamed `.swap`, the old segments renamed `.deleted`
//!    and the swap renamed into place (Kafka's on-disk contract: after a crash a `.swap` is
//!    completed on open, a `.cleaned` or `.deleted` file removed; see
//!    `maintenance::complete_swaps`). The old files are deleted after the lock is let go
//!    ([`Retired::delete`]): unlinking 100 MB takes ~20 ms here, and appends and fetches of
//!    the partition (and the request threads they run on) would wait for it.

pub(crate) mod offset_map;

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::epoch::sync_dir;
use super::segment::Segment;
use super::{IoContext, Log, LogConfig, LogError};
use crate::records::header::HEADER_SIZE;
use crate::records::rewrite::{rewrite_batch, KeptRecord};
use crate::records::{v2, BatchHeader};
use offset_map::{KeyHash, OffsetMap};

/// The extra suffix of a segment being written by the cleaner.
pub(crate) const CLEANED: &str = "cleaned";
/// The extra suffix of a cleaned segment being swapped in.
pub(crate) const SWAP: &str = "swap";

/// A sealed segment as the snapshot saw it.
#[derive(Clone)]
struct SegmentFile {
    base: i64,
    next_offset: i64,
    size: u64,
    file: Arc<File>,
}

/// How dirty a compacted log is, and what a cleaning of it would read.
pub struct CleanSnapshot {
    dir: PathBuf,
    config: LogConfig,
    /// Offsets below this are clean (already compacted).
    pub first_dirty: i64,
    /// Offsets from here on are not cleaned this time.
    pub first_uncleanable: i64,
    /// Bytes of the segments holding clean and dirty records.
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    /// The oldest dirty records are older than `max.compaction.lag.ms`.
    pub overdue: bool,
    segments: Vec<SegmentFile>,
}

impl CleanSnapshot {
    /// `dirty / (clean + dirty)`, Kafka's cleanable ratio.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }

    /// Whether this log should be cleaned now.
    pub fn needs_cleaning(&self) -> bool {
        self.dirty_bytes > 0
            && (self.overdue || self.dirty_ratio() >= self.config.min_cleanable_dirty_ratio.get())
    }
}

/// What a cleaning produced: the cleaned segments and the offset the next one starts from.
pub struct CleanOutput {
    groups: Vec<CleanedGroup>,
    /// The new first dirty offset (the cleaner's checkpoint).
    pub end_offset: i64,
    pub stats: CleanStats,
}

impl CleanOutput {
    /// The cleaned segments to swap in, in offset order (the checkpoint may move only if all
    /// of them were).
    pub fn into_groups(self) -> Vec<CleanedGroup> {
        self.groups
    }
}

/// What one cleaning did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CleanStats {
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_kept: u64,
    pub keys: usize,
    pub map_bytes: usize,
}

/// One cleaned segment and the segments it replaces.
pub struct CleanedGroup {
    replaces: Vec<SegmentFile>,
    segment: Segment,
}

impl Log {
    /// Step 1: what the cleaner would clean, from the checkpointed first dirty offset
    /// (`None`: the whole log is dirty). `None` when the log is not compacted or has no sealed
    /// segment to clean.
    pub fn clean_snapshot(&self, checkpoint: Option<i64>, now_ms: i64) -> Option<CleanSnapshot> {
        if !self.config.cleanup_policy.compact {
            return None;
        }
        let active_base = self.active().base_offset();
        let lag = i64::try_from(self.config.min_compaction_lag_ms).unwrap_or(i64::MAX);
        // The first sealed segment with records younger than the lag, or the active one.
        let first_uncleanable = self
            .segments
            .values()
            .find(|s| {
                s.base_offset() == active_base || now_ms.saturating_sub(s.max_timestamp()) < lag
            })
            .map_or(active_base, |s| s.base_offset());
        let first_dirty = checkpoint
            .unwrap_or(self.log_start_offset)
            .clamp(self.log_start_offset, first_uncleanable);
        let mut snapshot = CleanSnapshot {
            dir: self.dir.clone(),
            config: self.config.clone(),
            first_dirty,
            first_uncleanable,
            clean_bytes: 0,
            dirty_bytes: 0,
            overdue: false,
            segments: Vec::new(),
        };
        for s in self.segments.values() {
            if s.base_offset() >= first_uncleanable {
                break;
            }
            if s.next_offset() <= first_dirty {
                snapshot.clean_bytes += s.size();
            } else {
                snapshot.dirty_bytes += s.size();
                if let Some(max_lag) = self.config.max_compaction_lag_ms {
                    let max_lag = i64::try_from(max_lag).unwrap_or(i64::MAX);
                    snapshot.overdue |= now_ms.saturating_sub(s.max_timestamp()) >= max_lag;
                }
            }
            snapshot.segments.push(SegmentFile {
                base: s.base_offset(),
                next_offset: s.next_offset(),
                size: s.size(),
                file: s.file(),
            });
        }
        (!snapshot.segments.is_empty()).then_some(snapshot)
    }

    /// Step 3: swaps in one cleaned group if its segments are still in the log as the
    /// snapshot saw them (retention, DeleteRecords or a truncation may have removed some
    /// meanwhile: then the group is discarded and `None` returned). The replaced segments come
    /// back renamed `.deleted`, for the caller to delete once it let go of the log's lock.
    pub fn swap_cleaned(&mut self, group: CleanedGroup) -> Result<Option<Retired>, LogError> {
        if group.segment.log_path().parent() != Some(self.dir.as_path()) {
            // Cleaned in the dir the log has since moved away from (`replica::dir_move`),
            // which is being deleted: nothing to swap, and nothing left to tidy.
            let _ = group.segment.delete();
            return Ok(None);
        }
        // The same segment objects (a truncation reopens a segment: a new file handle), the
        // same sizes, all still sealed.
        let unchanged = group.replaces.iter().all(|old| {
            self.segments
                .get(&old.base)
                .is_some_and(|s| s.size() == old.size && Arc::ptr_eq(&s.file(), &old.file))
        }) && group
            .replaces
            .last()
            .is_some_and(|old| old.base < self.active().base_offset());
        if !unchanged {
            group.segment.delete()?;
            return Ok(None);
        }
        self.swap_group(group).map(Some)
    }

    /// `.cleaned` → `.swap`, old segments → `.deleted`, `.swap` → final: a crash at any point
    /// leaves either the old segments or a swap that opening completes. A group cleaned down
    /// to nothing just loses its segments (a crash half-way leaves some, cleaned again later).
    fn swap_group(&mut self, mut group: CleanedGroup) -> Result<Retired, LogError> {
        let mut retired = Retired {
            dir: self.dir.clone(),
            files: Vec::new(),
        };
        if group.segment.is_empty() {
            group.segment.delete()?;
            self.retire(&group.replaces, &mut retired)?;
            return Ok(retired);
        }
        group.segment.rename_aside(&self.dir, CLEANED, SWAP)?;
        // The swap must be durable before any segment it replaces goes.
        sync_dir(&self.dir)?;
        self.retire(&group.replaces, &mut retired)?;
        group.segment.rename_aside(&self.dir, SWAP, "")?;
        self.segments
            .insert(group.segment.base_offset(), group.segment);
        Ok(retired)
    }

    fn retire(&mut self, old: &[SegmentFile], retired: &mut Retired) -> Result<(), LogError> {
        for old in old {
            if let Some(segment) = self.segments.remove(&old.base) {
                retired.files.extend(segment.retire()?);
            }
        }
        Ok(())
    }
}

/// The files of segments a swap replaced, renamed `.deleted` (removed on open if a crash
/// comes first).
#[must_use = "the retired files stay on disk until deleted"]
pub struct Retired {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Retired {
    /// Deletes the files and makes the swap durable.
    pub fn delete(self) -> Result<(), LogError> {
        for f in &self.files {
            std::fs::remove_file(f).ctx(|| format!("deleting {}", f.display()))?;
        }
        sync_dir(&self.dir)
    }
}

/// Step 2: cleans `snapshot` with a key map of at most `memory` bytes, at time `now_ms`.
/// `last_of_producer` is the last offset of each producer's latest batch (from the replica's
/// producer state): that batch stays even when cleaning empties it. `io` is told every chunk
/// of bytes read or written: the I/O limit sleeps in it, and an error from it (a shutdown)
/// stops the cleaning.
pub fn clean(
    snapshot: &CleanSnapshot,
    memory: usize,
    now_ms: i64,
    last_of_producer: &HashMap<i64, i64>,
    io: &mut dyn FnMut(u64) -> Result<(), LogError>,
) -> Result<CleanOutput, LogError> {
    let mut stats = CleanStats::default();
    let (map, end_offset) = build_offset_map(snapshot, memory, io, &mut stats)?;
    stats.keys = map.len();
    stats.map_bytes = map.memory_bytes();
    let rules = Rules {
        map: &map,
        end_offset,
        now_ms,
        new_horizon: now_ms
            .saturating_add(i64::try_from(snapshot.config.delete_retention_ms).unwrap_or(i64::MAX)),
        last_of_producer,
    };
    let mut groups = Vec::new();
    for group in group_segments(&snapshot.segments, end_offset, &snapshot.config) {
        match clean_group(snapshot, group, &rules, io, &mut stats) {
            Ok(g) => groups.push(g),
            Err(e) => {
                for g in groups {
                    let _ = g.segment.delete();
                }
                return Err(e);
            }
        }
    }
    Ok(CleanOutput {
        groups,
        end_offset,
        stats,
    })
}

/// Bytes read from a segment at a time: batches smaller than this cost no syscall of their
/// own, and larger ones are read whole.
const READ_CHUNK: usize = 1 << 20;

/// Reads the complete batches of a sealed segment in order: `f(header, bytes)`, until `f`
/// says false.
fn for_each_batch(
    seg: &SegmentFile,
    dir: &Path,
    io: &mut dyn FnMut(u64) -> Result<(), LogError>,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<bool, LogError>,
) -> Result<(), LogError> {
    let mut reader = ChunkReader::new(seg, dir);
    while let Some(h) = reader.next_header()? {
        let bytes = reader.take(h.total_size())?;
        io(bytes.len() as u64)?;
        if !f(&h, bytes)? {
            break;
        }
    }
    Ok(())
}

/// A sealed segment read forwards in large positional reads (`pread`: the segment's file
/// handle is shared and its cursor left alone) into one buffer that batches are borrowed
/// from, without a copy of their own.
struct ChunkReader<'a> {
    seg: &'a SegmentFile,
    dir: &'a Path,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`; `end` is at file position `file_pos`.
    start: usize,
    end: usize,
    file_pos: u64,
}

impl<'a> ChunkReader<'a> {
    fn new(seg: &'a SegmentFile, dir: &'a Path) -> ChunkReader<'a> {
        ChunkReader {
            seg,
            dir,
            buf: Vec::new(),
            start: 0,
            end: 0,
            file_pos: 0,
        }
    }

    fn context(&self) -> String {
        format!(
            "reading segment {} of {}",
            self.seg.base,
            self.dir.display()
        )
    }

    /// The header of the next batch (not consumed), or `None` at the segment's end.
    fn next_header(&mut self) -> Result<Option<BatchHeader>, LogError> {
        let left = (self.end - self.start) as u64 + (self.seg.size - self.file_pos);
        if left < HEADER_SIZE as u64 {
            return Ok(None);
        }
        self.fill(HEADER_SIZE)?;
        BatchHeader::parse(&self.buf[self.start..self.end])
            .map(Some)
            .map_err(|e| LogError::Corrupt(format!("{}: {e}", self.context())))
    }

    /// The next `len` bytes.
    fn take(&mut self, len: usize) -> Result<&[u8], LogError> {
        self.fill(len)?;
        let at = self.start;
        self.start += len;
        Ok(&self.buf[at..at + len])
    }

    /// Makes at least `len` unread bytes available.
    fn fill(&mut self, len: usize) -> Result<(), LogError> {
        if self.end - self.start >= len {
            return Ok(());
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let want = len.max(READ_CHUNK);
        if self.buf.len() < want {
            // Zeroed once: later reads reuse it.
            self.buf.resize(want, 0);
        }
        while self.end < len {
            let room = (self.buf.len() - self.end) as u64;
            let n = room.min(self.seg.size - self.file_pos) as usize;
            let read = if n == 0 {
                0
            } else {
                let (seg, dir) = (self.seg, self.dir);
                seg.file
                    .read_at(&mut self.buf[self.end..self.end + n], self.file_pos)
                    .ctx(|| format!("reading segment {} of {}", seg.base, dir.display()))?
            };
            if read == 0 {
                return Err(LogError::Corrupt(format!(
                    "{}: a batch runs past the end at {}",
                    self.context(),
                    self.seg.size
                )));
            }
            self.end += read;
            self.file_pos += read as u64;
        }
        Ok(())
    }
}

fn corrupt(dir: &Path, h: &BatchHeader, e: impl std::fmt::Display) -> LogError {
    LogError::Corrupt(format!(
        "batch at {} in {}: {e}",
        h.base_offset,
        dir.display()
    ))
}

/// Maps every key of the dirty section to its latest offset, batch by batch, until a batch
/// might not fit. Returns the map and the first offset it does not cover.
fn build_offset_map(
    snapshot: &CleanSnapshot,
    memory: usize,
    io: &mut dyn FnMut(u64) -> Result<(), LogError>,
    stats: &mut CleanStats,
) -> Result<(OffsetMap, i64), LogError> {
    let dirty: Vec<&SegmentFile> = snapshot
        .segments
        .iter()
        .filter(|s| s.next_offset > snapshot.first_dirty)
        .collect();
    let expected_keys = dirty
        .iter()
        .map(|s| (s.next_offset - s.base.max(snapshot.first_dirty)).max(0) as usize)
        .sum();
    let mut map = OffsetMap::new(memory, expected_keys);
    let mut end = snapshot.first_uncleanable;
    let mut batch_keys = Vec::new();
    'segments: for seg in dirty {
        let mut stopped = None;
        for_each_batch(seg, &snapshot.dir, io, |h, bytes| {
            stats.bytes_read += bytes.len() as u64;
            if h.last_offset() < snapshot.first_dirty || h.is_control() {
                return Ok(true);
            }
            // Kafka's rule: stop before a batch that might not fit (all new keys), unless the
            // map is empty (then at least this batch is mapped; keys that do not fit are
            // not mapped, and a key not mapped keeps all its records: never too few).
            if map.len() > 0 && map.len() + h.records_count.max(0) as usize > map.capacity() {
                stopped = Some(h.base_offset.max(snapshot.first_dirty));
                return Ok(false);
            }
            batch_keys.clear();
            v2::for_each_key(h, bytes, |r| {
                let offset = h.base_offset + i64::from(r.offset_delta);
                if let (Some(key), true) = (r.key, offset >= snapshot.first_dirty) {
                    batch_keys.push((KeyHash::of(key), offset));
                }
            })
            .map_err(|e| corrupt(&snapshot.dir, h, e))?;
            map.warm(batch_keys.iter().map(|(k, _)| *k));
            for (key, offset) in &batch_keys {
                map.put(*key, *offset);
            }
            Ok(true)
        })?;
        if let Some(at) = stopped {
            end = at;
            break 'segments;
        }
    }
    Ok((map, end))
}

/// Groups consecutive segments below `end` whose sizes add up to at most `segment.bytes` and
/// whose offsets fit one segment's 32-bit relative offsets (Kafka's `groupSegmentsBySize`).
/// The segment holding `end` (partly mapped) is cleaned too: its unmapped records stay.
fn group_segments<'a>(
    segments: &'a [SegmentFile],
    end: i64,
    config: &LogConfig,
) -> Vec<&'a [SegmentFile]> {
    let limit = config.segment_bytes.min(i32::MAX as u64);
    let in_range = segments.iter().take_while(|s| s.base < end).count();
    let segments = &segments[..in_range];
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let mut size = segments[start].size;
        let mut stop = start + 1;
        while stop < segments.len() {
            let next = &segments[stop];
            let fits = size + next.size <= limit
                && next.next_offset - 1 - segments[start].base <= i64::from(i32::MAX);
            if !fits {
                break;
            }
            size += next.size;
            stop += 1;
        }
        groups.push(&segments[start..stop]);
        start = stop;
    }
    groups
}

/// What decides whether a record stays.
struct Rules<'a> {
    map: &'a OffsetMap,
    /// Records at or beyond this offset were not mapped: they stay.
    end_offset: i64,
    now_ms: i64,
    /// The delete horizon a batch gets when a cleaning first keeps one of its tombstones.
    new_horizon: i64,
    last_of_producer: &'a HashMap<i64, i64>,
}

impl Rules<'_> {
    /// Kafka's `shouldRetainRecord`.
    fn keep(
        &self,
        offset: i64,
        key: Option<KeyHash>,
        is_tombstone: bool,
        horizon: Option<i64>,
    ) -> bool {
        if offset >= self.end_offset {
            return true;
        }
        let Some(key) = key else {
            // A compacted log has no use for records without a key.
            return false;
        };
        if offset < self.map.get(key) {
            return false;
        }
        !is_tombstone || horizon.is_none_or(|h| self.now_ms < h)
    }
}

/// Cleans one group of segments into one new segment written aside.
fn clean_group(
    snapshot: &CleanSnapshot,
    group: &[SegmentFile],
    rules: &Rules<'_>,
    io: &mut dyn FnMut(u64) -> Result<(), LogError>,
    stats: &mut CleanStats,
) -> Result<CleanedGroup, LogError> {
    let base = group[0].base;
    let mut segment = Segment::create_aside(
        &snapshot.dir,
        base,
        snapshot.config.index_interval_bytes,
        CLEANED,
    )?;
    let written =
        copy_kept(snapshot, group, rules, io, stats, &mut segment).and_then(|()| segment.seal());
    if let Err(e) = written {
        let _ = segment.delete();
        return Err(e);
    }
    Ok(CleanedGroup {
        replaces: group.to_vec(),
        segment,
    })
}

fn copy_kept(
    snapshot: &CleanSnapshot,
    group: &[SegmentFile],
    rules: &Rules<'_>,
    io: &mut dyn FnMut(u64) -> Result<(), LogError>,
    stats: &mut CleanStats,
    out: &mut Segment,
) -> Result<(), LogError> {
    let mut pending = Pending::default();
    for seg in group {
        let written_before = stats.bytes_written;
        for_each_batch(seg, &snapshot.dir, io, |h, bytes| {
            stats.bytes_read += bytes.len() as u64;
            let kept =
                filter_batch(h, bytes, rules, stats).map_err(|e| corrupt(&snapshot.dir, h, e))?;
            match kept {
                Kept::Nothing => {}
                Kept::Unchanged => pending.push(out, h, bytes, stats)?,
                Kept::Rewritten(batch) => {
                    let header =
                        BatchHeader::parse(&batch).map_err(|e| corrupt(&snapshot.dir, h, e))?;
                    pending.push(out, &header, &batch, stats)?;
                }
            }
            Ok(true)
        })?;
        io(stats.bytes_written - written_before)?;
    }
    pending.flush(out)
}

/// Batches on their way into the cleaned segment: small ones are gathered into one write.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    headers: Vec<BatchHeader>,
}

impl Pending {
    /// Batches at least this large are written on their own.
    const GATHER: usize = 64 << 10;

    fn push(
        &mut self,
        out: &mut Segment,
        h: &BatchHeader,
        batch: &[u8],
        stats: &mut CleanStats,
    ) -> Result<(), LogError> {
        stats.bytes_written += batch.len() as u64;
        if batch.len() >= Self::GATHER {
            self.flush(out)?;
            return out.append(&[batch], std::slice::from_ref(h));
        }
        self.bytes.extend_from_slice(batch);
        self.headers.push(*h);
        if self.bytes.len() >= READ_CHUNK {
            self.flush(out)?;
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Segment) -> Result<(), LogError> {
        if !self.headers.is_empty() {
            out.append(&[&self.bytes], &self.headers)?;
            self.bytes.clear();
            self.headers.clear();
        }
        Ok(())
    }
}

/// What cleaning leaves of a batch.
enum Kept {
    /// All of it, unchanged (the same bytes).
    Unchanged,
    /// Fewer records, or a new delete horizon.
    Rewritten(Vec<u8>),
    Nothing,
}

/// The batch as it stays.
fn filter_batch(
    h: &BatchHeader,
    bytes: &[u8],
    rules: &Rules<'_>,
    stats: &mut CleanStats,
) -> Result<Kept, crate::records::RecordError> {
    if h.is_control() {
        return Ok(Kept::Unchanged);
    }
    let horizon = h.delete_horizon_ms();
    v2::with_records(h, bytes, |records| {
        let offset = |r: &v2::RecordRef<'_>| h.base_offset + i64::from(r.offset_delta);
        let keys: Vec<Option<KeyHash>> = records
            .iter()
            .map(|r| {
                r.key
                    .filter(|_| offset(r) < rules.end_offset)
                    .map(KeyHash::of)
            })
            .collect();
        rules.map.warm(keys.iter().flatten().copied());
        let mut keep = Vec::with_capacity(records.len());
        let mut kept_tombstone = false;
        for (r, key) in records.iter().zip(&keys) {
            let offset = offset(r);
            let tombstone = r.value.is_none();
            let kept = rules.keep(offset, *key, tombstone, horizon);
            kept_tombstone |= kept && tombstone && offset < rules.end_offset;
            keep.push(kept);
        }
        let kept_count = keep.iter().filter(|k| **k).count();
        stats.records_read += records.len() as u64;
        stats.records_kept += kept_count as u64;
        let new_horizon = (kept_tombstone && horizon.is_none()).then_some(rules.new_horizon);
        let last_of_producer = h.has_producer_id()
            && rules.last_of_producer.get(&h.producer_id) == Some(&h.last_offset());
        // Emptied now or by an earlier cleaning: only a producer's last batch stays.
        if kept_count == 0 && !last_of_producer {
            return Ok(Kept::Nothing);
        }
        if kept_count == records.len() && new_horizon.is_none() {
            return Ok(Kept::Unchanged);
        }
        let kept: Vec<KeptRecord<'_>> = records
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| KeptRecord {
                attributes: r.attributes,
                timestamp: h.base_timestamp.wrapping_add(r.timestamp_delta),
                offset_delta: r.offset_delta,
                key: r.key,
                value: r.value,
                headers: r.headers,
            })
            .collect();
        rewrite_batch(h, &kept, new_horizon.or(horizon)).map(Kept::Rewritten)
    })
}

#[cfg(test)]
mod tests;
