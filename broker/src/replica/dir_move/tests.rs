//! Moves on real segment files: a broker's replica manager over two temporary log dirs, the
//! mover's steps driven by hand between appends.

use std::path::{Path, PathBuf};

use kafka_protocol::records::Compression;

use super::*;
use crate::log::LogConfig;
use crate::records::header;
use crate::records::testutil::{records, v2_batch};
use crate::replica::partition::ReplicaRole;

struct Dirs {
    _a: tempfile::TempDir,
    _b: tempfile::TempDir,
    paths: Vec<PathBuf>,
}

fn dirs() -> Dirs {
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let paths = vec![a.path().to_path_buf(), b.path().to_path_buf()];
    Dirs {
        _a: a,
        _b: b,
        paths,
    }
}

/// Small segments, so a move copies several.
fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2_000,
        ..LogConfig::default()
    }
}

fn open(dirs: &Dirs) -> ReplicaManager {
    ReplicaManager::open(1, dirs.paths.clone(), config()).expect("open")
}

fn leader(epoch: i32) -> ReplicaRole {
    ReplicaRole {
        leader: 1,
        leader_epoch: epoch,
        isr: vec![1],
        replicas: vec![1],
        partition_epoch: epoch,
        controller_epoch: 1,
    }
}

/// Appends records `from..to` as one batch (the leader gives them offsets).
fn append(p: &Partition, from: i64, to: i64) {
    let batch = bytes::Bytes::from(v2_batch(&records(from, to), Compression::None));
    let validated =
        crate::records::validate::validate_produce(&batch, 8, 1 << 20, false).expect("valid");
    p.append_as_leader(validated, 1, 1, None).expect("append");
}

/// Every batch of the partition's log, as stored.
fn content(p: &Partition) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = p.log_start_offset();
    while offset < p.log_end_offset() {
        let read = p.read(offset, 1 << 20, true, true).expect("read");
        let data = read.records.load().expect("load");
        let Some(last) = header::batches(&data).last() else {
            break;
        };
        offset = last.expect("batch").0.next_offset();
        out.extend_from_slice(&data);
    }
    out
}

