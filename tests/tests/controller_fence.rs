//! Controller requests from an ordinary client connection (issue 21): LeaderAndIsr,
//! UpdateMetadata and StopReplica that do not name the controller ZooKeeper names, or that
//! name another registration of the broker, are answered STALE_CONTROLLER_EPOCH (11) or
//! STALE_BROKER_EPOCH (77) and change nothing; ControlledShutdown without the broker's current
//! epoch is refused. Afterwards kcat (the client that showed the bug: its produce to a new
//! topic timed out) still produces to and consumes from a new topic, and the broker's log holds
//! one warning for the lot.

use std::time::Duration;

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState, StopReplicaTopicV1,
};
use kafka_protocol::messages::{
    BrokerId, ControlledShutdownRequest, LeaderAndIsrRequest, StopReplicaRequest, TopicName,
    UpdateMetadataRequest,
};
use kafka_protocol::protocol::StrBytes;
use tests::wire::WireClient;
use tests::{kcat, Cluster, OrPanic};

const STALE_CONTROLLER_EPOCH: i16 = 11;
const STALE_BROKER_EPOCH: i16 = 77;
const KEPT: &str = "kept";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

fn topic(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// What a forged request claims: controller id, controller epoch, broker epoch.
type Claim = (i32, i32, i64);

/// Makes broker 1 the leader of a topic that does not exist, at a high leader epoch.
fn leader_and_isr((id, epoch, broker_epoch): Claim) -> LeaderAndIsrRequest {
    let state = LeaderAndIsrPartitionState::default()
        .with_partition_index(0)
        .with_controller_epoch(epoch)
        .with_leader(BrokerId(1))
        .with_leader_epoch(1_000)
        .with_isr(vec![BrokerId(1)])
        .with_replicas(vec![BrokerId(1)])
        .with_is_new(true);
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(id))
        .with_controller_epoch(epoch)
        .with_broker_epoch(broker_epoch)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(topic("forged"))
            .with_partition_states(vec![state])])
}

/// No live brokers and no partitions: obeyed, the broker would know of no broker at all.
fn update_metadata((id, epoch, broker_epoch): Claim) -> UpdateMetadataRequest {
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(id))
        .with_controller_epoch(epoch)
        .with_broker_epoch(broker_epoch)
}

/// Deletes partition 0 of [`KEPT`], in the layout of `version` (1-2 or 3).
fn stop_replica((id, epoch, broker_epoch): Claim, version: i16) -> StopReplicaRequest {
    let request = StopReplicaRequest::default()
        .with_controller_id(BrokerId(id))
        .with_controller_epoch(epoch)
        .with_broker_epoch(broker_epoch);
    if version < 3 {
        return request.with_delete_partitions(true).with_topics(vec![
            StopReplicaTopicV1::default()
                .with_name(topic(KEPT))
                .with_partition_indexes(vec![0]),
        ]);
    }
    request.with_topic_states(vec![StopReplicaTopicState::default()
        .with_topic_name(topic(KEPT))
        .with_partition_states(vec![StopReplicaPartitionState::default()
            .with_partition_index(0)
            .with_leader_epoch(-2)
            .with_delete_partition(true)])])
}

/// The three forged requests, each at an old and at the newest version; returns the error
/// codes they got.
fn forge(addr: &str, claim: Claim) -> Vec<(String, i16)> {
    let mut client = WireClient::connect(addr).or_panic("connect");
    let mut codes = Vec::new();
    for v in [2, 7] {
        let resp = client.request(v, &leader_and_isr(claim));
        let code = resp.or_panic("LeaderAndIsr").error_code;
        codes.push((format!("LeaderAndIsr v{v} {claim:?}"), code));
    }
    for v in [5, 8] {
        let resp = client.request(v, &update_metadata(claim));
        let code = resp.or_panic("UpdateMetadata").error_code;
        codes.push((format!("UpdateMetadata v{v} {claim:?}"), code));
    }
    for v in [1, 3] {
        let resp = client.request(v, &stop_replica(claim, v));
        let code = resp.or_panic("StopReplica").error_code;
        codes.push((format!("StopReplica v{v} {claim:?}"), code));
    }
    codes
}

/// The first number on a line of zkCli output that is only a number.
fn zk_number(c: &Cluster, path: &str) -> i64 {
    let out = c.zk_cli(&["get", path]).or_panic("zkCli get");
    out.lines()
        .find_map(|l| l.trim().parse().ok())
        .or_panic("a number in zkCli output")
}

