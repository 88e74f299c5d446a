//! The topic configs Kafka knows (Kafka 3.7 `LogConfig`): each key's type, Kafka's default,
//! the broker key that supplies the default (`ServerTopicConfigSynonyms`), and the check its
//! values must pass. CreateTopics, AlterConfigs and IncrementalAlterConfigs validate with it,
//! refusing what Kafka refuses with INVALID_CONFIG and Kafka's wording; DescribeConfigs
//! reports with it (see `config_sources`).

use std::collections::BTreeMap;

use thiserror::Error;

use crate::config::{BrokerConfig, ValueType};

/// Kafka's `Long.MAX_VALUE` default ("no limit").
const LONG_MAX: &str = "9223372036854775807";

/// What a value must satisfy beyond parsing as its type (Kafka's validators).
#[derive(Debug, Clone, Copy)]
enum Check {
    Any,
    /// `atLeast(n)` on an INT or LONG.
    AtLeast(i64),
    /// `between(0, 1)` on a DOUBLE.
    Ratio,
    /// `in(...)` on a STRING.
    OneOf(&'static [&'static str]),
    /// `ValidList.in(...)` on a LIST: every item one of these (the empty list passes).
    ListOf(&'static [&'static str]),
    /// The throttled-replicas lists: `*` or `partition:broker` items.
    Replicas,
}

/// One topic-level config key.
#[derive(Debug)]
pub struct TopicKey {
    pub name: &'static str,
    pub kind: ValueType,
    /// Kafka's `LogConfig` default, as written in a config.
    pub default: &'static str,
    /// The broker key whose value is the topic's default when the topic does not override it.
    pub synonym: Option<&'static str>,
    check: Check,
    /// What the key means here (DescribeConfigs v3+ `documentation`).
    pub doc: &'static str,
}

const fn topic_key(
    name: &'static str,
    kind: ValueType,
    default: &'static str,
    synonym: Option<&'static str>,
    check: Check,
    doc: &'static str,
) -> TopicKey {
    TopicKey {
        name,
        kind,
        default,
        synonym,
        check,
        doc,
    }
}

use Check::{Any, AtLeast, ListOf, OneOf, Ratio, Replicas};
use ValueType as T;

