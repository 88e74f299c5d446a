//! `bench`: the performance harness of issue 6.
//!
//! Drives a real ZooKeeper + broker cluster through librdkafka (the `rdkafka` crate, built
//! from the source it bundles), never through the broker's own codec. `bench all` runs the
//! whole suite; the other subcommands run one mode against a given bootstrap.
//!
//! Modules:
//! - [`target`]: start the cluster (through the integration-test harness) or use a bootstrap;
//!   CPU seconds and peak RSS of the broker processes from /proc.
//! - [`ceiling`]: the machine's own ceilings (TCP loopback blast, sequential file write).
//! - [`client`]: produce (full speed / fixed rate with latency, keyed), consume, end to end,
//!   topic creation and configs.
//! - [`corrupt`]: the corrupt-batch check over a raw connection.
//! - [`report`]: JSON lines and the Markdown table.
//! - [`suite`]: the scenarios.
//! - [`cleaner`]: the log cleaner's scenarios (`bench cleaner`, part of `bench all`).
//! - [`cleaner_log`]: what the cleaner did, from a broker's log lines and files.
//! - [`security`]: SASL_SSL against PLAINTEXT, and the ACL check at 10,000 ACLs (`bench
//!   security`, not part of `bench all`).
//! - [`reassign`]: a partition moved to another broker, unthrottled and throttled (`bench
//!   reassign`, not part of `bench all`).

mod ceiling;
mod cleaner;
mod cleaner_log;
mod client;
mod corrupt;
mod reassign;
mod report;
mod security;
mod suite;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use client::{Load, Pace};
use report::{Measurement, Report};

#[derive(Parser)]
#[command(about = "Performance harness: a real ZooKeeper + broker cluster driven by librdkafka")]
struct Args {
    /// Where results.jsonl and results.md are written.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The whole suite: ceilings, 1-broker and 3-broker scenarios, then the log cleaner's
    /// (starts everything itself).
    All {
        /// The broker binary to start.
        #[arg(long, default_value = "target/release/broker")]
        broker_bin: PathBuf,
        /// Multiplies every message count (e.g. 0.05 for a smoke run).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Scenarios not started within this many seconds are recorded as skipped.
        #[arg(long, default_value_t = 540)]
        budget_secs: u64,
    },
    /// The log cleaner's scenarios only (the last group of `all`): cleaning throughput and
    /// produce latency beside a busy cleaner (starts everything itself).
    Cleaner {
        /// The broker binary to start.
        #[arg(long, default_value = "target/release/broker")]
        broker_bin: PathBuf,
        /// Multiplies every message count and the segment and key-map sizes.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Scenarios not started within this many seconds are recorded as skipped.
        #[arg(long, default_value_t = 540)]
        budget_secs: u64,
    },
    /// TLS + SASL against plaintext in the same run, and the ACL check's cost at 10,000 ACLs
    /// (starts everything itself).
    Security {
        /// The broker binary to start.
        #[arg(long, default_value = "target/release/broker")]
        broker_bin: PathBuf,
        /// Multiplies every message count.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Scenarios not started within this many seconds are recorded as skipped.
        #[arg(long, default_value_t = 540)]
        budget_secs: u64,
    },
    /// A partition of --gib GiB moved to another broker of three, unthrottled and then at
    /// --throttle bytes/s, with kafka-reassign-partitions (starts everything itself; needs
    /// the debug kafka-tools binary).
    Reassign {
        /// The broker binary to start.
        #[arg(long, default_value = "target/release/broker")]
        broker_bin: PathBuf,
        #[arg(long, default_value_t = 1.0)]
        gib: f64,
        /// Bytes per second of the throttled move.
        #[arg(long, default_value_t = 50_000_000)]
        throttle: u64,
    },
    /// Produce to an existing cluster, at full speed or (with --rate) at a fixed rate with a
    /// send-to-acknowledgement latency histogram.
    Produce {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, default_value = "bench")]
        topic: String,
        #[arg(long, default_value_t = 1024)]
        size: usize,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// 1, 0 or -1 (all).
        #[arg(long, default_value_t = 1, allow_hyphen_values = true)]
        acks: i32,
        #[arg(long)]
        rate: Option<u64>,
        /// Create the topic first with this many partitions (replication factor --rf).
        #[arg(long)]
        create: Option<i32>,
        #[arg(long, default_value_t = 1)]
        rf: i32,
        /// Send round-robin over partitions 0..N (default: all to partition 0).
        #[arg(long, default_value_t = 1)]
        spread: i32,
    },
    /// Consume partition 0..partitions of a topic from the start at full speed.
    Consume {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, default_value = "bench")]
        topic: String,
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
    },
    /// End-to-end latency at a fixed rate on a new single-partition topic.
    E2e {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, default_value = "bench-e2e")]
        topic: String,
        #[arg(long, default_value_t = 5000)]
        rate: u64,
        #[arg(long, default_value_t = 50_000)]
        count: u64,
        #[arg(long, default_value_t = 1, allow_hyphen_values = true)]
        acks: i32,
        #[arg(long, default_value_t = 1)]
        rf: i32,
    },
    /// Starts ZooKeeper and N brokers, prints their bootstrap and PIDs as a JSON line, and keeps
    /// them running for --seconds (for manual runs and profiling), then stops everything.
    Serve {
        #[arg(long, default_value = "target/release/broker")]
        broker_bin: PathBuf,
        #[arg(long, default_value_t = 1)]
        brokers: i32,
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        /// Extra broker overrides, key=value.
        #[arg(long = "override")]
        overrides: Vec<String>,
    },
    /// The machine's ceilings only.
    Ceiling {
        #[arg(long, default_value_t = 1 << 30)]
        volume: u64,
    },
}

