//! The controller's duties with real broker processes on one ZooKeeper: failover after the
//! controller dies, controlled shutdown, topic deletion, preferred-leader return.

use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tests::multi::MultiCluster;
use tests::wire::WireClient;

/// Session timeout (6 s) + election + UpdateMetadata, with slack for a loaded machine.
const FAILOVER: Duration = Duration::from_secs(25);
const SHORT: Duration = Duration::from_secs(20);

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn controller_addr(c: &mut MultiCluster) -> String {
    let id = c.controller().expect("metadata");
    assert!(id > 0, "no controller");
    c.broker(id).bootstrap()
}

/// CreateTopics v5 to the controller with an explicit assignment (partition → replicas).
fn create_topic(c: &mut MultiCluster, topic: &str, assignment: &[&[i32]]) -> CreateTopicsResponse {
    let assignments = assignment
        .iter()
        .enumerate()
        .map(|(p, rs)| {
            CreatableReplicaAssignment::default()
                .with_partition_index(i32::try_from(p).expect("small"))
                .with_broker_ids(rs.iter().map(|b| BrokerId(*b)).collect())
        })
        .collect();
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(assignments)])
        .with_timeout_ms(15_000);
    // Right after a failover, a broker with stale metadata may still name a controller that has
    // resigned, which answers NOT_CONTROLLER (41); a client asks Metadata again and retries.
    let deadline = Instant::now() + SHORT;
    loop {
        let mut client = WireClient::connect(&controller_addr(c)).expect("connect");
        let resp: CreateTopicsResponse = client.request(5, &request).expect("CreateTopics");
        let code = resp.topics[0].error_code;
        if code == 41 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        assert_eq!(code, 0, "{resp:?}");
        return resp;
    }
}

#[test]
fn non_controller_answers_not_controller() {
    let mut c = MultiCluster::start("notctl", 2, &[]).expect("cluster");
    let controller = c.controller().expect("metadata");
    let other = if controller == 1 { 2 } else { 1 };
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name("x"))
            .with_num_partitions(1)
            .with_replication_factor(1)])
        .with_timeout_ms(1000);
    let mut client = WireClient::connect(&c.broker(other).bootstrap()).expect("connect");
    let resp: CreateTopicsResponse = client.request(5, &request).expect("CreateTopics");
    assert_eq!(resp.topics[0].error_code, 41, "NOT_CONTROLLER: {resp:?}");
}

#[test]
fn controller_failover_keeps_leadership_moving() {
    let mut c = MultiCluster::start("failover", 3, &[]).expect("cluster");
    let old = c.controller().expect("metadata");
    // Partition 0 led by the controller, partition 1 by another broker.
    let others: Vec<i32> = (1..=3).filter(|b| *b != old).collect();
    create_topic(
        &mut c,
        "fo",
        &[&[old, others[0], others[1]], &[others[0], old, others[1]]],
    );
    c.wait_for(SHORT, "leaders elected", |c| {
        Ok(c.leader_and_isr("fo", 0)?.is_some_and(|(l, _)| l == old))
    })
    .expect("leader");
    let killed_at = Instant::now();
    c.broker(old).kill().expect("kill");
    c.wait_for(FAILOVER, "a new controller", |c| {
        let id = c.controller()?;
        Ok(id > 0 && id != old)
    })
    .expect("new controller");
    println!("new controller after {:?}", killed_at.elapsed());
    c.wait_for(SHORT, "partition 0 moved off the dead controller", |c| {
        Ok(c.leader_and_isr("fo", 0)?
            .is_some_and(|(l, isr)| l == others[0] && !isr.contains(&old)))
    })
    .expect("leader moved");
    println!("leadership moved after {:?}", killed_at.elapsed());
    // The new controller keeps working: a new topic gets leaders.
    create_topic(&mut c, "fo2", &[&[others[1], others[0]]]);
    let state = c
        .zk_get_json("/brokers/topics/fo/partitions/0/state")
        .expect("state");
    assert_eq!(state["leader"], others[0]);
    let controller = c.zk_get_json("/controller").expect("controller");
    assert_ne!(controller["brokerid"], old);
}