/// The broker's epoch: the czxid of its registration.
fn broker_epoch(c: &Cluster) -> i64 {
    let out = c.zk_cli(&["stat", "/brokers/ids/1"]).or_panic("zkCli stat");
    let hex = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("cZxid = 0x"))
        .or_panic("cZxid in zkCli output");
    i64::from_str_radix(hex.trim(), 16).or_panic("cZxid")
}

fn records(prefix: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..5)
        .map(|i| {
            (
                format!("k{i}").into_bytes(),
                format!("{prefix}-{i}").into_bytes(),
            )
        })
        .collect()
}

/// kcat produces to `topic` (auto-creating it) and reads the records back.
fn round_trip(addr: &str, topic: &str) {
    let sent = records(topic);
    kcat::produce(addr, topic, "none", &sent, CLIENT_TIMEOUT).or_panic("kcat produce");
    let got = kcat::consume(addr, topic, sent.len(), CLIENT_TIMEOUT).or_panic("kcat consume");
    let values: Vec<Vec<u8>> = got.into_iter().filter_map(|r| r.value).collect();
    let expected: Vec<Vec<u8>> = sent.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, expected, "records of {topic}");
}

#[test]
fn forged_controller_requests_are_refused_and_change_nothing() {
    let c = Cluster::start("fence").or_panic("start cluster");
    let addr = c.bootstrap();
    round_trip(&addr, KEPT);
    let controller = zk_number(&c, "/controller_epoch") as i32;
    let mine = broker_epoch(&c);
    let forged: [(Claim, i16); 7] = [
        // A huge controller epoch, with and without our registration.
        ((1, i32::MAX, -1), STALE_CONTROLLER_EPOCH),
        ((1, i32::MAX, mine), STALE_CONTROLLER_EPOCH),
        // One more than ZooKeeper's epoch: a controller not elected (yet).
        ((1, controller + 1, -1), STALE_CONTROLLER_EPOCH),
        // The current epoch from a broker that is not the controller, and an older epoch.
        ((7, controller, -1), STALE_CONTROLLER_EPOCH),
        ((1, controller - 1, -1), STALE_CONTROLLER_EPOCH),
        // The real controller, for a registration that is not ours: older, and newer.
        ((1, controller, mine - 1), STALE_BROKER_EPOCH),
        ((1, controller, mine + 1_000), STALE_BROKER_EPOCH),
    ];
    for (claim, expected) in forged {
        for (what, code) in forge(&addr, claim) {
            assert_eq!(code, expected, "{what}");
        }
    }

    // Nothing changed: the broker still lists itself, has no "forged" partition, and the
    // records of KEPT are all there.
    let mut client = WireClient::connect(&addr).or_panic("connect");
    let metadata = client.metadata_all().or_panic("Metadata");
    assert_eq!(metadata.brokers.len(), 1, "{metadata:?}");
    assert_eq!(metadata.controller_id.0, 1);
    assert!(!c.broker.partition_dir("forged", 0).exists());
    let kept = kcat::consume(&addr, KEPT, 5, CLIENT_TIMEOUT).or_panic("kcat consume");
    assert_eq!(kept.len(), 5, "{kept:?}");

    // The real controller is still obeyed: a new topic gets its leader.
    round_trip(&addr, "after-forgeries");

    // One warning for the 42 refusals (the rest within its interval are counted).
    let log = std::fs::read_to_string(c.broker.log_file()).or_panic("broker log");
    let warnings = log
        .lines()
        .filter(|l| l.contains("refused a controller request"))
        .count();
    assert_eq!(warnings, 1, "refusal warnings in the log");
}

/// A ControlledShutdown naming the controller's own broker, without its broker epoch (v1 has
/// none) or with a wrong one, is refused: accepted, it would leave broker 1 marked as shutting
/// down, so that no new partition could get a leader.
#[test]
fn controlled_shutdown_without_the_current_broker_epoch_is_refused() {
    let c = Cluster::start("fence-shutdown").or_panic("start cluster");
    let addr = c.bootstrap();
    round_trip(&addr, "before-shutdown-requests");
    let mine = broker_epoch(&c);
    let mut client = WireClient::connect(&addr).or_panic("connect");
    for (version, epoch) in [(1, -1), (2, -1), (3, -1), (3, mine - 1), (3, mine + 1)] {
        let request = ControlledShutdownRequest::default()
            .with_broker_id(BrokerId(1))
            .with_broker_epoch(epoch);
        let resp = client
            .request(version, &request)
            .or_panic("ControlledShutdown");
        assert_eq!(
            resp.error_code, STALE_BROKER_EPOCH,
            "ControlledShutdown v{version} with broker epoch {epoch}"
        );
    }
    round_trip(&addr, "after-shutdown-requests");
}
