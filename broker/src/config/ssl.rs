//! The `ssl.*` settings of each TLS listener (SSL and SASL_SSL), as Kafka names them.
//!
//! Every key can be given per listener with Kafka's prefix `listener.name.<listener>.`
//! (the listener name in lower case), which wins over the unprefixed key. Only PEM material
//! is supported: a JKS or PKCS12 store is refused at start-up with a message naming PEM.
//! What is checked here is the shape of the values; the PEM files themselves are read (and
//! re-read on change) by `crate::tls`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::ConfigError;
use super::layers::{Raw, Settings};
use super::listener::SecurityProtocol;

/// Where a listener's private key and certificate chain come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// `ssl.keystore.location`: one PEM file with the private key and the chain.
    File(PathBuf),
    /// `ssl.keystore.certificate.chain` and `ssl.keystore.key`: PEM text in the values.
    Inline { chain: String, key: String },
}

/// Where the certificates that verify peers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustStore {
    /// `ssl.truststore.location`: a PEM file of CA certificates.
    File(PathBuf),
    /// `ssl.truststore.certificates`: PEM text in the value.
    Inline(String),
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    None,
    /// A certificate is asked for; a client without one is still served (as User:ANONYMOUS).
    Requested,
    /// A client without a valid certificate fails the handshake.
    Required,
}

/// A TLS protocol version of `ssl.enabled.protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// One TLS listener's settings (or, for the inter-broker client, the inter-broker listener's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslConfig {
    /// Listener name, upper-case.
    pub listener: String,
    /// `None` only where no keystore is configured (then the listener cannot serve TLS, which
    /// [`resolve`] refuses; the inter-broker client just presents no certificate).
    pub keystore: Option<KeyStore>,
    /// `ssl.key.password`: decrypts an encrypted PKCS#8 key.
    pub key_password: Option<String>,
    pub truststore: Option<TrustStore>,
    pub client_auth: ClientAuth,
    /// Never empty.
    pub enabled_protocols: Vec<TlsVersion>,
    /// IANA names as written in `ssl.cipher.suites`; empty: the TLS library's defaults.
    /// The names are checked against the suites the TLS stack has when the listener starts.
    pub cipher_suites: Vec<String>,
    /// `ssl.endpoint.identification.algorithm` is `https`: as a client, check the peer's
    /// certificate against the host name connected to.
    pub verify_hostname: bool,
    /// `ssl.principal.mapping.rules`, as written (checked to parse).
    pub principal_mapping_rules: String,
}

/// The settings of every listener whose protocol uses TLS, by listener name.
pub(crate) fn resolve(
    s: &Settings,
    protocols: &BTreeMap<String, SecurityProtocol>,
    listeners: &[super::Listener],
) -> Result<BTreeMap<String, SslConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    for l in listeners {
        if !matches!(
            protocols.get(&l.name),
            Some(SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
        ) {
            continue;
        }
        let config = for_listener(s, &l.name)?;
        if config.keystore.is_none() {
            return Err(ConfigError::Tls {
                listener: l.name.clone(),
                message: format!(
                    "set ssl.keystore.type=PEM and ssl.keystore.location (a PEM file with the \
                     key and the certificate chain), or ssl.keystore.certificate.chain with \
                     ssl.keystore.key; per listener as listener.name.{}.ssl.*",
                    l.name.to_ascii_lowercase()
                ),
            });
        }
        out.insert(l.name.clone(), config);
    }
    Ok(out)
}

/// The value of `key` for `listener`: the `listener.name.<listener>.` key if set, else the
/// plain key (which falls back to its documented default).
fn get<'a>(s: &'a Settings, listener: &str, key: &str) -> Result<Raw<'a>, ConfigError> {
    let prefixed = format!("listener.name.{}.{key}", listener.to_ascii_lowercase());
    match s.explicit(&prefixed) {
        Some(raw) => Ok(raw),
        None => s.get(key),
    }
}

/// Like [`get`], but `None` when neither key is set or the value is blank.
fn optional<'a>(s: &'a Settings, listener: &str, key: &str) -> Option<Raw<'a>> {
    get(s, listener, key)
        .ok()
        .filter(|raw| !raw.value.trim().is_empty())
}

/// Reads one listener's `ssl.*` settings (no check that a keystore is present).
pub(crate) fn for_listener(s: &Settings, listener: &str) -> Result<SslConfig, ConfigError> {
    Ok(SslConfig {
        listener: listener.to_ascii_uppercase(),
        keystore: keystore(s, listener)?,
        key_password: optional(s, listener, "ssl.key.password").map(|r| r.value.to_owned()),
        truststore: truststore(s, listener)?,
        client_auth: client_auth(get(s, listener, "ssl.client.auth")?)?,
        enabled_protocols: protocols(get(s, listener, "ssl.enabled.protocols")?)?,
        cipher_suites: get(s, listener, "ssl.cipher.suites")?
            .list()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        verify_hostname: endpoint_identification(get(
            s,
            listener,
            "ssl.endpoint.identification.algorithm",
        )?)?,
        principal_mapping_rules: mapping_rules(get(s, listener, "ssl.principal.mapping.rules")?)?,
    })
}

