//! Authorization with Kafka's ACLs (`authorizer.class.name=...AclAuthorizer`) through real
//! clients on the PLAINTEXT listener, whose principal is `User:ANONYMOUS`: ACLs written
//! straight into ZooKeeper in Kafka's format, and CreateAcls / DescribeAcls / DeleteAcls from
//! confluent-kafka's AdminClient, deciding what Metadata shows, what can be produced and
//! consumed, and which groups can be used, on every broker of the cluster.

use std::io;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::multi::MultiCluster;
use tests::python;
use tests::zookeeper::zk_cli;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
const AUTHORIZER: (&str, &str) = (
    "authorizer.class.name",
    "kafka.security.authorizer.AclAuthorizer",
);

/// Kafka's ACL JSON for `User:ANONYMOUS` from any host (no spaces: zkCli splits on them).
fn anonymous_acls(permission: &str, operations: &[&str]) -> String {
    let acls: Vec<String> = operations
        .iter()
        .map(|op| {
            format!(
                r#"{{"principal":"User:ANONYMOUS","permissionType":"{permission}","operation":"{op}","host":"*"}}"#
            )
        })
        .collect();
    format!(r#"{{"version":1,"acls":[{}]}}"#, acls.join(","))
}

/// Creates `path` and its parents with `data` on the last one, as Kafka's tools leave them.
fn zk_create(connect: &str, path: &str, data: &str) -> io::Result<()> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for i in 1..parts.len() {
        zk_cli(connect, &["create", &format!("/{}", parts[..i].join("/"))])?;
    }
    zk_cli(connect, &["create", path, data])?;
    // zkCli reports on stderr; read the node back instead.
    let out = zk_cli(connect, &["get", path])?;
    if out.contains(r#""acls""#) {
        Ok(())
    } else {
        Err(io::Error::other(format!("zkCli create {path}: {out}")))
    }
}

fn acl_op(bootstrap: &str, op: &str, args: &[&str]) -> Value {
    let mut all = vec![op, bootstrap];
    all.extend_from_slice(args);
    let lines = python::run_json("ck_acls.py", &all, SCRIPT_TIMEOUT).expect("ck_acls.py");
    lines.into_iter().last().expect("one JSON line")
}

fn visible(addr: &str, topic: &str) -> bool {
    MultiCluster::metadata_from(addr).is_ok_and(|m| {
        m.topics
            .iter()
            .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
    })
}