/// Sleeps for `duration`, or less if SIGINT or SIGTERM arrives, so that the caller can drop
/// (and so kill, by PID) what it started.
fn wait_for_stop(duration: Duration) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(())
    })
}

/// Writes the Markdown table of a suite run and prints it.
fn finish_suite(suite: &suite::Suite, report: &Report) -> Result<()> {
    let path = report.write_table()?;
    println!("\n{}", report.table());
    eprintln!(
        "suite took {:.0} s; table in {}",
        suite.started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut report = Report::create(&args.out)?;
    let max_time = Duration::from_secs(120);
    match args.command {
        Cmd::All {
            broker_bin,
            scale,
            budget_secs,
        } => {
            let suite = suite::Suite::new(broker_bin, scale, budget_secs)?;
            let result = suite.all(&mut report);
            finish_suite(&suite, &report)?;
            result?;
        }
        Cmd::Cleaner {
            broker_bin,
            scale,
            budget_secs,
        } => {
            let suite = suite::Suite::new(broker_bin, scale, budget_secs)?;
            report.add_raw(suite::machine())?;
            let result = suite.cleaner(&mut report);
            finish_suite(&suite, &report)?;
            result?;
        }
        Cmd::Security {
            broker_bin,
            scale,
            budget_secs,
        } => {
            let suite = suite::Suite::new(broker_bin, scale, budget_secs)?;
            report.add_raw(suite::machine())?;
            let result = suite.security(&mut report);
            finish_suite(&suite, &report)?;
            result?;
        }
        Cmd::Reassign {
            broker_bin,
            gib,
            throttle,
        } => {
            report.add_raw(suite::machine())?;
            let bin = broker_bin
                .canonicalize()
                .with_context(|| format!("broker binary {}", broker_bin.display()))?;
            reassign::run(&bin, gib, throttle, &mut report)?;
        }
        Cmd::Produce {
            bootstrap,
            topic,
            size,
            count,
            acks,
            rate,
            create,
            rf,
            spread,
        } => {
            if let Some(partitions) = create {
                client::create_topic(&bootstrap, &topic, partitions, rf)?;
            }
            let load = Load {
                count,
                size,
                pace: rate.map_or(Pace::FullSpeed, Pace::Rate),
                max_time,
                ack_latency: rate.is_some(),
                stamp: None,
            };
            let linger = if rate.is_some() { 0 } else { 5 };
            let config = client::producer_config(&bootstrap, acks, linger);
            let spread = spread.max(1) as u64;
            let out = client::produce(&config, &topic, &load, |i| (i % spread) as i32)?;
            let mut m = Measurement::new("produce", 0);
            m.acks = Some(acks);
            m.record_bytes = Some(size);
            m.messages = Some(out.delivered);
            m.seconds = Some(out.seconds);
            m.bytes_per_s = Some((out.delivered * size as u64) as f64 / out.seconds);
            m.latency_us = out.latency_us;
            m.errors = out.errors;
            m.note = out.first_error.unwrap_or_default();
            report.add(m)?;
        }
        Cmd::Consume {
            bootstrap,
            topic,
            partitions,
            count,
        } => {
            let out = client::consume(&bootstrap, &topic, partitions, count, max_time, None)?;
            let mut m = Measurement::new("consume", 0);
            m.messages = Some(out.messages);
            m.seconds = Some(out.seconds);
            m.bytes_per_s = Some(out.bytes as f64 / out.seconds.max(1e-9));
            report.add(m)?;
        }
        Cmd::E2e {
            bootstrap,
            topic,
            rate,
            count,
            acks,
            rf,
        } => {
            client::create_topic(&bootstrap, &topic, 1, rf)?;
            let (p, c) = client::end_to_end(&bootstrap, acks, &topic, count, 1024, rate, max_time)?;
            let mut m = Measurement::new("end-to-end", 0);
            m.acks = Some(acks);
            m.messages = Some(c.messages);
            m.seconds = Some(p.seconds);
            m.latency_us = c.latency_us;
            m.errors = p.errors;
            report.add(m)?;
        }
        Cmd::Serve {
            broker_bin,
            brokers,
            seconds,
            overrides,
        } => {
            let broker_bin = broker_bin
                .canonicalize()
                .with_context(|| format!("broker binary {}", broker_bin.display()))?;
            let pairs: Vec<(&str, &str)> =
                overrides.iter().filter_map(|o| o.split_once('=')).collect();
            let mut t = target::Target::start("serve", brokers, &broker_bin, &pairs)?;
            report.add_raw(serde_json::json!({
                "bootstrap": t.bootstrap(),
                "pids": t.pids(),
                "zookeeper": t.zk_connect(),
                "seconds": seconds,
            }))?;
            wait_for_stop(Duration::from_secs(seconds))?;
        }
        Cmd::Ceiling { volume } => {
            let tcp = ceiling::tcp_loopback(volume)?;
            let file = ceiling::file_write(&std::env::temp_dir(), volume)?;
            report.add_raw(serde_json::json!({
                "scenario": "ceiling",
                "volume_bytes": volume,
                "tcp_loopback_mb_per_s": (tcp / 1e6).round(),
                "file_write_mb_per_s": (file / 1e6).round(),
            }))?;
        }
    }
    Ok(())
}
