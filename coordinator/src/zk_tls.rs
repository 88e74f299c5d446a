//! TLS to ZooKeeper (`zookeeper.ssl.client.enable`): PEM trust anchors and an optional client
//! certificate, handed to zookeeper-client's rustls-based TLS.
//!
//! zookeeper-client builds its rustls config with the process-default crypto provider; with
//! more than one provider compiled in (its own default, aws-lc-rs, and ring, which the broker's
//! TLS uses) rustls cannot pick one, so [`ZkTls::options`] installs ring first.

use zookeeper_client::TlsOptions;

use crate::error::ZkError;

/// PEM material for the ZooKeeper connection.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkTls {
    /// The CA certificates that sign ZooKeeper's server certificates (truststore).
    pub trust_pem: String,
    /// Our certificate chain and its unencrypted private key (keystore), for servers that ask
    /// for client certificates (`ssl.clientAuth`, ZooKeeper's x509 authentication).
    pub identity: Option<ZkTlsIdentity>,
}

/// A client certificate chain and key, PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkTlsIdentity {
    /// Certificate chain, leaf first.
    pub chain_pem: String,
    /// PKCS#8, PKCS#1 or SEC1 private key, not encrypted.
    pub key_pem: String,
}

impl std::fmt::Debug for ZkTls {
    // Keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkTls")
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl ZkTls {
    /// zookeeper-client's options; hostname verification stays on (Kafka's default
    /// `zookeeper.ssl.endpoint.identification.algorithm=HTTPS`).
    pub(crate) fn options(&self) -> Result<TlsOptions, ZkError> {
        // Err means a provider is installed already (ours, or an embedder's): keep it. ring's
        // provider is deprecated only for lacking post-quantum key exchange, which ZooKeeper's
        // Java TLS does not offer either.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
        let invalid = |what: &str, e: zookeeper_client::Error| ZkError::Tls {
            message: format!("{what}: {e}"),
        };
        let mut options = TlsOptions::new()
            .with_pem_ca(&self.trust_pem)
            .map_err(|e| invalid("truststore", e))?;
        if let Some(identity) = &self.identity {
            options = options
                .with_pem_identity(&identity.chain_pem, &identity.key_pem)
                .map_err(|e| invalid("keystore", e))?;
        }
        Ok(options)
    }
}
