//! Which broker keys can change without a restart, at which level, and Kafka's checks of a
//! requested change (`DynamicBrokerConfig.validateConfigs`), with its messages.
//!
//! The dynamic keys are Kafka's (`DynamicBrokerConfig.AllDynamicConfigs` and the broker quota
//! keys) that this broker acts on, or accepts and ignores statically too. Kafka keys that are
//! dynamic in Kafka but static here (`listeners`, `advertised.listeners`,
//! `listener.security.protocol.map`, `sasl.*`, `unclean.leader.election.enable`) are refused as
//! non-dynamic. Keys Kafka does not know are accepted and stored, as Kafka accepts custom
//! configs.

use std::collections::BTreeMap;

use crate::config::{is_known_key, strip_listener_prefix, ValueType};

/// Kafka's broker-level defaults of topic configs (the first synonym of each), plus the
/// cleaner's and the other cluster-wide keys, that this broker applies at run time.
const CLUSTER_WIDE: &[&str] = &[
    "log.segment.bytes",
    "log.roll.ms",
    "log.retention.ms",
    "log.retention.bytes",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.cleanup.policy",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.delete.retention.ms",
    "log.message.timestamp.type",
    "message.max.bytes",
    "min.insync.replicas",
    "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.backoff.ms",
];

/// Dynamic in Kafka and accepted without effect, as in the static file.
const IGNORED_DYNAMIC: &[&str] = &[
    "log.segment.delete.delay.ms",
    "log.preallocate",
    "compression.type",
    "num.io.threads",
    "num.network.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
    "max.connections",
    "max.connections.per.ip",
    "metric.reporters",
    "producer.id.expiration.ms",
];

/// The broker quota keys (Kafka's `QuotaConfig.brokerQuotaConfigs`): bytes per second, only
/// ever dynamic. The replication throttle follows the first two.
pub const QUOTA_KEYS: &[&str] = &[
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

/// Kafka's `SslConfigs.RECONFIGURABLE_CONFIGS`: a listener's key material, changeable per
/// listener and per broker.
const SSL_RECONFIGURABLE: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.truststore.certificates",
];

/// The `PASSWORD`-typed ones among them: Kafka stores those only encrypted with
/// `password.encoder.secret`.
const SSL_PASSWORDS: &[&str] = &[
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.truststore.certificates",
];

/// What a key is, for a dynamic change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    /// Changeable for the cluster (`<default>`) or one broker.
    ClusterWide,
    /// Changeable for one broker only (listener-prefixed TLS material).
    PerBroker,
    /// A Kafka key that only the static config sets.
    NotDynamic,
    /// A listener's TLS key without the `listener.name.<l>.` prefix.
    NeedsListenerPrefix,
    /// A listener key Kafka cannot change for an existing listener (`ssl.client.auth`, ...).
    FixedForListener,
    /// Not a Kafka key: stored and ignored.
    Custom,
}

/// Classifies `key` as Kafka's `DynamicBrokerConfig` would.
pub fn classify(key: &str) -> KeyClass {
    if CLUSTER_WIDE.contains(&key) || IGNORED_DYNAMIC.contains(&key) || QUOTA_KEYS.contains(&key) {
        return KeyClass::ClusterWide;
    }
    if let Some(base) = strip_listener_prefix(key) {
        if SSL_RECONFIGURABLE.contains(&base) {
            return KeyClass::PerBroker;
        }
        if base.starts_with("ssl.") || base.starts_with("sasl.") || base.contains(".sasl.") {
            return KeyClass::FixedForListener;
        }
        return KeyClass::Custom;
    }
    if SSL_RECONFIGURABLE.contains(&key) {
        return KeyClass::NeedsListenerPrefix;
    }
    if is_known_key(key) {
        return KeyClass::NotDynamic;
    }
    KeyClass::Custom
}

/// Whether Kafka stores `key` only encrypted (its `isPasswordConfig`).
pub fn is_password(key: &str) -> bool {
    SSL_PASSWORDS.iter().any(|p| key.ends_with(p))
}

/// Whether `key` is dynamic (changeable without a restart) here: what DescribeConfigs reports
/// as `read_only = false`.
pub fn is_dynamic(key: &str) -> bool {
    matches!(classify(key), KeyClass::ClusterWide | KeyClass::PerBroker)
}

/// The type DescribeConfigs gives a dynamic key that is not in the static key table.
pub fn extra_type(key: &str) -> ValueType {
    if QUOTA_KEYS.contains(&key) {
        ValueType::Long
    } else if is_password(key) {
        ValueType::Password
    } else {
        ValueType::String
    }
}

/// Why a requested change is refused; `Display` is Kafka's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DynamicConfigError {
    #[error("Cannot update these configs dynamically: {}", scala_set(.0))]
    NotDynamic(Vec<String>),
    #[error("These security configs can be dynamically updated only per-listener using the listener prefix: {}", scala_set(.0))]
    NeedsListenerPrefix(Vec<String>),
    #[error("Cannot update these configs at default cluster level, broker id must be specified: {}", scala_set(.0))]
    PerBrokerAtDefault(Vec<String>),
    #[error("Configs cannot be updated dynamically for existing listener {listener}, restart broker or create a new listener for update")]
    FixedForListener { listener: String },
    /// A value that does not parse or is out of range (Kafka's `ConfigDef` message).
    #[error("Invalid value {value} for configuration {key}: {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: String,
    },
    /// A component refused the new values (Kafka wraps the cause the same way).
    #[error("Invalid dynamic configuration")]
    Reconfiguration(String),
    /// Passwords are stored encrypted with `password.encoder.secret`, which this broker has
    /// no encoder for.
    #[error("Password encoder secret not configured")]
    NoPasswordEncoder,
}

