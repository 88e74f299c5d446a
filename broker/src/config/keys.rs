//! The table of configuration keys: the single source for which keys are known, their
//! defaults and their documentation.
//!
//! Typed parsing falls back to [`KeyDoc::default`] when a key is not set anywhere, so the
//! documented default *is* the default; a test checks that `config/broker.yaml` lists every
//! key, so the example cannot drift from the code either.

/// Kafka's type of a config value (`ConfigDef.Type`), with the ids DescribeConfigs v3+ reports
/// as `config_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Password = 9,
}

use ValueType as T;

/// One configuration key the broker acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDoc {
    /// Kafka's property name, e.g. `broker.id`.
    pub key: &'static str,
    /// The default as it would be written in the file; `None` when there is no literal
    /// default (the key is required, optional, or derived from another key: see `doc`).
    pub default: Option<&'static str>,
    /// The key's type in Kafka's `KafkaConfig`.
    pub kind: ValueType,
    /// What the key means, including how a derived default is computed.
    pub doc: &'static str,
}

const fn key(
    key: &'static str,
    default: &'static str,
    kind: ValueType,
    doc: &'static str,
) -> KeyDoc {
    KeyDoc {
        key,
        default: Some(default),
        kind,
        doc,
    }
}

const fn derived(key: &'static str, kind: ValueType, doc: &'static str) -> KeyDoc {
    KeyDoc {
        key,
        default: None,
        kind,
        doc,
    }
}

