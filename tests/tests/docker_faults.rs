//! Container-level faults with testcontainers: a three-node ZooKeeper ensemble and three
//! brokers on a private Docker network, an acks=all producer on the host streaming to a
//! replication-factor-3 topic (min.insync.replicas 2) while one fault happens:
//!
//! - the leader's container is paused past its ZooKeeper session timeout, then unpaused;
//! - the leader is disconnected from the network, then reconnected;
//! - the ZooKeeper leader's container is killed (and started again);
//! - the leader's broker is stopped (`docker stop`: SIGTERM, controlled shutdown) and started.
//!
//! After each, every acknowledged record is consumed back and the cluster heals: three brokers
//! registered, every partition led and back to a full ISR. One body, four faults. The clients
//! run on the host and reach the brokers through published ports (host port == container port,
//! advertised as localhost:<port>). SKIPPED (and passing) without a Docker engine.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use testcontainers::clients::Cli;
use testcontainers::core::WaitFor;
use testcontainers::{Container, GenericImage, RunnableImage};
use tests::check::{int, records, string};
use tests::docker::{self, parse_get_json, parse_ls, wait_for, zk_cli_in, zk_mode, Images};
use tests::ports::free_port;
use tests::python;
use tests::OrPanic;

const TOPIC: &str = "faults";
const PARTITIONS: i64 = 2;
/// The brokers' ZooKeeper session timeout; faults last longer than this.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
const DEADLINE: Duration = Duration::from_secs(120);

/// Each scenario runs six containers with three JVMs: one at a time on a two-core machine.
static SERIAL: Mutex<()> = Mutex::new(());

/// ZooKeeper ensemble + brokers 1..=3, named `<prefix>-zk<N>` / `<prefix>-kafka<N>`.
struct Cluster<'d> {
    // Declared before `zks` so brokers are removed first.
    brokers: Vec<Container<'d, GenericImage>>,
    zks: Vec<Container<'d, GenericImage>>,
    network: String,
    host_ports: Vec<u16>,
}

