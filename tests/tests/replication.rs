//! Replication across real broker processes on one ZooKeeper: acks=all survives the leader's
//! `kill -9`, and the restarted broker catches up and rejoins the ISR; a new partition is
//! replicated without waiting out the followers' long polls; a fenced follower fetch does not
//! count as the follower's progress; a partition whose fetch fails holds back only itself.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::broker::BrokerProcess;
use tests::check::{assert_contiguous, int, records, string};
use tests::cluster::first_json_line;
use tests::python;
use tests::zookeeper::{zk_cli, ZooKeeper};
use tests::OrPanic;

const DEADLINE: Duration = Duration::from_secs(60);

/// ZooKeeper plus brokers 1..=3 under one chroot, topics replicated three ways.
struct ThreeBrokers {
    brokers: Vec<BrokerProcess>,
    zk: ZooKeeper,
    chroot: String,
}

impl ThreeBrokers {
    fn start(name: &str) -> ThreeBrokers {
        let zk = ZooKeeper::start().or_panic("zookeeper");
        let chroot = format!("/t-{name}");
        zk_cli(&zk.connect_string(), &["create", &chroot]).or_panic("create chroot");
        let connect = format!("{}{chroot}", zk.connect_string());
        let extra = [
            ("default.replication.factor", "3"),
            ("min.insync.replicas", "2"),
            ("replica.lag.time.max.ms", "10000"),
        ];
        let mut brokers: Vec<BrokerProcess> = (1..=3)
            .map(|id| BrokerProcess::start(&connect, id, &extra).or_panic("broker"))
            .collect();
        for b in &mut brokers {
            b.wait_registered(DEADLINE).or_panic("registration");
        }
        ThreeBrokers {
            brokers,
            zk,
            chroot,
        }
    }

    fn bootstrap(&self) -> String {
        let all: Vec<String> = self.brokers.iter().map(|b| b.bootstrap()).collect();
        all.join(",")
    }

    fn broker(&mut self, id: i64) -> &mut BrokerProcess {
        self.brokers
            .iter_mut()
            .find(|b| i64::from(b.id()) == id)
            .or_panic("no such broker")
    }

    /// `/brokers/topics/<t>/partitions/<p>/state`, if it exists yet.
    fn partition_state(&self, topic: &str, partition: i32) -> Option<Value> {
        let connect = format!("{}{}", self.zk.connect_string(), self.chroot);
        let path = format!("/brokers/topics/{topic}/partitions/{partition}/state");
        let out = zk_cli(&connect, &["get", &path]).ok()?;
        first_json_line(&out).filter(|v| v.get("leader").is_some())
    }

