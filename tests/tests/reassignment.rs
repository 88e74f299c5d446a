//! Partition reassignment (issue 24) on one three-broker cluster under a steady acks=all
//! producer: a partition moves from two brokers to two others, another grows to three replicas
//! and shrinks to two, a target broker is killed mid-move and restarted, a move is cancelled,
//! `/admin/reassign_partitions` written with zkCli is carried out and deleted, and the
//! controller is killed mid-move. AlterPartitionReassignments and ListPartitionReassignments
//! go over the wire; in the end every acknowledged record is in the log exactly once.
//!
//! Brokers are named by role, since any of them may be the controller: `c` the controller,
//! `x` and `y` the other two. A move is held in progress by stopping (SIGSTOP) the broker it
//! adds, for less than its ZooKeeper session timeout.

use std::io;
use std::time::Duration;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    CreateTopicsRequest, CreateTopicsResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tests::multi::MultiCluster;
use tests::process::signal;
use tests::traffic::{check_acknowledged, consume_all, SteadyProducer};
use tests::wire::WireClient;
use tests::{BrokerProcess, OrPanic};

const TOPIC: &str = "moving";
const DEADLINE: Duration = Duration::from_secs(40);

/// (partition, target replicas or `None` to cancel).
type Move<'a> = (i32, Option<&'a [i32]>);

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

fn broker(c: &MultiCluster, id: i32) -> &BrokerProcess {
    &c.brokers[usize::try_from(id - 1).unwrap_or(0)]
}

fn addr(c: &MultiCluster, id: i32) -> String {
    broker(c, id).bootstrap()
}

/// AlterPartitionReassignments v0 for partitions of `topic`, sent to broker `to`.
fn alter_on(
    c: &MultiCluster,
    to: i32,
    topic: &str,
    moves: &[Move<'_>],
) -> io::Result<AlterPartitionReassignmentsResponse> {
    let partitions = moves
        .iter()
        .map(|(p, target)| {
            ReassignablePartition::default()
                .with_partition_index(*p)
                .with_replicas(target.map(|t| t.iter().map(|b| BrokerId(*b)).collect()))
        })
        .collect();
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(name(topic))
            .with_partitions(partitions)]);
    WireClient::connect(&addr(c, to))?.request(0, &request)
}

/// [`alter_on`] the controller; the error code of each partition, in request order.
fn alter(c: &MultiCluster, topic: &str, moves: &[Move<'_>]) -> Vec<i16> {
    let controller = c.controller().or_panic("controller");
    let response = alter_on(c, controller, topic, moves).or_panic("AlterPartitionReassignments");
    assert_eq!(response.error_code, 0, "{response:?}");
    moves
        .iter()
        .map(|(p, _)| {
            response
                .responses
                .iter()
                .flat_map(|t| &t.partitions)
                .find(|r| r.partition_index == *p)
                .map_or(-1, |r| r.error_code)
        })
        .collect()
}

/// ListPartitionReassignments v0 (all partitions) from broker `to`.
fn list_on(c: &MultiCluster, to: i32) -> io::Result<ListPartitionReassignmentsResponse> {
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(None);
    WireClient::connect(&addr(c, to))?.request(0, &request)
}

/// An ongoing reassignment as listed: (partition, replicas, adding, removing).
type Ongoing = (i32, Vec<i32>, Vec<i32>, Vec<i32>);

/// Each ongoing reassignment of `TOPIC`.
fn ongoing(c: &MultiCluster) -> io::Result<Vec<Ongoing>> {
    let response = list_on(c, c.controller()?)?;
    if response.error_code != 0 {
        return Err(io::Error::other(format!("{response:?}")));
    }
    let ids = |l: &[BrokerId]| l.iter().map(|b| b.0).collect::<Vec<_>>();
    Ok(response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == TOPIC)
        .flat_map(|t| &t.partitions)
        .map(|p| {
            (
                p.partition_index,
                ids(&p.replicas),
                ids(&p.adding_replicas),
                ids(&p.removing_replicas),
            )
        })
        .collect())
}

/// (replicas, ISR) of one partition, from broker `from`'s Metadata.
fn replicas_and_isr(from: &str, partition: i32) -> io::Result<(Vec<i32>, Vec<i32>)> {
    let metadata = MultiCluster::metadata_from(from)?;
    let p = metadata
        .topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == TOPIC))
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| io::Error::other(format!("no partition {partition}")))?;
    let ids = |l: &[BrokerId]| l.iter().map(|b| b.0).collect::<Vec<_>>();
    Ok((ids(&p.replica_nodes), ids(&p.isr_nodes)))
}