/// Kafka prints the offending names as a Scala `Set`.
fn scala_set(names: &[String]) -> String {
    format!("Set({})", names.join(", "))
}

/// The name checks of Kafka's `validateConfigs`, in its order: non-dynamic keys, unprefixed
/// security keys, listener keys fixed for a listener, and (for `<default>`) per-broker keys.
pub fn check_names(
    configs: &BTreeMap<String, String>,
    per_broker: bool,
) -> Result<(), DynamicConfigError> {
    let of = |class: KeyClass| -> Vec<String> {
        configs
            .keys()
            .filter(|k| classify(k) == class)
            .cloned()
            .collect()
    };
    let not_dynamic = of(KeyClass::NotDynamic);
    if !not_dynamic.is_empty() {
        return Err(DynamicConfigError::NotDynamic(not_dynamic));
    }
    let unprefixed = of(KeyClass::NeedsListenerPrefix);
    if !unprefixed.is_empty() {
        return Err(DynamicConfigError::NeedsListenerPrefix(unprefixed));
    }
    if let Some(key) = of(KeyClass::FixedForListener).first() {
        let listener = key
            .strip_prefix("listener.name.")
            .and_then(|r| r.split_once('.'))
            .map_or("", |(l, _)| l);
        return Err(DynamicConfigError::FixedForListener {
            listener: listener.to_ascii_uppercase(),
        });
    }
    let per_broker_keys = of(KeyClass::PerBroker);
    if !per_broker && !per_broker_keys.is_empty() {
        return Err(DynamicConfigError::PerBrokerAtDefault(per_broker_keys));
    }
    Ok(())
}

/// The quota keys' values: a long of at least 0, as Kafka's `ConfigDef` checks them.
pub fn check_quota_values(configs: &BTreeMap<String, String>) -> Result<(), DynamicConfigError> {
    for key in QUOTA_KEYS {
        let Some(value) = configs.get(*key) else {
            continue;
        };
        let invalid = |expected: &str| DynamicConfigError::InvalidValue {
            key: key.to_string(),
            value: value.clone(),
            expected: expected.to_string(),
        };
        match value.trim().parse::<i64>() {
            Ok(n) if n >= 0 => {}
            Ok(_) => return Err(invalid("Value must be at least 0")),
            Err(_) => return Err(invalid("Not a number of type LONG")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pairs: &[&str]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|k| (k.to_string(), "1".to_string()))
            .collect()
    }

    #[test]
    fn keys_are_classified_as_kafka_does() {
        assert_eq!(classify("log.retention.ms"), KeyClass::ClusterWide);
        assert_eq!(classify("message.max.bytes"), KeyClass::ClusterWide);
        assert_eq!(
            classify("leader.replication.throttled.rate"),
            KeyClass::ClusterWide
        );
        assert_eq!(classify("broker.id"), KeyClass::NotDynamic);
        assert_eq!(classify("log.dirs"), KeyClass::NotDynamic);
        // Kafka makes only the first synonym of a topic default dynamic.
        assert_eq!(classify("log.retention.hours"), KeyClass::NotDynamic);
        assert_eq!(
            classify("ssl.keystore.location"),
            KeyClass::NeedsListenerPrefix
        );
        assert_eq!(
            classify("listener.name.ssl.ssl.keystore.location"),
            KeyClass::PerBroker
        );
        assert_eq!(
            classify("listener.name.ssl.ssl.client.auth"),
            KeyClass::FixedForListener
        );
        assert_eq!(classify("my.custom.key"), KeyClass::Custom);
        assert!(is_password("listener.name.ssl.ssl.key.password"));
        assert!(!is_password("listener.name.ssl.ssl.keystore.location"));
    }

    #[test]
    fn names_are_checked_in_kafkas_order_with_its_messages() {
        let e = check_names(
            &names(&["log.dirs", "broker.id", "message.max.bytes"]),
            true,
        );
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("Cannot update these configs dynamically: Set(broker.id, log.dirs)".into())
        );
        let e = check_names(&names(&["ssl.keystore.location"]), true);
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("These security configs can be dynamically updated only per-listener using the listener prefix: Set(ssl.keystore.location)".into())
        );
        let tls = names(&["listener.name.ssl.ssl.keystore.location"]);
        assert_eq!(check_names(&tls, true), Ok(()));
        assert_eq!(
            check_names(&tls, false).map_err(|e| e.to_string()),
            Err("Cannot update these configs at default cluster level, broker id must be specified: Set(listener.name.ssl.ssl.keystore.location)".into())
        );
        assert_eq!(
            check_names(&names(&["x.y", "log.cleaner.threads"]), false),
            Ok(())
        );
    }

    #[test]
    fn quota_values_are_non_negative_longs() {
        let mut c = BTreeMap::from([(
            "leader.replication.throttled.rate".to_string(),
            "1000".to_string(),
        )]);
        assert_eq!(check_quota_values(&c), Ok(()));
        c.insert("follower.replication.throttled.rate".into(), "-1".into());
        assert_eq!(
            check_quota_values(&c).map_err(|e| e.to_string()),
            Err("Invalid value -1 for configuration follower.replication.throttled.rate: Value must be at least 0".into())
        );
    }
}
