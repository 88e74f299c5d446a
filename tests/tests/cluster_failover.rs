//! Broker crashes under steady acks=all traffic on a three-node ZooKeeper ensemble: the leader
//! of a partition is `kill -9`ed, comes back and rejoins the ISRs, then another broker is
//! killed; no acknowledged record is lost, duplicated or reordered, and offsets have no gaps.

use std::time::{Duration, Instant};

use tests::multi::MultiCluster;
use tests::traffic::{check_acknowledged, consume_all, SteadyProducer};
use tests::OrPanic;

const DEADLINE: Duration = Duration::from_secs(40);
const PARTITIONS: usize = 4;
const SETTINGS: &[(&str, &str)] = &[
    ("default.replication.factor", "3"),
    ("min.insync.replicas", "2"),
    ("replica.lag.time.max.ms", "10000"),
];

/// Kills broker `victim`, waits until no partition of `topic` names it leader and acks flow
/// again; returns how long the partitions it led were without a leader.
fn kill_and_fail_over(
    c: &mut MultiCluster,
    producer: &mut SteadyProducer,
    topic: &str,
    victim: i32,
) -> Duration {
    let killed_at = Instant::now();
    c.broker(victim).kill().or_panic("kill -9");
    c.wait_for(DEADLINE, "leadership moved off the killed broker", |c| {
        let parts = c.partitions(topic)?;
        Ok(parts.len() == PARTITIONS
            && parts
                .values()
                .all(|(l, isr)| *l >= 0 && *l != victim && !isr.contains(&victim)))
    })
    .or_panic("failover");
    let failover = killed_at.elapsed();
    producer
        .wait_more_acks(40, DEADLINE)
        .or_panic("acks after the failover");
    failover
}

#[test]
fn acks_all_survives_two_successive_broker_kills() {
    let mut c = MultiCluster::start_on_ensemble("failover", 3, 3, SETTINGS).or_panic("cluster");
    let topic = "failover";
    c.create_topic(topic, 4, 3, &[("min.insync.replicas", "2")])
        .or_panic("create topic");
    let parts = c
        .wait_isr_size(topic, PARTITIONS, 3, DEADLINE)
        .or_panic("full ISRs");
    let bootstrap = c.bootstrap();
    let mut producer = SteadyProducer::start(&bootstrap, topic, "all", 15).or_panic("producer");
    producer
        .wait_more_acks(40, DEADLINE)
        .or_panic("acks before the kill");

    // First: the leader of partition 0.
    let first = parts[&0].0;
    let took = kill_and_fail_over(&mut c, &mut producer, topic, first);
    println!("broker {first} (leader of partition 0) killed: leaders moved in {took:?}");

    let restarted_at = Instant::now();
    c.broker(first).restart().or_panic("restart");
    let parts = c
        .wait_isr_size(topic, PARTITIONS, 3, Duration::from_secs(60))
        .or_panic("restarted broker back in every ISR");
    println!(
        "broker {first} back in every ISR {:?} after its restart",
        restarted_at.elapsed()
    );
    producer
        .wait_more_acks(40, DEADLINE)
        .or_panic("acks with all three back");

    // Second: another broker, one that leads a partition now.
    let second = parts
        .values()
        .map(|(l, _)| *l)
        .find(|l| *l != first)
        .or_panic("a leader other than the first victim");
    let took = kill_and_fail_over(&mut c, &mut producer, topic, second);
    println!("broker {second} killed: leaders moved in {took:?}");

    let (acks, errors) = producer.finish(Duration::from_secs(90)).or_panic("finish");
    assert!(errors.is_empty(), "failed sends: {errors:?}");
    let bootstrap = c.bootstrap();
    let consumed = consume_all(&bootstrap, topic, Duration::from_secs(6)).or_panic("consume");
    let verdict =
        check_acknowledged(&acks, &consumed, |n| format!("value-{n}")).or_panic("consistent log");
    println!("{} acknowledged; consumed {verdict:?}", acks.len());
    assert_eq!(verdict.per_partition.len(), PARTITIONS);
}
