//! Requests no client would send, to a real broker, with fixed seeds so that a failure repeats:
//! valid requests mutated at random (the kinds clients send, and the controller's and other
//! brokers' requests: LeaderAndIsr, UpdateMetadata, StopReplica, ControlledShutdown), the
//! default request of every API key and version the broker serves mutated, and random bytes
//! behind a valid header for each of those, from four connections at once. Each must be
//! answered or have its connection closed. Afterwards the broker must be alive, must not have
//! panicked (a panic would only end one connection's task, so its log is checked), must still
//! serve a new topic to a real client (kcat), and must not have logged a line per request.

use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaPartitionV0, StopReplicaTopicState, StopReplicaTopicV1,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterReplicaLogDirsRequest, ApiKey, ApiVersionsRequest, BrokerId,
    ControlledShutdownRequest, CreatePartitionsRequest, CreateTopicsRequest, DeleteGroupsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, DescribeGroupsRequest,
    DescribeLogDirsRequest, FetchRequest, GroupId, HeartbeatRequest,
    IncrementalAlterConfigsRequest, InitProducerIdRequest, JoinGroupRequest, LeaderAndIsrRequest,
    LeaveGroupRequest, ListGroupsRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest, RequestHeader,
    StopReplicaRequest, SyncGroupRequest, TopicName, UpdateMetadataRequest,
};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use tests::batch::{self, Producer};
use tests::wire::{encode_frame, WireClient};
use tests::{kcat, Cluster, OrPanic};

const TOPIC: &str = "mutated";
/// Connections sending at once, and requests each sends (`MALFORMED_REQUESTS_PER_CONNECTION`
/// overrides it: 25000 sends the 100,000 of issue 21); the deadline bounds the time.
const CONNECTIONS: u64 = 4;
const ROUNDS: usize = 5000;
const DEADLINE: Duration = Duration::from_secs(120);
/// How long a request may go unanswered before its connection is dropped (a mutated long
/// poll or acks=0 produce is allowed to stay silent).
const ANSWER_WITHIN: Duration = Duration::from_millis(300);
/// Log lines the broker may write per request sent, at most. Some requests legitimately leave
/// a line or three (a mutated Metadata request auto-creating a topic of a new name); a line
/// per bad request (a closed connection, a refused controller request) would be one in two.
const LOG_LINES_PER_REQUEST: f64 = 0.1;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn frame<R: Encodable + HeaderVersion>(key: ApiKey, version: i16, request: &R) -> BytesMut {
    encode_frame(key, version, 1, Some("mutator"), request).or_panic("encode template")
}

fn topic_name(name: &str) -> TopicName {
    TopicName(s(name))
}

/// The records of the Produce template: one v2 batch of three.
fn template_records() -> Bytes {
    let records: Vec<_> = (0..3)
        .map(|i| {
            (
                Some(Bytes::from(format!("k{i}"))),
                Some(Bytes::from(vec![b'v'; 40])),
            )
        })
        .collect();
    batch::v2(Producer::PLAIN, &records)
}

/// Writes the templates as the fuzzers' starting corpus (README.md, "Fuzzing"): each request
/// frame without its size prefix into `<dir>/request/`, and the Produce records behind each
/// version selector byte into `<dir>/produce_records/`.
fn write_fuzz_seeds(dir: &Path, templates: &[BytesMut]) -> io::Result<()> {
    let requests = dir.join("request");
    let records = dir.join("produce_records");
    fs::create_dir_all(&requests)?;
    fs::create_dir_all(&records)?;
    for (i, template) in templates.iter().enumerate() {
        fs::write(requests.join(format!("template-{i:02}")), &template[4..])?;
    }
    for version in [0u8, 3, 9] {
        let mut seed = vec![version];
        seed.extend_from_slice(&template_records());
        fs::write(records.join(format!("v2-batch-produce-v{version}")), seed)?;
    }
    Ok(())
}

