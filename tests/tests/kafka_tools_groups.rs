//! `kafka-consumer-groups`, `kafka-console-producer` and `kafka-console-consumer` (the
//! `kafka-tools` binary) against one 3-broker cluster and groups made by real clients
//! (kafka-python, confluent-kafka) and by the console consumer itself: output formats,
//! messages, lag arithmetic, every offset-reset scenario, the refusals Kafka's tool gives.

use std::collections::BTreeMap;
use std::time::Duration;

use tests::multi::MultiCluster;
use tests::{kcat, python, tools, OrPanic};

/// A record's key and value as kcat read them.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// One row of `--describe` (offsets): the nine columns, `-` where Kafka prints it.
#[derive(Debug)]
struct Row {
    topic: String,
    partition: i32,
    current: Option<i64>,
    log_end: Option<i64>,
    lag: Option<i64>,
    consumer_id: String,
    client_id: String,
}

fn number(s: &str) -> Option<i64> {
    (s != "-").then(|| s.parse().or_panic(&format!("a number or -: {s}")))
}

/// The rows of `--describe --group group` (after checking the header).
fn describe(bootstrap: &str, group: &str) -> (Vec<Row>, String) {
    let out = tools::run(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--group",
            group,
        ],
        None,
    )
    .or_panic("describe");
    assert!(out.status.success(), "describe {group}: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines.peek().is_none() {
        // Nothing to show (a group rebalancing, or with neither members nor offsets).
        return (Vec::new(), stderr);
    }
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ],
        "{stdout}"
    );
    let rows = lines
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(c.len(), 9, "row {l:?}");
            assert_eq!(c[0], group);
            Row {
                topic: c[1].to_owned(),
                partition: c[2].parse().or_panic("partition"),
                current: number(c[3]),
                log_end: number(c[4]),
                lag: number(c[5]),
                consumer_id: c[6].to_owned(),
                client_id: c[8].to_owned(),
            }
        })
        .collect();
    (rows, stderr)
}

/// Committed offsets by partition, from `--describe`.
fn committed(bootstrap: &str, group: &str) -> BTreeMap<i32, Option<i64>> {
    describe(bootstrap, group)
        .0
        .iter()
        .map(|r| (r.partition, r.current))
        .collect()
}

fn groups_tool(bootstrap: &str, args: &[&str]) -> String {
    let mut all = vec!["--bootstrap-server", bootstrap];
    all.extend_from_slice(args);
    tools::run_ok("kafka-consumer-groups", &all).or_panic("kafka-consumer-groups")
}

