//! Admin APIs through real clients (kafka-python `KafkaAdminClient`, confluent-kafka
//! `AdminClient`) against three brokers, and what zkCli shows afterwards.

use std::time::Duration;

use serde_json::{json, Value};
use tests::multi::MultiCluster;
use tests::python;
use tests::wire::WireClient;
use tests::{BrokerSetup, Cluster, OrPanic};

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

/// A broker with a value from each config layer (file, environment, `--override`), its
/// configs and a topic's described, and invalid compaction settings refused, by both admin
/// clients (~6 s).
#[test]
fn config_sources_defaults_and_validation_through_both_admin_clients() {
    let setup = BrokerSetup {
        file: &[
            ("log.segment.bytes", "2000000"),
            ("log.cleaner.min.cleanable.ratio", "0.25"),
        ],
        env: &[
            ("KAFKA_LOG_RETENTION_MS", "3600000"),
            ("KAFKA_LOG_CLEANER_DELETE_RETENTION_MS", "5000"),
        ],
        overrides: &[
            ("log.cleaner.backoff.ms", "500"),
            ("message.max.bytes", "2000000"),
        ],
        listeners: &[],
    };
    let cluster = Cluster::start_setup("configs", &setup).or_panic("cluster");
    let bootstrap = cluster.bootstrap();
    check_versions_on_the_wire(&bootstrap);
    for (script, topic) in [
        ("kp_configs.py", "kp-configs"),
        ("ck_configs.py", "ck-configs"),
    ] {
        let args = [
            "--bootstrap",
            &bootstrap,
            "--topic",
            topic,
            "--broker-id",
            "1",
        ];
        let lines = python::run_json(script, &args, SCRIPT_TIMEOUT).or_panic(script);
        check_broker_configs(script, &step(&lines, "broker")["configs"]);
        check_topic_configs(script, &step(&lines, "topic")["configs"]);
        check_refusals(script, topic, &lines);
        assert_eq!(
            step(&lines, "append")["cleanup_policy"],
            "compact,delete",
            "{script}"
        );
        assert_eq!(
            step(&lines, "subtract")["cleanup_policy"],
            "delete",
            "{script}"
        );
        if script == "kp_configs.py" {
            // CreateTopics v5 lists the new topic's configs with their sources too.
            let created = &step(&lines, "created")["sources"];
            assert_eq!(created["cleanup.policy"], TOPIC_CONFIG);
            assert_eq!(created["segment.bytes"], STATIC);
            assert_eq!(created["flush.ms"], DEFAULT);
            assert_eq!(
                step(&lines, "append-invalid")["result"],
                "[Error 40] InvalidConfigurationError: Config value append is not allowed for config key: retention.ms"
            );
        }
    }
}

const DEFAULT: &str = "DEFAULT_CONFIG";
const STATIC: &str = "STATIC_BROKER_CONFIG";
/// Kafka's TOPIC_CONFIG, as both clients name it.
const TOPIC_CONFIG: &str = "DYNAMIC_TOPIC_CONFIG";

/// Asserts value and source of `key` in a described resource, and that librdkafka's
/// `is_default` agrees with the source.
fn assert_config(script: &str, configs: &Value, key: &str, value: Value, source: &str) {
    let c = &configs[key];
    assert_eq!(
        (&c["value"], c["source"].as_str()),
        (&value, Some(source)),
        "{script} {key}: {c}"
    );
    assert_eq!(c["sensitive"], false, "{script} {key}");
    if let Some(is_default) = c.get("is_default") {
        assert_eq!(is_default, source == DEFAULT, "{script} {key}: {c}");
    }
}

fn check_broker_configs(script: &str, configs: &Value) {
    let cases = [
        ("num.partitions", Value::from("1"), DEFAULT, true),
        ("log.segment.bytes", Value::from("2000000"), STATIC, false),
        ("log.retention.ms", Value::from("3600000"), STATIC, false),
        ("log.cleaner.backoff.ms", Value::from("500"), STATIC, false),
        ("log.retention.hours", Value::from("168"), DEFAULT, true),
        ("log.cleanup.policy", Value::from("delete"), DEFAULT, false),
        ("log.cleaner.enable", Value::from("true"), DEFAULT, true),
        (
            "log.cleaner.min.cleanable.ratio",
            Value::from("0.25"),
            STATIC,
            false,
        ),
        ("broker.rack", Value::Null, DEFAULT, true),
    ];
    for (key, value, source, read_only) in cases {
        assert_config(script, configs, key, value, source);
        assert_eq!(configs[key]["read_only"], read_only, "{script} {key}");
    }
    // Synonyms: the key as set, then its default.
    assert_synonyms(
        script,
        configs,
        "log.segment.bytes",
        json!([
            ["log.segment.bytes", "2000000", STATIC],
            ["log.segment.bytes", "1073741824", DEFAULT]
        ]),
    );
    assert_synonyms(
        script,
        configs,
        "log.retention.ms",
        json!([
            ["log.retention.ms", "3600000", STATIC],
            ["log.retention.hours", "168", DEFAULT]
        ]),
    );
}

