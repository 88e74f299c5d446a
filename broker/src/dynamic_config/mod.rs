//! Dynamic broker configs (Kafka's `DynamicBrokerConfig` in ZooKeeper mode): the layer of
//! `/config/brokers/<default>` and `/config/brokers/<id>` over the static config, and the one
//! place that decides a key's effective value.
//!
//! - [`keys`]: which keys are dynamic, at which level, and Kafka's checks and messages.
//! - [`DynamicConfig`]: the current layers and the effective typed config computed from
//!   them ([`Effective`]); components follow it through [`DynamicConfig::subscribe`].
//! - [`reconfigure`]: what changes in the running broker when the effective config does
//!   (log defaults of every partition, the cleaner, TLS listeners).
//!
//! The layers come from ZooKeeper at start-up (before the logs open), on every
//! `/config/changes` notification naming `brokers/...`, and again on a new ZooKeeper session.
//! Precedence: per-broker dynamic > cluster-default dynamic > static > default.

pub mod keys;
pub mod reconfigure;

use std::collections::BTreeMap;
use std::sync::Arc;

use coordinator::broker_config::{broker_config, BrokerEntity};
use coordinator::znode::BrokerConfigZNode;
use coordinator::{Zk, ZkError};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::api::config_defs::type_error;
use crate::config::{key_doc, BrokerConfig, ConfigError, DynamicLayer};
pub use keys::DynamicConfigError;
use keys::{check_names, check_quota_values, classify, KeyClass};

/// The dynamic layers and what they make of the static config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The static config with both layers applied: what components must read for dynamic
    /// keys (`message.max.bytes`, the log defaults, `log.cleaner.*`, listeners' TLS).
    pub config: Arc<BrokerConfig>,
    /// `/config/brokers/<default>` as applied (keys this broker would refuse are left out).
    pub default: BTreeMap<String, String>,
    /// `/config/brokers/<id>` as applied.
    pub per_broker: BTreeMap<String, String>,
}

impl Effective {
    /// `config` alone, without dynamic layers.
    pub fn without_dynamic(config: BrokerConfig) -> Effective {
        Effective {
            config: Arc::new(config),
            default: BTreeMap::new(),
            per_broker: BTreeMap::new(),
        }
    }

    /// A dynamic key's value: per-broker, else the cluster default.
    pub fn dynamic_value(&self, key: &str) -> Option<&str> {
        self.per_broker
            .get(key)
            .or_else(|| self.default.get(key))
            .map(String::as_str)
    }

    /// A broker quota in bytes per second; `None`: unlimited (Kafka's default, Long.MAX_VALUE).
    fn quota(&self, key: &str) -> Option<u64> {
        self.dynamic_value(key)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&v| v < i64::MAX as u64)
    }

    /// `leader.replication.throttled.rate`: what leaders send throttled replicas, bytes/s.
    pub fn leader_replication_throttled_rate(&self) -> Option<u64> {
        self.quota("leader.replication.throttled.rate")
    }

    /// `follower.replication.throttled.rate`: what followers fetch for throttled replicas.
    pub fn follower_replication_throttled_rate(&self) -> Option<u64> {
        self.quota("follower.replication.throttled.rate")
    }
}

/// The broker's dynamic config: one per broker, on `Broker`.
#[derive(Debug)]
pub struct DynamicConfig {
    broker_id: i32,
    /// As loaded from the file, the environment and `--override`.
    static_config: BrokerConfig,
    current: watch::Sender<Arc<Effective>>,
}

/// A static-config error as Kafka's `ConfigDef` words a bad value.
fn invalid(e: ConfigError) -> DynamicConfigError {
    match e {
        ConfigError::Invalid {
            key,
            value,
            expected,
            ..
        } => DynamicConfigError::InvalidValue {
            key,
            value,
            expected: format!("Expected {expected}"),
        },
        other => DynamicConfigError::Reconfiguration(other.to_string()),
    }
}

impl DynamicConfig {
    /// Without dynamic layers (they come with [`DynamicConfig::reload`]).
    pub fn new(broker_id: i32, static_config: BrokerConfig) -> DynamicConfig {
        DynamicConfig {
            broker_id,
            current: watch::Sender::new(Arc::new(Effective::without_dynamic(
                static_config.clone(),
            ))),
            static_config,
        }
    }

    /// The static config alone (the STATIC_BROKER_CONFIG layer).
    pub fn static_config(&self) -> &BrokerConfig {
        &self.static_config
    }

    /// The current layers and effective config.
    pub fn current(&self) -> Arc<Effective> {
        self.current.borrow().clone()
    }

    /// The current effective config (a cheap clone of an `Arc`).
    pub fn config(&self) -> Arc<BrokerConfig> {
        self.current.borrow().config.clone()
    }

