//! Compacted topics (`cleanup.policy=compact`) with real clients: the latest record of every
//! key is kept at its offset, tombstones go after `delete.retention.ms`, replicas cleaned
//! independently agree, an idempotent producer writes on across cleanings, and `kill -9`
//! during a cleaning loses no key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::kcat::{self, Record};
use tests::multi::MultiCluster;
use tests::python;
use tests::OrPanic;

const TIMEOUT: Duration = Duration::from_secs(120);
const TOPIC: &str = "compacted";

/// key → (offset, value) of the latest record of every key; `None` value: a tombstone.
type Latest = BTreeMap<String, (i64, Option<String>)>;

fn text(b: &Option<Vec<u8>>) -> Option<String> {
    b.as_ref().map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The latest record of every key among `records` (in offset order), ticks left out.
fn latest_of(records: &[Record]) -> Latest {
    let mut out = Latest::new();
    for r in records {
        let key = text(&r.key).unwrap_or_default();
        if key != "tick" {
            out.insert(key, (r.offset, text(&r.value)));
        }
    }
    out
}

/// Produces with `ck_keyed_produce.py` and returns what was acknowledged, as [`Latest`].
fn produce(c: &mut MultiCluster, args: &[&str]) -> Latest {
    let bootstrap = c.bootstrap();
    let mut all = vec!["--bootstrap", &bootstrap, "--topic", TOPIC];
    all.extend_from_slice(args);
    let lines = python::run_json("ck_keyed_produce.py", &all, TIMEOUT).or_panic("produce");
    let acked = lines
        .iter()
        .find(|l| l["event"] == "acked")
        .or_panic("acked line");
    let mut out = Latest::new();
    for (key, v) in acked["latest"].as_object().or_panic("latest map") {
        out.insert(
            key.clone(),
            (
                v[0].as_i64().or_panic("offset"),
                v[1].as_str().map(String::from),
            ),
        );
    }
    out
}

/// A record that makes the active segment roll (`segment.ms` is short), so that what came
/// before it becomes cleanable.
fn tick(c: &mut MultiCluster) {
    let bootstrap = c.bootstrap();
    kcat::produce(
        &bootstrap,
        TOPIC,
        "none",
        &[(b"tick".to_vec(), b"t".to_vec())],
        Duration::from_secs(30),
    )
    .or_panic("tick");
}

fn read_kcat(c: &mut MultiCluster) -> Vec<Record> {
    kcat::consume(&c.bootstrap(), TOPIC, 10_000_000, TIMEOUT).or_panic("kcat consume")
}

/// Reads with `read_compacted.py` and `client`: (offset, key, value) in order.
fn read_python(c: &mut MultiCluster, client: &str) -> Vec<(i64, String, Option<String>)> {
    let bootstrap = c.bootstrap();
    let lines = python::run_json(
        "read_compacted.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            TOPIC,
            "--client",
            client,
        ],
        TIMEOUT,
    )
    .or_panic(client);
    lines
        .iter()
        .filter(|l| l.get("offset").is_some())
        .map(|l: &Value| {
            (
                l["offset"].as_i64().or_panic("offset"),
                l["key"].as_str().unwrap_or_default().to_string(),
                l["value"].as_str().map(String::from),
            )
        })
        .collect()
}

/// Ticks and reads until each key (ticks aside) appears once; returns the records.
fn wait_compacted(
    c: &mut MultiCluster,
    what: &str,
    done: impl Fn(&[Record]) -> bool,
) -> Vec<Record> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        tick(c);
        let records = read_kcat(c);
        if done(&records) {
            return records;
        }
        assert!(Instant::now() < deadline, "{what}: not within {TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn once_per_key(records: &[Record]) -> bool {
    let keyed: Vec<&Record> = records
        .iter()
        .filter(|r| r.key.as_deref() != Some(b"tick".as_slice()))
        .collect();
    keyed.len() == latest_of(records).len()
}

const COMPACT: &[(&str, &str)] = &[
    ("cleanup.policy", "compact"),
    ("segment.bytes", "100000"),
    ("segment.ms", "200"),
    ("min.cleanable.dirty.ratio", "0.01"),
    ("delete.retention.ms", "6000"),
];

