use std::collections::BTreeMap;

use coordinator::broker_config::BrokerEntity;

use super::*;
use crate::config::tests_support::layered;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn message(r: Result<(), DynamicConfigError>) -> String {
    r.err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn per_broker_wins_over_default_over_static() {
    let dynamic = DynamicConfig::new(1, layered(&[("message.max.bytes", "1000")], &[], &[]));
    assert_eq!(dynamic.config().message_max_bytes, 1000);
    dynamic.apply(BrokerEntity::Default, map(&[("message.max.bytes", "2000")]));
    assert_eq!(dynamic.config().message_max_bytes, 2000);
    dynamic.apply(
        BrokerEntity::Broker(1),
        map(&[("message.max.bytes", "3000")]),
    );
    assert_eq!(dynamic.config().message_max_bytes, 3000);
    // Another broker's configs are not ours.
    dynamic.apply(
        BrokerEntity::Broker(2),
        map(&[("message.max.bytes", "4000")]),
    );
    assert_eq!(dynamic.config().message_max_bytes, 3000);
    dynamic.apply(BrokerEntity::Broker(1), BTreeMap::new());
    assert_eq!(dynamic.config().message_max_bytes, 2000);
    dynamic.apply(BrokerEntity::Default, BTreeMap::new());
    assert_eq!(dynamic.config().message_max_bytes, 1000);
    assert_eq!(*dynamic.config(), *dynamic.static_config());
}

#[test]
fn stored_keys_that_cannot_apply_are_dropped_alone() {
    let dynamic = DynamicConfig::new(1, layered(&[], &[], &[]));
    dynamic.apply(
        BrokerEntity::Default,
        map(&[
            ("broker.id", "9"),
            ("log.retention.ms", "60000"),
            ("log.segment.bytes", "5"),
            ("listener.name.ssl.ssl.keystore.location", "/x.pem"),
            ("leader.replication.throttled.rate", "1000"),
        ]),
    );
    let now = dynamic.current();
    assert_eq!(
        now.default.keys().map(String::as_str).collect::<Vec<_>>(),
        ["leader.replication.throttled.rate", "log.retention.ms"]
    );
    assert_eq!(now.config.log_retention_ms, Some(60_000));
    assert_eq!(now.leader_replication_throttled_rate(), Some(1000));
    assert_eq!(now.follower_replication_throttled_rate(), None);
}

#[test]
fn subscribers_see_each_change() {
    let dynamic = DynamicConfig::new(1, layered(&[], &[], &[]));
    let mut rx = dynamic.subscribe();
    rx.borrow_and_update();
    dynamic.apply(
        BrokerEntity::Broker(1),
        map(&[("follower.replication.throttled.rate", "500")]),
    );
    assert!(rx.has_changed().unwrap_or(false));
    assert_eq!(
        rx.borrow_and_update().follower_replication_throttled_rate(),
        Some(500)
    );
    // The same content again is no change.
    dynamic.apply(
        BrokerEntity::Broker(1),
        map(&[("follower.replication.throttled.rate", "500")]),
    );
    assert!(!rx.has_changed().unwrap_or(true));
}

#[test]
fn validation_follows_kafka() {
    let dynamic = DynamicConfig::new(1, layered(&[], &[], &[]));
    let per_broker = BrokerEntity::Broker(1);
    assert_eq!(
        dynamic.validate(per_broker, &map(&[("message.max.bytes", "500")])),
        Ok(())
    );
    assert_eq!(
        message(dynamic.validate(per_broker, &map(&[("message.max.bytes", "big")]))),
        "Invalid value big for configuration message.max.bytes: Not a number of type INT"
    );
    assert_eq!(
        message(dynamic.validate(BrokerEntity::Default, &map(&[("log.segment.bytes", "10")]))),
        "Invalid value 10 for configuration log.segment.bytes: Expected an integer from 14 to 2147483647"
    );
    assert_eq!(
        message(dynamic.validate(per_broker, &map(&[("broker.id", "2")]))),
        "Cannot update these configs dynamically: Set(broker.id)"
    );
    assert_eq!(
        message(dynamic.validate(per_broker, &map(&[("log.cleaner.threads", "3")]))),
        "Invalid dynamic configuration"
    );
    assert_eq!(
        dynamic.validate(per_broker, &map(&[("log.cleaner.threads", "2")])),
        Ok(())
    );
    assert_eq!(
        dynamic.validate(per_broker, &map(&[("custom.thing", "x")])),
        Ok(())
    );
    let password = map(&[("listener.name.ssl.ssl.key.password", "secret")]);
    assert_eq!(
        DynamicConfig::to_persistent(&password).map_err(|e| e.to_string()),
        Err("Password encoder secret not configured".to_string())
    );
}

#[test]
fn described_sources_and_synonyms_include_the_dynamic_layers() {
    use crate::api::config_sources::{
        broker_entries, default_entries, topic_entries, ConfigSource as S,
    };
    let dynamic = DynamicConfig::new(1, layered(&[("log.retention.hours", "5")], &[], &[]));
    dynamic.apply(BrokerEntity::Default, map(&[("log.retention.ms", "60000")]));
    dynamic.apply(
        BrokerEntity::Broker(1),
        map(&[
            ("message.max.bytes", "4096"),
            ("leader.replication.throttled.rate", "100"),
        ]),
    );
    let layers = dynamic.current();
    let syns = |e: &crate::api::config_sources::ConfigEntry| -> Vec<(String, S)> {
        e.synonyms
            .iter()
            .map(|s| (s.name.clone(), s.source))
            .collect()
    };
    let topic = topic_entries(&layers, &BTreeMap::new());
    let retention = topic.iter().find(|e| e.name == "retention.ms");
    let retention = retention.expect("retention.ms");
    assert_eq!(
        (retention.value.as_deref(), retention.source),
        (Some("60000"), S::DynamicDefault)
    );
    assert_eq!(
        syns(retention),
        [
            ("log.retention.ms".to_string(), S::DynamicDefault),
            ("log.retention.hours".to_string(), S::StaticBroker),
            ("log.retention.hours".to_string(), S::Default),
        ]
    );
    let broker = broker_entries(&layers);
    let max = broker.iter().find(|e| e.name == "message.max.bytes");
    let max = max.expect("message.max.bytes");
    assert_eq!(
        (max.value.as_deref(), max.source, max.read_only),
        (Some("4096"), S::DynamicBroker, false)
    );
    let throttle = broker
        .iter()
        .find(|e| e.name == "leader.replication.throttled.rate")
        .expect("throttle");
    assert_eq!(
        (throttle.value.as_deref(), throttle.source),
        (Some("100"), S::DynamicBroker)
    );
    let defaults = default_entries(&layers);
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].name, "log.retention.ms");
    assert_eq!(
        syns(&defaults[0]),
        [("log.retention.ms".to_string(), S::DynamicDefault)]
    );
    assert!(broker_entries(&layers)
        .iter()
        .find(|e| e.name == "broker.id")
        .is_some_and(|e| e.read_only));
}
