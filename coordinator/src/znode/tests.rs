//! Znode formats checked against the examples in Kafka's docs and sources.

use super::*;

fn value(data: &[u8]) -> Value {
    serde_json::from_slice(data).unwrap()
}

#[test]
fn cluster_id_round_trip_and_string_version() {
    let data = br#"{"version":"1","id":"q3Wz8kQ2T0mY1vB7xR9sLg"}"#;
    let node = ClusterIdZNode::decode(data).unwrap();
    assert_eq!(node.id, "q3Wz8kQ2T0mY1vB7xR9sLg");
    assert_eq!(value(&node.encode()), value(data));
}

#[test]
fn controller_v1_and_v2() {
    let data = br#"{"version":1,"brokerid":2,"timestamp":"1700000123456"}"#;
    let node = ControllerZNode::decode(data).unwrap();
    assert_eq!(
        node,
        ControllerZNode {
            broker_id: 2,
            timestamp: 1_700_000_123_456
        }
    );
    assert_eq!(value(&node.encode()), value(data));
    let v2 = br#"{"kraftControllerEpoch":-1,"version":2,"brokerid":7,"timestamp":"1"}"#;
    assert_eq!(ControllerZNode::decode(v2).unwrap().broker_id, 7);
}

#[test]
fn controller_epoch_is_bare_decimal() {
    assert_eq!(ControllerEpochZNode::encode(3), b"3");
    assert_eq!(ControllerEpochZNode::decode(b"12").unwrap(), 12);
    assert!(ControllerEpochZNode::decode(b"{\"epoch\":1}").is_err());
}

fn two_listener_broker() -> BrokerInfo {
    let ep = |listener: &str, host: &str, port, proto: &str| BrokerEndpoint {
        listener: listener.into(),
        host: host.into(),
        port,
        security_protocol: proto.into(),
    };
    BrokerInfo {
        id: 1,
        endpoints: vec![
            ep("INTERNAL", "kafka-1", 29092, "PLAINTEXT"),
            ep("EXTERNAL", "broker1.example.com", 9093, "SSL"),
        ],
        rack: None,
        timestamp: 1_700_000_000_000,
    }
}

#[test]
fn broker_v5_matches_documented_example() {
    let documented = br#"{"features":{},"listener_security_protocol_map":{"INTERNAL":"PLAINTEXT","EXTERNAL":"SSL"},"endpoints":["INTERNAL://kafka-1:29092","EXTERNAL://broker1.example.com:9093"],"jmx_port":-1,"host":"kafka-1","timestamp":"1700000000000","port":29092,"version":5}"#;
    let info = two_listener_broker();
    assert_eq!(value(&BrokerIdZNode::encode(&info)), value(documented));
    assert_eq!(BrokerIdZNode::decode(1, documented).unwrap(), info);
}

#[test]
fn broker_without_plaintext_has_null_host_and_rack_when_set() {
    let mut info = two_listener_broker();
    info.endpoints.remove(0);
    info.rack = Some("r1".into());
    let v = value(&BrokerIdZNode::encode(&info));
    assert_eq!(v["host"], Value::Null);
    assert_eq!(v["port"], -1);
    assert_eq!(v["rack"], "r1");
    assert_eq!(
        BrokerIdZNode::decode(1, &BrokerIdZNode::encode(&info)).unwrap(),
        info
    );
    let v = value(&BrokerIdZNode::encode(&two_listener_broker()));
    assert!(v.get("rack").is_none());
}

#[test]
fn broker_v4_and_v1_and_ipv6() {
    let v4 = br#"{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://broker-0:9092"],"jmx_port":-1,"host":"broker-0","timestamp":"1700000000000","port":9092,"version":4}"#;
    let info = BrokerIdZNode::decode(0, v4).unwrap();
    assert_eq!(info.endpoints[0].host, "broker-0");
    assert_eq!(info.endpoints[0].security_protocol, "PLAINTEXT");
    let v1 = br#"{"jmx_port":-1,"timestamp":"1","host":"old","version":1,"port":9092}"#;
    let info = BrokerIdZNode::decode(0, v1).unwrap();
    assert_eq!(
        info.endpoints[0].connection_string(),
        "PLAINTEXT://old:9092"
    );
    let v6 = br#"{"endpoints":["SSL://[::1]:9093"],"version":2,"host":null,"port":-1}"#;
    let info = BrokerIdZNode::decode(0, v6).unwrap();
    assert_eq!(info.endpoints[0].host, "::1");
    assert_eq!(info.endpoints[0].security_protocol, "SSL");
    assert_eq!(info.endpoints[0].connection_string(), "SSL://[::1]:9093");
}

#[test]
fn topic_v3_matches_documented_example() {
    let documented = br#"{"version":3,"partitions":{"0":[2,1,3],"1":[3,2,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"pCJ5lqwVSMeEQNWi9ZOwNw"}"#;
    let node = TopicZNode::decode("t", documented).unwrap();
    assert_eq!(node.partitions[&0], vec![2, 1, 3]);
    assert_eq!(node.partitions[&1], vec![3, 2, 1]);
    assert_eq!(
        node.topic_id.map(topic_id_string).as_deref(),
        Some("pCJ5lqwVSMeEQNWi9ZOwNw")
    );
    assert_eq!(value(&node.encode()), value(documented));
}

