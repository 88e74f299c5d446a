//! Where each config value DescribeConfigs reports comes from, told as Kafka's `ConfigHelper`
//! tells it: a value and its source (TOPIC_CONFIG for a topic override, STATIC_BROKER_CONFIG
//! for a broker key the file, the environment or `--override` set, DEFAULT_CONFIG otherwise),
//! and the synonyms behind it in precedence order.
//!
//! Kafka's rules, followed here:
//! - A broker key's synonyms are the keys that can set it (`log.retention.ms`, `.minutes`,
//!   `.hours`; `log.roll.ms`, `.hours`; ...), each as set explicitly, then each default, then
//!   the leading entries that are not the key itself dropped. So `log.retention.hours` set in
//!   the file shows as a STATIC_BROKER_CONFIG synonym of `log.retention.hours` but not of
//!   `log.retention.ms`, whose value is then null (not set) with source DEFAULT_CONFIG.
//! - A topic key's synonyms are its override (if any), then those of its broker key
//!   (`retention.ms` → `log.retention.ms`); the entry's source is the first synonym's, and
//!   DEFAULT_CONFIG when there is none. Its value is the override, else the broker's value.
//! - Broker keys that Kafka can change at run time are reported `read_only = false`, as
//!   Kafka reports them, although this broker's configs are all static. Nothing is sensitive.

use std::collections::BTreeMap;

use crate::api::config_defs::{normalize, TopicKey, TOPIC_KEYS};
use crate::config::{key_doc, BrokerConfig, ValueType, KEYS};

/// DescribeConfigs `config_source` (v1+) and synonym `source` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// A topic's own override (Kafka's TOPIC_CONFIG).
    Topic = 1,
    /// Set in the broker's file, environment or `--override` (Kafka's server.properties).
    StaticBroker = 4,
    /// Nobody set it.
    Default = 5,
}

/// One synonym of a reported key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: &'static str,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One reported config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: &'static str,
    /// `None`: not set and without a default (Kafka reports null).
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub kind: ValueType,
    /// The keys behind the value, highest precedence first; the first gives `source`.
    pub synonyms: Vec<Synonym>,
    pub doc: &'static str,
}

/// Broker-side defaults of topic synonyms this broker accepts without acting on them (or does
/// not know): only their Kafka defaults are reported, whatever the file says.
const KAFKA_ONLY_DEFAULTS: &[(&str, &str)] = &[
    ("compression.type", "producer"),
    ("log.flush.scheduler.interval.ms", "9223372036854775807"),
    ("log.local.retention.bytes", "-2"),
    ("log.local.retention.ms", "-2"),
    ("log.message.downconversion.enable", "true"),
    ("log.message.format.version", "3.0-IV1"),
    ("log.message.timestamp.after.max.ms", "9223372036854775807"),
    ("log.message.timestamp.before.max.ms", "9223372036854775807"),
    (
        "log.message.timestamp.difference.max.ms",
        "9223372036854775807",
    ),
    ("log.preallocate", "false"),
    ("log.roll.jitter.hours", "0"),
    ("log.segment.delete.delay.ms", "60000"),
];

