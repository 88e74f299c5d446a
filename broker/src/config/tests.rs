//! End-to-end tests of [`BrokerConfig::load`]: layering, defaults and cross-key validation.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use super::*;

const ZK: (&str, &str) = ("KAFKA_ZOOKEEPER_CONNECT", "127.0.0.1:2181");
const HOST: (&str, &str) = ("HOSTNAME", "testhost");

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Loads with ZooKeeper and hostname set, plus `pairs` and `overrides`.
fn try_load(pairs: &[(&str, &str)], overrides: &[&str]) -> Result<Loaded, ConfigError> {
    let mut all = vec![ZK, HOST];
    all.extend_from_slice(pairs);
    BrokerConfig::load(None, env(&all), &strings(overrides))
}

fn load(pairs: &[(&str, &str)], overrides: &[&str]) -> BrokerConfig {
    try_load(pairs, overrides).unwrap().config
}

fn err(pairs: &[(&str, &str)], overrides: &[&str]) -> String {
    try_load(pairs, overrides).unwrap_err().to_string()
}

fn listener(name: &str, host: &str, port: u16) -> Listener {
    Listener {
        name: name.into(),
        host: host.into(),
        port,
    }
}

fn yaml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn env_alone_suffices_and_defaults_match_kafka() {
    let loaded = try_load(&[], &[]).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.broker_id, -1);
    assert_eq!(c.broker_rack, None);
    assert_eq!(c.zookeeper_connect, "127.0.0.1:2181");
    assert_eq!(c.zookeeper_session_timeout_ms, 18_000);
    assert_eq!(c.zookeeper_connection_timeout_ms, 18_000);
    assert_eq!(c.listeners, [listener("PLAINTEXT", "", 9092)]);
    assert_eq!(
        c.advertised_listeners,
        [listener("PLAINTEXT", "testhost", 9092)]
    );
    assert_eq!(c.listener_security_protocol_map.len(), 4);
    assert_eq!(c.inter_broker_listener_name, "PLAINTEXT");
    assert_eq!(c.log_dirs, [PathBuf::from("/tmp/kafka-logs")]);
    assert_eq!(c.num_partitions, 1);
    assert_eq!(c.default_replication_factor, 1);
    assert!(c.auto_create_topics_enable && c.delete_topic_enable);
    assert_eq!(c.log_segment_bytes, 1_073_741_824);
    assert_eq!(c.log_roll_ms, Some(168 * 3_600_000));
    assert_eq!(c.log_retention_ms, Some(168 * 3_600_000));
    assert_eq!(c.log_retention_bytes, None);
    assert_eq!(c.log_retention_check_interval_ms, 300_000);
    assert_eq!(c.log_index_interval_bytes, 4096);
    assert_eq!(c.log_index_size_max_bytes, 10_485_760);
    assert_eq!(c.log_flush_interval_messages, None);
    assert_eq!(c.log_flush_interval_ms, None);
    assert_eq!(c.log_message_timestamp_type, TimestampType::CreateTime);
    assert_eq!(c.message_max_bytes, 1_048_588);
    assert_eq!(c.socket_request_max_bytes, 104_857_600);
    assert_eq!(c.min_insync_replicas, 1);
    assert!(!c.unclean_leader_election_enable);
    assert_eq!(c.replica_lag_time_max_ms, 30_000);
    assert_eq!(c.replica_fetch_max_bytes, 1_048_576);
    assert_eq!(c.replica_fetch_wait_max_ms, 500);
    assert_eq!(c.replica_fetch_backoff_ms, 200);
    assert_eq!(c.max_incremental_fetch_session_cache_slots, 1000);
    assert!(c.auto_leader_rebalance_enable && c.controlled_shutdown_enable);
    assert_eq!(c.leader_imbalance_check_interval_seconds, 300);
    assert_eq!(c.offsets_topic_replication_factor, 3);
    assert_eq!(c.offsets_topic_num_partitions, 50);
    assert_eq!(c.offsets_retention_minutes, 10_080);
    assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
    assert_eq!(c.group_min_session_timeout_ms, 6000);
    assert_eq!(c.group_max_session_timeout_ms, 1_800_000);
}

