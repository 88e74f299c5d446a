//! `broker admin` against a real ZooKeeper that authenticates SASL DIGEST-MD5, configured as a
//! secured broker is (KAFKA_OPTS' JAAS file, KAFKA_ZOOKEEPER_SET_ACL): SCRAM users and ACLs in
//! Kafka's znodes with their change notifications and the brokers' znode ACLs, a second run
//! that changes nothing, clear refusals of bad input, and a broker that then lets that user in
//! and applies those ACLs.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use coordinator::jaas_client::DigestLogin;
use coordinator::zk_acl::describe;
use coordinator::{Zk, ZkConnect, ZkOptions, ZnodeAcls};
use sasl::{Mechanism, ScramCredential};
use serde_json::Value;
use tests::broker::{broker_bin, BrokerProcess};
use tests::ports::free_port;
use tests::zookeeper::ZooKeeper;
use tests::{python, BrokerSetup, OrPanic};

const ZK_USER: &str = "kafka";
const ZK_PASSWORD: &str = "kafka-zk-secret";
const RUN_BOUND: Duration = Duration::from_secs(60);

fn jaas_file(dir: &Path, password: &str) -> String {
    let path = dir.join(format!("jaas-{password}.conf"));
    let text = format!(
        "Client {{\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         username=\"{ZK_USER}\"\n  password=\"{password}\";\n}};\n"
    );
    std::fs::write(&path, text).or_panic("write JAAS file");
    path.display().to_string()
}

