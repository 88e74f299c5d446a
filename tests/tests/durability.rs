//! Data survives the broker: a clean restart, a `kill -9` in the middle of an acks=1 produce
//! stream, and a log whose last batch was torn by a crash.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use serde_json::Value;
use tests::broker::truncate_file;
use tests::check::{assert_contiguous, int, records, string};
use tests::OrPanic;
use tests::{python, Cluster};

const SCRIPT: Duration = Duration::from_secs(90);
/// Upper bound for ZooKeeper to expire a killed broker's session (6 s) and drop its node.
const SESSION_EXPIRY: Duration = Duration::from_secs(30);

fn produce(cluster: &Cluster, topic: &str, start: usize, count: usize) -> Vec<Value> {
    let bootstrap = cluster.bootstrap();
    let (start, count) = (start.to_string(), count.to_string());
    python::run_json(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            topic,
            "--start",
            &start,
            "--count",
            &count,
        ],
        SCRIPT,
    )
    .or_panic("kp_produce.py")
}

/// Everything in `topic`, read with kafka-python until `expect` records (or 15 s idle).
fn consume_all(cluster: &Cluster, topic: &str, expect: usize) -> Vec<Value> {
    let bootstrap = cluster.bootstrap();
    let expect = expect.to_string();
    let lines = python::run_json(
        "kp_consume.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            topic,
            "--expect",
            &expect,
            "--timeout-ms",
            "15000",
        ],
        SCRIPT,
    )
    .or_panic("kp_consume.py");
    records(&lines).into_iter().cloned().collect()
}

fn offsets(records: &[Value]) -> Vec<i64> {
    records.iter().map(|r| int(r, "offset")).collect()
}

fn values(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| string(r, "value").to_owned())
        .collect()
}

fn expected_values(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("value-{n}")).collect()
}

#[test]
fn data_survives_a_clean_restart() {
    let mut cluster = Cluster::start("restart").or_panic("start cluster");
    produce(&cluster, "durable", 0, 20);

    cluster
        .broker
        .stop()
        .or_panic("clean shutdown within the deadline");
    cluster.restart_broker().or_panic("restart");

    let got = consume_all(&cluster, "durable", 20);
    assert_contiguous(&offsets(&got), 0);
    assert_eq!(values(&got), expected_values(0..20));

    // The log continues where it was.
    let acks = produce(&cluster, "durable", 20, 5);
    let new: Vec<i64> = acks.iter().map(|a| int(a, "offset")).collect();
    assert_eq!(new, vec![20, 21, 22, 23, 24]);
    let got = consume_all(&cluster, "durable", 25);
    assert_contiguous(&offsets(&got), 0);
    assert_eq!(values(&got), expected_values(0..25));
}

#[test]
fn acknowledged_records_survive_kill_9_mid_stream() {
    let mut cluster = Cluster::start("kill9").or_panic("start cluster");
    let bootstrap = cluster.bootstrap();
    let mut producer = python::spawn(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "stream",
            "--count",
            "5000",
            "--acks",
            "1",
            "--retries",
            "0",
            "--stream",
            "--interval-ms",
            "2",
        ],
    )
    .or_panic("start the streaming producer");

    // Let a good number of records be acknowledged, then crash the broker under the stream.
    let mut acked: BTreeMap<i64, i64> = BTreeMap::new(); // seq -> offset
    while acked.len() < 200 {
        let line = producer
            .next_json(Duration::from_secs(30))
            .or_panic("producer output")
            .or_panic("producer ended before the broker was killed");
        if line.get("offset").is_some() {
            acked.insert(int(&line, "seq"), int(&line, "offset"));
        }
    }
    cluster.broker.kill().or_panic("kill -9 the broker");

    // Acknowledgements already on their way to the producer are acknowledged too: read until
    // the producer gives up (its timeouts are a few seconds) and exits.
    let rest = producer
        .remaining_json(Duration::from_secs(60))
        .or_panic("rest of the output");
    producer
        .wait(Duration::from_secs(60))
        .or_panic("producer exits");
    for line in rest.iter().filter(|l| l.get("offset").is_some()) {
        acked.insert(int(line, "seq"), int(line, "offset"));
    }

    cluster
        .wait_broker_deregistered(1, SESSION_EXPIRY)
        .or_panic("old session expires");
    cluster.restart_broker().or_panic("restart after kill -9");

    let max_offset = *acked.values().max().or_panic("some records acknowledged");
    let readable = usize::try_from(max_offset + 1).or_panic("offset fits");
    let got = consume_all(&cluster, "stream", readable);
    let got_offsets = offsets(&got);
    assert!(
        got.len() >= readable,
        "{} records readable, acknowledged up to {max_offset}",
        got.len()
    );
    assert_contiguous(&got_offsets, 0);
    for (seq, offset) in &acked {
        let record = &got[usize::try_from(*offset).or_panic("offset fits")];
        assert_eq!(
            string(record, "value"),
            format!("value-{seq}"),
            "acknowledged offset {offset}"
        );
    }
}

#[test]
fn torn_tail_is_truncated_and_the_log_continues() {
    let mut cluster = Cluster::start("torn").or_panic("start cluster");
    // One synchronous send per record: ten batches, so cutting into the last one leaves nine.
    produce(&cluster, "torn", 0, 10);
    cluster.broker.stop().or_panic("clean shutdown");

    let partition = cluster.broker.partition_dir("torn", 0);
    let segment = partition.join("00000000000000000000.log");
    let size = fs::metadata(&segment)
        .unwrap_or_else(|e| {
            let listing = fs::read_dir(&partition).map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>()
            });
            panic!(
                "{}: {e}; partition dir holds {listing:?}",
                segment.display()
            )
        })
        .len();
    // Cut into the middle of the last batch (each is well over 14 bytes).
    truncate_file(&segment, size - 7).or_panic("truncate the segment");

    cluster
        .restart_broker()
        .or_panic("broker recovers a torn log");
    let got = consume_all(&cluster, "torn", 9);
    assert_contiguous(&offsets(&got), 0);
    assert_eq!(
        values(&got),
        expected_values(0..9),
        "the records before the torn batch"
    );

    // New records follow the last complete batch, with no gap.
    let acks = produce(&cluster, "torn", 100, 3);
    let new: Vec<i64> = acks.iter().map(|a| int(a, "offset")).collect();
    assert_eq!(new, vec![9, 10, 11]);
    let got = consume_all(&cluster, "torn", 12);
    assert_contiguous(&offsets(&got), 0);
    let mut expected = expected_values(0..9);
    expected.extend(expected_values(100..103));
    assert_eq!(values(&got), expected);
}
