//! Typed broker configuration.
//!
//! Keys are Kafka's own property names so that existing `server.properties` knowledge and
//! cp-kafka compose files carry over. Values are layered, later wins:
//! documented default < `-D` options in `KAFKA_OPTS` (only the ZooKeeper client's JVM properties,
//! see `zk_security.rs`) < YAML file (`--config`) < `KAFKA_*` environment variables (mapped as
//! the cp-kafka image maps them, see [`env_to_key`]) < `--override key=value`.
//! With no file, environment variables alone suffice.
//!
//! Unknown keys only produce warnings (a newer or older Kafka config should still start the
//! broker); invalid values are errors naming key, value, origin and what was expected.
//! [`KEYS`] documents every key acted on and supplies its default; [`IGNORED_KEYS`] are real
//! Kafka keys accepted without effect.

mod dynamic;
mod env;
mod error;
mod keys;
mod layers;
mod listener;
mod sasl;
mod ssl;
mod value;
mod zk_security;
mod zookeeper;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use dynamic::{synonyms_of, DynamicLayer};
pub use env::{env_to_key, EXCLUDED_ENV};
pub use error::{ConfigError, Origin};
pub use keys::{KeyDoc, ValueType, IGNORED_KEYS, KEYS};
pub use layers::Setting;

pub(crate) use keys::doc as key_doc;
pub(crate) use keys::is_known as is_known_key;
pub use listener::{Listener, SecurityProtocol};
pub use sasl::{InterBrokerSasl, ListenerSasl, SaslConfig};
pub(crate) use ssl::strip_listener_prefix;
pub use ssl::{ClientAuth, KeyStore, SslConfig, TlsVersion, TrustStore};
pub use zk_security::ZkTlsConfig;

use layers::Settings;

use crate::log::{CleanupPolicy, Ratio};

/// Kafka's `int` limit, which caps byte sizes that travel as int32 on the wire or index
/// 32-bit file positions.
const I32_MAX_U64: u64 = 2_147_483_647;
const I32_MAX_USIZE: usize = 2_147_483_647;
const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_HOUR_U64: u64 = 3_600_000;

/// Which timestamp a record batch keeps (`log.message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Keep the producer's timestamp.
    CreateTime,
    /// Overwrite with the broker's clock at append.
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's name, as written in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

impl fmt::Display for TimestampType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TimestampType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "createtime" => Ok(TimestampType::CreateTime),
            "logappendtime" => Ok(TimestampType::LogAppendTime),
            _ => Err(()),
        }
    }
}

