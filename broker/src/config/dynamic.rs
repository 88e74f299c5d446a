//! The typed config with dynamic broker configs layered over the static ones, parsed and
//! checked exactly as the static layers are (same parsers, same ranges).
//!
//! Kafka's precedence: per-broker dynamic > cluster-default dynamic > static > default. A
//! dynamic key also hides the static values of its synonyms (Kafka's `overrideProps`): a
//! dynamic `log.retention.ms` wins over a static `log.retention.hours`, and so would a dynamic
//! `log.retention.hours` over a static `log.retention.ms`.

use std::collections::BTreeMap;

use super::error::{ConfigError, Origin};
use super::layers::Settings;
use super::{
    cleanup_policy, explicit_int, flush_interval_messages, io_limit, log_retention_ms, log_roll_ms,
    non_negative, ratio, ssl, timestamp_type, unlimited_at_max, BrokerConfig, I32_MAX_U64,
    I32_MAX_USIZE,
};

/// One dynamic layer: its keys and values, and the znode they come from (for errors).
#[derive(Debug, Clone, Copy)]
pub struct DynamicLayer<'a> {
    pub path: &'a str,
    pub values: &'a BTreeMap<String, String>,
}

/// The broker keys that set the same value as `key`, itself included (Kafka's
/// `brokerConfigSynonyms` without listener prefixes).
pub fn synonyms_of(key: &str) -> &[&str] {
    const ROLL: &[&str] = &["log.roll.ms", "log.roll.hours"];
    const JITTER: &[&str] = &["log.roll.jitter.ms", "log.roll.jitter.hours"];
    const RETENTION: &[&str] = &[
        "log.retention.ms",
        "log.retention.minutes",
        "log.retention.hours",
    ];
    const FLUSH: &[&str] = &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"];
    match key {
        "log.roll.ms" | "log.roll.hours" => ROLL,
        "log.roll.jitter.ms" | "log.roll.jitter.hours" => JITTER,
        "log.retention.ms" | "log.retention.minutes" | "log.retention.hours" => RETENTION,
        "log.flush.interval.ms" => FLUSH,
        _ => &[],
    }
}

impl BrokerConfig {
    /// This (static) config with `layers` applied in order, lowest first: the fields a
    /// dynamic key can change are derived again; the others, and [`BrokerConfig::explicit`],
    /// stay as loaded. Fails as loading would on a value that does not parse or is out of
    /// range.
    pub fn with_dynamic(&self, layers: &[DynamicLayer<'_>]) -> Result<BrokerConfig, ConfigError> {
        let mut s = Settings::from_explicit(&self.explicit);
        for layer in layers {
            for (key, value) in layer.values {
                for synonym in synonyms_of(key) {
                    s.remove(synonym);
                }
                s.set(key, value.clone(), Origin::Dynamic(layer.path.to_string()));
            }
        }
        let mut c = self.clone();
        c.log_segment_bytes = s.int_between("log.segment.bytes", 14, I32_MAX_U64)?;
        c.leader_replication_throttled_rate =
            unlimited_at_max(s.int_at_least("leader.replication.throttled.rate", 0)?);
        c.follower_replication_throttled_rate =
            unlimited_at_max(s.int_at_least("follower.replication.throttled.rate", 0)?);
        if self.log_roll_ms.is_some() {
            c.log_roll_ms = Some(log_roll_ms(&s)?);
        }
        c.log_retention_ms = log_retention_ms(&s)?;
        c.log_retention_bytes = non_negative(s.int_at_least("log.retention.bytes", i64::MIN)?);
        c.log_index_interval_bytes = s.int_between("log.index.interval.bytes", 0, I32_MAX_USIZE)?;
        c.log_index_size_max_bytes = s.int_between("log.index.size.max.bytes", 4, I32_MAX_USIZE)?;
        c.log_flush_interval_messages = flush_interval_messages(&s)?;
        c.log_flush_interval_ms = explicit_int(&s, "log.flush.interval.ms", 0)?;
        c.log_message_timestamp_type = timestamp_type(&s)?;
        c.log_cleanup_policy = cleanup_policy(&s)?;
        c.log_cleaner_threads = s.int_between("log.cleaner.threads", 0, I32_MAX_USIZE)?;
        c.log_cleaner_dedupe_buffer_size = s.int_at_least("log.cleaner.dedupe.buffer.size", 0)?;
        c.log_cleaner_io_max_bytes_per_second = io_limit(&s)?;
        c.log_cleaner_backoff_ms = s.int_at_least("log.cleaner.backoff.ms", 0)?;
        c.log_cleaner_min_cleanable_ratio = ratio(&s, "log.cleaner.min.cleanable.ratio")?;
        c.log_cleaner_min_compaction_lag_ms =
            s.int_at_least("log.cleaner.min.compaction.lag.ms", 0)?;
        c.log_cleaner_max_compaction_lag_ms =
            unlimited_at_max(s.int_at_least("log.cleaner.max.compaction.lag.ms", 1)?);
        c.log_cleaner_delete_retention_ms = s.int_at_least("log.cleaner.delete.retention.ms", 0)?;
        c.message_max_bytes = s.int_between("message.max.bytes", 0, I32_MAX_USIZE)?;
        c.min_insync_replicas = s.int_at_least("min.insync.replicas", 1)?;
        if layers
            .iter()
            .any(|l| l.values.keys().any(|k| k.starts_with("listener.name.")))
        {
            c.ssl = ssl::resolve(&s, &c.listener_security_protocol_map, &c.listeners)?;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::layered;
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_dynamic_layer_changes_nothing() {
        let c = layered(
            &[("log.retention.hours", "5"), ("message.max.bytes", "77")],
            &[],
            &[],
        );
        assert_eq!(c.with_dynamic(&[]).ok(), Some(c));
    }

    #[test]
    fn per_broker_over_default_over_static_and_synonyms_hidden() {
        let c = layered(
            &[("log.retention.hours", "5"), ("message.max.bytes", "77")],
            &[],
            &[],
        );
        let default = map(&[("log.retention.ms", "1000"), ("message.max.bytes", "100")]);
        let broker = map(&[("message.max.bytes", "200")]);
        let layers = [
            DynamicLayer {
                path: "/config/brokers/<default>",
                values: &default,
            },
            DynamicLayer {
                path: "/config/brokers/1",
                values: &broker,
            },
        ];
        let d = c.with_dynamic(&layers).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.log_retention_ms, Some(1000));
        assert_eq!(d.message_max_bytes, 200);
        assert_eq!(d.explicit, c.explicit);
        // A lower-precedence synonym set dynamically still hides the static one.
        let c = layered(&[("log.retention.ms", "5")], &[], &[]);
        let hours = map(&[("log.retention.hours", "2")]);
        let d = c
            .with_dynamic(&[DynamicLayer {
                path: "/config/brokers/<default>",
                values: &hours,
            }])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.log_retention_ms, Some(2 * 3_600_000));
    }

    #[test]
    fn bad_values_fail_as_at_startup() {
        let c = layered(&[], &[], &[]);
        let bad = map(&[("log.segment.bytes", "10")]);
        let e = c
            .with_dynamic(&[DynamicLayer {
                path: "/config/brokers/1",
                values: &bad,
            }])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("log.segment.bytes") && e.contains("/config/brokers/1"),
            "{e}"
        );
    }
}
