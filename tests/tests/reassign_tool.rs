//! `kafka-reassign-partitions` against a 3-broker cluster, and the replication throttle it
//! sets: --generate's output and JSON, --execute --throttle moving a partition of ~30 MB at the
//! throttle's rate (measured on the new replica's log) while a producer writes an unthrottled
//! topic at full speed, --verify's progress then completion and its removal of the throttles,
//! --list, the refusal of a second --execute without --additional, and --cancel reverting.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::multi::{produce_direct, MultiCluster};
use tests::tools;
use tests::traffic::SteadyProducer;

const TOOL: &str = "kafka-reassign-partitions";
/// The throttle of the measured move (bytes/s).
const RATE: u64 = 5_000_000;
/// Records of this size, this many per produce request, this many requests: ~31 MB.
const VALUE_BYTES: usize = 10_000;
const VALUES_PER_REQUEST: usize = 90;
const REQUESTS: usize = 35;

fn log_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.to_string_lossy().into_owned()
}

/// Fills `topic`-0 (led by `leader`) with ~31 MB.
fn fill(cluster: &mut MultiCluster, leader: i32, topic: &str, requests: usize) {
    let value = "v".repeat(VALUE_BYTES);
    let values: Vec<&str> = vec![value.as_str(); VALUES_PER_REQUEST];
    let addr = cluster.broker(leader).bootstrap();
    for _ in 0..requests {
        let (code, _) =
            produce_direct(&addr, topic, 0, 1, Duration::from_secs(10), &values).expect("produce");
        assert_eq!(code, 0, "produce to {topic}");
    }
}

/// The replicas of `topic`-0 as Metadata lists them.
fn replicas(cluster: &MultiCluster, topic: &str) -> Vec<i32> {
    let m = cluster.metadata().expect("metadata");
    m.topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == 0)
        .map(|p| p.replica_nodes.iter().map(|b| b.0).collect())
        .unwrap_or_default()
}

/// The `config` object of a config znode (empty when there is none).
fn znode_config(cluster: &MultiCluster, path: &str) -> serde_json::Map<String, Value> {
    cluster
        .zk_get_json(path)
        .ok()
        .and_then(|v| v["config"].as_object().cloned())
        .unwrap_or_default()
}

fn no_throttles_left(cluster: &MultiCluster, topic: &str) -> bool {
    let topic_config = znode_config(cluster, &format!("/config/topics/{topic}"));
    let topic_clear = !topic_config
        .keys()
        .any(|k| k.ends_with(".replication.throttled.replicas"));
    let brokers_clear = (1..=3).all(|b| {
        let c = znode_config(cluster, &format!("/config/brokers/{b}"));
        !c.keys().any(|k| k.ends_with(".replication.throttled.rate"))
    });
    topic_clear && brokers_clear
}