/// The broker's configuration; see [`KEYS`] (or `config/broker.yaml`) for each key's meaning
/// and default. Fields are public so tests and embedders can build one by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `broker.id`; -1: take it from `meta.properties` or generate one.
    pub broker_id: i32,
    /// `broker.rack`.
    pub broker_rack: Option<String>,
    /// `zookeeper.connect`, validated: `host:port[,host:port...][/chroot]`.
    pub zookeeper_connect: String,
    pub zookeeper_session_timeout_ms: u64,
    /// Defaults to the session timeout.
    pub zookeeper_connection_timeout_ms: u64,
    /// `zookeeper.set.acl`: create znodes writable only by the brokers' ZooKeeper identity.
    pub zookeeper_set_acl: bool,
    /// How the ZooKeeper client authenticates (JAAS login file, section, on/off).
    pub zookeeper_sasl: coordinator::ZkSaslConfig,
    /// `zookeeper.ssl.*` when `zookeeper.ssl.client.enable=true`.
    pub zookeeper_tls: Option<ZkTlsConfig>,
    /// Bind endpoints. Port 0 binds an ephemeral port; the server then has to put the bound
    /// port into the matching advertised listener itself.
    pub listeners: Vec<Listener>,
    /// Endpoints published in ZooKeeper; never a wildcard host.
    pub advertised_listeners: Vec<Listener>,
    pub listener_security_protocol_map: BTreeMap<String, SecurityProtocol>,
    /// Name of an advertised listener (upper-case).
    pub inter_broker_listener_name: String,
    /// The `ssl.*` settings of every SSL and SASL_SSL listener, by listener name.
    pub ssl: BTreeMap<String, SslConfig>,
    /// `log.dirs`, else `log.dir`; never empty.
    pub log_dirs: Vec<PathBuf>,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub delete_topic_enable: bool,
    pub log_segment_bytes: u64,
    /// Always `Some` after [`BrokerConfig::load`] (`log.roll.ms` else `log.roll.hours`);
    /// `None` lets a hand-built config disable time-based rolling.
    pub log_roll_ms: Option<u64>,
    /// `None`: keep forever.
    pub log_retention_ms: Option<i64>,
    /// `None`: no size limit.
    pub log_retention_bytes: Option<u64>,
    pub log_retention_check_interval_ms: u64,
    pub log_index_interval_bytes: usize,
    pub log_index_size_max_bytes: usize,
    /// `None`: never fsync by message count.
    pub log_flush_interval_messages: Option<u64>,
    /// `None`: never fsync by time.
    pub log_flush_interval_ms: Option<u64>,
    pub log_message_timestamp_type: TimestampType,
    pub log_cleanup_policy: CleanupPolicy,
    pub log_cleaner_enable: bool,
    pub log_cleaner_threads: usize,
    pub log_cleaner_dedupe_buffer_size: usize,
    /// `None`: no limit (Kafka's default, Double.MAX_VALUE).
    pub log_cleaner_io_max_bytes_per_second: Option<u64>,
    pub log_cleaner_backoff_ms: u64,
    pub log_cleaner_min_cleanable_ratio: Ratio,
    pub log_cleaner_min_compaction_lag_ms: u64,
    /// `None`: no limit (Kafka's default, Long.MAX_VALUE).
    pub log_cleaner_max_compaction_lag_ms: Option<u64>,
    pub log_cleaner_delete_retention_ms: u64,
    pub message_max_bytes: usize,
    pub socket_request_max_bytes: usize,
    pub min_insync_replicas: i32,
    pub unclean_leader_election_enable: bool,
    pub replica_lag_time_max_ms: u64,
    pub replica_fetch_max_bytes: usize,
    pub replica_fetch_wait_max_ms: u64,
    pub replica_fetch_backoff_ms: u64,
    pub max_incremental_fetch_session_cache_slots: usize,
    /// `leader.replication.throttled.rate`; `None`: no limit (Kafka's default, Long.MAX_VALUE).
    pub leader_replication_throttled_rate: Option<u64>,
    /// `follower.replication.throttled.rate`; `None`: no limit.
    pub follower_replication_throttled_rate: Option<u64>,
    pub replication_quota_window_num: usize,
    pub replication_quota_window_size_seconds: u64,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_check_interval_seconds: u64,
    pub controlled_shutdown_enable: bool,
    pub offsets_topic_replication_factor: i16,
    pub offsets_topic_num_partitions: i32,
    pub offsets_retention_minutes: u64,
    pub group_initial_rebalance_delay_ms: u64,
    pub group_min_session_timeout_ms: u64,
    pub group_max_session_timeout_ms: u64,
    /// `authorizer.class.name` with `super.users` and `allow.everyone.if.no.acl.found`;
    /// `None`: no authorization (every request allowed).
    pub authorizer: Option<crate::auth::AuthorizerConfig>,
    /// SASL listeners' mechanisms and users, and the inter-broker client's credentials.
    pub sasl: SaslConfig,
    /// Every key the file, the environment or `--override` set, as written there (keys left to
    /// their default are absent; JAAS configs, which hold passwords, too): what DescribeConfigs reports as STATIC_BROKER_CONFIG, and
    /// the synonyms it lists.
    pub explicit: BTreeMap<String, Setting>,
}

/// A loaded configuration plus warnings (unknown keys) for the caller to log.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: BrokerConfig,
    pub warnings: Vec<String>,
}

