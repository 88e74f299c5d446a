//! How the broker authenticates to ZooKeeper and secures its znodes: `zookeeper.set.acl` and
//! the JVM system properties Kafka's ZooKeeper client reads.
//!
//! Kafka takes the JAAS login file from `-Djava.security.auth.login.config=FILE` (with
//! `-Dzookeeper.sasl.client` and `-Dzookeeper.sasl.clientconfig`), which deployments put in
//! `KAFKA_OPTS` (Apache's and Confluent's images). We read those `-D` options from `KAFKA_OPTS`
//! as a layer below the config file, and accept the same three names as config keys, so
//! `KAFKA_OPTS`, the YAML file, `KAFKA_JAVA_SECURITY_AUTH_LOGIN_CONFIG` or `--override` all
//! work, later layers winning as for every key.
//!
//! TLS to ZooKeeper takes Kafka's `zookeeper.ssl.*` keys, PEM files only.

use std::path::PathBuf;

use coordinator::ZkSaslConfig;

use super::error::{ConfigError, Origin};
use super::layers::Settings;

/// The variable holding the JVM options Kafka's scripts pass to `java`.
pub(crate) const KAFKA_OPTS: &str = "KAFKA_OPTS";

/// The JVM properties of Kafka's ZooKeeper client we accept, as config keys of the same name.
pub(crate) const JVM_PROPERTIES: [&str; 3] = [
    "java.security.auth.login.config",
    "zookeeper.sasl.client",
    "zookeeper.sasl.clientconfig",
];

/// Layers the `-D<property>=<value>` options of `KAFKA_OPTS` (only [`JVM_PROPERTIES`]) onto
/// `settings`. `KAFKA_OPTS` is word-split as Kafka's `kafka-run-class.sh` splits it; the last
/// `-D` of a property wins, as in Java.
pub(crate) fn apply_kafka_opts(settings: &mut Settings, env: &[(String, String)]) {
    let Some((_, opts)) = env.iter().find(|(name, _)| name == KAFKA_OPTS) else {
        return;
    };
    for word in opts.split_whitespace() {
        let Some((property, value)) = word.strip_prefix("-D").and_then(|d| d.split_once('='))
        else {
            continue;
        };
        if JVM_PROPERTIES.contains(&property) {
            let origin = Origin::Env(KAFKA_OPTS.to_owned());
            settings.set(property, value.to_owned(), origin);
        }
    }
}

/// The SASL settings of the broker's ZooKeeper client.
pub(crate) fn sasl_config(s: &Settings) -> Result<ZkSaslConfig, ConfigError> {
    let login_config = s
        .explicit("java.security.auth.login.config")
        .map(|raw| raw.value.trim().to_owned())
        .filter(|path| !path.is_empty())
        .map(Into::into);
    let context = s.get("zookeeper.sasl.clientconfig")?;
    if context.value.trim().is_empty() {
        return Err(context.invalid("a JAAS section name, e.g. Client"));
    }
    Ok(ZkSaslConfig {
        login_config,
        sasl_client: s.bool("zookeeper.sasl.client")?,
        context: context.value.trim().to_owned(),
    })
}

/// TLS to ZooKeeper as configured: file locations, read when the broker starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkTlsConfig {
    /// `zookeeper.ssl.truststore.location`: PEM CA certificates.
    pub truststore: PathBuf,
    /// `zookeeper.ssl.keystore.location`: PEM private key and certificate chain, for servers
    /// that require client certificates.
    pub keystore: Option<PathBuf>,
}

/// `zookeeper.ssl.*` when `zookeeper.ssl.client.enable=true`, else `None` (the other keys are
/// then ignored, as in Kafka). What zookeeper-client cannot do is refused rather than ignored:
/// non-PEM stores, encrypted keys, hostname verification turned off.
pub(crate) fn tls_config(s: &Settings) -> Result<Option<ZkTlsConfig>, ConfigError> {
    if !s.bool("zookeeper.ssl.client.enable")? {
        return Ok(None);
    }
    for key in [
        "zookeeper.ssl.truststore.type",
        "zookeeper.ssl.keystore.type",
    ] {
        if let Some(raw) = s.explicit(key) {
            if !raw.value.trim().eq_ignore_ascii_case("PEM") {
                return Err(raw.invalid("PEM (JKS and PKCS12 stores are not supported)"));
            }
        }
    }
    if let Some(raw) = s.explicit("zookeeper.ssl.keystore.password") {
        if !raw.value.is_empty() {
            return Err(raw.invalid(
                "empty: encrypted PEM keys are not supported for ZooKeeper, give the key \
                 unencrypted (and protect the file)",
            ));
        }
    }
    let verification = s.get("zookeeper.ssl.endpoint.identification.algorithm")?;
    if !verification.value.trim().eq_ignore_ascii_case("HTTPS") {
        return Err(verification.invalid(
            "HTTPS: the ZooKeeper server's certificate must name its host (turning hostname \
             verification off is not supported)",
        ));
    }
    let path = |key: &str| {
        s.explicit(key)
            .map(|raw| raw.value.trim().to_owned())
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    };
    let truststore = path("zookeeper.ssl.truststore.location").ok_or_else(|| {
        ConfigError::Missing {
            key: "zookeeper.ssl.truststore.location".to_owned(),
            env: "KAFKA_ZOOKEEPER_SSL_TRUSTSTORE_LOCATION (needed by zookeeper.ssl.client.enable=true)"
                .to_owned(),
        }
    })?;
    Ok(Some(ZkTlsConfig {
        truststore,
        keystore: path("zookeeper.ssl.keystore.location"),
    }))
}