/// Every key the broker acts on (Kafka 3.7 names and defaults).
pub const KEYS: &[KeyDoc] = &[
    key("broker.id", "-1", T::Int, "This broker's id (>= -1). -1: take it from meta.properties in the log dirs, or generate one."),
    derived("broker.rack", T::String, "Rack of this broker, used for rack-aware replica placement. Unset: no rack."),
    derived("zookeeper.connect", T::String, "REQUIRED. ZooKeeper ensemble as host:port[,host:port...][/chroot]; the chroot starts with '/' and has no trailing '/'."),
    key("zookeeper.session.timeout.ms", "18000", T::Int, "ZooKeeper session timeout; the broker's registration disappears this long after it stops heartbeating."),
    derived("zookeeper.connection.timeout.ms", T::Int, "How long to wait to connect to ZooKeeper. Unset: zookeeper.session.timeout.ms."),
    key("zookeeper.set.acl", "false", T::Boolean, "Create znodes with Kafka's secure ACLs: writable only by the identity the brokers authenticate to ZooKeeper with (sasl:<user>), readable by everyone except /config/users, /config/brokers and /delegation_token/tokens. Needs ZooKeeper authentication (java.security.auth.login.config, or a TLS client certificate: zookeeper.ssl.keystore.location); existing znodes keep their ACLs (Kafka's zookeeper-security-migration tool changes them)."),
    derived("java.security.auth.login.config", T::String, "JAAS login file whose Client section (zookeeper.sasl.clientconfig) has org.apache.zookeeper.server.auth.DigestLoginModule with username and password: the brokers then authenticate to ZooKeeper with SASL DIGEST-MD5. Kafka's JVM system property: also read from -Djava.security.auth.login.config=FILE in KAFKA_OPTS. Unset: no ZooKeeper authentication."),
    key("zookeeper.sasl.client", "true", T::Boolean, "false turns ZooKeeper SASL off (then the login file must not have the client section). Kafka's JVM system property: also read from -Dzookeeper.sasl.client= in KAFKA_OPTS."),
    key("zookeeper.ssl.client.enable", "false", T::Boolean, "Connect to ZooKeeper over TLS (its secureClientPort); the zookeeper.ssl.* keys below apply only then."),
    derived("zookeeper.ssl.truststore.location", T::String, "PEM file of the CA certificates that sign ZooKeeper's server certificates. Required with zookeeper.ssl.client.enable=true."),
    derived("zookeeper.ssl.truststore.type", T::String, "PEM, the only type supported (unset: PEM)."),
    derived("zookeeper.ssl.keystore.location", T::String, "PEM file with the broker's unencrypted private key and certificate chain, for ZooKeeper servers that require client certificates; the certificate's subject becomes the brokers' x509 identity, which zookeeper.set.acl accepts instead of SASL, as Kafka does."),
    derived("zookeeper.ssl.keystore.type", T::String, "PEM, the only type supported (unset: PEM)."),
    derived("zookeeper.ssl.keystore.password", T::String, "Must be unset or empty: encrypted PEM keys are not supported for ZooKeeper."),
    key("zookeeper.ssl.endpoint.identification.algorithm", "HTTPS", T::String, "HTTPS: the ZooKeeper server's certificate must name the host connected to (IP or DNS subject alternative name). Turning it off is not supported."),
    key("zookeeper.sasl.clientconfig", "Client", T::String, "The JAAS section the ZooKeeper client logs in with. Kafka's JVM system property: also read from -Dzookeeper.sasl.clientconfig= in KAFKA_OPTS."),
    key("listeners", "PLAINTEXT://:9092", T::String, "Comma list of NAME://host:port to bind. Empty host or 0.0.0.0: all interfaces. Names are upper-cased and must be unique, as must ports (0 = ephemeral)."),
    derived("advertised.listeners", T::String, "Comma list of NAME://host:port published in ZooKeeper for clients and other brokers; names must appear in listeners. Unset: listeners, with an empty or 0.0.0.0 host replaced by this machine's hostname. 0.0.0.0 is not allowed here."),
    key("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", T::String, "Comma list of LISTENER_NAME:PROTOCOL; every listener name must be mapped. PLAINTEXT and SSL are served (SASL_SSL: its TLS layer)."),
    derived("inter.broker.listener.name", T::String, "Advertised listener other brokers and the controller use. Unset: the listener named like security.inter.broker.protocol. Do not set both."),
    key("security.inter.broker.protocol", "PLAINTEXT", T::String, "Protocol between brokers; picks the inter-broker listener by name when inter.broker.listener.name is unset."),
    derived("log.dirs", T::String, "Comma list of directories holding partition logs. Unset: log.dir."),
    key("log.dir", "/tmp/kafka-logs", T::String, "Log directory used when log.dirs is unset."),
    key("num.partitions", "1", T::Int, "Partitions of an auto-created topic (>= 1)."),
    key("default.replication.factor", "1", T::Int, "Replication factor of an auto-created topic (>= 1)."),
    key("auto.create.topics.enable", "true", T::Boolean, "Create a topic when a client asks for metadata of or produces to a missing one."),
    key("delete.topic.enable", "true", T::Boolean, "Allow DeleteTopics; when false deletion requests are refused."),
    key("log.segment.bytes", "1073741824", T::Int, "Maximum size of one log segment file (14 .. 2147483647)."),
    derived("log.roll.ms", T::Long, "Roll a new segment when the active one is this old (>= 1). Unset: log.roll.hours * 3600000."),
    key("log.roll.hours", "168", T::Int, "Segment age in hours that triggers a roll when log.roll.ms is unset (>= 1)."),
    derived("log.retention.ms", T::Long, "Delete segments older than this; -1: keep forever. Takes precedence over log.retention.minutes and log.retention.hours."),
    derived("log.retention.minutes", T::Int, "Retention in minutes when log.retention.ms is unset; -1: keep forever."),
    key("log.retention.hours", "168", T::Int, "Retention in hours when log.retention.ms and log.retention.minutes are unset; -1: keep forever."),
    key("log.retention.bytes", "-1", T::Long, "Delete the oldest segments while a partition is larger than this; -1: no size limit."),
    key("log.retention.check.interval.ms", "300000", T::Long, "How often the retention checker runs (>= 1)."),
    key("log.index.interval.bytes", "4096", T::Int, "Add an offset-index entry after about this many bytes of records."),
    key("log.index.size.max.bytes", "10485760", T::Int, "Maximum size of an offset or time index file (>= 4); a full index rolls the segment."),
    key("log.flush.interval.messages", "9223372036854775807", T::Long, "fsync after this many messages (>= 1). The default (Long.MAX_VALUE) means never: rely on replication and the OS."),
    derived("log.flush.interval.ms", T::Long, "fsync a partition whose oldest unflushed message is this old. Unset: never."),
    key("log.cleanup.policy", "delete", T::List, "Default cleanup.policy of topics: delete (trim by log.retention.*), compact (keep the latest record of every key), or compact,delete."),
    key("log.cleaner.enable", "true", T::Boolean, "Run the log cleaner, which compacts topics whose cleanup.policy includes compact."),
    key("log.cleaner.threads", "1", T::Int, "Threads that clean logs (>= 0)."),
    key("log.cleaner.dedupe.buffer.size", "134217728", T::Long, "Memory for the cleaner's key maps, over all cleaner threads; a log with more keys than fit is cleaned in several passes."),
    key("log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308", T::Double, "Bytes per second the cleaners read and write at most, together; the default means no limit."),
    key("log.cleaner.backoff.ms", "15000", T::Long, "How long a cleaner thread sleeps when no log needs cleaning (>= 0)."),
    key("log.cleaner.min.cleanable.ratio", "0.5", T::Double, "Default min.cleanable.dirty.ratio: clean a compacted log once this share of it is dirty (0 to 1)."),
    key("log.cleaner.min.compaction.lag.ms", "0", T::Long, "Default min.compaction.lag.ms: records younger than this are not cleaned (>= 0)."),
    key("log.cleaner.max.compaction.lag.ms", "9223372036854775807", T::Long, "Default max.compaction.lag.ms: a log whose oldest dirty record is older is cleaned whatever its dirty ratio (>= 1)."),
    key("log.cleaner.delete.retention.ms", "86400000", T::Long, "Default delete.retention.ms: how long a tombstone outlives the cleaning that first reached it (>= 0)."),
    key("log.message.timestamp.type", "CreateTime", T::String, "Record timestamps kept as sent by the producer (CreateTime) or replaced by the broker's clock (LogAppendTime)."),
    key("message.max.bytes", "1048588", T::Int, "Largest record batch the broker accepts."),
    key("socket.request.max.bytes", "104857600", T::Int, "Largest request frame accepted on a connection (>= 1)."),
    key("min.insync.replicas", "1", T::Int, "With acks=all, the minimum ISR size for a write to succeed (>= 1)."),
    key("unclean.leader.election.enable", "false", T::Boolean, "Allow an out-of-sync replica to become leader when no ISR member is alive (may lose data)."),
    key("replica.lag.time.max.ms", "30000", T::Long, "A follower that has not caught up for this long is removed from the ISR."),
    key("replica.fetch.max.bytes", "1048576", T::Int, "Bytes a follower asks for per partition in one fetch."),
    key("replica.fetch.wait.max.ms", "500", T::Int, "How long a follower's fetch may wait for data; must be below replica.lag.time.max.ms."),
    key("replica.fetch.backoff.ms", "200", T::Int, "How long a follower leaves out a partition whose fetch failed, and waits before reconnecting to a leader (>= 0). Kafka's default is 1000; the usual error is a leader a few ms behind on the controller's LeaderAndIsr."),
    key("leader.replication.throttled.rate", "9223372036854775807", T::Long, "Bytes per second this broker serves, as leader, to out-of-sync followers of the replicas a topic's leader.replication.throttled.replicas names (>= 0); the default means no limit. Kafka makes it dynamic (/config/brokers/<id>); here also read at start."),
    key("follower.replication.throttled.rate", "9223372036854775807", T::Long, "Bytes per second this broker's fetchers take, as follower, for the out-of-sync replicas a topic's follower.replication.throttled.replicas names (>= 0); the default means no limit."),
    key("replication.quota.window.num", "11", T::Int, "Samples the replication throttles measure their rate over (>= 1)."),
    key("replication.quota.window.size.seconds", "1", T::Int, "Length of one sample of the replication throttles' rate (>= 1)."),
    key("max.incremental.fetch.session.cache.slots", "1000", T::Int, "Incremental fetch sessions (KIP-227) the broker keeps for followers and consumers (>= 0; 0: none)."),
    key("auto.leader.rebalance.enable", "true", T::Boolean, "Periodically move leadership back to the preferred replica."),
    key("leader.imbalance.check.interval.seconds", "300", T::Long, "How often the controller checks for leader imbalance (>= 1)."),
    key("controlled.shutdown.enable", "true", T::Boolean, "On shutdown ask the controller to move leadership away first."),
    key("offsets.topic.replication.factor", "3", T::Short, "Replication factor of __consumer_offsets (>= 1); set 1 for a single broker."),
    key("offsets.topic.num.partitions", "50", T::Int, "Partitions of __consumer_offsets (>= 1); do not change once the topic exists."),
    key("offsets.retention.minutes", "10080", T::Int, "Keep committed offsets of an empty group this long (>= 1)."),
    key("group.initial.rebalance.delay.ms", "3000", T::Int, "Wait this long for more members before the first rebalance of a new group."),
    key("group.min.session.timeout.ms", "6000", T::Int, "Smallest session timeout a consumer may ask for."),
    key("sasl.enabled.mechanisms", "GSSAPI", T::List, "Mechanisms SASL listeners accept: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (GSSAPI, Kafka's default, and OAUTHBEARER are refused at start-up). Per listener: listener.name.<listener>.sasl.enabled.mechanisms. Each mechanism's JAAS config is listener.name.<listener>.<mechanism>.sasl.jaas.config (required for PLAIN: its user_<name>=\"<password>\" options are the users)."),
    key("sasl.mechanism.inter.broker.protocol", "GSSAPI", T::String, "Mechanism this broker uses on a SASL inter-broker listener; it must be enabled there, and that listener's JAAS config for it must have username and password options."),
    key("sasl.server.max.receive.size", "524288", T::Int, "Largest SASL token accepted from a client before it is authenticated (>= 1); a larger one closes the connection."),
    key("group.max.session.timeout.ms", "1800000", T::Int, "Largest session timeout a consumer may ask for (>= group.min.session.timeout.ms)."),
    derived("authorizer.class.name", T::String, "kafka.security.authorizer.AclAuthorizer (or the old kafka.security.auth.SimpleAclAuthorizer): authorize every request with Kafka's ACLs, stored in ZooKeeper under /kafka-acl. Unset or empty: no authorization, everything is allowed."),
    key("allow.everyone.if.no.acl.found", "false", T::Boolean, "With an authorizer: allow an operation on a resource that has no ACL at all (matching ACLs of other principals still deny)."),
    derived("super.users", T::String, "With an authorizer: semicolon list of principals allowed everything, e.g. User:admin;User:broker. Unset: none."),
];

