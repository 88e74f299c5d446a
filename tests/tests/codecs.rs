//! confluent-kafka and kcat (both librdkafka) with every compression codec: binary keys and
//! values come back byte for byte, in order, at contiguous offsets from 0.

use std::io::Write;
use std::time::Duration;

use tests::check::{assert_contiguous, binary_key, binary_value, bytes, int, to_hex};
use tests::OrPanic;
use tests::{kcat, python, Cluster};

const RECORDS: usize = 40;
const SCRIPT: Duration = Duration::from_secs(90);

fn dataset() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..RECORDS)
        .map(|n| (binary_key(n), binary_value(n)))
        .collect()
}

/// Reads the topic's RECORDS records from the start with confluent-kafka.
fn confluent_consume(bootstrap: &str, topic: &str) -> Vec<serde_json::Value> {
    let count = RECORDS.to_string();
    python::run_json(
        "ck_consume.py",
        &[
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--count",
            &count,
            "--timeout",
            "60",
        ],
        SCRIPT,
    )
    .or_panic("ck_consume.py")
}

fn confluent_round_trip(codec: &str) {
    let cluster = Cluster::start(&format!("ck-{codec}")).or_panic("start cluster");
    let topic = format!("ck-{codec}");
    let data = dataset();

    let mut input = tempfile::NamedTempFile::new().or_panic("temp file");
    for (key, value) in &data {
        let line = serde_json::json!({"key_hex": to_hex(key), "value_hex": to_hex(value)});
        writeln!(input, "{line}").or_panic("write input");
    }
    input.flush().or_panic("flush input");
    let input_path = input.path().to_string_lossy().into_owned();
    let bootstrap = cluster.bootstrap();

    let acks = python::run_json(
        "ck_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            &topic,
            "--codec",
            codec,
            "--input",
            &input_path,
        ],
        SCRIPT,
    )
    .or_panic("ck_produce.py");
    assert_eq!(acks.len(), RECORDS);
    // Delivery reports arrive in send order for one partition.
    let seqs: Vec<i64> = acks.iter().map(|a| int(a, "seq")).collect();
    assert_contiguous(&seqs, 0);
    let offsets: Vec<i64> = acks.iter().map(|a| int(a, "offset")).collect();
    assert_contiguous(&offsets, 0);

    let lines = confluent_consume(&bootstrap, &topic);
    let offsets: Vec<i64> = lines.iter().map(|l| int(l, "offset")).collect();
    assert_contiguous(&offsets, 0);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(
            bytes(line, "key_hex").as_deref(),
            Some(data[n].0.as_slice()),
            "key {n}"
        );
        assert_eq!(
            bytes(line, "value_hex").as_deref(),
            Some(data[n].1.as_slice()),
            "value {n}"
        );
    }

    // kcat decodes the same batches independently.
    let records = kcat::consume(&bootstrap, &topic, RECORDS, Duration::from_secs(60))
        .or_panic("kcat consume");
    assert_eq!(records.len(), RECORDS);
}

fn kcat_round_trip(codec: &str) {
    let cluster = Cluster::start(&format!("kcat-{codec}")).or_panic("start cluster");
    let topic = format!("kcat-{codec}");
    let data = dataset();
    let bootstrap = cluster.bootstrap();

    kcat::produce(&bootstrap, &topic, codec, &data, Duration::from_secs(60))
        .or_panic("kcat produce");
    let records = kcat::consume(&bootstrap, &topic, RECORDS, Duration::from_secs(60))
        .or_panic("kcat consume");
    assert_eq!(records.len(), RECORDS, "records read back");
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_contiguous(&offsets, 0);
    for (n, record) in records.iter().enumerate() {
        assert_eq!(record.key.as_deref(), Some(data[n].0.as_slice()), "key {n}");
        assert_eq!(
            record.value.as_deref(),
            Some(data[n].1.as_slice()),
            "value {n}"
        );
    }

    // And a different client reads the same bytes.
    let lines = confluent_consume(&bootstrap, &topic);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(
            bytes(line, "value_hex").as_deref(),
            Some(data[n].1.as_slice()),
            "value {n}"
        );
    }
}

macro_rules! codec_tests {
    ($($codec:ident),*) => {
        mod confluent_kafka {
            $(#[test] fn $codec() { super::confluent_round_trip(stringify!($codec)); })*
        }
        mod kcat_cli {
            $(#[test] fn $codec() { super::kcat_round_trip(stringify!($codec)); })*
        }
    };
}

codec_tests!(none, gzip, snappy, lz4, zstd);
