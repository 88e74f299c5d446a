//! ListOffsets by timestamp as confluent-kafka's `offsets_for_times` asks it, on a 3-broker
//! cluster with 1-partition RF 3 topics: the earliest offset whose record timestamp is at or
//! after the target, found inside batches (a batch whose timestamps span more than an i32 of
//! milliseconds once answered -1), out of order, compressed, across segments, for CreateTime
//! and LogAppendTime topics, and again after every broker restarted with its time indexes
//! deleted (rebuilt from the segments). Records from 1970 and 2001 are past any time
//! retention, so those topics keep their records forever (`retention.ms=-1`), as they must on
//! Kafka too.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tests::check::int;
use tests::multi::MultiCluster;
use tests::python;
use tests::OrPanic;

const SCRIPT: &str = "ck_offsets_for_times.py";
const TIMEOUT: Duration = Duration::from_secs(60);

/// One topic's scenario: what is produced and which times are looked up.
struct Scenario {
    topic: &'static str,
    configs: &'static [(&'static str, &'static str)],
    compression: &'static str,
    batches: Vec<Vec<i64>>,
    /// Lookups; `None` means "every delivered timestamp, and one past it".
    targets: Option<Vec<i64>>,
}

/// (offset, timestamp) of every delivered record, in offset order.
type Delivered = Vec<(i64, i64)>;

fn run(c: &mut MultiCluster, s: &Scenario, targets: &[i64], produce: bool) -> (Delivered, Value) {
    let bootstrap = c.bootstrap();
    let batches = serde_json::to_string(&s.batches).or_panic("batches");
    let targets = serde_json::to_string(targets).or_panic("targets");
    let mut args = vec![
        "--bootstrap",
        &bootstrap,
        "--topic",
        s.topic,
        "--batches",
        &batches,
        "--compression",
        s.compression,
        "--targets",
        &targets,
    ];
    if !produce {
        args.push("--skip-produce");
    }
    let lines = python::run_json(SCRIPT, &args, TIMEOUT).or_panic(s.topic);
    let mut delivered: Delivered = lines
        .iter()
        .filter(|l| l["event"] == "delivered")
        .map(|l| (int(l, "offset"), int(l, "timestamp")))
        .collect();
    delivered.sort_unstable();
    let answers = lines
        .iter()
        .find(|l| l["event"] == "times")
        .map_or(Value::Null, |l| l["answers"].clone());
    (delivered, answers)
}

/// Kafka's answer by brute force: the first offset whose timestamp is ≥ `target`, else -1.
fn expected(delivered: &Delivered, target: i64) -> i64 {
    delivered
        .iter()
        .find(|(_, ts)| *ts >= target)
        .map_or(-1, |(offset, _)| *offset)
}

fn check(topic: &str, delivered: &Delivered, targets: &[i64], answers: &Value, when: &str) {
    for t in targets {
        assert_eq!(
            int(answers, &t.to_string()),
            expected(delivered, *t),
            "{topic} ({when}): offsets_for_times({t}); records {delivered:?}; answers {answers}"
        );
    }
}

fn remove_time_indexes(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_time_indexes(&path);
        } else if path.extension().is_some_and(|e| e == "timeindex") {
            fs::remove_file(&path).or_panic("remove time index");
        }
    }
}

