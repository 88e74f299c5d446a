//! SASL settings of the SASL_PLAINTEXT / SASL_SSL listeners, with Kafka's keys:
//!
//! - `sasl.enabled.mechanisms`, overridden per listener by
//!   `listener.name.<listener>.sasl.enabled.mechanisms`;
//! - `listener.name.<listener>.<mechanism>.sasl.jaas.config` (listener and mechanism in lower
//!   case, e.g. `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config`). As in Kafka, a
//!   broker ignores the unprefixed `sasl.jaas.config` (with a warning). PLAIN's users are the
//!   `user_<name>="<password>"` options; the `username`/`password` options of the inter-broker
//!   listener's mechanism are what this broker sends to other brokers.
//! - `sasl.mechanism.inter.broker.protocol`, used when the inter-broker listener is SASL.
//! - `sasl.server.max.receive.size`: the largest SASL token accepted before authentication.
//!
//! GSSAPI and OAUTHBEARER (Kafka's defaults for the first and third key) are refused at
//! start-up with the mechanisms that are served.

use std::collections::BTreeMap;
use std::fmt;

use ::sasl::jaas::{self, LoginModule};
use ::sasl::Mechanism;

use super::error::ConfigError;
use super::layers::{Raw, Settings};
use super::listener::Endpoints;

const SERVED: &str = "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512";
const PLAIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";

/// What one SASL listener accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct ListenerSasl {
    /// Enabled mechanisms, in configured order (what UNSUPPORTED_SASL_MECHANISM lists).
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN users: `user_<name>` options of the listener's PLAIN JAAS config.
    pub plain_users: BTreeMap<String, String>,
}

impl fmt::Debug for ListenerSasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerSasl")
            .field("mechanisms", &self.mechanisms)
            .field("plain_users", &self.plain_users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// How this broker authenticates to the others' inter-broker listener.
pub type InterBrokerSasl = kafka_client::SaslCredentials;

/// All SASL settings, resolved against the listeners.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaslConfig {
    /// Per SASL listener (upper-case name, as in `listeners`).
    pub listeners: BTreeMap<String, ListenerSasl>,
    /// `Some` when the inter-broker listener is SASL.
    pub inter_broker: Option<InterBrokerSasl>,
    /// `sasl.server.max.receive.size`.
    pub max_receive_size: usize,
}

impl SaslConfig {
    /// The settings of `listener` if it is a SASL listener.
    pub fn listener(&self, listener: &str) -> Option<&ListenerSasl> {
        self.listeners.get(&listener.to_ascii_uppercase())
    }
}

/// Whether `key` is one of the listener-prefixed SASL keys (`listener.name.<l>.sasl.enabled.
/// mechanisms`, `listener.name.<l>.<mechanism>.sasl.jaas.config`).
pub(crate) fn is_listener_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("listener.name.") else {
        return false;
    };
    let Some((_listener, tail)) = rest.split_once('.') else {
        return false;
    };
    tail == "sasl.enabled.mechanisms"
        || tail
            .split_once('.')
            .is_some_and(|(mech, k)| !mech.is_empty() && k == "sasl.jaas.config")
}

/// JAAS configs hold passwords: they are kept out of [`super::BrokerConfig::explicit`] (which
/// DescribeConfigs reports and `Debug` prints).
pub(crate) fn holds_passwords(key: &str) -> bool {
    key.ends_with("sasl.jaas.config")
}

/// The warning Kafka gives for an unprefixed `sasl.jaas.config` on a broker.
pub(crate) fn unprefixed_jaas_warning(s: &Settings) -> Option<String> {
    s.explicit("sasl.jaas.config").map(|raw| {
        format!(
            "`sasl.jaas.config` (from {}) is ignored by brokers: prefix it with the listener and \
             mechanism, e.g. listener.name.sasl_plaintext.plain.sasl.jaas.config",
            raw.origin
        )
    })
}

pub(crate) fn resolve(s: &Settings, endpoints: &Endpoints) -> Result<SaslConfig, ConfigError> {
    let mut listeners = BTreeMap::new();
    for l in &endpoints.listeners {
        let is_sasl = endpoints
            .protocol_map
            .get(&l.name)
            .is_some_and(|p| p.is_sasl());
        if is_sasl {
            listeners.insert(l.name.clone(), listener_sasl(s, &l.name)?);
        }
    }
    let inter_broker = match listeners.get(&endpoints.inter_broker) {
        Some(sasl) => Some(inter_broker(s, &endpoints.inter_broker, sasl)?),
        None => None,
    };
    Ok(SaslConfig {
        listeners,
        inter_broker,
        max_receive_size: s.int_between("sasl.server.max.receive.size", 1, 2_147_483_647)?,
    })
}

fn prefix(listener: &str) -> String {
    format!("listener.name.{}.", listener.to_ascii_lowercase())
}

