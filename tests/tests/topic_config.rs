//! Topic config overrides (`/config/topics/<t>`) take effect on the broker: set at creation,
//! and changed later through AlterConfigs, which reaches every broker as a `/config/changes`
//! notification: `max.message.bytes` on produce, `cleanup.policy` on every replica's retention
//! and on the leader's key check.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    AlterConfigsRequest, CreateTopicsRequest, IncrementalAlterConfigsRequest, ProduceRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tests::cluster::Cluster;
use tests::multi::MultiCluster;
use tests::wire::WireClient;
use tests::{python, OrPanic};

const TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one client script.
const SCRIPT: Duration = Duration::from_secs(90);
const TOPIC_RESOURCE: i8 = 2;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// One uncompressed batch holding a single `size`-byte value.
fn batch(size: usize) -> Bytes {
    tests::batch::one_value(size)
}

fn produce(client: &mut WireClient, topic: &str, records: Bytes) -> i16 {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let resp = client.request(8, &req).expect("produce");
    resp.responses[0].partition_responses[0].error_code
}

#[test]
fn max_message_bytes_follows_the_topic_config() {
    let cluster = Cluster::start("topicconfig").expect("cluster");
    let mut client = WireClient::connect(&cluster.bootstrap()).expect("connect");
    let topic = "limited";
    let create = CreateTopicsRequest::default()
        .with_timeout_ms(15_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(s(topic)))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![CreatableTopicConfig::default()
                .with_name(s("max.message.bytes"))
                .with_value(Some(s("2000")))])]);
    let resp = client.request(5, &create).expect("create topics");
    assert_eq!(resp.topics[0].error_code, 0, "{resp:?}");
    client.wait_for_leader(topic, TIMEOUT).expect("leader");

    // Larger than the topic's limit though well under the broker's default (1 MiB).
    assert_eq!(
        produce(&mut client, topic, batch(5000)),
        10,
        "MESSAGE_TOO_LARGE"
    );
    assert_eq!(produce(&mut client, topic, batch(100)), 0);

    let alter =
        AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(s(topic))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("max.message.bytes"))
                .with_value(Some(s("100000")))])]);
    let resp = client.request(1, &alter).expect("alter configs");
    assert_eq!(resp.responses[0].error_code, 0, "{resp:?}");

    // The change notification reaches the broker shortly after.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let code = produce(&mut client, topic, batch(5000));
        if code == 0 {
            break;
        }
        assert_eq!(code, 10);
        assert!(
            Instant::now() < deadline,
            "the new max.message.bytes never applied"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `.log` files of a partition directory, oldest first.
fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".log"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// One Produce v8 of `records` (key, value) in one plain batch to `addr`; the partition's answer.
fn produce_v8(
    addr: &str,
    topic: &str,
    acks: i16,
    records: &[(Option<&str>, &str)],
) -> PartitionProduceResponse {
    let records: Vec<(Option<Bytes>, Option<Bytes>)> = records
        .iter()
        .map(|(k, v)| {
            (
                k.map(|k| Bytes::from(k.to_string())),
                Some(Bytes::from(v.to_string())),
            )
        })
        .collect();
    let batch = tests::batch::v2(tests::batch::Producer::PLAIN, &records);
    let req = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    let mut client = WireClient::connect(addr).or_panic("connect");
    let mut resp = client.request(8, &req).or_panic("produce");
    resp.responses.remove(0).partition_responses.remove(0)
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after [`TIMEOUT`].
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Each replica's first segment file of `topic`-0, the one starting at offset 0 (retention
/// may have removed it already).
fn first_segments(c: &mut MultiCluster, topic: &str) -> Vec<PathBuf> {
    (1..=3)
        .map(|id| {
            c.broker(id)
                .partition_dir(topic, 0)
                .join(format!("{:020}.log", 0))
        })
        .collect()
}

/// Each replica's oldest segment file of `topic`-0.
fn oldest_segments(c: &mut MultiCluster, topic: &str) -> Vec<(i32, PathBuf)> {
    (1..=3)
        .map(|id| {
            let dir = c.broker(id).partition_dir(topic, 0);
            let oldest = segment_files(&dir).into_iter().next().or_panic("a segment");
            (id, dir.join(oldest))
        })
        .collect()
}

/// A topic switched from delete to compact and back with tiny segments and `retention.ms=1`:
/// every replica keeps its segments while the topic is compacted and trims them once it is
/// `compact,delete` (the change reaches each broker through `/config/changes`); while
/// compacted, records without a key are refused with INVALID_RECORD, from the wire,
/// kafka-python and confluent-kafka, and accepted again once the policy is `delete` (~10 s).
#[test]
fn cleanup_policy_switches_on_every_replica_and_compacted_topics_need_keys() {
    let mut c = MultiCluster::start("policy", 3, &[("log.retention.check.interval.ms", "100")])
        .or_panic("cluster");
    let tiny = [("segment.bytes", "1024"), ("retention.ms", "1")];
    let (topic, control) = ("switched", "trimmed");
    c.create_topic(
        topic,
        1,
        3,
        &[("cleanup.policy", "delete"), tiny[0], tiny[1]],
    )
    .or_panic("create");
    c.create_topic(control, 1, 3, &tiny)
        .or_panic("create control");
    let leader = c.partitions(topic).or_panic("leader")[&0].0;
    let leader_addr = c.broker(leader).bootstrap();
    let value = "v".repeat(100);
    let produce_keyed = |from: usize, n: usize| {
        for i in from..from + n {
            let key = format!("key-{i}");
            let r = produce_v8(
                &leader_addr,
                topic,
                -1,
                &[(Some(key.as_str()), value.as_str())],
            );
            assert_eq!(r.error_code, 0, "{r:?}");
        }
    };

    // Delete: a keyless record is fine, and retention trims what was written on every replica.
    assert_eq!(
        produce_v8(&leader_addr, topic, -1, &[(None, "no key")]).error_code,
        0
    );
    produce_keyed(0, 10);
    let first = first_segments(&mut c, topic);
    wait_until("delete policy trims every replica", || {
        first.iter().all(|f| !f.exists())
    });

    // Compact: the leader refuses keyless records once the change reached it.
    alter(
        &leader_addr,
        topic,
        &[("cleanup.policy", "compact"), tiny[0], tiny[1]],
    );
    wait_until("the leader refuses keyless records", || {
        produce_v8(&leader_addr, topic, -1, &[(None, "x")]).error_code == 87
    });
    produce_keyed(10, 30);
    let kept = oldest_segments(&mut c, topic);
    for id in 1..=3 {
        let dir = c.broker(id).partition_dir(topic, 0);
        assert!(
            segment_files(&dir).len() > 2,
            "broker {id}: {:?}",
            segment_files(&dir)
        );
    }
    // Retention passes that trim the control topic, written after, ran over the compacted
    // topic's segments too: they must all still be there.
    let control_addr = c
        .broker(c.partitions(control).or_panic("leader")[&0].0)
        .bootstrap();
    for i in 0..10 {
        let r = produce_v8(
            &control_addr,
            control,
            -1,
            &[(None, &format!("{i}{value}"))],
        );
        assert_eq!(r.error_code, 0, "{r:?}");
    }
    let control_first = first_segments(&mut c, control);
    wait_until("the control topic is trimmed on every replica", || {
        control_first.iter().all(|f| !f.exists())
    });
    for (id, file) in &kept {
        assert!(
            file.exists(),
            "broker {id} trimmed the compacted topic: {}",
            file.display()
        );
    }

    check_keyless_refusals(&mut c, topic, leader);

    // compact,delete (APPEND): retention trims every replica, keys are still required.
    incremental_alter(&leader_addr, topic, &[("cleanup.policy", 2, "delete")]);
    wait_until("compact,delete trims every replica", || {
        kept.iter().all(|(_, f)| !f.exists())
    });
    assert_eq!(
        produce_v8(&leader_addr, topic, -1, &[(None, "no key")]).error_code,
        87
    );
    // Back to delete (SUBTRACT): records without keys are welcome again.
    incremental_alter(&leader_addr, topic, &[("cleanup.policy", 3, "compact")]);
    wait_until("the leader takes keyless records again", || {
        produce_v8(&leader_addr, topic, -1, &[(None, "no key")]).error_code == 0
    });
}

/// While `topic` is compacted: the wire's record errors, a follower's answer, and both
/// clients' per-record errors.
fn check_keyless_refusals(c: &mut MultiCluster, topic: &str, leader: i32) {
    let leader_addr = c.broker(leader).bootstrap();
    let r = produce_v8(
        &leader_addr,
        topic,
        1,
        &[(Some("a"), "1"), (None, "2"), (None, "3")],
    );
    assert_eq!((r.error_code, r.base_offset), (87, -1), "{r:?}");
    let message =
        format!("Compacted topic cannot accept message without key in topic partition {topic}-0");
    let errors: Vec<(i32, Option<&str>)> = r
        .record_errors
        .iter()
        .map(|e| (e.batch_index, e.batch_index_error_message.as_deref()))
        .collect();
    assert_eq!(
        errors,
        [(1, Some(message.as_str())), (2, Some(message.as_str()))]
    );
    assert_eq!(
        r.error_message.as_deref(),
        Some(format!("One or more records have been rejected due to 2 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='{message}'), RecordError(batchIndex=2, message='{message}')]").as_str())
    );
    // The key is the leader's check: a follower answers as it answers any produce.
    let follower = if leader == 1 { 2 } else { 1 };
    let r = produce_v8(&c.broker(follower).bootstrap(), topic, 1, &[(None, "x")]);
    assert_eq!(r.error_code, 6, "NOT_LEADER_OR_FOLLOWER: {r:?}");

    let bootstrap = c.bootstrap();
    let args = ["--bootstrap", bootstrap.as_str(), "--topic", topic];
    // Uncompressed and gzip with either client, and the 0.10 protocol (v1 message sets).
    for script in ["kp_keyless.py", "ck_keyless.py"] {
        let lines = python::run_json(script, &args, SCRIPT).or_panic(script);
        let producers: std::collections::BTreeSet<&str> = lines
            .iter()
            .filter_map(|l| l["producer"].as_str())
            .collect();
        assert!(producers.len() >= 2, "{script}: {lines:?}");
        for line in &lines {
            println!("{script}: {line}");
            let case = line["case"].as_str().or_panic("case");
            let ok = case == "keyed" || case == "after";
            assert_eq!(line["ok"], ok, "{script}: {line}");
            if ok {
                continue;
            }
            // kafka-python reads Produce v8+ record errors: the keyless records get Kafka's
            // message, the keyed ones of their batch a note that the batch failed. librdkafka
            // and the 0.10 protocol fail the whole batch with INVALID_RECORD.
            let expected = match (script, line["producer"].as_str()) {
                ("kp_keyless.py", Some("0.10")) => "InvalidRecordError",
                ("kp_keyless.py", _) if case.ends_with("keyless") => message.as_str(),
                ("kp_keyless.py", _) => "part of a batch which had one more more invalid records",
                _ => "INVALID_RECORD",
            };
            let error = line["error"].as_str().unwrap_or_default();
            assert!(error.contains(expected), "{script}: {line}");
        }
    }
}

fn alter(addr: &str, topic: &str, configs: &[(&str, &str)]) {
    let alter =
        AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(s(topic))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            )]);
    let resp = WireClient::connect(addr)
        .or_panic("connect")
        .request(1, &alter)
        .or_panic("alter");
    assert_eq!(resp.responses[0].error_code, 0, "{resp:?}");
}

fn incremental_alter(addr: &str, topic: &str, ops: &[(&str, i8, &str)]) {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(s(topic))
            .with_configs(
                ops.iter()
                    .map(|(k, op, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(*op)
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            ),
    ]);
    let resp = WireClient::connect(addr)
        .or_panic("connect")
        .request(1, &req)
        .or_panic("alter");
    assert_eq!(resp.responses[0].error_code, 0, "{resp:?}");
}
