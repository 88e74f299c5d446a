//! The tutorial's workflow against `docker-compose-kafka-cluster.yml`, the file users run:
//! `up --build`, healthy, the tutorial's producers and consumers from the host on
//! localhost:29092,localhost:39092, zkCli inside a ZooKeeper container, `down -v` leaves
//! nothing behind. SKIPPED (and passing) without a Docker engine.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tests::check::{int, records, string};
use tests::docker::{self, parse_get_json, parse_ls, wait_for, Compose};
use tests::python;
use tests::OrPanic;

const PROJECT: &str = "kzr-e2e";
const BOOTSTRAP: &str = "localhost:29092,localhost:39092";
const HOST_PORTS: [u16; 6] = [22181, 32181, 42181, 29092, 39092, 49092];
const CLIENT_DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn docker_compose_cluster_runs_the_tutorial() {
    if docker::skip_without_docker("docker_compose_cluster_runs_the_tutorial") {
        return;
    }
    let Some(flavour) = docker::compose_flavour() else {
        println!("SKIPPED docker_compose_cluster_runs_the_tutorial: neither `docker compose` nor docker-compose");
        return;
    };
    let images = docker::images().or_panic("building the test images");
    let mut compose = Compose::new(PROJECT, flavour, images);
    compose
        .fresh_up(&HOST_PORTS, Duration::from_secs(600))
        .or_panic("compose up --build");

    // One ensemble: every member sees all three registrations.
    for zk in ["zookeeper-1", "zookeeper-2", "zookeeper-3"] {
        let ids = wait_for("three brokers registered", Duration::from_secs(60), || {
            let out = compose
                .zk_cli(zk, &["ls", "/brokers/ids"])
                .map_err(|e| e.to_string())?;
            parse_ls(&out).filter(|ids| ids.len() == 3).ok_or(out)
        })
        .or_panic("ls /brokers/ids");
        assert_eq!(ids, ["1", "2", "3"], "{zk}");
    }
    let controller = compose
        .zk_cli("zookeeper-1", &["get", "/controller"])
        .or_panic("get /controller");
    let controller = parse_get_json(&controller).or_panic("/controller JSON");
    assert!(
        (1..=3).contains(&int(&controller, "brokerid")),
        "{controller}"
    );

    tutorial_producer_and_consumers();
    consumer_group_of_two(&compose);

    let topics = compose
        .zk_cli("zookeeper-3", &["ls", "/brokers/topics"])
        .or_panic("ls /brokers/topics");
    let topics = parse_ls(&topics).or_panic("topics");
    for t in ["my-topic", "json-topic", "notification", "chatting"] {
        assert!(topics.iter().any(|x| x == t), "{t} missing from {topics:?}");
    }
    // Kafka's tools are in the broker image, under their names, with and without `.sh`.
    for tool in ["kafka-topics", "kafka-topics.sh"] {
        let listed = compose
            .exec(
                "kafka-1",
                &[tool, "--bootstrap-server", "kafka-1:9092", "--list"],
            )
            .or_panic("kafka-topics --list inside kafka-1");
        let listed: Vec<&str> = listed.lines().collect();
        for t in ["my-topic", "json-topic", "notification", "chatting"] {
            assert!(listed.contains(&t), "{tool} --list lacks {t}: {listed:?}");
        }
    }

    compose.down().or_panic("compose down -v");
}

/// producer.py, then consumer.py's shapes and kafka_cluster/consumer_1.py (api_version 0.10).
fn tutorial_producer_and_consumers() {
    let acks = python::run_json(
        "docker_tutorial.py",
        &["produce", "--bootstrap", BOOTSTRAP],
        CLIENT_DEADLINE,
    )
    .or_panic("docker_tutorial.py produce");
    let steps: Vec<&str> = acks.iter().map(|l| string(l, "step")).collect();
    assert_eq!(
        steps.iter().filter(|s| **s == "json-loop").count(),
        10,
        "{acks:?}"
    );
    for step in [
        "raw",
        "keyed",
        "json",
        "callback",
        "retries",
        "notification",
    ] {
        assert!(steps.contains(&step), "no ack for {step}: {acks:?}");
    }

    let lines = consume("my-topic", 14, &[]);
    let values: Vec<&str> = records(&lines)
        .into_iter()
        .map(|r| string(r, "value"))
        .collect();
    for v in ["raw_bytes", "bar", "callback", "retries"] {
        assert!(values.contains(&v), "{v} not consumed: {values:?}");
    }
    let keyed = records(&lines)
        .into_iter()
        .find(|r| r["key_hex"] == "666f6f")
        .or_panic("the record with key b'foo'");
    assert_eq!(string(keyed, "value"), "bar");
    for n in 0..10 {
        let json = format!("{{\"num\": {n}}}");
        assert!(values.contains(&json.as_str()), "{json} not consumed");
    }

    let json_topic = consume("json-topic", 1, &[]);
    assert_eq!(
        string(records(&json_topic)[0], "value"),
        "{\"key\": \"value\"}"
    );

    // consumer_1.py: KafkaConsumer('notification', api_version=(0, 10)).
    let notification = consume("notification", 1, &["--api-version", "0.10"]);
    let value: Value = serde_json::from_str(string(records(&notification)[0], "value"))
        .or_panic("notification is JSON");
    assert_eq!(value["user"], "alice");
}

