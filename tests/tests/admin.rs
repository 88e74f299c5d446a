//! Admin APIs through real clients (kafka-python `KafkaAdminClient`, confluent-kafka
//! `AdminClient`) against three brokers, and what zkCli shows afterwards.

use std::time::Duration;

use serde_json::Value;
use tests::multi::MultiCluster;
use tests::python;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn step<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {lines:?}"))
}

#[test]
fn kafka_python_admin_client() {
    let mut c = MultiCluster::start("admin-kp", 3, &[]).expect("cluster");
    let lines = python::run_json("admin_kp.py", &[&c.bootstrap(), "kp-admin"], SCRIPT_TIMEOUT)
        .expect("admin_kp.py");
    assert!(step(&lines, "created")["topics"]
        .as_array()
        .expect("list")
        .contains(&Value::from("kp-admin")));
    assert_eq!(step(&lines, "described")["retention"], "123456");
    assert_eq!(step(&lines, "described")["cleanup"], "delete");
    assert_eq!(step(&lines, "altered")["retention"], "999");
    assert_eq!(step(&lines, "partitions")["count"], 3);
    assert_eq!(step(&lines, "cluster")["brokers"], 3);
    assert!(!step(&lines, "deleted")["topics"]
        .as_array()
        .expect("list")
        .contains(&Value::from("kp-admin")));
    // One notification: the AlterConfigs (creation writes /config/topics/<t> without one).
    assert!(!c.zk_ls("/config/changes").expect("ls").is_empty());
}

#[test]
fn confluent_admin_client() {
    let mut c = MultiCluster::start("admin-ck", 3, &[]).expect("cluster");
    let lines = python::run_json("admin_ck.py", &[&c.bootstrap(), "ck-admin"], SCRIPT_TIMEOUT)
        .expect("admin_ck.py");
    assert_eq!(step(&lines, "created")["brokers"], 3);
    assert_eq!(step(&lines, "described")["cleanup"], "compact");
    assert_eq!(step(&lines, "altered")["retention"], "4242");
    // AlterConfigs replaces the whole override set, as in Kafka.
    assert_eq!(step(&lines, "altered")["cleanup"], "delete");
    assert_eq!(step(&lines, "partitions")["count"], 4);
    assert!(c.zk_ls("/brokers/topics").expect("ls").is_empty());
}

#[test]
fn zookeeper_layout_matches_kafka() {
    let c = MultiCluster::start("admin-zk", 2, &[]).expect("cluster");
    let ids = c.zk_ls("/brokers/ids").expect("ls");
    assert_eq!(ids, vec!["1".to_string(), "2".to_string()]);
    let controller = c.zk_get_json("/controller").expect("controller");
    assert_eq!(controller["version"], 1);
    assert!(controller["brokerid"]
        .as_i64()
        .is_some_and(|b| b == 1 || b == 2));
    let broker = c.zk_get_json("/brokers/ids/1").expect("broker");
    assert_eq!(broker["version"], 5);
}