#[test]
fn controlled_shutdown_moves_leadership_first() {
    let mut c = MultiCluster::start("ctlshut", 3, &[]).expect("cluster");
    create_topic(&mut c, "cs", &[&[2, 3, 1], &[3, 1, 2]]);
    c.wait_for(SHORT, "leaders", |c| {
        Ok(c.leader_and_isr("cs", 0)?.is_some_and(|(l, _)| l == 2))
    })
    .expect("leader");
    let started = Instant::now();
    c.broker(2).stop().expect("SIGTERM and clean exit");
    let took = started.elapsed();
    println!("broker 2 stopped in {took:?}");
    let log = std::fs::read_to_string(c.broker(2).log_file()).expect("log");
    assert!(log.contains("controlled shutdown succeeded"), "{log}");
    // Leadership moved before the broker left, not after the session timeout.
    let (leader, isr) = c
        .leader_and_isr("cs", 0)
        .expect("metadata")
        .expect("partition");
    assert_eq!(leader, 3);
    assert!(!isr.contains(&2), "{isr:?}");
    assert!(took < Duration::from_secs(20));
}

#[test]
fn deleted_topic_disappears_everywhere() {
    let mut c = MultiCluster::start("delete", 2, &[]).expect("cluster");
    create_topic(&mut c, "gone", &[&[1, 2], &[2, 1]]);
    c.wait_for(SHORT, "replicas created", |c| {
        Ok(c.brokers
            .iter()
            .all(|b| b.partition_dir("gone", 0).is_dir()))
    })
    .expect("dirs");
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![name("gone")])
        .with_timeout_ms(15_000);
    let mut client = WireClient::connect(&controller_addr(&mut c)).expect("connect");
    let resp: kafka_protocol::messages::DeleteTopicsResponse =
        client.request(4, &request).expect("DeleteTopics");
    assert_eq!(resp.responses[0].error_code, 0, "{resp:?}");
    c.wait_for(SHORT, "znodes gone", |c| {
        Ok(!c.zk_ls("/brokers/topics")?.contains(&"gone".to_string())
            && c.zk_ls("/admin/delete_topics")?.is_empty())
    })
    .expect("znodes");
    assert!(c.metadata().expect("metadata").topics.is_empty());
    for b in &c.brokers {
        assert!(!b.partition_dir("gone", 0).exists());
        assert!(!b.partition_dir("gone", 1).exists());
    }
}

/// Needs the follower fetcher and leader-side ISR expansion: a restarted broker only becomes
/// preferred leader again once it is back in the ISR.
#[test]
fn preferred_leader_returns_after_restart() {
    let mut c = MultiCluster::start(
        "preferred",
        3,
        &[("leader.imbalance.check.interval.seconds", "1")],
    )
    .expect("cluster");
    create_topic(&mut c, "pref", &[&[1, 2, 3]]);
    c.wait_for(SHORT, "leader 1", |c| {
        Ok(c.leader_and_isr("pref", 0)?.is_some_and(|(l, _)| l == 1))
    })
    .expect("leader");
    c.broker(1).stop().expect("stop");
    c.wait_for(SHORT, "leader moved", |c| {
        Ok(c.leader_and_isr("pref", 0)?.is_some_and(|(l, _)| l == 2))
    })
    .expect("moved");
    c.broker(1).restart().expect("restart");
    c.wait_for(Duration::from_secs(60), "broker 1 back in the ISR", |c| {
        Ok(c.leader_and_isr("pref", 0)?
            .is_some_and(|(_, isr)| isr.contains(&1)))
    })
    .expect("isr");
    c.wait_for(SHORT, "preferred leader 1 again", |c| {
        Ok(c.leader_and_isr("pref", 0)?.is_some_and(|(l, _)| l == 1))
    })
    .expect("preferred");
}