/// Well-formed requests of the kinds clients send to start from, each at a few versions (old,
/// middle, flexible).
fn client_templates() -> Vec<BytesMut> {
    let topic = TopicName(s(TOPIC));
    let produce = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic.clone())
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(template_records()))])]);
    let fetch = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(50)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic.clone())
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let metadata = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(topic.clone())),
    ]));
    let list_offsets = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic.clone())
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic.clone())
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])]);
    let offset_fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(topic.clone())
            .with_partition_indexes(vec![0])]));
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(""))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(&[
                0, 0, 0, 0, 0, 1, 0, 7, b'm', b'u', b't', b'a', b't', b'e', b'd', 0xff, 0xff, 0xff,
                0xff,
            ]))]);
    let heartbeat = HeartbeatRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id(1)
        .with_member_id(s("m"));
    let find = FindCoordinatorRequest::default().with_key(s("g"));
    let versions = ApiVersionsRequest::default()
        .with_client_software_name(s("mutator"))
        .with_client_software_version(s("1"));
    let init = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000);
    let mut out = Vec::new();
    for v in [2, 3, 7, 9] {
        out.push(frame(ApiKey::Produce, v, &produce));
    }
    for v in [4, 7, 11, 12] {
        out.push(frame(ApiKey::Fetch, v, &fetch));
    }
    for v in [1, 4, 9, 12] {
        out.push(frame(ApiKey::Metadata, v, &metadata));
    }
    for v in [1, 4, 7] {
        out.push(frame(ApiKey::ListOffsets, v, &list_offsets));
    }
    for v in [2, 6, 8] {
        out.push(frame(ApiKey::OffsetCommit, v, &commit));
    }
    // v8 asks for several groups, in another layout.
    for v in [1, 5, 7] {
        out.push(frame(ApiKey::OffsetFetch, v, &offset_fetch));
    }
    for v in [1, 5, 7] {
        out.push(frame(ApiKey::JoinGroup, v, &join));
    }
    for v in [1, 4] {
        out.push(frame(ApiKey::Heartbeat, v, &heartbeat));
    }
    for v in [1, 3] {
        out.push(frame(ApiKey::FindCoordinator, v, &find));
    }
    out.push(frame(ApiKey::ApiVersions, 3, &versions));
    out.push(frame(ApiKey::InitProducerId, 4, &init));
    out
}