#[test]
fn a_compacted_topic_keeps_the_latest_record_of_every_key() {
    let mut c =
        MultiCluster::start("compact", 1, &[("log.cleaner.backoff.ms", "200")]).or_panic("cluster");
    c.create_topic(TOPIC, 1, 1, COMPACT).or_panic("topic");
    let acked = produce(
        &mut c,
        &[
            "--count",
            "100000",
            "--keys",
            "1000",
            "--tombstones",
            "k0,k1,k2",
            "--compression",
            "gzip",
        ],
    );
    assert_eq!(acked.len(), 1000);
    let records = wait_compacted(&mut c, "one record per key", once_per_key);
    let first_seen = Instant::now();
    assert_eq!(
        latest_of(&records),
        acked,
        "kcat reads the latest of every key at its offset"
    );
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets increase");
    assert!(
        offsets[0] >= 99_000,
        "the superseded records before are gone: {}",
        offsets[0]
    );
    // kafka-python and confluent-kafka read exactly what kcat reads.
    let by_kcat: Vec<(i64, String, Option<String>)> = records
        .iter()
        .map(|r| (r.offset, text(&r.key).unwrap_or_default(), text(&r.value)))
        .collect();
    for client in ["kafka-python", "confluent"] {
        let got = read_python(&mut c, client);
        let keyed = |v: &[(i64, String, Option<String>)]| -> Vec<(i64, String, Option<String>)> {
            v.iter().filter(|(_, k, _)| k != "tick").cloned().collect()
        };
        assert_eq!(keyed(&got), keyed(&by_kcat), "{client}");
    }
    // The tombstones stay for delete.retention.ms (6 s) after the cleaning that reached them.
    let still = latest_of(&read_kcat(&mut c));
    assert!(first_seen.elapsed() < Duration::from_secs(3));
    assert_eq!(
        still.get("k0").map(|(_, v)| v.clone()),
        Some(None),
        "tombstone kept"
    );
    let gone = wait_compacted(&mut c, "tombstones removed", |r| {
        !latest_of(r).contains_key("k0")
    });
    assert!(
        first_seen.elapsed() >= Duration::from_secs(4),
        "tombstones went {:?} after the first compacted read",
        first_seen.elapsed()
    );
    let latest = latest_of(&gone);
    for k in ["k0", "k1", "k2"] {
        assert!(!latest.contains_key(k), "{k} came back");
    }
    assert_eq!(latest.len(), 997);
    // A later produce to a key is read back after what is there.
    let again = produce(
        &mut c,
        &["--count", "1", "--keys", "1", "--prefix", "again"],
    );
    let read = latest_of(&read_kcat(&mut c));
    assert_eq!(read["k0"], again["k0"]);
    assert!(read["k0"].0 > offsets[offsets.len() - 1]);
}

#[test]
fn replicas_cleaned_independently_agree_and_an_idempotent_producer_writes_on() {
    let mut c = MultiCluster::start(
        "compact-rf3",
        3,
        &[
            ("log.cleaner.backoff.ms", "200"),
            ("min.insync.replicas", "2"),
        ],
    )
    .or_panic("cluster");
    c.create_topic(TOPIC, 1, 3, COMPACT).or_panic("topic");
    let leader = c.partitions(TOPIC).or_panic("leaders")[&0].0;
    let follower = (1..=3).find(|id| *id != leader).or_panic("a follower");
    let bootstrap = c.bootstrap();
    let mut producer = python::spawn(
        "ck_keyed_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            TOPIC,
            "--count",
            "30000",
            "--keys",
            "300",
            "--idempotent",
            "--compression",
            "gzip",
        ],
    )
    .or_panic("producer");
    // A follower restarts while the producer writes and the replicas clean.
    c.broker(follower).kill().or_panic("kill a follower");
    c.broker(follower).restart().or_panic("restart it");
    let lines = producer.remaining_json(TIMEOUT).or_panic("producer output");
    assert!(
        producer.wait(TIMEOUT).or_panic("producer exit").success(),
        "{}",
        producer.stderr()
    );
    let acked = lines
        .iter()
        .find(|l| l["event"] == "acked")
        .or_panic("acked");
    let acked: Latest = acked["latest"]
        .as_object()
        .or_panic("latest")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (v[0].as_i64().unwrap_or(-1), v[1].as_str().map(String::from)),
            )
        })
        .collect();
    // Every replica has cleaned (its checkpoint moved past most of the log).
    let dirs: Vec<_> = c.brokers.iter().map(|b| b.log_dir()).collect();
    let deadline = Instant::now() + TIMEOUT;
    while !dirs.iter().all(|d| checkpoint_of(d) >= 25_000) {
        assert!(
            Instant::now() < deadline,
            "not every replica cleaned within {TIMEOUT:?}"
        );
        tick(&mut c);
        std::thread::sleep(Duration::from_millis(300));
    }
    c.wait_isr_size(TOPIC, 1, 3, TIMEOUT).or_panic("isr");
    for b in &mut c.brokers {
        b.stop().or_panic("stop");
    }
    let mut maps = Vec::new();
    for b in &c.brokers {
        let records = tests::segments::records(&b.partition_dir(TOPIC, 0)).or_panic("segments");
        assert!(
            records.len() < 15_000,
            "broker {} holds {} records",
            b.id(),
            records.len()
        );
        maps.push((b.id(), latest_of(&records)));
    }
    for (id, map) in &maps {
        assert_eq!(map, &acked, "broker {id}'s replica");
    }
}