/// The `ssl.*` keys, also valid per listener as `listener.name.<listener>.ssl.*` (lower-case
/// listener name), which wins over the plain key.
const SSL_KEYS: &[KeyDoc] = &[
    key("ssl.keystore.type", "JKS", T::String, "Format of the keystore of TLS listeners (SSL, SASL_SSL). Only PEM is supported; JKS (Kafka's default) and PKCS12 are refused at start-up."),
    derived("ssl.keystore.location", T::String, "PEM file with the private key (PKCS#8, encrypted with ssl.key.password or not; PKCS#1 and SEC1 also accepted) and the certificate chain, leaf first. Re-read when it changes: new connections get the new certificate."),
    derived("ssl.keystore.certificate.chain", T::String, "The certificate chain as PEM text, instead of ssl.keystore.location (with ssl.keystore.key)."),
    derived("ssl.keystore.key", T::String, "The private key as PEM text, instead of ssl.keystore.location (with ssl.keystore.certificate.chain)."),
    derived("ssl.key.password", T::String, "Password of an encrypted PKCS#8 private key (BEGIN ENCRYPTED PRIVATE KEY)."),
    key("ssl.truststore.type", "JKS", T::String, "Format of the truststore; only PEM is supported."),
    derived("ssl.truststore.location", T::String, "PEM file of CA certificates that verify client certificates (and, for the inter-broker client, other brokers). Re-read when it changes."),
    derived("ssl.truststore.certificates", T::String, "CA certificates as PEM text, instead of ssl.truststore.location."),
    key("ssl.client.auth", "none", T::String, "Client certificates on TLS listeners: none, requested (asked for, optional) or required. Needs a truststore unless none."),
    key("ssl.enabled.protocols", "TLSv1.2,TLSv1.3", T::List, "TLS versions served and used: TLSv1.2 and/or TLSv1.3."),
    key("ssl.cipher.suites", "", T::List, "IANA names of the cipher suites to allow (e.g. TLS_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); empty: the TLS library's defaults. A name the TLS stack lacks is a start-up error."),
    key("ssl.endpoint.identification.algorithm", "https", T::String, "https: the inter-broker client checks that a broker's certificate names the host it connects to; empty: it does not."),
    key("ssl.principal.mapping.rules", "DEFAULT", T::String, "Maps a client certificate's distinguished name (RFC 2253, e.g. CN=alice,OU=eng,O=corp) to the principal's name: comma list of DEFAULT (the DN itself) and RULE:pattern/replacement/[LU] rules; the first that matches wins."),
];