/// xorshift64*: a fixed seed, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to three random edits of the frame's body (bytes 4..; the API key and version are
/// edited too, now and then), then the size prefix is set to the new length.
fn mutate(template: &[u8], rng: &mut Rng) -> Vec<u8> {
    const INTERESTING: [[u8; 4]; 6] = [
        [0x7f, 0xff, 0xff, 0xff],
        [0xff, 0xff, 0xff, 0xff],
        [0x80, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0x7f, 0xff],
        [0xff, 0xff, 0xff, 0x0f],
    ];
    let mut body = template[4..].to_vec();
    for _ in 0..1 + rng.below(3) {
        if body.is_empty() {
            break;
        }
        let at = rng.below(body.len());
        match rng.below(6) {
            0 => body[at] ^= 1 << rng.below(8),
            1 => {
                let value = INTERESTING[rng.below(INTERESTING.len())];
                for (i, b) in value.iter().enumerate() {
                    if let Some(slot) = body.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            2 => body.truncate(at.max(8)),
            3 => {
                let extra: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                body.splice(at..at, extra);
            }
            4 => {
                let end = (at + 1 + rng.below(8)).min(body.len());
                body.drain(at..end);
            }
            _ => body[at] = rng.next() as u8,
        }
    }
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Requests only the controller and other brokers send, each at an old and a new layout. None
/// names the controller ZooKeeper names (`controller_epoch` is the current one) together with
/// broker 1's registration, so the broker must refuse them all; obeyed, they would make broker
/// 1 follow a broker that does not exist, forget every broker and the topic, delete the
/// topic's log, and mark broker 1 as shutting down.
///
/// (A request naming the current controller epoch and carrying no broker epoch, as versions
/// before LeaderAndIsr 2, UpdateMetadata 5 and StopReplica 1 do, is obeyed: without an
/// authorizer nothing tells it from the controller's. So those versions only claim an epoch
/// ZooKeeper never gave out, a thousand above the current one, which a few edits do not turn
/// back into the current one.)
fn controller_templates(controller_epoch: i32) -> Vec<BytesMut> {
    let bogus = controller_epoch + 1000;
    // A registration that is not broker 1's (newer than it, so the broker must ask ZooKeeper).
    let other = 0x0123_4567_89ab;
    let mut out = Vec::new();
    for v in [0, 1, 2, 4, 5, 7] {
        out.push(frame(
            ApiKey::LeaderAndIsr,
            v,
            &leader_and_isr(v, bogus, -1),
        ));
    }
    for v in [2, 7] {
        let request = leader_and_isr(v, controller_epoch, other);
        out.push(frame(ApiKey::LeaderAndIsr, v, &request));
    }
    for v in [0, 4, 5, 7, 8] {
        out.push(frame(
            ApiKey::UpdateMetadata,
            v,
            &update_metadata(v, bogus, -1),
        ));
    }
    for v in [5, 8] {
        let request = update_metadata(v, controller_epoch, other);
        out.push(frame(ApiKey::UpdateMetadata, v, &request));
    }
    for v in [0, 1, 3] {
        out.push(frame(ApiKey::StopReplica, v, &stop_replica(v, bogus, -1)));
    }
    for v in [1, 3] {
        let request = stop_replica(v, controller_epoch, other);
        out.push(frame(ApiKey::StopReplica, v, &request));
    }
    for v in [1, 2, 3] {
        let shutdown = ControlledShutdownRequest::default()
            .with_broker_id(BrokerId(1))
            .with_broker_epoch(-1);
        out.push(frame(ApiKey::ControlledShutdown, v, &shutdown));
    }
    out
}

/// Broker 1 is to follow broker 2 (which does not exist) for partition 0 of [`TOPIC`].
fn leader_and_isr(version: i16, epoch: i32, broker_epoch: i64) -> LeaderAndIsrRequest {
    let state = LeaderAndIsrPartitionState::default()
        .with_partition_index(0)
        .with_controller_epoch(epoch)
        .with_leader(BrokerId(2))
        .with_leader_epoch(1000)
        .with_isr(vec![BrokerId(2), BrokerId(1)])
        .with_replicas(vec![BrokerId(2), BrokerId(1)]);
    let request = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(epoch)
        .with_live_leaders(vec![LeaderAndIsrLiveLeader::default()
            .with_broker_id(BrokerId(2))
            .with_host_name(s("127.0.0.1"))
            .with_port(9)]);
    if version < 2 {
        let state = state.with_topic_name(topic_name(TOPIC));
        return request.with_ungrouped_partition_states(vec![state]);
    }
    request
        .with_broker_epoch(broker_epoch)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(topic_name(TOPIC))
            .with_partition_states(vec![state])])
}

/// No live brokers, and [`TOPIC`] being deleted (leader -2).
fn update_metadata(version: i16, epoch: i32, broker_epoch: i64) -> UpdateMetadataRequest {
    let state = UpdateMetadataPartitionState::default()
        .with_partition_index(0)
        .with_controller_epoch(epoch)
        .with_leader(BrokerId(-2))
        .with_isr(vec![BrokerId(1)])
        .with_replicas(vec![BrokerId(1)]);
    let request = UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(epoch);
    if version < 5 {
        let state = state.with_topic_name(topic_name(TOPIC));
        return request.with_ungrouped_partition_states(vec![state]);
    }
    request
        .with_broker_epoch(broker_epoch)
        .with_topic_states(vec![UpdateMetadataTopicState::default()
            .with_topic_name(topic_name(TOPIC))
            .with_partition_states(vec![state])])
}

/// Deletes partition 0 of [`TOPIC`].
fn stop_replica(version: i16, epoch: i32, broker_epoch: i64) -> StopReplicaRequest {
    let request = StopReplicaRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(epoch);
    match version {
        0 => request
            .with_delete_partitions(true)
            .with_ungrouped_partitions(vec![StopReplicaPartitionV0::default()
                .with_topic_name(topic_name(TOPIC))
                .with_partition_index(0)]),
        1 | 2 => request
            .with_broker_epoch(broker_epoch)
            .with_delete_partitions(true)
            .with_topics(vec![StopReplicaTopicV1::default()
                .with_name(topic_name(TOPIC))
                .with_partition_indexes(vec![0])]),
        _ => request
            .with_broker_epoch(broker_epoch)
            .with_topic_states(vec![StopReplicaTopicState::default()
                .with_topic_name(topic_name(TOPIC))
                .with_partition_states(vec![StopReplicaPartitionState::default()
                    .with_partition_index(0)
                    .with_leader_epoch(-2)
                    .with_delete_partition(true)])]),
    }
}

fn default_frame<R>(key: ApiKey, version: i16) -> Option<BytesMut>
where
    R: Encodable + HeaderVersion + Default,
{
    encode_frame(key, version, 1, Some("mutator"), &R::default()).ok()
}

/// The request of `key` with every field at its default, at `version`; `None` for an API this
/// test does not know (the random bodies still cover it).
fn default_request(key: ApiKey, version: i16) -> Option<BytesMut> {
    type K = ApiKey;
    let v = version;
    match key {
        K::Produce => default_frame::<ProduceRequest>(key, v),
        K::Fetch => default_frame::<FetchRequest>(key, v),
        K::ListOffsets => default_frame::<ListOffsetsRequest>(key, v),
        K::Metadata => default_frame::<MetadataRequest>(key, v),
        K::LeaderAndIsr => default_frame::<LeaderAndIsrRequest>(key, v),
        K::StopReplica => default_frame::<StopReplicaRequest>(key, v),
        K::UpdateMetadata => default_frame::<UpdateMetadataRequest>(key, v),
        K::ControlledShutdown => default_frame::<ControlledShutdownRequest>(key, v),
        K::OffsetCommit => default_frame::<OffsetCommitRequest>(key, v),
        K::OffsetFetch => default_frame::<OffsetFetchRequest>(key, v),
        K::FindCoordinator => default_frame::<FindCoordinatorRequest>(key, v),
        K::JoinGroup => default_frame::<JoinGroupRequest>(key, v),
        K::Heartbeat => default_frame::<HeartbeatRequest>(key, v),
        K::LeaveGroup => default_frame::<LeaveGroupRequest>(key, v),
        K::SyncGroup => default_frame::<SyncGroupRequest>(key, v),
        K::DescribeGroups => default_frame::<DescribeGroupsRequest>(key, v),
        K::ListGroups => default_frame::<ListGroupsRequest>(key, v),
        K::ApiVersions => default_frame::<ApiVersionsRequest>(key, v),
        K::CreateTopics => default_frame::<CreateTopicsRequest>(key, v),
        K::DeleteTopics => default_frame::<DeleteTopicsRequest>(key, v),
        K::InitProducerId => default_frame::<InitProducerIdRequest>(key, v),
        K::OffsetForLeaderEpoch => default_frame::<OffsetForLeaderEpochRequest>(key, v),
        K::DescribeConfigs => default_frame::<DescribeConfigsRequest>(key, v),
        K::AlterConfigs => default_frame::<AlterConfigsRequest>(key, v),
        K::DescribeLogDirs => default_frame::<DescribeLogDirsRequest>(key, v),
        K::AlterReplicaLogDirs => default_frame::<AlterReplicaLogDirsRequest>(key, v),
        K::CreatePartitions => default_frame::<CreatePartitionsRequest>(key, v),
        K::DeleteGroups => default_frame::<DeleteGroupsRequest>(key, v),
        K::IncrementalAlterConfigs => default_frame::<IncrementalAlterConfigsRequest>(key, v),
        K::DescribeCluster => default_frame::<DescribeClusterRequest>(key, v),
        _ => None,
    }
}

/// Every (API key, version) the broker says it serves.
fn served(addr: &str) -> Vec<(ApiKey, i16)> {
    let mut client = WireClient::connect(addr).or_panic("connect");
    let versions = client.api_versions(3).or_panic("ApiVersions");
    versions
        .api_keys
        .iter()
        .filter_map(|a| {
            Some((
                ApiKey::try_from(a.api_key).ok()?,
                a.min_version,
                a.max_version,
            ))
        })
        .flat_map(|(key, min, max)| (min..=max).map(move |v| (key, v)))
        .collect()
}

/// A valid request header for `key` at `version`, then `len` random bytes.
fn random_body(key: ApiKey, version: i16, rng: &mut Rng) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(s("mutator")));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, key.request_header_version(version))
        .or_panic("encode header");
    let len = if rng.below(8) == 0 {
        rng.below(512)
    } else {
        rng.below(48)
    };
    body.extend((0..len).map(|_| rng.next() as u8));
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// What the connections send from.
struct Frames {
    /// Valid requests of chosen kinds (clients', the controller's, other brokers').
    chosen: Vec<BytesMut>,
    /// The default request of every API key and version served.
    defaults: Vec<BytesMut>,
    served: Vec<(ApiKey, i16)>,
}