#[test]
fn offsets_for_times_finds_the_first_record_at_or_after_a_time() {
    let mut c = MultiCluster::start("by-time", 3, &[]).or_panic("cluster");
    // Out of order inside each batch, and every fourth batch older than the one before.
    let shuffled: Vec<Vec<i64>> = (0..30i64)
        .map(|i| {
            let base = 1_000_000 + if i % 4 == 3 { 10 * i - 25 } else { 10 * i };
            vec![base + 7, base, base + 3]
        })
        .collect();
    let scenarios = [
        // The case: 1234 and 999999999999 in one batch, then 5000 and 6000.
        Scenario {
            topic: "by-time",
            configs: &[("retention.ms", "-1")],
            compression: "none",
            batches: vec![vec![1234, 999_999_999_999], vec![5000], vec![6000]],
            targets: Some(vec![
                1234,
                1235,
                5000,
                999_999_999_998,
                999_999_999_999,
                1_000_000_000_000,
            ]),
        },
        Scenario {
            topic: "by-time-gzip-segments",
            configs: &[("segment.bytes", "400"), ("retention.ms", "-1")],
            compression: "gzip",
            batches: shuffled,
            targets: Some((999_990..1_000_300).step_by(3).collect()),
        },
        Scenario {
            topic: "by-time-log-append",
            configs: &[("message.timestamp.type", "LogAppendTime")],
            compression: "zstd",
            batches: vec![vec![1234, 999_999_999_999], vec![0], vec![0]],
            targets: None,
        },
    ];
    let mut results = Vec::new();
    for s in &scenarios {
        c.create_topic(s.topic, 1, 3, s.configs).or_panic(s.topic);
        let targets = s.targets.clone().unwrap_or_default();
        let (delivered, answers) = run(&mut c, s, &targets, true);
        let count: usize = s.batches.iter().map(Vec::len).sum();
        assert_eq!(
            delivered.len(),
            count,
            "{}: every record delivered",
            s.topic
        );
        let targets = s.targets.clone().unwrap_or_else(|| {
            delivered
                .iter()
                .flat_map(|(_, ts)| [*ts, ts + 1])
                .chain([0, 1235])
                .collect()
        });
        let answers = if s.targets.is_some() {
            answers
        } else {
            run(&mut c, s, &targets, false).1
        };
        check(s.topic, &delivered, &targets, &answers, "as produced");
        results.push((delivered, targets));
    }
    // The numbers, spelled out.
    assert_eq!(
        results[0].0,
        vec![(0, 1234), (1, 999_999_999_999), (2, 5000), (3, 6000)]
    );
    let segments = fs::read_dir(c.broker(1).partition_dir("by-time-gzip-segments", 0))
        .or_panic("partition dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .count();
    assert!(segments > 2, "the gzip topic spans {segments} segment(s)");

    // Every broker restarted with its time indexes gone: they are rebuilt from the segments.
    for b in &mut c.brokers {
        b.stop().or_panic("stop");
        remove_time_indexes(&b.log_dir());
    }
    for b in &mut c.brokers {
        b.restart().or_panic("restart");
    }
    for s in &scenarios {
        c.wait_for(TIMEOUT, &format!("{}: a leader", s.topic), |c| {
            Ok(c.partitions(s.topic)?.values().all(|(l, _)| *l >= 0))
        })
        .or_panic("leader after restart");
    }
    for (s, (delivered, targets)) in scenarios.iter().zip(&results) {
        let (_, answers) = run(&mut c, s, targets, false);
        check(s.topic, delivered, targets, &answers, "after a restart");
    }
}

/// Binary searches with seek() + consume() over a 1000-record RF 3 partition of small
/// segments (gzip and plain batches): every seek, backwards or forwards, yields exactly the
/// record sought, also after leadership moved to a replica whose log came by replication.
#[test]
fn binary_searches_with_seek_find_every_record() {
    let mut c = MultiCluster::start("seek-search", 3, &[]).or_panic("cluster");
    for (topic, compression) in [("seek-plain", "none"), ("seek-gzip", "gzip")] {
        c.create_topic(topic, 1, 3, &[("segment.bytes", "2000")])
            .or_panic(topic);
        let search = |c: &mut MultiCluster, seed: &str, produce: bool| {
            let bootstrap = c.bootstrap();
            let mut args = vec![
                "--bootstrap",
                &bootstrap,
                "--topic",
                topic,
                "--compression",
                compression,
                "--searches",
                "15",
                "--seed",
                seed,
            ];
            if !produce {
                args.push("--skip-produce");
            }
            let lines = python::run_json("ck_seek_search.py", &args, TIMEOUT).or_panic(topic);
            let searched = lines
                .iter()
                .find(|l| l["event"] == "searched")
                .or_panic("searched line");
            assert!(int(searched, "seeks") >= 15 * 9, "{topic}: {searched}");
        };
        search(&mut c, "1", true);
        // Leadership moves to a follower (controlled shutdown of the leader), and back.
        let leader = c.partitions(topic).or_panic("leaders")[&0].0;
        c.broker(leader).stop().or_panic("stop the leader");
        c.wait_for(TIMEOUT, "a new leader", |c| {
            Ok(c.partitions(topic)?
                .get(&0)
                .is_some_and(|(l, _)| *l >= 0 && *l != leader))
        })
        .or_panic("leadership moved");
        search(&mut c, "2", false);
        c.broker(leader).restart().or_panic("restart");
    }
}
