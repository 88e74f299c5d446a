//! How a session authenticates to ZooKeeper and which ACLs its znodes get: [`ZkOptions`].
//!
//! Kafka brokers authenticate with SASL when the JAAS login file named by the JVM property
//! `java.security.auth.login.config` has a `Client` section (another name through
//! `zookeeper.sasl.clientconfig`), unless `zookeeper.sasl.client=false`. We have no JVM: the
//! broker collects the same three values (from `KAFKA_OPTS` or its own config, see the broker's
//! config docs) into a [`ZkSaslConfig`], and [`ZkSaslConfig::login`] applies Kafka's rules
//! (`JaasUtils.isZkSaslEnabled`). `zookeeper.set.acl=true` without any authentication is
//! refused, as Kafka refuses it ([`ZkOptions::validate`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ZkError;
use crate::jaas_client::{self, DigestLogin, DEFAULT_CLIENT_SECTION};
use crate::zk_acl::ZnodeAcls;
use crate::zk_tls::ZkTls;

/// Kafka's JVM properties for ZooKeeper SASL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkSaslConfig {
    /// `java.security.auth.login.config`: the JAAS login file, if any.
    pub login_config: Option<PathBuf>,
    /// `zookeeper.sasl.client` (default true): false turns ZooKeeper SASL off.
    pub sasl_client: bool,
    /// `zookeeper.sasl.clientconfig` (default `Client`): the section to read.
    pub context: String,
}

impl Default for ZkSaslConfig {
    fn default() -> Self {
        ZkSaslConfig {
            login_config: None,
            sasl_client: true,
            context: DEFAULT_CLIENT_SECTION.to_owned(),
        }
    }
}

impl ZkSaslConfig {
    /// The login to use, read from the JAAS file: `None` without a file or without the section
    /// (ZooKeeper SASL off, as in Kafka). An unreadable or malformed file, an unsupported login
    /// module, or a section present while `zookeeper.sasl.client=false` are errors, as in Kafka.
    pub fn login(&self) -> Result<Option<DigestLogin>, ZkError> {
        let Some(path) = &self.login_config else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| ZkError::LoginConfig {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let login = jaas_client::zookeeper_client_login(&text, &self.context).map_err(|e| {
            ZkError::LoginConfig {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })?;
        if login.is_some() && !self.sasl_client {
            return Err(ZkError::LoginConfig {
                path: path.display().to_string(),
                message: format!(
                    "section '{}' is present but zookeeper.sasl.client=false disables SASL in \
                     the ZooKeeper client; remove one of them",
                    self.context
                ),
            });
        }
        Ok(login)
    }
}

/// Everything [`crate::Zk::connect_with`] needs besides the connect string.
#[derive(Clone, Debug)]
pub struct ZkOptions {
    /// The session timeout asked of ZooKeeper.
    pub session_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// SASL DIGEST-MD5 login, if any.
    pub sasl: Option<DigestLogin>,
    /// ACLs of the znodes this session creates (`zookeeper.set.acl`).
    pub acls: ZnodeAcls,
    /// TLS to ZooKeeper (`zookeeper.ssl.client.enable`), if on.
    pub tls: Option<ZkTls>,
}

impl ZkOptions {
    /// No authentication, open znodes.
    pub fn new(session_timeout: Duration, connect_timeout: Duration) -> ZkOptions {
        ZkOptions {
            session_timeout,
            connect_timeout,
            sasl: None,
            acls: ZnodeAcls::OPEN,
            tls: None,
        }
    }

    /// Authenticate with SASL DIGEST-MD5 as `login`.
    pub fn with_sasl(mut self, login: Option<DigestLogin>) -> ZkOptions {
        self.sasl = login;
        self
    }

    /// Create znodes with `acls`.
    pub fn with_acls(mut self, acls: ZnodeAcls) -> ZkOptions {
        self.acls = acls;
        self
    }

    /// Connect over TLS with `tls`.
    pub fn with_tls(mut self, tls: Option<ZkTls>) -> ZkOptions {
        self.tls = tls;
        self
    }

    /// Whether the session will authenticate at all: SASL, or a TLS client certificate (as
    /// Kafka's `isZkSecurityEnabled` counts them).
    pub fn authenticates(&self) -> bool {
        self.sasl.is_some() || self.tls.as_ref().is_some_and(|t| t.identity.is_some())
    }

    /// Refuses secure ACLs without authentication: `auth` ACLs would name no identity and
    /// ZooKeeper would refuse every create (Kafka refuses to start too).
    pub fn validate(&self) -> Result<(), ZkError> {
        if self.acls.is_secure() && !self.authenticates() {
            return Err(ZkError::SecureAclsWithoutAuthentication);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const CLIENT: &str = "Client { org.apache.zookeeper.server.auth.DigestLoginModule required \
                          username=\"kafka\" password=\"secret\"; };";

    #[test]
    fn login_follows_kafkas_rules() {
        assert_eq!(ZkSaslConfig::default().login().unwrap(), None);
        let f = file(CLIENT);
        let config = ZkSaslConfig {
            login_config: Some(f.path().to_path_buf()),
            ..ZkSaslConfig::default()
        };
        assert_eq!(config.login().unwrap().unwrap().username, "kafka");
        let other_context = ZkSaslConfig {
            context: "ZkClient".into(),
            ..config.clone()
        };
        assert_eq!(other_context.login().unwrap(), None);
        let disabled = ZkSaslConfig {
            sasl_client: false,
            ..config.clone()
        };
        let e = disabled.login().unwrap_err().to_string();
        assert!(e.contains("zookeeper.sasl.client=false"), "{e}");
        let missing = ZkSaslConfig {
            login_config: Some("/nonexistent/jaas.conf".into()),
            ..config
        };
        let e = missing.login().unwrap_err().to_string();
        assert!(e.contains("/nonexistent/jaas.conf"), "{e}");
    }

    #[test]
    fn secure_acls_need_authentication() {
        let options = ZkOptions::new(Duration::from_secs(6), Duration::from_secs(6));
        assert!(options.validate().is_ok());
        let secure = options.clone().with_acls(ZnodeAcls::SECURE);
        assert!(matches!(
            secure.validate(),
            Err(ZkError::SecureAclsWithoutAuthentication)
        ));
        let login = DigestLogin {
            username: "kafka".into(),
            password: "pw".into(),
        };
        assert!(secure.with_sasl(Some(login)).validate().is_ok());
    }
}