/// Only PEM stores: anything else is an error that says how to convert.
fn require_pem(raw: Raw<'_>) -> Result<(), ConfigError> {
    if raw.value.trim().eq_ignore_ascii_case("PEM") {
        return Ok(());
    }
    Err(raw.invalid(
        "PEM (JKS and PKCS12 stores are not supported: convert them to PEM, e.g. with \
         `keytool -importkeystore` and `openssl pkcs12 -nodes`, and set the type to PEM)",
    ))
}

fn keystore(s: &Settings, listener: &str) -> Result<Option<KeyStore>, ConfigError> {
    let location = optional(s, listener, "ssl.keystore.location");
    let chain = optional(s, listener, "ssl.keystore.certificate.chain");
    let key = optional(s, listener, "ssl.keystore.key");
    if location.is_none() && chain.is_none() && key.is_none() {
        return Ok(None);
    }
    require_pem(get(s, listener, "ssl.keystore.type")?)?;
    match (location, chain, key) {
        (Some(location), None, None) => Ok(Some(KeyStore::File(location.value.trim().into()))),
        (None, Some(chain), Some(key)) => Ok(Some(KeyStore::Inline {
            chain: chain.value.to_owned(),
            key: key.value.to_owned(),
        })),
        (Some(location), _, _) => Err(location.invalid(
            "either a keystore file or ssl.keystore.certificate.chain with ssl.keystore.key, \
             not both",
        )),
        (None, Some(raw), None) | (None, None, Some(raw)) => Err(raw
            .invalid("both ssl.keystore.certificate.chain and ssl.keystore.key (one is missing)")),
        (None, None, None) => Ok(None),
    }
}

fn truststore(s: &Settings, listener: &str) -> Result<Option<TrustStore>, ConfigError> {
    let location = optional(s, listener, "ssl.truststore.location");
    let inline = optional(s, listener, "ssl.truststore.certificates");
    if location.is_none() && inline.is_none() {
        return Ok(None);
    }
    require_pem(get(s, listener, "ssl.truststore.type")?)?;
    match (location, inline) {
        (Some(l), None) => Ok(Some(TrustStore::File(l.value.trim().into()))),
        (None, Some(c)) => Ok(Some(TrustStore::Inline(c.value.to_owned()))),
        (Some(l), Some(_)) => {
            Err(l
                .invalid("either ssl.truststore.location or ssl.truststore.certificates, not both"))
        }
        (None, None) => Ok(None),
    }
}

fn client_auth(raw: Raw<'_>) -> Result<ClientAuth, ConfigError> {
    match raw.value.trim().to_ascii_lowercase().as_str() {
        "none" | "" => Ok(ClientAuth::None),
        "requested" => Ok(ClientAuth::Requested),
        "required" => Ok(ClientAuth::Required),
        _ => Err(raw.invalid("none, requested or required")),
    }
}

fn protocols(raw: Raw<'_>) -> Result<Vec<TlsVersion>, ConfigError> {
    const EXPECTED: &str = "a comma list of TLSv1.2 and TLSv1.3 (older versions are not supported)";
    let mut versions = Vec::new();
    for item in raw.list() {
        let v = match item {
            "TLSv1.2" => TlsVersion::Tls12,
            "TLSv1.3" => TlsVersion::Tls13,
            _ => return Err(raw.invalid(EXPECTED)),
        };
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    if versions.is_empty() {
        return Err(raw.invalid(EXPECTED));
    }
    versions.sort_unstable();
    Ok(versions)
}

fn endpoint_identification(raw: Raw<'_>) -> Result<bool, ConfigError> {
    match raw.value.trim().to_ascii_lowercase().as_str() {
        "https" => Ok(true),
        "" => Ok(false),
        _ => Err(raw.invalid("https, or empty to not verify host names")),
    }
}

fn mapping_rules(raw: Raw<'_>) -> Result<String, ConfigError> {
    crate::tls::principal::PrincipalMapper::parse(raw.value).map_err(|e| {
        raw.invalid(format!(
            "Kafka's DEFAULT and RULE:pattern/replacement/[LU] rules ({e})"
        ))
    })?;
    Ok(raw.value.to_owned())
}

/// Whether `key` is `listener.name.<listener>.<known key>`: per-listener keys are known keys.
pub(crate) fn strip_listener_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("listener.name.")?;
    let (listener, key) = rest.split_once('.')?;
    (!listener.is_empty()).then_some(key)
}