/// The command-line flags that feed [`BrokerConfig::load`]; `#[command(flatten)]` them into
/// the broker's argument parser.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// YAML file of Kafka broker properties (flat `key: value` mapping).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Set a property, overriding the file and KAFKA_* variables; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl ConfigArgs {
    /// Loads with the process environment (variables that are not UTF-8 are skipped: no
    /// Kafka property can come from them).
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        BrokerConfig::load(self.config.as_deref(), env, &self.overrides)
    }
}

impl BrokerConfig {
    /// Layers defaults < file < env < overrides. `env` is an iterator of (name, value) so
    /// tests don't touch the process env; pass the whole environment (`HOSTNAME` in it is
    /// used to advertise wildcard listeners).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[String],
    ) -> Result<Loaded, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut settings = Settings::default();
        // JVM options are the lowest layer: an explicit key of the same name wins over them.
        zk_security::apply_kafka_opts(&mut settings, &env);
        if let Some(path) = file {
            settings.apply_file(path)?;
        }
        settings.apply_env(&env);
        settings.apply_overrides(overrides)?;
        let config = from_settings(&settings, &local_hostname(&env))?;
        settings
            .warnings
            .extend(sasl::unprefixed_jaas_warning(&settings));
        Ok(Loaded {
            config,
            warnings: settings.warnings,
        })
    }

    /// Protocol of a listener by name (case-insensitive).
    pub fn security_protocol(&self, listener: &str) -> Option<SecurityProtocol> {
        self.listener_security_protocol_map
            .get(&listener.to_ascii_uppercase())
            .copied()
    }

    /// The value `key` was given in the file, the environment or `--override`, if any.
    pub fn explicit_value(&self, key: &str) -> Option<&str> {
        self.explicit.get(key).map(|s| s.value.as_str())
    }

    /// The TLS settings of the inter-broker listener, when its protocol uses TLS: what this
    /// broker's inter-broker client connects with.
    pub fn inter_broker_ssl(&self) -> Option<&SslConfig> {
        self.ssl.get(&self.inter_broker_listener_name)
    }

    /// The advertised endpoint other brokers and the controller use.
    pub fn inter_broker_endpoint(&self) -> Option<&Listener> {
        self.advertised_listeners
            .iter()
            .find(|l| l.name == self.inter_broker_listener_name)
    }
}