#[test]
fn zookeeper_connect_is_required() {
    let e = BrokerConfig::load(None, env(&[HOST]), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("zookeeper.connect") && e.contains("KAFKA_ZOOKEEPER_CONNECT"),
        "{e}"
    );
}

#[test]
fn precedence_is_override_env_file_default() {
    let file = yaml_file(
        "broker.id: 1\nnum.partitions: 2\nmin.insync.replicas: 2\nlog.dirs: /data/a,/data/b\n",
    );
    let vars = env(&[
        ZK,
        HOST,
        ("KAFKA_BROKER_ID", "2"),
        ("KAFKA_NUM_PARTITIONS", "3"),
    ]);
    let loaded = BrokerConfig::load(Some(file.path()), vars, &strings(&["broker.id=3"])).unwrap();
    let c = loaded.config;
    assert_eq!(c.broker_id, 3, "override beats env");
    assert_eq!(c.num_partitions, 3, "env beats file");
    assert_eq!(c.min_insync_replicas, 2, "file beats default");
    assert_eq!(c.default_replication_factor, 1, "default");
    assert_eq!(
        c.log_dirs,
        [PathBuf::from("/data/a"), PathBuf::from("/data/b")]
    );
}

#[test]
fn yaml_numbers_bools_and_lists_are_accepted() {
    let file = yaml_file(
        "zookeeper.connect: \"zk:2181/kafka\"\nauto.create.topics.enable: false\n\
         num.partitions: 4\nlog.retention.ms: -1\nlog.dirs: [/a, /b]\n\
         log.message.timestamp.type: LogAppendTime\nbroker.rack:\n",
    );
    let c = BrokerConfig::load(Some(file.path()), env(&[HOST]), &[])
        .unwrap()
        .config;
    assert!(!c.auto_create_topics_enable);
    assert_eq!(c.num_partitions, 4);
    assert_eq!(c.log_retention_ms, None);
    assert_eq!(c.log_dirs.len(), 2);
    assert_eq!(c.log_message_timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(c.zookeeper_connect, "zk:2181/kafka");
    assert_eq!(c.broker_rack, None);
}

#[test]
fn file_errors_name_the_file() {
    let missing = Path::new("/nonexistent/broker.yaml");
    let e = BrokerConfig::load(Some(missing), env(&[ZK]), &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }), "{e}");
    let nested = yaml_file("log:\n  dirs: /a\n");
    let e = BrokerConfig::load(Some(nested.path()), env(&[ZK]), &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Yaml { .. }), "{e}");
    assert!(e.to_string().contains("`log`"), "{e}");
}

#[test]
fn malformed_override_is_an_error() {
    assert!(matches!(
        try_load(&[], &["broker.id"]),
        Err(ConfigError::Override { .. })
    ));
}

#[test]
fn invalid_values_name_key_value_origin_and_expectation() {
    let e = err(&[("KAFKA_NUM_PARTITIONS", "0")], &[]);
    assert!(e.contains("`num.partitions`"), "{e}");
    assert!(e.contains("\"0\""), "{e}");
    assert!(e.contains("KAFKA_NUM_PARTITIONS"), "{e}");
    assert!(e.contains("integer from 1"), "{e}");
    let e = err(&[], &["delete.topic.enable=maybe"]);
    assert!(
        e.contains("delete.topic.enable") && e.contains("true or false"),
        "{e}"
    );
    let e = err(&[], &["log.message.timestamp.type=Now"]);
    assert!(e.contains("CreateTime or LogAppendTime"), "{e}");
    let e = err(&[], &["log.segment.bytes=13"]);
    assert!(e.contains("log.segment.bytes"), "{e}");
    let e = err(&[], &["broker.id=-2"]);
    assert!(e.contains("broker.id"), "{e}");
}

