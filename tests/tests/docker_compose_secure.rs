//! `docker-compose-kafka-cluster-secure.yml`, the secured cluster users run: certificates from
//! `scripts/make-certs.sh`, `up --build` (its `kafka-setup` service runs `broker admin`), then
//! kafka-python on the host as user `tutorial` over SASL_SSL with SCRAM-SHA-512 (its topic
//! works, another is refused), and an unauthenticated zkCli inside a ZooKeeper container (it
//! reads the registrations, not the credentials, and cannot change a partition's state).
//! `down -v` leaves nothing behind. SKIPPED (and passing) without a Docker engine.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::docker::{self, parse_ls, wait_for, Compose};
use tests::{python, OrPanic};

const PROJECT: &str = "kzr-e2e-secure";
const FILE: &str = "docker-compose-kafka-cluster-secure.yml";
const BOOTSTRAP: &str = "localhost:29092,localhost:39092";
const HOST_PORTS: [u16; 6] = [22181, 32181, 42181, 29092, 39092, 49092];
const CLIENT_DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn docker_compose_secure_cluster_admits_only_what_it_should() {
    let test = "docker_compose_secure_cluster_admits_only_what_it_should";
    if docker::skip_without_docker(test) {
        return;
    }
    let Some(flavour) = docker::compose_flavour() else {
        println!("SKIPPED {test}: neither `docker compose` nor docker-compose");
        return;
    };
    let repo = tests::workspace_dir();
    let certs = repo.join("docker/secure/certs");
    let made = Command::new("bash")
        .arg(repo.join("scripts/make-certs.sh"))
        .arg(&certs)
        .output()
        .or_panic("scripts/make-certs.sh");
    assert!(
        made.status.success(),
        "make-certs.sh: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let cafile = certs.join("ca.pem").display().to_string();

    let images = docker::images().or_panic("building the test images");
    let mut compose = Compose::with_file(PROJECT, flavour, images, FILE);
    compose
        .fresh_up(&HOST_PORTS, Duration::from_secs(600))
        .or_panic("compose up --build");
    wait_for("three brokers registered", Duration::from_secs(60), || {
        let out = compose
            .zk_cli("zookeeper-1", &["ls", "/brokers/ids"])
            .map_err(|e| e.to_string())?;
        parse_ls(&out).filter(|ids| ids.len() == 3).ok_or(out)
    })
    .or_panic("ls /brokers/ids");

    tutorial_over_sasl_ssl(&cafile);
    zookeeper_is_read_only_for_strangers(&compose);

    compose.down().or_panic("compose down -v");
}

fn client(cafile: &str, mode: &str, topic: &str, password: &str) -> Vec<Value> {
    let args = [
        "--client",
        "kp",
        "--mode",
        mode,
        "--bootstrap",
        BOOTSTRAP,
        "--topic",
        topic,
        "--mechanism",
        "SCRAM-SHA-512",
        "--user",
        "tutorial",
        "--password",
        password,
        "--cafile",
        cafile,
        "--count",
        "3",
        "--timeout",
        "30",
    ];
    python::run_json("sasl_client.py", &args, CLIENT_DEADLINE)
        .or_panic(&format!("kafka-python {mode} {topic}"))
}

fn tutorial_over_sasl_ssl(cafile: &str) {
    let lines = client(cafile, "roundtrip", "my-topic", "tutorial-secret");
    let consumed = lines.iter().find_map(|l| l.get("consumed"));
    assert_eq!(
        consumed,
        Some(&serde_json::json!(["v0", "v1", "v2"])),
        "{lines:?}"
    );
    // Authenticated, but no ACL on this topic.
    let lines = client(
        cafile,
        "unauthorized",
        "not-the-tutorials",
        "tutorial-secret",
    );
    assert_eq!(lines[0]["delivered"], false, "{lines:?}");
    let error = lines[0]["error"].as_str().unwrap_or("");
    assert!(error.contains("TopicAuthorizationFailed"), "{lines:?}");
    // A wrong password is refused at authentication.
    let lines = client(cafile, "denied", "my-topic", "wrong");
    assert_eq!(lines[0]["delivered"], false, "{lines:?}");
    assert_eq!(lines[0]["auth_error"], true, "{lines:?}");
}

fn zookeeper_is_read_only_for_strangers(compose: &Compose) {
    let ids = compose
        .zk_cli("zookeeper-2", &["ls", "/brokers/ids"])
        .or_panic("ls /brokers/ids");
    assert_eq!(
        parse_ls(&ids).or_panic("ls output"),
        ["1", "2", "3"],
        "{ids}"
    );
    let user = zk_cli_all(compose, &["get", "/config/users/tutorial"]);
    assert!(user.contains("Insufficient permission"), "{user}");
    assert!(!user.contains("SCRAM"), "{user}");
    let state = "/brokers/topics/my-topic/partitions/0/state";
    let read = compose
        .zk_cli("zookeeper-3", &["get", state])
        .or_panic("get state");
    assert!(read.contains("\"leader\""), "{read}");
    let set = zk_cli_all(compose, &["set", state, "{}"]);
    assert!(set.contains("Insufficient permission"), "{set}");
    let after = compose
        .zk_cli("zookeeper-3", &["get", state])
        .or_panic("get state again");
    assert!(after.contains("\"leader\""), "{after}");
}

/// zkCli's stdout and stderr together (it reports refusals on stderr, and exits 1 then).
fn zk_cli_all(compose: &Compose, args: &[&str]) -> String {
    let mut all = vec![
        "sh",
        "-c",
        "zkCli.sh -server 127.0.0.1:2181 \"$@\" 2>&1; true",
        "zkcli",
    ];
    all.extend_from_slice(args);
    compose.exec("zookeeper-1", &all).or_panic("zkCli")
}