/// Runs the console producer with `input` on stdin.
fn produce(bootstrap: &str, topic: &str, extra: &[&str], input: &str) {
    let mut args = vec!["--bootstrap-server", bootstrap, "--topic", topic];
    args.extend_from_slice(extra);
    let out =
        tools::run("kafka-console-producer", &args, Some(input.as_bytes())).or_panic("producer");
    assert!(
        out.status.success(),
        "console producer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the console consumer; (stdout, stderr).
fn consume(bootstrap: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["--bootstrap-server", bootstrap];
    all.extend_from_slice(args);
    let out = tools::run("kafka-console-consumer", &all, None).or_panic("consumer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "console consumer: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Kafka's default partitioner for a keyed record (Utils.murmur2, toPositive, modulo).
fn kafka_partition(key: &[u8], partitions: i32) -> i32 {
    let m: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ u32::try_from(key.len()).unwrap_or(0);
    let chunks = key.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]).wrapping_mul(m);
        k ^= k >> 24;
        h = h.wrapping_mul(m) ^ k.wrapping_mul(m);
    }
    for (i, b) in tail.iter().enumerate().rev() {
        h ^= u32::from(*b) << (8 * i);
    }
    if !tail.is_empty() {
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    i32::try_from(h & 0x7fff_ffff).unwrap_or(0) % partitions
}

#[test]
fn consumer_groups_and_console_clients() {
    let mut cluster = MultiCluster::start(
        "kafka_tools_groups",
        3,
        &[
            ("group.initial.rebalance.delay.ms", "0"),
            ("auto.create.topics.enable", "false"),
        ],
    )
    .or_panic("cluster");
    cluster
        .wait_for(Duration::from_secs(30), "a controller", |c| {
            Ok(c.controller().is_ok())
        })
        .or_panic("controller");
    let b = cluster.bootstrap();
    let b = b.as_str();
    cluster.create_topic("orders", 3, 2, &[]).or_panic("orders");
    cluster.create_topic("lines", 1, 3, &[]).or_panic("lines");

    // Console producer → console consumer, keyed: each key in Kafka's partition for it.
    let keyed: Vec<(String, String)> = (1..=9)
        .map(|i| (format!("key-{i}"), format!("value {i}")))
        .collect();
    let input: String = keyed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    produce(
        b,
        "orders",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        &input,
    );
    let (out, err) = consume(
        b,
        &[
            "--topic",
            "orders",
            "--group",
            "cg",
            "--from-beginning",
            "--max-messages",
            "9",
            "--property",
            "print.key=true",
            "--property",
            "print.partition=true",
        ],
    );
    assert!(err.contains("Processed a total of 9 messages"), "{err}");
    let mut seen: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        let cols: Vec<&str> = line.splitn(3, '\t').collect();
        assert_eq!(cols.len(), 3, "Partition:p<TAB>key<TAB>value: {line:?}");
        let partition: i32 = cols[0]
            .strip_prefix("Partition:")
            .or_panic(line)
            .parse()
            .or_panic(line);
        assert_eq!(partition, kafka_partition(cols[1].as_bytes(), 3), "{line}");
        seen.push((cols[1].to_owned(), cols[2].to_owned()));
    }
    seen.sort();
    let mut want = keyed.clone();
    want.sort();
    assert_eq!(seen, want);

    // The console consumer's group: empty now, everything committed, lag 0.
    let (rows, err) = describe(b, "cg");
    assert!(
        err.contains("Consumer group 'cg' has no active members."),
        "{err}"
    );
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r.topic, "orders");
        assert_eq!(r.current, r.log_end, "{r:?}");
        assert_eq!(r.lag, Some(0));
        assert_eq!(r.consumer_id, "-");
    }
    let ends: BTreeMap<i32, i64> = rows
        .iter()
        .map(|r| (r.partition, r.log_end.unwrap_or(0)))
        .collect();
    assert_eq!(ends.values().sum::<i64>(), 9);

    // --list, --list --state.
    let list = groups_tool(b, &["--list"]);
    assert!(list.lines().any(|l| l == "cg"), "{list}");
    let states = groups_tool(b, &["--list", "--state", "empty"]);
    let mut states_lines = states.lines();
    assert_eq!(
        states_lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["GROUP", "STATE"])
    );
    assert!(
        states_lines.any(|l| l.split_whitespace().collect::<Vec<_>>() == ["cg", "Empty"]),
        "{states}"
    );
    assert!(!groups_tool(b, &["--list", "--state", "Stable"]).contains("cg"));

    // Resets while the group is empty, each scenario.
    let reset = |args: &[&str]| {
        let mut all = vec!["--reset-offsets", "--group", "cg"];
        all.extend_from_slice(args);
        groups_tool(b, &all)
    };
    let plan = reset(&["--to-earliest", "--topic", "orders", "--execute"]);
    assert!(plan.contains("NEW-OFFSET"), "{plan}");
    assert!(committed(b, "cg").values().all(|o| *o == Some(0)));
    let dry = reset(&["--to-latest", "--all-topics"]);
    for (p, end) in &ends {
        let row = format!("{:<30} {:<30} {:<10} {:<15}", "cg", "orders", p, end);
        assert!(dry.contains(row.trim_end()), "dry run {dry} lacks {row:?}");
    }
    assert!(
        committed(b, "cg").values().all(|o| *o == Some(0)),
        "a dry run changes nothing"
    );
    reset(&["--to-offset", "1", "--topic", "orders:0,1", "--execute"]);
    let now = committed(b, "cg");
    for p in [0, 1] {
        assert_eq!(now[&p], Some(1.min(ends[&p])), "{now:?}");
    }
    assert_eq!(now[&2], Some(0));
    reset(&["--shift-by", "1", "--all-topics", "--execute"]);
    let shifted = committed(b, "cg");
    for (p, before) in &now {
        assert_eq!(
            shifted[p],
            Some((before.unwrap_or(0) + 1).min(ends[p])),
            "{shifted:?}"
        );
    }
    reset(&["--to-offset", "1000", "--all-topics", "--execute"]);
    assert_eq!(
        committed(b, "cg")
            .into_iter()
            .map(|(p, o)| (p, o.unwrap_or(-1)))
            .collect::<BTreeMap<_, _>>(),
        ends,
        "clamped to the log end"
    );
    let future = reset(&[
        "--to-datetime",
        "2999-01-01T00:00:00.000",
        "--topic",
        "orders",
        "--dry-run",
    ]);
    assert!(
        future.contains(
            "Warn: Partition 0 from topic orders is empty. Falling back to latest known offset."
        ),
        "{future}"
    );
    reset(&["--by-duration", "PT1H", "--topic", "orders", "--execute"]);
    assert!(
        committed(b, "cg").values().all(|o| *o == Some(0)),
        "everything was written within the hour"
    );
    reset(&["--to-latest", "--topic", "orders:2", "--execute"]);
    let csv = reset(&["--to-current", "--all-topics", "--export"]);
    let csv_lines: Vec<&str> = csv.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(csv_lines.len(), 3, "{csv}");
    assert!(
        csv_lines.contains(&format!("orders,2,{}", ends[&2]).as_str()),
        "{csv}"
    );
    reset(&["--to-earliest", "--all-topics", "--execute"]);
    let file = std::env::temp_dir().join(format!("kafka-tools-groups-{}.csv", std::process::id()));
    std::fs::write(&file, &csv).or_panic("csv");
    reset(&[
        "--from-file",
        file.to_str().unwrap_or_default(),
        "--execute",
    ]);
    let _ = std::fs::remove_file(&file);
    let back = committed(b, "cg");
    assert_eq!(back[&2], Some(ends[&2]));
    assert_eq!(back[&0], Some(0));

    // Lag = log end − committed: two more records land after a confluent-kafka group read all.
    let ck = python::run_json(
        "ck_group_consume.py",
        &[
            "--bootstrap",
            b,
            "--topic",
            "orders",
            "--group",
            "ck",
            "--idle-ms",
            "1500",
        ],
        Duration::from_secs(40),
    )
    .or_panic("ck_group_consume");
    assert_eq!(ck.iter().filter(|l| l.get("offset").is_some()).count(), 9);
    produce(
        b,
        "orders",
        &["--property", "parse.key=true", "--sync"],
        "key-1\tlate 1\nkey-2\tlate 2\n",
    );
    let (rows, _) = describe(b, "ck");
    let mut lag = 0;
    for r in &rows {
        let (Some(end), Some(cur), Some(l)) = (r.log_end, r.current, r.lag) else {
            panic!("every partition was committed: {r:?}");
        };
        assert_eq!(l, end - cur, "{r:?}");
        lag += l;
    }
    assert_eq!(lag, 2, "{rows:?}");

    // An active kafka-python group: members, state, and the refusals.
    let mut kp = python::spawn(
        "kp_group_consume.py",
        &[
            "--bootstrap",
            // kafka-python takes one address per list element.
            b.split(',').next().unwrap_or_default(),
            "--topic",
            "orders",
            "--group",
            "kp",
            "--raw",
            "--idle-ms",
            "4000",
            "--max-seconds",
            "40",
        ],
    )
    .or_panic("kp consumer");
    loop {
        let line = kp
            .next_json(Duration::from_secs(30))
            .or_panic("kp output")
            .or_panic("kp ended");
        if line.get("event").and_then(|e| e.as_str()) == Some("assigned") {
            break;
        }
    }
    // Assigned in the client's eyes; the coordinator shows the assignment once Stable.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let (rows, err) = describe(b, "kp");
        if rows.len() == 3 || std::time::Instant::now() > deadline {
            assert_eq!(rows.len(), 3, "{rows:?} {err}");
            break rows;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.consumer_id != "-" && r.client_id.starts_with("kafka-python")),
        "{rows:?}"
    );
    let members = groups_tool(
        b,
        &["--describe", "--group", "kp", "--members", "--verbose"],
    );
    let member_lines: Vec<&str> = members.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        member_lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "GROUP",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT"
        ]
    );
    assert!(
        member_lines[1]
            .trim_end()
            .ends_with("3               orders(0,1,2)"),
        "{members}"
    );
    let state = groups_tool(b, &["--describe", "--group", "kp", "--state"]);
    let state_row: Vec<&str> = state
        .lines()
        .filter(|l| !l.trim().is_empty())
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(state_row.len(), 6, "{state}");
    assert_eq!(
        (state_row[0], state_row[4], state_row[5]),
        ("kp", "Stable", "1"),
        "{state}"
    );
    assert!(
        state_row[2].starts_with('(') && !state_row[3].is_empty(),
        "{state}"
    );
    let refused = groups_tool(
        b,
        &[
            "--reset-offsets",
            "--group",
            "kp",
            "--to-earliest",
            "--all-topics",
            "--execute",
        ],
    );
    assert!(refused.contains("Error: Assignments can only be reset if the group 'kp' is inactive, but the current state is Stable."), "{refused}");
    let not_deleted = groups_tool(b, &["--delete", "--group", "kp"]);
    assert!(
        not_deleted.contains("* Group 'kp' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException"),
        "{not_deleted}"
    );
    kp.wait(Duration::from_secs(45)).or_panic("kp consumer end");

    // Deleting offsets, then the group.
    let deleted = groups_tool(
        b,
        &["--delete-offsets", "--group", "cg", "--topic", "orders:0"],
    );
    assert!(
        deleted.contains("Request succeed for deleting offsets with topic orders:0 group cg"),
        "{deleted}"
    );
    assert!(
        deleted
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["orders", "0", "Successful"]),
        "{deleted}"
    );
    assert!(!committed(b, "cg").contains_key(&0));
    let gone = groups_tool(b, &["--delete", "--group", "cg"]);
    assert_eq!(
        gone.trim(),
        "Deletion of requested consumer groups ('cg') was successful."
    );
    assert!(!groups_tool(b, &["--list"]).lines().any(|l| l == "cg"));
    let missing = groups_tool(b, &["--describe", "--group", "cg"]);
    assert!(
        missing.contains("Error: Consumer group 'cg' does not exist."),
        "{missing}"
    );

    // kcat reads what the console producer wrote (keys, values, a null marker).
    produce(
        b,
        "lines",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "null.marker=NULL",
            "--compression-codec",
            "lz4",
        ],
        "a\tone\nNULL\ttwo\nc\tNULL\n",
    );
    let records = kcat::consume(b, "lines", 3, Duration::from_secs(20)).or_panic("kcat");
    let got: Vec<KeyValue> = records.into_iter().map(|r| (r.key, r.value)).collect();
    assert_eq!(
        got,
        vec![
            (Some(b"a".to_vec()), Some(b"one".to_vec())),
            (None, Some(b"two".to_vec())),
            (Some(b"c".to_vec()), None),
        ]
    );

    // The console consumer from a partition and offset, the timestamp format, and the idle
    // timeout on a topic with nothing more to read.
    let (out, _) = consume(
        b,
        &[
            "--topic",
            "lines",
            "--partition",
            "0",
            "--offset",
            "1",
            "--max-messages",
            "1",
            "--property",
            "print.timestamp=true",
            "--property",
            "print.offset=true",
        ],
    );
    let cols: Vec<&str> = out.trim_end().split('\t').collect();
    assert_eq!(cols.len(), 3, "{out:?}");
    assert!(
        cols[0]
            .strip_prefix("CreateTime:")
            .is_some_and(|t| t.parse::<i64>().is_ok()),
        "{out}"
    );
    assert_eq!(&cols[1..], ["Offset:1", "two"]);
    let (out, err) = consume(b, &["--topic", "lines", "--timeout-ms", "1000"]);
    assert_eq!(out, "");
    assert!(err.contains("Processed a total of 0 messages"), "{err}");
}