    /// Waits until `pred` holds for the partition state.
    fn wait_state(&self, topic: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(state) = self.partition_state(topic, 0) {
                if pred(&state) {
                    return state;
                }
            }
            assert!(Instant::now() < deadline, "{topic}: never reached: {what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn isr(state: &Value) -> BTreeSet<i64> {
    state["isr"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn consume_all(bootstrap: &str, topic: &str, expect: usize) -> Vec<Value> {
    let expect = expect.to_string();
    let lines = python::run_json(
        "kp_consume.py",
        &[
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--expect",
            &expect,
            "--timeout-ms",
            "15000",
        ],
        Duration::from_secs(90),
    )
    .or_panic("kp_consume.py");
    records(&lines).into_iter().cloned().collect()
}

#[test]
fn acks_all_survives_leader_kill_and_the_broker_rejoins_the_isr() {
    let mut cluster = ThreeBrokers::start("replication");
    let bootstrap = cluster.bootstrap();
    let topic = "replicated";

    // Create the topic (auto-creation, RF 3) and wait for all three replicas in the ISR.
    python::run_json(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            topic,
            "--count",
            "1",
            "--acks",
            "all",
            "--prefix",
            "warmup",
        ],
        Duration::from_secs(60),
    )
    .or_panic("warm-up produce");
    cluster.wait_state(topic, "ISR of 3", |s| isr(s).len() == 3);

    let mut stream = python::spawn(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            topic,
            "--count",
            "400",
            "--stream",
            "--acks",
            "all",
            "--interval-ms",
            "15",
        ],
    )
    .or_panic("stream producer");
    let mut lines = stream.until_acknowledged(60, Duration::from_secs(30));
    let state = cluster
        .partition_state(topic, 0)
        .or_panic("partition state");
    let old_leader = int(&state, "leader");
    cluster.broker(old_leader).kill().or_panic("kill -9 leader");

    lines.extend(
        stream
            .remaining_json(Duration::from_secs(60))
            .or_panic("producer output"),
    );
    let acked = python::acknowledged_values(&lines);
    assert!(
        acked.len() >= 60,
        "too few acknowledgements: {}",
        acked.len()
    );

    let new_state = cluster.wait_state(topic, "a new leader", |s| {
        let leader = s["leader"].as_i64().unwrap_or(-1);
        leader >= 0 && leader != old_leader
    });
    assert!(
        !isr(&new_state).contains(&old_leader),
        "dead broker still in ISR: {new_state}"
    );

    // Every acknowledged record is there exactly once; offsets have no gaps.
    let records = consume_all(&bootstrap, topic, acked.len() + 1);
    let offsets: Vec<i64> = records.iter().map(|r| int(r, "offset")).collect();
    assert_contiguous(&offsets, 0);
    let values: Vec<&str> = records.iter().map(|r| string(r, "value")).collect();
    for v in &acked {
        let n = values.iter().filter(|x| **x == v.as_str()).count();
        assert_eq!(n, 1, "acknowledged {v} found {n} times");
    }

    // The killed broker comes back, catches up and rejoins the ISR.
    cluster.broker(old_leader).restart().or_panic("restart");
    cluster.wait_state(topic, "the restarted broker back in the ISR", |s| {
        isr(s).contains(&old_leader)
    });
}

/// A follower's fetch long-polls on the partitions it already follows on a leader; a
/// partition it starts following there meanwhile must not wait for that poll to run out
/// (`replica.fetch.wait.max.ms`, 20 s here) before its first records are replicated, or an
/// acks=all produce to a new topic would time out (8 s here) although every replica is up.
#[test]
fn a_new_partition_does_not_wait_for_the_followers_long_polls() {
    let settings = [
        ("replica.fetch.wait.max.ms", "20000"),
        ("replica.lag.time.max.ms", "60000"),
    ];
    let mut c = tests::multi::MultiCluster::start("newpartition", 3, &settings).or_panic("cluster");
    // Three partitions: each broker leads one, so every follower fetcher is already polling.
    c.create_topic("busy", 3, 3, &[]).or_panic("create busy");
    c.wait_isr_size("busy", 3, 3, DEADLINE)
        .or_panic("busy ISRs");
    c.create_topic("fresh", 1, 3, &[]).or_panic("create fresh");
    let parts = c
        .wait_isr_size("fresh", 1, 3, DEADLINE)
        .or_panic("fresh ISRs");
    let leader = parts[&0].0;
    let addr = c.broker(leader).bootstrap();
    let started = Instant::now();
    let (code, offset) =
        tests::multi::produce_direct(&addr, "fresh", 0, -1, Duration::from_secs(8), &["first"])
            .or_panic("produce");
    println!(
        "acks=all on the new partition answered in {:?}",
        started.elapsed()
    );
    assert_eq!(
        (code, offset),
        (0, 0),
        "acks=all on a new partition of a running cluster"
    );
}

/// A Fetch from `replica` for partition 0 of `topic` at `offset`, claiming `leader_epoch`;
/// returns the partition's error code.
fn follower_fetch(addr: &str, topic: &str, replica: i32, offset: i64, leader_epoch: i32) -> i16 {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
    use kafka_protocol::protocol::StrBytes;
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(replica))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(leader_epoch)
                .with_partition_max_bytes(1 << 20)])]);
    let resp: FetchResponse = tests::wire::WireClient::connect(addr)
        .and_then(|mut c| c.request(12, &req))
        .or_panic("follower fetch");
    resp.responses
        .first()
        .and_then(|t| t.partitions.first())
        .map_or(-1, |p| p.error_code)
}

/// A follower's fetch at an older leader epoch than the leader's is fenced, and must not count
/// as the follower's progress: it may hold records that diverge from the new leader's, and a
/// broker that left (here, by controlled shutdown) must not be put back in the ISR by a fetch
/// that was already under way.
#[test]
fn a_fenced_follower_fetch_does_not_count_towards_the_isr() {
    let settings = [("replica.lag.time.max.ms", "60000")];
    let mut c = tests::multi::MultiCluster::start("fenced", 2, &settings).or_panic("cluster");
    let topic = "fenced";
    c.create_topic(topic, 1, 2, &[]).or_panic("create");
    let parts = c.wait_isr_size(topic, 1, 2, DEADLINE).or_panic("ISR of 2");
    let leader = parts[&0].0;
    let follower = 3 - leader;
    let addr = c.broker(leader).bootstrap();
    let (code, _) =
        tests::multi::produce_direct(&addr, topic, 0, -1, Duration::from_secs(10), &["one"])
            .or_panic("produce");
    assert_eq!(code, 0, "acks=all with both replicas");

    // The controlled shutdown takes the follower out of the ISR with a new leader epoch.
    c.broker(follower).stop().or_panic("stop the follower");
    let state_path = format!("/brokers/topics/{topic}/partitions/0/state");
    let mut epoch = -1;
    c.wait_for(DEADLINE, "the follower out of the ISR", |c| {
        let state = c.zk_get_json(&state_path)?;
        epoch = state["leader_epoch"].as_i64().unwrap_or(-1) as i32;
        Ok(isr(&state) == BTreeSet::from([i64::from(leader)]))
    })
    .or_panic("ISR shrink");
    assert!(epoch >= 1, "leader epoch after the shrink: {epoch}");

    // A caught-up fetch claiming the epoch before: fenced, and the partition state stays as
    // it is. (An ISR expansion is written within milliseconds of the fetch that earns it; a
    // second is ample.)
    let before = c.zk_get_json(&state_path).or_panic("state");
    let fenced = follower_fetch(&addr, topic, follower, 1, epoch - 1);
    assert_eq!(fenced, 74, "FENCED_LEADER_EPOCH for a stale epoch");
    std::thread::sleep(Duration::from_secs(1));
    let after = c.zk_get_json(&state_path).or_panic("state");
    assert_eq!(after, before, "a fenced fetch changed the partition state");

    // The control: the same fetch at the leader's epoch does count, so the check above could
    // have seen a change. The leader writes the expansion; the controller then takes the
    // stopped broker out again with a new epoch, so the state moves either way.
    assert_eq!(follower_fetch(&addr, topic, follower, 1, epoch), 0);
    c.wait_for(
        DEADLINE,
        "the state changed by a current-epoch fetch",
        |c| Ok(c.zk_get_json(&state_path)? != before),
    )
    .or_panic("ISR expansion");
}

