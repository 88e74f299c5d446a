//! A listener's PEM material and the rustls configurations built from it: the listener's
//! server side and the inter-broker client side. Everything here is read afresh on each
//! build, so a reload is just another build. Decoding PEM and the client configuration are
//! `kafka_client::tls`'s (shared with kafka-tools); this module says where the material comes
//! from and names the listener in errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kafka_client::tls::{self as pem, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::config::{ClientAuth, KeyStore, SslConfig, TlsVersion, TrustStore};

/// Why a listener's TLS material cannot be used; names the listener and the file or key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("listener {listener}: cannot read {}: {source}", path.display())]
    Read {
        listener: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("listener {listener}: {what}: {message}")]
    Material {
        listener: String,
        what: String,
        message: String,
    },
}

impl TlsError {
    fn material(c: &SslConfig, what: impl Into<String>, message: impl ToString) -> TlsError {
        TlsError::Material {
            listener: c.listener.clone(),
            what: what.into(),
            message: message.to_string(),
        }
    }
}

/// The files a listener reads its material from (what a reload watches).
pub fn watched_files(c: &SslConfig) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(KeyStore::File(p)) = &c.keystore {
        files.push(p.clone());
    }
    if let Some(TrustStore::File(p)) = &c.truststore {
        files.push(p.clone());
    }
    files
}

fn read(c: &SslConfig, path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        listener: c.listener.clone(),
        path: path.to_owned(),
        source,
    })
}

/// The keystore's (chain, key), or `None` without a keystore.
fn key_material(c: &SslConfig) -> Result<Option<KeyPair>, TlsError> {
    let (chain_pem, key_pem, what) = match &c.keystore {
        None => return Ok(None),
        Some(KeyStore::File(path)) => {
            let text = read(c, path)?;
            (text.clone(), text, format!("keystore {}", path.display()))
        }
        Some(KeyStore::Inline { chain, key }) => (
            chain.clone(),
            key.clone(),
            "ssl.keystore.certificate.chain / ssl.keystore.key".to_owned(),
        ),
    };
    pem::key_pair(&chain_pem, &key_pem, c.key_password.as_deref())
        .map(Some)
        .map_err(|e| TlsError::material(c, what, e))
}

fn trust_roots(c: &SslConfig) -> Result<Option<Arc<RootCertStore>>, TlsError> {
    let (text, what) = match &c.truststore {
        None => return Ok(None),
        Some(TrustStore::File(path)) => (read(c, path)?, format!("truststore {}", path.display())),
        Some(TrustStore::Inline(text)) => (text.clone(), "ssl.truststore.certificates".to_owned()),
    };
    pem::trust_roots(&text)
        .map(Some)
        .map_err(|e| TlsError::material(c, what, e))
}

/// ring's provider with only the configured cipher suites (IANA names, as Kafka takes them).
fn provider(c: &SslConfig) -> Result<Arc<CryptoProvider>, TlsError> {
    let mut provider = pem::ring_provider();
    if !c.cipher_suites.is_empty() {
        let all = provider.cipher_suites.clone();
        let mut chosen = Vec::new();
        for name in &c.cipher_suites {
            let suite = all
                .iter()
                .find(|s| iana_name(s.suite()).as_deref() == Some(name.as_str()))
                .ok_or_else(|| {
                    let known: Vec<String> =
                        all.iter().filter_map(|s| iana_name(s.suite())).collect();
                    TlsError::material(
                        c,
                        "ssl.cipher.suites",
                        format!(
                            "unknown or unsupported suite {name} (supported: {})",
                            known.join(", ")
                        ),
                    )
                })?;
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    Ok(Arc::new(provider))
}

/// IANA's name of a suite: rustls writes TLS 1.3 suites as `TLS13_…`, IANA as `TLS_…`.
pub fn iana_name(suite: rustls::CipherSuite) -> Option<String> {
    let name = suite.as_str()?;
    Some(match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_owned(),
    })
}

fn versions(c: &SslConfig) -> Vec<&'static rustls::SupportedProtocolVersion> {
    c.enabled_protocols
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect()
}

