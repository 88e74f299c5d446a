//! Consumer groups end to end: real ZooKeeper, real brokers, real clients (kafka-python,
//! confluent-kafka). Committed offsets live in ZooKeeper under `/consumers/<group>/offsets`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use tests::python::{self, Spawned};
use tests::wire::WireClient;
use tests::zookeeper::{zk_cli, ZooKeeper};
use tests::BrokerProcess;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Broker settings for group tests: quick first rebalance, two partitions per new topic.
const GROUP_SETTINGS: &[(&str, &str)] = &[
    ("group.initial.rebalance.delay.ms", "300"),
    ("num.partitions", "2"),
];

/// ZooKeeper and brokers under a per-test chroot. (`Cluster::start_with` expects zkCli to print
/// "Created" on stdout; the installed zkCli prints it on stderr, so the chroot is checked with
/// `ls` instead.) Brokers drop before the ZooKeeper they are registered in.
struct Groups {
    brokers: Vec<BrokerProcess>,
    zk: ZooKeeper,
    chroot: String,
}

impl Groups {
    fn start(name: &str, extra: &[(&str, &str)]) -> Groups {
        let zk = ZooKeeper::start().expect("zookeeper");
        let chroot = format!("/t-{name}");
        zk_cli(&zk.connect_string(), &["create", &chroot]).expect("zkCli create");
        let listed = zk_cli(&zk.connect_string(), &["ls", "/"]).expect("zkCli ls");
        assert!(
            listed.contains(&name.to_string()),
            "chroot {chroot} not created: {listed}"
        );
        let mut cluster = Groups {
            brokers: Vec::new(),
            zk,
            chroot,
        };
        cluster.add_broker(1, extra);
        cluster
    }

    fn zk_connect(&self) -> String {
        format!("{}{}", self.zk.connect_string(), self.chroot)
    }

    fn add_broker(&mut self, id: i32, extra: &[(&str, &str)]) {
        let mut broker = BrokerProcess::start(&self.zk_connect(), id, extra).expect("broker");
        broker.wait_registered(TIMEOUT).expect("registered");
        self.brokers.push(broker);
    }

    fn bootstrap(&self) -> String {
        self.brokers[0].bootstrap()
    }

    fn zk_cli(&self, args: &[&str]) -> String {
        zk_cli(&self.zk_connect(), args).expect("zkCli")
    }
}

/// Creates `topic` by auto-creation and waits until every partition has a leader.
fn create_topic(bootstrap: &str, topic: &str) {
    let mut client = WireClient::connect(bootstrap).expect("connect");
    client
        .wait_for_leader(topic, TIMEOUT)
        .expect("topic leader");
}

/// The coordinator FindCoordinator names for `group`: (node id, error code).
fn find_coordinator(bootstrap: &str, group: &str) -> (i32, i16) {
    let mut client = WireClient::connect(bootstrap).expect("connect");
    let req = FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.into()));
    let resp = client.request(2, &req).expect("find coordinator");
    (resp.node_id.0, resp.error_code)
}

/// A group consumer script and everything it has printed so far.
struct Consumer {
    proc: Spawned,
    name: &'static str,
    assigned: Option<Vec<(String, i64)>>,
    records: Vec<Value>,
}

impl Consumer {
    fn start(name: &'static str, args: &[&str]) -> Consumer {
        let proc = python::spawn("kp_group_consume.py", args).expect("spawn consumer");
        Consumer {
            proc,
            name,
            assigned: None,
            records: Vec::new(),
        }
    }

