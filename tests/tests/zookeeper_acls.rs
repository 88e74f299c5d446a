//! `zookeeper.set.acl=true` against a ZooKeeper that authenticates SASL DIGEST-MD5: two brokers
//! log in as the same ZooKeeper user (one through `KAFKA_OPTS`, as Kafka's images take the JAAS
//! file, one through the config key), serve clients, and leave znodes that everyone may read but
//! only that user may change, with `/config/users` hidden, as Kafka's brokers leave them.

use std::time::Duration;

use coordinator::jaas_client::DigestLogin;
use coordinator::zk_acl::describe;
use coordinator::{Zk, ZkConnect, ZkOptions, ZnodeAcls};
use tests::broker::broker_bin;
use tests::multi::MultiCluster;
use tests::zookeeper::{zk_cli, zk_cli_output, ZooKeeper};
use tests::{kcat, process, BrokerSetup, OrPanic};

const USER: &str = "kafka";
const PASSWORD: &str = "kafka-zk-secret";
const TIMEOUT: Duration = Duration::from_secs(30);

/// The broker's JAAS file, as a Kafka deployment writes it.
fn client_jaas(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kafka_server_jaas.conf");
    let text = format!(
        "KafkaServer {{\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n  \
         username=\"admin\" password=\"admin-secret\";\n}};\n\
         Client {{\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         username=\"{USER}\"\n  password=\"{PASSWORD}\";\n}};\n"
    );
    std::fs::write(&path, text).or_panic("write JAAS file");
    path
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .or_panic("tokio runtime")
}

async fn session(connect: &str, login: Option<DigestLogin>) -> Zk {
    let connect = ZkConnect::parse(connect).or_panic("connect string");
    let secure = login.is_some();
    let options = ZkOptions::new(Duration::from_secs(6), Duration::from_secs(10))
        .with_sasl(login)
        .with_acls(ZnodeAcls::new(secure));
    Zk::connect_with(&connect, &options)
        .await
        .or_panic("ZooKeeper session")
}

async fn acls(zk: &Zk, path: &str) -> Vec<String> {
    let acl = zk.acl(path).await.or_panic("getAcl");
    let mut list: Vec<String> = acl
        .unwrap_or_else(|| panic!("{path} missing"))
        .iter()
        .map(describe)
        .collect();
    list.sort();
    list
}

