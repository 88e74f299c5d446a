//! One log segment: `<base>.log` plus its `.index` and `.timeindex`.
//!
//! The `.log` holds v2 batches back to back and nothing else. All reads are positional
//! (`read_exact_at`) so a segment can be read through `&self` by many readers at once.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, IoSlice, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::epoch::EpochEntry;
use super::index::{IndexFile, OffsetEntry, TimeEntry};
use super::slice::LogSlice;
use super::{now_ms, IoContext, LogError};
use crate::records::header::HEADER_SIZE;
use crate::records::BatchHeader;

/// Parts per `pwritev` call (Linux's IOV_MAX).
const MAX_IOVECS: usize = 1024;

/// Index entries go to their files in runs of this many, and whenever the segment is synced:
/// reads use the in-memory index, and opening a segment rebuilds an index file that is short.
/// (One write per entry cost a system call every few appends of small batches.)
const INDEX_WRITE_RUN: usize = 64;

/// Batch headers an active segment keeps in memory (see `Segment::recent`).
const RECENT_BATCHES: usize = 8;

pub(crate) const LOG_SUFFIX: &str = "log";
pub(crate) const INDEX_SUFFIX: &str = "index";
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";
/// The extra suffix of a replaced segment's files until they are deleted (Kafka's).
pub(crate) const DELETED: &str = "deleted";

/// A sealed segment's files, still to be fsynced.
pub(crate) struct Unsynced {
    files: Vec<(File, PathBuf)>,
}

impl Unsynced {
    pub(crate) fn sync(&self) -> Result<(), LogError> {
        for (file, path) in &self.files {
            file.sync_all()
                .ctx(|| format!("syncing {}", path.display()))?;
        }
        Ok(())
    }
}

/// `<dir>/<20-digit base offset>.<suffix>`, Kafka's naming.
pub(crate) fn segment_path(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{suffix}"))
}

pub(crate) struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    /// Shared with the [`LogSlice`]s being sent from it.
    file: Arc<File>,
    size: u64,
    next_offset: i64,
    index: IndexFile<OffsetEntry>,
    time_index: IndexFile<TimeEntry>,
    /// Largest batch max timestamp in the segment, -1 when empty.
    max_timestamp: i64,
    /// Last offset of the first batch carrying `max_timestamp` (Kafka's "shallow" offset).
    offset_of_max_timestamp: i64,
    bytes_since_index_entry: usize,
    index_interval_bytes: usize,
    /// When the segment got its first batch (wall clock), for `segment.ms` rolling.
    first_append_ms: Option<i64>,
    /// Position and header of the last few batches written (oldest first): a tail read (a
    /// follower, or a caught-up consumer, fetching what was just appended) finds their headers
    /// here instead of reading each back from the file (four `pread`s a fetch at 5,000
    /// single-record produces a second). Emptied when the segment stops being active.
    recent: VecDeque<(u64, BatchHeader)>,
}

/// What opening an existing segment found.
pub(crate) struct Recovered {
    pub(crate) segment: Segment,
    /// Bytes cut off the end of the `.log` (a torn or corrupt tail).
    pub(crate) truncated_bytes: u64,
    /// Whether an index file had to be rebuilt.
    pub(crate) rebuilt_index: bool,
    /// Where each newer leader epoch starts among the surviving batches, in offset order.
    pub(crate) epoch_starts: Vec<EpochEntry>,
}

