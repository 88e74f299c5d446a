//! Topic config keys Kafka knows, their types and defaults (Kafka 3.7 `LogConfig`), and the
//! broker configs DescribeConfigs reports. Shared by DescribeConfigs, AlterConfigs,
//! IncrementalAlterConfigs and CreateTopics (which refuse unknown topic keys: INVALID_CONFIG).

use std::collections::BTreeMap;

use crate::config::BrokerConfig;

/// DescribeConfigs `config_type` values (v3+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// DescribeConfigs `config_source` values (v1+).
pub const SOURCE_TOPIC: i8 = 1;
pub const SOURCE_STATIC_BROKER: i8 = 4;
pub const SOURCE_DEFAULT: i8 = 5;

/// (name, type, Kafka's default) for every topic-level config.
const TOPIC_CONFIGS: &[(&str, ConfigType, &str)] = &[
    ("cleanup.policy", ConfigType::List, "delete"),
    ("compression.type", ConfigType::String, "producer"),
    ("delete.retention.ms", ConfigType::Long, "86400000"),
    ("file.delete.delay.ms", ConfigType::Long, "60000"),
    ("flush.messages", ConfigType::Long, "9223372036854775807"),
    ("flush.ms", ConfigType::Long, "9223372036854775807"),
    (
        "follower.replication.throttled.replicas",
        ConfigType::List,
        "",
    ),
    ("index.interval.bytes", ConfigType::Int, "4096"),
    (
        "leader.replication.throttled.replicas",
        ConfigType::List,
        "",
    ),
    ("local.retention.bytes", ConfigType::Long, "-2"),
    ("local.retention.ms", ConfigType::Long, "-2"),
    (
        "max.compaction.lag.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    ("max.message.bytes", ConfigType::Int, "1048588"),
    ("message.downconversion.enable", ConfigType::Boolean, "true"),
    ("message.format.version", ConfigType::String, "3.0-IV1"),
    (
        "message.timestamp.after.max.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    (
        "message.timestamp.before.max.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    (
        "message.timestamp.difference.max.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    ("message.timestamp.type", ConfigType::String, "CreateTime"),
    ("min.cleanable.dirty.ratio", ConfigType::Double, "0.5"),
    ("min.compaction.lag.ms", ConfigType::Long, "0"),
    ("min.insync.replicas", ConfigType::Int, "1"),
    ("preallocate", ConfigType::Boolean, "false"),
    ("remote.storage.enable", ConfigType::Boolean, "false"),
    ("retention.bytes", ConfigType::Long, "-1"),
    ("retention.ms", ConfigType::Long, "604800000"),
    ("segment.bytes", ConfigType::Int, "1073741824"),
    ("segment.index.bytes", ConfigType::Int, "10485760"),
    ("segment.jitter.ms", ConfigType::Long, "0"),
    ("segment.ms", ConfigType::Long, "604800000"),
    (
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        "false",
    ),
];

/// One reported config entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: String,
    pub source: i8,
    pub config_type: ConfigType,
    pub read_only: bool,
}

/// Whether `name` is a topic config Kafka knows.
pub fn is_topic_config(name: &str) -> bool {
    TOPIC_CONFIGS.iter().any(|(n, _, _)| *n == name)
}

/// Checks a value's syntax against the key's type; `Err` carries Kafka-style wording.
pub fn validate_topic_config(name: &str, value: &str) -> Result<(), String> {
    let Some((_, ty, _)) = TOPIC_CONFIGS.iter().find(|(n, _, _)| *n == name) else {
        return Err(format!("Unknown topic config name: {name}"));
    };
    let ok = match ty {
        ConfigType::Boolean => matches!(value.to_ascii_lowercase().as_str(), "true" | "false"),
        ConfigType::Int => value.trim().parse::<i32>().is_ok(),
        ConfigType::Long => value.trim().parse::<i64>().is_ok(),
        ConfigType::Double => value.trim().parse::<f64>().is_ok(),
        ConfigType::String | ConfigType::List => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Invalid value {value} for configuration {name}"))
    }
}

/// The broker-derived default of a topic config (Kafka's topic defaults follow `log.*`).
fn broker_default(c: &BrokerConfig, name: &str) -> Option<String> {
    Some(match name {
        "retention.ms" => c.log_retention_ms.unwrap_or(-1).to_string(),
        "retention.bytes" => c
            .log_retention_bytes
            .map_or("-1".to_string(), |b| b.to_string()),
        "segment.bytes" => c.log_segment_bytes.to_string(),
        "segment.ms" => c.log_roll_ms?.to_string(),
        "max.message.bytes" => c.message_max_bytes.to_string(),
        "min.insync.replicas" => c.min_insync_replicas.to_string(),
        "unclean.leader.election.enable" => c.unclean_leader_election_enable.to_string(),
        "message.timestamp.type" => c.log_message_timestamp_type.as_str().to_string(),
        "index.interval.bytes" => c.log_index_interval_bytes.to_string(),
        "segment.index.bytes" => c.log_index_size_max_bytes.to_string(),
        _ => return None,
    })
}

/// Every topic config: overrides (source TOPIC) over broker-derived / Kafka defaults.
pub fn topic_entries(c: &BrokerConfig, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
    TOPIC_CONFIGS
        .iter()
        .map(|(name, ty, default)| {
            let (value, source) = match overrides.get(*name) {
                Some(v) => (v.clone(), SOURCE_TOPIC),
                None => (
                    broker_default(c, name).unwrap_or_else(|| default.to_string()),
                    SOURCE_DEFAULT,
                ),
            };
            ConfigEntry {
                name: name.to_string(),
                value,
                source,
                config_type: *ty,
                read_only: false,
            }
        })
        .collect()
}

/// The broker configs DescribeConfigs(BROKER) reports (static, read-only here).
pub fn broker_entries(c: &BrokerConfig) -> Vec<ConfigEntry> {
    let entry = |name: &str, value: String, ty: ConfigType| ConfigEntry {
        name: name.to_string(),
        value,
        source: SOURCE_STATIC_BROKER,
        config_type: ty,
        read_only: true,
    };
    let listeners = |ls: &[crate::config::Listener]| {
        ls.iter()
            .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        entry("broker.id", c.broker_id.to_string(), ConfigType::Int),
        entry(
            "broker.rack",
            c.broker_rack.clone().unwrap_or_default(),
            ConfigType::String,
        ),
        entry(
            "zookeeper.connect",
            c.zookeeper_connect.clone(),
            ConfigType::String,
        ),
        entry(
            "zookeeper.session.timeout.ms",
            c.zookeeper_session_timeout_ms.to_string(),
            ConfigType::Int,
        ),
        entry("listeners", listeners(&c.listeners), ConfigType::String),
        entry(
            "advertised.listeners",
            listeners(&c.advertised_listeners),
            ConfigType::String,
        ),
        entry(
            "inter.broker.listener.name",
            c.inter_broker_listener_name.clone(),
            ConfigType::String,
        ),
        entry(
            "log.dirs",
            c.log_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
            ConfigType::String,
        ),
        entry(
            "num.partitions",
            c.num_partitions.to_string(),
            ConfigType::Int,
        ),
        entry(
            "default.replication.factor",
            c.default_replication_factor.to_string(),
            ConfigType::Int,
        ),
        entry(
            "auto.create.topics.enable",
            c.auto_create_topics_enable.to_string(),
            ConfigType::Boolean,
        ),
        entry(
            "delete.topic.enable",
            c.delete_topic_enable.to_string(),
            ConfigType::Boolean,
        ),
        entry(
            "log.segment.bytes",
            c.log_segment_bytes.to_string(),
            ConfigType::Int,
        ),
        entry(
            "log.retention.ms",
            c.log_retention_ms.unwrap_or(-1).to_string(),
            ConfigType::Long,
        ),
        entry(
            "message.max.bytes",
            c.message_max_bytes.to_string(),
            ConfigType::Int,
        ),
        entry(
            "min.insync.replicas",
            c.min_insync_replicas.to_string(),
            ConfigType::Int,
        ),
        entry(
            "unclean.leader.election.enable",
            c.unclean_leader_election_enable.to_string(),
            ConfigType::Boolean,
        ),
        entry(
            "auto.leader.rebalance.enable",
            c.auto_leader_rebalance_enable.to_string(),
            ConfigType::Boolean,
        ),
        entry(
            "leader.imbalance.check.interval.seconds",
            c.leader_imbalance_check_interval_seconds.to_string(),
            ConfigType::Long,
        ),
        entry(
            "controlled.shutdown.enable",
            c.controlled_shutdown_enable.to_string(),
            ConfigType::Boolean,
        ),
        entry(
            "replica.lag.time.max.ms",
            c.replica_lag_time_max_ms.to_string(),
            ConfigType::Long,
        ),
        entry(
            "offsets.topic.replication.factor",
            c.offsets_topic_replication_factor.to_string(),
            ConfigType::Int,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names_and_types() {
        assert!(validate_topic_config("retention.ms", "1000").is_ok());
        assert!(validate_topic_config("retention.ms", "soon").is_err());
        assert!(validate_topic_config("no.such.key", "1").is_err());
        assert!(validate_topic_config("preallocate", "TRUE").is_ok());
        assert!(is_topic_config("cleanup.policy"));
    }
}