/// Every topic config of Kafka 3.7, by name.
#[rustfmt::skip]
pub const TOPIC_KEYS: &[TopicKey] = &[
    topic_key("cleanup.policy", T::List, "delete", Some("log.cleanup.policy"), ListOf(&["compact", "delete"]),
        "delete: drop old segments by retention.ms and retention.bytes; compact: keep the latest record of every key (records must have keys); both may be listed."),
    topic_key("compression.type", T::String, "producer", Some("compression.type"), OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "Accepted for compatibility: batches are stored as the producer compressed them."),
    topic_key("delete.retention.ms", T::Long, "86400000", Some("log.cleaner.delete.retention.ms"), AtLeast(0),
        "How long a tombstone (a record with a null value) outlives the cleaning that first reached it, in a compacted topic."),
    topic_key("file.delete.delay.ms", T::Long, "60000", Some("log.segment.delete.delay.ms"), AtLeast(0),
        "Accepted for compatibility: deleted segments are removed at once."),
    topic_key("flush.messages", T::Long, LONG_MAX, Some("log.flush.interval.messages"), AtLeast(1),
        "fsync the log after this many messages; the default leaves it to replication and the OS."),
    topic_key("flush.ms", T::Long, LONG_MAX, Some("log.flush.interval.ms"), AtLeast(0),
        "fsync the log when its oldest unflushed message is this old; the default leaves it to replication and the OS."),
    topic_key("follower.replication.throttled.replicas", T::List, "", None, Replicas,
        "Replicas whose fetching is throttled on the follower side to follower.replication.throttled.rate while out of sync: * or partition:broker pairs (only the broker's own entries count there)."),
    topic_key("index.interval.bytes", T::Int, "4096", Some("log.index.interval.bytes"), AtLeast(0),
        "Bytes of records between two entries of the offset index."),
    topic_key("leader.replication.throttled.replicas", T::List, "", None, Replicas,
        "Replicas whose serving to out-of-sync followers is throttled on the leader side to leader.replication.throttled.rate: * or partition:broker pairs (only the broker's own entries count there)."),
    topic_key("local.retention.bytes", T::Long, "-2", Some("log.local.retention.bytes"), AtLeast(-2),
        "Tiered storage only, which this broker does not have."),
    topic_key("local.retention.ms", T::Long, "-2", Some("log.local.retention.ms"), AtLeast(-2),
        "Tiered storage only, which this broker does not have."),
    topic_key("max.compaction.lag.ms", T::Long, LONG_MAX, Some("log.cleaner.max.compaction.lag.ms"), AtLeast(1),
        "A compacted log whose oldest uncleaned record is older than this is cleaned whatever its dirty ratio."),
    topic_key("max.message.bytes", T::Int, "1048588", Some("message.max.bytes"), AtLeast(0),
        "Largest record batch a producer may send to this topic."),
    topic_key("message.downconversion.enable", T::Boolean, "true", Some("log.message.downconversion.enable"), Any,
        "Accepted for compatibility: old consumers always get down-converted batches."),
    topic_key("message.format.version", T::String, "3.0-IV1", Some("log.message.format.version"), Any,
        "Accepted for compatibility: batches are stored in the v2 format."),
    topic_key("message.timestamp.after.max.ms", T::Long, LONG_MAX, Some("log.message.timestamp.after.max.ms"), AtLeast(0),
        "Accepted for compatibility: record timestamps are not checked against the clock."),
    topic_key("message.timestamp.before.max.ms", T::Long, LONG_MAX, Some("log.message.timestamp.before.max.ms"), AtLeast(0),
        "Accepted for compatibility: record timestamps are not checked against the clock."),
    topic_key("message.timestamp.difference.max.ms", T::Long, LONG_MAX, Some("log.message.timestamp.difference.max.ms"), AtLeast(0),
        "Accepted for compatibility: record timestamps are not checked against the clock."),
    topic_key("message.timestamp.type", T::String, "CreateTime", Some("log.message.timestamp.type"), OneOf(&["CreateTime", "LogAppendTime"]),
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."),
    topic_key("min.cleanable.dirty.ratio", T::Double, "0.5", Some("log.cleaner.min.cleanable.ratio"), Ratio,
        "A compacted log is cleaned once this share of it (0 to 1) has not been cleaned yet."),
    topic_key("min.compaction.lag.ms", T::Long, "0", Some("log.cleaner.min.compaction.lag.ms"), AtLeast(0),
        "Records younger than this are never compacted away."),
    topic_key("min.insync.replicas", T::Int, "1", Some("min.insync.replicas"), AtLeast(1),
        "With acks=all, the fewest in-sync replicas a write needs."),
    topic_key("preallocate", T::Boolean, "false", Some("log.preallocate"), Any,
        "Accepted for compatibility: segment files grow as they are written."),
    topic_key("remote.storage.enable", T::Boolean, "false", None, Any,
        "Tiered storage, which this broker does not have: only false is accepted."),
    topic_key("retention.bytes", T::Long, "-1", Some("log.retention.bytes"), Any,
        "With the delete policy, drop the oldest segments while a partition is larger than this; -1: no limit."),
    topic_key("retention.ms", T::Long, "604800000", Some("log.retention.ms"), AtLeast(-1),
        "With the delete policy, drop segments whose newest record is older than this; -1: keep forever."),
    topic_key("segment.bytes", T::Int, "1073741824", Some("log.segment.bytes"), AtLeast(14),
        "Size at which a log segment is closed and a new one started."),
    topic_key("segment.index.bytes", T::Int, "10485760", Some("log.index.size.max.bytes"), AtLeast(4),
        "Size of a segment's offset index; a full index starts a new segment."),
    topic_key("segment.jitter.ms", T::Long, "0", Some("log.roll.jitter.ms"), AtLeast(0),
        "Accepted for compatibility: segments roll at segment.ms exactly."),
    topic_key("segment.ms", T::Long, "604800000", Some("log.roll.ms"), AtLeast(1),
        "Age at which a log segment is closed and a new one started."),
    topic_key("unclean.leader.election.enable", T::Boolean, "false", Some("unclean.leader.election.enable"), Any,
        "Let an out-of-sync replica become leader when no in-sync one is alive (records may be lost)."),
];

/// The definition of topic config `name`.
pub fn topic_key_def(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}

/// Whether `name` is a topic config Kafka knows.
pub fn is_topic_config(name: &str) -> bool {
    topic_key_def(name).is_some()
}

/// Why a topic config was refused: INVALID_CONFIG, with Kafka's wording.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopicConfigError {
    /// A name `LogConfig` does not define.
    #[error("Unknown topic config name: {0}")]
    UnknownName(String),
    /// CreateTopics configs whose value is null.
    #[error("Null value not supported for topic configs: {}", .0.join(","))]
    NullValues(Vec<String>),
    /// The value does not parse as the key's type or fails its check (Kafka's
    /// `ConfigException(name, value, reason)`).
    #[error("Invalid value {value} for configuration {name}: {reason}")]
    InvalidValue {
        name: String,
        value: String,
        reason: String,
    },
    /// `remote.storage.enable=true`: there is no tiered storage.
    #[error("Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.")]
    NoTieredStorage,
    /// `min.compaction.lag.ms` above `max.compaction.lag.ms` (the topic's or the broker's).
    #[error("conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})")]
    LagConflict { min: i64, max: i64 },
    /// APPEND or SUBTRACT on a key whose type is not a list.
    #[error("Config value {op} is not allowed for config key: {name}")]
    NotAList { op: &'static str, name: String },
}

impl TopicConfigError {
    /// The message AlterConfigs and IncrementalAlterConfigs answer with: Kafka prefixes the
    /// errors it raises as `ConfigException` (bad values) with the resource, not the others.
    pub fn alter_message(&self, topic: &str) -> String {
        match self {
            TopicConfigError::InvalidValue { .. } | TopicConfigError::NoTieredStorage => format!(
                "Invalid config value for resource ConfigResource(type=TOPIC, name='{topic}'): {self}"
            ),
            _ => self.to_string(),
        }
    }
}

/// Checks a topic's whole set of overrides as Kafka's `LogConfig.validate` does on create and
/// alter: every name known, every value of its type and range, then the rules between keys,
/// for which keys the topic leaves out take the broker's values.
pub fn validate_topic_configs(
    broker: &BrokerConfig,
    configs: &BTreeMap<String, String>,
) -> Result<(), TopicConfigError> {
    if let Some(unknown) = configs.keys().find(|k| !is_topic_config(k)) {
        return Err(TopicConfigError::UnknownName(unknown.clone()));
    }
    for key in TOPIC_KEYS {
        if let Some(raw) = configs.get(key.name) {
            check_value(key, raw)?;
        }
    }
    let lag = |name: &str, broker_value: i64| {
        configs
            .get(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(broker_value)
    };
    let min = lag(
        "min.compaction.lag.ms",
        i64::try_from(broker.log_cleaner_min_compaction_lag_ms).unwrap_or(i64::MAX),
    );
    let max = lag(
        "max.compaction.lag.ms",
        broker
            .log_cleaner_max_compaction_lag_ms
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(i64::MAX),
    );
    if min > max {
        return Err(TopicConfigError::LagConflict { min, max });
    }
    if configs
        .get("remote.storage.enable")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return Err(TopicConfigError::NoTieredStorage);
    }
    Ok(())
}

/// A value parsed as its Kafka type.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Bool(bool),
    Text(String),
    Int(i64),
    Double(f64),
    List(Vec<String>),
}

