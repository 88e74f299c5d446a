//! `bench reassign`: how fast a partition moves to another broker (issue 24: "reassigning a
//! 1 GiB partition runs at the throttle rate given, or at >= 200 MB/s unthrottled").
//!
//! Three brokers; a single-replica partition filled with --gib GiB on one of them; moved to
//! another broker unthrottled, then back with `--throttle`, both through
//! `kafka-reassign-partitions` (the debug `kafka-tools` binary: it is only the client). A move's
//! time runs from `--execute` until Metadata lists only the new replica; its rate is the
//! partition's log bytes over that time.
//!
//! The same cluster also times the tools' start-up: `kafka-topics --list`, run
//! [`LIST_RUNS`] times (issue 24: "the tools start and answer in <= 50 ms for a `--list`");
//! set KAFKA_TOOLS_BIN to the release binary for that figure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;
use tests::multi::{produce_direct, MultiCluster};

use crate::report::Report;

const TOPIC: &str = "bench-reassign";
/// Records per produce request and their size: ~900 KB requests, under message.max.bytes.
const VALUES_PER_REQUEST: usize = 90;
const VALUE_BYTES: usize = 10_000;
/// Timed runs of `kafka-topics --list`.
const LIST_RUNS: usize = 50;
/// How long one move may take before the run gives up.
const MOVE_MAX: Duration = Duration::from_secs(600);

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

fn replicas(cluster: &MultiCluster) -> Result<Vec<i32>> {
    let m = cluster.metadata()?;
    Ok(m.topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == TOPIC))
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == 0)
        .map(|p| p.replica_nodes.iter().map(|b| b.0).collect())
        .unwrap_or_default())
}

/// Moves the partition to `to` (with `throttle` bytes/s, if any); returns the seconds taken.
fn move_to(
    cluster: &MultiCluster,
    bootstrap: &str,
    dir: &Path,
    to: i32,
    throttle: Option<u64>,
) -> Result<f64> {
    let plan = dir.join(format!("move-{to}.json"));
    let text = format!(
        r#"{{"version":1,"partitions":[{{"topic":"{TOPIC}","partition":0,"replicas":[{to}]}}]}}"#
    );
    std::fs::write(&plan, text)?;
    let plan = plan.to_string_lossy().into_owned();
    let mut args = vec![
        "--bootstrap-server",
        bootstrap,
        "--execute",
        "--reassignment-json-file",
        &plan,
    ];
    let rate = throttle.map(|t| t.to_string());
    if let Some(rate) = &rate {
        args.extend(["--throttle", rate]);
    }
    let start = Instant::now();
    tests::tools::run_ok("kafka-reassign-partitions", &args).context("--execute")?;
    while replicas(cluster)? != vec![to] {
        if start.elapsed() > MOVE_MAX {
            bail!("the move to broker {to} did not finish within {MOVE_MAX:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let secs = start.elapsed().as_secs_f64();
    // Clears the throttles (the move is over).
    tests::tools::run_ok(
        "kafka-reassign-partitions",
        &[
            "--bootstrap-server",
            bootstrap,
            "--verify",
            "--reassignment-json-file",
            &plan,
        ],
    )
    .context("--verify")?;
    Ok(secs)
}

/// Wall time of whole `kafka-topics --list` runs (process start to exit), in ms.
fn list_latency(bootstrap: &str, report: &mut Report) -> Result<()> {
    let mut ms = Vec::with_capacity(LIST_RUNS);
    for _ in 0..LIST_RUNS {
        let start = Instant::now();
        let out =
            tests::tools::run_ok("kafka-topics", &["--bootstrap-server", bootstrap, "--list"])
                .context("kafka-topics --list")?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        if !out.lines().any(|l| l == TOPIC) {
            bail!("kafka-topics --list did not list {TOPIC}: {out}");
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    report.add_raw(json!({"scenario": "kafka-topics --list", "runs": LIST_RUNS,
        "binary": tests::tools::tools_bin().display().to_string(),
        "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}))?;
    Ok(())
}

pub fn run(broker_bin: &Path, gib: f64, throttle: u64, report: &mut Report) -> Result<()> {
    std::env::set_var("BROKER_BIN", broker_bin);
    let mut cluster = MultiCluster::start("bench-reassign", 3, &[]).context("cluster")?;
    let bootstrap = cluster.bootstrap();
    cluster.create_topic(TOPIC, 1, 1, &[]).context("topic")?;
    list_latency(&bootstrap, report)?;
    let from = replicas(&cluster)?.first().copied().context("no replica")?;
    let to = if from == 3 { 1 } else { from + 1 };
    let addr = cluster.broker(from).bootstrap();
    let value = "v".repeat(VALUE_BYTES);
    let values = vec![value.as_str(); VALUES_PER_REQUEST];
    let requests =
        (gib * (1u64 << 30) as f64 / (VALUES_PER_REQUEST * VALUE_BYTES) as f64).ceil() as usize;
    let filling = Instant::now();
    for _ in 0..requests {
        let (code, _) = produce_direct(&addr, TOPIC, 0, 1, Duration::from_secs(30), &values)?;
        if code != 0 {
            bail!("produce failed with error {code}");
        }
    }
    let dir: PathBuf = cluster.broker(from).partition_dir(TOPIC, 0);
    let bytes = log_bytes(&dir);
    report.add_raw(
        json!({"reassign_fill": {"bytes": bytes, "seconds": filling.elapsed().as_secs_f64()}}),
    )?;
    let files = std::env::temp_dir().join(format!("bench-reassign-{}", std::process::id()));
    std::fs::create_dir_all(&files)?;
    let free = move_to(&cluster, &bootstrap, &files, to, None)?;
    report.add_raw(
        json!({"scenario": "reassign unthrottled", "bytes": bytes, "seconds": free,
        "mb_per_s": bytes as f64 / free / 1e6}),
    )?;
    let throttled = move_to(&cluster, &bootstrap, &files, from, Some(throttle))?;
    let _ = std::fs::remove_dir_all(&files);
    report.add_raw(
        json!({"scenario": "reassign throttled", "bytes": bytes, "seconds": throttled,
        "mb_per_s": bytes as f64 / throttled / 1e6, "throttle_mb_per_s": throttle as f64 / 1e6}),
    )?;
    Ok(())
}