/// Waits until `partition` is on exactly `target` (in that order) with all of it in sync, as
/// every running broker reports it, and no reassignment of it is listed.
fn wait_moved(c: &mut MultiCluster, partition: i32, target: &[i32]) {
    let addrs: Vec<String> = c
        .brokers
        .iter_mut()
        .filter_map(|b| b.is_running().then(|| b.bootstrap()))
        .collect();
    let mut sorted = target.to_vec();
    sorted.sort_unstable();
    let what = format!("partition {partition} on {target:?}, all in sync");
    c.wait_for(DEADLINE, &what, |c| {
        for a in &addrs {
            let (replicas, mut isr) = replicas_and_isr(a, partition)?;
            isr.sort_unstable();
            if replicas != target || isr != sorted {
                return Err(io::Error::other(format!("{a}: {replicas:?}, ISR {isr:?}")));
            }
        }
        Ok(ongoing(c)?.iter().all(|o| o.0 != partition))
    })
    .or_panic("reassignment completed");
}

/// CreateTopics with an explicit assignment (partition i on `assignment[i]`).
fn create_assigned(c: &MultiCluster, assignment: &[&[i32]]) {
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
            .with_name(name(TOPIC))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(assignments)])
        .with_timeout_ms(15_000);
    let controller = c.controller().or_panic("controller");
    let response: CreateTopicsResponse = WireClient::connect(&addr(c, controller))
        .and_then(|mut w| w.request(5, &request))
        .or_panic("CreateTopics");
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

/// SIGSTOP / SIGCONT a broker (held well under its 6 s ZooKeeper session timeout).
fn freeze(c: &mut MultiCluster, id: i32, on: bool) {
    let pid = c.broker(id).pid().or_panic("broker pid");
    signal(pid, if on { "STOP" } else { "CONT" }).or_panic("signal");
}

/// Lines of broker `id`'s log saying it deleted its replica of `TOPIC`-`partition`.
fn deletions_logged(c: &MultiCluster, id: i32, partition: i32) -> usize {
    let log = std::fs::read_to_string(broker(c, id).log_file()).unwrap_or_default();
    let p = format!("partition={partition}");
    log.lines()
        .filter(|l| l.contains("deleted replica") && l.contains(TOPIC) && l.contains(&p))
        .count()
}

/// Refusals Kafka gives, checked before anything moves.
fn check_refusals(c: &MultiCluster, ctrl: i32, other: i32) {
    let not_controller = alter_on(c, other, TOPIC, &[(0, Some(&[1, 2]))]).or_panic("alter");
    assert_eq!(
        not_controller.error_code,
        ResponseError::NotController.code()
    );
    let listed = list_on(c, other).or_panic("list");
    assert_eq!(listed.error_code, ResponseError::NotController.code());
    assert!(list_on(c, ctrl).or_panic("list").topics.is_empty());
    let invalid = ResponseError::InvalidReplicaAssignment.code();
    let codes = alter(
        c,
        TOPIC,
        &[(0, Some(&[2, 2])), (1, Some(&[1, 9])), (5, Some(&[1]))],
    );
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(codes, vec![invalid, invalid, unknown]);
    let codes = alter(c, TOPIC, &[(0, Some(&[])), (1, None)]);
    let nothing = ResponseError::NoReassignmentInProgress.code();
    assert_eq!(codes, vec![invalid, nothing]);
}