/// Runs `broker admin` with a secured broker's environment, bounded.
fn admin(zk_connect: &str, jaas: &str, args: &[&str]) -> Output {
    let mut child = Command::new(broker_bin())
        .arg("admin")
        .args(args)
        .env(
            "KAFKA_OPTS",
            format!("-Xmx256m -Djava.security.auth.login.config={jaas}"),
        )
        .env("KAFKA_ZOOKEEPER_CONNECT", zk_connect)
        .env("KAFKA_ZOOKEEPER_SET_ACL", "true")
        .env("KAFKA_ZOOKEEPER_CONNECTION_TIMEOUT_MS", "10000")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .or_panic("spawn broker admin");
    let deadline = std::time::Instant::now() + RUN_BOUND;
    while child.try_wait().or_panic("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("broker admin {args:?} still running after {RUN_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().or_panic("broker admin output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const ARGS: [&str; 5] = [
    "--user=tutorial:tutorial-secret",
    "--user",
    "admin:admin:with:colons",
    "--allow=User:tutorial:ALL:TOPIC:LITERAL:my-topic",
    "--allow=user:tutorial:read:group:literal:*",
];

#[test]
fn broker_admin_writes_users_and_acls_a_broker_then_uses() {
    let zk = ZooKeeper::start_sasl(&[(ZK_USER, ZK_PASSWORD)]).or_panic("secured ZooKeeper");
    let dir = tempfile::tempdir().or_panic("temp dir");
    let jaas = jaas_file(dir.path(), ZK_PASSWORD);
    let connect = format!("{}/secured", zk.connect_string());

    let first = admin(&connect, &jaas, &ARGS);
    let stdout = text(&first.stdout);
    assert!(first.status.success(), "{stdout}\n{}", text(&first.stderr));
    assert!(
        stdout.contains("user tutorial: SCRAM-SHA-256 and SCRAM-SHA-512 credentials written"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ACL added: Allow User:tutorial Read on Group:Literal:* from host *"),
        "{stdout}"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .or_panic("tokio runtime");
    let before = runtime.block_on(check_znodes(&connect));

    // Again: nothing written, nothing announced.
    let second = admin(&connect, &jaas, &ARGS);
    let stdout = text(&second.stdout);
    assert!(
        second.status.success(),
        "{stdout}\n{}",
        text(&second.stderr)
    );
    assert!(
        stdout.contains("user tutorial: SCRAM credentials unchanged")
            && stdout.contains("ACL already present: Allow User:tutorial All on Topic"),
        "{stdout}"
    );
    assert_eq!(runtime.block_on(check_znodes(&connect)), before);

    // Bad input: clap's usage error (status 2) before any connection; a refused login.
    let bad = admin(&connect, &jaas, &["--allow=User:tutorial:Read:Topic"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("PRINCIPAL:OPERATION:RESOURCE_TYPE:PATTERN_TYPE:NAME"),
        "{}",
        text(&bad.stderr)
    );
    let wrong = jaas_file(dir.path(), "not-the-password");
    let refused = admin(&connect, &wrong, &["--user=x:y"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("rejected the SASL login of user 'kafka'"),
        "{}",
        text(&refused.stderr)
    );

    broker_lets_tutorial_in(&connect, &jaas);
}

/// The znodes `broker admin` wrote, checked; returns (their versions, the notification counts)
/// to compare runs.
async fn check_znodes(connect: &str) -> (Vec<i32>, usize, usize) {
    let options = ZkOptions::new(Duration::from_secs(6), Duration::from_secs(10))
        .with_sasl(Some(DigestLogin {
            username: ZK_USER.into(),
            password: ZK_PASSWORD.into(),
        }))
        .with_acls(ZnodeAcls::SECURE);
    let zk = Zk::connect_with(&ZkConnect::parse(connect).or_panic("connect"), &options)
        .await
        .or_panic("broker-like session");
    let json = |data: Vec<u8>| -> Value { serde_json::from_slice(&data).or_panic("JSON") };
    let mut versions = Vec::new();

    let (data, stat) = zk
        .get("/config/users/tutorial")
        .await
        .or_panic("get user")
        .or_panic("user node");
    versions.push(stat.version);
    let user = json(data);
    assert_eq!(user["version"], 1, "{user}");
    for m in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let stored = user["config"][m.name()].as_str().or_panic("credential");
        let c = ScramCredential::parse(stored).or_panic("Kafka's credential format");
        assert_eq!(c.iterations, 4096);
        assert!(c.matches_password(m, "tutorial-secret"), "{m}");
    }
    let (data, _) = zk
        .get("/config/users/admin")
        .await
        .or_panic("get admin")
        .or_panic("admin node");
    let stored = json(data)["config"]["SCRAM-SHA-512"]
        .as_str()
        .or_panic("admin credential")
        .to_owned();
    let c = ScramCredential::parse(&stored).or_panic("admin credential format");
    assert!(c.matches_password(Mechanism::ScramSha512, "admin:with:colons"));

    let notes = zk.children("/config/changes").await.or_panic("ls changes");
    let mut users = Vec::new();
    for n in &notes {
        let (data, _) = zk
            .get(&format!("/config/changes/{n}"))
            .await
            .or_panic("get change")
            .or_panic("change node");
        users.push(json(data)["entity_path"].as_str().unwrap_or("").to_owned());
    }
    users.sort();
    assert_eq!(users, ["users/admin", "users/tutorial"]);

    let (data, stat) = zk
        .get("/kafka-acl/Group/*")
        .await
        .or_panic("get group ACLs")
        .or_panic("group ACL node");
    versions.push(stat.version);
    assert_eq!(
        json(data),
        serde_json::json!({"version": 1, "acls": [
            {"principal": "User:tutorial", "permissionType": "Allow", "operation": "Read", "host": "*"}
        ]})
    );
    let (_, stat) = zk
        .get("/kafka-acl/Topic/my-topic")
        .await
        .or_panic("get topic ACLs")
        .or_panic("topic ACL node");
    versions.push(stat.version);
    let acl_notes = zk
        .children("/kafka-acl-changes")
        .await
        .or_panic("ls acl changes");
    assert_eq!(acl_notes.len(), 2, "{acl_notes:?}");

    // The brokers' znode ACLs: credentials hidden, the rest world-readable.
    assert_eq!(
        acls_of(&zk, "/config/users/tutorial").await,
        ["sasl:kafka:ALL"]
    );
    assert_eq!(
        acls_of(&zk, "/kafka-acl/Topic/my-topic").await,
        ["sasl:kafka:ALL", "world:anyone:READ"]
    );
    zk.close().await;
    (versions, notes.len(), acl_notes.len())
}

async fn acls_of(zk: &Zk, path: &str) -> Vec<String> {
    let acl = zk.acl(path).await.or_panic("getAcl");
    let mut list: Vec<String> = acl
        .unwrap_or_else(|| panic!("{path} missing"))
        .iter()
        .map(describe)
        .collect();
    list.sort();
    list
}

/// A broker on the same ZooKeeper with a SASL_PLAINTEXT SCRAM listener and the ACL authorizer:
/// tutorial produces and consumes my-topic, and is refused a topic it has no ACL for.
fn broker_lets_tutorial_in(connect: &str, jaas: &str) {
    let port = free_port().or_panic("port");
    let listener = format!("SASL_PLAINTEXT://127.0.0.1:{port}");
    let kafka_opts = format!("-Djava.security.auth.login.config={jaas}");
    let overrides = [
        ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
        ("zookeeper.set.acl", "true"),
        (
            "authorizer.class.name",
            "kafka.security.authorizer.AclAuthorizer",
        ),
        // The harness's PLAINTEXT listener (readiness, the controller's own requests).
        ("super.users", "User:ANONYMOUS"),
        ("offsets.topic.replication.factor", "1"),
    ];
    let env = [("KAFKA_OPTS", kafka_opts.as_str())];
    let setup = BrokerSetup {
        overrides: &overrides,
        env: &env,
        more_listeners: &[&listener],
        ..BrokerSetup::default()
    };
    let mut broker = BrokerProcess::start_with(connect, 1, &setup).or_panic("broker");
    broker
        .wait_registered(Duration::from_secs(30))
        .or_panic("registered");
    let addr = format!("127.0.0.1:{port}");
    let run = |topic: &str, mode: &str| {
        let args = [
            "--client",
            "kp",
            "--mode",
            mode,
            "--bootstrap",
            &addr,
            "--topic",
            topic,
            "--mechanism",
            "SCRAM-SHA-512",
            "--user",
            "tutorial",
            "--password",
            "tutorial-secret",
            "--count",
            "3",
            "--timeout",
            "20",
        ];
        python::run_json("sasl_client.py", &args, Duration::from_secs(90)).or_panic("sasl_client")
    };
    let lines = run("my-topic", "roundtrip");
    let consumed = lines.iter().find_map(|l| l.get("consumed"));
    assert_eq!(
        consumed,
        Some(&serde_json::json!(["v0", "v1", "v2"])),
        "{lines:?}"
    );
    let lines = run("not-granted", "unauthorized");
    assert_eq!(lines[0]["delivered"], false, "{lines:?}");
    let error = lines[0]["error"].as_str().unwrap_or("");
    assert!(error.contains("TopicAuthorizationFailed"), "{lines:?}");
}