impl Frames {
    /// Four in ten a chosen request mutated, three a default one mutated, three random.
    fn next(&self, rng: &mut Rng) -> Vec<u8> {
        match rng.below(10) {
            0..=3 => mutate(&self.chosen[rng.below(self.chosen.len())], rng),
            4..=6 => mutate(&self.defaults[rng.below(self.defaults.len())], rng),
            _ => {
                let (key, version) = self.served[rng.below(self.served.len())];
                random_body(key, version, rng)
            }
        }
    }
}

#[derive(Default, Debug)]
struct Outcomes {
    sent: usize,
    answered: usize,
    closed: usize,
    silent: usize,
}

impl Outcomes {
    fn add(&mut self, other: &Outcomes) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.closed += other.closed;
        self.silent += other.silent;
    }
}

/// Sends `frame` on `conn` (connecting first if there is none) and sees what comes back.
/// The connection is kept only if the request was answered.
fn send(
    conn: &mut Option<TcpStream>,
    addr: &str,
    frame: &[u8],
    seen: &mut Outcomes,
) -> io::Result<()> {
    let mut stream = match conn.take() {
        Some(s) => s,
        None => {
            let s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(ANSWER_WITHIN))?;
            s.set_write_timeout(Some(Duration::from_secs(10)))?;
            s
        }
    };
    seen.sent += 1;
    if stream.write_all(frame).is_err() {
        seen.closed += 1;
        return Ok(());
    }
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size) {
        Ok(()) => {
            let size = i32::from_be_bytes(size).max(0) as usize;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut body = vec![0u8; size];
            stream.read_exact(&mut body)?;
            stream.set_read_timeout(Some(ANSWER_WITHIN))?;
            seen.answered += 1;
            *conn = Some(stream);
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            seen.silent += 1;
        }
        Err(_) => seen.closed += 1,
    }
    Ok(())
}

