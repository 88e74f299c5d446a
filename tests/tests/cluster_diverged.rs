//! A follower with a diverged tail truncates it on return (Kafka's leader-epoch truncation):
//! the leader takes acks=1 writes its follower never fetched, crashes, the follower (still in
//! the ISR) takes over and writes other records at the same offsets; the old leader comes back,
//! drops its tail and ends up byte for byte equal to the new leader.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use tests::multi::{produce_direct, MultiCluster};
use tests::process::signal;
use tests::traffic::consume_all;
use tests::OrPanic;

const DEADLINE: Duration = Duration::from_secs(40);
const TOPIC: &str = "diverged";

/// The segment files (`*.log`) of a partition directory, by name.
fn segments(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .or_panic("partition dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).or_panic("segment"),
            )
        })
        .collect()
}

/// Where two sets of segment files first differ.
fn describe_difference(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    if a.keys().ne(b.keys()) {
        return format!("segments {:?} vs {:?}", a.keys(), b.keys());
    }
    for (name, x) in a {
        let y = &b[name];
        if let Some(at) = x.iter().zip(y.iter()).position(|(p, q)| p != q) {
            return format!(
                "{name}: first difference at byte {at} (sizes {} / {})",
                x.len(),
                y.len()
            );
        }
        if x.len() != y.len() {
            return format!("{name}: sizes {} / {}", x.len(), y.len());
        }
    }
    "no difference".into()
}

/// Values of partition 0 by offset, read through the cluster's current leader.
fn values(c: &mut MultiCluster) -> BTreeMap<i64, String> {
    consume_all(&c.bootstrap(), TOPIC, Duration::from_secs(4))
        .or_panic("consume")
        .into_iter()
        .map(|r| (r.offset, r.value))
        .collect()
}

#[test]
fn returning_leader_truncates_its_unreplicated_tail() {
    let settings = [
        ("replica.lag.time.max.ms", "10000"),
        ("auto.leader.rebalance.enable", "false"),
        ("log.flush.interval.ms", "500"),
    ];
    let mut c = MultiCluster::start_on_ensemble("diverged", 3, 2, &settings).or_panic("cluster");
    c.create_topic(TOPIC, 1, 2, &[("min.insync.replicas", "1")])
        .or_panic("create topic");
    let parts = c.wait_isr_size(TOPIC, 1, 2, DEADLINE).or_panic("ISR");
    let old = parts[&0].0;
    let new = if old == 1 { 2 } else { 1 };
    let old_addr = c.broker(old).bootstrap();
    let write = |addr: &str, acks: i16, value: &str| {
        produce_direct(addr, TOPIC, 0, acks, Duration::from_secs(10), &[value]).or_panic("produce")
    };
    for i in 0..5 {
        assert_eq!(write(&old_addr, -1, &format!("common-{i}")), (0, i));
    }

    // The follower pauses (still in the ISR for replica.lag.time.max.ms); the leader takes
    // acks=1 writes only it has, then crashes.
    let follower_pid = c.broker(new).pid().or_panic("follower pid");
    signal(follower_pid, "STOP").or_panic("SIGSTOP follower");
    for i in 0..3 {
        assert_eq!(write(&old_addr, 1, &format!("tail-{i}")), (0, 5 + i));
    }
    c.broker(old).kill().or_panic("kill -9 leader");
    signal(follower_pid, "CONT").or_panic("SIGCONT follower");

    // The follower was in the ISR: it becomes leader (no unclean election) and writes
    // different records at the offsets of the lost tail.
    let new_addr = c.broker(new).bootstrap();
    c.wait_for(DEADLINE, "the follower leads", |_| {
        Ok(MultiCluster::partitions_from(&new_addr, TOPIC)?
            .get(&0)
            .is_some_and(|(l, _)| *l == new))
    })
    .or_panic("election");
    // The follower's long poll was already at the leader when it stopped; its answer may carry
    // tail-0, which the follower then appends on waking up, before it learns it leads.
    let (code, base) = write(&new_addr, -1, "new-0");
    assert_eq!(code, 0);
    assert!((5..=6).contains(&base), "new leader's log ends at {base}");
    for i in 1..4 {
        assert_eq!(write(&new_addr, -1, &format!("new-{i}")), (0, base + i));
    }

    // The old leader returns as a follower: it must drop tail-* and copy new-*.
    c.broker(old).restart().or_panic("restart the old leader");
    c.wait_isr_size(TOPIC, 1, 2, DEADLINE)
        .or_panic("old leader back in the ISR");
    let log = c.broker(old).log_file();
    let text = fs::read_to_string(&log).or_panic("broker log");
    assert!(
        text.contains("truncating diverged log tail"),
        "the old leader never truncated"
    );
    let old_dir = c.broker(old).partition_dir(TOPIC, 0);
    let new_dir = c.broker(new).partition_dir(TOPIC, 0);
    c.wait_for(DEADLINE, "identical segment files", |_| {
        let (a, b) = (segments(&old_dir), segments(&new_dir));
        if a == b {
            return Ok(true);
        }
        Err(std::io::Error::other(describe_difference(&a, &b)))
    })
    .or_panic("byte-for-byte equal logs");
    // New epochs reach the checkpoint files when the logs are flushed (every 500 ms here).
    let epochs = |dir: &std::path::Path| fs::read_to_string(dir.join("leader-epoch-checkpoint"));
    c.wait_for(DEADLINE, "identical leader epoch checkpoints", |_| {
        let (a, b) = (epochs(&old_dir)?, epochs(&new_dir)?);
        if a == b {
            return Ok(true);
        }
        Err(std::io::Error::other(format!("{a:?} vs {b:?}")))
    })
    .or_panic("leader epoch caches agree");

    let expected: BTreeMap<i64, String> = (0..5)
        .map(|i| (i, format!("common-{i}")))
        .chain((base == 6).then(|| (5, "tail-0".to_string())))
        .chain((0..4).map(|i| (base + i, format!("new-{i}"))))
        .collect();
    assert_eq!(values(&mut c), expected, "read through the new leader");

    // Leadership moves to the old leader (controlled shutdown of the other): same records.
    c.broker(new).stop().or_panic("stop the new leader");
    c.wait_for(DEADLINE, "the old leader leads again", |c| {
        Ok(c.partitions(TOPIC)?.get(&0).is_some_and(|(l, _)| *l == old))
    })
    .or_panic("leader moved back");
    assert_eq!(values(&mut c), expected, "read through the old leader");
}