#[test]
fn brokers_with_set_acl_secure_their_znodes() {
    let zk = ZooKeeper::start_sasl(&[(USER, PASSWORD)]).or_panic("secured ZooKeeper");
    let dir = tempfile::tempdir().or_panic("temp dir");
    let jaas = client_jaas(dir.path());
    let kafka_opts = format!(
        "-Xmx1g -Djava.security.auth.login.config={}",
        jaas.display()
    );
    let jaas_path = jaas.display().to_string();
    let env = [("KAFKA_OPTS", kafka_opts.as_str())];
    let by_env = [("zookeeper.set.acl", "true")];
    let by_key = [
        ("zookeeper.set.acl", "true"),
        ("java.security.auth.login.config", jaas_path.as_str()),
    ];
    let setups = [
        BrokerSetup {
            overrides: &by_env,
            env: &env,
            ..BrokerSetup::default()
        },
        BrokerSetup {
            overrides: &by_key,
            ..BrokerSetup::default()
        },
    ];
    let mut c = MultiCluster::start_each_on(zk, "zkacl", &setups).or_panic("2 secured brokers");

    // Clients work as ever: the brokers create, elect and write through their secure session.
    let topic = "secured";
    c.create_topic(topic, 2, 2, &[]).or_panic("create topic");
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..5)
        .map(|i| (format!("k{i}").into_bytes(), format!("v{i}").into_bytes()))
        .collect();
    let bootstrap = c.bootstrap();
    kcat::produce(&bootstrap, topic, "none", &records, TIMEOUT).or_panic("produce");
    let got = kcat::consume(&bootstrap, topic, 5, TIMEOUT).or_panic("consume");
    assert_eq!(got.len(), 5, "{got:?}");

    let connect = c.zk_connect();
    let state = format!("/brokers/topics/{topic}/partitions/0/state");
    runtime().block_on(async {
        let login = DigestLogin {
            username: USER.into(),
            password: PASSWORD.into(),
        };
        let broker_like = session(&connect, Some(login)).await;
        // What Kafka's brokers would write for a SCRAM user, through the same ACL policy.
        broker_like
            .create(
                "/config/users/alice",
                br#"{"version":1,"config":{}}"#,
                false,
            )
            .await
            .or_panic("create /config/users/alice");

        let kafka = ["sasl:kafka:ALL", "world:anyone:READ"];
        for path in [
            "/brokers/ids",
            "/brokers/ids/1",
            "/brokers/ids/2",
            &state,
            "/controller",
        ] {
            assert_eq!(acls(&broker_like, path).await, kafka, "{path}");
        }
        assert_eq!(
            acls(&broker_like, "/config/users").await,
            ["sasl:kafka:ALL"]
        );
        assert_eq!(
            acls(&broker_like, "/config/users/alice").await,
            ["sasl:kafka:ALL"]
        );

        // The zookeeper-client crate without a login: reads yes, writes and secrets no.
        let anonymous = session(&connect, None).await;
        let ids = anonymous.children("/brokers/ids").await.or_panic("ls ids");
        assert_eq!(ids, ["1", "2"]);
        let (data, _) = anonymous
            .get(&state)
            .await
            .or_panic("get state")
            .or_panic("state exists");
        assert!(String::from_utf8_lossy(&data).contains("\"isr\""));
        let denied = anonymous
            .set(&state, b"{}", None)
            .await
            .expect_err("anonymous setData refused");
        assert!(denied.is_no_auth(), "{denied}");
        let denied = anonymous
            .get("/config/users/alice")
            .await
            .expect_err("anonymous read of /config/users refused");
        assert!(denied.is_no_auth(), "{denied}");
        let denied = anonymous
            .delete("/controller")
            .await
            .expect_err("anonymous delete refused");
        assert!(denied.is_no_auth(), "{denied}");
        anonymous.close().await;
        broker_like.close().await;
    });

    // Debian's zkCli.sh, which has no JAAS file: the same answers.
    let ids = zk_cli(&connect, &["ls", "/brokers/ids"]).or_panic("zkCli ls");
    assert!(ids.contains("[1, 2]"), "{ids}");
    let (_, set) = zk_cli_output(&connect, &["set", &state, "{}"]).or_panic("zkCli set");
    assert!(set.contains("Insufficient permission"), "{set}");
    let (_, get) = zk_cli_output(&connect, &["get", "/config/users/alice"]).or_panic("zkCli get");
    assert!(get.contains("Insufficient permission"), "{get}");
    let acl = zk_cli(&connect, &["getAcl", &state]).or_panic("zkCli getAcl");
    assert!(
        acl.contains("'sasl,'kafka\n: cdrwa") && acl.contains("'world,'anyone\n: r"),
        "{acl}"
    );

    // The cluster still works after the refused writes: the state is what the brokers wrote.
    let leaders = c.partitions(topic).or_panic("partitions");
    assert!(leaders
        .values()
        .all(|(leader, isr)| *leader > 0 && isr.len() == 2));
}

#[test]
fn set_acl_without_zookeeper_authentication_refuses_to_start() {
    let zk = ZooKeeper::start_sasl(&[(USER, PASSWORD)]).or_panic("secured ZooKeeper");
    let dir = tempfile::tempdir().or_panic("temp dir");
    let mut command = std::process::Command::new(broker_bin());
    for (key, value) in [
        (
            "zookeeper.connect",
            format!("{}/refused", zk.connect_string()),
        ),
        ("zookeeper.set.acl", "true".to_owned()),
        ("listeners", "PLAINTEXT://127.0.0.1:0".to_owned()),
        ("log.dirs", dir.path().display().to_string()),
    ] {
        command.arg("--override").arg(format!("{key}={value}"));
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KAFKA_") {
            command.env_remove(name);
        }
    }
    let output = process::run(command, None, TIMEOUT).or_panic("broker run");
    assert!(!output.status.success());
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        log.contains("zookeeper.set.acl is true")
            && log.contains("java.security.auth.login.config"),
        "{log}"
    );
    // Nothing was written: the chroot does not exist.
    let root = zk_cli(&zk.connect_string(), &["ls", "/"]).or_panic("zkCli ls /");
    assert!(!root.contains("refused"), "{root}");
}