/// Tells broker `to` (as the controller would) to follow partition 0 of `topic` on `leader`,
/// at leader epoch 0; returns the partition's error code.
fn send_leader_and_isr(
    c: &mut tests::multi::MultiCluster,
    to: i32,
    topic: &str,
    leader: i32,
) -> i16 {
    use kafka_protocol::messages::leader_and_isr_request::{
        LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
    };
    use kafka_protocol::messages::{
        BrokerId, LeaderAndIsrRequest, LeaderAndIsrResponse, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let out = c
        .zk_cli(&["get", "/controller_epoch"])
        .or_panic("controller epoch");
    let controller_epoch: i32 = out
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .or_panic("controller epoch in zkCli output");
    let leader_port = c.broker(leader).port();
    let replicas = vec![BrokerId(leader), BrokerId(to)];
    let req = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(c.controller().or_panic("controller")))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partition_states(vec![LeaderAndIsrPartitionState::default()
                .with_partition_index(0)
                .with_controller_epoch(controller_epoch)
                .with_leader(BrokerId(leader))
                .with_leader_epoch(0)
                .with_isr(replicas.clone())
                .with_replicas(replicas)
                .with_is_new(true)])])
        .with_live_leaders(vec![LeaderAndIsrLiveLeader::default()
            .with_broker_id(BrokerId(leader))
            .with_host_name(StrBytes::from_static_str("127.0.0.1"))
            .with_port(i32::from(leader_port))]);
    let addr = c.broker(to).bootstrap();
    let resp: LeaderAndIsrResponse = tests::wire::WireClient::connect(&addr)
        .and_then(|mut w| w.request(7, &req))
        .or_panic("LeaderAndIsr");
    assert_eq!(resp.error_code, 0, "LeaderAndIsr refused");
    resp.topics
        .first()
        .and_then(|t| t.partition_errors.first())
        .map_or(-1, |p| p.error_code)
}

/// A follower told to follow a partition its leader does not have gets an error for it on
/// every fetch (as it does, for a few milliseconds, when the leader is behind on a new topic's
/// LeaderAndIsr). Only that partition may wait out `replica.fetch.backoff.ms`: the other
/// partitions fetched from the same leader go on replicating, so acks=all on them is answered.
#[test]
fn a_failing_partition_does_not_hold_back_the_others() {
    let settings = [
        ("replica.fetch.backoff.ms", "20000"),
        ("replica.lag.time.max.ms", "60000"),
    ];
    let mut c = tests::multi::MultiCluster::start("backoff", 2, &settings).or_panic("cluster");
    c.create_topic("busy", 1, 2, &[]).or_panic("create busy");
    let parts = c.wait_isr_size("busy", 1, 2, DEADLINE).or_panic("busy ISR");
    let leader = parts[&0].0;
    let follower = 3 - leader;
    let addr = c.broker(leader).bootstrap();
    let (code, _) =
        tests::multi::produce_direct(&addr, "busy", 0, -1, Duration::from_secs(10), &["zero"])
            .or_panic("produce");
    assert_eq!(code, 0, "acks=all before the failing partition");

    // "ghost" exists only on the follower: the leader answers UNKNOWN_TOPIC_OR_PARTITION.
    assert_eq!(send_leader_and_isr(&mut c, follower, "ghost", leader), 0);
    // The follower's fetcher sends ghost in its next round, within milliseconds; a second
    // lets it get the error before the records below are produced.
    std::thread::sleep(Duration::from_secs(1));
    for (i, value) in ["one", "two", "three"].into_iter().enumerate() {
        let started = Instant::now();
        let (code, offset) =
            tests::multi::produce_direct(&addr, "busy", 0, -1, Duration::from_secs(8), &[value])
                .or_panic("produce");
        println!("acks=all {i} answered in {:?}", started.elapsed());
        assert_eq!(
            (code, offset),
            (0, i as i64 + 1),
            "acks=all beside a partition whose fetch fails"
        );
    }
}
