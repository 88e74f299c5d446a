//! The cluster on a three-node ZooKeeper ensemble: losing one ZooKeeper node (the ZooKeeper
//! leader) does not stop producing or consuming, and the node rejoins when restarted.

use std::time::{Duration, Instant};

use tests::multi::MultiCluster;
use tests::traffic::{check_acknowledged, consume_all, SteadyProducer};
use tests::OrPanic;

const DEADLINE: Duration = Duration::from_secs(40);
const SETTINGS: &[(&str, &str)] = &[
    ("default.replication.factor", "3"),
    ("min.insync.replicas", "2"),
    ("replica.lag.time.max.ms", "10000"),
];

/// True if any broker's log says its ZooKeeper session expired.
fn any_session_expired(c: &MultiCluster) -> bool {
    c.brokers.iter().any(|b| {
        std::fs::read_to_string(b.log_file())
            .is_ok_and(|log| log.contains("ZooKeeper session expired"))
    })
}

#[test]
fn killing_the_zookeeper_leader_does_not_stop_clients() {
    let mut c = MultiCluster::start_on_ensemble("zk-node", 3, 3, SETTINGS).or_panic("cluster");
    let topic = "zk-node";
    c.create_topic(topic, 3, 3, &[("min.insync.replicas", "2")])
        .or_panic("create topic");
    c.wait_isr_size(topic, 3, 3, DEADLINE).or_panic("full ISRs");

    let bootstrap = c.bootstrap();
    let mut producer = SteadyProducer::start(&bootstrap, topic, "all", 20).or_panic("producer");
    producer
        .wait_more_acks(30, DEADLINE)
        .or_panic("acks before the kill");

    let ensemble = c.ensemble().or_panic("ensemble");
    let zk_leader = ensemble.leader().or_panic("a ZooKeeper leader");
    let killed_at = Instant::now();
    ensemble
        .kill_node(zk_leader)
        .or_panic("kill -9 ZooKeeper leader");
    ensemble
        .wait_quorum(DEADLINE)
        .or_panic("quorum of the two left");
    let new_leader = ensemble.leader().or_panic("new ZooKeeper leader");
    println!(
        "ZooKeeper leader {zk_leader} killed; node {new_leader} leads after {:?}",
        killed_at.elapsed()
    );

    // Producing goes on, and ZooKeeper writes (topic creation) still work through the others.
    producer
        .wait_more_acks(50, DEADLINE)
        .or_panic("acks with one ZooKeeper node down");
    println!(
        "50 acknowledgements within {:?} of the kill",
        killed_at.elapsed()
    );
    c.create_topic("zk-node-2", 1, 3, &[])
        .or_panic("create a topic with a ZooKeeper node down");
    // zkCli picks a server at random and may try the dead one first: poll.
    c.wait_for(DEADLINE, "registrations survive", |c| {
        Ok(c.zk_ls("/brokers/ids")? == ["1", "2", "3"])
    })
    .or_panic("ls /brokers/ids");

    c.ensemble()
        .or_panic("ensemble")
        .start_node(zk_leader)
        .or_panic("restart the ZooKeeper node");
    let mode = c.ensemble().or_panic("ensemble").mode(zk_leader);
    assert!(
        matches!(mode.as_deref(), Some("follower") | Some("leader")),
        "restarted node serves: {mode:?}"
    );
    producer
        .wait_more_acks(30, DEADLINE)
        .or_panic("acks after the restart");

    let (acks, errors) = producer.finish(DEADLINE).or_panic("producer finish");
    assert!(errors.is_empty(), "failed sends: {errors:?}");
    assert!(
        !any_session_expired(&c),
        "a broker lost its ZooKeeper session"
    );
    let consumed = consume_all(&bootstrap, topic, Duration::from_secs(6)).or_panic("consume");
    let verdict =
        check_acknowledged(&acks, &consumed, |n| format!("value-{n}")).or_panic("consistent log");
    println!("{} acknowledged; consumed {verdict:?}", acks.len());
    assert_eq!(
        verdict.per_partition.len(),
        3,
        "every partition got records"
    );
}
