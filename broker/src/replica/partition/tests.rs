//! Unit tests of a replica: roles, waiters, failed log dirs, leader epochs, log starts.

use super::*;
use crate::log::LogConfig;

fn role(leader: i32, leader_epoch: i32) -> ReplicaRole {
    ReplicaRole {
        leader,
        leader_epoch,
        isr: vec![1, 2],
        replicas: vec![1, 2],
        partition_epoch: leader_epoch,
        controller_epoch: 1,
    }
}

#[test]
fn losing_leadership_releases_high_watermark_waiters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(&dir.path().join("t-0"), LogConfig::default()).expect("log");
    let partition =
        Partition::new("t".into(), 0, 1, log, LogDir::standalone(dir.path())).expect("partition");
    partition.apply_role(role(1, 0), 0);
    let waiter = partition.subscribe();
    // A new epoch as leader keeps waiters waiting.
    partition.apply_role(role(1, 1), 0);
    assert!(waiter.has_changed().is_ok(), "still open");
    partition.apply_role(role(2, 2), 0);
    assert!(
        waiter.has_changed().is_err(),
        "closed when leadership moved"
    );
    // Later subscribers follow the new term's channel.
    assert!(partition.subscribe().has_changed().is_ok());
}

#[test]
fn appends_name_the_followers_yet_to_fetch_at_most_every_few_ms_until_all_have() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(&dir.path().join("t-0"), LogConfig::default()).expect("log");
    let partition =
        Partition::new("t".into(), 0, 1, log, LogDir::standalone(dir.path())).expect("partition");
    assert_eq!(
        partition.followers_yet_to_fetch(|| 1000),
        None,
        "no role yet"
    );
    partition.apply_role(role(1, 0), 0);
    assert_eq!(partition.followers_yet_to_fetch(|| 1000), Some(vec![2]));
    assert_eq!(
        partition.followers_yet_to_fetch(|| 1000 + POKE_EVERY_MS - 1),
        None,
        "poked just now"
    );
    assert_eq!(
        partition.followers_yet_to_fetch(|| 1000 + POKE_EVERY_MS),
        Some(vec![2])
    );
    partition.update_follower(2, (0, 0), 1010);
    assert_eq!(
        partition.followers_yet_to_fetch(|| 2000),
        None,
        "it fetched"
    );
    // A new term starts over.
    partition.apply_role(role(1, 1), 2000);
    assert_eq!(partition.followers_yet_to_fetch(|| 2000), Some(vec![2]));
}

#[test]
fn a_replica_in_a_failed_log_dir_stops_acting_as_leader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(&dir.path().join("t-0"), LogConfig::default()).expect("log");
    let partition =
        Partition::new("t".into(), 0, 1, log, LogDir::standalone(dir.path())).expect("partition");
    partition.apply_role(role(1, 0), 0);
    assert_eq!(
        partition.isr_shrink_candidate(60_000, 10_000),
        Some(vec![1])
    );
    partition.log_dir().fail(&LogError::Io {
        context: "writing".into(),
        source: std::io::Error::from_raw_os_error(5),
    });
    assert!(partition.check_online().is_err());
    // The controller elects another leader without telling this replica: it must not
    // shrink the ISR meanwhile.
    assert_eq!(partition.isr_shrink_candidate(60_000, 10_000), None);
    assert!(matches!(
        partition.truncate_to(0),
        Err(LogError::DirOffline(_))
    ));
}

#[test]
fn a_leader_epoch_lost_with_the_process_comes_back_with_the_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t-0");
    let log = Log::open(&path, LogConfig::default()).expect("log");
    let partition =
        Partition::new("t".into(), 0, 1, log, LogDir::standalone(dir.path())).expect("partition");
    partition.apply_role(role(1, 3), 0);
    assert_eq!(partition.end_offset_for_epoch(3), (3, 0));
    // Killed before any record or flush: the checkpoint file never saw epoch 3.
    drop(partition);
    let log = Log::open(&path, LogConfig::default()).expect("reopen");
    assert_eq!(log.leader_epochs().latest_epoch(), None);
    // A restarted broker's first LeaderAndIsr names its role again, at that epoch or later.
    let partition =
        Partition::new("t".into(), 0, 1, log, LogDir::standalone(dir.path())).expect("partition");
    partition.apply_role(role(1, 3), 0);
    assert_eq!(partition.latest_epoch(), Some(3));
    assert_eq!(partition.end_offset_for_epoch(3), (3, 0));
}

/// Appends `n` batches of 3 records as leader (validated as a Produce brings them).
fn append_batches(partition: &Partition, n: usize) {
    use crate::records::testutil::{records, v2_batch};
    use kafka_protocol::records::Compression;
    for _ in 0..n {
        let batch = v2_batch(&records(0, 3), Compression::None);
        let validated =
            crate::records::validate::validate_produce(&batch.into(), 8, 1 << 20, false)
                .expect("valid");
        partition
            .append_as_leader(validated, 1, 1, None)
            .expect("append");
    }
}