/// The first dirty offset in the cleaner checkpoint of `dir` for partition 0 of [`TOPIC`].
fn checkpoint_of(dir: &Path) -> i64 {
    let Ok(text) = std::fs::read_to_string(dir.join("cleaner-offset-checkpoint")) else {
        return -1;
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            match (f.next(), f.next(), f.next()) {
                (Some(TOPIC), Some("0"), Some(o)) => o.parse().ok(),
                _ => None,
            }
        })
        .next()
        .unwrap_or(-1)
}

/// Files the cleaner writes aside (`.cleaned`, `.swap`, and `.deleted` for the segments a
/// swap replaced) in a partition dir.
fn aside_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn kill_9_while_cleaning_loses_no_key() {
    let mut c = MultiCluster::start(
        "compact-crash",
        1,
        &[
            ("log.cleaner.backoff.ms", "100"),
            // Slow cleanings, so that the kills land in them.
            ("log.cleaner.io.max.bytes.per.second", "3000000"),
        ],
    )
    .or_panic("cluster");
    c.create_topic(
        TOPIC,
        1,
        1,
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "300000"),
            ("segment.ms", "100"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    )
    .or_panic("topic");
    let mut expected = Latest::new();
    let mut interrupted = 0;
    let mut seed = 0x2545_f491_u32;
    let dir = c.broker(1).partition_dir(TOPIC, 0);
    for round in 0..4 {
        let prefix = format!("r{round}-");
        for (k, v) in produce(
            &mut c,
            &[
                "--count",
                "12000",
                "--keys",
                "1500",
                "--prefix",
                &prefix,
                "--value-bytes",
                "200",
                "--compression",
                "none",
            ],
        ) {
            expected.insert(k, v);
        }
        tick(&mut c);
        // The fault: SIGKILL at a random moment once the cleaner writes (its `.cleaned` files
        // exist from the copy on, through the swap).
        let deadline = Instant::now() + TIMEOUT;
        while aside_files(&dir) == 0 {
            assert!(
                Instant::now() < deadline,
                "round {round}: no cleaning started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        std::thread::sleep(Duration::from_millis(u64::from(seed % 400)));
        c.broker(1).kill().or_panic("kill -9");
        let aside = aside_files(&dir);
        interrupted += usize::from(aside > 0);
        eprintln!("round {round}: killed with {aside} file(s) written aside");
        c.broker(1).restart().or_panic("restart");
        // Until the restarted broker has its leadership back, reads fail: retry.
        let deadline = Instant::now() + TIMEOUT;
        let records = loop {
            match kcat::consume(&c.bootstrap(), TOPIC, 10_000_000, TIMEOUT) {
                Ok(r) => break r,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("round {round}: read after restart: {e}");
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => panic!("round {round}: read after restart: {e}"),
            }
        };
        let got = latest_of(&records);
        assert_eq!(
            got, expected,
            "round {round}: every key's latest acknowledged value"
        );
    }
    // Most kills land before the swap completes; some may land just after it.
    assert!(
        interrupted >= 3,
        "only {interrupted} kills landed in a cleaning"
    );
}
