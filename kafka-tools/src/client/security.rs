//! How a tool reaches the brokers: `security.protocol` and the TLS and SASL settings of a
//! client properties file (`--command-config`), as Kafka's Java client reads them. Only PEM
//! stores (as the broker): a JKS or PKCS12 store is refused with a message naming PEM. The PEM
//! decoding and the rustls configuration are `kafka_client::tls`'s, shared with the broker.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_client::tls as pem;
use kafka_client::{ClientTls, SaslCredentials};
use sasl::Mechanism;

use crate::error::{Result, ToolError};

/// Client properties, as read from `--command-config`.
pub type Props = BTreeMap<String, String>;

/// The transport and authentication of every connection a tool opens.
#[derive(Clone, Debug, Default)]
pub struct Security {
    /// TLS (security.protocol SSL or SASL_SSL).
    pub tls: Option<ClientTls>,
    /// SASL (security.protocol SASL_PLAINTEXT or SASL_SSL).
    pub sasl: Option<SaslCredentials>,
}

impl Security {
    /// From client properties; PLAINTEXT when `security.protocol` is absent.
    pub fn from_props(props: &Props) -> Result<Security> {
        let protocol = props
            .get("security.protocol")
            .map(|p| p.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "PLAINTEXT".to_owned());
        let (tls, sasl) = match protocol.as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            other => {
                return Err(ToolError::usage(format!(
                    "Invalid value {other} for configuration security.protocol: one of \
                     PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
                )))
            }
        };
        Ok(Security {
            tls: tls.then(|| tls_config(props)).transpose()?,
            sasl: sasl.then(|| sasl_credentials(props)).transpose()?,
        })
    }
}

fn get<'a>(props: &'a Props, key: &str) -> Option<&'a str> {
    props
        .get(key)
        .map(|v| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path.trim())
        .map_err(|e| ToolError::io(format!("reading {}", path.trim()), e))
}

fn material(what: &str, e: pem::PemError) -> ToolError {
    ToolError::usage(format!("{what}: {e}"))
}

/// Only PEM: what the broker accepts too.
fn require_pem(props: &Props, key: &str) -> Result<()> {
    match get(props, key) {
        None => Ok(()),
        Some(t) if t.trim().eq_ignore_ascii_case("PEM") => Ok(()),
        Some(t) => Err(ToolError::usage(format!(
            "{key} {t} is not supported: only PEM stores are (convert JKS or PKCS12 to PEM, e.g. \
             with `keytool -importkeystore` and `openssl pkcs12 -nodes`, and set {key}=PEM)"
        ))),
    }
}

fn tls_config(props: &Props) -> Result<ClientTls> {
    require_pem(props, "ssl.truststore.type")?;
    require_pem(props, "ssl.keystore.type")?;
    let roots = match (
        get(props, "ssl.truststore.location"),
        get(props, "ssl.truststore.certificates"),
    ) {
        (Some(path), None) => pem::trust_roots(&read(path)?)
            .map_err(|e| material(&format!("truststore {path}"), e))?,
        (None, Some(text)) => {
            pem::trust_roots(text).map_err(|e| material("ssl.truststore.certificates", e))?
        }
        (Some(_), Some(_)) => {
            return Err(ToolError::usage(
                "either ssl.truststore.location or ssl.truststore.certificates, not both",
            ))
        }
        (None, None) => {
            return Err(ToolError::usage(
                "TLS needs the CA that signed the brokers' certificates: set \
                 ssl.truststore.location (a PEM file) or ssl.truststore.certificates",
            ))
        }
    };
    let password = get(props, "ssl.key.password");
    let key_pair = match (
        get(props, "ssl.keystore.location"),
        get(props, "ssl.keystore.certificate.chain"),
        get(props, "ssl.keystore.key"),
    ) {
        (None, None, None) => None,
        (Some(path), None, None) => {
            let text = read(path)?;
            Some(
                pem::key_pair(&text, &text, password)
                    .map_err(|e| material(&format!("keystore {path}"), e))?,
            )
        }
        (None, Some(chain), Some(key)) => Some(
            pem::key_pair(chain, key, password)
                .map_err(|e| material("ssl.keystore.certificate.chain / ssl.keystore.key", e))?,
        ),
        _ => {
            return Err(ToolError::usage(
                "either ssl.keystore.location or ssl.keystore.certificate.chain with \
                 ssl.keystore.key",
            ))
        }
    };
    // Kafka's default is https: check the broker's name against its certificate.
    let verify_hostname = match props.get("ssl.endpoint.identification.algorithm") {
        None => true,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "https" => true,
            "" => false,
            other => {
                return Err(ToolError::usage(format!(
                    "ssl.endpoint.identification.algorithm {other}: https, or empty to not \
                     verify host names"
                )))
            }
        },
    };
    let config = pem::client_config(
        Arc::new(pem::ring_provider()),
        rustls::DEFAULT_VERSIONS,
        roots,
        verify_hostname,
        key_pair,
    )
    .map_err(|e| material("TLS client", e))?;
    Ok(ClientTls::new(config))
}