    /// Reads lines until `done(self)` holds; panics after `within`.
    fn pump_until(&mut self, within: Duration, what: &str, done: impl Fn(&Consumer) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: {what} not reached within {within:?}; assigned {:?}, {} records\n{}",
                self.name,
                self.assigned,
                self.records.len(),
                self.proc.stderr()
            );
            match self.proc.next_json(left.min(Duration::from_millis(500))) {
                Ok(Some(line)) => self.take(line),
                Ok(None) => panic!("{} exited early:\n{}", self.name, self.proc.stderr()),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("{}: {e}", self.name),
            }
        }
    }

    /// Reads whatever arrives within `for_`.
    fn drain(&mut self, for_: Duration) {
        let deadline = Instant::now() + for_;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.proc.next_json(left) {
                Ok(Some(line)) => self.take(line),
                _ => return,
            }
        }
    }

    fn take(&mut self, line: Value) {
        if line["event"] == "assigned" {
            let parts = line["partitions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|tp| {
                            (
                                tp[0].as_str().unwrap_or("").to_string(),
                                tp[1].as_i64().unwrap_or(-1),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.assigned = Some(parts);
        } else if line.get("offset").is_some() {
            self.records.push(line);
        }
    }

    fn partitions(&self) -> usize {
        self.assigned.as_ref().map_or(0, Vec::len)
    }
}

/// (partition, offset) of every record, across consumers, with how often each was seen.
fn deliveries(consumers: &[&Consumer]) -> BTreeMap<(i64, i64), usize> {
    let mut seen = BTreeMap::new();
    for c in consumers {
        for r in &c.records {
            let key = (
                r["partition"].as_i64().unwrap_or(-1),
                r["offset"].as_i64().unwrap_or(-1),
            );
            *seen.entry(key).or_insert(0) += 1;
        }
    }
    seen
}

fn produce_json(bootstrap: &str, topic: &str, origin: &str, start: i64, count: i64) -> Vec<Value> {
    python::run_json(
        "kp_json_produce.py",
        &[
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--origin",
            origin,
            "--start",
            &start.to_string(),
            "--count",
            &count.to_string(),
        ],
        TIMEOUT,
    )
    .expect("producer")
}

/// The tutorial's consumer_group/ scripts: two consumers in grp1 split `chatting`'s two
/// partitions, two producers send JSON, every message is consumed exactly once; one consumer
/// dies and the other takes both partitions; a restarted consumer resumes from the commits.
#[test]
fn tutorial_consumer_group_splits_partitions_and_fails_over() {
    let cluster = Groups::start("grp-tutorial", GROUP_SETTINGS);
    let bootstrap = cluster.bootstrap();
    create_topic(&bootstrap, "chatting");
    let args = [
        "--bootstrap",
        &bootstrap,
        "--topic",
        "chatting",
        "--group",
        "grp1",
    ];
    let mut c1 = Consumer::start("consumer_grp_1", &args);
    let mut c2 = Consumer::start("consumer_grp_2", &args);
    let started = Instant::now();
    // Both have joined once each owns exactly one partition.
    loop {
        c1.pump_until(TIMEOUT, "an assignment", |c| c.assigned.is_some());
        c2.pump_until(TIMEOUT, "an assignment", |c| c.assigned.is_some());
        if c1.partitions() == 1 && c2.partitions() == 1 {
            break;
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "no 1+1 split: {:?} {:?}",
            c1.assigned,
            c2.assigned
        );
        c1.drain(Duration::from_millis(300));
        c2.drain(Duration::from_millis(300));
    }
    println!(
        "split after {:?}: {:?} / {:?}",
        started.elapsed(),
        c1.assigned,
        c2.assigned
    );
    assert_ne!(c1.assigned, c2.assigned);

    let sent1 = produce_json(&bootstrap, "chatting", "P1", 0, 10);
    let sent2 = produce_json(&bootstrap, "chatting", "P2", 100, 10);
    assert_eq!(sent1.len() + sent2.len(), 20);
    let total = |a: &Consumer, b: &Consumer| a.records.len() + b.records.len();
    let deadline = Instant::now() + TIMEOUT;
    while total(&c1, &c2) < 20 && Instant::now() < deadline {
        c1.drain(Duration::from_millis(200));
        c2.drain(Duration::from_millis(200));
    }
    let seen = deliveries(&[&c1, &c2]);
    assert_eq!(seen.len(), 20, "every message once: {seen:?}");
    assert!(seen.values().all(|&n| n == 1), "duplicates: {seen:?}");
    assert!(!c1.records.is_empty() && !c2.records.is_empty());

    // Let auto-commit (1 s) catch up, then check ZooKeeper like an operator would.
    c1.drain(Duration::from_millis(2500));
    c2.drain(Duration::from_millis(100));
    let on_p0 = seen.keys().filter(|(p, _)| *p == 0).count();
    let out = cluster.zk_cli(&["get", "/consumers/grp1/offsets/chatting/0"]);
    assert!(
        out.lines().any(|l| l.trim() == on_p0.to_string()),
        "zkCli get shows the committed offset {on_p0}:\n{out}"
    );

    // Kill one consumer (no LeaveGroup): the other gets both partitions after the session
    // timeout (6 s) plus a rebalance.
    let first_c1 = std::mem::take(&mut c1.records);
    drop(c1);
    let killed = Instant::now();
    c2.pump_until(Duration::from_secs(20), "both partitions", |c| {
        c.partitions() == 2
    });
    let takeover = killed.elapsed();
    println!("takeover after {takeover:?}");
    assert!(takeover < Duration::from_secs(6 + 8), "took {takeover:?}");
    let before = c2.records.len();
    produce_json(&bootstrap, "chatting", "P1", 200, 6);
    c2.pump_until(TIMEOUT, "the new records", |c| {
        c.records.len() >= before + 6
    });
    c2.drain(Duration::from_millis(2500));

    // Restart consumer 1: the group splits again and nothing is delivered twice.
    let mut c1 = Consumer::start("consumer_grp_1 (restarted)", &args);
    c1.pump_until(TIMEOUT, "an assignment", |c| c.partitions() == 1);
    c2.pump_until(TIMEOUT, "one partition", |c| c.partitions() == 1);
    produce_json(&bootstrap, "chatting", "P2", 300, 6);
    let deadline = Instant::now() + TIMEOUT;
    c2.records.extend(first_c1);
    while c1.records.len() + c2.records.len() < 32 && Instant::now() < deadline {
        c1.drain(Duration::from_millis(200));
        c2.drain(Duration::from_millis(200));
    }
    let seen = deliveries(&[&c1, &c2]);
    assert_eq!(seen.len(), 32, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "re-delivered: {seen:?}");
    let restarted: BTreeSet<i64> = c1
        .records
        .iter()
        .filter_map(|r| r["value"]["num"].as_i64())
        .collect();
    assert!(
        restarted.iter().all(|n| *n >= 300),
        "restarted consumer saw old records {restarted:?}"
    );
}

/// Runs a script to completion in the background and returns its handle.
fn spawn(script: &str, args: &[&str]) -> Spawned {
    python::spawn(script, args).expect("spawn")
}

/// confluent-kafka consumers in one group with range, roundrobin and cooperative-sticky
/// assignment: each record once across the group, manual commits visible through
/// `committed()` and in ZooKeeper, `offsets_for_times` answered.
#[test]
fn confluent_consumers_share_partitions_with_each_strategy() {
    let cluster = Groups::start("grp-ck", GROUP_SETTINGS);
    let bootstrap = cluster.bootstrap();
    create_topic(&bootstrap, "ck-topic");
    let sent = produce_json(&bootstrap, "ck-topic", "P1", 0, 20);
    let mut per_partition: BTreeMap<i64, i64> = BTreeMap::new();
    for r in &sent {
        *per_partition
            .entry(r["partition"].as_i64().unwrap_or(-1))
            .or_insert(0) += 1;
    }
    for strategy in ["range", "roundrobin", "cooperative-sticky"] {
        let group = format!("ck-{strategy}");
        let args = [
            "--bootstrap",
            &bootstrap,
            "--topic",
            "ck-topic",
            "--group",
            &group,
            "--strategy",
            strategy,
        ];
        let mut a = spawn("ck_group_consume.py", &args);
        let mut b = spawn("ck_group_consume.py", &args);
        let lines_a = a.remaining_json(TIMEOUT).expect("consumer a");
        let lines_b = b.remaining_json(TIMEOUT).expect("consumer b");
        assert!(a.wait(TIMEOUT).expect("exit").success(), "{}", a.stderr());
        assert!(b.wait(TIMEOUT).expect("exit").success(), "{}", b.stderr());
        let mut seen: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        let mut committed: BTreeMap<String, i64> = BTreeMap::new();
        let mut max_assigned = [0usize; 2];
        for (i, lines) in [&lines_a, &lines_b].into_iter().enumerate() {
            for l in lines {
                if l.get("offset").is_some() {
                    *seen
                        .entry((
                            l["partition"].as_i64().unwrap_or(-1),
                            l["offset"].as_i64().unwrap_or(-1),
                        ))
                        .or_insert(0) += 1;
                } else if l["event"] == "committed" {
                    for (p, o) in l["partitions"].as_object().into_iter().flatten() {
                        committed.insert(p.clone(), o.as_i64().unwrap_or(-1));
                    }
                } else if l["event"] == "times" {
                    for (_, o) in l["partitions"].as_object().into_iter().flatten() {
                        assert_eq!(
                            o.as_i64(),
                            Some(0),
                            "offsets_for_times(0) is the first offset"
                        );
                    }
                } else if l["event"] == "assigned" {
                    let n = l["partitions"].as_array().map_or(0, Vec::len);
                    max_assigned[i] = max_assigned[i].max(n);
                }
            }
        }
        println!(
            "{strategy}: {} records, committed {committed:?}, assigned {max_assigned:?}",
            seen.len()
        );
        assert_eq!(seen.len(), 20, "{strategy}: every record: {seen:?}");
        assert!(
            seen.values().all(|&n| n == 1),
            "{strategy}: duplicates {seen:?}"
        );
        for (p, n) in &per_partition {
            if let Some(c) = committed.get(&p.to_string()) {
                assert_eq!(c, n, "{strategy}: committed offset of partition {p}");
            }
            let out = cluster.zk_cli(&["get", &format!("/consumers/{group}/offsets/ck-topic/{p}")]);
            assert!(
                out.lines().any(|l| l.trim() == n.to_string()),
                "{strategy}: zk offset {n}:\n{out}"
            );
        }
    }
}

/// kafka-python's KafkaAdminClient: list, describe, list offsets, delete.
#[test]
fn admin_client_lists_describes_and_deletes_groups() {
    let cluster = Groups::start("grp-admin", GROUP_SETTINGS);
    let bootstrap = cluster.bootstrap();
    create_topic(&bootstrap, "admin-topic");
    produce_json(&bootstrap, "admin-topic", "P1", 0, 6);
    let mut c = spawn(
        "kp_group_consume.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "admin-topic",
            "--group",
            "admin-grp",
            "--idle-ms",
            "3000",
        ],
    );
    let lines = c.remaining_json(TIMEOUT).expect("consumer");
    assert_eq!(
        lines.iter().filter(|l| l.get("offset").is_some()).count(),
        6
    );
    let out = python::run_json(
        "kp_admin_groups.py",
        &["--bootstrap", &bootstrap, "--group", "admin-grp"],
        TIMEOUT,
    )
    .expect("admin");
    println!("{out:?}");
    let step = |name: &str| {
        out.iter()
            .find(|l| l["step"] == name)
            .cloned()
            .unwrap_or_default()
    };
    let listed = step("list")["groups"].to_string();
    assert!(listed.contains("admin-grp"), "{listed}");
    assert_eq!(step("describe")["state"], "Empty");
    assert_eq!(step("describe")["error"], Value::Null);
    let offsets = step("offsets")["offsets"].clone();
    let total: i64 = offsets
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, o)| o.as_i64().unwrap_or(0))
        .sum();
    assert_eq!(total, 6, "{offsets}");
    assert!(!step("list-after")["groups"]
        .to_string()
        .contains("admin-grp"));
    assert!(cluster
        .zk_cli(&["ls", "/consumers"])
        .lines()
        .all(|l| !l.contains("admin-grp")));
}

