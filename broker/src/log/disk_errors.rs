//! Unit tests: a disk that refuses writes. Every write path (append, index, roll, flush and
//! the epoch checkpoint, truncation, recovery on open) answers `LogError::Io` instead of
//! panicking, and a log never claims records its file does not hold. A file symlinked to
//! `/dev/full` stands for a full disk (writes to it fail with ENOSPC); EIO takes the same
//! paths, since no code here looks at an I/O error's kind.

use std::fs;
use std::path::{Path, PathBuf};

use super::segment::{segment_path, INDEX_SUFFIX, LOG_SUFFIX};
use super::tests::{big_segments, fill, open, read_all, simple, small_config};
use super::*;

/// Makes `path` a file on a full disk.
fn full(path: &Path) {
    if path.exists() {
        fs::remove_file(path).expect("remove");
    }
    std::os::unix::fs::symlink("/dev/full", path).expect("symlink to /dev/full");
}

/// A log dir whose first segment's index is on a full disk (the index of a segment without
/// its `.log` would be removed on open as an orphan).
fn full_index(config: LogConfig) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path(), config));
    let index = segment_path(dir.path(), 0, INDEX_SUFFIX);
    full(&index);
    (dir, index)
}

fn assert_enospc<T: std::fmt::Debug>(result: Result<T, LogError>) {
    match result {
        Err(LogError::Io { source, .. }) if source.raw_os_error() == Some(28) => {}
        other => panic!("expected ENOSPC, got {other:?}"),
    }
}

fn epoch_checkpoint_tmp(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE).with_extension("tmp")
}

#[test]
fn an_append_the_disk_refuses_leaves_nothing_claimed() {
    let dir = tempfile::tempdir().expect("tempdir");
    full(&segment_path(dir.path(), 0, LOG_SUFFIX));
    let mut log = open(dir.path(), big_segments());
    assert_enospc(log.append_as_leader(&simple(3, 1000), 1, None));
    assert_eq!((log.log_end_offset(), log.size_bytes()), (0, 0));
    assert_eq!(log.leader_epochs().latest_epoch(), None);
    let read = log.read(0, 1 << 20, i64::MAX, true).expect("read");
    assert!(read.data.is_empty());
    // Nor on a second try.
    assert_enospc(log.append_as_leader(&simple(3, 1000), 1, None));
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn an_index_write_the_disk_refuses_fails_the_append_that_wrote_its_records() {
    let (dir, index) = full_index(big_segments());
    let mut log = open(dir.path(), big_segments());
    // Index entries go to the file in runs: some appends succeed before one writes a run.
    let mut appended = 0;
    let failure = loop {
        match log.append_as_leader(&simple(3, 1000), 1, None) {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
        assert!(appended < 1000, "the index was never written");
    };
    assert_enospc::<()>(Err(failure));
    // The failed append's records reached the .log: the log claims them, and only them.
    let leo = log.log_end_offset();
    assert_eq!(leo, 3 * (appended + 1));
    drop(log);
    fs::remove_file(&index).expect("free the disk");
    let log = open(dir.path(), big_segments());
    assert_eq!(read_all(&log, 0), (0..leo).collect::<Vec<_>>());
}

#[test]
fn a_roll_the_disk_refuses_fails_the_append_before_its_records_are_written() {
    let (dir, _) = full_index(small_config());
    let mut log = open(dir.path(), small_config());
    // 1 KiB segments: the append that does not fit seals the first one, writing its index.
    let mut result = Ok(());
    for _ in 0..10 {
        result = log.append_as_leader(&simple(3, 1000), 1, None).map(drop);
        if result.is_err() {
            break;
        }
    }
    let leo = log.log_end_offset();
    assert_enospc(result);
    assert_eq!(log.segment_count(), 1, "no new segment");
    assert_eq!(read_all(&log, 0), (0..leo).collect::<Vec<_>>());
}

#[test]
fn flushes_and_truncations_surface_an_epoch_checkpoint_the_disk_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    full(&epoch_checkpoint_tmp(dir.path()));
    let mut log = open(dir.path(), big_segments());
    fill(&mut log, 3);
    // The new epoch goes to the checkpoint with the flush.
    assert_enospc(log.flush());
    log.append_as_leader(&simple(3, 2000), 4, None)
        .expect("appends need no checkpoint");
    assert_enospc(log.truncate_to(9));
    assert_enospc(log.truncate_fully_and_start_at(100));
}

#[test]
fn recovery_on_open_surfaces_a_checkpoint_rewrite_the_disk_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), big_segments());
    fill(&mut log, 3);
    log.append_as_leader(&simple(3, 2000), 4, None)
        .expect("append");
    log.flush().expect("flush writes epoch 4 to the checkpoint");
    drop(log);
    // A crash tore epoch 4's only batch: opening cuts it off and must drop the epoch from
    // the checkpoint, which the full disk refuses.
    let segment = segment_path(dir.path(), 0, LOG_SUFFIX);
    let len = fs::metadata(&segment).expect("stat").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .and_then(|f| f.set_len(len - 10))
        .expect("tear");
    full(&epoch_checkpoint_tmp(dir.path()));
    assert_enospc(Log::open(dir.path(), big_segments()).map(|l| l.log_end_offset()));
    // With room again the same recovery completes.
    fs::remove_file(epoch_checkpoint_tmp(dir.path())).expect("free the disk");
    let log = open(dir.path(), big_segments());
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(log.leader_epochs().latest_epoch(), Some(1));
}