fn sasl_credentials(props: &Props) -> Result<SaslCredentials> {
    // Kafka's default mechanism is GSSAPI, which we do not speak: say so rather than guess.
    let name = get(props, "sasl.mechanism").unwrap_or("GSSAPI").trim();
    let mechanism = Mechanism::from_name(name).ok_or_else(|| {
        ToolError::usage(format!(
            "sasl.mechanism {name} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"
        ))
    })?;
    let jaas = get(props, "sasl.jaas.config")
        .ok_or_else(|| ToolError::usage("SASL needs sasl.jaas.config (username and password)"))?;
    let modules =
        sasl::jaas::parse(jaas).map_err(|e| ToolError::usage(format!("sasl.jaas.config: {e}")))?;
    let module = modules
        .first()
        .ok_or_else(|| ToolError::usage("sasl.jaas.config names no login module"))?;
    let option = |key: &str| {
        module.options.get(key).cloned().ok_or_else(|| {
            ToolError::usage(format!("sasl.jaas.config: {} has no {key}", module.class))
        })
    };
    Ok(SaslCredentials {
        mechanism,
        username: option("username")?,
        password: option("password")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(p: &Props) -> String {
        Security::from_props(p)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn plaintext_by_default_and_unknown_protocols_refused() {
        let s = Security::from_props(&Props::new()).ok();
        assert!(s.is_some_and(|s| s.tls.is_none() && s.sasl.is_none()));
        assert!(error(&props(&[("security.protocol", "TCP")])).contains("PLAINTEXT, SSL"));
    }

    #[test]
    fn sasl_credentials_come_from_the_jaas_config() {
        let p = props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"alice\" password=\"al1ce\";",
            ),
        ]);
        let s = Security::from_props(&p).ok().and_then(|s| s.sasl);
        let s = s.map(|c| (c.mechanism, c.username, c.password));
        assert_eq!(
            s,
            Some((Mechanism::ScramSha512, "alice".into(), "al1ce".into()))
        );
        let mut p = p;
        p.insert("sasl.mechanism".into(), "GSSAPI".into());
        assert!(error(&p).contains("GSSAPI is not supported"));
        p.remove("sasl.jaas.config");
        p.insert("sasl.mechanism".into(), "PLAIN".into());
        assert!(error(&p).contains("sasl.jaas.config"));
    }

    #[test]
    fn only_pem_stores_and_a_truststore_is_needed() {
        let p = props(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "JKS"),
            ("ssl.truststore.location", "/tmp/x.jks"),
        ]);
        let e = error(&p);
        assert!(e.contains("JKS") && e.contains("PEM"), "{e}");
        let e = error(&props(&[("security.protocol", "SSL")]));
        assert!(e.contains("ssl.truststore.location"), "{e}");
        let e = error(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", "/nonexistent/ca.pem"),
        ]));
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
