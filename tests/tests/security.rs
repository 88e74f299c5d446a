//! Security end to end with real clients and real users: SASL_SSL (PLAIN, SCRAM-SHA-256,
//! SCRAM-SHA-512) for kafka-python, confluent-kafka and kcat; Kafka's ACLs deciding what SCRAM
//! users and certificate (mTLS) users may see and read, granted through confluent-kafka's
//! AdminClient over SASL_SSL; and the replicated cluster's fault behaviour with brokers talking
//! to each other over SASL_SSL with SCRAM. Certificates come from `tests::certs`, SCRAM users
//! are written into ZooKeeper before the brokers start (the brokers' own user among them).

use std::time::{Duration, Instant};

use sasl::Mechanism;
use serde_json::Value;
use tests::broker::BrokerSetup;
use tests::certs::{Certs, Issued};
use tests::multi::MultiCluster;
use tests::ports::free_port;
use tests::sasl_clients::{Login, REFUSAL_BOUND};
use tests::scram_users::write_user_node;
use tests::traffic::{check_acknowledged, consume_all_sized, Consumed, SteadyProducer};
use tests::zookeeper::ZooKeeper;
use tests::{kcat, python, OrPanic};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How soon a grant must let alice read, on every broker.
const GRANT_BOUND: f64 = 1.0;

/// SCRAM users (both mechanisms): the brokers' own user, the administrator and two others.
const USERS: [(&str, &str); 4] = [
    ("broker", "broker-secret"),
    ("admin", "admin-secret"),
    ("alice", "alice-secret"),
    ("bob", "bob-secret"),
];
const PLAIN_JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
    user_admin=\"admin-secret\" user_alice=\"alice-secret\";";
/// What a broker sends on the inter-broker listener: SCRAM as `broker`.
const BROKER_JAAS: &str = "org.apache.kafka.common.security.scram.ScramLoginModule required \
    username=\"broker\" password=\"broker-secret\";";

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// ZooKeeper with every user of [`USERS`] under the cluster's chroot `/m-<name>`.
fn zookeeper_with_users(name: &str) -> ZooKeeper {
    let zk = ZooKeeper::start().or_panic("zookeeper");
    let root = format!("/m-{name}");
    for (user, password) in USERS {
        let mechanisms = [Mechanism::ScramSha256, Mechanism::ScramSha512];
        // No change notification: no broker runs yet (each zkCli call is a JVM start).
        write_user_node(&zk.connect_string(), &root, user, password, &mechanisms)
            .or_panic("SCRAM user");
    }
    zk
}

/// The listeners of one broker besides the harness's PLAINTEXT one (whose principal is
/// User:ANONYMOUS): SECURE (SASL_SSL, also inter-broker) and, when asked, MTLS (SSL with
/// required client certificates, `CN=<name>,OU=eng,O=corp` mapped to `<name>`).
struct Listeners {
    secure: u16,
    mtls: Option<u16>,
}

impl Listeners {
    fn new(mtls: bool) -> Listeners {
        Listeners {
            secure: free_port().or_panic("port"),
            mtls: mtls.then(|| free_port().or_panic("port")),
        }
    }

    fn urls(&self) -> Vec<String> {
        let mut urls = vec![format!("SECURE://127.0.0.1:{}", self.secure)];
        urls.extend(self.mtls.map(|p| format!("MTLS://127.0.0.1:{p}")));
        urls
    }
}

/// Overrides of a broker whose inter-broker listener is SECURE (SASL_SSL, SCRAM-SHA-512 as
/// `broker`), plus `extra`.
fn secure_overrides(
    certs: &Certs,
    keystore: &Issued,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,SECURE:SASL_SSL,MTLS:SSL",
        ),
        ("inter.broker.listener.name", "SECURE"),
        ("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512"),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        ),
        ("listener.name.secure.plain.sasl.jaas.config", PLAIN_JAAS),
        (
            "listener.name.secure.scram-sha-512.sasl.jaas.config",
            BROKER_JAAS,
        ),
        ("ssl.keystore.type", "PEM"),
        ("ssl.truststore.type", "PEM"),
        ("listener.name.mtls.ssl.client.auth", "required"),
        (
            "listener.name.mtls.ssl.principal.mapping.rules",
            "RULE:^CN=([a-z]+),OU=eng,O=corp$/$1/",
        ),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    all.push(("ssl.keystore.location".into(), path(&keystore.keystore)));
    all.push(("ssl.truststore.location".into(), path(&certs.ca)));
    all
}