#[test]
fn unknown_keys_warn_with_their_origin_and_ignored_keys_do_not() {
    let file = yaml_file("zookeeper.connect: zk:2181\nnum.network.threads: 3\nmystery.key: 1\n");
    let vars = env(&[
        HOST,
        ("KAFKA_FOO__BAR", "x"),
        ("KAFKA_JMX_PORT", "9999"),
        ("KAFKA_HEAP_OPTS", "-Xmx1G"),
        ("KAFKA_CONFLUENT_SUPPORT_METRICS_ENABLE", "false"),
        ("PATH", "/bin"),
    ]);
    let loaded = BrokerConfig::load(Some(file.path()), vars, &strings(&["other.key=1"])).unwrap();
    let w = loaded.warnings;
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w
        .iter()
        .any(|m| m.contains("`mystery.key`") && m.contains("config file")));
    assert!(w
        .iter()
        .any(|m| m.contains("`foo_bar`") && m.contains("KAFKA_FOO__BAR")));
    assert!(w
        .iter()
        .any(|m| m.contains("`other.key`") && m.contains("--override")));
}

#[test]
fn retention_precedence_and_unlimited() {
    let hour = 3_600_000;
    assert_eq!(
        load(&[], &["log.retention.hours=2"]).log_retention_ms,
        Some(2 * hour)
    );
    let minutes = load(&[], &["log.retention.hours=2", "log.retention.minutes=5"]);
    assert_eq!(minutes.log_retention_ms, Some(5 * 60_000));
    let ms = load(
        &[],
        &[
            "log.retention.hours=2",
            "log.retention.minutes=5",
            "log.retention.ms=7",
        ],
    );
    assert_eq!(ms.log_retention_ms, Some(7));
    assert_eq!(
        load(&[], &["log.retention.hours=-1"]).log_retention_ms,
        None
    );
    assert_eq!(
        load(&[], &["log.retention.minutes=-1"]).log_retention_ms,
        None
    );
    assert_eq!(
        load(&[], &["log.retention.bytes=-1"]).log_retention_bytes,
        None
    );
    assert_eq!(
        load(&[], &["log.retention.bytes=1000"]).log_retention_bytes,
        Some(1000)
    );
}

#[test]
fn roll_flush_and_connection_timeout_derivations() {
    assert_eq!(
        load(&[], &["log.roll.hours=1"]).log_roll_ms,
        Some(3_600_000)
    );
    let both = load(&[], &["log.roll.hours=1", "log.roll.ms=10"]);
    assert_eq!(both.log_roll_ms, Some(10));
    let flush = load(
        &[],
        &["log.flush.interval.messages=5", "log.flush.interval.ms=100"],
    );
    assert_eq!(flush.log_flush_interval_messages, Some(5));
    assert_eq!(flush.log_flush_interval_ms, Some(100));
    let zk = load(&[], &["zookeeper.session.timeout.ms=6000"]);
    assert_eq!(zk.zookeeper_connection_timeout_ms, 6000);
    let zk = load(&[], &["zookeeper.connection.timeout.ms=100"]);
    assert_eq!(zk.zookeeper_connection_timeout_ms, 100);
}

#[test]
fn advertised_defaults_to_listeners_with_wildcards_replaced() {
    let c = load(
        &[(
            "KAFKA_LISTENERS",
            "plaintext://0.0.0.0:9092,HOST://127.0.0.1:9093",
        )],
        &["listener.security.protocol.map=PLAINTEXT:PLAINTEXT,HOST:PLAINTEXT"],
    );
    assert_eq!(c.listeners[0], listener("PLAINTEXT", "0.0.0.0", 9092));
    assert_eq!(
        c.advertised_listeners,
        [
            listener("PLAINTEXT", "testhost", 9092),
            listener("HOST", "127.0.0.1", 9093)
        ]
    );
}

