//! How the broker authenticates to ZooKeeper and secures its znodes: `zookeeper.set.acl` and
//! the JVM system properties Kafka's ZooKeeper client reads.
//!
//! Kafka takes the JAAS login file from `-Djava.security.auth.login.config=FILE` (with
//! `-Dzookeeper.sasl.client` and `-Dzookeeper.sasl.clientconfig`), which deployments put in
//! `KAFKA_OPTS` (Apache's and Confluent's images). We read those `-D` options from `KAFKA_OPTS`
//! as a layer below the config file, and accept the same three names as config keys, so
//! `KAFKA_OPTS`, the YAML file, `KAFKA_JAVA_SECURITY_AUTH_LOGIN_CONFIG` or `--override` all
//! work, later layers winning as for every key.

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

/// `zookeeper.ssl.client.enable`: refused when true, so that nobody believes the ZooKeeper
/// connection is encrypted while it is not (see the README for what TLS to ZooKeeper lacks).
pub(crate) fn check_ssl_client(s: &Settings) -> Result<(), ConfigError> {
    let raw = s.get("zookeeper.ssl.client.enable")?;
    if raw.bool()? {
        return Err(raw.invalid(
            "false: TLS to ZooKeeper is not supported yet (the README's ZooKeeper section says \
             what is missing); protect the ZooKeeper network otherwise",
        ));
    }
    Ok(())
}