#[test]
fn broker_over_tls_with_a_client_certificate_secures_its_znodes() {
    use tests::zk_certs::{ZkCerts, CLIENT_SUBJECT};

    let certs = ZkCerts::generate().or_panic("certificates");
    let zk = ZooKeeper::start_tls(&certs).or_panic("TLS ZooKeeper");
    let secure = zk.secure_connect_string().or_panic("TLS port");
    let ca = certs.ca.display().to_string();
    let keystore = certs.client_keystore.display().to_string();
    // Kafka's keys as a TLS deployment sets them (the socket class is a JVM detail we accept).
    let env = [
        ("KAFKA_ZOOKEEPER_SSL_CLIENT_ENABLE", "true"),
        (
            "KAFKA_ZOOKEEPER_CLIENTCNXNSOCKET",
            "org.apache.zookeeper.ClientCnxnSocketNetty",
        ),
        ("KAFKA_ZOOKEEPER_SSL_TRUSTSTORE_LOCATION", ca.as_str()),
        ("KAFKA_ZOOKEEPER_SSL_TRUSTSTORE_TYPE", "PEM"),
        ("KAFKA_ZOOKEEPER_SSL_KEYSTORE_LOCATION", keystore.as_str()),
        ("KAFKA_ZOOKEEPER_SSL_KEYSTORE_TYPE", "PEM"),
        ("KAFKA_ZOOKEEPER_SET_ACL", "true"),
    ];
    let setup = BrokerSetup {
        env: &env,
        ..BrokerSetup::default()
    };
    let mut broker = tests::BrokerProcess::start_with(&format!("{secure}/tls"), 1, &setup)
        .or_panic("broker over TLS");
    broker
        .wait_registered(TIMEOUT)
        .or_panic("registered over TLS");
    let bootstrap = broker.bootstrap();
    let records = vec![(b"k".to_vec(), b"over-tls".to_vec())];
    kcat::produce(&bootstrap, "tls-topic", "none", &records, TIMEOUT).or_panic("produce");
    let got = kcat::consume(&bootstrap, "tls-topic", 1, TIMEOUT).or_panic("consume");
    assert_eq!(got.len(), 1, "{got:?}");

    // Looked at through the plain port, without any identity.
    let plain = format!("{}/tls", zk.connect_string());
    runtime().block_on(async {
        let anonymous = session(&plain, None).await;
        let owner = format!("x509:{CLIENT_SUBJECT}:ALL");
        for path in ["/brokers/ids/1", "/brokers/topics/tls-topic"] {
            assert_eq!(
                acls(&anonymous, path).await,
                ["world:anyone:READ", owner.as_str()],
                "{path}"
            );
        }
        let denied = anonymous
            .set("/brokers/topics/tls-topic", b"{}", None)
            .await
            .expect_err("anonymous setData refused");
        assert!(denied.is_no_auth(), "{denied}");
        anonymous.close().await;
    });
}

#[test]
fn a_secured_broker_logs_in_again_after_its_session_expires() {
    let zk = ZooKeeper::start_sasl(&[(USER, PASSWORD)]).or_panic("secured ZooKeeper");
    let dir = tempfile::tempdir().or_panic("temp dir");
    let jaas = client_jaas(dir.path()).display().to_string();
    let overrides = [
        ("zookeeper.set.acl", "true"),
        ("java.security.auth.login.config", jaas.as_str()),
    ];
    let setups = [BrokerSetup {
        overrides: &overrides,
        ..BrokerSetup::default()
    }];
    let mut c = MultiCluster::start_each_on(zk, "zkacl-expiry", &setups).or_panic("broker");
    let connect = c.zk_connect();
    let rt = runtime();
    let anonymous = rt.block_on(session(&connect, None));
    let registration = |zk: &Zk| rt.block_on(zk.stat("/brokers/ids/1")).or_panic("stat");
    let first = registration(&anonymous).or_panic("registered").czxid;

    // Frozen past its session timeout, the broker loses its registration...
    let pid = c.broker(1).pid().or_panic("pid");
    process::signal(pid, "STOP").or_panic("SIGSTOP");
    let expired = c.wait_for(Duration::from_secs(30), "the session to expire", |_| {
        Ok(registration(&anonymous).is_none())
    });
    process::signal(pid, "CONT").or_panic("SIGCONT");
    expired.or_panic("expiry");
    // ...and, thawed, opens a new session with the same SASL login and registers again,
    // creating the new registration with the secure ACLs.
    c.wait_for(TIMEOUT, "a new registration", |_| {
        Ok(registration(&anonymous).is_some_and(|stat| stat.czxid > first))
    })
    .or_panic("re-registration");
    let acl = rt.block_on(acls(&anonymous, "/brokers/ids/1"));
    assert_eq!(acl, ["sasl:kafka:ALL", "world:anyone:READ"]);
    let bootstrap = c.bootstrap();
    let records = vec![(b"k".to_vec(), b"after-expiry".to_vec())];
    kcat::produce(&bootstrap, "after-expiry", "none", &records, TIMEOUT).or_panic("produce");
    rt.block_on(anonymous.close());
}