/// Real Kafka broker keys that are accepted without a warning but not acted on yet, so
/// existing `server.properties`-style configs and cp-kafka environments keep working.
pub const IGNORED_KEYS: &[&str] = &[
    "num.network.threads",
    "num.io.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
    "queued.max.requests",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "socket.listen.backlog.size",
    "connections.max.idle.ms",
    "max.connections",
    "max.connections.per.ip",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "transaction.state.log.num.partitions",
    "transaction.state.log.segment.bytes",
    "transactional.id.expiration.ms",
    "transaction.max.timeout.ms",
    "producer.id.expiration.ms",
    "confluent.support.metrics.enable",
    "confluent.support.customer.id",
    "confluent.license.topic.replication.factor",
    "confluent.balancer.topic.replication.factor",
    "confluent.metrics.reporter.bootstrap.servers",
    "confluent.metrics.reporter.topic.replicas",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.sample.window.ms",
    "jmx.port",
    "jmx.hostname",
    "log.preallocate",
    "log.segment.delete.delay.ms",
    "log.flush.scheduler.interval.ms",
    "log.flush.offset.checkpoint.interval.ms",
    "log.message.format.version",
    "inter.broker.protocol.version",
    "compression.type",
    "zookeeper.max.in.flight.requests",
    "zookeeper.clientCnxnSocket",
    "zookeeper.ssl.truststore.password",
    "zookeeper.ssl.protocol",
    "zookeeper.ssl.enabled.protocols",
    "zookeeper.ssl.cipher.suites",
    "zookeeper.ssl.crl.enable",
    "zookeeper.ssl.ocsp.enable",
    "broker.id.generation.enable",
    "reserved.broker.max.id",
    "controlled.shutdown.max.retries",
    "controlled.shutdown.retry.backoff.ms",
    "leader.imbalance.per.broker.percentage",
    "replica.socket.timeout.ms",
    "replica.socket.receive.buffer.bytes",
    "replica.high.watermark.checkpoint.interval.ms",
    "offsets.commit.timeout.ms",
    "offsets.load.buffer.size",
    "offsets.topic.segment.bytes",
    "offsets.retention.check.interval.ms",
    "group.max.size",
    "ssl.protocol",
    "ssl.provider",
    "ssl.keystore.password",
    "ssl.truststore.password",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    // Ignored by brokers, as by Kafka's (a warning says so): see sasl.enabled.mechanisms.
    "sasl.jaas.config",
];

