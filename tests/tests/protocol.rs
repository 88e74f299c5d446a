//! Exact-bytes tests over the Kafka protocol against a real broker: idempotent retries,
//! and bad input (garbage, oversized frames, unknown APIs, bad topic names, corrupt and
//! oversized batches) answered per Kafka's rules while a well-behaved client keeps working.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, BrokerId, FetchRequest, FetchResponse, InitProducerIdRequest,
    ListOffsetsRequest, MetadataRequest, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tests::batch::{self, Producer};
use tests::cluster::Cluster;
use tests::wire::WireClient;

const TIMEOUT: Duration = Duration::from_secs(30);

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// A v2 batch of `count` records from an idempotent producer.
fn idempotent_batch(producer_id: i64, epoch: i16, first_seq: i32, count: i32) -> Bytes {
    let records: Vec<_> = (first_seq..first_seq + count)
        .map(|n| {
            (
                Some(Bytes::from(format!("k{n}"))),
                Some(Bytes::from(format!("v{n}"))),
            )
        })
        .collect();
    let producer = Producer {
        id: producer_id,
        epoch,
        first_sequence: first_seq,
    };
    batch::v2(producer, &records)
}

/// A Produce of `records` to partition 0 of `topic`.
fn produce_request(topic: &str, acks: i16, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])])
}

/// A consumer's Fetch of partition 0 of `topic` from offset 0, up to `max_bytes` (for the
/// partition and the response alike).
fn fetch_request(topic: &str, max_wait_ms: i32, max_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_max_bytes(max_bytes)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(max_bytes)])])
}

fn produce(client: &mut WireClient, topic: &str, records: Bytes) -> (i16, i64) {
    let req = produce_request(topic, -1, records);
    let resp: ProduceResponse = client.request(8, &req).expect("produce");
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn latest_offset(client: &mut WireClient, topic: &str) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let resp = client.request(5, &req).expect("list offsets");
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0, "list offsets error");
    p.offset
}

fn init_producer(client: &mut WireClient) -> (i64, i16) {
    let resp = client
        .request(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000),
        )
        .expect("init producer id");
    assert_eq!(resp.error_code, 0, "InitProducerId error");
    (resp.producer_id.0, resp.producer_epoch)
}

#[test]
fn idempotent_retries_are_stored_once_also_after_restart() {
    let mut cluster = Cluster::start("idempotence").expect("cluster");
    let topic = "idem";
    let mut client = WireClient::connect(&cluster.bootstrap()).expect("connect");
    client.wait_for_leader(topic, TIMEOUT).expect("leader");
    let (pid, epoch) = init_producer(&mut client);
    assert!(pid >= 0);

    let first = idempotent_batch(pid, epoch, 0, 3);
    assert_eq!(produce(&mut client, topic, first.clone()), (0, 0));
    // The same batch again (a retry): same offset back, nothing written twice.
    assert_eq!(produce(&mut client, topic, first.clone()), (0, 0));
    assert_eq!(latest_offset(&mut client, topic), 3);

    // A gap in the sequence is refused.
    let (code, _) = produce(&mut client, topic, idempotent_batch(pid, epoch, 10, 1));
    assert_eq!(code, 45, "expected OUT_OF_ORDER_SEQUENCE_NUMBER");

    drop(client);
    cluster.broker.restart().expect("restart");
    let mut client = WireClient::connect(&cluster.bootstrap()).expect("reconnect");
    client.wait_for_leader(topic, TIMEOUT).expect("leader");
    // Producer state is rebuilt from the log: the retry is still recognised.
    assert_eq!(produce(&mut client, topic, first), (0, 0));
    assert_eq!(
        produce(&mut client, topic, idempotent_batch(pid, epoch, 3, 2)),
        (0, 3)
    );
    assert_eq!(latest_offset(&mut client, topic), 5);
    // An older epoch is fenced.
    if epoch > 0 {
        let (code, _) = produce(&mut client, topic, idempotent_batch(pid, epoch - 1, 5, 1));
        assert_eq!(code, 47, "expected INVALID_PRODUCER_EPOCH");
    }
}

/// Requests pipelined on one connection: a long-poll Fetch does not hold up the Produce behind
/// it (the fetch is woken by that very produce), and the answers come back in request order.
#[test]
fn a_long_poll_does_not_block_the_requests_behind_it() {
    let cluster = Cluster::start("pipelining").expect("cluster");
    let topic = "pipe";
    let mut client = WireClient::connect(&cluster.bootstrap()).expect("connect");
    client.wait_for_leader(topic, TIMEOUT).expect("leader");

    let fetch = fetch_request(topic, 8_000, 1 << 20).with_min_bytes(1);
    let fetch_id = client.pipeline(4, &fetch).expect("send fetch");
    let records = batch::v2(
        Producer::PLAIN,
        &[(None, Some(Bytes::from_static(b"behind")))],
    );
    let produce = produce_request(topic, 1, records);
    let produce_id = client.pipeline(8, &produce).expect("send produce");
    let versions_id = client
        .pipeline(0, &ApiVersionsRequest::default())
        .expect("send api versions");

    // Each answer is checked to carry the expected correlation id: request order.
    let fetched: FetchResponse = client
        .answer::<FetchRequest>(4, fetch_id)
        .expect("fetch answer");
    let partition = &fetched.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    let got = partition.records.as_ref().map_or(0, |r| r.len());
    assert!(
        got > 0,
        "the fetch should have been woken by the produce sent behind it, got {got} bytes"
    );
    let produced = client
        .answer::<ProduceRequest>(8, produce_id)
        .expect("produce answer");
    let p = &produced.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let versions = client
        .answer::<ApiVersionsRequest>(0, versions_id)
        .expect("api versions answer");
    assert_eq!(versions.error_code, 0);
}