/// One connection's share: `rounds` frames, or fewer at `deadline`. A failure to connect or
/// to read a response that had begun ends it with an error.
fn pound(
    addr: &str,
    frames: &Frames,
    (seed, rounds): (u64, usize),
    deadline: Instant,
) -> Result<Outcomes, String> {
    let mut rng = Rng(seed);
    let mut seen = Outcomes::default();
    let mut conn = None;
    while seen.sent < rounds && Instant::now() < deadline {
        let frame = frames.next(&mut rng);
        send(&mut conn, addr, &frame, &mut seen)
            .map_err(|e| format!("after {} requests: {e}", seen.sent))?;
    }
    Ok(seen)
}

fn log_lines(cluster: &Cluster) -> Vec<String> {
    let log = fs::read_to_string(cluster.broker.log_file()).or_panic("read broker log");
    log.lines().map(str::to_owned).collect()
}

/// kcat produces to `topic`, a new one, and reads the records back.
fn kcat_round_trip(addr: &str, topic: &str) {
    let timeout = Duration::from_secs(60);
    let sent: Vec<(Vec<u8>, Vec<u8>)> = (0..5)
        .map(|i| (format!("k{i}").into_bytes(), format!("v{i}").into_bytes()))
        .collect();
    kcat::produce(addr, topic, "none", &sent, timeout).or_panic("kcat produce to a new topic");
    let got = kcat::consume(addr, topic, sent.len(), timeout).or_panic("kcat consume");
    let values: Vec<Vec<u8>> = got.into_iter().filter_map(|r| r.value).collect();
    let expected: Vec<Vec<u8>> = sent.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, expected, "what kcat read back from {topic}");
}