/// Builds the typed config from merged settings; `hostname` replaces wildcard hosts in
/// advertised listeners.
fn from_settings(s: &Settings, hostname: &str) -> Result<BrokerConfig, ConfigError> {
    let endpoints = listener::resolve(s, hostname)?;
    let ssl = ssl::resolve(s, &endpoints.protocol_map, &endpoints.listeners)?;
    let sasl = sasl::resolve(s, &endpoints)?;
    let session_ms = s.int_at_least("zookeeper.session.timeout.ms", 1u64)?;
    let config = BrokerConfig {
        broker_id: s.int_at_least("broker.id", -1)?,
        broker_rack: optional_string(s, "broker.rack"),
        zookeeper_connect: zookeeper::validate_connect(s.get("zookeeper.connect")?)?,
        zookeeper_session_timeout_ms: session_ms,
        zookeeper_connection_timeout_ms: explicit_int(s, "zookeeper.connection.timeout.ms", 1)?
            .unwrap_or(session_ms),
        zookeeper_set_acl: s.bool("zookeeper.set.acl")?,
        zookeeper_sasl: zk_security::sasl_config(s)?,
        zookeeper_tls: zk_security::tls_config(s)?,
        listeners: endpoints.listeners,
        advertised_listeners: endpoints.advertised,
        listener_security_protocol_map: endpoints.protocol_map,
        inter_broker_listener_name: endpoints.inter_broker,
        ssl,
        log_dirs: log_dirs(s)?,
        num_partitions: s.int_at_least("num.partitions", 1)?,
        default_replication_factor: s.int_at_least("default.replication.factor", 1)?,
        auto_create_topics_enable: s.bool("auto.create.topics.enable")?,
        delete_topic_enable: s.bool("delete.topic.enable")?,
        log_segment_bytes: s.int_between("log.segment.bytes", 14, I32_MAX_U64)?,
        log_roll_ms: Some(log_roll_ms(s)?),
        log_retention_ms: log_retention_ms(s)?,
        log_retention_bytes: non_negative(s.int_at_least("log.retention.bytes", i64::MIN)?),
        log_retention_check_interval_ms: s.int_at_least("log.retention.check.interval.ms", 1)?,
        log_index_interval_bytes: s.int_between("log.index.interval.bytes", 0, I32_MAX_USIZE)?,
        log_index_size_max_bytes: s.int_between("log.index.size.max.bytes", 4, I32_MAX_USIZE)?,
        log_flush_interval_messages: flush_interval_messages(s)?,
        log_flush_interval_ms: explicit_int(s, "log.flush.interval.ms", 0)?,
        log_message_timestamp_type: timestamp_type(s)?,
        log_cleanup_policy: cleanup_policy(s)?,
        log_cleaner_enable: s.bool("log.cleaner.enable")?,
        log_cleaner_threads: s.int_between("log.cleaner.threads", 0, I32_MAX_USIZE)?,
        log_cleaner_dedupe_buffer_size: s.int_at_least("log.cleaner.dedupe.buffer.size", 0)?,
        log_cleaner_io_max_bytes_per_second: io_limit(s)?,
        log_cleaner_backoff_ms: s.int_at_least("log.cleaner.backoff.ms", 0)?,
        log_cleaner_min_cleanable_ratio: ratio(s, "log.cleaner.min.cleanable.ratio")?,
        log_cleaner_min_compaction_lag_ms: s
            .int_at_least("log.cleaner.min.compaction.lag.ms", 0)?,
        log_cleaner_max_compaction_lag_ms: unlimited_at_max(
            s.int_at_least("log.cleaner.max.compaction.lag.ms", 1)?,
        ),
        log_cleaner_delete_retention_ms: s.int_at_least("log.cleaner.delete.retention.ms", 0)?,
        message_max_bytes: s.int_between("message.max.bytes", 0, I32_MAX_USIZE)?,
        socket_request_max_bytes: s.int_between("socket.request.max.bytes", 1, I32_MAX_USIZE)?,
        min_insync_replicas: s.int_at_least("min.insync.replicas", 1)?,
        unclean_leader_election_enable: s.bool("unclean.leader.election.enable")?,
        replica_lag_time_max_ms: s.int_at_least("replica.lag.time.max.ms", 1)?,
        replica_fetch_max_bytes: s.int_between("replica.fetch.max.bytes", 0, I32_MAX_USIZE)?,
        replica_fetch_wait_max_ms: s.int_at_least("replica.fetch.wait.max.ms", 0)?,
        replica_fetch_backoff_ms: s.int_at_least("replica.fetch.backoff.ms", 0)?,
        max_incremental_fetch_session_cache_slots: s.int_between(
            "max.incremental.fetch.session.cache.slots",
            0,
            I32_MAX_USIZE,
        )?,
        leader_replication_throttled_rate: unlimited_at_max(
            s.int_at_least("leader.replication.throttled.rate", 0)?,
        ),
        follower_replication_throttled_rate: unlimited_at_max(
            s.int_at_least("follower.replication.throttled.rate", 0)?,
        ),
        replication_quota_window_num: s.int_between(
            "replication.quota.window.num",
            1,
            I32_MAX_USIZE,
        )?,
        replication_quota_window_size_seconds: s.int_between(
            "replication.quota.window.size.seconds",
            1,
            I32_MAX_U64,
        )?,
        auto_leader_rebalance_enable: s.bool("auto.leader.rebalance.enable")?,
        leader_imbalance_check_interval_seconds: s
            .int_at_least("leader.imbalance.check.interval.seconds", 1)?,
        controlled_shutdown_enable: s.bool("controlled.shutdown.enable")?,
        offsets_topic_replication_factor: s.int_at_least("offsets.topic.replication.factor", 1)?,
        offsets_topic_num_partitions: s.int_at_least("offsets.topic.num.partitions", 1)?,
        offsets_retention_minutes: s.int_at_least("offsets.retention.minutes", 1)?,
        group_initial_rebalance_delay_ms: s.int_at_least("group.initial.rebalance.delay.ms", 0)?,
        group_min_session_timeout_ms: s.int_at_least("group.min.session.timeout.ms", 0)?,
        group_max_session_timeout_ms: s.int_at_least("group.max.session.timeout.ms", 0)?,
        authorizer: authorizer(s)?,
        sasl,
        explicit: s
            .all_explicit()
            .into_iter()
            .filter(|(key, _)| !sasl::holds_passwords(key))
            .collect(),
    };
    check_relations(s, &config)?;
    Ok(config)
}