#[test]
fn explicit_advertised_listeners_are_checked() {
    let c = load(&[("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://:19092")], &[]);
    assert_eq!(
        c.advertised_listeners,
        [listener("PLAINTEXT", "testhost", 19092)]
    );
    let e = err(
        &[("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://0.0.0.0:9092")],
        &[],
    );
    assert!(
        e.contains("advertised.listeners") && e.contains("0.0.0.0"),
        "{e}"
    );
    let e = err(
        &[
            ("KAFKA_LISTENERS", "PLAINTEXT://:9092"),
            ("KAFKA_ADVERTISED_LISTENERS", "OTHER://h:9092"),
        ],
        &[],
    );
    assert!(
        e.contains("advertised.listeners") && e.contains("OTHER"),
        "{e}"
    );
}

#[test]
fn listener_names_and_ports_must_be_unique() {
    let e = err(&[("KAFKA_LISTENERS", "PLAINTEXT://:1,plaintext://:2")], &[]);
    assert!(
        e.contains("`listeners`") && e.contains("PLAINTEXT repeats"),
        "{e}"
    );
    let e = err(
        &[("KAFKA_LISTENERS", "PLAINTEXT://:1,B://:1")],
        &["listener.security.protocol.map=PLAINTEXT:PLAINTEXT,B:PLAINTEXT"],
    );
    assert!(e.contains("1 repeats"), "{e}");
    let e = err(&[("KAFKA_LISTENERS", "PLAINTEXT:9092")], &[]);
    assert!(e.contains("NAME://host:port"), "{e}");
}

#[test]
fn custom_listener_names_need_a_protocol_and_plaintext() {
    let listeners = ("KAFKA_LISTENERS", "INTERNAL://:29092,EXTERNAL://:9092");
    let map = (
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
        "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
    );
    let c = load(&[listeners, map], &["inter.broker.listener.name=internal"]);
    assert_eq!(c.inter_broker_listener_name, "INTERNAL");
    assert_eq!(
        c.inter_broker_endpoint(),
        Some(&listener("INTERNAL", "testhost", 29092))
    );
    assert_eq!(
        c.security_protocol("external"),
        Some(SecurityProtocol::Plaintext)
    );
    assert_eq!(c.security_protocol("nope"), None);

    let e = err(&[listeners], &["inter.broker.listener.name=INTERNAL"]);
    assert!(
        e.contains("listener.security.protocol.map") && e.contains("INTERNAL"),
        "{e}"
    );

    let e = err(&[listeners, map], &[]);
    assert!(
        e.contains("`security.inter.broker.protocol`") && e.contains("INTERNAL"),
        "{e}"
    );

    let e = err(
        &[listeners, map],
        &[
            "inter.broker.listener.name=INTERNAL",
            "security.inter.broker.protocol=PLAINTEXT",
        ],
    );
    assert!(e.contains("only one of"), "{e}");
}

#[test]
fn unknown_protocols_and_tls_listeners_without_a_keystore_are_refused() {
    let e = try_load(&[("KAFKA_LISTENERS", "PLAINTEXT://:9092,SSL://:9093")], &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Tls { .. }), "{e}");
    assert!(e.to_string().contains("ssl.keystore.location"), "{e}");
    let e = err(&[], &["listener.security.protocol.map=PLAINTEXT:TLS"]);
    assert!(e.contains("listener.security.protocol.map"), "{e}");
    let e = err(&[], &["security.inter.broker.protocol=SASL_PLAINTEXT"]);
    assert!(e.contains("security.inter.broker.protocol"), "{e}");
}

const TLS_LISTENERS: &str = "listeners=PLAINTEXT://:9092,SSL://:9093,INTERNAL://:9094";
const TLS_MAP: &str = "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:SSL";