fn consume(topic: &str, expect: usize, extra: &[&str]) -> Vec<Value> {
    let expect_s = expect.to_string();
    let mut args = vec![
        "--bootstrap",
        BOOTSTRAP,
        "--topic",
        topic,
        "--expect",
        &expect_s,
        "--timeout-ms",
        "20000",
    ];
    args.extend_from_slice(extra);
    let lines = python::run_json("kp_consume.py", &args, CLIENT_DEADLINE).or_panic(topic);
    assert_eq!(records(&lines).len(), expect, "{topic}: {lines:?}");
    lines
}

/// consumer_group/: producer_1.py, two consumers in grp1 splitting `chatting`'s two
/// partitions, producer_2.py; each record reaches exactly one consumer, and the committed
/// offsets are in ZooKeeper under /consumers/grp1/offsets/chatting/<p>.
fn consumer_group_of_two(compose: &Compose) {
    let chat = |origin: &str| {
        python::run_json(
            "docker_tutorial.py",
            &["chat", "--bootstrap", BOOTSTRAP, "--origin", origin],
            CLIENT_DEADLINE,
        )
        .or_panic("docker_tutorial.py chat")
    };
    let mut produced = chat("P1");

    let group_args = [
        "group",
        "--bootstrap",
        BOOTSTRAP,
        "--group",
        "grp1",
        "--topic",
        "chatting",
        "--idle-ms",
        "8000",
        "--max-seconds",
        "90",
    ];
    let mut consumers = [
        python::spawn("docker_tutorial.py", &group_args).or_panic("consumer 1"),
        python::spawn("docker_tutorial.py", &group_args).or_panic("consumer 2"),
    ];
    // Both end up with one partition each (the first may get both until the second joins).
    let mut seen: Vec<Vec<Value>> = vec![Vec::new(), Vec::new()];
    let mut split = [false, false];
    while !(split[0] && split[1]) {
        for (i, c) in consumers.iter_mut().enumerate() {
            if split[i] {
                continue;
            }
            let line = c
                .next_json(Duration::from_secs(60))
                .or_panic("group consumer output")
                .or_panic("group consumer ended before it was assigned one partition");
            if line["event"] == "assigned" {
                split[i] = line["partitions"].as_array().map(Vec::len) == Some(1);
            }
            seen[i].push(line);
        }
    }
    produced.extend(chat("P2"));

    for (i, c) in consumers.iter_mut().enumerate() {
        seen[i].extend(
            c.remaining_json(Duration::from_secs(100))
                .or_panic("group consumer output"),
        );
    }
    let mut delivered: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for lines in &seen {
        assert!(
            lines.iter().any(|l| l["event"] == "done"),
            "consumer did not finish: {lines:?}"
        );
        for r in lines.iter().filter(|l| l.get("offset").is_some()) {
            *delivered
                .entry((int(r, "partition"), int(r, "offset")))
                .or_default() += 1;
        }
    }
    for p in &produced {
        let at = (int(p, "partition"), int(p, "offset"));
        assert_eq!(delivered.get(&at), Some(&1), "record {p} delivered != once");
    }
    assert_eq!(delivered.len(), produced.len(), "{delivered:?}");

    // Committed offsets, Kafka's old ZooKeeper layout: one child per partition.
    let mut end: BTreeMap<i64, i64> = BTreeMap::new();
    for p in &produced {
        let e = end.entry(int(p, "partition")).or_default();
        *e = (*e).max(int(p, "offset") + 1);
    }
    let committed = wait_for("offsets committed", Duration::from_secs(30), || {
        let mut got = BTreeMap::new();
        for partition in end.keys() {
            let path = format!("/consumers/grp1/offsets/chatting/{partition}");
            let out = compose
                .zk_cli("zookeeper-2", &["get", &path])
                .map_err(|e| e.to_string())?;
            let offset = out
                .lines()
                .rev()
                .find_map(|l| l.trim().parse::<i64>().ok())
                .ok_or(out.clone())?;
            got.insert(*partition, offset);
        }
        if got == end {
            Ok(got)
        } else {
            Err(format!("{got:?} != {end:?}"))
        }
    })
    .or_panic("committed offsets in ZooKeeper");
    let listed = compose
        .zk_cli("zookeeper-1", &["ls", "/consumers/grp1/offsets/chatting"])
        .or_panic("ls offsets");
    assert_eq!(
        parse_ls(&listed).or_panic("offsets children").len(),
        committed.len()
    );
}
