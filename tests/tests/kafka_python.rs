//! kafka-python against one broker, the way the tutorial uses it: default producers (idempotence
//! on), topics auto-created on first use, consumers reading from the earliest offset, and the
//! Kafka 0.10 protocol (`api_version=(0, 10)`: old Fetch, v1 message sets).

use std::time::Duration;

use serde_json::Value;
use tests::check::{assert_contiguous, int, records, string};
use tests::OrPanic;
use tests::{python, Cluster};

/// Bound on any one client script.
const SCRIPT: Duration = Duration::from_secs(90);

/// Consumes `topic` from the beginning, stopping after `expect` records (or 15 s idle).
fn consume(cluster: &Cluster, topic: &str, expect: usize, extra: &[&str]) -> Vec<Value> {
    let bootstrap = cluster.bootstrap();
    let expect = expect.to_string();
    let mut args = vec!["--bootstrap", &bootstrap, "--topic", topic];
    args.extend(["--expect", &expect, "--timeout-ms", "15000"]);
    args.extend(extra);
    python::run_json("kp_consume.py", &args, SCRIPT).or_panic("kp_consume.py")
}

fn produce(cluster: &Cluster, topic: &str, count: usize, extra: &[&str]) -> Vec<Value> {
    let bootstrap = cluster.bootstrap();
    let count = count.to_string();
    let mut args = vec![
        "--bootstrap",
        &bootstrap,
        "--topic",
        topic,
        "--count",
        &count,
    ];
    args.extend(extra);
    python::run_json("kp_produce.py", &args, SCRIPT).or_panic("kp_produce.py")
}

#[test]
fn tutorial_producer_then_consumer_reads_everything() {
    let cluster = Cluster::start("kp-tutorial").or_panic("start cluster");
    let bootstrap = cluster.bootstrap();
    let acks = python::run_json(
        "kp_tutorial_producer.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "my-topic",
            "--json-topic",
            "json-topic",
        ],
        SCRIPT,
    )
    .or_panic("tutorial producer");

    // Every send is acknowledged on partition 0 of an auto-created single-partition topic,
    // and my-topic's offsets follow the send order.
    let steps: Vec<&str> = acks.iter().map(|a| string(a, "step")).collect();
    let mut expected_steps = vec!["raw", "keyed", "json"];
    expected_steps.extend(["json-loop"; 10]);
    expected_steps.extend(["callback", "retries"]);
    assert_eq!(steps, expected_steps);
    for ack in &acks {
        assert_eq!(int(ack, "partition"), 0, "{ack}");
    }
    let json_ack = &acks[2];
    assert_eq!(string(json_ack, "topic"), "json-topic");
    assert_eq!(int(json_ack, "offset"), 0);
    let my_topic: Vec<i64> = acks
        .iter()
        .filter(|a| string(a, "topic") == "my-topic")
        .map(|a| int(a, "offset"))
        .collect();
    assert_contiguous(&my_topic, 0);

    let lines = consume(&cluster, "my-topic", 14, &[]);
    let got = records(&lines);
    let offsets: Vec<i64> = got.iter().map(|r| int(r, "offset")).collect();
    assert_contiguous(&offsets, 0);
    let values: Vec<&str> = got.iter().map(|r| string(r, "value")).collect();
    let mut expected: Vec<String> = vec!["raw_bytes".into(), "bar".into()];
    expected.extend((0..10).map(|n| format!("{{\"num\": {n}}}")));
    expected.extend(["callback".into(), "retries".into()]);
    assert_eq!(values, expected);
    // Only the keyed send has a key: b"foo".
    let keys: Vec<Option<&str>> = got.iter().map(|r| r["key_hex"].as_str()).collect();
    let mut expected_keys = vec![None; 14];
    expected_keys[1] = Some("666f6f");
    assert_eq!(keys, expected_keys);

    let json = consume(&cluster, "json-topic", 1, &[]);
    let json = records(&json);
    assert_eq!(json.len(), 1);
    assert_eq!(string(json[0], "value"), r#"{"key": "value"}"#);
}