/// Brokers 1..=n on `zk`, each with `overrides` and its `listeners`.
fn start_cluster(
    zk: ZooKeeper,
    name: &str,
    overrides: &[(String, String)],
    listeners: &[Listeners],
) -> MultiCluster {
    let borrowed: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let urls: Vec<Vec<String>> = listeners.iter().map(Listeners::urls).collect();
    let more: Vec<Vec<&str>> = urls
        .iter()
        .map(|u| u.iter().map(String::as_str).collect())
        .collect();
    let setups: Vec<BrokerSetup<'_>> = more
        .iter()
        .map(|m| BrokerSetup {
            overrides: &borrowed,
            more_listeners: m,
            ..BrokerSetup::default()
        })
        .collect();
    MultiCluster::start_each_on(zk, name, &setups).or_panic("cluster")
}

/// librdkafka settings (`-X`) of a SASL_SSL client.
fn sasl_ssl(certs: &Certs, mechanism: &str, user: &str, password: &str) -> Vec<String> {
    vec![
        "security.protocol=SASL_SSL".into(),
        format!("sasl.mechanisms={mechanism}"),
        format!("sasl.username={user}"),
        format!("sasl.password={password}"),
        format!("ssl.ca.location={}", path(&certs.ca)),
        "ssl.endpoint.identification.algorithm=https".into(),
    ]
}

/// librdkafka settings of an SSL client presenting `me`.
fn mtls(certs: &Certs, me: &Issued) -> Vec<String> {
    vec![
        "security.protocol=SSL".into(),
        format!("ssl.ca.location={}", path(&certs.ca)),
        format!("ssl.certificate.location={}", path(&me.cert)),
        format!("ssl.key.location={}", path(&me.key)),
        "ssl.endpoint.identification.algorithm=https".into(),
    ]
}

/// `ck_acls.py op bootstrap args...` with client `settings`; its last JSON line.
fn acl_op(settings: &[String], op: &str, bootstrap: &str, args: &[&str]) -> Value {
    let mut all = vec![op, bootstrap];
    all.extend_from_slice(args);
    for s in settings {
        all.extend(["-X", s.as_str()]);
    }
    let lines = python::run_json("ck_acls.py", &all, SCRIPT_TIMEOUT)
        .or_panic(&format!("ck_acls.py {op} {args:?}"));
    lines.into_iter().last().or_panic("a JSON line")
}

fn grant(admin: &[String], bootstrap: &str, acl: [&str; 6]) -> Value {
    let out = acl_op(admin, "create", bootstrap, &acl);
    assert_eq!(out["created"], true, "{acl:?}: {out}");
    out
}

fn errors(out: &Value) -> String {
    out["errors"].to_string()
}

/// A SASL_SSL login through `sasl_client.py`, verifying the broker with the test CA.
fn login<'a>(
    client: &'a str,
    addr: &'a str,
    ca: &'a str,
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
        cafile: Some(ca),
    }
}