/// The tutorial's consumer.py shapes: `KafkaConsumer('my-topic', group_id='my-group')` while a
/// producer sends; `subscribe(pattern='^my-topi.*')` also picks up a topic created later;
/// a consumer with `api_version=(0, 10)` in its own group.
#[test]
fn kafka_python_topic_pattern_and_old_api_version_groups() {
    let cluster = Groups::start("grp-pattern", GROUP_SETTINGS);
    let bootstrap = cluster.bootstrap();
    create_topic(&bootstrap, "my-topic");
    let base = [
        "--bootstrap",
        bootstrap.as_str(),
        "--metadata-max-age-ms",
        "1000",
    ];
    let mut plain = Consumer::start(
        "my-group",
        &[&base[..], &["--topic", "my-topic", "--group", "my-group"]].concat(),
    );
    let mut pattern = Consumer::start(
        "pattern",
        &[
            &base[..],
            &["--pattern", "^my-topi.*", "--group", "pattern-group"],
        ]
        .concat(),
    );
    let mut old = Consumer::start(
        "api 0.10",
        &[
            &base[..],
            &[
                "--topic",
                "my-topic",
                "--group",
                "old-group",
                "--api-version",
                "0.10",
            ],
        ]
        .concat(),
    );
    for c in [&mut plain, &mut pattern, &mut old] {
        c.pump_until(TIMEOUT, "an assignment", |c| c.partitions() == 2);
    }
    produce_json(&bootstrap, "my-topic", "P1", 0, 5);
    for c in [&mut plain, &mut pattern, &mut old] {
        c.pump_until(TIMEOUT, "5 records", |c| c.records.len() >= 5);
    }
    // A topic created after the subscription: the pattern consumer finds it on refresh.
    create_topic(&bootstrap, "my-topic-2");
    pattern.pump_until(TIMEOUT, "the new topic", |c| c.partitions() == 4);
    produce_json(&bootstrap, "my-topic-2", "P2", 100, 4);
    pattern.pump_until(TIMEOUT, "records of my-topic-2", |c| {
        c.records
            .iter()
            .filter(|r| r["topic"] == "my-topic-2")
            .count()
            >= 4
    });
    plain.drain(Duration::from_millis(500));
    assert!(plain.records.iter().all(|r| r["topic"] == "my-topic"));
    assert_eq!(plain.records.len(), 5);
    assert_eq!(old.records.len(), 5);
}

