//! Where each config value DescribeConfigs reports comes from, told as Kafka's `ConfigHelper`
//! tells it: a value and its source (TOPIC_CONFIG for a topic override, DYNAMIC_BROKER_CONFIG
//! and DYNAMIC_DEFAULT_BROKER_CONFIG for `/config/brokers/<id>` and `<default>`,
//! STATIC_BROKER_CONFIG for a broker key the file, the environment or `--override` set,
//! DEFAULT_CONFIG otherwise), and the synonyms behind it in precedence order.
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
//! - Broker keys that can change at run time (see `dynamic_config::keys`) are reported
//!   `read_only = false`. Passwords, and dynamic keys of no known type, are sensitive: their
//!   values are null.

use std::collections::BTreeMap;

use crate::api::config_defs::{normalize, TopicKey, TOPIC_KEYS};
use crate::config::{key_doc, strip_listener_prefix, BrokerConfig, ValueType, KEYS};
use crate::dynamic_config::keys::{extra_type, is_dynamic};
use crate::dynamic_config::Effective;

/// DescribeConfigs `config_source` (v1+) and synonym `source` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// A topic's own override (Kafka's TOPIC_CONFIG).
    Topic = 1,
    /// `/config/brokers/<id>` (Kafka's DYNAMIC_BROKER_CONFIG).
    DynamicBroker = 2,
    /// `/config/brokers/<default>` (Kafka's DYNAMIC_DEFAULT_BROKER_CONFIG).
    DynamicDefault = 3,
    /// Set in the broker's file, environment or `--override` (Kafka's server.properties).
    StaticBroker = 4,
    /// Nobody set it.
    Default = 5,
}

/// One synonym of a reported key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One reported config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None`: not set and without a default (Kafka reports null).
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    /// A password (or of unknown type): the value and the synonyms' values are null.
    pub sensitive: bool,
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