impl Segment {
    /// Creates a new empty segment, replacing any leftover files with the same base offset.
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: usize,
    ) -> Result<Segment, LogError> {
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            remove_if_exists(&segment_path(dir, base_offset, suffix))?;
        }
        Segment::open_files(dir, base_offset, index_interval_bytes)
    }

    /// Creates a new empty segment whose files carry an extra suffix (`<base>.log.cleaned`,
    /// ...), written beside the log's own until [`Self::rename_aside`] moves it in.
    pub(crate) fn create_aside(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: usize,
        extra: &str,
    ) -> Result<Segment, LogError> {
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            remove_if_exists(&segment_path(
                dir,
                base_offset,
                &format!("{suffix}.{extra}"),
            ))?;
        }
        Segment::open_files_as(dir, base_offset, index_interval_bytes, extra)
    }

    /// Renames the segment's three files from extra suffix `from` to `to` ("" for the log's
    /// own names); open handles stay valid.
    pub(crate) fn rename_aside(
        &mut self,
        dir: &Path,
        from: &str,
        to: &str,
    ) -> Result<(), LogError> {
        let name = |suffix: &str, extra: &str| {
            if extra.is_empty() {
                segment_path(dir, self.base_offset, suffix)
            } else {
                segment_path(dir, self.base_offset, &format!("{suffix}.{extra}"))
            }
        };
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            let (old, new) = (name(suffix, from), name(suffix, to));
            fs::rename(&old, &new)
                .ctx(|| format!("renaming {} to {}", old.display(), new.display()))?;
        }
        self.log_path = name(LOG_SUFFIX, to);
        self.index.set_path(name(INDEX_SUFFIX, to));
        self.time_index.set_path(name(TIME_INDEX_SUFFIX, to));
        Ok(())
    }

    /// The segment's directory was renamed to `dir`: the same files (and open handles) under
    /// new paths.
    pub(crate) fn moved_to(&mut self, dir: &Path) {
        let base = self.base_offset;
        self.log_path = segment_path(dir, base, LOG_SUFFIX);
        self.index.set_path(segment_path(dir, base, INDEX_SUFFIX));
        self.time_index
            .set_path(segment_path(dir, base, TIME_INDEX_SUFFIX));
    }

    /// The segment's file, for reading it without the log's lock (only sealed segments are
    /// read that way: they change only by being replaced or deleted).
    pub(crate) fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    fn open_files(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: usize,
    ) -> Result<Segment, LogError> {
        Segment::open_files_as(dir, base_offset, index_interval_bytes, "")
    }

    fn open_files_as(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: usize,
        extra: &str,
    ) -> Result<Segment, LogError> {
        let path = |suffix: &str| {
            if extra.is_empty() {
                segment_path(dir, base_offset, suffix)
            } else {
                segment_path(dir, base_offset, &format!("{suffix}.{extra}"))
            }
        };
        let log_path = path(LOG_SUFFIX);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_path)
            .ctx(|| format!("opening segment {}", log_path.display()))?;
        Ok(Segment {
            base_offset,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            index: IndexFile::open(&path(INDEX_SUFFIX))?,
            time_index: IndexFile::open(&path(TIME_INDEX_SUFFIX))?,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            bytes_since_index_entry: 0,
            index_interval_bytes,
            first_append_ms: None,
            recent: VecDeque::new(),
            log_path,
        })
    }

    /// Opens an existing segment, checking every batch (framing, CRC, offsets ≥ `min_offset`
    /// and increasing). The `.log` is cut at the first bad batch; the indexes are rebuilt from
    /// the surviving batches and rewritten if the files disagree. `sealed` segments (not the
    /// last one) get the final time index entry a roll would have written.
    pub(crate) fn recover(
        dir: &Path,
        base_offset: i64,
        min_offset: i64,
        index_interval_bytes: usize,
        sealed: bool,
    ) -> Result<Recovered, LogError> {
        let mut seg = Segment::open_files(dir, base_offset, index_interval_bytes)?;
        let file_len = seg
            .file
            .metadata()
            .ctx(|| format!("stat {}", seg.log_path.display()))?
            .len();
        seg.next_offset = base_offset.max(min_offset);
        let mut epoch_starts = Vec::new();
        let valid = seg.scan_valid(file_len, &mut epoch_starts)?;
        if valid < file_len {
            seg.file
                .set_len(valid)
                .ctx(|| format!("truncating {}", seg.log_path.display()))?;
        }
        if seg.size == 0 {
            seg.next_offset = base_offset;
        } else {
            seg.first_append_ms = Some(file_time_ms(&seg.file).unwrap_or_else(now_ms));
        }
        if sealed {
            seg.time_index
                .maybe_push(base_offset, seg.max_timestamp, seg.offset_of_max_timestamp);
            seg.recent = VecDeque::new();
        }
        let rebuilt_index = seg.index.reconcile()? | seg.time_index.reconcile()?;
        Ok(Recovered {
            segment: seg,
            truncated_bytes: file_len - valid,
            rebuilt_index,
            epoch_starts,
        })
    }

    /// Feeds every valid batch to [`Self::on_batch`], noting in `epoch_starts` each batch
    /// with a newer leader epoch than the ones before it; returns the length of the valid
    /// prefix.
    fn scan_valid(
        &mut self,
        file_len: u64,
        epoch_starts: &mut Vec<EpochEntry>,
    ) -> Result<u64, LogError> {
        let path = self.log_path.clone();
        let ctx = || format!("reading {}", path.display());
        let file = self.file.try_clone().ctx(ctx)?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut batch = Vec::new();
        let mut pos = 0u64;
        while file_len - pos >= HEADER_SIZE as u64 {
            batch.resize(HEADER_SIZE, 0);
            reader.read_exact(&mut batch).ctx(ctx)?;
            let Ok(header) = BatchHeader::parse(&batch) else {
                break;
            };
            let size = header.total_size() as u64;
            if size > file_len - pos || header.base_offset < self.next_offset {
                break;
            }
            batch.resize(size as usize, 0);
            reader.read_exact(&mut batch[HEADER_SIZE..]).ctx(ctx)?;
            if header.verify_crc(&batch).is_err()
                || header.last_offset() - self.base_offset > i32::MAX as i64
            {
                break;
            }
            self.on_batch(pos, &header);
            if epoch_starts
                .last()
                .is_none_or(|e| header.partition_leader_epoch > e.epoch)
            {
                epoch_starts.push(EpochEntry {
                    epoch: header.partition_leader_epoch,
                    start_offset: header.base_offset,
                });
            }
            pos += size;
        }
        self.size = pos;
        Ok(pos)
    }

    /// Updates offsets, timestamps and the in-memory indexes for a batch written at `pos`,
    /// using Kafka's rule: an index entry when more than `index.interval.bytes` were written
    /// since the previous one.
    fn on_batch(&mut self, pos: u64, h: &BatchHeader) {
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.last_offset();
        }
        if self.bytes_since_index_entry > self.index_interval_bytes {
            let relative_offset = (h.last_offset() - self.base_offset) as i32;
            self.index.push(OffsetEntry {
                relative_offset,
                position: pos as u32,
            });
            self.time_index.maybe_push(
                self.base_offset,
                self.max_timestamp,
                self.offset_of_max_timestamp,
            );
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += h.total_size();
        self.next_offset = h.next_offset();
        if self.recent.len() == RECENT_BATCHES {
            self.recent.pop_front();
        }
        self.recent.push_back((pos, *h));
    }

    /// Appends complete batches (`headers` are theirs, in order) at the end of the file.
    /// `parts` concatenate to the batches; they go out in one `pwritev` where they fit.
    pub(crate) fn append(
        &mut self,
        parts: &[&[u8]],
        headers: &[BatchHeader],
    ) -> Result<(), LogError> {
        if let Err(e) = write_all_at(&self.file, parts, self.size) {
            // Best effort: do not leave a partial batch behind the in-memory state.
            let _ = self.file.set_len(self.size);
            return Err(LogError::Io {
                context: format!("appending to {}", self.log_path.display()),
                source: e,
            });
        }
        if self.first_append_ms.is_none() {
            self.first_append_ms = Some(now_ms());
        }
        let mut pos = self.size;
        for h in headers {
            self.on_batch(pos, h);
            pos += h.total_size() as u64;
        }
        self.size = pos;
        if self.index.pending() >= INDEX_WRITE_RUN {
            self.index.write_pending()?;
        }
        if self.time_index.pending() >= INDEX_WRITE_RUN {
            self.time_index.write_pending()?;
        }
        Ok(())
    }

    /// The segment stops being active: write the final time index entry (Kafka's
    /// `onBecomeInactiveSegment`) and fsync everything.
    pub(crate) fn seal(&mut self) -> Result<(), LogError> {
        self.seal_unsynced()?.sync()
    }

    /// [`Segment::seal`] but for the fsync: the index entries are written, and the files come
    /// back (as new handles) for the caller to fsync once it let go of the log's lock.
    pub(crate) fn seal_unsynced(&mut self) -> Result<Unsynced, LogError> {
        self.recent = VecDeque::new();
        if self.size > 0 {
            self.time_index.maybe_push(
                self.base_offset,
                self.max_timestamp,
                self.offset_of_max_timestamp,
            );
        }
        self.index.write_pending()?;
        self.time_index.write_pending()?;
        let handle = |file: &File, path: &Path| {
            file.try_clone()
                .map(|f| (f, path.to_path_buf()))
                .ctx(|| format!("opening {} again", path.display()))
        };
        Ok(Unsynced {
            files: vec![
                handle(&self.file, &self.log_path)?,
                handle(self.index.file(), self.index.path())?,
                handle(self.time_index.file(), self.time_index.path())?,
            ],
        })
    }

    /// Writes the pending index entries, then fsyncs the segment's files.
    pub(crate) fn sync(&mut self) -> Result<(), LogError> {
        self.index.write_pending()?;
        self.time_index.write_pending()?;
        self.file
            .sync_all()
            .ctx(|| format!("syncing {}", self.log_path.display()))?;
        self.index.sync()?;
        self.time_index.sync()
    }

    /// Deletes the segment's files.
    pub(crate) fn delete(self) -> Result<(), LogError> {
        let paths = [
            self.log_path.clone(),
            self.index.path().to_path_buf(),
            self.time_index.path().to_path_buf(),
        ];
        drop(self);
        for p in paths {
            remove_if_exists(&p)?;
        }
        Ok(())
    }

    /// Renames the segment's files `<name>.deleted` (as Kafka does before deleting a segment
    /// in the background) and closes them; returns the new paths.
    pub(crate) fn retire(mut self) -> Result<Vec<PathBuf>, LogError> {
        let dir = self
            .log_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        self.rename_aside(&dir, "", DELETED)?;
        Ok(vec![
            self.log_path.clone(),
            self.index.path().to_path_buf(),
            self.time_index.path().to_path_buf(),
        ])
    }

    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.size == 0
    }
    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub(crate) fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }
    pub(crate) fn first_append_ms(&self) -> Option<i64> {
        self.first_append_ms
    }
    pub(crate) fn index_entries(&self) -> usize {
        self.index.len()
    }
    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Reads the batch header at `pos` (which must be a batch boundary).
    pub(crate) fn header_at(&self, pos: u64) -> Result<BatchHeader, LogError> {
        if let Some((_, h)) = self.recent.iter().rev().find(|(p, _)| *p == pos) {
            return Ok(*h);
        }
        let mut buf = [0u8; HEADER_SIZE];
        self.file
            .read_exact_at(&mut buf, pos)
            .ctx(|| format!("reading {} at {pos}", self.log_path.display()))?;
        BatchHeader::parse(&buf)
            .map_err(|e| LogError::Corrupt(format!("{} at {pos}: {e}", self.log_path.display())))
    }

    /// `len` bytes at `pos`, left in the file to be sent or loaded later.
    pub(crate) fn slice(&self, pos: u64, len: usize) -> LogSlice {
        LogSlice::new(Arc::clone(&self.file), pos, len)
    }

    pub(crate) fn read_at(&self, pos: u64, len: usize) -> Result<Vec<u8>, LogError> {
        read_exact_at(&self.file, len, pos).ctx(|| {
            format!(
                "reading {} bytes of {} at {pos}",
                len,
                self.log_path.display()
            )
        })
    }

    /// Calls `f(pos, header)` for each batch from `start_pos` on until it returns false.
    pub(crate) fn scan_headers(
        &self,
        start_pos: u64,
        mut f: impl FnMut(u64, &BatchHeader) -> bool,
    ) -> Result<(), LogError> {
        let mut pos = start_pos;
        while pos < self.size {
            let h = self.header_at(pos)?;
            if !f(pos, &h) {
                break;
            }
            pos += h.total_size() as u64;
        }
        Ok(())
    }

    /// Position and header of the first batch whose last offset is ≥ `offset`.
    pub(crate) fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let (_, start) = self.index.lookup(self.base_offset, offset);
        let mut found = None;
        self.scan_headers(start, |pos, h| {
            if h.last_offset() >= offset {
                found = Some((pos, *h));
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Where to start scanning for the first record with a timestamp ≥ `timestamp`.
    pub(crate) fn time_lookup_position(&self, timestamp: i64) -> u64 {
        match self
            .time_index
            .last_offset_before(self.base_offset, timestamp)
        {
            Some(offset) => self.index.lookup(self.base_offset, offset).1,
            None => 0,
        }
    }
}

/// Writes all of `parts`, in order, starting at `at`: one `pwritev` per [`MAX_IOVECS`] parts,
/// more only on a short write.
fn write_all_at(file: &File, parts: &[&[u8]], mut at: u64) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let batch = rest.len().min(MAX_IOVECS);
        match rustix::io::pwritev(file, &rest[..batch], at) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                at += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads exactly `len` bytes at `pos` into a new buffer that is never zero-filled first
/// (`pread` into the buffer's spare capacity).
pub(super) fn read_exact_at(file: &File, len: usize, mut pos: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), pos) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => pos += n as u64,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The allocator may have given more capacity than asked, and a read may have filled it.
    buf.truncate(len);
    Ok(buf)
}

fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::Io {
            context: format!("deleting {}", path.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Creation (or else modification) time of a file, for `segment.ms` after a restart.
fn file_time_ms(file: &File) -> Option<i64> {
    let meta = file.metadata().ok()?;
    let t = meta.created().or_else(|_| meta.modified()).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}
