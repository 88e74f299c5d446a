//! Listeners, advertised listeners, the listener → security protocol map and the
//! inter-broker listener, validated together because each refers to the others.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use super::error::ConfigError;
use super::layers::{Raw, Settings};

/// One `NAME://host:port` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener {
    /// Listener name, upper-cased (e.g. `PLAINTEXT`, `INTERNAL`).
    pub name: String,
    /// Host or IP, without IPv6 brackets; empty means all interfaces (bind side only).
    pub host: String,
    /// TCP port; 0 in `listeners` binds an ephemeral port.
    pub port: u16,
}

impl Listener {
    /// Whether the host binds every interface, which cannot be advertised to clients.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.host.as_str(), "" | "0.0.0.0" | "::")
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

/// Kafka's security protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections authenticate with SASL first (SASL_PLAINTEXT, SASL_SSL).
    pub fn is_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Kafka's name for the protocol, as written in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl SecurityProtocol {
    /// Whether the protocol runs over TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityProtocol {
    type Err = ();

    /// Case-insensitive, like Kafka's `SecurityProtocol.forName`.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(()),
        }
    }
}

const PROTOCOLS: &str = "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL";
const LISTENER_FORMAT: &str = "a comma list of NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092";

/// All endpoint-related settings, resolved and cross-checked.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) listeners: Vec<Listener>,
    pub(crate) advertised: Vec<Listener>,
    pub(crate) protocol_map: BTreeMap<String, SecurityProtocol>,
    pub(crate) inter_broker: String,
}

/// Resolves listeners, advertised listeners, the protocol map and the inter-broker
/// listener. `hostname` replaces wildcard hosts when advertising.
pub(crate) fn resolve(s: &Settings, hostname: &str) -> Result<Endpoints, ConfigError> {
    let listeners_raw = s.get("listeners")?;
    let listeners = match (s.explicit("listeners"), s.explicit("advertised.listeners")) {
        // cp-kafka's rule, which docker-compose files written for that image rely on: without
        // `listeners`, bind every advertised listener's port on all interfaces.
        (None, Some(advertised)) => parse_listeners(advertised)?
            .into_iter()
            .map(|l| Listener {
                host: "0.0.0.0".to_string(),
                ..l
            })
            .collect(),
        _ => {
            let listeners = parse_listeners(listeners_raw)?;
            check_unique_ports(listeners_raw, &listeners)?;
            listeners
        }
    };
    let protocol_map = parse_protocol_map(s.get("listener.security.protocol.map")?)?;
    check_mapped(s, &listeners, &protocol_map)?;
    let advertised = advertised(s, &listeners, hostname)?;
    let inter_broker = inter_broker_listener(s, &advertised)?;
    Ok(Endpoints {
        listeners,
        advertised,
        protocol_map,
        inter_broker,
    })
}

/// Parses `NAME://host:port[,...]`, upper-casing names and requiring them to be unique.
fn parse_listeners(raw: Raw<'_>) -> Result<Vec<Listener>, ConfigError> {
    let items = raw.list();
    if items.is_empty() {
        return Err(raw.invalid(LISTENER_FORMAT));
    }
    let listeners = items
        .iter()
        .map(|item| parse_endpoint(item).ok_or_else(|| raw.invalid(LISTENER_FORMAT)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names = BTreeSet::new();
    for l in &listeners {
        if !names.insert(l.name.as_str()) {
            return Err(raw.invalid(format!("unique listener names ({} repeats)", l.name)));
        }
    }
    Ok(listeners)
}

/// Parses one endpoint; IPv6 hosts are bracketed (`[::1]:9092`).
fn parse_endpoint(item: &str) -> Option<Listener> {
    let (name, rest) = item.split_once("://")?;
    let name = name.trim().to_ascii_uppercase();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let (host, port) = match rest.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':')?)
        }
        None => rest.rsplit_once(':').filter(|(h, _)| !h.contains(':'))?,
    };
    let host_ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._:%".contains(c));
    let port = port.parse::<u16>().ok()?;
    (name_ok && host_ok).then(|| Listener {
        name,
        host: host.to_owned(),
        port,
    })
}

/// Two listeners cannot bind the same port (0, "any free port", may repeat).
fn check_unique_ports(raw: Raw<'_>, listeners: &[Listener]) -> Result<(), ConfigError> {
    let mut ports = BTreeSet::new();
    for l in listeners.iter().filter(|l| l.port != 0) {
        if !ports.insert(l.port) {
            return Err(raw.invalid(format!("unique listener ports ({} repeats)", l.port)));
        }
    }
    Ok(())
}