/// The broker's value of `key` in one layer: as set dynamically, as set explicitly (keys it
/// acts on only), or its default.
fn layer_value(layers: &Effective, source: ConfigSource, key: &str) -> Option<String> {
    let doc = key_doc(key);
    match source {
        ConfigSource::DynamicBroker => layers.per_broker.get(key).cloned(),
        ConfigSource::DynamicDefault => layers.default.get(key).cloned(),
        ConfigSource::StaticBroker => doc
            .and(layers.config.explicit_value(key))
            .map(str::to_string),
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

/// The synonyms of broker key `name` among `names`: every per-broker dynamic value, every
/// cluster-default one, every explicit one, then every default, with the leading ones that
/// are not `name` dropped (Kafka's `configSynonyms`).
fn synonyms(
    layers: &Effective,
    name: &str,
    names: &[&'static str],
    sensitive: bool,
) -> Vec<Synonym> {
    let mut all = Vec::new();
    for source in [
        ConfigSource::DynamicBroker,
        ConfigSource::DynamicDefault,
        ConfigSource::StaticBroker,
        ConfigSource::Default,
    ] {
        for n in names {
            if let Some(value) = layer_value(layers, source, n) {
                all.push(Synonym {
                    name: n.to_string(),
                    value: (!sensitive).then_some(value),
                    source,
                });
            }
        }
    }
    let first = all.iter().position(|s| s.name == name).unwrap_or(all.len());
    all.split_off(first)
}

/// A broker key's value as set in the highest layer that sets it, else its default.
fn set_value(layers: &Effective, key: &str) -> Option<String> {
    let doc = key_doc(key);
    let raw = layers
        .dynamic_value(key)
        .or_else(|| doc.and(layers.config.explicit_value(key)))
        .or_else(|| doc.and_then(|d| d.default))?;
    Some(doc.map_or_else(|| raw.to_string(), |d| normalize(d.kind, raw)))
}

/// Every broker key this broker acts on, and every dynamic key set for it, as
/// DescribeConfigs(BROKER) reports them for this broker's id.
pub fn broker_entries(layers: &Effective) -> Vec<ConfigEntry> {
    let mut entries: Vec<ConfigEntry> = KEYS
        .iter()
        .map(|d| {
            let synonyms = synonyms(layers, d.key, &broker_synonyms(d.key), false);
            ConfigEntry {
                name: d.key.to_string(),
                value: set_value(layers, d.key),
                source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
                read_only: !is_dynamic(d.key),
                sensitive: false,
                kind: d.kind,
                synonyms,
                doc: d.doc,
            }
        })
        .collect();
    let extra: std::collections::BTreeSet<&String> = layers
        .per_broker
        .keys()
        .chain(layers.default.keys())
        .filter(|k| key_doc(k).is_none())
        .collect();
    entries.extend(extra.into_iter().map(|k| extra_entry(layers, k, true)));
    entries
}

/// The cluster-wide defaults (`<default>`), as DescribeConfigs(BROKER, "") reports them: only
/// what is set there, with only that layer's synonyms.
pub fn default_entries(layers: &Effective) -> Vec<ConfigEntry> {
    layers
        .default
        .keys()
        .map(|k| extra_entry(layers, k, false))
        .collect()
}

/// A dynamic key as DescribeConfigs(BROKER) reports it: for this broker's id (`per_broker`),
/// a key outside the static key table (a quota, a listener's TLS key, a custom key); for
/// `<default>`, any key set there, with that layer's synonyms only.
fn extra_entry(layers: &Effective, key: &str, per_broker: bool) -> ConfigEntry {
    let base = strip_listener_prefix(key).unwrap_or(key);
    let doc = key_doc(base);
    let kind = doc.map_or_else(|| extra_type(key), |d| d.kind);
    // Kafka hides values of passwords and of keys whose type it does not know.
    let sensitive = kind == ValueType::Password || (doc.is_none() && kind == ValueType::String);
    let names: Vec<String> = match key_doc(key) {
        Some(d) => broker_synonyms(d.key)
            .into_iter()
            .map(str::to_string)
            .collect(),
        None => vec![key.to_string()],
    };
    let mut synonyms = Vec::new();
    for (source, map) in [
        (ConfigSource::DynamicBroker, &layers.per_broker),
        (ConfigSource::DynamicDefault, &layers.default),
    ] {
        if !per_broker && source == ConfigSource::DynamicBroker {
            continue;
        }
        for n in &names {
            if let Some(value) = map.get(n) {
                synonyms.push(Synonym {
                    name: n.clone(),
                    value: (!sensitive).then(|| value.clone()),
                    source,
                });
            }
        }
    }
    let first = synonyms.iter().position(|s| s.name == key).unwrap_or(0);
    synonyms.drain(..first);
    let value = if per_broker {
        layers.dynamic_value(key)
    } else {
        layers.default.get(key).map(String::as_str)
    };
    ConfigEntry {
        name: key.to_string(),
        value: value
            .filter(|_| !sensitive)
            .map(|v| doc.map_or_else(|| v.to_string(), |d| normalize(d.kind, v))),
        source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
        read_only: !is_dynamic(key),
        sensitive,
        kind,
        synonyms,
        doc: doc.map_or("", |d| d.doc),
    }
}

/// Every topic config of a topic with `overrides`, as DescribeConfigs(TOPIC) and CreateTopics
/// v5+ report them.
pub fn topic_entries(layers: &Effective, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
    TOPIC_KEYS
        .iter()
        .map(|key| {
            let mut synonyms = key
                .synonym
                .map(|s| synonyms(layers, s, &broker_synonyms(s), false))
                .unwrap_or_default();
            let value = match overrides.get(key.name) {
                Some(raw) => {
                    let value = normalize(key.kind, raw);
                    synonyms.insert(
                        0,
                        Synonym {
                            name: key.name.to_string(),
                            value: Some(value.clone()),
                            source: ConfigSource::Topic,
                        },
                    );
                    value
                }
                None => broker_value(layers, key),
            };
            ConfigEntry {
                name: key.name.to_string(),
                value: Some(value),
                source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
                read_only: false,
                sensitive: false,
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
fn broker_value(layers: &Effective, key: &TopicKey) -> String {
    let config: &BrokerConfig = &layers.config;
    match key.name {
        "retention.ms" => config.log_retention_ms.unwrap_or(-1).to_string(),
        "segment.ms" => config
            .log_roll_ms
            .map_or_else(|| key.default.to_string(), |ms| ms.to_string()),
        "flush.ms" => config
            .log_flush_interval_ms
            .map_or_else(|| key.default.to_string(), |ms| ms.to_string()),
        _ => match key.synonym.and_then(key_doc) {
            Some(d) => set_value(layers, d.key)
                .map_or_else(|| key.default.to_string(), |raw| normalize(key.kind, &raw)),
            None => key.default.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