/// The documentation entry of a key the broker acts on.
pub(crate) fn doc(key: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().chain(SSL_KEYS).find(|d| d.key == key)
}

/// Every documented key: [`KEYS`] and the `ssl.*` keys (which DescribeConfigs does not
/// report: some are secrets).
#[cfg(test)]
fn all_keys() -> impl Iterator<Item = &'static KeyDoc> {
    KEYS.iter().chain(SSL_KEYS)
}

/// Whether `key` is accepted without a warning (acted on or deliberately ignored); a
/// `listener.name.<listener>.` prefix is allowed on the `ssl.*` keys.
pub(crate) fn is_known(key: &str) -> bool {
    if let Some(rest) = super::ssl::strip_listener_prefix(key) {
        if rest.starts_with("ssl.") && is_known(rest) {
            return true;
        }
    }
    doc(key).is_some() || IGNORED_KEYS.contains(&key) || super::sasl::is_listener_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../config/broker.yaml");

    /// A key is "listed" when a line, possibly commented out, starts with `key:`.
    fn listed(key: &str) -> bool {
        let prefix = format!("{key}:");
        EXAMPLE
            .lines()
            .map(|l| l.trim_start().trim_start_matches('#').trim_start())
            .any(|l| l.starts_with(&prefix))
    }

    #[test]
    fn example_file_lists_every_key() {
        let missing: Vec<&str> = all_keys()
            .map(|d| d.key)
            .chain(IGNORED_KEYS.iter().copied())
            .filter(|k| !listed(k))
            .collect();
        assert!(missing.is_empty(), "config/broker.yaml lacks {missing:?}");
    }

    #[test]
    fn keys_are_unique_and_not_both_used_and_ignored() {
        let mut all: Vec<&str> = all_keys().map(|d| d.key).collect();
        all.extend(IGNORED_KEYS);
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
