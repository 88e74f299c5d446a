//! Valid requests of the kinds clients send, mutated at random (a fixed seed, so a failure
//! repeats) and sent to a real broker. Each must be answered or have its connection closed,
//! and the broker must neither die nor panic (a panic would only end one connection's task,
//! so the broker's log is checked for one).

use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, BrokerId, FetchRequest, GroupId, HeartbeatRequest,
    InitProducerIdRequest, JoinGroupRequest, ListOffsetsRequest, MetadataRequest,
    OffsetCommitRequest, OffsetFetchRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use tests::batch::{self, Producer};
use tests::wire::{encode_frame, WireClient};
use tests::{Cluster, OrPanic};

const TOPIC: &str = "mutated";
/// How many mutated requests are sent, at most; the deadline below bounds the time.
const ROUNDS: usize = 3000;
const DEADLINE: Duration = Duration::from_secs(120);
/// How long a request may go unanswered before its connection is dropped (a mutated long
/// poll or acks=0 produce is allowed to stay silent).
const ANSWER_WITHIN: Duration = Duration::from_millis(300);

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn frame<R: Encodable + HeaderVersion>(key: ApiKey, version: i16, request: &R) -> BytesMut {
    encode_frame(key, version, 1, Some("mutator"), request).or_panic("encode template")
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

/// Well-formed requests to start from, each at a few versions (old, middle, flexible).
fn templates() -> Vec<BytesMut> {
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

#[derive(Default, Debug)]
struct Outcomes {
    answered: usize,
    closed: usize,
    silent: usize,
}

/// Sends `frame` on `conn` (connecting first if there is none) and sees what comes back.
/// The connection is kept only if the request was answered.
fn send(conn: &mut Option<TcpStream>, addr: &str, frame: &[u8], seen: &mut Outcomes) {
    let mut stream = match conn.take() {
        Some(s) => s,
        None => {
            let s = TcpStream::connect(addr).or_panic("connect");
            s.set_read_timeout(Some(ANSWER_WITHIN)).or_panic("timeout");
            s.set_write_timeout(Some(Duration::from_secs(10)))
                .or_panic("timeout");
            s
        }
    };
    if stream.write_all(frame).is_err() {
        seen.closed += 1;
        return;
    }
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size) {
        Ok(()) => {
            let size = i32::from_be_bytes(size).max(0) as usize;
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .or_panic("timeout");
            let mut body = vec![0u8; size];
            stream
                .read_exact(&mut body)
                .or_panic("a response cut short");
            stream
                .set_read_timeout(Some(ANSWER_WITHIN))
                .or_panic("timeout");
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
}

#[test]
fn mutated_requests_are_answered_or_closed_and_the_broker_survives() {
    let mut cluster = Cluster::start("mutated").or_panic("start cluster");
    let addr = cluster.bootstrap();
    let mut good = WireClient::connect(&addr).or_panic("connect");
    good.wait_for_leader(TOPIC, Duration::from_secs(30))
        .or_panic("topic leader");
    let templates = templates();
    if let Some(dir) = std::env::var_os("FUZZ_SEEDS") {
        write_fuzz_seeds(Path::new(&dir), &templates).or_panic("write fuzz seeds");
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen = Outcomes::default();
    let mut conn = None;
    let started = Instant::now();
    let mut sent = 0;
    while sent < ROUNDS && started.elapsed() < DEADLINE {
        let template = &templates[rng.below(templates.len())];
        send(&mut conn, &addr, &mutate(template, &mut rng), &mut seen);
        sent += 1;
        if sent % 250 == 0 {
            assert!(
                cluster.broker.is_running(),
                "the broker died after {sent} mutated requests:\n{}",
                cluster.broker.log_tail()
            );
        }
    }
    eprintln!(
        "{sent} mutated requests in {:?}: {seen:?}",
        started.elapsed()
    );
    assert!(sent >= 200, "only {sent} requests within {DEADLINE:?}");
    // Both outcomes must have happened, or the mutations were too tame or too wild.
    assert!(seen.answered > 0 && seen.closed > 0, "{seen:?}");
    assert!(cluster.broker.is_running(), "{}", cluster.broker.log_tail());
    let mut after = WireClient::connect(&addr).or_panic("connect");
    assert_eq!(after.api_versions(3).or_panic("ApiVersions").error_code, 0);
    after
        .wait_for_leader(TOPIC, Duration::from_secs(10))
        .or_panic("metadata after the mutations");
    let log = std::fs::read_to_string(cluster.broker.log_file()).or_panic("read broker log");
    let panics: Vec<&str> = log.lines().filter(|l| l.contains("panicked")).collect();
    assert!(
        panics.is_empty(),
        "the broker panicked:\n{}",
        panics.join("\n")
    );
}
