//! Per-topic config overrides (`/config/topics/<t>`, Kafka's topic-level names) layered over
//! the broker's defaults: what the log of a partition and the produce path of a topic use.

use std::collections::BTreeMap;

use tracing::warn;

use crate::config::{BrokerConfig, TimestampType};
use crate::log::{CleanupPolicy, LogConfig, Ratio};

/// Topic-level overrides by Kafka key (`retention.ms`, `segment.bytes`, ...).
pub type Overrides = BTreeMap<String, String>;

fn parse<T: std::str::FromStr>(overrides: &Overrides, key: &str) -> Option<T> {
    let raw = overrides.get(key)?;
    match raw.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            // Values are validated when written; a bad one here was written by another tool.
            warn!(
                key,
                value = raw.as_str(),
                "ignoring unparsable topic config"
            );
            None
        }
    }
}

/// `-1` (or any negative) means "no limit" for Kafka's size and time settings.
fn limit(v: i64) -> Option<i64> {
    (v >= 0).then_some(v)
}

/// The log settings of a topic: the broker's, with the topic's overrides applied.
pub fn log_config(base: &LogConfig, overrides: &Overrides) -> LogConfig {
    let mut c = base.clone();
    if let Some(v) = parse::<u64>(overrides, "segment.bytes") {
        c.segment_bytes = v;
    }
    if let Some(v) = parse::<i64>(overrides, "segment.ms") {
        c.segment_ms = limit(v).map(|v| v as u64);
    }
    if let Some(v) = parse::<i64>(overrides, "retention.ms") {
        c.retention_ms = limit(v);
    }
    if let Some(v) = parse::<i64>(overrides, "retention.bytes") {
        c.retention_bytes = limit(v).map(|v| v as u64);
    }
    if let Some(v) = parse::<usize>(overrides, "index.interval.bytes") {
        c.index_interval_bytes = v;
    }
    if let Some(v) = parse::<usize>(overrides, "segment.index.bytes") {
        c.max_index_entries = (v / 8).max(1);
    }
    if let Some(v) = parse::<i64>(overrides, "flush.messages") {
        c.flush_interval_messages = (v > 0 && v != i64::MAX).then_some(v as u64);
    }
    if let Some(v) = parse::<i64>(overrides, "flush.ms") {
        c.flush_interval_ms = (v > 0 && v != i64::MAX).then_some(v as u64);
    }
    c.cleanup_policy = cleanup_policy(c.cleanup_policy, overrides);
    if let Some(v) = overrides.get("min.cleanable.dirty.ratio") {
        match Ratio::parse(v) {
            Some(ratio) => c.min_cleanable_dirty_ratio = ratio,
            None => warn!(
                value = v.as_str(),
                "ignoring unparsable min.cleanable.dirty.ratio"
            ),
        }
    }
    if let Some(v) = parse::<i64>(overrides, "min.compaction.lag.ms") {
        c.min_compaction_lag_ms = v.max(0) as u64;
    }
    if let Some(v) = parse::<i64>(overrides, "max.compaction.lag.ms") {
        c.max_compaction_lag_ms = (v > 0 && v != i64::MAX).then_some(v as u64);
    }
    if let Some(v) = parse::<i64>(overrides, "delete.retention.ms") {
        c.delete_retention_ms = v.max(0) as u64;
    }
    c
}

/// The topic's `cleanup.policy`, else `base` (the broker's). The empty list, which Kafka
/// accepts, means neither deleting nor compacting.
fn cleanup_policy(base: CleanupPolicy, overrides: &Overrides) -> CleanupPolicy {
    let Some(v) = overrides.get("cleanup.policy") else {
        return base;
    };
    if v.trim().is_empty() {
        return CleanupPolicy {
            delete: false,
            compact: false,
        };
    }
    CleanupPolicy::parse(v).unwrap_or_else(|| {
        warn!(value = v.as_str(), "ignoring unparsable cleanup.policy");
        base
    })
}