fn image(reference: &str) -> GenericImage {
    let (name, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    GenericImage::new(name, tag).with_wait_for(WaitFor::Nothing)
}

impl<'d> Cluster<'d> {
    fn start(cli: &'d Cli, images: &Images, scenario: &str) -> Cluster<'d> {
        let prefix = format!("kzr-tc-{}-{scenario}", std::process::id());
        let zk_name = |n: usize| format!("{prefix}-zk{n}");
        let servers: Vec<String> = (1..=3)
            .map(|n| format!("server.{n}={}:2888:3888;2181", zk_name(n)))
            .collect();
        let zks: Vec<_> = (1..=3)
            .map(|n| {
                let img = image(&images.zookeeper)
                    .with_env_var("ZOO_MY_ID", n.to_string())
                    .with_env_var("ZOO_SERVERS", servers.join(" "))
                    .with_env_var("ZOO_INIT_LIMIT", "10")
                    .with_env_var("ZOO_SYNC_LIMIT", "5")
                    .with_env_var("ZOO_STANDALONE_ENABLED", "false")
                    // Members started before their peers resolve back off up to 60 s between
                    // election rounds by default; keep the ensemble's forming quick.
                    .with_env_var(
                        "JVMFLAGS",
                        "-Xms32m -Xmx256m -XX:+UseSerialGC \
                         -Dzookeeper.fastleader.maxNotificationInterval=2000",
                    );
                cli.run(
                    RunnableImage::from(img)
                        .with_network(prefix.clone())
                        .with_container_name(zk_name(n)),
                )
            })
            .collect();
        // Like the compose file's depends_on: brokers start once the ensemble has a quorum.
        wait_ensemble(&zks);
        let connect: Vec<String> = (1..=3).map(|n| format!("{}:2181", zk_name(n))).collect();
        let host_ports: Vec<u16> = (0..3).map(|_| free_port().or_panic("free port")).collect();
        let brokers = (1..=3)
            .map(|id: usize| {
                let name = format!("{prefix}-kafka{id}");
                let port = host_ports[id - 1];
                let env = [
                    ("KAFKA_BROKER_ID", id.to_string()),
                    ("KAFKA_ZOOKEEPER_CONNECT", connect.join(",")),
                    (
                        "KAFKA_LISTENERS",
                        format!("PLAINTEXT://0.0.0.0:9092,PLAINTEXT_HOST://0.0.0.0:{port}"),
                    ),
                    (
                        "KAFKA_ADVERTISED_LISTENERS",
                        format!("PLAINTEXT://{name}:9092,PLAINTEXT_HOST://localhost:{port}"),
                    ),
                    (
                        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                        "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT".into(),
                    ),
                    ("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT".into()),
                    (
                        "KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS",
                        SESSION_TIMEOUT.as_millis().to_string(),
                    ),
                    ("KAFKA_NUM_PARTITIONS", PARTITIONS.to_string()),
                    ("KAFKA_DEFAULT_REPLICATION_FACTOR", "3".into()),
                    ("KAFKA_MIN_INSYNC_REPLICAS", "2".into()),
                    ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "3".into()),
                    ("KAFKA_REPLICA_LAG_TIME_MAX_MS", "10000".into()),
                ];
                let img = env
                    .into_iter()
                    .fold(image(&images.broker), |img, (k, v)| img.with_env_var(k, v));
                cli.run(
                    RunnableImage::from(img)
                        .with_network(prefix.clone())
                        .with_container_name(name)
                        .with_mapped_port((port, port)),
                )
            })
            .collect();
        let cluster = Cluster {
            brokers,
            zks,
            network: prefix,
            host_ports,
        };
        cluster.wait_ready();
        cluster
    }

    fn bootstrap(&self) -> String {
        let all: Vec<String> = self
            .host_ports
            .iter()
            .map(|p| format!("localhost:{p}"))
            .collect();
        all.join(",")
    }

    fn broker(&self, id: i64) -> &Container<'d, GenericImage> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.brokers.get(i))
            .or_panic("no such broker")
    }

    /// A ZooKeeper container that is running and in the quorum, for zkCli.
    fn live_zk(&self) -> Result<&str, String> {
        self.zks
            .iter()
            .map(|c| c.id())
            .find(|id| matches!(zk_mode(id).as_deref(), Some("leader" | "follower")))
            .ok_or_else(|| "no ZooKeeper in a quorum".to_owned())
    }

    fn zk_get(&self, path: &str) -> Result<Value, String> {
        let out = zk_cli_in(self.live_zk()?, &["get", path]).map_err(|e| e.to_string())?;
        parse_get_json(&out).ok_or(out)
    }

    fn registered(&self) -> Result<Vec<String>, String> {
        let out = zk_cli_in(self.live_zk()?, &["ls", "/brokers/ids"]).map_err(|e| e.to_string())?;
        parse_ls(&out).ok_or(out)
    }

    fn partition_state(&self, p: i64) -> Result<Value, String> {
        self.zk_get(&format!("/brokers/topics/{TOPIC}/partitions/{p}/state"))
    }

    /// All brokers report healthy.
    fn wait_ready(&self) {
        wait_for("brokers healthy", DEADLINE, || {
            let mut args = vec!["inspect", "--format", "{{.Name}} {{.State.Health.Status}}"];
            args.extend(self.brokers.iter().map(|c| c.id()));
            let out = docker::docker(&args).map_err(|e| e.to_string())?;
            if out.lines().all(|l| l.ends_with(" healthy")) {
                Ok(())
            } else {
                Err(out)
            }
        })
        .or_panic("brokers");
    }

    /// Three brokers registered and every partition led with a full ISR.
    fn wait_healed(&self) {
        wait_for("cluster healed", DEADLINE, || {
            let ids = self.registered()?;
            if ids.len() != 3 {
                return Err(format!("registered: {ids:?}"));
            }
            for p in 0..PARTITIONS {
                let state = self.partition_state(p)?;
                if int(&state, "leader") < 0 || isr(&state).len() != 3 {
                    return Err(format!("partition {p}: {state}"));
                }
            }
            Ok(())
        })
        .or_panic("healing");
    }

    fn dump_logs(&self) {
        for c in self.brokers.iter().chain(self.zks.iter()) {
            // The broker logs to stderr, ZooKeeper to stdout: docker logs keeps them apart.
            let mut command = std::process::Command::new("docker");
            command.args(["logs", "--tail", "40", c.id()]);
            if let Ok(out) = tests::process::run(command, None, Duration::from_secs(30)) {
                eprintln!(
                    "--- {} ---\n{}{}",
                    c.id(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        // A disconnected or paused container cannot be removed cleanly: undo first.
        for c in &self.brokers {
            let _ = docker::docker(&["unpause", c.id()]);
        }
        eprintln!("removing the containers and network {}", self.network);
    }
}

/// Waits until the ensemble has a leader and two followers.
fn wait_ensemble(zks: &[Container<'_, GenericImage>]) {
    wait_for("ZooKeeper ensemble", DEADLINE, || {
        let modes: Vec<Option<String>> = zks.iter().map(|c| zk_mode(c.id())).collect();
        let count = |mode: &str| modes.iter().filter(|m| m.as_deref() == Some(mode)).count();
        if count("leader") == 1 && count("follower") == 2 {
            Ok(())
        } else {
            Err(format!("{modes:?}"))
        }
    })
    .or_panic("ensemble");
}

fn isr(state: &Value) -> BTreeSet<i64> {
    state["isr"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// The fault a scenario injects, given the cluster and the leader of partition 0.
type Fault = fn(&Cluster<'_>, i64);

/// The body every scenario shares: stream acks=all records through `fault`, then check that
/// every acknowledged record is there and the cluster heals.
fn run_scenario(name: &str, fault: Fault) {
    if docker::skip_without_docker(name) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let images = docker::images().or_panic("building the test images");
    let cli = Cli::default();
    let cluster = Cluster::start(&cli, images, name);
    let bootstrap = cluster.bootstrap();

    produce(&bootstrap, &["--count", "4", "--prefix", "warmup"]);
    cluster.wait_healed();

    let mut stream = python::spawn(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            TOPIC,
            "--acks",
            "all",
            "--stream",
            "--count",
            "1500",
            "--interval-ms",
            "20",
        ],
    )
    .or_panic("stream producer");
    let mut lines = stream.until_acknowledged(50, Duration::from_secs(60));
    let leader = int(&cluster.partition_state(0).or_panic("state"), "leader");
    let fault_started = Instant::now();
    eprintln!(
        "{name}: fault on broker {leader} after {} acks",
        lines.len()
    );
    fault(&cluster, leader);
    let fault_took = fault_started.elapsed();
    let before_end = lines.len();
    lines.extend(
        stream
            .remaining_json(Duration::from_secs(90))
            .or_panic("producer output"),
    );
    let acked = python::acknowledged_values(&lines);
    let errors = lines.iter().filter(|l| l.get("error").is_some()).count();
    eprintln!(
        "{name}: fault took {fault_took:.1?}; {} acked, {errors} failed, {} lines after the fault",
        acked.len(),
        lines.len() - before_end
    );
    assert!(
        lines[before_end..]
            .iter()
            .any(|l| l.get("offset").is_some()),
        "no record acknowledged after the fault"
    );

    cluster.wait_healed();
    let consumed = python::run_json(
        "kp_consume.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            TOPIC,
            "--timeout-ms",
            "10000",
        ],
        Duration::from_secs(120),
    )
    .or_panic("consume");
    let values: BTreeSet<&str> = records(&consumed)
        .into_iter()
        .map(|r| string(r, "value"))
        .collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|v| !values.contains(v.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost: {missing:?}",
        missing.len()
    );
}

fn produce(bootstrap: &str, extra: &[&str]) {
    let mut args = vec!["--bootstrap", bootstrap, "--topic", TOPIC, "--acks", "all"];
    args.extend_from_slice(extra);
    python::run_json("kp_produce.py", &args, Duration::from_secs(90)).or_panic("produce");
}

/// Waits until partition 0 has a leader other than `old`.
fn wait_new_leader(cluster: &Cluster<'_>, old: i64) {
    wait_for("a new leader for partition 0", DEADLINE, || {
        let state = cluster.partition_state(0)?;
        let leader = int(&state, "leader");
        if leader >= 0 && leader != old {
            Ok(())
        } else {
            Err(state.to_string())
        }
    })
    .or_panic("failover");
}

#[test]
fn docker_pause_leader_past_session_timeout() {
    run_scenario("pause", |cluster, leader| {
        let id = cluster.broker(leader).id().to_owned();
        docker::docker(&["pause", &id]).or_panic("pause");
        let paused = Instant::now();
        // The session expires, the controller elects another leader.
        wait_new_leader(cluster, leader);
        if let Some(rest) = (SESSION_TIMEOUT * 2).checked_sub(paused.elapsed()) {
            std::thread::sleep(rest);
        }
        docker::docker(&["unpause", &id]).or_panic("unpause");
    });
}

#[test]
fn docker_disconnect_leader_from_network() {
    run_scenario("netsplit", |cluster, leader| {
        let id = cluster.broker(leader).id().to_owned();
        docker::docker(&["network", "disconnect", &cluster.network, &id]).or_panic("disconnect");
        wait_new_leader(cluster, leader);
        docker::docker(&["network", "connect", &cluster.network, &id]).or_panic("connect");
    });
}

#[test]
fn docker_kill_zookeeper_leader() {
    run_scenario("zkkill", |cluster, _| {
        let zk_leader = cluster
            .zks
            .iter()
            .find(|c| zk_mode(c.id()).as_deref() == Some("leader"))
            .or_panic("ZooKeeper leader");
        docker::docker(&["kill", zk_leader.id()]).or_panic("kill");
        // The two others elect a leader and the brokers' sessions move over.
        wait_for("a new ZooKeeper leader", DEADLINE, || {
            cluster.live_zk().map(|_| ())
        })
        .or_panic("ZooKeeper failover");
        std::thread::sleep(SESSION_TIMEOUT);
        docker::docker(&["start", zk_leader.id()]).or_panic("start");
        wait_for("the killed member back", DEADLINE, || {
            match zk_mode(zk_leader.id()).as_deref() {
                Some("leader" | "follower") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .or_panic("rejoin");
    });
}

#[test]
fn docker_stop_and_start_leader_broker() {
    run_scenario("restart", |cluster, leader| {
        let broker = cluster.broker(leader);
        docker::docker(&["stop", "--time", "30", broker.id()]).or_panic("stop");
        wait_new_leader(cluster, leader);
        broker.start();
    });
}