/// Parses `raw` as Kafka's `ConfigDef.parseType` does (surrounding whitespace ignored; list
/// items split at commas with any whitespace around them); `Err` carries Kafka's reason.
fn parse(kind: ValueType, raw: &str) -> Result<Parsed, String> {
    let trimmed = raw.trim();
    let not_a_number = |name: &str| format!("Not a number of type {name}");
    Ok(match kind {
        ValueType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Parsed::Bool(true),
            "false" => Parsed::Bool(false),
            _ => return Err("Expected value to be either true or false".into()),
        },
        ValueType::String | ValueType::Password => Parsed::Text(trimmed.to_string()),
        ValueType::Short => Parsed::Int(
            trimmed
                .parse::<i16>()
                .map_err(|_| not_a_number("SHORT"))?
                .into(),
        ),
        ValueType::Int => Parsed::Int(
            trimmed
                .parse::<i32>()
                .map_err(|_| not_a_number("INT"))?
                .into(),
        ),
        ValueType::Long => Parsed::Int(trimmed.parse::<i64>().map_err(|_| not_a_number("LONG"))?),
        ValueType::Double => {
            Parsed::Double(trimmed.parse::<f64>().map_err(|_| not_a_number("DOUBLE"))?)
        }
        ValueType::List => Parsed::List(list_items(trimmed)),
    })
}

