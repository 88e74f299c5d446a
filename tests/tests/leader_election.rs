//! Leader elections on demand (issue 24) on one 3-broker cluster without automatic rebalance:
//! the preferred leader of some partitions restarts and leads nothing; preferred elections from
//! `kafka-leader-election`, kafka-python's and confluent-kafka's admin clients and the
//! `/admin/preferred_replica_election` znode written with zkCli give them back; a partition
//! whose only ISR member is down gets its out-of-sync replica elected by an UNCLEAN election
//! (with `unclean.leader.election.enable` false); "not needed" and the errors, as Kafka says them.

use std::time::Duration;

use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, CreateTopicsResponse, ElectLeadersRequest, ElectLeadersResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};
use tests::multi::{produce_direct, MultiCluster};
use tests::wire::WireClient;
use tests::{python, tools, OrPanic};

const DEADLINE: Duration = Duration::from_secs(30);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Broker 2 is the preferred leader of partitions 0-3; partition 4 prefers broker 1.
const PREF: &str = "pref";
/// One partition on brokers 3 (preferred) and 2.
const UNCL: &str = "uncl";

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// CreateTopics with an explicit assignment, sent to the controller.
fn create_assigned(c: &MultiCluster, topic: &str, assignment: &[&[i32]]) {
    let controller = c.controller().or_panic("controller");
    let addr = c.brokers[usize::try_from(controller - 1).or_panic("id")].bootstrap();
    let assignments = (0..)
        .zip(assignment)
        .map(|(p, replicas)| {
            CreatableReplicaAssignment::default()
                .with_partition_index(p)
                .with_broker_ids(replicas.iter().map(|b| BrokerId(*b)).collect())
        })
        .collect();
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(assignments)])
        .with_timeout_ms(15_000);
    let response: CreateTopicsResponse = WireClient::connect(&addr)
        .and_then(|mut w| w.request(5, &request))
        .or_panic("CreateTopics");
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

/// (leader, ISR) of one partition as the cluster reports it.
fn leader_and_isr(c: &MultiCluster, topic: &str, p: i32) -> std::io::Result<(i32, Vec<i32>)> {
    c.partitions(topic)?
        .remove(&p)
        .ok_or_else(|| std::io::Error::other(format!("{topic}-{p} unknown")))
}

fn wait_leader(c: &MultiCluster, topic: &str, p: i32, leader: i32) {
    c.wait_for(DEADLINE, &format!("{topic}-{p} led by {leader}"), |c| {
        Ok(leader_and_isr(c, topic, p)?.0 == leader)
    })
    .or_panic("leader");
}

