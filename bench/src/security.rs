//! `bench security`: what TLS + SASL and the ACL check cost (issue 23).
//!
//! One broker with two listeners, PLAINTEXT and SASL_SSL (PLAIN login, certificates from
//! scripts/make-certs.sh), measured in the same run: 1 KiB produce at full speed and consume
//! from the start over each, with the broker's CPU per GB. Then a broker with the ACL
//! authorizer on: Metadata and fixed-rate produce latency with only the ACLs the bench's
//! principal needs, and again after 10,000 more (literal and prefixed, other principals), set
//! through CreateAcls.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::{CreateAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;
use tests::wire::WireClient;

use crate::client::{self, Load, Pace};
use crate::report::{Measurement, Report};
use crate::suite::{self, Suite, KIB, SCENARIO_MAX};
use crate::target::{Target, Usage};

/// The bench's SASL user on the SASL_SSL listener.
const USER: &str = "bench";
const PASSWORD: &str = "bench-secret";
/// ACLs added for the second ACL round.
const MANY_ACLS: usize = 10_000;
/// ACL creations per CreateAcls request.
const ACLS_PER_REQUEST: usize = 100;

impl Suite {
    /// Every security scenario.
    pub fn security(&self, report: &mut Report) -> Result<()> {
        let certs = certificates()?;
        self.tls_vs_plaintext(report, &certs)?;
        let _ = std::fs::remove_dir_all(&certs);
        self.acl_cost(report)
    }

    fn tls_vs_plaintext(&self, report: &mut Report, certs: &Path) -> Result<()> {
        let secure_port = tests::ports::free_port().context("a port for SASL_SSL")?;
        let listeners = format!("PLAINTEXT://127.0.0.1:{{port}},SECURE://127.0.0.1:{secure_port}");
        let keystore = certs.join("kafka-1.pem");
        let jaas = format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             user_{USER}=\"{PASSWORD}\";"
        );
        let keystore = keystore.display().to_string();
        let overrides = [
            ("listeners", listeners.as_str()),
            ("advertised.listeners", listeners.as_str()),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,SECURE:SASL_SSL",
            ),
            ("inter.broker.listener.name", "PLAINTEXT"),
            ("listener.name.secure.sasl.enabled.mechanisms", "PLAIN"),
            ("listener.name.secure.plain.sasl.jaas.config", jaas.as_str()),
            ("listener.name.secure.ssl.keystore.type", "PEM"),
            (
                "listener.name.secure.ssl.keystore.location",
                keystore.as_str(),
            ),
        ];
        let mut t = Target::start("benchtls", 1, &self.broker_bin, &overrides)?;
        let plain = t.bootstrap();
        let secure = format!("127.0.0.1:{secure_port}");
        let ca = certs.join("ca.pem").display().to_string();
        let security = [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
            ("ssl.ca.location", ca.as_str()),
        ];
        // The plaintext rows reference payloads of 512 B and more in the request rather than
        // copy them (message.copy.max.bytes=511, see client::producer_config). Over TLS,
        // librdkafka writes each referenced payload with an SSL_write of its own, one TLS
        // record per 1 KiB message, which costs both sides a record's overhead per message;
        // copied (librdkafka's default) a request goes out in 16 KiB records.
        let mut copied = security.to_vec();
        copied.push(("message.copy.max.bytes", "65535"));
        let count = self.n(512 * 1024);
        // Alternate rounds, so that the machine's drift hits both protocols alike.
        for round in 1..=2 {
            for (label, bootstrap, settings) in [
                ("PLAINTEXT", plain.as_str(), &[][..]),
                ("SASL_SSL", secure.as_str(), &security[..]),
                ("SASL_SSL, payloads copied", secure.as_str(), &copied[..]),
            ] {
                let topic = format!(
                    "{}-{round}",
                    label.to_lowercase().replace(['_', ' ', ','], "-")
                );
                let name = format!("security: produce 1 KiB acks=1 over {label} (round {round})");
                self.run(report, &name, 1, || {
                    client::with_security(settings, || -> Result<Vec<Measurement>> {
                        client::create_topic(bootstrap, &topic, 1, 1)?;
                        let load = suite::full_speed(count, KIB);
                        let m = suite::produce(&t, &name, bootstrap, &topic, 1, &load, |_| 0)?;
                        Ok(vec![m])
                    })
                })?;
                let name =
                    format!("security: consume 1 KiB from start over {label} (round {round})");
                self.run(report, &name, 1, || {
                    client::with_security(settings, || {
                        consume_row(&t, &name, bootstrap, &topic, count)
                    })
                })?;
            }
        }
        Ok(())
    }

    fn acl_cost(&self, report: &mut Report) -> Result<()> {
        // The bench's connections are PLAINTEXT, so its principal is User:ANONYMOUS. With
        // allow.everyone.if.no.acl.found it may create the first ACLs (the cluster has none
        // yet); every request is still decided through the ACL index, which is what is
        // measured: the bench's topic and the cluster carry ACLs granting it, so the flag
        // decides nothing on the measured path.
        let overrides = [
            (
                "authorizer.class.name",
                "kafka.security.authorizer.AclAuthorizer",
            ),
            ("allow.everyone.if.no.acl.found", "true"),
        ];
        let mut t = Target::start("benchacl", 1, &self.broker_bin, &overrides)?;
        let bs = t.bootstrap();
        let topic = "acl-bench";
        let mut wire = WireClient::connect(&bs).context("connecting for CreateAcls")?;
        create_acls(&mut wire, &bench_principal_acls(topic))?;
        client::create_topic(&bs, topic, 1, 1)?;
        for (label, acls) in [("3 ACLs", 0usize), ("10,003 ACLs", MANY_ACLS)] {
            if acls > 0 {
                let started = Instant::now();
                for chunk in many_acls(acls).chunks(ACLS_PER_REQUEST) {
                    create_acls(&mut wire, chunk)?;
                }
                let seconds = started.elapsed().as_secs_f64();
                let total = count_acls(&mut wire)?;
                eprintln!(
                    "security: {acls} ACLs created in {seconds:.1} s; the broker lists {total}"
                );
                anyhow::ensure!(
                    total > acls,
                    "the broker lists {total} ACLs after adding {acls}"
                );
            }
            let name = format!("security: Metadata latency, authorizer on, {label}");
            self.run(report, &name, 1, || {
                let lat = client::metadata_latency(&bs, topic, 2_000)?;
                let mut m = Measurement::new(&name, 1);
                m.latency_us = Some(lat);
                m.note = "2,000 Metadata requests for one topic, one at a time".into();
                Ok(vec![m])
            })?;
            let name =
                format!("security: produce latency 5000 msg/s acks=1, authorizer on, {label}");
            self.run(report, &name, 1, || {
                suite::warm_up(&bs, topic, 1)?;
                let load = Load {
                    count: self.n(50_000),
                    size: KIB,
                    pace: Pace::Rate(5_000),
                    max_time: SCENARIO_MAX,
                    ack_latency: true,
                    stamp: None,
                };
                Ok(vec![suite::produce(
                    &t,
                    &name,
                    &bs,
                    topic,
                    1,
                    &load,
                    |_| 0,
                )?])
            })?;
        }
        Ok(())
    }
}

/// Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType).
const TOPIC: i8 = 2;
const CLUSTER: i8 = 4;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;
const DENY: i8 = 2;

fn acl(
    resource_type: i8,
    name: &str,
    pattern: i8,
    principal: &str,
    operation: i8,
    permission: i8,
) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(StrBytes::from_string(name.to_string()))
        .with_resource_pattern_type(pattern)
        .with_principal(StrBytes::from_string(principal.to_string()))
        .with_host(StrBytes::from_static_str("*"))
        .with_operation(operation)
        .with_permission_type(permission)
}

/// What the bench's principal needs: everything on its topic and on the cluster (topic
/// creation, CreateAcls), and one DENY for someone else, so a DENY is looked at too.
fn bench_principal_acls(topic: &str) -> Vec<AclCreation> {
    vec![
        acl(TOPIC, topic, LITERAL, "User:ANONYMOUS", ALL, ALLOW),
        acl(
            CLUSTER,
            "kafka-cluster",
            LITERAL,
            "User:ANONYMOUS",
            ALL,
            ALLOW,
        ),
        acl(TOPIC, topic, LITERAL, "User:intruder", WRITE, DENY),
    ]
}

/// `n` ACLs of other principals: nine in ten literal, on topics of their own; one in ten
/// prefixed, some of whose prefixes (`a`, `ac`, `acl`, ...) cover the bench's topic, so its
/// lookups probe several prefix lengths and find entries that do not apply to it.
fn many_acls(n: usize) -> Vec<AclCreation> {
    (0..n)
        .map(|i| {
            let principal = format!("User:user-{i}");
            if i % 10 == 0 {
                let prefixes = ["a", "ac", "acl", "acl-", "acl-b"];
                let prefix = match i % 100 {
                    0 => prefixes[(i / 100) % prefixes.len()].to_string(),
                    _ => format!("p{i}-"),
                };
                acl(TOPIC, &prefix, PREFIXED, &principal, READ, ALLOW)
            } else {
                acl(
                    TOPIC,
                    &format!("topic-{i}"),
                    LITERAL,
                    &principal,
                    WRITE,
                    ALLOW,
                )
            }
        })
        .collect()
}

fn create_acls(wire: &mut WireClient, creations: &[AclCreation]) -> Result<()> {
    let request = CreateAclsRequest::default().with_creations(creations.to_vec());
    let response = wire.request(1, &request).context("CreateAcls")?;
    if let Some(failed) = response.results.iter().find(|r| r.error_code != 0) {
        bail!(
            "CreateAcls: error {} ({:?})",
            failed.error_code,
            failed.error_message
        );
    }
    Ok(())
}

/// Every ACL the broker lists (DescribeAcls with an all-ANY filter).
fn count_acls(wire: &mut WireClient) -> Result<usize> {
    const ANY: i8 = 1;
    let request = DescribeAclsRequest::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(ANY)
        .with_pattern_type_filter(ANY)
        .with_operation(ANY)
        .with_permission_type(ANY);
    let response = wire.request(1, &request).context("DescribeAcls")?;
    if response.error_code != 0 {
        bail!("DescribeAcls: error {}", response.error_code);
    }
    Ok(response.resources.iter().map(|r| r.acls.len()).sum())
}

/// One consume-from-start row over the current security settings.
fn consume_row(
    t: &Target,
    name: &str,
    bootstrap: &str,
    topic: &str,
    count: u64,
) -> Result<Vec<Measurement>> {
    let usage = Usage::start(t.pids());
    let out = client::consume(bootstrap, topic, 1, count, SCENARIO_MAX, None)?;
    let mut m = Measurement::new(name, 1);
    m.record_bytes = Some(KIB);
    m.messages = Some(out.messages);
    m.seconds = Some(out.seconds);
    m.bytes_per_s = Some(out.bytes as f64 / out.seconds.max(1e-9));
    m.volume_bytes = Some(out.bytes);
    m.usage = usage.finish();
    if out.messages < count {
        m.note = format!("only {} of {count} in time", out.messages);
    }
    Ok(vec![m])
}

/// Makes (once per run) a CA and broker certificates with scripts/make-certs.sh.
fn certificates() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bench-certs-{}", std::process::id()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-certs.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("{} failed: {status}", script.display());
    }
    Ok(dir)
}