fn kcat_over_sasl_ssl(addr: &str, certs: &Certs) {
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..10)
        .map(|n| (format!("k{n}").into_bytes(), format!("v{n}").into_bytes()))
        .collect();
    for m in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let settings = sasl_ssl(certs, m, "admin", "admin-secret");
        let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
        let topic = format!("kcat-{}", m.to_lowercase());
        kcat::produce_with(addr, &topic, "none", &records, &settings, SCRIPT_TIMEOUT)
            .or_panic(&format!("kcat produce with {m}"));
        let got = kcat::consume_with(addr, &topic, records.len(), &settings, SCRIPT_TIMEOUT)
            .or_panic(&format!("kcat consume with {m}"));
        let values: Vec<Vec<u8>> = got.into_iter().filter_map(|r| r.value).collect();
        let want: Vec<Vec<u8>> = records.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(values, want, "kcat {m}");
    }
    // A wrong password: kcat -L gives up with an error, promptly.
    let mut wrong = std::process::Command::new("kcat");
    wrong.args(["-b", addr, "-L", "-m", "5"]);
    for s in sasl_ssl(certs, "SCRAM-SHA-256", "admin", "wrong") {
        wrong.args(["-X", &s]);
    }
    let started = Instant::now();
    let output = tests::process::run(wrong, None, Duration::from_secs(30)).or_panic("kcat -L");
    assert!(
        !output.status.success(),
        "kcat with a wrong password: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("uthentication"), "kcat: {stderr}");
    assert!(
        started.elapsed() < REFUSAL_BOUND,
        "kcat refusal took {:?}",
        started.elapsed()
    );
}

fn visible_to_anonymous(addr: &str, topic: &str) -> bool {
    MultiCluster::metadata_from(addr).is_ok_and(|m| {
        m.topics
            .iter()
            .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
    })
}

