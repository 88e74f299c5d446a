//! Source resolution for brokers started with values from each layer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::config::tests_support::layered;

fn entry<'a>(entries: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
    entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} not reported"))
}

/// (name, value, source) of each synonym, for compact assertions.
fn syns(e: &ConfigEntry) -> Vec<(&str, Option<&str>, ConfigSource)> {
    e.synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
        .collect()
}

/// The layers of a broker without dynamic configs.
fn fx(config: &BrokerConfig) -> Effective {
    Effective::without_dynamic(config.clone())
}

use ConfigSource::{Default as D, StaticBroker as S, Topic as T};

/// A broker with one key from each layer: the file, the environment, `--override`.
fn broker() -> BrokerConfig {
    layered(
        &[
            ("log.segment.bytes", "2000000"),
            ("log.cleanup.policy", "compact"),
        ],
        &[("KAFKA_LOG_RETENTION_HOURS", "1")],
        &[
            "log.cleaner.backoff.ms=500",
            "log.cleaner.min.cleanable.ratio=0.25",
        ],
    )
}

#[test]
fn broker_keys_say_which_layer_set_them() {
    let entries = broker_entries(&fx(&broker()));
    assert_eq!(entries.len(), KEYS.len());

    let untouched = entry(&entries, "num.partitions");
    assert_eq!(
        (untouched.value.as_deref(), untouched.source),
        (Some("1"), D)
    );
    assert_eq!(syns(untouched), [("num.partitions", Some("1"), D)]);
    assert!(untouched.read_only);

    let from_file = entry(&entries, "log.segment.bytes");
    assert_eq!(
        (from_file.value.as_deref(), from_file.source),
        (Some("2000000"), S)
    );
    assert_eq!(
        syns(from_file),
        [
            ("log.segment.bytes", Some("2000000"), S),
            ("log.segment.bytes", Some("1073741824"), D)
        ]
    );
    assert!(
        !from_file.read_only,
        "Kafka can change log.segment.bytes at run time"
    );

    let from_env = entry(&entries, "log.retention.hours");
    assert_eq!((from_env.value.as_deref(), from_env.source), (Some("1"), S));
    assert_eq!(
        syns(from_env),
        [
            ("log.retention.hours", Some("1"), S),
            ("log.retention.hours", Some("168"), D)
        ]
    );
    // Set by nobody and without a default: null, and the hours do not show as its synonyms.
    let millis = entry(&entries, "log.retention.ms");
    assert_eq!((millis.value.as_deref(), millis.source), (None, D));
    assert!(millis.synonyms.is_empty());
    assert!(!millis.read_only);

    let from_override = entry(&entries, "log.cleaner.backoff.ms");
    assert_eq!(
        (from_override.value.as_deref(), from_override.source),
        (Some("500"), S)
    );
    let ratio = entry(&entries, "log.cleaner.min.cleanable.ratio");
    assert_eq!(ratio.value.as_deref(), Some("0.25"));
    assert_eq!(ratio.kind, ValueType::Double);

    let io = entry(&entries, "log.cleaner.io.max.bytes.per.second");
    assert_eq!(io.value.as_deref(), Some("1.7976931348623157E308"));
    assert_eq!(io.source, D);
    assert!(!entry(&entries, "log.cleaner.threads").read_only);
    assert!(entry(&entries, "log.cleaner.enable").read_only);
    assert_eq!(entry(&entries, "broker.rack").value, None);
    assert_eq!(entry(&entries, "log.cleanup.policy").kind, ValueType::List);
}

#[test]
fn topic_keys_come_from_the_override_the_broker_or_the_default() {
    let overrides: BTreeMap<String, String> = [
        ("min.compaction.lag.ms", " 100 "),
        ("cleanup.policy", "compact, delete"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let entries = topic_entries(&fx(&broker()), &overrides);
    assert_eq!(entries.len(), TOPIC_KEYS.len());
    assert!(entries.iter().all(|e| !e.read_only));

    let lag = entry(&entries, "min.compaction.lag.ms");
    assert_eq!((lag.value.as_deref(), lag.source), (Some("100"), T));
    assert_eq!(
        syns(lag),
        [
            ("min.compaction.lag.ms", Some("100"), T),
            ("log.cleaner.min.compaction.lag.ms", Some("0"), D)
        ]
    );
    let policy = entry(&entries, "cleanup.policy");
    assert_eq!(
        (policy.value.as_deref(), policy.source),
        (Some("compact,delete"), T)
    );
    assert_eq!(
        syns(policy)[1..],
        [
            ("log.cleanup.policy", Some("compact"), S),
            ("log.cleanup.policy", Some("delete"), D)
        ]
    );

    // The broker's file set the synonym.
    let segment = entry(&entries, "segment.bytes");
    assert_eq!(
        (segment.value.as_deref(), segment.source),
        (Some("2000000"), S)
    );
    assert_eq!(syns(segment)[0], ("log.segment.bytes", Some("2000000"), S));
    let ratio = entry(&entries, "min.cleanable.dirty.ratio");
    assert_eq!((ratio.value.as_deref(), ratio.source), (Some("0.25"), S));

    // The hours reach the value but, as in Kafka, not the source of retention.ms, whose
    // synonym list starts at log.retention.ms.
    let retention = entry(&entries, "retention.ms");
    assert_eq!(
        (retention.value.as_deref(), retention.source),
        (Some("3600000"), D)
    );
    assert!(retention.synonyms.is_empty());

    let untouched = entry(&entries, "delete.retention.ms");
    assert_eq!(
        (untouched.value.as_deref(), untouched.source),
        (Some("86400000"), D)
    );
    assert_eq!(
        syns(untouched),
        [("log.cleaner.delete.retention.ms", Some("86400000"), D)]
    );
    let max_lag = entry(&entries, "max.compaction.lag.ms");
    assert_eq!(max_lag.value.as_deref(), Some("9223372036854775807"));
    // A key whose broker synonym is only accepted keeps Kafka's default.
    let compression = entry(&entries, "compression.type");
    assert_eq!(
        syns(compression),
        [("compression.type", Some("producer"), D)]
    );
    // No broker synonym at all.
    let remote = entry(&entries, "remote.storage.enable");
    assert_eq!((remote.value.as_deref(), remote.source), (Some("false"), D));
    assert!(remote.synonyms.is_empty());
}

#[test]
fn retention_ms_set_on_the_broker_is_a_static_synonym() {
    let config = layered(&[("log.retention.ms", "5000")], &[], &[]);
    let entries = topic_entries(&fx(&config), &BTreeMap::new());
    let retention = entry(&entries, "retention.ms");
    assert_eq!(
        (retention.value.as_deref(), retention.source),
        (Some("5000"), S)
    );
    assert_eq!(
        syns(retention),
        [
            ("log.retention.ms", Some("5000"), S),
            ("log.retention.hours", Some("168"), D)
        ]
    );
    let broker = broker_entries(&fx(&config));
    assert_eq!(entry(&broker, "log.retention.hours").source, D);
}

#[test]
fn every_topic_synonym_has_a_broker_default_or_none_in_kafka_either() {
    for key in TOPIC_KEYS {
        let Some(synonym) = key.synonym else { continue };
        let known = key_doc(synonym).is_some()
            || KAFKA_ONLY_DEFAULTS.iter().any(|(k, _)| *k == synonym)
            || synonym == "log.roll.jitter.ms";
        assert!(known, "{} -> {synonym}", key.name);
    }
}
