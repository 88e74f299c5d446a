//! SASL_PLAINTEXT listeners with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512: real clients
//! (kafka-python, confluent-kafka, kcat), refusals on the wire, SCRAM credentials in ZooKeeper
//! in Kafka's format (written by hand and through AlterUserScramCredentials), and brokers
//! authenticating to each other.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, ProduceRequest, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sasl::{Mechanism, ScramCredential};
use serde_json::Value;
use tests::broker::BrokerProcess;
use tests::ports::free_port;
use tests::python;
use tests::sasl_clients::Login;
use tests::scram_users;
use tests::wire::WireClient;
use tests::zookeeper::{zk_cli, ZooKeeper};
use tests::{BrokerSetup, Cluster, OrPanic};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

const PLAIN_JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
    username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" \
    user_alice=\"alice-secret\";";
const SCRAM_JAAS: &str = "org.apache.kafka.common.security.scram.ScramLoginModule required \
    username=\"admin\" password=\"admin-secret\";";

/// The overrides of a broker whose SASL_PLAINTEXT listener takes all three mechanisms.
fn sasl_overrides() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        ),
        (
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            PLAIN_JAAS,
        ),
        (
            "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config",
            SCRAM_JAAS,
        ),
        ("offsets.topic.replication.factor", "1"),
    ]
}

fn add_user_in_zk(zk: &str, root: &str, user: &str, password: &str, mechanisms: &[Mechanism]) {
    scram_users::add_user_in_zk(zk, root, user, password, mechanisms).or_panic("SCRAM user");
}

fn write_user_node(zk: &str, root: &str, user: &str, password: &str, mechanisms: &[Mechanism]) {
    scram_users::write_user_node(zk, root, user, password, mechanisms).or_panic("user node");
}

/// SaslHandshake v1 + SaslAuthenticate v2 with the `sasl` crate's client: `Ok(Ok(client))`
/// authenticated, `Ok(Err((code, message)))` refused by the broker.
fn authenticate(
    addr: &str,
    m: Mechanism,
    user: &str,
    password: &str,
) -> io::Result<Result<WireClient, (i16, String)>> {
    let mut c = WireClient::connect_timeout(addr, Duration::from_secs(5))?;
    let hs: SaslHandshakeResponse = c.request(
        1,
        &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(m.name())),
    )?;
    if hs.error_code != 0 {
        return Ok(Err((hs.error_code, String::new())));
    }
    let mut mechanism = sasl::client(m, user, password);
    let mut token = mechanism.initial().map_err(io::Error::other)?;
    loop {
        let r: SaslAuthenticateResponse = c.request(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)),
        )?;
        if r.error_code != 0 {
            let message = r.error_message.map(|m| m.to_string()).unwrap_or_default();
            return Ok(Err((r.error_code, message)));
        }
        match mechanism.step(&r.auth_bytes).map_err(io::Error::other)? {
            Some(next) => token = next,
            None => return Ok(Ok(c)),
        }
    }
}

