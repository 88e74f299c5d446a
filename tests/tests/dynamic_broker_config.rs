//! Dynamic broker configs (`/config/brokers/<default>` and `/config/brokers/<id>`) applied
//! without a restart on a 2-broker cluster: the cluster default `log.retention.ms` deletes old
//! segments of a topic without an override on both brokers; a per-broker `message.max.bytes`
//! set with confluent-kafka limits produces on that broker only and is raised with
//! kafka-python's AlterConfigs; DescribeConfigs reports the DYNAMIC_* sources (for topics too);
//! non-dynamic keys and misplaced requests are refused with Kafka's errors; the znodes are
//! Kafka's JSON; a restarted broker keeps its dynamic values; broker 1's SSL listener takes a
//! new keystore location per broker (new connections get the new certificate); a broker whose
//! ZooKeeper session expired re-reads them. About 30 s.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    DescribeConfigsRequest, IncrementalAlterConfigsRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};
use tests::certs::Certs;
use tests::multi::MultiCluster;
use tests::ports::free_port;
use tests::process::signal;
use tests::wire::WireClient;
use tests::{python, BrokerSetup, OrPanic};

const TIMEOUT: Duration = Duration::from_secs(30);
const SCRIPT: Duration = Duration::from_secs(60);
const BROKER: i8 = 4;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_REQUEST: i16 = 42;
const INVALID_CONFIG: i16 = 40;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// IncrementalAlterConfigs SET `key=value` on broker resource `name` ("" is the cluster
/// default), sent to `addr`: (error code, message).
fn set_broker_config(addr: &str, name: &str, key: &str, value: &str) -> (i16, String) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s(name))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s(key))
                .with_config_operation(0)
                .with_value(Some(s(value)))]),
    ]);
    let mut client = WireClient::connect(addr).or_panic("connect");
    let resp = client
        .request(1, &req)
        .or_panic("incremental alter configs");
    let r = &resp.responses[0];
    let message = r.error_message.as_ref().map(|m| m.to_string());
    (r.error_code, message.unwrap_or_default())
}

/// One described config: name, value, source, synonyms as (name, source).
type Described = (String, Option<String>, i8, Vec<(String, i8)>);

/// DescribeConfigs (v4, with synonyms) of broker resource `name` at `addr`.
fn describe_broker(addr: &str, name: &str) -> Vec<Described> {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(s(name))]);
    let mut client = WireClient::connect(addr).or_panic("connect");
    let resp = client.request(4, &req).or_panic("describe configs");
    let result = &resp.results[0];
    assert_eq!(result.error_code, 0, "{result:?}");
    result
        .configs
        .iter()
        .map(|c| {
            let synonyms = c
                .synonyms
                .iter()
                .map(|s| (s.name.to_string(), s.source))
                .collect();
            (
                c.name.to_string(),
                c.value.as_ref().map(|v| v.to_string()),
                c.config_source,
                synonyms,
            )
        })
        .collect()
}