/// Two brokers (authorizer on, super.users admin and broker, inter-broker SASL_SSL with
/// SCRAM): every client and mechanism over SASL_SSL and their refusals; then alice's rights
/// as ACLs grant and deny them, over SASL_SSL and with her certificate over mTLS.
#[test]
fn sasl_ssl_clients_and_acls_for_real_users() {
    let name = "secure-acls";
    let certs = Certs::new().or_panic("CA");
    let keystore = certs.broker("broker", "1000").or_panic("broker cert");
    let alice_cert = certs
        .client("alice", "/O=corp/OU=eng/CN=alice")
        .or_panic("cert");
    let bob_cert = certs
        .client("bob", "/O=corp/OU=eng/CN=bob")
        .or_panic("cert");
    let overrides = secure_overrides(
        &certs,
        &keystore,
        &[
            (
                "authorizer.class.name",
                "kafka.security.authorizer.AclAuthorizer",
            ),
            ("super.users", "User:admin;User:broker"),
            ("offsets.topic.replication.factor", "2"),
        ],
    );
    let listeners = [Listeners::new(true), Listeners::new(true)];
    let zk = zookeeper_with_users(name);
    let started = Instant::now();
    let c = start_cluster(zk, name, &overrides, &listeners);
    println!("two brokers up in {:?}", started.elapsed());
    let secure: String = listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.secure))
        .collect::<Vec<_>>()
        .join(",");
    let mtls_boot: String = listeners
        .iter()
        .filter_map(|l| l.mtls.map(|p| format!("127.0.0.1:{p}")))
        .collect::<Vec<_>>()
        .join(",");
    let first = secure.split(',').next().or_panic("an address").to_owned();

    // 1. Every client, every mechanism, over SASL_SSL; wrong passwords refused promptly.
    let step = Instant::now();
    let ca = path(&certs.ca);
    for client in ["kp", "ck"] {
        for m in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            let topic = format!("{client}-{}", m.to_lowercase());
            login(client, &first, &ca, m, "admin", "admin-secret").roundtrip(&topic);
        }
    }
    login("ck", &first, &ca, "SCRAM-SHA-512", "admin", "wrong").refused();
    login("kp", &first, &ca, "PLAIN", "alice", "wrong").refused();
    kcat_over_sasl_ssl(&first, &certs);
    println!("SASL_SSL clients and refusals: {:?}", step.elapsed());

    // 2. ACLs for real users, granted by admin through the AdminClient over SASL_SSL.
    let step = Instant::now();
    let admin = sasl_ssl(&certs, "SCRAM-SHA-512", "admin", "admin-secret");
    let alice = sasl_ssl(&certs, "SCRAM-SHA-256", "alice", "alice-secret");
    let bob = sasl_ssl(&certs, "SCRAM-SHA-512", "bob", "bob-secret");
    let made = acl_op(&admin, "topic", &secure, &["secret", "2", "2"]);
    let mut leaders: Vec<i64> = made["leaders"]
        .as_array()
        .or_panic("leaders")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    leaders.sort_unstable();
    assert_eq!(leaders, [1, 2], "a partition led by each broker: {made}");
    let p = acl_op(&admin, "produce", &secure, &["secret", "10", "2"]);
    assert_eq!(p["produced"], 10, "{p}");
    for b in &c.brokers {
        assert!(
            !visible_to_anonymous(&b.bootstrap(), "secret"),
            "User:ANONYMOUS sees secret on broker {}",
            b.id()
        );
    }
    // The certificate's alice has no more rights than the SCRAM one: nothing yet.
    let r = acl_op(
        &mtls(&certs, &alice_cert),
        "consume",
        &mtls_boot,
        &["secret", "g-alice", "10"],
    );
    assert_eq!(r["consumed"], 0, "{r}");
    // (The group or the topic may be refused first: she has neither.)
    assert!(errors(&r).contains("AUTHORIZATION_FAILED"), "{r}");

    // alice waits, connected, for the topic: not in her Metadata until READ is granted, then
    // read from both partitions (one led by each broker) within a second of the grant.
    let mut args = vec!["await", secure.as_str(), "secret", "2", "10"];
    for s in &alice {
        args.extend(["-X", s.as_str()]);
    }
    let mut waiting = python::spawn("ck_acls.py", &args).or_panic("await");
    let ready = waiting
        .next_json(SCRIPT_TIMEOUT)
        .or_panic("await's first line")
        .or_panic("await's first line");
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        ready["visible"], false,
        "alice sees secret without READ: {ready}"
    );
    let granted = grant(
        &admin,
        &secure,
        ["TOPIC", "secret", "LITERAL", "User:alice", "READ", "ALLOW"],
    );
    let read = waiting
        .next_json(SCRIPT_TIMEOUT)
        .or_panic("await's result")
        .or_panic(&format!("await's result: {}", waiting.stderr()));
    let at = granted["at"].as_f64().or_panic("grant time");
    let consumed_after = read["consumed_at"].as_f64().or_panic("consumed_at") - at;
    let visible_after = read["visible_at"].as_f64().or_panic("visible_at") - at;
    println!("alice: topic shown {visible_after:.3} s, all read {consumed_after:.3} s after the grant: {read}");
    assert_eq!(read["consumed"], 10, "{read}");
    assert_eq!(read["partitions"], serde_json::json!([0, 1]), "{read}");
    assert!(
        consumed_after < GRANT_BOUND,
        "alice read every partition {consumed_after:.3} s after the grant: {read}"
    );

    // A consumer group needs READ on the group.
    let r = acl_op(&alice, "consume", &secure, &["secret", "g-alice", "10"]);
    assert_eq!(r["consumed"], 0, "{r}");
    assert!(errors(&r).contains("GROUP_AUTHORIZATION_FAILED"), "{r}");
    grant(
        &admin,
        &secure,
        ["GROUP", "g-alice", "LITERAL", "User:alice", "READ", "ALLOW"],
    );
    let r = acl_op(&alice, "consume", &secure, &["secret", "g-alice", "10"]);
    assert_eq!(r["consumed"], 10, "{r}");

    // A DENY for alice beats an ALLOW for User:* (which lets bob read).
    let made = acl_op(&admin, "topic", &secure, &["shared", "1", "2"]);
    assert_eq!(made["created"], true, "{made}");
    assert_eq!(
        acl_op(&admin, "produce", &secure, &["shared", "3"])["produced"],
        3
    );
    grant(
        &admin,
        &secure,
        ["TOPIC", "shared", "LITERAL", "User:*", "READ", "ALLOW"],
    );
    grant(
        &admin,
        &secure,
        ["TOPIC", "shared", "LITERAL", "User:alice", "READ", "DENY"],
    );
    grant(
        &admin,
        &secure,
        ["GROUP", "g-", "PREFIXED", "User:*", "READ", "ALLOW"],
    );
    let r = acl_op(&alice, "consume", &secure, &["shared", "g-alice", "3"]);
    assert_eq!(r["consumed"], 0, "{r}");
    assert!(errors(&r).contains("TOPIC_AUTHORIZATION_FAILED"), "{r}");
    let r = acl_op(&bob, "consume", &secure, &["shared", "g-bob", "3"]);
    assert_eq!(r["consumed"], 3, "{r}");

    // A PREFIXED ACL covers a topic created afterwards.
    grant(
        &admin,
        &secure,
        [
            "TOPIC",
            "alice-",
            "PREFIXED",
            "User:alice",
            "WRITE",
            "ALLOW",
        ],
    );
    grant(
        &admin,
        &secure,
        ["TOPIC", "alice-", "PREFIXED", "User:alice", "READ", "ALLOW"],
    );
    let made = acl_op(&admin, "topic", &secure, &["alice-later", "1", "2"]);
    assert_eq!(made["created"], true, "{made}");
    let p = acl_op(&alice, "produce", &secure, &["alice-later", "4"]);
    assert_eq!(p["produced"], 4, "{p}");
    let r = acl_op(&alice, "consume", &secure, &["alice-later", "g-alice", "4"]);
    assert_eq!(r["consumed"], 4, "{r}");
    let p = acl_op(&bob, "produce", &secure, &["alice-later", "1"]);
    assert_eq!(p["produced"], 0, "{p}");
    assert!(errors(&p).contains("TOPIC_AUTHORIZATION_FAILED"), "{p}");

    // SCRAM credentials: refused to alice (no ALTER / DESCRIBE on the cluster), admin's work.
    let scram = |settings: &[String], args: &[&str]| -> Vec<Value> {
        let mut all = vec!["--bootstrap", first.as_str()];
        all.extend_from_slice(args);
        for s in settings {
            all.extend(["--config", s.as_str()]);
        }
        python::run_json("ck_scram_admin.py", &all, SCRIPT_TIMEOUT).or_panic("ck_scram_admin.py")
    };
    let lines = scram(
        &alice,
        &["--upsert", "carol:SCRAM-SHA-256:4096:carol-secret"],
    );
    assert!(
        lines[0]["error"]
            .to_string()
            .contains("CLUSTER_AUTHORIZATION_FAILED"),
        "{lines:?}"
    );
    // (kafka-python here: confluent-kafka 2.16 crashes after this refusal, whose message
    // librdkafka keeps in a stack buffer; Kafka's own refusal carries a message too.)
    let ca = path(&certs.ca);
    let args = [
        "--client",
        "kp",
        "--mode",
        "describe-scram",
        "--bootstrap",
        &first,
        "--topic",
        "-",
        "--mechanism",
        "SCRAM-SHA-256",
        "--user",
        "alice",
        "--password",
        "alice-secret",
        "--cafile",
        &ca,
    ];
    let lines = python::run_json("sasl_client.py", &args, SCRIPT_TIMEOUT).or_panic("describe");
    assert!(
        lines[0].to_string().contains("ClusterAuthorizationFailed"),
        "{lines:?}"
    );
    let lines = scram(
        &admin,
        &["--upsert", "carol:SCRAM-SHA-256:4096:carol-secret"],
    );
    assert_eq!(lines[0]["error"], Value::Null, "{lines:?}");
    let lines = scram(&admin, &["--describe", "carol"]);
    assert_eq!(
        lines[0]["credentials"],
        serde_json::json!([["SCRAM-SHA-256", 4096]]),
        "{lines:?}"
    );
    println!("ACLs for SCRAM users: {:?}", step.elapsed());

    // 3. mTLS: the certificate of CN=alice,OU=eng,O=corp is User:alice, so her ACLs decide;
    // bob's certificate reads nothing of secret, and the DENY for alice holds for her
    // certificate too.
    let step = Instant::now();
    let r = acl_op(
        &mtls(&certs, &alice_cert),
        "consume",
        &mtls_boot,
        &["secret", "g-alice", "10"],
    );
    assert_eq!(r["consumed"], 10, "{r}");
    let r = acl_op(
        &mtls(&certs, &bob_cert),
        "consume",
        &mtls_boot,
        &["secret", "g-bob", "10"],
    );
    assert_eq!(r["consumed"], 0, "{r}");
    assert!(errors(&r).contains("TOPIC_AUTHORIZATION_FAILED"), "{r}");
    let r = acl_op(
        &mtls(&certs, &alice_cert),
        "consume",
        &mtls_boot,
        &["shared", "g-alice", "3"],
    );
    assert_eq!(r["consumed"], 0, "{r}");
    assert!(errors(&r).contains("TOPIC_AUTHORIZATION_FAILED"), "{r}");
    println!("mTLS principals: {:?}", step.elapsed());
}