#[test]
fn ssl_keys_are_read_per_listener_with_the_prefix_winning() {
    let c = load(
        &[("KAFKA_LISTENER_NAME_INTERNAL_SSL_CLIENT_AUTH", "required")],
        &[
            TLS_LISTENERS,
            TLS_MAP,
            "ssl.keystore.type=PEM",
            "ssl.keystore.location=/etc/broker.pem",
            "ssl.truststore.type=PEM",
            "ssl.truststore.location=/etc/ca.pem",
            "ssl.client.auth=requested",
            "listener.name.internal.ssl.keystore.location=/etc/internal.pem",
            "ssl.enabled.protocols=TLSv1.3",
            "ssl.cipher.suites=TLS_AES_128_GCM_SHA256",
            "ssl.endpoint.identification.algorithm=",
            "inter.broker.listener.name=INTERNAL",
        ],
    );
    let ssl = &c.ssl["SSL"];
    assert_eq!(ssl.keystore, Some(KeyStore::File("/etc/broker.pem".into())));
    assert_eq!(ssl.truststore, Some(TrustStore::File("/etc/ca.pem".into())));
    assert_eq!(ssl.client_auth, ClientAuth::Requested);
    assert_eq!(ssl.enabled_protocols, [TlsVersion::Tls13]);
    assert_eq!(ssl.cipher_suites, ["TLS_AES_128_GCM_SHA256"]);
    assert!(!ssl.verify_hostname);
    assert_eq!(ssl.principal_mapping_rules, "DEFAULT");
    let internal = c.inter_broker_ssl().expect("inter-broker TLS");
    assert_eq!(internal.listener, "INTERNAL");
    assert_eq!(
        internal.keystore,
        Some(KeyStore::File("/etc/internal.pem".into()))
    );
    assert_eq!(internal.client_auth, ClientAuth::Required);
    assert!(!c.ssl.contains_key("PLAINTEXT"));
}

#[test]
fn prefixed_ssl_keys_are_known_keys() {
    let loaded = try_load(
        &[],
        &[
            TLS_LISTENERS,
            TLS_MAP,
            "ssl.keystore.type=PEM",
            "ssl.keystore.certificate.chain=-----BEGIN CERTIFICATE-----",
            "ssl.keystore.key=-----BEGIN PRIVATE KEY-----",
            "listener.name.ssl.ssl.client.auth=none",
        ],
    )
    .expect("load");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(matches!(
        loaded.config.ssl["SSL"].keystore,
        Some(KeyStore::Inline { .. })
    ));
}

#[test]
fn ssl_config_errors_name_the_key_and_what_is_expected() {
    let base = [TLS_LISTENERS, TLS_MAP, "ssl.keystore.location=/k.pem"];
    let with = |extra: &[&str]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        err(&[], &all)
    };
    // Kafka's default keystore type is JKS: refused, naming PEM.
    let e = err(&[], &base);
    assert!(e.contains("ssl.keystore.type") && e.contains("PEM"), "{e}");
    let e = with(&["ssl.keystore.type=PKCS12"]);
    assert!(e.contains("PKCS12") && e.contains("PEM"), "{e}");
    let pem = "ssl.keystore.type=PEM";
    let e = with(&[pem, "ssl.client.auth=sometimes"]);
    assert!(
        e.contains("ssl.client.auth") && e.contains("required"),
        "{e}"
    );
    let e = with(&[pem, "ssl.enabled.protocols=TLSv1.1"]);
    assert!(e.contains("ssl.enabled.protocols"), "{e}");
    let e = with(&[pem, "ssl.endpoint.identification.algorithm=ldap"]);
    assert!(e.contains("ssl.endpoint.identification.algorithm"), "{e}");
    let e = with(&[pem, "ssl.principal.mapping.rules=RULE:^CN=(.*)$/$1/X"]);
    assert!(e.contains("ssl.principal.mapping.rules"), "{e}");
    let e = with(&[pem, "ssl.keystore.key=-----BEGIN PRIVATE KEY-----"]);
    assert!(e.contains("not both"), "{e}");
    let e = with(&[pem, "ssl.truststore.location=/ca.pem"]);
    assert!(e.contains("ssl.truststore.type"), "{e}");
}