/// Parses `NAME:PROTOCOL[,...]`.
fn parse_protocol_map(raw: Raw<'_>) -> Result<BTreeMap<String, SecurityProtocol>, ConfigError> {
    let expected = || {
        raw.invalid(format!(
            "a comma list of LISTENER_NAME:PROTOCOL where PROTOCOL is {PROTOCOLS}"
        ))
    };
    let mut map = BTreeMap::new();
    for item in raw.list() {
        let (name, protocol) = item.split_once(':').ok_or_else(expected)?;
        let name = name.trim().to_ascii_uppercase();
        let protocol = protocol.parse().map_err(|()| expected())?;
        if name.is_empty() || map.insert(name, protocol).is_some() {
            return Err(expected());
        }
    }
    Ok(map)
}

/// Every listener needs a protocol (all four of Kafka's are served).
fn check_mapped(
    s: &Settings,
    listeners: &[Listener],
    map: &BTreeMap<String, SecurityProtocol>,
) -> Result<(), ConfigError> {
    for l in listeners {
        if !map.contains_key(&l.name) {
            let raw = s.get("listener.security.protocol.map")?;
            return Err(raw.invalid(format!("an entry for listener {}", l.name)));
        }
    }
    Ok(())
}

/// `advertised.listeners`, or `listeners` with wildcard hosts replaced by `hostname`.
///
/// An explicit empty host is also replaced (Kafka registers the canonical host name then),
/// but an explicit 0.0.0.0 is refused: clients would try to connect to it.
fn advertised(
    s: &Settings,
    listeners: &[Listener],
    hostname: &str,
) -> Result<Vec<Listener>, ConfigError> {
    let Some(raw) = s.explicit("advertised.listeners") else {
        return Ok(listeners
            .iter()
            .map(|l| with_host_if_wildcard(l, hostname))
            .collect());
    };
    let advertised = parse_listeners(raw)?;
    for l in &advertised {
        if l.is_wildcard() && !l.host.is_empty() {
            return Err(raw.invalid(format!(
                "a routable host for {} (not the wildcard address {})",
                l.name, l.host
            )));
        }
        if l.port == 0 {
            return Err(raw.invalid(format!("a port from 1 to 65535 for {}", l.name)));
        }
        if !listeners.iter().any(|b| b.name == l.name) {
            return Err(raw.invalid(format!(
                "only listener names defined in listeners ({} is not)",
                l.name
            )));
        }
    }
    Ok(advertised
        .iter()
        .map(|l| with_host_if_wildcard(l, hostname))
        .collect())
}

fn with_host_if_wildcard(l: &Listener, hostname: &str) -> Listener {
    let mut l = l.clone();
    if l.is_wildcard() {
        l.host = hostname.to_owned();
    }
    l
}

/// `inter.broker.listener.name`, else the listener named after
/// `security.inter.broker.protocol`; it must be advertised so peers can reach it.
fn inter_broker_listener(s: &Settings, advertised: &[Listener]) -> Result<String, ConfigError> {
    let protocol_raw = s.get("security.inter.broker.protocol")?;
    protocol_raw
        .value
        .parse::<SecurityProtocol>()
        .map_err(|()| protocol_raw.invalid(PROTOCOLS))?;
    let raw = match s.explicit("inter.broker.listener.name") {
        Some(name) if s.explicit("security.inter.broker.protocol").is_some() => {
            return Err(name.invalid(
                "only one of inter.broker.listener.name and security.inter.broker.protocol",
            ))
        }
        Some(name) => name,
        None => protocol_raw,
    };
    let name = raw.value.trim().to_ascii_uppercase();
    if advertised.iter().any(|l| l.name == name) {
        return Ok(name);
    }
    let names: Vec<&str> = advertised.iter().map(|l| l.name.as_str()).collect();
    Err(raw.invalid(format!(
        "the name of one of advertised.listeners ({})",
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(name: &str, host: &str, port: u16) -> Listener {
        Listener {
            name: name.into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            parse_endpoint("plaintext://:9092"),
            Some(l("PLAINTEXT", "", 9092))
        );
        assert_eq!(
            parse_endpoint("IN://10.0.0.1:1"),
            Some(l("IN", "10.0.0.1", 1))
        );
        assert_eq!(parse_endpoint("X://[::1]:9"), Some(l("X", "::1", 9)));
        assert_eq!(l("X", "::1", 9).to_string(), "X://[::1]:9");
        for bad in [
            "PLAINTEXT://h",
            "://h:1",
            "P://h:70000",
            "P://::1:9",
            "h:1",
            "P Q://h:1",
        ] {
            assert_eq!(parse_endpoint(bad), None, "{bad}");
        }
    }

    #[test]
    fn protocol_names() {
        assert_eq!("sasl_ssl".parse(), Ok(SecurityProtocol::SaslSsl));
        assert_eq!(SecurityProtocol::SaslPlaintext.as_str(), "SASL_PLAINTEXT");
        assert!("TLS".parse::<SecurityProtocol>().is_err());
    }
}
