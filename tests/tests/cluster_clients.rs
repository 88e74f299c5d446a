//! Real clients against a cluster on a three-node ZooKeeper ensemble: `kcat -L` shows the
//! leaders and ISRs the controller decided, and the tutorial's two-broker scripts keep working
//! while either broker is stopped and started again.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::multi::{MultiCluster, PartitionLeaders};
use tests::process;
use tests::traffic::{check_acknowledged, consume_all, SteadyProducer, TutorialConsumer};
use tests::OrPanic;

const DEADLINE: Duration = Duration::from_secs(40);

/// What `kcat -L` printed: broker ids, and per partition of one topic (leader, replicas, ISR).
#[derive(Debug, Default)]
struct KcatMetadata {
    brokers: BTreeSet<i32>,
    partitions: BTreeMap<i32, (i32, Vec<i32>, Vec<i32>)>,
}

/// Runs `kcat -L -b <bootstrap> -t <topic>` and parses its plain-text output:
/// `  broker 2 at 127.0.0.1:PORT (controller)` and
/// `    partition 0, leader 2, replicas: 2,3,1, isrs: 2,3,1`.
fn kcat_metadata(bootstrap: &str, topic: &str) -> KcatMetadata {
    let mut command = Command::new(std::env::var_os("KCAT_BIN").unwrap_or_else(|| "kcat".into()));
    command.args(["-L", "-b", bootstrap, "-t", topic, "-m", "10"]);
    let output = process::run(command, None, Duration::from_secs(30)).or_panic("kcat -L");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "kcat -L failed: {text}");
    let ids = |list: &str| -> Vec<i32> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().or_panic("broker id in kcat output"))
            .collect()
    };
    let mut parsed = KcatMetadata::default();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("broker ") {
            let id = rest.split_whitespace().next().or_panic("broker id");
            parsed.brokers.insert(id.parse().or_panic("broker id"));
        } else if let Some(rest) = line.strip_prefix("partition ") {
            // "0, leader 2, replicas: 2,3,1, isrs: 2,3,1"
            let (index, rest) = rest.split_once(", leader ").or_panic(line);
            let (leader, rest) = rest.split_once(", replicas: ").or_panic(line);
            let (replicas, isrs) = rest.split_once(", isrs: ").or_panic(line);
            parsed.partitions.insert(
                index.parse().or_panic("partition index"),
                (leader.parse().or_panic("leader"), ids(replicas), ids(isrs)),
            );
        }
    }
    parsed
}

fn sorted(mut ids: Vec<i32>) -> Vec<i32> {
    ids.sort_unstable();
    ids
}

/// Asserts that kcat's view of `topic` is `expected` (from Metadata) and that ZooKeeper's
/// partition state nodes say the same.
fn assert_kcat_matches(c: &MultiCluster, kcat: &KcatMetadata, expected: &PartitionLeaders) {
    assert_eq!(kcat.partitions.len(), expected.len(), "{kcat:?}");
    for (p, (leader, isr)) in expected {
        let (k_leader, replicas, k_isr) = &kcat.partitions[p];
        assert_eq!(k_leader, leader, "partition {p}: {kcat:?}");
        assert_eq!(sorted(k_isr.clone()), sorted(isr.clone()), "partition {p}");
        assert_eq!(sorted(replicas.clone()), [1, 2, 3], "partition {p}");
        let state = c
            .zk_get_json(&format!("/brokers/topics/kcat/partitions/{p}/state"))
            .or_panic("partition state");
        assert_eq!(
            state["leader"],
            Value::from(*leader),
            "partition {p}: {state}"
        );
        let zk_isr: Vec<i32> = state["isr"]
            .as_array()
            .or_panic("isr")
            .iter()
            .filter_map(Value::as_i64)
            .filter_map(|b| i32::try_from(b).ok())
            .collect();
        assert_eq!(sorted(zk_isr), sorted(isr.clone()), "partition {p}");
    }
}

