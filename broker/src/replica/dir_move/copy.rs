//! The copy and the swap, over the two logs: the partition's current log, read under its
//! read lock, and the future log being filled.
//!
//! Each read checks first, under the same lock, that the copy is still a prefix of the
//! current log (as a follower's fetch carries its last epoch, KIP-320): a current log cut
//! back and rewritten since (a follower truncating a diverged tail) makes the copy cut back
//! too, to where the copy's latest epoch ends in the current log.

use bytes::Bytes;

use super::delete_dir_name;
use crate::log::{Log, LogError};
use crate::records::header;
use crate::replica::log_dirs::LogDir;
use crate::replica::Partition;
use std::sync::Arc;

/// At most this much is copied under the partition's write lock at the swap; a copy further
/// behind goes on copying outside the lock first.
const SWAP_CATCH_UP_BYTES: usize = 4 << 20;
/// Bytes read at a time at the swap.
const SWAP_READ_BYTES: usize = 1 << 20;

/// What one step of a move did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Copied this many bytes (0: the copy was cut back or restarted to follow the current
    /// log).
    Copied(usize),
    /// The copy has everything up to the log end its last read saw: time to swap.
    CaughtUp,
}

/// What a read of the current log gave the copy.
enum Read {
    /// The copy is no prefix of the current log beyond `keep` (see [`divergence`]).
    Diverged { keep: i64, log_start: i64 },
    /// The copy ends below the current log start (retention, DeleteRecords): start again there.
    Behind { log_start: i64 },
    /// Batches at the copy's end, and the current log end when they were read.
    Batches { data: Bytes, log_end: i64 },
}

/// Copies up to `max_bytes` from the partition's current log to the end of `future`, kept in
/// `dest` (whose I/O errors fail it; the current log's fail its own dir).
pub(super) fn copy_step(
    partition: &Partition,
    future: &mut Log,
    dest: &LogDir,
    max_bytes: usize,
) -> Result<Step, LogError> {
    let read = partition.with_log(|current, dir| read_for_copy(current, dir, future, max_bytes))?;
    match read {
        Read::Diverged { keep, log_start } => {
            dest.guard(|| truncate_copy(future, keep, log_start))?;
            Ok(Step::Copied(0))
        }
        Read::Behind { log_start } => {
            dest.guard(|| future.truncate_fully_and_start_at(log_start))?;
            Ok(Step::Copied(0))
        }
        Read::Batches { data, log_end } => {
            if !data.is_empty() {
                dest.guard(|| {
                    append_copied(future, &data)?;
                    // Segments the copy rolled are synced as it goes, not all at the swap.
                    future
                        .take_unsynced()
                        .map_or(Ok(()), |rolled| rolled.sync())
                })?;
            }
            if future.log_end_offset() >= log_end {
                return Ok(Step::CaughtUp);
            }
            Ok(Step::Copied(data.len()))
        }
    }
}

/// Under the current log's lock: the divergence check, then the batches at the copy's end.
fn read_for_copy(
    current: &Log,
    dir: &LogDir,
    future: &Log,
    max_bytes: usize,
) -> Result<Read, LogError> {
    let log_start = current.log_start_offset();
    if let Some(keep) = divergence(current, future) {
        return Ok(Read::Diverged { keep, log_start });
    }
    let from = future.log_end_offset();
    if from < log_start {
        return Ok(Read::Behind { log_start });
    }
    let data = dir.guard(|| current.read(from, max_bytes, i64::MAX, true)?.data.load())?;
    Ok(Read::Batches {
        data,
        log_end: current.log_end_offset(),
    })
}

/// Appends batches read from the current log at the copy's end. The first batch of a copy may
/// start below it (the log start lies inside a batch): the empty copy then starts there.
fn append_copied(future: &mut Log, data: &[u8]) -> Result<(), LogError> {
    let Some(first) = header::batches(data).next() else {
        return Ok(());
    };
    let base = first?.0.base_offset;
    if base < future.log_end_offset() {
        if future.size_bytes() > 0 {
            return Err(LogError::Corrupt(format!(
                "copied batch at {base} is below the copy's end {}",
                future.log_end_offset()
            )));
        }
        future.truncate_fully_and_start_at(base)?;
    }
    future.append_as_follower(data).map(drop)
}