/// A listener-prefixed key, matched case-insensitively on the listener name.
fn prefixed<'a>(s: &'a Settings, listener: &str, key: &str) -> Option<Raw<'a>> {
    s.explicit(&format!("{}{key}", prefix(listener)))
        .or_else(|| s.explicit(&format!("listener.name.{listener}.{key}")))
}

fn mechanism(raw: Raw<'_>, name: &str) -> Result<Mechanism, ConfigError> {
    Mechanism::from_name(name).ok_or_else(|| {
        let what = match name {
            "GSSAPI" | "OAUTHBEARER" => format!("{SERVED} ({name} is not supported)"),
            _ => SERVED.to_string(),
        };
        raw.invalid(what)
    })
}

fn listener_sasl(s: &Settings, listener: &str) -> Result<ListenerSasl, ConfigError> {
    let raw = match prefixed(s, listener, "sasl.enabled.mechanisms") {
        Some(raw) => raw,
        None => s.get("sasl.enabled.mechanisms")?,
    };
    let mut mechanisms = Vec::new();
    for name in raw.list() {
        let m = mechanism(raw, name)?;
        if !mechanisms.contains(&m) {
            mechanisms.push(m);
        }
    }
    if mechanisms.is_empty() {
        return Err(raw.invalid(format!("at least one of {SERVED} for listener {listener}")));
    }
    let mut plain_users = BTreeMap::new();
    for &m in &mechanisms {
        let module = jaas_module(s, listener, m)?;
        if m == Mechanism::Plain {
            let Some(module) = module else {
                return Err(missing_jaas(listener, m));
            };
            for (key, value) in &module.options {
                if let Some(user) = key.strip_prefix("user_") {
                    plain_users.insert(user.to_string(), value.clone());
                }
            }
        }
    }
    Ok(ListenerSasl {
        mechanisms,
        plain_users,
    })
}

fn jaas_key(listener: &str, m: Mechanism) -> String {
    format!(
        "{}{}.sasl.jaas.config",
        prefix(listener),
        m.name().to_ascii_lowercase()
    )
}

fn missing_jaas(listener: &str, m: Mechanism) -> ConfigError {
    ConfigError::Missing {
        key: jaas_key(listener, m),
        env: super::env::key_to_env(&jaas_key(listener, m)),
    }
}

/// The listener's JAAS entry for `m`, if configured: exactly one login module, of the
/// mechanism's class.
fn jaas_module(
    s: &Settings,
    listener: &str,
    m: Mechanism,
) -> Result<Option<LoginModule>, ConfigError> {
    let key = format!("{}.sasl.jaas.config", m.name().to_ascii_lowercase());
    let Some(raw) = prefixed(s, listener, &key) else {
        return Ok(None);
    };
    let mut modules = jaas::parse(raw.value).map_err(|e| raw.invalid_secret(e.to_string()))?;
    let expected = if m.is_scram() {
        SCRAM_MODULE
    } else {
        PLAIN_MODULE
    };
    match modules.pop() {
        Some(module) if modules.is_empty() && module.class == expected => Ok(Some(module)),
        _ => Err(raw.invalid_secret(format!("one {expected} entry"))),
    }
}

fn inter_broker(
    s: &Settings,
    listener: &str,
    sasl: &ListenerSasl,
) -> Result<InterBrokerSasl, ConfigError> {
    let raw = s.get("sasl.mechanism.inter.broker.protocol")?;
    let m = mechanism(raw, raw.value.trim())?;
    if !sasl.mechanisms.contains(&m) {
        return Err(raw.invalid(format!(
            "a mechanism enabled on the inter-broker listener {listener}"
        )));
    }
    let module = jaas_module(s, listener, m)?.ok_or_else(|| missing_jaas(listener, m))?;
    let option = |name: &str| module.options.get(name).cloned();
    match (option("username"), option("password")) {
        (Some(username), Some(password)) => Ok(InterBrokerSasl {
            mechanism: m,
            username,
            password,
        }),
        _ => {
            let key = format!("{}.sasl.jaas.config", m.name().to_ascii_lowercase());
            let raw = prefixed(s, listener, &key).ok_or_else(|| missing_jaas(listener, m))?;
            Err(raw.invalid_secret(
                "username and password options (what this broker sends to the other brokers)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_keys_are_recognised() {
        for key in [
            "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
            "listener.name.internal.plain.sasl.jaas.config",
            "listener.name.x.scram-sha-256.sasl.jaas.config",
        ] {
            assert!(is_listener_key(key), "{key}");
        }
        for key in [
            "sasl.jaas.config",
            "listener.name.x.sasl.jaas.config.extra",
            "listener.name.x..sasl.jaas.config",
            "listener.name.x",
        ] {
            assert!(!is_listener_key(key), "{key}");
        }
    }
}