/// Constraints between keys that Kafka also enforces at startup.
fn check_relations(s: &Settings, c: &BrokerConfig) -> Result<(), ConfigError> {
    if c.replica_fetch_wait_max_ms >= c.replica_lag_time_max_ms {
        // A follower waiting longer than the lag limit would be dropped from the ISR while idle.
        return Err(s
            .get("replica.fetch.wait.max.ms")?
            .invalid("less than replica.lag.time.max.ms"));
    }
    if c.group_min_session_timeout_ms > c.group_max_session_timeout_ms {
        return Err(s
            .get("group.max.session.timeout.ms")?
            .invalid("at least group.min.session.timeout.ms"));
    }
    Ok(())
}

/// The authorizer class names that mean Kafka's ZooKeeper-backed ACL authorizer (the current
/// one and its pre-2.4 name).
pub const ACL_AUTHORIZER_CLASSES: &[&str] = &[
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
];

/// `authorizer.class.name` and the keys that only mean something with it.
fn authorizer(s: &Settings) -> Result<Option<crate::auth::AuthorizerConfig>, ConfigError> {
    let Some(class) = s.explicit("authorizer.class.name") else {
        return Ok(None);
    };
    let name = class.value.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if !ACL_AUTHORIZER_CLASSES.contains(&name) {
        return Err(class.invalid(format!(
            "empty (no authorization) or one of {}",
            ACL_AUTHORIZER_CLASSES.join(", ")
        )));
    }
    let super_users = match s.explicit("super.users") {
        None => Default::default(),
        Some(raw) => crate::auth::AuthorizerConfig::parse_super_users(raw.value)
            .map_err(|e| raw.invalid(format!("principals separated by ';' ({e})")))?,
    };
    Ok(Some(crate::auth::AuthorizerConfig {
        super_users,
        allow_everyone_if_no_acl_found: s.bool("allow.everyone.if.no.acl.found")?,
    }))
}