/// The frames to send from: the chosen templates, and every served (API key, version).
fn frames(cluster: &Cluster) -> Frames {
    let addr = cluster.bootstrap();
    let out = cluster
        .zk_cli(&["get", "/controller_epoch"])
        .or_panic("zkCli get /controller_epoch");
    let controller_epoch: i32 = out
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .or_panic("the controller epoch in zkCli's output");
    let served = served(&addr);
    let mut chosen = client_templates();
    chosen.extend(controller_templates(controller_epoch));
    let defaults: Vec<BytesMut> = served
        .iter()
        .filter_map(|&(key, v)| default_request(key, v))
        .collect();
    if let Some(dir) = std::env::var_os("FUZZ_SEEDS") {
        let all: Vec<BytesMut> = chosen.iter().chain(&defaults).cloned().collect();
        write_fuzz_seeds(Path::new(&dir), &all).or_panic("write fuzz seeds");
    }
    Frames {
        chosen,
        defaults,
        served,
    }
}

/// [`CONNECTIONS`] connections at once, each with its own seed, `rounds` frames each.
fn send_from_all(cluster: &mut Cluster, frames: &Frames, rounds: usize) -> Outcomes {
    let addr = cluster.bootstrap();
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let results: Vec<Result<Outcomes, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                let addr = &addr;
                let seed = 0x9e37_79b9_7f4a_7c15 ^ (i + 1).wrapping_mul(0x2545_f491_4f6c_dd1d);
                scope.spawn(move || pound(addr, frames, (seed, rounds), deadline))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("the connection's thread panicked".into()))
            })
            .collect()
    });
    let mut seen = Outcomes::default();
    for result in &results {
        match result {
            Ok(outcomes) => seen.add(outcomes),
            Err(e) => panic!(
                "a connection failed {e} (broker running: {}):\n{}",
                cluster.broker.is_running(),
                cluster.broker.log_tail()
            ),
        }
    }
    eprintln!(
        "{:?} over {CONNECTIONS} connections: {seen:?}",
        started.elapsed()
    );
    seen
}

/// No panic in the whole log, and few lines written while the requests were sent.
fn check_log(lines: &[String], added: &[String], sent: usize) {
    let panics: Vec<&String> = lines.iter().filter(|l| l.contains("panicked")).collect();
    assert!(panics.is_empty(), "the broker panicked:\n{panics:#?}");
    let count = |text: &str| added.iter().filter(|l| l.contains(text)).count();
    eprintln!(
        "{} log lines: {} closing connection, {} refused controller requests, {} auto-created \
         topics",
        added.len(),
        count("closing connection"),
        count("refused a controller request"),
        count("auto-created topic")
    );
    let allowed = (sent as f64 * LOG_LINES_PER_REQUEST) as usize;
    assert!(
        added.len() <= allowed,
        "{} log lines for {sent} requests (at most {allowed}); the last ones:\n{}",
        added.len(),
        added[added.len().saturating_sub(40)..].join("\n")
    );
}

#[test]
fn mutated_and_random_requests_are_answered_or_closed_and_the_broker_keeps_serving() {
    let mut cluster = Cluster::start("mutated").or_panic("start cluster");
    let addr = cluster.bootstrap();
    let mut good = WireClient::connect(&addr).or_panic("connect");
    good.wait_for_leader(TOPIC, Duration::from_secs(30))
        .or_panic("topic leader");
    let frames = frames(&cluster);
    let rounds = std::env::var("MALFORMED_REQUESTS_PER_CONNECTION")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ROUNDS);
    let lines_before = log_lines(&cluster).len();

    let seen = send_from_all(&mut cluster, &frames, rounds);
    assert!(
        seen.sent >= 1000,
        "only {} requests within {DEADLINE:?}",
        seen.sent
    );
    // Both outcomes must have happened, or the mutations were too tame or too wild.
    assert!(seen.answered > 0 && seen.closed > 0, "{seen:?}");
    assert!(cluster.broker.is_running(), "{}", cluster.broker.log_tail());

    let mut after = WireClient::connect(&addr).or_panic("connect");
    assert_eq!(after.api_versions(3).or_panic("ApiVersions").error_code, 0);
    after
        .wait_for_leader(TOPIC, Duration::from_secs(10))
        .or_panic("metadata after the mutations");
    // The controller still gets through: a new topic gets a leader, and a real client uses it.
    kcat_round_trip(&addr, "after-mutations");

    let lines = log_lines(&cluster);
    let added = &lines[lines_before.min(lines.len())..];
    check_log(&lines, added, seen.sent);
}