/// Waits (polling, bounded) until `user` authenticates with `m` on `addr`.
fn wait_authenticates(addr: &str, m: Mechanism, user: &str, password: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        match authenticate(addr, m, user, password) {
            Ok(Ok(mut c)) => {
                c.metadata_all().or_panic("Metadata after authentication");
                return;
            }
            other if Instant::now() >= deadline => {
                let outcome = other.map(|r| r.map(|_| ()));
                panic!("{user} with {m} on {addr} not accepted within {within:?}: {outcome:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A SASL_PLAINTEXT login through `sasl_client.py`.
fn login<'a>(
    client: &'a str,
    addr: &'a str,
    m: &'a str,
    user: &'a str,
    password: &'a str,
) -> Login<'a> {
    Login {
        client,
        addr,
        mechanism: m,
        user,
        password,
        cafile: None,
    }
}

/// One broker, every client and mechanism, and the refusals (~40 s).
#[test]
fn clients_authenticate_with_plain_and_scram_and_bad_ones_are_refused() {
    let sasl_port = free_port().or_panic("port");
    let overrides = sasl_overrides();
    let setup = BrokerSetup {
        overrides: &overrides,
        more_listeners: &[&format!("SASL_PLAINTEXT://127.0.0.1:{}", sasl_port)],
        ..BrokerSetup::default()
    };
    let cluster = Cluster::start_setup("sasl-clients", &setup).or_panic("cluster");
    let addr = format!("127.0.0.1:{sasl_port}");
    let scram = [Mechanism::ScramSha256, Mechanism::ScramSha512];
    add_user_in_zk(
        &cluster.zk.connect_string(),
        "/t-sasl-clients",
        "bob",
        "bob-secret",
        &scram,
    );
    for m in scram {
        wait_authenticates(&addr, m, "bob", "bob-secret", Duration::from_secs(5));
    }

    for client in ["kp", "ck"] {
        login(client, &addr, "PLAIN", "alice", "alice-secret")
            .roundtrip(&format!("{client}-plain"));
        for m in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
            login(client, &addr, m, "bob", "bob-secret").roundtrip(&format!("{client}-{m}"));
        }
        login(client, &addr, "PLAIN", "alice", "wrong").refused();
        login(client, &addr, "SCRAM-SHA-256", "bob", "wrong").refused();
        login(client, &addr, "SCRAM-SHA-512", "nobody", "x").refused();
    }
    kcat_roundtrip(&addr);
    wire_refusals(&addr, &cluster.bootstrap());
}

fn kcat_roundtrip(addr: &str) {
    let sasl = [
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=bob",
        "-X",
        "sasl.password=bob-secret",
    ];
    let mut produce = Command::new("kcat");
    produce
        .args(["-b", addr, "-P", "-t", "kcat-sasl", "-p", "0"])
        .args(sasl);
    let output = tests::process::run(
        produce,
        Some(b"one\ntwo\n".to_vec()),
        Duration::from_secs(30),
    )
    .or_panic("kcat produce");
    assert!(output.status.success(), "kcat produce: {output:?}");
    let mut consume = Command::new("kcat");
    consume
        .args([
            "-b",
            addr,
            "-C",
            "-t",
            "kcat-sasl",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
        ])
        .args(sasl);
    let output =
        tests::process::run(consume, None, Duration::from_secs(30)).or_panic("kcat consume");
    assert!(output.status.success(), "kcat consume: {output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "one\ntwo\n");
    let mut wrong = Command::new("kcat");
    wrong
        .args(["-b", addr, "-L", "-m", "5"])
        .args([
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanisms=PLAIN",
        ])
        .args(["-X", "sasl.username=alice", "-X", "sasl.password=nope"]);
    let output = tests::process::run(wrong, None, Duration::from_secs(30)).or_panic("kcat -L");
    assert!(
        !output.status.success(),
        "kcat with a wrong password: {output:?}"
    );
}

/// Refusals on the wire, and the broker serving others throughout.
fn wire_refusals(addr: &str, plaintext: &str) {
    // A Produce before authenticating closes that connection; ApiVersions is answered first.
    let mut c = WireClient::connect(addr).or_panic("connect");
    c.api_versions(3)
        .or_panic("ApiVersions before authentication");
    c.pipeline(
        3,
        &ProduceRequest::default().with_acks(1).with_timeout_ms(1000),
    )
    .or_panic("send Produce");
    assert!(c.is_closed_by_peer(Duration::from_secs(5)).or_panic("read"));
    wait_authenticates(
        addr,
        Mechanism::Plain,
        "alice",
        "alice-secret",
        Duration::from_secs(5),
    );

    // An unknown or disabled mechanism: UNSUPPORTED_SASL_MECHANISM listing the enabled ones.
    let mut c = WireClient::connect(addr).or_panic("connect");
    let hs: SaslHandshakeResponse = c
        .request(
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("GSSAPI")),
        )
        .or_panic("handshake");
    assert_eq!(hs.error_code, 33);
    let names: Vec<String> = hs.mechanisms.iter().map(|m| m.to_string()).collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    assert!(c.is_closed_by_peer(Duration::from_secs(5)).or_panic("read"));

    // Garbage in the exchange: SASL_AUTHENTICATION_FAILED with a message, then the close.
    let mut c = handshaken(addr, "SCRAM-SHA-256");
    let r: SaslAuthenticateResponse = c
        .request(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\xffgarbage")),
        )
        .or_panic("authenticate");
    assert_eq!(r.error_code, 58, "{r:?}");
    assert!(r.error_message.is_some_and(|m| !m.is_empty()));
    assert!(c.is_closed_by_peer(Duration::from_secs(5)).or_panic("read"));

    // A token larger than sasl.server.max.receive.size: closed without reading it.
    let mut c = handshaken(addr, "PLAIN");
    c.send_raw(&(100 * 1024 * 1024i32).to_be_bytes())
        .or_panic("size");
    assert!(c.is_closed_by_peer(Duration::from_secs(5)).or_panic("read"));

    // Handshake v0: the exchange is raw size-prefixed tokens, then requests are served.
    let mut c = WireClient::connect(addr).or_panic("connect");
    let hs: SaslHandshakeResponse = c
        .request(
            0,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .or_panic("handshake v0");
    assert_eq!(hs.error_code, 0);
    let token = b"\0alice\0alice-secret";
    let mut frame = (token.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(token);
    c.send_raw(&frame).or_panic("raw token");
    assert_eq!(c.read_frame().or_panic("raw answer").len(), 0);
    c.metadata_all().or_panic("Metadata after a v0 exchange");
    // ... and a wrong password there just closes.
    let mut c = WireClient::connect(addr).or_panic("connect");
    let _: SaslHandshakeResponse = c
        .request(
            0,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .or_panic("handshake v0");
    let token = b"\0alice\0nope";
    let mut frame = (token.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(token);
    c.send_raw(&frame).or_panic("raw token");
    assert!(c.is_closed_by_peer(Duration::from_secs(5)).or_panic("read"));

    // After authentication a second handshake is ILLEGAL_SASL_STATE; on PLAINTEXT too.
    for mut c in [
        authenticate(addr, Mechanism::ScramSha512, "bob", "bob-secret")
            .or_panic("auth")
            .map_err(|(code, message)| format!("{code}: {message}"))
            .or_panic("accepted"),
        WireClient::connect(plaintext).or_panic("plaintext"),
    ] {
        let hs: SaslHandshakeResponse = c
            .request(
                1,
                &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
            )
            .or_panic("late handshake");
        assert_eq!(hs.error_code, 34);
    }

    // A client that never finishes is cut off after the stage's bound (10 s).
    let mut idle = WireClient::connect(addr).or_panic("connect");
    let started = Instant::now();
    assert!(idle
        .is_closed_by_peer(Duration::from_secs(20))
        .or_panic("read"));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(15),
        "idle unauthenticated connection closed after {waited:?}"
    );
    let mut c = WireClient::connect(plaintext).or_panic("plaintext");
    c.metadata_all().or_panic("still serving");
}

fn handshaken(addr: &str, mechanism: &'static str) -> WireClient {
    let mut c = WireClient::connect(addr).or_panic("connect");
    let hs: SaslHandshakeResponse = c
        .request(
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
        )
        .or_panic("handshake");
    assert_eq!(hs.error_code, 0);
    c
}

fn admin(bootstrap: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--bootstrap", bootstrap];
    all.extend_from_slice(args);
    python::run_json("ck_scram_admin.py", &all, SCRIPT_TIMEOUT).or_panic("ck_scram_admin.py")
}

fn error_of<'a>(lines: &'a [Value], key: &str, user: &str) -> &'a Value {
    &lines
        .iter()
        .find(|l| l[key] == user)
        .or_panic(&format!("{key} {user} in {lines:?}"))["error"]
}

/// Two brokers: credentials written straight into ZooKeeper work on both within a second;
/// AlterUserScramCredentials through confluent-kafka writes Kafka's format, describes it back,
/// refuses what Kafka refuses, and the new user authenticates on both (~20 s).
#[test]
fn scram_credentials_from_zookeeper_and_the_admin_api_reach_every_broker() {
    let zk = ZooKeeper::start().or_panic("zookeeper");
    let root = "/m-sasl-users";
    let connect = format!("{}{root}", zk.connect_string());
    let overrides = sasl_overrides();
    let ports = [free_port().or_panic("port"), free_port().or_panic("port")];
    let mut brokers = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let setup = BrokerSetup {
            overrides: &overrides,
            more_listeners: &[&format!("SASL_PLAINTEXT://127.0.0.1:{}", *port)],
            ..BrokerSetup::default()
        };
        let id = i32::try_from(i + 1).or_panic("id");
        let mut b = BrokerProcess::start_with(&connect, id, &setup).or_panic("broker");
        b.wait_registered(Duration::from_secs(30))
            .or_panic("registered");
        brokers.push(b);
    }
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();

    add_user_in_zk(
        &zk.connect_string(),
        root,
        "dave",
        "dave-secret",
        &[Mechanism::ScramSha256],
    );
    for addr in &addrs {
        wait_authenticates(
            addr,
            Mechanism::ScramSha256,
            "dave",
            "dave-secret",
            Duration::from_secs(1),
        );
    }

    let bootstrap = brokers[0].bootstrap();
    let lines = admin(
        &bootstrap,
        &[
            "--upsert",
            "carol:SCRAM-SHA-512:8192:carol-secret",
            "--upsert",
            "erin:SCRAM-SHA-256:1000:x",
        ],
    );
    assert_eq!(
        error_of(&lines, "altered", "carol"),
        &Value::Null,
        "{lines:?}"
    );
    assert!(error_of(&lines, "altered", "erin").is_string(), "{lines:?}");
    // Kafka's format in ZooKeeper, and the notification every broker follows.
    let out = zk_cli(&connect, &["get", "/config/users/carol"]).or_panic("get carol");
    let json = tests::cluster::first_json_line(&out).or_panic("carol JSON");
    assert_eq!(json["version"], 1);
    let stored = json["config"]["SCRAM-SHA-512"]
        .as_str()
        .or_panic("SCRAM-SHA-512 entry");
    let credential = ScramCredential::parse(stored).or_panic("Kafka's credential format");
    assert_eq!(credential.iterations, 8192);
    assert!(
        stored.starts_with("salt=")
            && stored.contains(",stored_key=")
            && stored.ends_with(",iterations=8192")
    );
    for addr in &addrs {
        wait_authenticates(
            addr,
            Mechanism::ScramSha512,
            "carol",
            "carol-secret",
            Duration::from_secs(2),
        );
    }

    let lines = admin(&bootstrap, &["--describe", "carol", "--describe", "nobody"]);
    let carol = lines
        .iter()
        .find(|l| l["described"] == "carol")
        .or_panic("carol");
    assert_eq!(
        carol["credentials"],
        serde_json::json!([["SCRAM-SHA-512", 8192]])
    );
    assert!(
        error_of(&lines, "described", "nobody").is_string(),
        "{lines:?}"
    );
    let lines = admin(&bootstrap, &["--describe", "*"]);
    let users: Vec<&Value> = lines.iter().map(|l| &l["described"]).collect();
    assert_eq!(users, ["carol", "dave"], "{lines:?}");

    // Deleting a credential that does not exist is refused; deleting carol's removes it.
    let lines = admin(&bootstrap, &["--delete", "carol:SCRAM-SHA-256"]);
    assert!(
        error_of(&lines, "altered", "carol").is_string(),
        "{lines:?}"
    );
    let lines = admin(&bootstrap, &["--delete", "carol:SCRAM-SHA-512"]);
    assert_eq!(
        error_of(&lines, "altered", "carol"),
        &Value::Null,
        "{lines:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    for addr in &addrs {
        loop {
            let r = authenticate(addr, Mechanism::ScramSha512, "carol", "carol-secret")
                .or_panic("auth");
            if r.is_err() {
                break;
            }
            assert!(Instant::now() < deadline, "carol still accepted on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Three brokers whose inter-broker listener is SASL_PLAINTEXT with SCRAM-SHA-256: the
/// controller's requests, the followers' fetches and acks=all produce all work (~20 s).
#[test]
fn brokers_authenticate_to_each_other_with_scram() {
    let zk = ZooKeeper::start().or_panic("zookeeper");
    let root = "/m-sasl-inter-broker";
    add_user_in_zk(
        &zk.connect_string(),
        root,
        "admin",
        "admin-secret",
        &[Mechanism::ScramSha256],
    );
    let connect = format!("{}{root}", zk.connect_string());
    let mut overrides = sasl_overrides();
    overrides.push(("inter.broker.listener.name", "SASL_PLAINTEXT"));
    overrides.push(("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-256"));
    overrides.push(("offsets.topic.replication.factor", "3"));
    let mut brokers = Vec::new();
    for id in 1..=3 {
        let port = free_port().or_panic("port");
        let setup = BrokerSetup {
            overrides: &overrides,
            more_listeners: &[&format!("SASL_PLAINTEXT://127.0.0.1:{}", port)],
            ..BrokerSetup::default()
        };
        brokers.push(BrokerProcess::start_with(&connect, id, &setup).or_panic("broker"));
    }
    for b in &mut brokers {
        b.wait_registered(Duration::from_secs(30))
            .or_panic("registered");
    }
    let bootstrap = brokers[0].bootstrap();
    let topic = "replicated";
    let mut c = WireClient::connect(&bootstrap).or_panic("connect");
    // min.insync.replicas=3: acks=all then needs both followers, fetching over SASL.
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(topic)))
            .with_num_partitions(1)
            .with_replication_factor(3)
            .with_configs(vec![CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("min.insync.replicas"))
                .with_value(Some(StrBytes::from_static_str("3")))])])
        .with_timeout_ms(15_000);
    let created: CreateTopicsResponse = c.request(5, &request).or_panic("CreateTopics");
    let code = created.topics.first().map_or(-1, |t| t.error_code);
    assert!(code == 0 || code == 41, "CreateTopics: {created:?}");

    // acks=all needs both followers fetching over SASL; retried until the ISR formed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let args = ["--bootstrap", &bootstrap, "--topic", topic, "--count", "3"];
        match python::run_json("ck_acks_all.py", &args, SCRIPT_TIMEOUT) {
            Ok(lines) if lines.iter().any(|l| l["delivered"] == 3) => break,
            other => assert!(
                Instant::now() < deadline,
                "acks=all never succeeded: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let metadata = WireClient::connect(&bootstrap)
        .or_panic("connect")
        .metadata_all()
        .or_panic("metadata");
    let isr = metadata
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == topic))
        .and_then(|t| t.partitions.first())
        .map(|p| p.isr_nodes.len())
        .or_panic("partition");
    assert_eq!(
        isr, 3,
        "every replica in sync over the SASL inter-broker listener"
    );
}