#[test]
fn keyed_records_round_trip_with_contiguous_offsets() {
    let cluster = Cluster::start("kp-keyed").or_panic("start cluster");
    let acks = produce(&cluster, "keyed", 30, &["--keyed"]);
    let offsets: Vec<i64> = acks.iter().map(|a| int(a, "offset")).collect();
    assert_contiguous(&offsets, 0);

    let lines = consume(&cluster, "keyed", 30, &[]);
    let got = records(&lines);
    assert_eq!(got.len(), 30);
    for (n, record) in got.iter().enumerate() {
        assert_eq!(int(record, "offset"), n as i64);
        assert_eq!(string(record, "value"), format!("value-{n}"));
        let key = tests::check::bytes(record, "key_hex").or_panic("key present");
        assert_eq!(key, format!("key-{n}").into_bytes());
    }
}

#[test]
fn consumer_timeout_ends_iteration() {
    let cluster = Cluster::start("kp-timeout").or_panic("start cluster");
    produce(&cluster, "quiet", 5, &[]);
    let bootstrap = cluster.bootstrap();
    // No --expect: the loop must end by itself once nothing arrives for 2 s.
    let lines = python::run_json(
        "kp_consume.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "quiet",
            "--timeout-ms",
            "2000",
        ],
        SCRIPT,
    )
    .or_panic("consumer ends by itself");
    let got = records(&lines);
    assert_eq!(got.len(), 5, "{lines:?}");
    let done = lines.last().or_panic("a final line");
    assert_eq!(done["done"], true, "{done}");
    assert_eq!(int(done, "count"), 5);
    // It ended because of the timeout (about 2 s idle), not because something failed early.
    let idle = int(done, "idle_ms");
    assert!(
        (1500..15000).contains(&idle),
        "idle {idle} ms before iteration ended"
    );
}

#[test]
fn api_version_0_10_producer_and_consumer() {
    let cluster = Cluster::start("kp-old-both").or_panic("start cluster");
    let acks = produce(
        &cluster,
        "notification",
        10,
        &["--api-version", "0.10", "--keyed"],
    );
    let offsets: Vec<i64> = acks.iter().map(|a| int(a, "offset")).collect();
    assert_contiguous(&offsets, 0);

    let lines = consume(&cluster, "notification", 10, &["--api-version", "0.10"]);
    let got = records(&lines);
    let offsets: Vec<i64> = got.iter().map(|r| int(r, "offset")).collect();
    assert_contiguous(&offsets, 0);
    assert_eq!(got.len(), 10);
    for (n, record) in got.iter().enumerate() {
        assert_eq!(string(record, "value"), format!("value-{n}"));
        assert_eq!(
            string(record, "key_hex"),
            tests::check::to_hex(format!("key-{n}").as_bytes())
        );
    }
}

#[test]
fn api_version_0_10_consumer_reads_records_from_a_default_producer() {
    let cluster = Cluster::start("kp-old-consumer").or_panic("start cluster");
    // A modern producer writes v2 record batches; the 0.10 consumer's old Fetch must get them
    // as v1 message sets.
    produce(&cluster, "chatting", 12, &["--keyed"]);
    let lines = consume(&cluster, "chatting", 12, &["--api-version", "0.10"]);
    let got = records(&lines);
    let offsets: Vec<i64> = got.iter().map(|r| int(r, "offset")).collect();
    assert_contiguous(&offsets, 0);
    assert_eq!(got.len(), 12);
    for (n, record) in got.iter().enumerate() {
        assert_eq!(string(record, "value"), format!("value-{n}"));
    }
}

#[test]
fn default_consumer_reads_records_from_an_api_version_0_10_producer() {
    let cluster = Cluster::start("kp-old-producer").or_panic("start cluster");
    produce(&cluster, "legacy", 8, &["--api-version", "0.10"]);
    let lines = consume(&cluster, "legacy", 8, &[]);
    let got = records(&lines);
    let offsets: Vec<i64> = got.iter().map(|r| int(r, "offset")).collect();
    assert_contiguous(&offsets, 0);
    let values: Vec<&str> = got.iter().map(|r| string(r, "value")).collect();
    let expected: Vec<String> = (0..8).map(|n| format!("value-{n}")).collect();
    assert_eq!(values, expected);
}