/// Broker keys Kafka can change without a restart besides the topic defaults (its
/// `DynamicBrokerConfig.AllDynamicConfigs`, limited to keys this broker acts on).
const DYNAMIC_IN_KAFKA: &[&str] = &[
    "advertised.listeners",
    "listener.security.protocol.map",
    "listeners",
    "log.cleaner.backoff.ms",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.threads",
    "message.max.bytes",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

/// Whether Kafka reports `name` as changeable (`read_only = false`): the keys above and the
/// broker defaults of topic configs, except the message format.
fn dynamic_in_kafka(name: &str) -> bool {
    DYNAMIC_IN_KAFKA.contains(&name)
        || (name != "log.message.format.version"
            && TOPIC_KEYS.iter().any(|k| k.synonym == Some(name)))
}

/// The broker keys that can set `name`, in Kafka's precedence (`brokerConfigSynonyms`).
fn broker_synonyms(name: &'static str) -> Vec<&'static str> {
    match name {
        "log.roll.ms" | "log.roll.hours" => vec!["log.roll.ms", "log.roll.hours"],
        "log.roll.jitter.ms" | "log.roll.jitter.hours" => {
            vec!["log.roll.jitter.ms", "log.roll.jitter.hours"]
        }
        "log.flush.interval.ms" => vec!["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "log.retention.ms" | "log.retention.minutes" | "log.retention.hours" => {
            vec![
                "log.retention.ms",
                "log.retention.minutes",
                "log.retention.hours",
            ]
        }
        other => vec![other],
    }
}

/// The broker's value of `key` in one layer: as set explicitly (keys it acts on only), or its
/// default.
fn layer_value(config: &BrokerConfig, source: ConfigSource, key: &str) -> Option<String> {
    let doc = key_doc(key);
    match source {
        ConfigSource::StaticBroker => doc.and(config.explicit_value(key)).map(str::to_string),
        ConfigSource::Default => doc
            .map(|d| d.default)
            .unwrap_or_else(|| {
                KAFKA_ONLY_DEFAULTS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| *v)
            })
            .map(str::to_string),
        ConfigSource::Topic => None,
    }
}

/// The synonyms of broker key `name` among `names`: every explicit value, then every default,
/// with the leading ones that are not `name` dropped (Kafka's `configSynonyms`).
fn synonyms(config: &BrokerConfig, name: &str, names: &[&'static str]) -> Vec<Synonym> {
    let mut all = Vec::new();
    for source in [ConfigSource::StaticBroker, ConfigSource::Default] {
        for n in names {
            if let Some(value) = layer_value(config, source, n) {
                all.push(Synonym {
                    name: n,
                    value: Some(value),
                    source,
                });
            }
        }
    }
    let first = all.iter().position(|s| s.name == name).unwrap_or(all.len());
    all.split_off(first)
}

/// Every broker key this broker acts on, as DescribeConfigs(BROKER) reports it.
pub fn broker_entries(config: &BrokerConfig) -> Vec<ConfigEntry> {
    KEYS.iter()
        .map(|d| {
            let synonyms = synonyms(config, d.key, &broker_synonyms(d.key));
            ConfigEntry {
                name: d.key,
                value: config
                    .explicit_value(d.key)
                    .or(d.default)
                    .map(|raw| normalize(d.kind, raw)),
                source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
                read_only: !dynamic_in_kafka(d.key),
                kind: d.kind,
                synonyms,
                doc: d.doc,
            }
        })
        .collect()
}

/// Every topic config of a topic with `overrides`, as DescribeConfigs(TOPIC) and CreateTopics
/// v5+ report them.
pub fn topic_entries(
    config: &BrokerConfig,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    TOPIC_KEYS
        .iter()
        .map(|key| {
            let mut synonyms = key
                .synonym
                .map(|s| synonyms(config, s, &broker_synonyms(s)))
                .unwrap_or_default();
            let value = match overrides.get(key.name) {
                Some(raw) => {
                    let value = normalize(key.kind, raw);
                    synonyms.insert(
                        0,
                        Synonym {
                            name: key.name,
                            value: Some(value.clone()),
                            source: ConfigSource::Topic,
                        },
                    );
                    value
                }
                None => broker_value(config, key),
            };
            ConfigEntry {
                name: key.name,
                value: Some(value),
                source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
                read_only: false,
                kind: key.kind,
                synonyms,
                doc: key.doc,
            }
        })
        .collect()
}

/// A topic key's value when the topic leaves it to the broker: the broker's effective value of
/// its synonym (derived for the keys set in other units), Kafka's default for synonyms this
/// broker does not act on.
fn broker_value(config: &BrokerConfig, key: &TopicKey) -> String {
    match key.name {
        "retention.ms" => config.log_retention_ms.unwrap_or(-1).to_string(),
        "segment.ms" => config
            .log_roll_ms
            .map_or_else(|| key.default.to_string(), |ms| ms.to_string()),
        "flush.ms" => config
            .log_flush_interval_ms
            .map_or_else(|| key.default.to_string(), |ms| ms.to_string()),
        _ => match key.synonym.and_then(key_doc) {
            Some(d) => config
                .explicit_value(d.key)
                .or(d.default)
                .map_or_else(|| key.default.to_string(), |raw| normalize(key.kind, raw)),
            None => key.default.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
