//! How a tool reaches the brokers: `security.protocol` and the TLS and SASL settings of a
//! client properties file (`--command-config`), as Kafka's Java client reads them.

use std::collections::BTreeMap;

use kafka_client::{ClientTls, SaslCredentials};

use crate::error::{Result, ToolError};

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
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Security> {
        let protocol = props
            .get("security.protocol")
            .map(|p| p.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "PLAINTEXT".to_owned());
        match protocol.as_str() {
            "PLAINTEXT" => Ok(Security::default()),
            other => Err(ToolError::usage(format!(
                "security.protocol {other} is not supported yet"
            ))),
        }
    }
}