#[test]
fn zookeeper_connect_is_validated_through_load() {
    assert_eq!(
        load(&[], &["zookeeper.connect=zk1:2181,zk2:2181/kafka"]).zookeeper_connect,
        "zk1:2181,zk2:2181/kafka"
    );
    let e = err(&[], &["zookeeper.connect=zk1:2181/kafka/"]);
    assert!(
        e.contains("zookeeper.connect") && e.contains("--override"),
        "{e}"
    );
}

#[test]
fn cross_key_constraints() {
    let e = err(&[], &["replica.fetch.wait.max.ms=30000"]);
    assert!(e.contains("replica.fetch.wait.max.ms"), "{e}");
    let e = err(&[], &["group.max.session.timeout.ms=10"]);
    assert!(e.contains("group.max.session.timeout.ms"), "{e}");
}

#[test]
fn hostname_falls_back_without_env() {
    assert_eq!(local_hostname(&env(&[("HOSTNAME", " h1 ")])), "h1");
    assert!(!local_hostname(&[]).is_empty());
}

#[test]
fn example_file_loads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/broker.yaml");
    let loaded = BrokerConfig::load(Some(&path), env(&[HOST]), &[]).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.broker_id, 1);
    assert_eq!(c.zookeeper_connect, "127.0.0.1:2181");
    assert_eq!(
        c.advertised_listeners,
        [listener("PLAINTEXT", "127.0.0.1", 29092)]
    );
    assert_eq!(c.offsets_topic_replication_factor, 1);
}

#[test]
fn listeners_derive_from_advertised_listeners_like_cp_kafka() {
    let c = load(
        &[
            (
                "KAFKA_ADVERTISED_LISTENERS",
                "PLAINTEXT://kafka-1:9092,PLAINTEXT_HOST://localhost:29092",
            ),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
            ),
        ],
        &[],
    );
    assert_eq!(
        c.listeners,
        [
            listener("PLAINTEXT", "0.0.0.0", 9092),
            listener("PLAINTEXT_HOST", "0.0.0.0", 29092)
        ]
    );
    assert_eq!(
        c.advertised_listeners[1],
        listener("PLAINTEXT_HOST", "localhost", 29092)
    );
}

#[test]
fn authorizer_keys_turn_acls_on_or_fail_clearly() {
    assert_eq!(load(&[], &[]).authorizer, None);
    assert_eq!(
        load(&[], &["authorizer.class.name=", "super.users=User:x"]).authorizer,
        None
    );
    let c = load(
        &[],
        &[
            "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
            "super.users=User:admin; User:broker",
            "allow.everyone.if.no.acl.found=true",
        ],
    );
    let a = c.authorizer.unwrap();
    assert!(a.allow_everyone_if_no_acl_found);
    assert!(a.super_users.contains("User:admin") && a.super_users.contains("User:broker"));
    let old = load(
        &[],
        &["authorizer.class.name=kafka.security.auth.SimpleAclAuthorizer"],
    );
    assert!(!old.authorizer.unwrap().allow_everyone_if_no_acl_found);
    let e = err(&[], &["authorizer.class.name=com.example.MyAuthorizer"]);
    assert!(
        e.contains("authorizer.class.name") && e.contains("AclAuthorizer"),
        "{e}"
    );
    let e = err(
        &[],
        &[
            "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
            "super.users=admin",
        ],
    );
    assert!(e.contains("super.users"), "{e}");
}

#[test]
fn zookeeper_security_defaults_to_off() {
    let c = load(&[], &[]);
    assert!(!c.zookeeper_set_acl);
    assert_eq!(c.zookeeper_sasl, coordinator::ZkSaslConfig::default());
}