/// Runs the tool; (stdout, exit code).
fn election(args: &[&str]) -> (String, Option<i32>, String) {
    let out = tools::run("kafka-leader-election", args, None).or_panic("kafka-leader-election");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An admin client's elect_leaders: each partition's error name (null when elected).
fn client_election(client: &str, bootstrap: &str, election: &str, partitions: &[&str]) -> Value {
    let mut args = vec![
        client,
        "--bootstrap",
        bootstrap,
        "--election-type",
        election,
    ];
    for p in partitions {
        args.extend(["--partition", p]);
    }
    let lines = python::run_json("elect_leaders.py", &args, CLIENT_TIMEOUT).or_panic(client);
    lines[0]["results"].clone()
}

#[test]
fn preferred_and_unclean_elections_from_the_tool_the_clients_and_zookeeper() {
    let settings = [("auto.leader.rebalance.enable", "false")];
    let mut c = MultiCluster::start("leader_election", 3, &settings).or_panic("cluster");
    create_assigned(
        &c,
        PREF,
        &[&[2, 1, 3], &[2, 3, 1], &[2, 1, 3], &[2, 3, 1], &[1, 2, 3]],
    );
    create_assigned(&c, UNCL, &[&[3, 2]]);
    c.wait_isr_size(PREF, 5, 3, DEADLINE).or_panic("pref ISRs");
    c.wait_isr_size(UNCL, 1, 2, DEADLINE).or_panic("uncl ISR");

    // Broker 2 shuts down (its leadership moves, it leaves the ISRs), then broker 3, the last
    // ISR member of uncl-0, which goes offline. Broker 2 comes back: nothing rebalances.
    c.broker(2).stop().or_panic("stop broker 2");
    c.wait_for(DEADLINE, "uncl-0 ISR without 2", |c| {
        Ok(leader_and_isr(c, UNCL, 0)? == (3, vec![3]))
    })
    .or_panic("uncl ISR shrinks");
    c.broker(3).stop().or_panic("stop broker 3");
    c.broker(2).restart().or_panic("restart broker 2");
    c.wait_for(DEADLINE, "broker 2 back in the ISRs it prefers", |c| {
        let parts = c.partitions(PREF)?;
        Ok((0..4).all(|p| {
            parts
                .get(&p)
                .is_some_and(|(l, isr)| *l == 1 && isr.contains(&2))
        }))
    })
    .or_panic("broker 2 in sync");
    assert_eq!(leader_and_isr(&c, UNCL, 0).or_panic("uncl"), (-1, vec![3]));
    let bootstrap = c.bootstrap();
    let base = ["--bootstrap-server", bootstrap.as_str()];

    // The tool, for one partition; then again: nothing to do.
    let one = [
        &base[..],
        &[
            "--election-type",
            "preferred",
            "--topic",
            PREF,
            "--partition",
            "0",
        ],
    ]
    .concat();
    let (out, code, err) = election(&one);
    assert_eq!(
        (out.as_str(), code),
        (
            "Successfully completed leader election (PREFERRED) for partitions pref-0\n",
            Some(0)
        ),
        "{err}"
    );
    wait_leader(&c, PREF, 0, 2);
    let (out, code, _) = election(&one);
    assert_eq!(
        (out.as_str(), code),
        (
            "Valid replica already elected for partitions pref-0\n",
            Some(0)
        )
    );

    // kafka-python's and confluent-kafka's admin clients.
    let kp = client_election("kp", &bootstrap, "preferred", &["pref:1", "pref:0"]);
    assert_eq!(kp, json!({"pref:1": null, "pref:0": "ELECTION_NOT_NEEDED"}));
    wait_leader(&c, PREF, 1, 2);
    let ck = client_election("ck", &bootstrap, "preferred", &["pref:2"]);
    assert_eq!(ck, json!({"pref:2": null}));
    wait_leader(&c, PREF, 2, 2);

    // The znode, written with zkCli: elected, then deleted by the controller.
    let data = r#"{"version":1,"partitions":[{"topic":"pref","partition":3}]}"#;
    c.zk_cli(&["create", "/admin/preferred_replica_election", data])
        .or_panic("zkCli create");
    wait_leader(&c, PREF, 3, 2);
    c.wait_for(DEADLINE, "the znode deleted", |c| {
        Ok(!c
            .zk_ls("/admin")?
            .iter()
            .any(|n| n == "preferred_replica_election"))
    })
    .or_panic("znode deleted");

    // A JSON file mixing a partition whose preferred replica is down, an unknown partition and
    // one led by its preferred replica already: two errors, exit 1.
    let dir = std::env::temp_dir().join(format!("leader-election-{}", std::process::id()));
    std::fs::create_dir_all(&dir).or_panic("temp dir");
    let file = dir.join("partitions.json");
    let partitions = json!({"partitions": [
        {"topic": UNCL, "partition": 0}, {"topic": PREF, "partition": 99}, {"topic": PREF, "partition": 4}
    ]});
    std::fs::write(&file, partitions.to_string()).or_panic("write JSON file");
    let path = file.to_string_lossy().into_owned();
    let from_file = [
        &base[..],
        &["--election-type", "PREFERRED", "--path-to-json-file", &path],
    ]
    .concat();
    let (out, code, err) = election(&from_file);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "Valid replica already elected for partitions pref-4",
            "Error completing leader election (PREFERRED) for partition: pref-99: \
             org.apache.kafka.common.errors.UnknownTopicOrPartitionException: The partition does not exist.",
            "Error completing leader election (PREFERRED) for partition: uncl-0: \
             org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: \
             Failed to elect leader for partition uncl-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy",
        ]
    );
    assert_eq!(err.trim(), "Error: 2 replica(s) could not be elected");
    let _ = std::fs::remove_dir_all(&dir);

    // All partitions: those that need nothing are left out of the answer.
    let all = [
        &base[..],
        &["--election-type", "preferred", "--all-topic-partitions"],
    ]
    .concat();
    let (out, code, _) = election(&all);
    assert_eq!(code, Some(1));
    assert!(
        out.starts_with("Error completing leader election (PREFERRED) for partition: uncl-0: ")
            && out.lines().count() == 1,
        "{out}"
    );

    // Straight to the brokers: v0 (preferred only) at the controller; a broker that is not the
    // controller answers NOT_CONTROLLER for each partition.
    let controller = c.controller().or_panic("controller");
    let to = |id: i32, version: i16| {
        let request = ElectLeadersRequest::default().with_topic_partitions(Some(vec![
            TopicPartitions::default()
                .with_topic(name(PREF))
                .with_partitions(vec![0]),
        ]));
        let addr = c.brokers[usize::try_from(id - 1).or_panic("id")].bootstrap();
        let response: ElectLeadersResponse = WireClient::connect(&addr)
            .and_then(|mut w| w.request(version, &request))
            .or_panic("ElectLeaders");
        response.replica_election_results[0].partition_result[0].error_code
    };
    assert_eq!(to(controller, 0), 84, "ELECTION_NOT_NEEDED");
    let other = if controller == 1 { 2 } else { 1 };
    assert_eq!(to(other, 2), 41, "NOT_CONTROLLER");

    // Unclean: broker 2, out of sync, leads uncl-0 although unclean election is disabled.
    let unclean = [
        &base[..],
        &[
            "--election-type",
            "unclean",
            "--topic",
            UNCL,
            "--partition",
            "0",
        ],
    ]
    .concat();
    let (out, code, err) = election(&unclean);
    assert_eq!(
        (out.as_str(), code),
        (
            "Successfully completed leader election (UNCLEAN) for partitions uncl-0\n",
            Some(0)
        ),
        "{err}"
    );
    c.wait_for(DEADLINE, "uncl-0 led by 2 alone", |c| {
        Ok(leader_and_isr(c, UNCL, 0)? == (2, vec![2]))
    })
    .or_panic("unclean leader");
    let state = c
        .zk_get_json("/brokers/topics/uncl/partitions/0/state")
        .or_panic("uncl state");
    assert_eq!(
        (state["leader"].clone(), state["isr"].clone()),
        (json!(2), json!([2]))
    );
    let addr = c.broker(2).bootstrap();
    let (code, _) = produce_direct(&addr, UNCL, 0, 1, DEADLINE, &["after"]).or_panic("produce");
    assert_eq!(code, 0, "the new leader takes writes");
    // A live leader: nothing to do, for either client.
    let ck = client_election("ck", &bootstrap, "unclean", &["uncl:0"]);
    assert_eq!(ck, json!({"uncl:0": "ELECTION_NOT_NEEDED"}));
    let kp = client_election("kp", &bootstrap, "unclean", &["pref:0"]);
    assert_eq!(kp, json!({"pref:0": "ELECTION_NOT_NEEDED"}));
}