/// Two brokers; the group's coordinator is the broker that does NOT host the data. Killing it
/// (kill -9) moves the group to the survivor: consumers find it, rejoin and continue from
/// the committed offsets.
#[test]
fn coordinator_failover_continues_from_committed_offsets() {
    let settings: &[(&str, &str)] = &[
        ("group.initial.rebalance.delay.ms", "300"),
        ("num.partitions", "1"),
    ];
    let mut cluster = Groups::start("grp-failover", settings);
    cluster.add_broker(2, settings);
    // Both brokers must know both brokers before the coordinator choice is stable.
    let deadline = Instant::now() + TIMEOUT;
    for b in &cluster.brokers {
        loop {
            let md = WireClient::connect(&b.bootstrap())
                .and_then(|mut c| c.metadata_all())
                .expect("metadata");
            if md.brokers.len() == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "brokers never saw each other");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let bootstrap = cluster.bootstrap();
    create_topic(&bootstrap, "failover");
    let md = WireClient::connect(&bootstrap)
        .and_then(|mut c| c.metadata_all())
        .expect("metadata");
    let leader = md
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "failover"))
        .and_then(|t| t.partitions.first())
        .map(|p| p.leader_id.0)
        .expect("leader");
    let other = if leader == 1 { 2 } else { 1 };
    let group = (0..100)
        .map(|i| format!("failover-{i}"))
        .find(|g| find_coordinator(&bootstrap, g) == (other, 0))
        .expect("a group coordinated by the other broker");
    let survivor = cluster
        .brokers
        .iter()
        .find(|b| b.id() == leader)
        .map(|b| b.bootstrap())
        .expect("survivor");
    println!("data on broker {leader}, group {group} coordinated by broker {other}");

    let mut c = Consumer::start(
        "consumer",
        &[
            "--bootstrap",
            &survivor,
            "--topic",
            "failover",
            "--group",
            &group,
        ],
    );
    c.pump_until(TIMEOUT, "an assignment", |c| c.partitions() == 1);
    produce_json(&survivor, "failover", "P1", 0, 10);
    c.pump_until(TIMEOUT, "10 records", |c| c.records.len() >= 10);
    c.drain(Duration::from_millis(2500));
    let committed = cluster.zk_cli(&["get", &format!("/consumers/{group}/offsets/failover/0")]);
    assert!(committed.lines().any(|l| l.trim() == "10"), "{committed}");

    let killed = Instant::now();
    c.assigned = None;
    cluster
        .brokers
        .iter_mut()
        .find(|b| b.id() == other)
        .expect("coordinator")
        .kill()
        .expect("kill");
    // The survivor takes the group once the controller reports the dead broker gone
    // (ZooKeeper session timeout, 6 s); the consumer rediscovers it and rejoins.
    let deadline = Instant::now() + TIMEOUT;
    while find_coordinator(&survivor, &group) != (leader, 0) {
        assert!(Instant::now() < deadline, "group never moved");
        std::thread::sleep(Duration::from_millis(200));
    }
    let moved = killed.elapsed();
    c.pump_until(Duration::from_secs(60), "a new assignment", |c| {
        c.partitions() == 1
    });
    let rejoined = killed.elapsed();
    println!("group moved after {moved:?}, consumer rejoined after {rejoined:?}");
    produce_json(&survivor, "failover", "P2", 100, 10);
    c.pump_until(TIMEOUT, "the records after failover", |c| {
        c.records.len() >= 20
    });
    c.drain(Duration::from_millis(2500));
    let seen = deliveries(&[&c]);
    assert_eq!(seen.len(), 20);
    assert!(
        seen.values().all(|&n| n == 1),
        "re-delivered after failover: {seen:?}"
    );
    let committed = cluster.zk_cli(&["get", &format!("/consumers/{group}/offsets/failover/0")]);
    assert!(committed.lines().any(|l| l.trim() == "20"), "{committed}");
}

/// aiokafka joins a group, consumes, commits, and reads its commits back.
#[test]
fn aiokafka_group_consumer_commits() {
    let cluster = Groups::start("grp-aio", GROUP_SETTINGS);
    let bootstrap = cluster.bootstrap();
    create_topic(&bootstrap, "aio-topic");
    let sent = produce_json(&bootstrap, "aio-topic", "P1", 0, 8);
    let out = python::run_json(
        "aio_group_consume.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "aio-topic",
            "--group",
            "aio-grp",
            "--expect",
            "8",
        ],
        Duration::from_secs(60),
    )
    .expect("aiokafka consumer");
    assert_eq!(out.iter().filter(|l| l.get("offset").is_some()).count(), 8);
    let committed = out
        .iter()
        .find(|l| l["event"] == "committed")
        .expect("committed line");
    for p in 0..2 {
        let n = sent.iter().filter(|r| r["partition"] == p).count() as i64;
        let c = committed["partitions"][p.to_string()].as_i64();
        assert_eq!(c.unwrap_or(0), n, "partition {p}: {committed}");
    }
}