#[test]
fn zookeeper_jaas_file_comes_from_kafka_opts_as_kafka_images_pass_it() {
    let opts = (
        "KAFKA_OPTS",
        "-Xmx1g -Djava.security.auth.login.config=/etc/kafka/jaas.conf \
         -Dzookeeper.sasl.clientconfig=ZkClient -Dother.prop=x",
    );
    let c = load(&[opts, ("KAFKA_ZOOKEEPER_SET_ACL", "true")], &[]);
    assert!(c.zookeeper_set_acl);
    let sasl = &c.zookeeper_sasl;
    assert_eq!(
        sasl.login_config.as_deref(),
        Some(std::path::Path::new("/etc/kafka/jaas.conf"))
    );
    assert_eq!(sasl.context, "ZkClient");
    assert!(sasl.sasl_client);
    // -D options of other properties are not config keys: no "unknown key" warning for them.
    let loaded = try_load(&[opts], &[]).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    // The same names as config keys win over KAFKA_OPTS.
    let c = load(
        &[opts],
        &[
            "java.security.auth.login.config=/other/jaas.conf",
            "zookeeper.sasl.client=false",
        ],
    );
    let sasl = &c.zookeeper_sasl;
    assert_eq!(
        sasl.login_config.as_deref(),
        Some(std::path::Path::new("/other/jaas.conf"))
    );
    assert!(!sasl.sasl_client);
    let e = err(&[("KAFKA_OPTS", "-Dzookeeper.sasl.client=maybe")], &[]);
    assert!(
        e.contains("zookeeper.sasl.client") && e.contains("KAFKA_OPTS"),
        "{e}"
    );
}

#[test]
fn zookeeper_tls_takes_pem_files_and_refuses_what_it_cannot_do() {
    assert_eq!(load(&[], &[]).zookeeper_tls, None);
    let on = ("KAFKA_ZOOKEEPER_SSL_CLIENT_ENABLE", "true");
    let e = err(&[on], &[]);
    assert!(e.contains("zookeeper.ssl.truststore.location"), "{e}");
    let trust = ("KAFKA_ZOOKEEPER_SSL_TRUSTSTORE_LOCATION", "/ca.pem");
    let c = load(
        &[on, trust],
        &["zookeeper.ssl.keystore.location=/broker.pem"],
    );
    assert_eq!(
        c.zookeeper_tls,
        Some(ZkTlsConfig {
            truststore: "/ca.pem".into(),
            keystore: Some("/broker.pem".into()),
        })
    );
    for (bad, says) in [
        ("zookeeper.ssl.truststore.type=JKS", "PEM"),
        ("zookeeper.ssl.keystore.type=PKCS12", "PEM"),
        ("zookeeper.ssl.keystore.password=secret", "encrypted"),
        (
            "zookeeper.ssl.endpoint.identification.algorithm=",
            "hostname",
        ),
    ] {
        let e = err(&[on, trust], &[bad]);
        assert!(
            e.contains(bad.split('=').next().unwrap()) && e.contains(says),
            "{e}"
        );
    }
    // Without zookeeper.ssl.client.enable the other keys do nothing, as in Kafka.
    assert_eq!(
        load(&[trust], &["zookeeper.ssl.truststore.type=JKS"]).zookeeper_tls,
        None
    );
}

const SASL_LISTENERS: [(&str, &str); 3] = [
    ("KAFKA_LISTENERS", "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093"),
    ("KAFKA_SASL_ENABLED_MECHANISMS", "PLAIN,SCRAM-SHA-256"),
    (
        "KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG",
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"a\";",
    ),
];