/// Waits until every broker shows (or hides) `topic`; returns how long that took.
fn until_everywhere(c: &MultiCluster, topic: &str, shown: bool, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if c.brokers
            .iter()
            .all(|b| visible(&b.bootstrap(), topic) == shown)
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{topic} not {} on every broker within {limit:?}",
            if shown { "shown" } else { "hidden" }
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two brokers whose inter-broker requests are allowed by a cluster ACL written into
/// ZooKeeper before they start, as `kafka-acls --authorizer-properties zookeeper.connect=...`
/// writes it, with WRITE on `secret` and a prefixed WRITE on `acl-` the same way.
fn secured_cluster(name: &str) -> MultiCluster {
    let chroot = format!("/m-{name}");
    MultiCluster::start_prepared(name, 2, &[AUTHORIZER], |zk| {
        let cluster = ["ClusterAction", "Create", "Alter", "Describe"];
        zk_create(
            zk,
            &format!("{chroot}/kafka-acl/Cluster/kafka-cluster"),
            &anonymous_acls("Allow", &cluster),
        )?;
        zk_create(
            zk,
            &format!("{chroot}/kafka-acl/Topic/secret"),
            &anonymous_acls("Allow", &["Write"]),
        )?;
        zk_create(
            zk,
            &format!("{chroot}/kafka-acl-extended/prefixed/Topic/acl-"),
            &anonymous_acls("Allow", &["Write"]),
        )
    })
    .expect("cluster")
}

/// The whole life of a topic's ACLs on a two-broker cluster (~30 s).
#[test]
fn acls_decide_what_anonymous_may_see_produce_and_consume() {
    let mut c = secured_cluster("acls");
    let boot = c.bootstrap();
    c.create_topic("secret", 2, 2, &[]).expect("create secret");
    assert_eq!(acl_op(&boot, "produce", &["secret", "3"])["produced"], 3);

    // A prefixed ACL written into ZooKeeper covers a topic created later.
    let p = acl_op(&boot, "produce", &["acl-new", "2"]);
    assert_eq!(p["produced"], 2, "{p}");
    let p = acl_op(&boot, "produce", &["other", "1"]);
    assert_eq!(p["produced"], 0, "{p}");
    assert_eq!(p["errors"][0], "TOPIC_AUTHORIZATION_FAILED", "{p}");

    // DeleteAcls removes the WRITE: the topic disappears from Metadata and cannot be read.
    let d = acl_op(&boot, "delete", &["TOPIC", "secret", "LITERAL"]);
    assert_eq!(d["acls"].as_array().map(Vec::len), Some(1), "{d}");
    assert_eq!(d["acls"][0]["operation"], "WRITE");
    until_everywhere(&c, "secret", false, Duration::from_secs(1));
    let r = acl_op(&boot, "consume", &["secret", "g1", "3"]);
    assert_eq!(r["consumed"], 0, "{r}");

    // Granting READ shows it on every broker within a second.
    let g = acl_op(
        &boot,
        "create",
        &[
            "TOPIC",
            "secret",
            "LITERAL",
            "User:ANONYMOUS",
            "READ",
            "ALLOW",
        ],
    );
    assert_eq!(g["created"], true, "{g}");
    let took = until_everywhere(&c, "secret", true, Duration::from_secs(1));
    assert!(took < Duration::from_secs(1));

    // The group needs READ too.
    let r = acl_op(&boot, "consume", &["secret", "g1", "3"]);
    assert_eq!(r["consumed"], 0, "{r}");
    assert!(
        r["errors"]
            .to_string()
            .contains("GROUP_AUTHORIZATION_FAILED"),
        "{r}"
    );
    acl_op(
        &boot,
        "create",
        &["GROUP", "g1", "LITERAL", "User:ANONYMOUS", "READ", "ALLOW"],
    );
    let r = acl_op(&boot, "consume", &["secret", "g1", "3"]);
    assert_eq!(r["consumed"], 3, "{r}");

    // DENY beats ALLOW, also for everyone (User:*).
    acl_op(
        &boot,
        "create",
        &["TOPIC", "secret", "LITERAL", "User:*", "READ", "DENY"],
    );
    let r = acl_op(&boot, "consume", &["secret", "g1", "3"]);
    assert_eq!(r["consumed"], 0, "{r}");
    assert!(
        r["errors"]
            .to_string()
            .contains("TOPIC_AUTHORIZATION_FAILED"),
        "{r}"
    );

    // What CreateAcls wrote is Kafka's JSON, with a change notification.
    let stored = c.zk_get_json("/kafka-acl/Topic/secret").expect("acl znode");
    assert_eq!(stored["version"], 1);
    let mut acls: Vec<String> = stored["acls"]
        .as_array()
        .expect("acls")
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {}",
                a["principal"].as_str().unwrap_or_default(),
                a["permissionType"].as_str().unwrap_or_default(),
                a["operation"].as_str().unwrap_or_default(),
                a["host"].as_str().unwrap_or_default()
            )
        })
        .collect();
    acls.sort();
    assert_eq!(
        acls,
        ["User:* Deny Read *", "User:ANONYMOUS Allow Read *"],
        "{stored}"
    );
    assert!(!c.zk_ls("/kafka-acl-changes").expect("ls").is_empty());

    // DescribeAcls filters: by type and name, by pattern type, by permission.
    let all_topic = acl_op(&boot, "describe", &["TOPIC", "-", "ANY"]);
    assert_eq!(
        all_topic["acls"].as_array().map(Vec::len),
        Some(3),
        "{all_topic}"
    );
    let prefixed = acl_op(&boot, "describe", &["ANY", "-", "PREFIXED"]);
    assert_eq!(
        prefixed["acls"].as_array().map(Vec::len),
        Some(1),
        "{prefixed}"
    );
    assert_eq!(prefixed["acls"][0]["name"], "acl-");
    let matching = acl_op(&boot, "describe", &["TOPIC", "acl-new", "MATCH"]);
    assert_eq!(matching["acls"][0]["name"], "acl-", "{matching}");
    let deny_only = acl_op(&boot, "delete", &["TOPIC", "secret", "LITERAL", "DENY"]);
    assert_eq!(
        deny_only["acls"].as_array().map(Vec::len),
        Some(1),
        "{deny_only}"
    );
    assert_eq!(deny_only["acls"][0]["principal"], "User:*");
    let r = acl_op(&boot, "consume", &["secret", "g1", "3"]);
    assert_eq!(r["consumed"], 3, "{r}");
}

/// `super.users` allows everything, without any ACL.
#[test]
fn super_users_need_no_acls() {
    let mut c = MultiCluster::start(
        "acls-super",
        1,
        &[AUTHORIZER, ("super.users", "User:admin;User:ANONYMOUS")],
    )
    .expect("cluster");
    let boot = c.bootstrap();
    assert_eq!(acl_op(&boot, "produce", &["anything", "2"])["produced"], 2);
    assert_eq!(
        acl_op(&boot, "consume", &["anything", "g", "2"])["consumed"],
        2
    );
}

/// `allow.everyone.if.no.acl.found`: resources without ACLs are open, the others are not.
#[test]
fn allow_everyone_if_no_acl_found() {
    let mut c = MultiCluster::start(
        "acls-open",
        1,
        &[AUTHORIZER, ("allow.everyone.if.no.acl.found", "true")],
    )
    .expect("cluster");
    let boot = c.bootstrap();
    assert_eq!(acl_op(&boot, "produce", &["open", "2"])["produced"], 2);
    let g = acl_op(
        &boot,
        "create",
        &[
            "TOPIC",
            "closed",
            "LITERAL",
            "User:someone-else",
            "WRITE",
            "ALLOW",
        ],
    );
    assert_eq!(g["created"], true, "{g}");
    let p = acl_op(&boot, "produce", &["closed", "1"]);
    assert_eq!(p["produced"], 0, "{p}");
    assert_eq!(acl_op(&boot, "consume", &["open", "g", "2"])["consumed"], 2);
}

/// Without an authorizer CreateAcls answers SECURITY_DISABLED.
#[test]
fn acl_apis_without_authorizer_are_security_disabled() {
    let mut c = MultiCluster::start("acls-off", 1, &[]).expect("cluster");
    let boot = c.bootstrap();
    // (confluent-kafka's describe_acls reports the error as an empty list: not asserted.)
    let g = acl_op(
        &boot,
        "create",
        &["TOPIC", "t", "LITERAL", "User:a", "READ", "ALLOW"],
    );
    assert_eq!(g["error"], "SECURITY_DISABLED", "{g}");
}