#[test]
fn topic_v1_without_extras() {
    let v1 = br#"{"version":1,"partitions":{"0":[1,2,3],"1":[2,3,1]}}"#;
    let node = TopicZNode::decode("t", v1).unwrap();
    assert_eq!(node.partitions.len(), 2);
    assert!(node.topic_id.is_none() && node.adding_replicas.is_empty());
}

#[test]
fn random_topic_ids_are_22_url_safe_chars() {
    for _ in 0..200 {
        let s = topic_id_string(random_uuid());
        assert_eq!(s.len(), 22);
        assert!(!s.starts_with('-'));
        assert!(s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(parse_topic_id(&s).map(topic_id_string), Some(s));
    }
}

#[test]
fn partition_state_matches_documented_example() {
    let documented =
        br#"{"controller_epoch":3,"leader":2,"version":1,"leader_epoch":7,"isr":[2,3,1]}"#;
    let state = PartitionStateZNode::decode("t", 0, documented).unwrap();
    let expected = LeaderIsrAndControllerEpoch {
        leader: 2,
        leader_epoch: 7,
        isr: vec![2, 3, 1],
        controller_epoch: 3,
        leader_recovery_state: 0,
    };
    assert_eq!(state, expected);
    assert_eq!(
        value(&PartitionStateZNode::encode(&state)),
        value(documented)
    );
    let recovering = LeaderIsrAndControllerEpoch {
        leader_recovery_state: 1,
        ..expected
    };
    assert_eq!(
        value(&PartitionStateZNode::encode(&recovering))["leader_recovery_state"],
        1
    );
    assert_eq!(
        PartitionStateZNode::path("t", 4),
        "/brokers/topics/t/partitions/4/state"
    );
}

#[test]
fn topic_config_values_are_strings() {
    let documented = br#"{"version":1,"config":{"segment.bytes":"104857600","compression.type":"producer","cleanup.policy":"compact"}}"#;
    let config = TopicConfigZNode::decode("__consumer_offsets", documented).unwrap();
    assert_eq!(config["segment.bytes"], "104857600");
    assert_eq!(value(&TopicConfigZNode::encode(&config)), value(documented));
    assert_eq!(
        TopicConfigZNode::encode(&BTreeMap::new()),
        br#"{"config":{},"version":1}"#
    );
}

#[test]
fn producer_id_block_bounds_are_strings() {
    let documented = br#"{"version":1,"broker":1,"block_start":"0","block_end":"999"}"#;
    let block = ProducerIdBlockZNode::decode(documented).unwrap();
    assert_eq!(
        block,
        ProducerIdBlockZNode {
            broker_id: 1,
            block_start: 0,
            block_end: 999
        }
    );
    assert_eq!(value(&block.encode()), value(documented));
}

#[test]
fn feature_and_consumer_offsets() {
    assert_eq!(
        value(&FeatureZNode::encode_default()),
        value(br#"{"features":{},"version":1,"status":1}"#)
    );
    assert_eq!(
        ConsumerOffsetZNode::path("g", "t", 3),
        "/consumers/g/offsets/t/3"
    );
    assert_eq!(
        ConsumerOffsetZNode::decode("/x", &ConsumerOffsetZNode::encode(42)).unwrap(),
        42
    );
}

#[test]
fn errors_name_the_znode_and_field() {
    let e = PartitionStateZNode::decode("t", 0, br#"{"isr":[1],"leader":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/brokers/topics/t/partitions/0/state") && e.contains("leader"),
        "{e}"
    );
}

#[test]
fn isr_change_notification_round_trips() {
    let parts = vec![("t".to_string(), 0), ("u".to_string(), 3)];
    let data = IsrChangeNotificationZNode::encode(&parts);
    let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":3}]})
    );
    assert_eq!(
        IsrChangeNotificationZNode::decode("/x", &data).unwrap(),
        parts
    );
    assert!(IsrChangeNotificationZNode::decode("/x", b"{}").is_err());
}

#[test]
fn log_dir_event_notification_is_kafkas() {
    let data = LogDirEventNotificationZNode::encode(3);
    let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(v, serde_json::json!({"version":1,"broker":3,"event":1}));
    assert_eq!(
        LogDirEventNotificationZNode::decode("/x", &data).unwrap(),
        3
    );
    // What a Kafka broker writes (its key order) reads the same.
    let kafka = br#"{"version":1,"broker":1002,"event":1}"#;
    assert_eq!(
        LogDirEventNotificationZNode::decode("/x", kafka).unwrap(),
        1002
    );
    assert!(LogDirEventNotificationZNode::decode("/x", b"{}").is_err());
    assert_eq!(
        LogDirEventNotificationZNode::sequential_prefix(),
        "/log_dir_event_notification/log_dir_event_"
    );
}

#[test]
fn config_change_notification_is_v2() {
    let v: serde_json::Value =
        serde_json::from_slice(&ConfigChangeNotificationZNode::encode("topics/t")).unwrap();
    assert_eq!(v, serde_json::json!({"version":2,"entity_path":"topics/t"}));
    assert_eq!(DeleteTopicsZNode::path("t"), "/admin/delete_topics/t");
}