/// What the produce path checks for a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceSettings {
    pub max_message_bytes: usize,
    pub min_insync_replicas: usize,
    pub log_append_time: bool,
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compacted: bool,
}

pub fn produce_settings(config: &BrokerConfig, overrides: Option<&Overrides>) -> ProduceSettings {
    let empty = Overrides::new();
    let o = overrides.unwrap_or(&empty);
    let timestamp_type = match o.get("message.timestamp.type").map(String::as_str) {
        Some("LogAppendTime") => TimestampType::LogAppendTime,
        Some("CreateTime") => TimestampType::CreateTime,
        _ => config.log_message_timestamp_type,
    };
    ProduceSettings {
        max_message_bytes: parse(o, "max.message.bytes").unwrap_or(config.message_max_bytes),
        min_insync_replicas: parse::<i32>(o, "min.insync.replicas")
            .unwrap_or(config.min_insync_replicas)
            .max(1) as usize,
        log_append_time: timestamp_type == TimestampType::LogAppendTime,
        compacted: cleanup_policy(config.log_cleanup_policy, o).compact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(pairs: &[(&str, &str)]) -> Overrides {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn overrides_replace_log_defaults() {
        let base = LogConfig::default();
        let c = log_config(
            &base,
            &overrides(&[
                ("retention.ms", "-1"),
                ("segment.bytes", "1024"),
                ("retention.bytes", "5000"),
            ]),
        );
        assert_eq!(c.retention_ms, None);
        assert_eq!(c.segment_bytes, 1024);
        assert_eq!(c.retention_bytes, Some(5000));
        assert_eq!(c.index_interval_bytes, base.index_interval_bytes);
        let unparsable = log_config(&base, &overrides(&[("segment.bytes", "lots")]));
        assert_eq!(unparsable.segment_bytes, base.segment_bytes);
    }

    #[test]
    fn compaction_settings_come_from_the_topic() {
        let base = LogConfig::default();
        let c = log_config(
            &base,
            &overrides(&[
                ("cleanup.policy", "compact"),
                ("min.cleanable.dirty.ratio", "0.01"),
                ("min.compaction.lag.ms", "100"),
                ("max.compaction.lag.ms", "9223372036854775807"),
                ("delete.retention.ms", "500"),
            ]),
        );
        assert_eq!(c.cleanup_policy, CleanupPolicy::COMPACT);
        assert_eq!(c.min_cleanable_dirty_ratio.get(), 0.01);
        assert_eq!(c.min_compaction_lag_ms, 100);
        assert_eq!(c.max_compaction_lag_ms, None);
        assert_eq!(c.delete_retention_ms, 500);
        let bad = log_config(&base, &overrides(&[("cleanup.policy", "shred")]));
        assert_eq!(bad.cleanup_policy, CleanupPolicy::DELETE);
        let neither = log_config(&base, &overrides(&[("cleanup.policy", " ")]));
        assert!(!neither.cleanup_policy.delete && !neither.cleanup_policy.compact);
    }

    #[test]
    fn produce_knows_a_compacted_topic_from_its_override_or_the_broker() {
        let mut config = crate::config::tests_support::minimal();
        let compacted = |c: &BrokerConfig, o: &[(&str, &str)]| {
            produce_settings(c, Some(&overrides(o))).compacted
        };
        assert!(!compacted(&config, &[]));
        assert!(!produce_settings(&config, None).compacted);
        assert!(compacted(&config, &[("cleanup.policy", "compact")]));
        assert!(compacted(&config, &[("cleanup.policy", "delete, compact")]));
        config.log_cleanup_policy = CleanupPolicy::COMPACT;
        assert!(compacted(&config, &[]));
        assert!(!compacted(&config, &[("cleanup.policy", "delete")]));
        assert!(!compacted(&config, &[("cleanup.policy", "")]));
    }
}