#[test]
fn reassignment_under_an_acks_all_producer() {
    let mut c = MultiCluster::start("reassign", 3, &[]).or_panic("cluster");
    let ctrl = c.controller().or_panic("controller");
    let (x, y) = match ctrl {
        1 => (2, 3),
        2 => (1, 3),
        _ => (1, 2),
    };
    create_assigned(&c, &[&[ctrl, x], &[x, y]]);
    wait_moved(&mut c, 0, &[ctrl, x]);
    wait_moved(&mut c, 1, &[x, y]);
    check_refusals(&c, ctrl, x);

    let bootstrap = c.bootstrap();
    let mut producer = SteadyProducer::start_with(
        &bootstrap,
        TOPIC,
        &[
            "--acks",
            "all",
            "--interval-ms",
            "5",
            "--max-seconds",
            "600",
        ],
    )
    .or_panic("producer");
    producer.wait_more_acks(100, DEADLINE).or_panic("acks");

    // 1. {c, x} → {x, y}: the leader may be the removed replica; its data goes.
    assert_eq!(alter(&c, TOPIC, &[(0, Some(&[x, y]))]), vec![0]);
    wait_moved(&mut c, 0, &[x, y]);
    let gone = c.broker(ctrl).partition_dir(TOPIC, 0);
    c.wait_for(DEADLINE, "the removed replica's log deleted", |_| {
        Ok(!gone.exists())
    })
    .or_panic("removed replica deleted");
    producer.wait_more_acks(100, DEADLINE).or_panic("acks");

    // 2. Replication factor 2 → 3 → 2, the second step dropping the leader.
    assert_eq!(alter(&c, TOPIC, &[(1, Some(&[x, y, ctrl]))]), vec![0]);
    wait_moved(&mut c, 1, &[x, y, ctrl]);
    producer.wait_more_acks(100, DEADLINE).or_panic("acks");
    assert_eq!(alter(&c, TOPIC, &[(1, Some(&[y, ctrl]))]), vec![0]);
    wait_moved(&mut c, 1, &[y, ctrl]);
    producer.wait_more_acks(100, DEADLINE).or_panic("acks");

    // 3. Listed while in progress; the target broker is killed mid-move and restarted.
    freeze(&mut c, x, true);
    let codes = alter(&c, TOPIC, &[(1, Some(&[ctrl, x]))]);
    let listed = ongoing(&c);
    // Metadata lists every replica, old and new, during the move (as Kafka's does).
    let full = c.wait_for(Duration::from_secs(2), "Metadata with the full set", |c| {
        Ok(replicas_and_isr(&addr(c, y), 1)?.0 == [ctrl, x, y])
    });
    freeze(&mut c, x, false);
    full.or_panic("Metadata during the move");
    assert_eq!(codes, vec![0]);
    assert_eq!(
        listed.or_panic("list"),
        vec![(1, vec![ctrl, x, y], vec![x], vec![y])],
        "replicas (target first), adding, removing"
    );
    c.broker(x).kill().or_panic("kill -9 the target");
    c.broker(x).restart().or_panic("restart the target");
    wait_moved(&mut c, 1, &[ctrl, x]);
    producer.wait_more_acks(100, DEADLINE).or_panic("acks");

    // 4. Cancelled: back to the original replicas; the added replica's log is deleted.
    let deleted_before = deletions_logged(&c, y, 1);
    freeze(&mut c, y, true);
    let started = alter(&c, TOPIC, &[(1, Some(&[ctrl, y]))]);
    let cancelled = alter(&c, TOPIC, &[(1, None)]);
    let listed = ongoing(&c);
    freeze(&mut c, y, false);
    assert_eq!((started, cancelled), (vec![0], vec![0]));
    assert!(
        listed.or_panic("list").is_empty(),
        "nothing left after the cancel"
    );
    wait_moved(&mut c, 1, &[ctrl, x]);
    c.wait_for(
        DEADLINE,
        "the cancelled replica created, then deleted",
        |c| {
            Ok(deletions_logged(c, y, 1) > deleted_before
                && !broker(c, y).partition_dir(TOPIC, 1).exists())
        },
    )
    .or_panic("cancelled replica deleted");

    // 5. Through ZooKeeper, as Kafka's old tools did: carried out, then the node goes.
    let json = format!(
        r#"{{"version":1,"partitions":[{{"topic":"{TOPIC}","partition":0,"replicas":[{y},{ctrl}],"log_dirs":["any","any"]}}]}}"#
    );
    c.zk_cli(&["create", "/admin/reassign_partitions", &json])
        .or_panic("zkCli create");
    wait_moved(&mut c, 0, &[y, ctrl]);
    c.wait_for(DEADLINE, "/admin/reassign_partitions deleted", |c| {
        Ok(!c
            .zk_ls("/admin")?
            .contains(&"reassign_partitions".to_string()))
    })
    .or_panic("znode deleted");
    producer.wait_more_acks(100, DEADLINE).or_panic("acks");

    // 6. The controller dies mid-move; the next one resumes the move.
    freeze(&mut c, x, true);
    let codes = alter(&c, TOPIC, &[(0, Some(&[y, x]))]);
    c.broker(ctrl).kill().or_panic("kill -9 the controller");
    freeze(&mut c, x, false);
    assert_eq!(codes, vec![0]);
    c.wait_for(DEADLINE, "a new controller", |c| {
        let now = c.controller()?;
        Ok(now >= 0 && now != ctrl)
    })
    .or_panic("new controller");
    wait_moved(&mut c, 0, &[y, x]);
    c.broker(ctrl)
        .restart()
        .or_panic("restart the old controller");
    wait_moved(&mut c, 1, &[ctrl, x]);

    let (acks, errors) = producer.finish(Duration::from_secs(90)).or_panic("finish");
    assert!(errors.is_empty(), "failed sends: {errors:?}");
    let bootstrap = c.bootstrap();
    let consumed = consume_all(&bootstrap, TOPIC, Duration::from_secs(5)).or_panic("consume");
    let verdict =
        check_acknowledged(&acks, &consumed, |n| format!("value-{n}")).or_panic("consistent log");
    println!("{} acknowledged; consumed {verdict:?}", acks.len());
    assert_eq!(verdict.per_partition.len(), 2);
}