/// Why `raw` is not a value of Kafka type `kind` (Kafka's `ConfigDef` reason), if it is not.
pub fn type_error(kind: ValueType, raw: &str) -> Option<String> {
    parse(kind, raw).err()
}

/// The items of a list value as Kafka splits it; the empty string is the empty list.
pub fn list_items(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(|s| s.trim().to_string()).collect()
}

fn check_value(key: &TopicKey, raw: &str) -> Result<(), TopicConfigError> {
    let invalid = |value: String, reason: String| TopicConfigError::InvalidValue {
        name: key.name.to_string(),
        value,
        reason,
    };
    let parsed = parse(key.kind, raw).map_err(|reason| invalid(raw.to_string(), reason))?;
    match (key.check, parsed) {
        (AtLeast(min), Parsed::Int(n)) if n < min => Err(invalid(
            n.to_string(),
            format!("Value must be at least {min}"),
        )),
        (Ratio, Parsed::Double(v)) if v < 0.0 => {
            Err(invalid(java_double(v), "Value must be at least 0".into()))
        }
        (Ratio, Parsed::Double(v)) if v > 1.0 => Err(invalid(
            java_double(v),
            "Value must be no more than 1".into(),
        )),
        (OneOf(allowed), Parsed::Text(s)) if !allowed.contains(&s.as_str()) => Err(invalid(
            s,
            format!("String must be one of: {}", allowed.join(", ")),
        )),
        (ListOf(allowed), Parsed::List(items)) => {
            match items.into_iter().find(|i| !allowed.contains(&i.as_str())) {
                Some(bad) => Err(invalid(
                    bad,
                    format!("String must be one of: {}", allowed.join(", ")),
                )),
                None => Ok(()),
            }
        }
        (Replicas, Parsed::List(items)) if !valid_throttled_replicas(&items) => Err(invalid(
            format!("[{}]", items.join(", ")),
            format!(
                "{} must be the literal '*' or a list of replicas in the following format: \
                 [partitionId]:[brokerId],[partitionId]:[brokerId],...",
                key.name
            ),
        )),
        _ => Ok(()),
    }
}

/// `*`, or items each empty or `<digits>:<digits>` (the parser the throttles apply).
fn valid_throttled_replicas(items: &[String]) -> bool {
    crate::replica::throttle::parse_throttled_replicas(&items.join(","), 0).is_ok()
}