/// Three brokers replicating over SASL_SSL (SCRAM-SHA-512 as `broker`), RF 3 and
/// min.insync.replicas 2: an idempotent acks=all producer runs while the leader of partition
/// 0 is SIGKILLed; every acknowledged record is read back afterwards, once, in order.
#[test]
fn acks_all_survives_a_leader_kill_with_sasl_ssl_between_brokers() {
    let name = "secure-failover";
    let certs = Certs::new().or_panic("CA");
    let keystore = certs.broker("broker", "1000").or_panic("broker cert");
    let overrides = secure_overrides(
        &certs,
        &keystore,
        &[
            ("offsets.topic.replication.factor", "1"),
            ("replica.lag.time.max.ms", "10000"),
        ],
    );
    let listeners = [
        Listeners::new(false),
        Listeners::new(false),
        Listeners::new(false),
    ];
    let zk = zookeeper_with_users(name);
    let mut c = start_cluster(zk, name, &overrides, &listeners);
    let topic = "failover";
    let deadline = Duration::from_secs(40);
    c.create_topic(topic, 2, 3, &[("min.insync.replicas", "2")])
        .or_panic("create topic");
    let parts = c.wait_isr_size(topic, 2, 3, deadline).or_panic("ISRs of 3");

    let bootstrap = c.bootstrap();
    let args = [
        "--acks",
        "all",
        "--idempotence",
        "--size",
        "64",
        "--interval-ms",
        "5",
        "--message-timeout-ms",
        "30000",
    ];
    let mut producer =
        SteadyProducer::start_script("ck_steady_produce.py", &bootstrap, topic, &args)
            .or_panic("producer");
    producer
        .wait_more_acks(50, deadline)
        .or_panic("acks before the kill");

    let victim = parts[&0].0;
    let killed_at = Instant::now();
    c.broker(victim).kill().or_panic("kill -9");
    c.wait_for(
        deadline,
        "leadership and ISRs without the killed broker",
        |c| {
            let parts = c.partitions(topic)?;
            Ok(parts.len() == 2
                && parts.values().all(|(l, isr)| {
                    *l >= 0 && *l != victim && isr.len() == 2 && !isr.contains(&victim)
                }))
        },
    )
    .or_panic("failover");
    println!(
        "broker {victim} killed: leaders moved in {:?}",
        killed_at.elapsed()
    );
    producer
        .wait_more_acks(50, deadline)
        .or_panic("acks after the failover");

    let (acks, failed) = producer.finish(Duration::from_secs(60)).or_panic("finish");
    assert!(failed.is_empty(), "failed sends: {failed:?}");
    let bootstrap = c.bootstrap();
    let consumed: Vec<Consumed> = consume_all_sized(&bootstrap, topic, Duration::from_secs(3))
        .or_panic("consume")
        .into_iter()
        .map(|(record, _)| record)
        .collect();
    let verdict =
        check_acknowledged(&acks, &consumed, |n| format!("value-{n}")).or_panic("consistent log");
    println!("{} acknowledged; consumed {verdict:?}", acks.len());
    assert_eq!(verdict.per_partition.len(), 2);
    assert_eq!(
        verdict.unacknowledged, 0,
        "idempotent producer: no unacknowledged records"
    );
}