#[test]
fn reassign_partitions_moves_at_the_throttle_rate_verifies_and_cancels() {
    let mut cluster = MultiCluster::start("reassign_tool", 3, &[]).expect("cluster");
    let bootstrap = cluster.bootstrap();
    let files = tempfile::tempdir().expect("tempdir");
    cluster.create_topic("moved", 1, 1, &[]).expect("moved");
    cluster.create_topic("busy", 3, 3, &[]).expect("busy");
    let leader = cluster
        .leader_and_isr("moved", 0)
        .expect("metadata")
        .expect("moved-0")
        .0;
    let target = if leader == 3 { 1 } else { leader + 1 };
    fill(&mut cluster, leader, "moved", REQUESTS);
    let total = log_bytes(&cluster.broker(leader).partition_dir("moved", 0));
    assert!(total > 30_000_000, "moved-0 holds {total} bytes");

    // --generate: the current assignment, and one over the listed brokers only.
    let topics = write_file(
        files.path(),
        "topics.json",
        r#"{"topics":[{"topic":"moved"}],"version":1}"#,
    );
    let out = tools::run_ok(
        TOOL,
        &[
            "--bootstrap-server",
            &bootstrap,
            "--generate",
            "--topics-to-move-json-file",
            &topics,
            "--broker-list",
            "2,3",
        ],
    )
    .expect("generate");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Current partition replica assignment", "{out}");
    assert_eq!(
        lines[1],
        format!(
            r#"{{"version":1,"partitions":[{{"topic":"moved","partition":0,"replicas":[{leader}],"log_dirs":["any"]}}]}}"#
        )
    );
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "Proposed partition reassignment configuration");
    let proposed: Value = serde_json::from_str(lines[4]).expect("proposed JSON");
    let placed = proposed["partitions"][0]["replicas"][0]
        .as_i64()
        .unwrap_or(-1);
    assert!(placed == 2 || placed == 3, "{out}");

    // --execute --throttle while a producer writes to an unthrottled topic.
    let mut producer = SteadyProducer::start(&bootstrap, "busy", "all", 5).expect("producer");
    producer
        .wait_more_acks(20, Duration::from_secs(30))
        .expect("producer running");
    let move_json = format!(
        r#"{{"version":1,"partitions":[{{"topic":"moved","partition":0,"replicas":[{leader},{target}]}}]}}"#
    );
    let plan = write_file(files.path(), "move.json", &move_json);
    let rate = RATE.to_string();
    let out = tools::run_ok(
        TOOL,
        &[
            "--bootstrap-server",
            &bootstrap,
            "--execute",
            "--reassignment-json-file",
            &plan,
            "--throttle",
            &rate,
        ],
    )
    .expect("execute");
    assert!(
        out.starts_with("Current partition replica assignment\n\n"),
        "{out}"
    );
    assert!(
        out.contains("Save this to use as the --reassignment-json-file option during rollback"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "The inter-broker throttle limit was set to {RATE} B/s"
        )),
        "{out}"
    );
    assert!(
        out.contains("Successfully started partition reassignment for moved-0"),
        "{out}"
    );
    let topic_config = znode_config(&cluster, "/config/topics/moved");
    assert_eq!(
        topic_config["leader.replication.throttled.replicas"],
        format!("0:{leader}")
    );
    assert_eq!(
        topic_config["follower.replication.throttled.replicas"],
        format!("0:{target}")
    );

    // The new replica's log grows at the throttle's rate: measured between 3 MB and 25 MB
    // (after the first window, before the end). --verify and --list meanwhile.
    let new_dir = cluster.broker(target).partition_dir("moved", 0);
    let deadline = Instant::now() + Duration::from_secs(40);
    let (mut start, mut end) = (None, None);
    let mut verified_progress = false;
    while end.is_none() && Instant::now() < deadline {
        let size = log_bytes(&new_dir);
        if size >= 3_000_000 && start.is_none() {
            start = Some((Instant::now(), size));
        }
        if size >= 25_000_000 {
            end = Some((Instant::now(), size));
        }
        if start.is_some() && !verified_progress {
            let out = tools::run_ok(
                TOOL,
                &[
                    "--bootstrap-server",
                    &bootstrap,
                    "--verify",
                    "--reassignment-json-file",
                    &plan,
                ],
            )
            .expect("verify");
            assert!(out.contains("Status of partition reassignment:\nReassignment of partition moved-0 is still in progress.\n"), "{out}");
            assert!(
                out.contains(&format!("  Replica {target}: ")) && out.contains("bytes copied"),
                "{out}"
            );
            assert!(
                !out.contains("Clearing"),
                "throttles kept while moving: {out}"
            );
            let listed =
                tools::run_ok(TOOL, &["--bootstrap-server", &bootstrap, "--list"]).expect("list");
            assert!(
                listed.starts_with("Current partition reassignments:\nmoved-0: replicas: "),
                "{listed}"
            );
            assert!(listed.contains(&format!("adding: {target}.")), "{listed}");
            // A second reassignment needs --additional.
            let err = tools::run_err(
                TOOL,
                &[
                    "--bootstrap-server",
                    &bootstrap,
                    "--execute",
                    "--reassignment-json-file",
                    &plan,
                ],
            )
            .expect("second execute refused");
            assert!(
                err.contains("Cannot execute because there is an existing partition assignment."),
                "{err}"
            );
            verified_progress = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let ((t0, s0), (t1, s1)) = (start.expect("move started"), end.expect("move went on"));
    let measured = (s1 - s0) as f64 / t1.duration_since(t0).as_secs_f64();
    let ratio = measured / RATE as f64;
    eprintln!("throttled move: {measured:.0} B/s at a throttle of {RATE} B/s");
    assert!(
        (0.8..=1.2).contains(&ratio),
        "moved at {measured:.0} B/s, throttle {RATE} B/s"
    );
    // The producer of the unthrottled topic kept going meanwhile.
    producer
        .wait_more_acks(50, Duration::from_secs(10))
        .expect("producer during the move");

    // Done: --verify says so and clears the throttles.
    cluster
        .wait_for(Duration::from_secs(40), "the move to complete", |c| {
            Ok(replicas(c, "moved") == vec![leader, target])
        })
        .expect("completed");
    cluster
        .wait_for(
            Duration::from_secs(20),
            "--verify to see it completed",
            |_| {
                let out = tools::run_ok(
                    TOOL,
                    &[
                        "--bootstrap-server",
                        &bootstrap,
                        "--verify",
                        "--reassignment-json-file",
                        &plan,
                    ],
                )?;
                Ok(
                    out.contains("Reassignment of partition moved-0 is completed.")
                        && out.contains("Clearing broker-level throttles on brokers 1,2,3")
                        && out.contains("Clearing topic-level throttles on topic moved"),
                )
            },
        )
        .expect("verify completed");
    cluster
        .wait_for(Duration::from_secs(10), "throttles removed", |c| {
            Ok(no_throttles_left(c, "moved"))
        })
        .expect("throttles removed");
    let (_, failed) = producer
        .finish(Duration::from_secs(20))
        .expect("producer finished");
    assert!(failed.is_empty(), "unthrottled producer failed: {failed:?}");

    // --cancel: a slow move of another partition is reverted, and its throttles cleared.
    cluster.create_topic("slow", 1, 1, &[]).expect("slow");
    let slow_leader = cluster
        .leader_and_isr("slow", 0)
        .expect("metadata")
        .expect("slow-0")
        .0;
    let slow_target = if slow_leader == 3 { 1 } else { slow_leader + 1 };
    fill(&mut cluster, slow_leader, "slow", 5);
    let slow_json = format!(
        r#"{{"version":1,"partitions":[{{"topic":"slow","partition":0,"replicas":[{slow_target}]}}]}}"#
    );
    let slow_plan = write_file(files.path(), "slow.json", &slow_json);
    tools::run_ok(
        TOOL,
        &[
            "--bootstrap-server",
            &bootstrap,
            "--execute",
            "--reassignment-json-file",
            &slow_plan,
            "--throttle",
            "100000",
        ],
    )
    .expect("execute slow");
    let out = tools::run_ok(
        TOOL,
        &[
            "--bootstrap-server",
            &bootstrap,
            "--cancel",
            "--reassignment-json-file",
            &slow_plan,
        ],
    )
    .expect("cancel");
    assert!(
        out.contains("Successfully cancelled partition reassignment for: slow-0"),
        "{out}"
    );
    cluster
        .wait_for(Duration::from_secs(30), "the cancel to revert", |c| {
            Ok(replicas(c, "slow") == vec![slow_leader])
        })
        .expect("reverted");
    assert!(
        no_throttles_left(&cluster, "slow"),
        "cancel clears the throttles"
    );
    let listed = tools::run_ok(TOOL, &["--bootstrap-server", &bootstrap, "--list"]).expect("list");
    assert_eq!(listed.trim(), "No partition reassignments found.");
}