    /// Wakes on every change of the effective config or the layers.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Effective>> {
        self.current.subscribe()
    }

    /// Whether `entity` is this broker or the cluster default.
    fn concerns_us(&self, entity: BrokerEntity) -> bool {
        match entity {
            BrokerEntity::Default => true,
            BrokerEntity::Broker(id) => id == self.broker_id,
        }
    }

    /// Reads both layers from ZooKeeper and applies them (start-up, new session).
    pub async fn reload(&self, zk: &Zk) -> Result<(), ZkError> {
        let default = broker_config(zk, BrokerEntity::Default).await?;
        let own = broker_config(zk, BrokerEntity::Broker(self.broker_id)).await?;
        self.apply(BrokerEntity::Default, default);
        self.apply(BrokerEntity::Broker(self.broker_id), own);
        Ok(())
    }

    /// Adopts an entity's configs as stored, as Kafka's `updateBrokerConfig` /
    /// `updateDefaultConfig` do: keys that cannot be set there, and values that do not parse,
    /// are dropped with an error logged; if the rest cannot be applied together, nothing is.
    pub fn apply(&self, entity: BrokerEntity, stored: BTreeMap<String, String>) {
        if !self.concerns_us(entity) {
            return;
        }
        let per_broker = matches!(entity, BrokerEntity::Broker(_));
        let usable = self.applicable(entity, stored);
        let now = self.current();
        let (default, own) = if per_broker {
            (now.default.clone(), usable)
        } else {
            (usable, now.per_broker.clone())
        };
        match self.effective(&default, &own) {
            Ok(config) => {
                let next = Effective {
                    config: Arc::new(config),
                    default,
                    per_broker: own,
                };
                if next != *now {
                    info!(entity = %entity.name(), default = ?keys_of(&next.default), per_broker = ?keys_of(&next.per_broker), "dynamic broker config applied");
                    self.current.send_replace(Arc::new(next));
                }
            }
            Err(e) => {
                error!(entity = %entity.name(), error = %e, "dynamic broker configs could not be applied")
            }
        }
    }

    /// The stored keys that may be applied at that level, each with a value that parses
    /// (Kafka's `fromPersistentProps`).
    pub fn applicable(
        &self,
        entity: BrokerEntity,
        stored: BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let per_broker = matches!(entity, BrokerEntity::Broker(_));
        stored
            .into_iter()
            .filter(|(key, value)| {
                let allowed = match classify(key) {
                    KeyClass::ClusterWide | KeyClass::Custom => true,
                    KeyClass::PerBroker => per_broker && !keys::is_password(key),
                    _ => false,
                };
                let single = BTreeMap::from([(key.clone(), value.clone())]);
                let parses = allowed && self.check_values(&single, entity).is_ok();
                if !parses {
                    warn!(entity = %entity.name(), key, "dynamic broker config ignored: not settable there, or its value is invalid");
                }
                parses
            })
            .collect()
    }

    fn effective(
        &self,
        default: &BTreeMap<String, String>,
        own: &BTreeMap<String, String>,
    ) -> Result<BrokerConfig, DynamicConfigError> {
        let default_path = entity_path(BrokerEntity::Default);
        let own_path = entity_path(BrokerEntity::Broker(self.broker_id));
        self.static_config
            .with_dynamic(&[
                DynamicLayer {
                    path: &default_path,
                    values: default,
                },
                DynamicLayer {
                    path: &own_path,
                    values: own,
                },
            ])
            .map_err(invalid)
    }

    /// Types, quota values and ranges of `configs` as they would be at `entity`'s level.
    fn check_values(
        &self,
        configs: &BTreeMap<String, String>,
        entity: BrokerEntity,
    ) -> Result<BrokerConfig, DynamicConfigError> {
        for (key, value) in configs {
            let kind = key_doc(key).map(|d| d.kind);
            if let Some(expected) = kind.and_then(|k| type_error(k, value)) {
                return Err(DynamicConfigError::InvalidValue {
                    key: key.clone(),
                    value: value.clone(),
                    expected,
                });
            }
        }
        check_quota_values(configs)?;
        let now = self.current();
        match entity {
            BrokerEntity::Default => self.effective(configs, &now.per_broker),
            BrokerEntity::Broker(_) => self.effective(&now.default, configs),
        }
    }

    /// Kafka's `DynamicBrokerConfig.validate`: whether `configs` may replace `entity`'s whole
    /// dynamic config. Refuses non-dynamic keys, misplaced ones, bad values, and changes a
    /// component cannot take (the cleaner's thread count, unusable TLS material).
    pub fn validate(
        &self,
        entity: BrokerEntity,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), DynamicConfigError> {
        check_names(configs, matches!(entity, BrokerEntity::Broker(_)))?;
        let new = self.check_values(configs, entity)?;
        reconfigure::validate(&self.config(), &new)
    }

    /// What is stored for `configs` (Kafka's `toPersistentProps`): passwords would be
    /// encrypted with `password.encoder.secret`, which this broker does not implement.
    pub fn to_persistent(
        configs: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, DynamicConfigError> {
        if configs.keys().any(|k| keys::is_password(k)) {
            return Err(DynamicConfigError::NoPasswordEncoder);
        }
        Ok(configs.clone())
    }
}

fn keys_of(m: &BTreeMap<String, String>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

/// The ZooKeeper name of an entity, for messages.
pub fn entity_path(entity: BrokerEntity) -> String {
    BrokerConfigZNode::path(&entity.name())
}

#[cfg(test)]
mod tests;