/// A listener's server configuration.
pub fn server_config(c: &SslConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider(c)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(c))
        .map_err(|e| TlsError::material(c, "ssl.enabled.protocols / ssl.cipher.suites", e))?;
    let roots = trust_roots(c)?;
    let builder = match (c.client_auth, roots) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(TlsError::material(
                c,
                "ssl.client.auth",
                "requested or required client certificates need a truststore \
                 (ssl.truststore.location or ssl.truststore.certificates)",
            ))
        }
        (auth, Some(roots)) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::material(c, "truststore", e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let (chain, key) = key_material(c)?
        .ok_or_else(|| TlsError::material(c, "keystore", "a TLS listener needs a keystore"))?;
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::material(c, "keystore", e))?;
    Ok(Arc::new(config))
}

/// The inter-broker client's configuration: the truststore verifies other brokers, the
/// keystore (if any) is this broker's client certificate, as Kafka uses them.
pub fn client_config(c: &SslConfig) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider(c)?;
    let roots = trust_roots(c)?.ok_or_else(|| {
        TlsError::material(
            c,
            "truststore",
            "the inter-broker listener uses TLS: set ssl.truststore.location (or \
             ssl.truststore.certificates) so this broker can verify the others",
        )
    })?;
    let key_pair = key_material(c)?;
    pem::client_config(provider, &versions(c), roots, c.verify_hostname, key_pair)
        .map_err(|e| TlsError::material(c, "inter-broker TLS client", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientAuth;

    /// An encrypted PKCS#8 P-256 key (`openssl pkcs8 -topk8 -v2 aes-256-cbc`, password
    /// `s3cret`) and its self-signed certificate for `localhost`.
    const ENCRYPTED: &str = include_str!("testdata/encrypted.keystore.pem");
    /// That certificate alone, as a truststore.
    const CA: &str = include_str!("testdata/ca.pem");

    fn settings(password: Option<&str>) -> SslConfig {
        SslConfig {
            listener: "SSL".into(),
            keystore: Some(KeyStore::Inline {
                chain: ENCRYPTED.into(),
                key: ENCRYPTED.into(),
            }),
            key_password: password.map(str::to_owned),
            truststore: None,
            client_auth: ClientAuth::None,
            enabled_protocols: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            cipher_suites: Vec::new(),
            verify_hostname: true,
            principal_mapping_rules: "DEFAULT".into(),
        }
    }

    fn error(c: &SslConfig) -> String {
        server_config(c)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn an_encrypted_key_needs_the_right_password() {
        assert!(server_config(&settings(Some("s3cret"))).is_ok());
        let e = error(&settings(None));
        assert!(
            e.contains("set ssl.key.password") && e.contains("SSL"),
            "{e}"
        );
        let e = error(&settings(Some("wrong")));
        assert!(e.contains("cannot decrypt"), "{e}");
    }

    #[test]
    fn cipher_suites_by_iana_name() {
        let mut c = settings(Some("s3cret"));
        c.cipher_suites = vec![
            "TLS_AES_128_GCM_SHA256".into(),
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
        ];
        assert!(server_config(&c).is_ok());
        c.cipher_suites = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".into()];
        let e = error(&c);
        assert!(
            e.contains("ssl.cipher.suites") && e.contains("TLS_AES_256_GCM_SHA384"),
            "{e}"
        );
        // Only TLS 1.2 suites with only TLS 1.3 enabled: nothing to negotiate.
        c.cipher_suites = vec!["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into()];
        c.enabled_protocols = vec![TlsVersion::Tls13];
        assert!(server_config(&c).is_err());
    }

    #[test]
    fn client_auth_needs_a_truststore_and_the_client_side_needs_one_too() {
        let mut c = settings(Some("s3cret"));
        c.client_auth = ClientAuth::Required;
        assert!(error(&c).contains("truststore"), "{}", error(&c));
        assert!(client_config(&c).is_err());
        c.truststore = Some(TrustStore::Inline(CA.into()));
        assert!(server_config(&c).is_ok());
        assert!(client_config(&c).is_ok());
        c.truststore = Some(TrustStore::File("/nonexistent/ca.pem".into()));
        let e = error(&c);
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn a_keystore_without_a_key_or_certificate_is_refused() {
        let mut c = settings(None);
        c.keystore = Some(KeyStore::Inline {
            chain: CA.into(),
            key: "no key here".into(),
        });
        assert!(error(&c).contains("private key"), "{}", error(&c));
        c.keystore = Some(KeyStore::Inline {
            chain: "no certificate".into(),
            key: CA.into(),
        });
        assert!(error(&c).contains("certificate"), "{}", error(&c));
    }
}