/// A leader (broker 1) of `t-0` with follower 2, over segments of `segment_bytes`.
fn leader(dir: &std::path::Path, segment_bytes: u64) -> Partition {
    let config = LogConfig {
        segment_bytes,
        ..LogConfig::default()
    };
    let log = Log::open(&dir.join("t-0"), config).expect("log");
    let partition =
        Partition::new("t".into(), 0, 1, log, LogDir::standalone(dir)).expect("partition");
    partition.apply_role(role(1, 0), 0);
    partition
}

#[test]
fn delete_records_moves_the_leaders_start_up_to_the_high_watermark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partition = leader(dir.path(), 1024);
    append_batches(&partition, 30);
    // The follower has everything up to 60: the high watermark is 60, the log end 90.
    partition.update_follower(2, (60, 0), 0);
    assert_eq!(
        (partition.high_watermark(), partition.log_end_offset()),
        (60, 90)
    );
    let out_of_range = |r: Result<i64, PartitionError>| {
        matches!(
            r,
            Err(PartitionError::Log(LogError::OffsetOutOfRange { .. }))
        )
    };
    assert!(out_of_range(partition.delete_records(61)));
    assert!(out_of_range(partition.delete_records(-2)));
    let log_starts = partition.subscribe_log_starts();
    assert_eq!(partition.delete_records(31).expect("delete"), 31);
    assert_eq!(partition.log_start_offset(), 31);
    assert!(log_starts.has_changed().expect("open"), "waiters woken");
    assert!(matches!(
        partition.read(30, 1 << 20, true, false),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // -1 is the high watermark.
    assert_eq!(partition.delete_records(-1).expect("delete"), 60);
    assert_eq!(partition.log_start_offset(), 60);
    // Not on a compacted log.
    let compacted = LogConfig {
        cleanup_policy: crate::log::CleanupPolicy::parse("compact").expect("policy"),
        ..LogConfig::default()
    };
    partition.set_log_config(compacted);
    assert!(matches!(
        partition.delete_records(60),
        Err(PartitionError::DeleteNotAllowed)
    ));
    // A follower is not asked.
    partition.apply_role(role(2, 1), 0);
    assert!(matches!(
        partition.delete_records(60),
        Err(PartitionError::NotLeader)
    ));
}

#[test]
fn the_low_watermark_waits_for_followers_on_live_brokers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partition = leader(dir.path(), 1024);
    append_batches(&partition, 10);
    let alive = |_: i32| true;
    // Follower 2 has not fetched yet.
    assert_eq!(partition.low_watermark(alive), Some(-1));
    partition.update_follower(2, (30, 0), 0);
    partition.delete_records(12).expect("delete");
    assert_eq!(partition.low_watermark(alive), Some(0));
    let mut log_starts = partition.subscribe_log_starts();
    log_starts.mark_unchanged();
    partition.update_follower(2, (30, 12), 0);
    assert!(
        log_starts.has_changed().expect("open"),
        "the follower's start moved"
    );
    assert_eq!(partition.low_watermark(alive), Some(12));
    // A dead broker's replica does not hold the low watermark back.
    partition.update_follower(2, (30, 5), 0);
    assert_eq!(partition.low_watermark(alive), Some(5));
    assert_eq!(partition.low_watermark(|id| id != 2), Some(12));
    // Leadership moves: waiters are released, and there is no low watermark here any more.
    partition.apply_role(role(2, 1), 0);
    assert!(log_starts.has_changed().is_err());
    assert_eq!(partition.low_watermark(alive), None);
}

#[test]
fn a_follower_takes_its_leaders_start_but_not_past_its_high_watermark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let leader = leader(dir.path(), 1 << 20);
    append_batches(&leader, 10);
    let data = leader.read(0, 1 << 20, true, true).expect("read");
    let follower_dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(&follower_dir.path().join("t-0"), LogConfig::default()).expect("log");
    let follower = Partition::new(
        "t".into(),
        0,
        2,
        log,
        LogDir::standalone(follower_dir.path()),
    )
    .expect("partition");
    follower.apply_role(role(1, 0), 0);
    follower
        .append_as_follower(&data.records.load().expect("load"))
        .expect("append");
    follower.update_follower_high_watermark(20);
    follower.follow_leader_log_start(25).expect("follow");
    assert_eq!(
        follower.log_start_offset(),
        20,
        "capped at its high watermark"
    );
    follower.follow_leader_log_start(7).expect("lower");
    assert_eq!(follower.log_start_offset(), 20);
    follower.update_follower_high_watermark(30);
    follower.follow_leader_log_start(25).expect("follow");
    assert_eq!(follower.log_start_offset(), 25);
}