/// Where the copy must be cut back to so that it is a prefix of `current` again, if it is not
/// one: the copy's latest epoch ends earlier in `current` (a truncated and rewritten tail;
/// -1 when `current` has no trace of it), or the copy reaches past the current log end.
fn divergence(current: &Log, future: &Log) -> Option<i64> {
    let end = future.log_end_offset();
    let current_end = current.log_end_offset();
    let mut keep = end.min(current_end);
    if let Some(epoch) = future.leader_epochs().latest_epoch() {
        let (found, epoch_end) = current.leader_epochs().end_offset_for(epoch, current_end);
        keep = if found < 0 { -1 } else { keep.min(epoch_end) };
    }
    (keep < end).then_some(keep)
}

/// Cuts the copy back to `keep` (below its start: empties it and starts again at `log_start`).
fn truncate_copy(future: &mut Log, keep: i64, log_start: i64) -> Result<(), LogError> {
    if keep < future.log_start_offset() {
        future.truncate_fully_and_start_at(log_start)
    } else {
        future.truncate_to(keep)
    }
}

/// The swap, under the partition log's write lock: copies what `current` gained since the
/// copy caught up, makes the copy in `slot` its successor and renames both directories (the
/// current one out of the way first: a crash between the renames leaves a complete future log
/// and no current one, which the next start adopts). Returns the replaced log, renamed for
/// deletion, or `None` when the copy is still too far behind or has diverged (the caller
/// copies on).
pub(super) fn swap_in(
    current: &mut Log,
    current_dir: &mut Arc<LogDir>,
    slot: &mut Option<Log>,
    dest: &Arc<LogDir>,
    (topic, index): (&str, i32),
) -> Result<Option<Log>, LogError> {
    let Some(future) = slot.as_mut() else {
        return Ok(None);
    };
    if !catch_up(current, current_dir, future, dest)? {
        return Ok(None);
    }
    dest.guard(|| future.take_over_from(current))?;
    let current_path = current.dir().to_path_buf();
    let doomed = current_dir.path().join(delete_dir_name(topic, index));
    current_dir.guard(|| current.rename_dir(&doomed))?;
    let final_path = dest.path().join(format!("{topic}-{index}"));
    if let Err(e) = dest.guard(|| future.rename_dir(&final_path)) {
        // Put the current log back; if even that fails, its dir fails with it.
        let _ = current_dir.guard(|| current.rename_dir(&current_path));
        return Err(e);
    }
    let Some(mut replaced) = slot.take() else {
        return Ok(None);
    };
    std::mem::swap(current, &mut replaced);
    *current_dir = dest.clone();
    Ok(Some(replaced))
}

/// Copies (under the write lock) what `current` has beyond the copy; true when the copy then
/// ends where `current` does, as a prefix of it.
fn catch_up(
    current: &Log,
    current_dir: &LogDir,
    future: &mut Log,
    dest: &LogDir,
) -> Result<bool, LogError> {
    let mut copied = 0;
    while future.log_end_offset() < current.log_end_offset() {
        if copied > SWAP_CATCH_UP_BYTES {
            return Ok(false);
        }
        let read = read_for_copy(current, current_dir, future, SWAP_READ_BYTES)?;
        let Read::Batches { data, .. } = read else {
            // Cut back or behind: the mover's next steps deal with it, outside the lock.
            return Ok(false);
        };
        if data.is_empty() {
            break;
        }
        dest.guard(|| append_copied(future, &data))?;
        copied += data.len();
    }
    Ok(
        future.log_end_offset() == current.log_end_offset()
            && divergence(current, future).is_none(),
    )
}