/// A key with no default: `None` when unset or blank.
fn optional_string(s: &Settings, key: &str) -> Option<String> {
    let raw = s.explicit(key)?;
    let value = raw.value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// An integer key whose default is derived elsewhere: `None` when unset.
fn explicit_int(s: &Settings, key: &str, min: u64) -> Result<Option<u64>, ConfigError> {
    s.explicit(key).map(|raw| raw.int_at_least(min)).transpose()
}

/// Kafka's "negative means unlimited" convention.
fn non_negative(n: i64) -> Option<u64> {
    u64::try_from(n).ok()
}

fn log_dirs(s: &Settings) -> Result<Vec<PathBuf>, ConfigError> {
    let raw = match s.explicit("log.dirs") {
        Some(raw) => raw,
        None => s.get("log.dir")?,
    };
    let dirs: Vec<PathBuf> = raw.list().into_iter().map(PathBuf::from).collect();
    if dirs.is_empty() {
        return Err(raw.invalid("a comma list of directories"));
    }
    Ok(dirs)
}

/// `log.roll.ms`, else `log.roll.hours` in ms.
fn log_roll_ms(s: &Settings) -> Result<u64, ConfigError> {
    if let Some(ms) = explicit_int(s, "log.roll.ms", 1)? {
        return Ok(ms);
    }
    let hours: u64 = s.int_between("log.roll.hours", 1, I32_MAX_U64)?;
    Ok(hours * MS_PER_HOUR_U64)
}

/// `log.retention.ms` > `.minutes` > `.hours`; any negative result means keep forever
/// (Kafka documents -1 and treats every negative value the same).
fn log_retention_ms(s: &Settings) -> Result<Option<i64>, ConfigError> {
    let ms = if let Some(raw) = s.explicit("log.retention.ms") {
        raw.int_at_least(i64::MIN)?
    } else if let Some(raw) = s.explicit("log.retention.minutes") {
        i64::from(raw.int_at_least(i32::MIN)?) * MS_PER_MINUTE
    } else {
        i64::from(s.int_at_least("log.retention.hours", i32::MIN)?) * MS_PER_HOUR
    };
    Ok((ms >= 0).then_some(ms))
}

/// Kafka's default is Long.MAX_VALUE, i.e. never; we say so with `None`.
fn flush_interval_messages(s: &Settings) -> Result<Option<u64>, ConfigError> {
    let n: i64 = s.int_at_least("log.flush.interval.messages", 1)?;
    Ok(if n == i64::MAX { None } else { non_negative(n) })
}

fn cleanup_policy(s: &Settings) -> Result<CleanupPolicy, ConfigError> {
    let raw = s.get("log.cleanup.policy")?;
    CleanupPolicy::parse(raw.value).ok_or_else(|| raw.invalid("delete, compact or compact,delete"))
}

fn ratio(s: &Settings, key: &str) -> Result<Ratio, ConfigError> {
    let raw = s.get(key)?;
    Ratio::parse(raw.value).ok_or_else(|| raw.invalid("a number from 0 to 1"))
}

/// Kafka's Long.MAX_VALUE means "no limit".
fn unlimited_at_max(v: u64) -> Option<u64> {
    (v < i64::MAX as u64).then_some(v)
}

/// `log.cleaner.io.max.bytes.per.second`, a double in Kafka: a positive number of bytes per
/// second, `None` for values too large to be a limit (its default is Double.MAX_VALUE).
fn io_limit(s: &Settings) -> Result<Option<u64>, ConfigError> {
    let raw = s.get("log.cleaner.io.max.bytes.per.second")?;
    match raw.value.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v < u64::MAX as f64 => Ok(Some(v as u64)),
        Ok(v) if v >= u64::MAX as f64 => Ok(None),
        _ => Err(raw.invalid("a positive number of bytes per second")),
    }
}

fn timestamp_type(s: &Settings) -> Result<TimestampType, ConfigError> {
    let raw = s.get("log.message.timestamp.type")?;
    raw.value
        .parse()
        .map_err(|()| raw.invalid("CreateTime or LogAppendTime"))
}

/// The name other machines can reach us by, for advertising wildcard listeners:
/// `HOSTNAME` from `env`, else the kernel's hostname, else `localhost`.
fn local_hostname(env: &[(String, String)]) -> String {
    let from_env = env
        .iter()
        .find(|(name, _)| name == "HOSTNAME")
        .map(|(_, value)| value.trim().to_owned());
    let from_kernel = || {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
    };
    from_env
        .filter(|h| !h.is_empty())
        .or_else(|| from_kernel().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests;

/// Configs for other modules' unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write;

    use super::BrokerConfig;

    /// Only `zookeeper.connect` set (by the environment); everything else defaults.
    pub(crate) fn minimal() -> BrokerConfig {
        layered(&[], &[], &[])
    }

    /// `file` written as the YAML config file, `env` as `KAFKA_*` variables (with
    /// `zookeeper.connect` added), `overrides` as `--override key=value`.
    pub(crate) fn layered(
        file: &[(&str, &str)],
        env: &[(&str, &str)],
        overrides: &[&str],
    ) -> BrokerConfig {
        let mut yaml = tempfile::NamedTempFile::new().expect("temp file");
        for (k, v) in file {
            writeln!(yaml, "{k}: \"{v}\"").expect("write");
        }
        let mut vars = vec![
            (
                "KAFKA_ZOOKEEPER_CONNECT".to_string(),
                "127.0.0.1:2181".to_string(),
            ),
            ("HOSTNAME".to_string(), "testhost".to_string()),
        ];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        BrokerConfig::load(Some(yaml.path()), vars, &overrides)
            .expect("valid test config")
            .config
    }
}