/// Steps every move until none is left (bounded).
fn run_moves(replicas: &ReplicaManager, chunk: usize) {
    for _ in 0..10_000 {
        let moves = replicas.moves().all();
        if moves.is_empty() {
            return;
        }
        for mv in &moves {
            step(replicas, mv, chunk);
        }
    }
    panic!("the moves never finished");
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_move_copies_while_appends_go_on_then_swaps_and_survives_a_restart() {
    let dirs = dirs();
    let replicas = open(&dirs);
    let (p, _) = replicas
        .apply_role("t", 0, leader(3), true, 0)
        .expect("leader");
    assert_eq!(p.log_dir().path(), dirs.paths[0]);
    for i in 0..20 {
        append(&p, i * 5, i * 5 + 5);
    }
    // A log start inside a batch (DeleteRecords) must move too.
    p.delete_records(7).expect("delete records");
    let to = dirs.paths[1].display().to_string();
    replicas.alter_log_dir("t", 0, &to).expect("move");
    // Asked again: nothing new.
    replicas.alter_log_dir("t", 0, &to).expect("again");
    assert_eq!(replicas.moves().all().len(), 1);
    let future = names_in(&dirs.paths[1]);
    assert!(future.len() == 1 && future[0].starts_with("t-0.") && future[0].ends_with("-future"));

    // A few small steps, with appends in between.
    let mv = replicas.moves().get("t", 0).expect("move");
    for i in 20..30 {
        step(&replicas, &mv, 300);
        append(&p, i * 5, i * 5 + 5);
    }
    let status = mv.status().expect("copying");
    assert!(status.log_end_offset > 0 && status.log_end_offset < p.log_end_offset());
    let before = content(&p);
    let (start, end, epoch) = (p.log_start_offset(), p.log_end_offset(), p.latest_epoch());
    run_moves(&replicas, 300);

    assert_eq!(p.log_dir().path(), dirs.paths[1]);
    assert!(mv.status().is_none());
    assert_eq!((p.log_start_offset(), p.log_end_offset()), (start, end));
    assert_eq!(p.latest_epoch(), epoch);
    assert_eq!(content(&p), before, "the moved log holds the same batches");
    assert_eq!(
        names_in(&dirs.paths[0]),
        Vec::<String>::new(),
        "old dir gone"
    );
    assert_eq!(names_in(&dirs.paths[1]), vec!["t-0".to_string()]);
    // Appends and reads go to the new log.
    append(&p, 150, 155);
    assert_eq!(p.log_end_offset(), end + 5);
    drop((p, mv));
    drop(replicas);

    let replicas = open(&dirs);
    let p = replicas.get("t", 0).expect("hosted");
    assert_eq!(p.log_dir().path(), dirs.paths[1]);
    assert_eq!((p.log_start_offset(), p.log_end_offset()), (start, end + 5));
    assert!(replicas.moves().all().is_empty());
}

#[test]
fn a_copy_cut_back_in_the_current_log_is_cut_back_too() {
    let dirs = dirs();
    let replicas = open(&dirs);
    let (p, _) = replicas
        .apply_role("t", 0, leader(1), true, 0)
        .expect("leader");
    for i in 0..10 {
        append(&p, i * 5, i * 5 + 5);
    }
    replicas
        .alter_log_dir("t", 0, &dirs.paths[1].display().to_string())
        .expect("move");
    let mv = replicas.moves().get("t", 0).expect("move");
    // The whole log is copied, then the current log loses its tail and gets another one in
    // a new epoch (a replica that followed a new leader).
    while mv.status().expect("copying").log_end_offset < p.log_end_offset() {
        let mut slot = lock(&mv.future);
        let future = slot.as_mut().expect("future");
        copy_step(&p, future, &mv.dest, 1 << 20).expect("copy");
    }
    p.truncate_to(30).expect("truncate");
    p.apply_role(leader(2), 0);
    for i in 6..12 {
        append(&p, i * 5, i * 5 + 5);
    }
    let before = content(&p);
    run_moves(&replicas, 1 << 20);
    assert_eq!(p.log_dir().path(), dirs.paths[1]);
    assert_eq!(content(&p), before);
    assert_eq!(p.end_offset_for_epoch(1), (1, 30));
}

#[test]
fn a_restart_resumes_a_move_or_adopts_a_future_log_whose_swap_was_cut_short() {
    let dirs = dirs();
    let replicas = open(&dirs);
    // t-0 in the first dir and t-1 in the second, each moving to the other one.
    let mut homes = Vec::new();
    for index in 0..2 {
        let (p, _) = replicas
            .apply_role("t", index, leader(1), true, 0)
            .expect("leader");
        for i in 0..10 {
            append(&p, i * 5, i * 5 + 5);
        }
        homes.push(p.log_dir().path().to_path_buf());
    }
    assert_eq!(homes, dirs.paths);
    // t-1 starts inside a batch: its start is in its dir's checkpoint.
    replicas
        .get("t", 1)
        .expect("t-1")
        .delete_records(7)
        .expect("delete records");
    replicas.write_checkpoints();
    let away = [dirs.paths[1].clone(), dirs.paths[0].clone()];
    for index in 0..2 {
        let to = away[index as usize].display().to_string();
        replicas.alter_log_dir("t", index, &to).expect("move");
        let mv = replicas.moves().get("t", index).expect("move");
        step(&replicas, &mv, 500);
    }
    let before: Vec<Vec<u8>> = (0..2)
        .map(|i| content(&replicas.get("t", i).expect("hosted")))
        .collect();
    drop(replicas);
    // t-1's swap was cut between its renames: the current log is already out of the way
    // (and its copy complete, which the swap makes sure of before renaming).
    let replicas = open(&dirs);
    let mv = replicas.moves().get("t", 1).expect("resumed");
    {
        let p = replicas.get("t", 1).expect("hosted");
        let mut slot = lock(&mv.future);
        let future = slot.as_mut().expect("future");
        while future.log_end_offset() < p.log_end_offset() {
            copy_step(&p, future, &mv.dest, 1 << 20).expect("copy");
        }
        future.flush().expect("flush");
    }
    drop(mv);
    drop(replicas);
    std::fs::rename(homes[1].join("t-1"), homes[1].join(delete_dir_name("t", 1))).expect("rename");

    let replicas = open(&dirs);
    let adopted = replicas.get("t", 1).expect("adopted");
    assert_eq!(adopted.log_dir().path(), away[1]);
    assert_eq!(adopted.log_start_offset(), 7);
    assert_eq!(adopted.high_watermark(), 50);
    assert_eq!(content(&adopted), before[1]);
    assert!(replicas.moves().get("t", 1).is_none());
    // t-0 resumes where its copy had got, and finishes.
    let mv = replicas.moves().get("t", 0).expect("resumed");
    assert!(mv.status().expect("copying").log_end_offset > 0);
    run_moves(&replicas, 500);
    let p = replicas.get("t", 0).expect("hosted");
    assert_eq!(p.log_dir().path(), away[0]);
    assert_eq!(content(&p), before[0]);
    // One copy of each, the `-delete` directory removed at start.
    assert_eq!(names_in(&dirs.paths[0]), vec!["t-1"]);
    assert_eq!(names_in(&dirs.paths[1]), vec!["t-0"]);
}

#[test]
fn requests_that_move_nothing() {
    let dirs = dirs();
    let replicas = open(&dirs);
    let (p, _) = replicas
        .apply_role("t", 0, leader(1), true, 0)
        .expect("leader");
    append(&p, 0, 5);
    let (here, there) = (
        dirs.paths[0].display().to_string(),
        dirs.paths[1].display().to_string(),
    );
    assert!(matches!(
        replicas.alter_log_dir("t", 0, "/no/such/dir"),
        Err(AlterDirError::DirNotFound(_))
    ));
    // Already there.
    replicas.alter_log_dir("t", 0, &here).expect("no-op");
    assert!(replicas.moves().all().is_empty());
    // Cancelled by asking for the current dir again: the future log goes.
    replicas.alter_log_dir("t", 0, &there).expect("move");
    assert_eq!(names_in(&dirs.paths[1]).len(), 1);
    replicas.alter_log_dir("t", 0, &here).expect("cancel");
    assert!(replicas.moves().all().is_empty());
    assert!(names_in(&dirs.paths[1]).is_empty());
    // Deleting the replica deletes its future log too.
    replicas.alter_log_dir("t", 0, &there).expect("move");
    replicas.stop_replica("t", 0, true).expect("delete");
    assert!(replicas.moves().all().is_empty());
    assert!(names_in(&dirs.paths[1]).is_empty());
    // Not hosted yet: REPLICA_NOT_AVAILABLE, and it is created there later (in the first
    // dir, although the second one holds fewer replicas).
    replicas.get_or_create("u", 0, true).expect("u-0");
    assert!(matches!(
        replicas.alter_log_dir("u", 1, &here),
        Err(AlterDirError::ReplicaNotAvailable)
    ));
    let (u1, _) = replicas
        .apply_role("u", 1, leader(1), true, 0)
        .expect("created");
    assert_eq!(u1.log_dir().path(), dirs.paths[0]);
    // An offline dir: KAFKA_STORAGE_ERROR.
    replicas.log_dirs().all()[1].fail(&LogError::Corrupt("test".into()));
    let failed = replicas.alter_log_dir("u", 1, &there);
    assert!(matches!(
        failed,
        Err(AlterDirError::Log(LogError::DirOffline(_)))
    ));
}

#[test]
fn future_dir_names() {
    let name = future_dir_name("my-topic", 3);
    assert_eq!(parse_future_dir(&name), Some(("my-topic".into(), 3)));
    assert_eq!(parse_future_dir("my-topic-3"), None);
    assert_eq!(parse_future_dir("my-topic-3.abc-delete"), None);
}

#[test]
fn a_cleaning_of_the_log_a_move_replaced_is_dropped_without_failing_a_dir() {
    use crate::log::cleaner::clean;
    use crate::log::CleanupPolicy;
    let dirs = dirs();
    let replicas = open(&dirs);
    let (p, _) = replicas
        .apply_role("t", 0, leader(1), true, 0)
        .expect("leader");
    p.set_log_config(LogConfig {
        cleanup_policy: CleanupPolicy::COMPACT,
        ..config()
    });
    for _ in 0..4 {
        for i in 0..10 {
            append(&p, i * 5 + 1, i * 5 + 3);
        }
    }
    // A cleaning starts on the log in the first dir...
    let now = crate::log::now_ms();
    let snapshot = p.clean_snapshot(None, now).expect("something to clean");
    let output = clean(
        &snapshot,
        1 << 20,
        now,
        &p.producers_last_offsets(),
        &mut |_| Ok(()),
    )
    .expect("cleaned");
    // ...which moves before the cleaning is swapped in.
    let before = content(&p);
    replicas
        .alter_log_dir("t", 0, &dirs.paths[1].display().to_string())
        .expect("move");
    run_moves(&replicas, 1 << 20);
    assert_eq!(p.log_dir().path(), dirs.paths[1]);
    assert!(
        !p.swap_cleaned(output).expect("dropped"),
        "nothing swapped in"
    );
    assert_eq!(content(&p), before);
    assert!(!replicas.log_dirs().any_offline());
    assert!(names_in(&dirs.paths[0]).is_empty());
}