/// Asserts the synonyms of `key`, `expected` as Kafka sends them: `[name, value, source]`
/// each. confluent-kafka keeps them in a dict by name, so it shows the last of each name, in
/// the place of the first.
fn assert_synonyms(script: &str, configs: &Value, key: &str, expected: Value) {
    let mut expected: Vec<Value> = expected.as_array().cloned().unwrap_or_default();
    if script == "ck_configs.py" {
        let mut by_name: Vec<Value> = Vec::new();
        for s in expected {
            match by_name.iter_mut().find(|e| e[0] == s[0]) {
                Some(e) => *e = s,
                None => by_name.push(s),
            }
        }
        expected = by_name;
    }
    assert_eq!(
        configs[key]["synonyms"],
        Value::from(expected),
        "{script} {key}"
    );
}

fn check_topic_configs(script: &str, configs: &Value) {
    let cases = [
        ("cleanup.policy", "compact", TOPIC_CONFIG),
        ("min.compaction.lag.ms", "100", TOPIC_CONFIG),
        ("segment.bytes", "2000000", STATIC),
        ("retention.ms", "3600000", STATIC),
        ("delete.retention.ms", "5000", STATIC),
        ("min.cleanable.dirty.ratio", "0.25", STATIC),
        ("max.message.bytes", "2000000", STATIC),
        ("max.compaction.lag.ms", "9223372036854775807", DEFAULT),
        ("retention.bytes", "-1", DEFAULT),
    ];
    for (key, value, source) in cases {
        assert_config(script, configs, key, Value::from(value), source);
    }
    let all = configs.as_object().or_panic("topic configs");
    assert_eq!(all.len(), 31, "{script}: every topic config of Kafka 3.7");
    assert!(all.values().all(|c| c["read_only"] == false), "{script}");
    assert_synonyms(
        script,
        configs,
        "cleanup.policy",
        json!([
            ["cleanup.policy", "compact", TOPIC_CONFIG],
            ["log.cleanup.policy", "delete", DEFAULT]
        ]),
    );
    assert_synonyms(
        script,
        configs,
        "min.cleanable.dirty.ratio",
        json!([
            ["log.cleaner.min.cleanable.ratio", "0.25", STATIC],
            ["log.cleaner.min.cleanable.ratio", "0.5", DEFAULT]
        ]),
    );
    assert_synonyms(
        script,
        configs,
        "retention.bytes",
        json!([["log.retention.bytes", "-1", DEFAULT]]),
    );
}

/// Every invalid value is refused with INVALID_CONFIG and Kafka's message, on create, alter
/// and incremental alter.
fn check_refusals(script: &str, topic: &str, lines: &[Value]) {
    let mut seen = 0;
    for line in lines {
        let kind = line["step"].as_str().unwrap_or_default();
        if !kind.ends_with("-invalid") || kind == "append-invalid" {
            continue;
        }
        seen += 1;
        let (key, value) = (line["key"].as_str(), line["value"].as_str());
        let error = line["error"].as_str().or_panic("error");
        let item = value
            .and_then(|v| v.split(',').next_back())
            .unwrap_or_default();
        assert!(
            error.contains(&format!(
                "Invalid value {item} for configuration {}",
                key.unwrap_or_default()
            )),
            "{script} {line}"
        );
        let code_named =
            error.contains("INVALID_CONFIG") || error.contains("InvalidConfigurationError");
        assert!(code_named || line["error_code"] == 40, "{script} {line}");
        let prefix =
            format!("Invalid config value for resource ConfigResource(type=TOPIC, name='{topic}')");
        assert_eq!(
            error.contains(&prefix),
            kind != "create-invalid",
            "{script} {line}"
        );
    }
    assert!(seen >= 15, "{script}: {seen} refusals");
}

/// What only some versions carry: v0's `is_default`, v3's type and (when asked) documentation.
fn check_versions_on_the_wire(addr: &str) {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::DescribeConfigsRequest;
    use kafka_protocol::protocol::StrBytes;

    let keys = ["num.partitions", "log.segment.bytes", "log.cleanup.policy"];
    let request = |documentation: bool| {
        DescribeConfigsRequest::default()
            .with_include_documentation(documentation)
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_static_str("1"))
                .with_configuration_keys(Some(
                    keys.iter().map(|k| StrBytes::from_static_str(k)).collect(),
                ))])
    };
    let mut client = WireClient::connect(addr).or_panic("connect");
    let v0 = client
        .request(0, &request(false))
        .or_panic("DescribeConfigs v0");
    let defaults: std::collections::BTreeMap<String, bool> = v0.results[0]
        .configs
        .iter()
        .map(|c| (c.name.to_string(), c.is_default))
        .collect();
    let expected = [
        ("log.cleanup.policy", true),
        ("log.segment.bytes", false),
        ("num.partitions", true),
    ];
    assert_eq!(
        defaults,
        expected
            .map(|(k, d)| (k.to_string(), d))
            .into_iter()
            .collect()
    );
    for documentation in [false, true] {
        let v3 = client
            .request(3, &request(documentation))
            .or_panic("DescribeConfigs v3");
        for c in &v3.results[0].configs {
            let kind = if c.name.as_str() == "log.cleanup.policy" {
                7
            } else {
                3
            };
            assert_eq!(c.config_type, kind, "{}", c.name.as_str());
            assert_eq!(
                c.documentation.is_some(),
                documentation,
                "{}",
                c.name.as_str()
            );
        }
    }
}