/// A broker frozen past its ZooKeeper session timeout misses a credential whose notification
/// it never sees; on its new session it re-reads every user (~20 s).
#[test]
fn scram_credentials_are_reloaded_after_a_session_expiry() {
    let sasl_port = free_port().or_panic("port");
    let overrides = sasl_overrides();
    let setup = BrokerSetup {
        overrides: &overrides,
        more_listeners: &[&format!("SASL_PLAINTEXT://127.0.0.1:{}", sasl_port)],
        ..BrokerSetup::default()
    };
    let cluster = Cluster::start_setup("sasl-expiry", &setup).or_panic("cluster");
    let addr = format!("127.0.0.1:{sasl_port}");
    let pid = cluster.broker.pid().or_panic("pid");
    tests::process::signal(pid, "STOP").or_panic("SIGSTOP");
    let zk = cluster.zk.connect_string();
    write_user_node(
        &zk,
        "/t-sasl-expiry",
        "frank",
        "frank-secret",
        &[Mechanism::ScramSha512],
    );
    let waited = cluster.wait_broker_deregistered(1, Duration::from_secs(30));
    tests::process::signal(pid, "CONT").or_panic("SIGCONT");
    waited.or_panic("session expired");
    wait_authenticates(
        &addr,
        Mechanism::ScramSha512,
        "frank",
        "frank-secret",
        Duration::from_secs(30),
    );
}