/// `raw` as Kafka prints the parsed value (`ConfigDef.convertToString`): numbers without sign
/// or padding noise, booleans in lower case, list items joined by bare commas, doubles as
/// Java writes them. A value that does not parse is returned as it is.
pub fn normalize(kind: ValueType, raw: &str) -> String {
    match parse(kind, raw) {
        Ok(Parsed::Bool(b)) => b.to_string(),
        Ok(Parsed::Text(s)) => s,
        Ok(Parsed::Int(n)) => n.to_string(),
        Ok(Parsed::Double(v)) => java_double(v),
        Ok(Parsed::List(items)) => items.join(","),
        Err(_) => raw.to_string(),
    }
}

/// A double as Java's `Double.toString` writes it: plain with at least one decimal between
/// 10^-3 and 10^7, else `d.dddE±n`.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let plain = format!("{v}");
        return if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        };
    }
    let sci = format!("{v:e}");
    match sci.split_once('e') {
        Some((mantissa, exponent)) if mantissa.contains('.') => format!("{mantissa}E{exponent}"),
        Some((mantissa, exponent)) => format!("{mantissa}.0E{exponent}"),
        None => sci,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests_support::{layered, minimal};

    fn check(pairs: &[(&str, &str)]) -> Result<(), String> {
        check_on(&minimal(), pairs)
    }

    fn check_on(broker: &BrokerConfig, pairs: &[(&str, &str)]) -> Result<(), String> {
        let configs = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        validate_topic_configs(broker, &configs).map_err(|e| e.to_string())
    }

    #[test]
    fn compaction_keys_are_checked_as_kafka_checks_them() {
        for ok in [
            ("cleanup.policy", "compact"),
            ("cleanup.policy", "compact, delete"),
            ("cleanup.policy", "delete,compact"),
            ("cleanup.policy", ""),
            ("min.cleanable.dirty.ratio", "0"),
            ("min.cleanable.dirty.ratio", " 1 "),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("min.compaction.lag.ms", "0"),
            ("max.compaction.lag.ms", "1"),
            ("delete.retention.ms", "0"),
        ] {
            assert_eq!(check(&[ok]), Ok(()), "{ok:?}");
        }
        let refused = [
            (("cleanup.policy", "shred"), "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"),
            (("cleanup.policy", "compact,Delete"), "Invalid value Delete for configuration cleanup.policy: String must be one of: compact, delete"),
            (("cleanup.policy", "compact,"), "Invalid value  for configuration cleanup.policy: String must be one of: compact, delete"),
            (("min.cleanable.dirty.ratio", "1.5"), "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"),
            (("min.cleanable.dirty.ratio", "-1"), "Invalid value -1.0 for configuration min.cleanable.dirty.ratio: Value must be at least 0"),
            (("min.cleanable.dirty.ratio", "half"), "Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"),
            (("min.compaction.lag.ms", "-1"), "Invalid value -1 for configuration min.compaction.lag.ms: Value must be at least 0"),
            (("max.compaction.lag.ms", "0"), "Invalid value 0 for configuration max.compaction.lag.ms: Value must be at least 1"),
            (("delete.retention.ms", "-5"), "Invalid value -5 for configuration delete.retention.ms: Value must be at least 0"),
            (("delete.retention.ms", "1d"), "Invalid value 1d for configuration delete.retention.ms: Not a number of type LONG"),
        ];
        for (pair, message) in refused {
            assert_eq!(check(&[pair]), Err(message.to_string()), "{pair:?}");
        }
    }

    #[test]
    fn other_keys_keep_their_types_and_ranges() {
        assert_eq!(
            check(&[("retention.ms", "-1"), ("retention.bytes", "-7")]),
            Ok(())
        );
        assert_eq!(
            check(&[("retention.ms", "-2")]),
            Err(
                "Invalid value -2 for configuration retention.ms: Value must be at least -1".into()
            )
        );
        assert_eq!(
            check(&[("segment.bytes", "13")]),
            Err(
                "Invalid value 13 for configuration segment.bytes: Value must be at least 14"
                    .into()
            )
        );
        assert_eq!(
            check(&[("segment.bytes", "3000000000")]),
            Err("Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT".into())
        );
        assert_eq!(
            check(&[("preallocate", "yes")]),
            Err("Invalid value yes for configuration preallocate: Expected value to be either true or false".into())
        );
        assert_eq!(check(&[("preallocate", "TRUE")]), Ok(()));
        assert_eq!(
            check(&[("message.timestamp.type", "Now")]),
            Err("Invalid value Now for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime".into())
        );
        assert_eq!(
            check(&[("leader.replication.throttled.replicas", "0:1, 1:2")]),
            Ok(())
        );
        assert_eq!(
            check(&[("leader.replication.throttled.replicas", "*")]),
            Ok(())
        );
        assert!(check(&[("leader.replication.throttled.replicas", "0-1")])
            .is_err_and(|e| e.starts_with("Invalid value [0-1] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal '*'")));
        assert_eq!(
            check(&[("no.such.key", "1"), ("retention.ms", "x")]),
            Err("Unknown topic config name: no.such.key".into())
        );
        assert_eq!(
            check(&[("remote.storage.enable", "true")]),
            Err(TopicConfigError::NoTieredStorage.to_string())
        );
    }

    #[test]
    fn compaction_lags_conflict_with_the_topics_or_the_brokers() {
        assert_eq!(
            check(&[("min.compaction.lag.ms", "10"), ("max.compaction.lag.ms", "5")]),
            Err("conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)".into())
        );
        let broker = layered(&[], &[], &["log.cleaner.max.compaction.lag.ms=1000"]);
        assert_eq!(
            check_on(&broker, &[("min.compaction.lag.ms", "999")]),
            Ok(())
        );
        assert_eq!(
            check_on(&broker, &[("min.compaction.lag.ms", "1001")]),
            Err("conflict topic config setting min.compaction.lag.ms (1001) > max.compaction.lag.ms (1000)".into())
        );
    }

    #[test]
    fn alter_messages_name_the_resource_for_bad_values_only() {
        let bad = TopicConfigError::InvalidValue {
            name: "cleanup.policy".into(),
            value: "x".into(),
            reason: "String must be one of: compact, delete".into(),
        };
        assert_eq!(
            bad.alter_message("t"),
            "Invalid config value for resource ConfigResource(type=TOPIC, name='t'): Invalid value x for configuration cleanup.policy: String must be one of: compact, delete"
        );
        let unknown = TopicConfigError::UnknownName("x".into());
        assert_eq!(unknown.alter_message("t"), "Unknown topic config name: x");
        assert_eq!(
            TopicConfigError::NullValues(vec!["a".into(), "b".into()]).to_string(),
            "Null value not supported for topic configs: a,b"
        );
    }

    #[test]
    fn values_print_as_kafka_prints_them() {
        assert_eq!(
            normalize(ValueType::List, " compact ,  delete "),
            "compact,delete"
        );
        assert_eq!(normalize(ValueType::List, "  "), "");
        assert_eq!(normalize(ValueType::Long, " +100"), "100");
        assert_eq!(normalize(ValueType::Boolean, "TRUE"), "true");
        assert_eq!(normalize(ValueType::Double, "1"), "1.0");
        assert_eq!(normalize(ValueType::Int, "lots"), "lots");
        for (v, java) in [
            (0.5, "0.5"),
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (f64::MAX, "1.7976931348623157E308"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(java_double(v), java, "{v}");
        }
    }

    #[test]
    fn the_table_has_each_key_once() {
        let mut names: Vec<&str> = TOPIC_KEYS.iter().map(|k| k.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!((names.len(), n), (31, 31));
    }
}