#[test]
fn sasl_listener_mechanisms_and_plain_users() {
    let c = load(&SASL_LISTENERS, &[]);
    let l = c.sasl.listener("sasl_plaintext").unwrap();
    assert_eq!(
        l.mechanisms,
        [::sasl::Mechanism::Plain, ::sasl::Mechanism::ScramSha256]
    );
    assert_eq!(l.plain_users.get("alice").map(String::as_str), Some("a"));
    assert_eq!(l.plain_users.len(), 2);
    assert!(c.sasl.listener("PLAINTEXT").is_none());
    assert_eq!(c.sasl.inter_broker, None);
    assert_eq!(c.sasl.max_receive_size, 524288);
    assert!(
        !format!("{c:?}").contains("admin-secret"),
        "passwords stay out of Debug"
    );
    // Per-listener override of the mechanisms.
    let c = load(
        &SASL_LISTENERS,
        &["listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512"],
    );
    assert_eq!(
        c.sasl.listener("SASL_PLAINTEXT").unwrap().mechanisms,
        [::sasl::Mechanism::ScramSha512]
    );
}

#[test]
fn sasl_inter_broker_credentials() {
    let scram_jaas = "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=\
        org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"pw\";";
    let c = load(
        &SASL_LISTENERS,
        &[
            "inter.broker.listener.name=SASL_PLAINTEXT",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
            scram_jaas,
        ],
    );
    let ib = c.sasl.inter_broker.unwrap();
    assert_eq!(ib.mechanism, ::sasl::Mechanism::ScramSha256);
    assert_eq!(
        (ib.username.as_str(), ib.password.as_str()),
        ("broker", "pw")
    );
    // security.inter.broker.protocol=SASL_PLAINTEXT picks the listener named so.
    let c = load(
        &SASL_LISTENERS,
        &[
            "security.inter.broker.protocol=SASL_PLAINTEXT",
            "sasl.mechanism.inter.broker.protocol=PLAIN",
        ],
    );
    assert_eq!(c.sasl.inter_broker.unwrap().username, "admin");
}

#[test]
fn sasl_errors_are_clear() {
    let with = |overrides: &[&str]| err(&SASL_LISTENERS, overrides);
    let e = with(&["sasl.enabled.mechanisms=GSSAPI"]);
    assert!(e.contains("GSSAPI is not supported"), "{e}");
    let e = with(&["sasl.enabled.mechanisms=OAUTHBEARER"]);
    assert!(e.contains("OAUTHBEARER is not supported"), "{e}");
    let e = with(&["sasl.enabled.mechanisms= "]);
    assert!(e.contains("at least one of"), "{e}");
    let e = err(&SASL_LISTENERS[..2], &[]);
    assert!(
        e.contains("listener.name.sasl_plaintext.plain.sasl.jaas.config"),
        "{e}"
    );
    let e = with(&["listener.name.sasl_plaintext.plain.sasl.jaas.config=x required a=\"s3cret\""]);
    assert!(e.contains("semi-colon") && !e.contains("s3cret"), "{e}");
    let e = with(&["listener.name.sasl_plaintext.plain.sasl.jaas.config=x required;"]);
    assert!(e.contains("PlainLoginModule"), "{e}");
    let e = with(&[
        "inter.broker.listener.name=SASL_PLAINTEXT",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
    ]);
    assert!(e.contains("enabled on the inter-broker listener"), "{e}");
    let e = with(&["inter.broker.listener.name=SASL_PLAINTEXT"]);
    assert!(e.contains("GSSAPI is not supported"), "{e}");
    let e = with(&[
        "inter.broker.listener.name=SASL_PLAINTEXT",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
    ]);
    assert!(e.contains("scram-sha-256.sasl.jaas.config"), "{e}");
    let e = with(&["sasl.server.max.receive.size=0"]);
    assert!(e.contains("sasl.server.max.receive.size"), "{e}");
}

#[test]
fn unprefixed_sasl_jaas_config_warns() {
    let loaded = try_load(&SASL_LISTENERS, &["sasl.jaas.config=x required;"]).unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("ignored by brokers")),
        "{:?}",
        loaded.warnings
    );
    assert!(!loaded.warnings.iter().any(|w| w.contains("unknown")));
}