#[test]
fn kcat_lists_leaders_and_isrs_of_a_replicated_topic() {
    let mut c = MultiCluster::start_on_ensemble("kcat", 3, 3, &[]).or_panic("cluster");
    c.create_topic("kcat", 3, 3, &[]).or_panic("create topic");
    let expected = c.wait_isr_size("kcat", 3, 3, DEADLINE).or_panic("ISRs");
    let bootstrap = c.bootstrap();
    let kcat = kcat_metadata(&bootstrap, "kcat");
    println!("{kcat:?}");
    assert_eq!(kcat.brokers, BTreeSet::from([1, 2, 3]));
    assert_kcat_matches(&c, &kcat, &expected);
    // Kafka's assignment spreads preferred leaders: three partitions, three leaders.
    let leaders: BTreeSet<i32> = kcat.partitions.values().map(|(l, _, _)| *l).collect();
    assert_eq!(leaders, BTreeSet::from([1, 2, 3]), "{kcat:?}");

    // After a broker stops (cleanly), kcat shows it gone from every leader and ISR.
    c.broker(2).stop().or_panic("stop broker 2");
    let expected = c
        .wait_isr_size("kcat", 3, 2, DEADLINE)
        .or_panic("ISRs of 2");
    let bootstrap = c.bootstrap();
    // The controller learns of the exit from ZooKeeper a moment after the process is gone.
    let deadline = Instant::now() + DEADLINE;
    let kcat = loop {
        let kcat = kcat_metadata(&bootstrap, "kcat");
        if kcat.brokers == BTreeSet::from([1, 3]) {
            break kcat;
        }
        assert!(
            Instant::now() < deadline,
            "kcat still lists broker 2: {kcat:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_kcat_matches(&c, &kcat, &expected);
    assert!(kcat
        .partitions
        .values()
        .all(|(l, _, isr)| *l != 2 && !isr.contains(&2)));
}

fn num(record: &Value) -> i64 {
    record["value"]["num"].as_i64().or_panic("num in a record")
}

/// The tutorial's `kafka_cluster/producer_2.py` / `consumer_2.py` shape: both list the two
/// brokers as bootstrap servers, the topic is auto-created, and every other setting is
/// kafka-python's default. Each broker in turn is stopped (SIGTERM) and started again.
#[test]
fn tutorial_scripts_survive_either_broker_stopping() {
    let settings = [
        // The tutorial relies on two brokers; replicas on both keep a topic available when
        // one of them stops (its compose file leaves Kafka's default of 1).
        ("default.replication.factor", "2"),
        ("num.partitions", "2"),
        ("group.initial.rebalance.delay.ms", "300"),
    ];
    let mut c = MultiCluster::start_on_ensemble("tutorial", 3, 2, &settings).or_panic("cluster");
    // bootstrap_servers=['localhost:29092', 'localhost:39092'], with the real ports.
    let bootstrap = format!(
        "localhost:{},localhost:{}",
        c.broker(1).port(),
        c.broker(2).port()
    );
    let topic = "chatting";
    let mut producer = SteadyProducer::start_with(
        &bootstrap,
        topic,
        &["--json", "--client-defaults", "--interval-ms", "50"],
    )
    .or_panic("tutorial producer");
    producer.wait_more_acks(10, DEADLINE).or_panic("first acks");
    let mut consumer = TutorialConsumer::start(&bootstrap, topic, "my-group").or_panic("consumer");
    consumer
        .wait_until("first records", DEADLINE, |r| r.len() >= 10)
        .or_panic("consumer");

    for id in [1, 2] {
        let stopped_at = Instant::now();
        c.broker(id).stop().or_panic("SIGTERM");
        println!("broker {id} stopped in {:?}", stopped_at.elapsed());
        producer
            .wait_more_acks(20, DEADLINE)
            .or_panic("acks with one broker");
        let target = producer.acks().iter().map(|a| a.seq).max().unwrap_or(0);
        consumer
            .wait_until("records with one broker", DEADLINE, |r| {
                r.iter().any(|rec| num(rec) >= target)
            })
            .or_panic("consumer with one broker");
        println!(
            "broker {id} down: producer and consumer went on ({:?})",
            stopped_at.elapsed()
        );
        c.broker(id).restart().or_panic("start again");
        c.wait_isr_size(topic, 2, 2, DEADLINE)
            .or_panic("restarted broker back in the ISRs");
        // Before the other broker goes, the producer must know the restarted one again: it
        // leads its preferred partition (auto rebalance) and the producer has written there.
        // (Clients use the bootstrap list only once; a producer whose metadata still lacks
        // the restarted broker has no broker left to ask when the other one stops.)
        c.wait_for(DEADLINE, "both brokers lead a partition", |c| {
            let leaders: BTreeSet<i32> = c.partitions(topic)?.values().map(|(l, _)| *l).collect();
            Ok(leaders == BTreeSet::from([1, 2]))
        })
        .or_panic("preferred leaders");
        let led = c
            .partitions(topic)
            .or_panic("metadata")
            .into_iter()
            .find(|(_, (l, _))| *l == id)
            .map(|(p, _)| p)
            .or_panic("a partition led by the restarted broker");
        // An acknowledgement for that partition emitted well after the move was answered by
        // the new leader (the old one refuses writes once it follows): the producer has
        // refreshed its metadata. (One read right after the move may be an old answer that
        // was still in the pipe.)
        let moved_at = Instant::now();
        loop {
            producer
                .wait_acks_from(&[led], DEADLINE)
                .or_panic("acks from the restarted broker");
            let last = producer.acks().last().or_panic("an ack");
            if last.at > moved_at + Duration::from_secs(1) {
                break;
            }
        }
    }

    let (acks, errors) = producer.finish(DEADLINE).or_panic("producer finish");
    assert!(errors.is_empty(), "failed sends: {errors:?}");
    let acked: BTreeSet<i64> = acks.iter().map(|a| a.seq).collect();
    let wait = consumer.wait_until("every acknowledged record", DEADLINE, |r| {
        let got: BTreeSet<i64> = r.iter().map(num).collect();
        acked.is_subset(&got)
    });
    if let Err(e) = wait {
        let got: BTreeSet<i64> = consumer.records().iter().map(num).collect();
        let missing: Vec<&i64> = acked.difference(&got).collect();
        panic!("the group consumer never saw {missing:?}: {e}");
    }
    let received = consumer.finish(DEADLINE).or_panic("consumer finish");
    let got: BTreeSet<i64> = received.iter().map(num).collect();
    let missing: Vec<i64> = acks
        .iter()
        .map(|a| a.seq)
        .filter(|s| !got.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "the group consumer never saw {missing:?}"
    );
    println!(
        "{} acknowledged, {} delivered to the group ({} redelivered)",
        acks.len(),
        received.len(),
        received.len() - got.len()
    );
    // The log itself: every acknowledged record exactly once (kafka-python 3's default
    // producer is idempotent with acks=all).
    let consumed = consume_all(&bootstrap, topic, Duration::from_secs(6)).or_panic("consume");
    check_acknowledged(&acks, &consumed, |n| format!("{{\"num\": {n}}}")).or_panic("log");
}