/// A fetch larger than the broker reads into memory (4 MiB) is sent from the segment file
/// with sendfile; what arrives is byte for byte what was produced, in order, at a pre-flexible
/// and two flexible Fetch versions.
#[test]
fn a_large_fetch_is_sent_from_the_log_byte_for_byte() {
    let cluster = Cluster::start("bigfetch").expect("cluster");
    let topic = "big";
    let mut client = WireClient::connect(&cluster.bootstrap()).expect("connect");
    client.wait_for_leader(topic, TIMEOUT).expect("leader");
    // Six batches of ~900 KB, each with its own fill byte: 5.4 MB in one partition.
    let batches: Vec<Bytes> = (0..6u8)
        .map(|i| {
            batch::v2(
                Producer::PLAIN,
                &[(None, Some(Bytes::from(vec![b'a' + i; 900_000])))],
            )
        })
        .collect();
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(produce(&mut client, topic, b.clone()), (0, i as i64));
    }
    for version in [4, 11, 12] {
        let fetch = fetch_request(topic, 0, 16 << 20);
        let resp: FetchResponse = client.request(version, &fetch).expect("fetch");
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "v{version}");
        let got = p.records.clone().unwrap_or_default();
        let stored: Vec<u8> = batches.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(
            got.len(),
            stored.len(),
            "v{version}: whole log in one answer"
        );
        // Stored batches differ from the produced ones only in the patched base offset,
        // leader epoch and CRC (the header's first 21 bytes); the records are as sent.
        let mut at = 0;
        for (i, b) in batches.iter().enumerate() {
            let stored = &got[at..at + b.len()];
            assert_eq!(
                &stored[0..8],
                &(i as i64).to_be_bytes(),
                "v{version} batch {i}"
            );
            assert_eq!(&stored[21..], &b[21..], "v{version} batch {i}");
            at += b.len();
        }
    }
    // The connection is still in step after the large answers.
    assert_eq!(client.api_versions(0).expect("api versions").error_code, 0);
}

/// A second client keeps getting answers while others misbehave.
fn assert_healthy(good: &mut WireClient) {
    let resp = good.api_versions(3).expect("healthy client: api versions");
    assert_eq!(resp.error_code, 0);
}

/// The partitions a Fetch response answers, as (topic, partition, records length).
fn answered(resp: &FetchResponse) -> Vec<(String, i32, usize)> {
    resp.responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                let len = p.records.as_ref().map_or(0, |r| r.len());
                (t.topic.0.to_string(), p.partition_index, len)
            })
        })
        .collect()
}

