//! What an operator sees with `zkCli.sh`: Kafka's ZooKeeper layout, written by our broker.

use std::time::{Duration, Instant};

use serde_json::Value;
use tests::OrPanic;
use tests::{python, Cluster};

/// Polls `zk_get_json(path)` until it parses (the controller writes some nodes asynchronously).
fn get_json_eventually(cluster: &Cluster, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match cluster.zk_get_json(path) {
            Ok(value) => return value,
            Err(e) if Instant::now() >= deadline => panic!("{path}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

#[test]
fn zkcli_shows_kafkas_layout() {
    let cluster = Cluster::start("zk-layout").or_panic("start cluster");
    let bootstrap = cluster.bootstrap();
    python::run_json(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "layout",
            "--count",
            "3",
        ],
        Duration::from_secs(90),
    )
    .or_panic("produce to an auto-created topic");

    let ids = cluster.zk_ls("/brokers/ids").or_panic("ls /brokers/ids");
    assert_eq!(ids, vec!["1".to_owned()]);

    let registration = cluster
        .zk_get_json("/brokers/ids/1")
        .or_panic("get /brokers/ids/1");
    assert_eq!(registration["version"], 5, "{registration}");
    assert_eq!(
        registration["endpoints"],
        serde_json::json!([format!("PLAINTEXT://{bootstrap}")]),
        "{registration}"
    );
    assert_eq!(registration["host"], "127.0.0.1", "{registration}");
    assert_eq!(
        registration["port"],
        cluster.broker.port(),
        "{registration}"
    );
    assert_eq!(
        registration["listener_security_protocol_map"]["PLAINTEXT"], "PLAINTEXT",
        "{registration}"
    );
    assert!(registration["timestamp"].is_string(), "{registration}");

    let topics = cluster
        .zk_ls("/brokers/topics")
        .or_panic("ls /brokers/topics");
    assert!(topics.contains(&"layout".to_owned()), "{topics:?}");
    let topic = cluster
        .zk_get_json("/brokers/topics/layout")
        .or_panic("get topic");
    assert_eq!(topic["version"], 3, "{topic}");
    assert_eq!(
        topic["partitions"],
        serde_json::json!({"0": [1]}),
        "{topic}"
    );

    let state = get_json_eventually(&cluster, "/brokers/topics/layout/partitions/0/state");
    assert_eq!(state["version"], 1, "{state}");
    assert_eq!(state["leader"], 1, "{state}");
    assert_eq!(state["isr"], serde_json::json!([1]), "{state}");
    assert!(
        state["leader_epoch"].as_i64().is_some_and(|e| e >= 0),
        "{state}"
    );
    assert!(
        state["controller_epoch"].as_i64().is_some_and(|e| e >= 1),
        "{state}"
    );

    let controller = cluster
        .zk_get_json("/controller")
        .or_panic("get /controller");
    assert_eq!(controller["brokerid"], 1, "{controller}");

    let cluster_id = cluster
        .zk_get_json("/cluster/id")
        .or_panic("get /cluster/id");
    assert_eq!(cluster_id["version"], "1", "{cluster_id}");
    assert!(
        cluster_id["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{cluster_id}"
    );
}