fn produce(addr: &str, topic: &str, partition: i32, size: usize) -> i16 {
    let records: Bytes = tests::batch::one_value(size);
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let mut client = WireClient::connect(addr).or_panic("connect");
    let resp = client.request(8, &req).or_panic("produce");
    resp.responses[0].partition_responses[0].error_code
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// confluent-kafka's script against `addr`: its one JSON line of `step`.
fn ck(addr: &str, args: &[&str], step: &str) -> Value {
    let mut all = vec!["--bootstrap", addr, "--topic", "-"];
    all.extend_from_slice(args);
    let lines = python::run_json("ck_broker_configs.py", &all, SCRIPT).or_panic("ck script");
    lines
        .into_iter()
        .find(|l| l["step"] == step)
        .or_panic("the script's answer")
}

fn segments(c: &mut MultiCluster, id: i32, topic: &str) -> Vec<String> {
    let dir = c.broker(id).partition_dir(topic, 0);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".log"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The certificate serial broker 1's SSL listener presents to a new connection.
fn peer_serial(ssl: &str, certs: &Certs) -> String {
    let ca = path(&certs.ca);
    let args = [
        "--mode",
        "serial",
        "--bootstrap",
        ssl,
        "--topic",
        "-",
        "--cafile",
        &ca,
    ];
    let lines = python::run_json("tls_clients.py", &args, SCRIPT).or_panic("tls client");
    let first = lines.into_iter().next().or_panic("client output");
    first["serial"].as_str().or_panic("serial").to_owned()
}

#[test]
fn dynamic_broker_configs_apply_without_a_restart() {
    let certs = Certs::new().or_panic("CA");
    let first = certs.broker("first", "1000").or_panic("first cert");
    let second = certs.broker("second", "2000").or_panic("second cert");
    let ssl_port = free_port().or_panic("port");
    let ssl_listener = format!("SSL://127.0.0.1:{ssl_port}");
    let ssl = format!("127.0.0.1:{ssl_port}");
    let (keystore, ca) = (path(&first.keystore), path(&certs.ca));
    let common = [("log.retention.check.interval.ms", "100")];
    let with_tls = [
        common[0],
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,SSL:SSL",
        ),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", keystore.as_str()),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", ca.as_str()),
    ];
    let mut c = MultiCluster::start_setups(
        "dynconf",
        &[
            BrokerSetup {
                overrides: &with_tls,
                more_listeners: &[&ssl_listener],
                ..BrokerSetup::default()
            },
            BrokerSetup {
                overrides: &common,
                ..BrokerSetup::default()
            },
        ],
    )
    .or_panic("cluster");
    let addr = |c: &mut MultiCluster, id: i32| c.broker(id).bootstrap();

    // --- A TLS listener's keystore, per broker: new connections get the new certificate.
    assert_eq!(peer_serial(&ssl, &certs), "1000");
    let key = "listener.name.ssl.ssl.keystore.location";
    let (code, message) = set_broker_config(&addr(&mut c, 1), "", key, &path(&second.keystore));
    assert_eq!(
        (code, message),
        (INVALID_CONFIG, format!("Invalid config value for resource ConfigResource(type=BROKER, name=''): Cannot update these configs at default cluster level, broker id must be specified: Set({key})"))
    );
    let broken = certs.dir().join("broken.pem");
    std::fs::write(&broken, "not a PEM file\n").or_panic("write");
    let (code, message) = set_broker_config(&addr(&mut c, 1), "1", key, &path(&broken));
    assert_eq!(
        (code, message.as_str()),
        (INVALID_CONFIG, "Invalid config value for resource ConfigResource(type=BROKER, name='1'): Invalid dynamic configuration")
    );
    let (code, message) = set_broker_config(
        &addr(&mut c, 1),
        "1",
        "listener.name.ssl.ssl.key.password",
        "secret",
    );
    assert_eq!(
        (code, message.as_str()),
        (INVALID_CONFIG, "Invalid config value for resource ConfigResource(type=BROKER, name='1'): Password encoder secret not configured")
    );
    let (code, message) = set_broker_config(&addr(&mut c, 1), "1", key, &path(&second.keystore));
    assert_eq!((code, message.as_str()), (0, ""));
    wait_until("the new keystore served", || {
        peer_serial(&ssl, &certs) == "2000"
    });

    // --- The cluster default log.retention.ms trims a topic without a retention override.
    let aged = "aged";
    // Appended records get the broker's clock (the test batches carry a 2023 timestamp).
    let stamped = [
        ("segment.bytes", "1024"),
        ("message.timestamp.type", "LogAppendTime"),
    ];
    c.create_topic(aged, 1, 2, &stamped).or_panic("create");
    let leader = c.partitions(aged).or_panic("leader")[&0].0;
    let other = 3 - leader;
    let leader_addr = addr(&mut c, leader);
    // The leader may still be applying its LeaderAndIsr when Metadata already names it.
    wait_until("the leader takes produces", || {
        produce(&leader_addr, aged, 0, 600) == 0
    });
    for _ in 0..5 {
        assert_eq!(produce(&leader_addr, aged, 0, 600), 0);
    }
    let first = format!("{:020}.log", 0);
    wait_until("both replicas hold several segments", || {
        [leader, other]
            .iter()
            .all(|&id| segments(&mut c, id, aged).len() > 2)
    });
    // Nothing expires under the static default (7 days).
    std::thread::sleep(Duration::from_millis(500));
    assert!(segments(&mut c, other, aged).contains(&first));

    let (code, message) = set_broker_config(&addr(&mut c, other), "", "log.retention.ms", "1");
    assert_eq!((code, message.as_str()), (0, ""));
    wait_until("old segments deleted on both brokers", || {
        [leader, other]
            .iter()
            .all(|&id| !segments(&mut c, id, aged).contains(&first))
    });
    assert_eq!(
        c.zk_get_json("/config/brokers/<default>")
            .or_panic("zk get"),
        json!({"version": 1, "config": {"log.retention.ms": "1"}})
    );
    let changes = c.zk_ls("/config/changes").or_panic("zk ls");
    let announced = changes.iter().any(|n| {
        c.zk_get_json(&format!("/config/changes/{n}"))
            .is_ok_and(|v| v == json!({"version": 2, "entity_path": "brokers/<default>"}))
    });
    assert!(
        announced,
        "no brokers/<default> notification in {changes:?}"
    );

    // DescribeConfigs of <default> lists what is set there, from that layer.
    let defaults = describe_broker(&addr(&mut c, leader), "");
    assert_eq!(
        defaults,
        [(
            "log.retention.ms".to_string(),
            Some("1".to_string()),
            3,
            vec![("log.retention.ms".to_string(), 3)]
        )]
    );
    // A topic's retention.ms comes from the dynamic default.
    let topic = ck(
        &addr(&mut c, other),
        &["--resource-type", "topic", "--name", aged, "--describe"],
        "describe",
    );
    assert_eq!(topic["configs"]["retention.ms"]["value"], "1");
    assert_eq!(
        topic["configs"]["retention.ms"]["source"],
        "DYNAMIC_DEFAULT_BROKER_CONFIG"
    );

    // --- A per-broker message.max.bytes, set with confluent-kafka, limits that broker only.
    let id = leader.to_string();
    let set = ck(
        &leader_addr,
        &["--name", &id, "--set", "message.max.bytes=2000"],
        "alter",
    );
    assert_eq!(set["error"], "OK");
    let dry = ck(
        &leader_addr,
        &[
            "--name",
            &id,
            "--set",
            "message.max.bytes=3000",
            "--validate-only",
        ],
        "alter",
    );
    assert_eq!(dry["error"], "OK");
    wait_until("message.max.bytes applied", || {
        produce(&leader_addr, aged, 0, 5000) == MESSAGE_TOO_LARGE
    });
    assert_eq!(produce(&leader_addr, aged, 0, 100), 0);
    let described = ck(&leader_addr, &["--name", &id, "--describe"], "describe");
    let max = &described["configs"]["message.max.bytes"];
    assert_eq!(
        (&max["value"], &max["source"], &max["read_only"]),
        (
            &json!("2000"),
            &json!("DYNAMIC_BROKER_CONFIG"),
            &json!(false)
        ),
        "validate_only changed nothing: {max}"
    );
    assert_eq!(
        described["configs"]["log.retention.ms"]["source"],
        "DYNAMIC_DEFAULT_BROKER_CONFIG"
    );
    assert_eq!(described["configs"]["broker.id"]["read_only"], true);
    let elsewhere = describe_broker(&addr(&mut c, other), &other.to_string());
    let max_elsewhere = elsewhere.iter().find(|e| e.0 == "message.max.bytes");
    assert_eq!(
        max_elsewhere.map(|e| (e.1.as_deref(), e.2)),
        Some((Some("1048588"), 5))
    );

    // --- Refusals, with Kafka's codes and words.
    let refused = ck(
        &leader_addr,
        &["--name", &id, "--set", "broker.id=7"],
        "alter",
    );
    assert_eq!(
        refused["error"],
        format!("INVALID_CONFIG: Invalid config value for resource ConfigResource(type=BROKER, name='{id}'): Cannot update these configs dynamically: Set(broker.id)")
    );
    let (code, message) = set_broker_config(&leader_addr, "", "log.dirs", "/tmp/x");
    assert_eq!(code, INVALID_CONFIG, "{message}");
    assert!(message.ends_with("Set(log.dirs)"), "{message}");
    let (code, message) = set_broker_config(&addr(&mut c, other), &id, "message.max.bytes", "5");
    assert_eq!(
        (code, message),
        (
            INVALID_REQUEST,
            format!("Unexpected broker id, expected {other}, but received {id}")
        )
    );
    let (code, message) = set_broker_config(&leader_addr, "", "message.max.bytes", "lots");
    assert_eq!(
        (code, message.as_str()),
        (INVALID_CONFIG, "Invalid config value for resource ConfigResource(type=BROKER, name=''): Invalid value lots for configuration message.max.bytes: Not a number of type INT")
    );

    // --- kafka-python's AlterConfigs replaces the broker's set: the limit goes up.
    let kp = python::run_json(
        "kp_broker_configs.py",
        &[
            "--bootstrap",
            &leader_addr,
            "--topic",
            "-",
            "--broker-id",
            &id,
            "--set",
            "message.max.bytes=100000",
        ],
        SCRIPT,
    )
    .or_panic("kafka-python");
    let altered = kp.iter().find(|l| l["step"] == "alter").or_panic("alter");
    assert!(
        altered["result"]
            .as_str()
            .is_some_and(|r| r.contains("'OK'")),
        "{kp:?}"
    );
    // kafka-python's describe came right after: the broker applies the change a moment later.
    let configs = kp
        .iter()
        .find(|l| l["step"] == "configs")
        .or_panic("configs");
    assert!(
        configs["configs"]["message.max.bytes"]["value"].is_string(),
        "{kp:?}"
    );
    wait_until("the raised limit applied", || {
        produce(&leader_addr, aged, 0, 5000) == 0
    });
    let stored = c
        .zk_get_json(&format!("/config/brokers/{id}"))
        .or_panic("zk get");
    assert_eq!(stored["version"], 1, "{stored}");
    assert_eq!(stored["config"]["message.max.bytes"], "100000", "{stored}");

    // --- The cleaner restarts with a dynamic thread count, at most doubled at a time.
    let (code, message) = set_broker_config(&leader_addr, "", "log.cleaner.threads", "3");
    assert_eq!(
        (code, message.as_str()),
        (INVALID_CONFIG, "Invalid config value for resource ConfigResource(type=BROKER, name=''): Invalid dynamic configuration")
    );
    let (code, message) = set_broker_config(&leader_addr, "", "log.cleaner.threads", "2");
    assert_eq!((code, message.as_str()), (0, ""));
    wait_until("both cleaners restarted with 2 threads", || {
        [leader, other].iter().all(|&id| {
            std::fs::read_to_string(c.broker(id).log_file())
                .is_ok_and(|log| log.contains("log cleaner started threads=2"))
        })
    });

    // --- A restarted broker starts with its dynamic values.
    c.broker(leader).restart().or_panic("restart");
    c.broker(leader)
        .wait_registered(TIMEOUT)
        .or_panic("registered");
    let after = describe_broker(&leader_addr, &id);
    let find = |name: &str| {
        after
            .iter()
            .find(|e| e.0 == name)
            .map(|e| (e.1.clone(), e.2))
    };
    assert_eq!(find("message.max.bytes"), Some((Some("100000".into()), 2)));
    assert_eq!(find("log.retention.ms"), Some((Some("1".into()), 3)));
    let fresh = "fresh";
    c.create_topic(fresh, 2, 1, &[]).or_panic("create");
    let on_leader = c
        .partitions(fresh)
        .or_panic("leaders")
        .into_iter()
        .find(|(_, (l, _))| *l == leader)
        .map(|(p, _)| p)
        .or_panic("a partition led by the restarted broker");
    wait_until("the new partition's leader answers", || {
        produce(&leader_addr, fresh, on_leader, 150_000) == MESSAGE_TOO_LARGE
    });
    assert_eq!(produce(&leader_addr, fresh, on_leader, 50_000), 0);

    // --- A change missed while a broker had no session (written without a notification, as
    // if the notification had been purged) is read on its next session.
    let other_addr = addr(&mut c, other);
    let pid = c.broker(other).pid().or_panic("pid");
    signal(pid, "STOP").or_panic("SIGSTOP");
    let expired = c.wait_for(TIMEOUT, "the paused broker's session expires", |c| {
        Ok(!c.zk_ls("/brokers/ids")?.contains(&other.to_string()))
    });
    let missed = r#"{"version":1,"config":{"log.cleaner.threads":"2","log.retention.bytes":"123456","log.retention.ms":"1"}}"#;
    let written = c.zk_cli(&["set", "/config/brokers/<default>", missed]);
    signal(pid, "CONT").or_panic("SIGCONT");
    expired.or_panic("session expiry");
    written.or_panic("zkCli set");
    wait_until("the missed default read on the new session", || {
        describe_broker(&other_addr, "")
            .iter()
            .any(|e| e.0 == "log.retention.bytes" && e.1.as_deref() == Some("123456"))
    });
}