/// KIP-227 incremental fetch sessions: a full fetch opens one, later fetches name only what
/// changed and get only partitions with news, and bad ids and epochs get Kafka's errors.
#[test]
fn an_incremental_fetch_session_answers_only_what_changed() {
    let cluster = Cluster::start("fetch-session").expect("cluster");
    let mut client = WireClient::connect(&cluster.bootstrap()).expect("connect");
    for topic in ["sa", "sb"] {
        client.wait_for_leader(topic, TIMEOUT).expect("leader");
    }
    let one = || batch::v2(Producer::PLAIN, &[(None, Some(Bytes::from_static(b"x")))]);
    assert_eq!(produce(&mut client, "sa", one()).0, 0);
    let session = |id: i32, epoch: i32| {
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(300)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_id(id)
            .with_session_epoch(epoch)
    };
    let partition = |offset: i64| {
        FetchPartition::default()
            .with_partition(0)
            .with_fetch_offset(offset)
            .with_partition_max_bytes(1 << 20)
    };
    let topic = |name: &str, offset: i64| {
        FetchTopic::default()
            .with_topic(topic_name(name))
            .with_partitions(vec![partition(offset)])
    };

    // Epoch 0 opens a session: every partition is answered.
    let full = session(0, 0).with_topics(vec![topic("sa", 0), topic("sb", 0)]);
    let resp: FetchResponse = client.request(12, &full).expect("full fetch");
    assert_eq!(resp.error_code, 0);
    let id = resp.session_id;
    assert_ne!(id, 0, "a session was opened");
    let got = answered(&resp);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter().any(|(t, _, len)| t == "sa" && *len > 0),
        "{got:?}"
    );

    // Epoch 1 moves sa on past its record: nothing new anywhere, so the long poll runs to
    // its end and answers no partition.
    let resp: FetchResponse = client
        .request(12, &session(id, 1).with_topics(vec![topic("sa", 1)]))
        .expect("incremental fetch");
    assert_eq!((resp.error_code, resp.session_id), (0, id));
    assert_eq!(answered(&resp), vec![], "nothing changed");

    // A record in sb: only sb is answered, although the request names no partition.
    assert_eq!(produce(&mut client, "sb", one()).0, 0);
    let resp: FetchResponse = client
        .request(12, &session(id, 2))
        .expect("incremental fetch");
    let got = answered(&resp);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].1), ("sb", 0));
    assert!(got[0].2 > 0, "with its record");

    // An epoch out of step, and an unknown session.
    let resp: FetchResponse = client.request(12, &session(id, 2)).expect("fetch");
    assert_eq!(resp.error_code, 71, "INVALID_FETCH_SESSION_EPOCH");
    assert!(resp.responses.is_empty());
    let resp: FetchResponse = client
        .request(12, &session(id.wrapping_add(1), 1))
        .expect("fetch");
    assert_eq!(resp.error_code, 70, "FETCH_SESSION_ID_NOT_FOUND");

    // Epoch -1 closes the session; that fetch is answered in full, without a session.
    let resp: FetchResponse = client
        .request(12, &session(id, -1).with_topics(vec![topic("sa", 0)]))
        .expect("closing fetch");
    assert_eq!((resp.error_code, resp.session_id), (0, 0));
    assert_eq!(answered(&resp).len(), 1);
    let resp: FetchResponse = client.request(12, &session(id, 3)).expect("fetch");
    assert_eq!(resp.error_code, 70, "closed sessions are gone");
    assert_healthy(&mut client);
}

#[test]
fn bad_input_gets_kafka_errors_and_others_keep_working() {
    let cluster =
        Cluster::start_with("badinput", &[("message.max.bytes", "2000")]).expect("cluster");
    let addr = cluster.bootstrap();
    let mut good = WireClient::connect(&addr).expect("connect");
    good.wait_for_leader("fine", TIMEOUT).expect("leader");

    // Garbage: a frame that is not a request header the broker can parse.
    let mut bad = WireClient::connect(&addr).expect("connect");
    bad.send_raw(&[0, 0, 0, 6, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01])
        .expect("send");
    assert!(
        bad.is_closed_by_peer(Duration::from_secs(5)).expect("read"),
        "garbage must close"
    );
    assert_healthy(&mut good);

    // A length prefix far above socket.request.max.bytes: closed before allocating.
    let mut bad = WireClient::connect(&addr).expect("connect");
    bad.send_raw(&[0x7f, 0xff, 0xff, 0xff, 0, 0]).expect("send");
    assert!(
        bad.is_closed_by_peer(Duration::from_secs(5)).expect("read"),
        "oversized must close"
    );
    assert_healthy(&mut good);

    // An unknown API key.
    let mut bad = WireClient::connect(&addr).expect("connect");
    bad.send_raw(&[0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff])
        .expect("send");
    assert!(
        bad.is_closed_by_peer(Duration::from_secs(5)).expect("read"),
        "unknown api must close"
    );
    assert_healthy(&mut good);

    // ApiVersions with a version from the future: answered in v0 with UNSUPPORTED_VERSION.
    let mut newer = WireClient::connect(&addr).expect("connect");
    let resp: kafka_protocol::messages::ApiVersionsResponse = {
        newer
            .send_raw(&[0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 7, 0xff, 0xff])
            .expect("send");
        let mut frame = newer.read_frame().expect("frame");
        let header = <kafka_protocol::messages::ResponseHeader as kafka_protocol::protocol::Decodable>::decode(&mut frame, 0).expect("header");
        assert_eq!(header.correlation_id, 7);
        <kafka_protocol::messages::ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut frame, 0).expect("body")
    };
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16));

    // An invalid topic name.
    let req = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(topic_name("bad topic!")))
    ]));
    let resp = good.request(9, &req).expect("metadata");
    assert_eq!(resp.topics[0].error_code, 17, "INVALID_TOPIC_EXCEPTION");

    // A corrupt batch (one flipped byte inside the CRC'd part).
    let mut corrupt = BytesMut::from(&idempotent_batch(-1, -1, -1, 2)[..]);
    let at = corrupt.len() - 3;
    corrupt[at] ^= 0x55;
    assert_eq!(
        produce(&mut good, "fine", corrupt.freeze()).0,
        2,
        "CORRUPT_MESSAGE"
    );

    // A batch larger than message.max.bytes.
    let buf = batch::one_value(5000);
    assert_eq!(produce(&mut good, "fine", buf).0, 10, "MESSAGE_TOO_LARGE");

    // And after all that, the good client still produces.
    let (code, offset) = produce(&mut good, "fine", idempotent_batch(-1, -1, -1, 1));
    assert_eq!((code, offset), (0, 0));
    assert_healthy(&mut good);
}
