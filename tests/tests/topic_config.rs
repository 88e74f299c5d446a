//! Topic config overrides (`/config/topics/<t>`) take effect on the broker: set at creation,
//! and changed later through AlterConfigs, which reaches the broker as a `/config/changes`
//! notification.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AlterConfigsRequest, CreateTopicsRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tests::cluster::Cluster;
use tests::wire::WireClient;

const TIMEOUT: Duration = Duration::from_secs(30);
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
