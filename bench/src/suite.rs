//! The whole suite (`bench all`): ceilings, then every scenario of issue 6 against a managed
//! 1-broker and 3-broker cluster, then the log cleaner's (`crate::cleaner`), each result as
//! a JSON line, then the Markdown table.
//!
//! Volumes are chosen so that the suite fits in 10 minutes on a 2-core machine; `--scale`
//! multiplies every message count (0.05 for a smoke run). A scenario that fails is recorded
//! with its error and the suite goes on; each scenario's sending is bounded in time.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use tests::wire::WireClient;

use crate::client::{self, Load, Pace};
use crate::report::{Measurement, Report};
use crate::target::{self, Target, Usage};
use crate::{ceiling, corrupt};

pub(crate) const KIB: usize = 1024;
/// Memory (page cache included) of a broker in the capped-page-cache scenarios.
pub(crate) const PAGE_CACHE_CAP: u64 = 512 << 20;
/// Upper bound on the sending part of one scenario.
pub(crate) const SCENARIO_MAX: Duration = Duration::from_secs(60);
/// Rounds of each side of a linear-cost pair (100 vs 1000 partitions, or idle connections),
/// run alternately so that the machine's drift during the pair hits both sides alike. Rounds
/// of one side varied by up to a third (2026-12-03: 144-194 MB/s), so the median takes five.
const PAIR_ROUNDS: usize = 5;

/// Settings of one suite run.
pub struct Suite {
    pub broker_bin: PathBuf,
    pub scale: f64,
    /// Wall-clock budget: scenarios not started by then are recorded as skipped.
    pub budget: Duration,
    pub started: Instant,
    /// The command line, for the rows that record it.
    pub command: String,
}

impl Suite {
    /// A suite run starting now.
    pub fn new(broker_bin: PathBuf, scale: f64, budget_secs: u64) -> Result<Suite> {
        let broker_bin = broker_bin
            .canonicalize()
            .with_context(|| format!("broker binary {}", broker_bin.display()))?;
        Ok(Suite {
            broker_bin,
            scale,
            budget: Duration::from_secs(budget_secs),
            started: Instant::now(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        })
    }

    pub(crate) fn n(&self, count: u64) -> u64 {
        ((count as f64 * self.scale) as u64).max(100)
    }

    fn over_budget(&self) -> bool {
        self.started.elapsed() > self.budget
    }

    /// Runs one scenario, recording its failure (or the skip) instead of stopping the suite.
    pub(crate) fn run(
        &self,
        report: &mut Report,
        name: &str,
        brokers: usize,
        f: impl FnOnce() -> Result<Vec<Measurement>>,
    ) -> Result<()> {
        if self.over_budget() {
            let mut m = Measurement::new(name, brokers);
            m.note = "skipped: time budget spent".into();
            return report.add(m);
        }
        eprintln!("[{:>5.1}s] {name}", self.started.elapsed().as_secs_f64());
        match f() {
            Ok(ms) => ms.into_iter().try_for_each(|m| report.add(m)),
            Err(e) => {
                let mut m = Measurement::new(name, brokers);
                m.pass = Some(false);
                m.note = format!("error: {e:#}");
                report.add(m)
            }
        }
    }

    /// Everything, in order.
    pub fn all(&self, report: &mut Report) -> Result<()> {
        report.add_raw(machine())?;
        let volume = self.n(1 << 20) * KIB as u64;
        let scratch = tempfile_dir()?;
        report.ceilings.tcp_loopback = ceiling::tcp_loopback(volume)?;
        report.ceilings.file_write = ceiling::file_write(&scratch, volume)?;
        let _ = std::fs::remove_dir_all(&scratch);
        report.add_raw(json!({
            "scenario": "ceiling",
            "volume_bytes": volume,
            "tcp_loopback_mb_per_s": (report.ceilings.tcp_loopback / 1e6).round(),
            "file_write_mb_per_s": (report.ceilings.file_write / 1e6).round(),
        }))?;
        self.one_broker(report)?;
        self.three_brokers(report)?;
        self.cleaner(report)
    }

    fn one_broker(&self, report: &mut Report) -> Result<()> {
        let mut t = Target::start("bench1", 1, &self.broker_bin, &[])?;
        let bs = t.bootstrap();
        self.run(report, "startup + idle RSS", 1, || {
            startup(&self.broker_bin, &t)
        })?;
        for (size, count) in [(100, 1_000_000), (KIB, 1 << 20), (16 * KIB, 32_768)] {
            let name = format!("produce {size} B acks=1");
            self.run(report, &name, 1, || {
                let topic = format!("p{size}");
                client::create_topic(&bs, &topic, 1, 1)?;
                let load = full_speed(self.n(count), size);
                Ok(vec![produce(&t, &name, &bs, &topic, 1, &load, |_| 0)?])
            })?;
        }
        let gib = self.n(1 << 20);
        self.run(report, "consume 1 KiB records from start", 1, || {
            let usage = Usage::start(t.pids());
            let out = client::consume(&bs, &format!("p{KIB}"), 1, gib, SCENARIO_MAX, None)?;
            let mut m = Measurement::new("consume 1 KiB records from start", 1);
            m.record_bytes = Some(KIB);
            m.messages = Some(out.messages);
            m.seconds = Some(out.seconds);
            m.bytes_per_s = Some(out.bytes as f64 / out.seconds.max(1e-9));
            m.volume_bytes = Some(out.bytes);
            m.usage = usage.finish();
            m.note = format!(
                "{:.2} GiB from page cache",
                out.bytes as f64 / (1u64 << 30) as f64
            );
            if out.messages < gib {
                m.note
                    .push_str(&format!("; only {} of {gib} in time", out.messages));
            }
            Ok(vec![m])
        })?;
        self.run(report, "corrupt batch rejected", 1, || {
            let (code, still_serving) = corrupt::check(&bs, &format!("p{KIB}"))?;
            let mut m = Measurement::new("corrupt batch rejected", 1);
            m.pass = Some(corrupt::is_corrupt_message(code) && still_serving);
            m.note = format!("error code {code} (2 = CORRUPT_MESSAGE); next valid batch accepted: {still_serving}");
            Ok(vec![m])
        })?;
        self.latency_scenarios(report, &mut t, 1)?;
        drop(t);
        self.recycled_page_cache(report)
    }

    /// On a fresh broker whose page cache is capped (see [`target::MemoryCap`]), so that its
    /// memory is in steady state: 1 KiB produce again, then the linear-cost pairs. (Without
    /// the cap a round that writes to fresh memory costs the broker up to 4x the CPU of one
    /// that reuses pages, on this VM: that, not partitions or connections, decided the pairs.)
    fn recycled_page_cache(&self, report: &mut Report) -> Result<()> {
        let name = "produce 1024 B acks=1, page cache capped at 512 MiB";
        let mut t = Target::start("bench1cap", 1, &self.broker_bin, &[])?;
        let bs = t.bootstrap();
        let cap = match target::MemoryCap::apply("bench-broker", &t.pids(), PAGE_CACHE_CAP) {
            Ok(cap) => Some(cap),
            Err(e) => {
                let mut m = Measurement::new(name, 1);
                m.note = format!("skipped: no memory cgroup to cap the page cache: {e:#}");
                report.add(m)?;
                None
            }
        };
        if cap.is_some() {
            self.run(report, name, 1, || {
                // Fill the capped page cache first, so that every measured append reuses a page.
                let fill = self.n(PAGE_CACHE_CAP / KIB as u64 * 5 / 4);
                fill_page_cache(&bs, "fill1", fill)?;
                client::create_topic(&bs, "cap1024", 1, 1)?;
                let load = full_speed(self.n(1 << 20), KIB);
                let mut m = produce(&t, name, &bs, "cap1024", 1, &load, |_| 0)?;
                m.note.push_str(
                    "broker in a memory cgroup, its page cache filled first: appends reuse pages",
                );
                Ok(vec![m])
            })?;
        }
        self.linear_cost_pairs(report, &t, &bs)
    }

    /// 100 vs 1000 partitions (topic creation, Metadata, produce spread over them) and 100 vs
    /// 1000 idle connections beside 10 producers.
    fn linear_cost_pairs(&self, report: &mut Report, t: &Target, bs: &str) -> Result<()> {
        const PARTITIONS: [i32; 2] = [100, 1000];
        for n in PARTITIONS {
            self.run(report, &format!("{n} partitions: Metadata"), 1, || {
                Ok(vec![partitioned_topic(bs, n)?])
            })?;
        }
        self.run(report, "100 → 1000 partitions: produce", 1, || {
            alternate(PARTITIONS.map(|n| move || spread_produce(self, t, bs, n)))
        })?;
        self.run(
            report,
            "100 → 1000 idle connections + 10 producers",
            1,
            || alternate([100, 1000].map(|n| move || idle_connections(self, t, bs, n))),
        )
    }

    fn three_brokers(&self, report: &mut Report) -> Result<()> {
        let mut t = Target::start(
            "bench3",
            3,
            &self.broker_bin,
            &[("min.insync.replicas", "2")],
        )?;
        let bs = t.bootstrap();
        let name = "produce 1024 B acks=all RF3";
        self.run(report, name, 3, || {
            client::create_topic(&bs, "r1024", 1, 3)?;
            let load = full_speed(self.n(300_000), KIB);
            Ok(vec![produce(&t, name, &bs, "r1024", -1, &load, |_| 0)?])
        })?;
        self.latency_scenarios(report, &mut t, -1)?;
        self.beside_idle_partitions(report, &mut t)
    }

    /// The acks=all 5k msg/s row again, beside an idle 1000-partition RF3 topic: what idle
    /// partitions cost replication (every follower fetch names and reads all of them, unless
    /// fetch sessions spare them).
    fn beside_idle_partitions(&self, report: &mut Report, t: &mut Target) -> Result<()> {
        let name = "latency 5000 msg/s acks=all, 1000 idle RF3 partitions beside";
        let bs = t.bootstrap();
        self.run(report, name, 3, || {
            client::create_topic(&bs, "idle1000", 1000, 3)?;
            let topic = "lat5000beside";
            client::create_topic(&bs, topic, 1, 3)?;
            // The new partition's first acks=all records: its followers already poll this
            // leader for the idle partitions (see replica/follower_polls.rs in the broker).
            let first = warm_up(&bs, topic, -1)?;
            let load = Load {
                count: self.n(50_000),
                size: KIB,
                pace: Pace::Rate(5_000),
                max_time: SCENARIO_MAX,
                ack_latency: true,
                stamp: None,
            };
            let mut m = produce(t, name, &bs, topic, -1, &load, |_| 0)?;
            m.note.push_str(&format!(
                "; compare with the row without the idle topic; the new topic's 100-record \
                 acks=all warm-up (client start included) took {} ms",
                first.as_millis()
            ));
            Ok(vec![m])
        })
    }

    /// Fixed-rate send-to-ack latency at 5k and 20k msg/s for 100 B records (the size the
    /// issue's latency targets name) and 1 KiB (the rows earlier runs recorded), and end-to-end
    /// latency at 5k.
    fn latency_scenarios(&self, report: &mut Report, t: &mut Target, acks: i32) -> Result<()> {
        let bs = t.bootstrap();
        let brokers = t.broker_count();
        let rf = brokers as i32;
        let acks_name = if acks < 0 {
            "all".to_string()
        } else {
            acks.to_string()
        };
        for (rate, size) in [(5_000u64, 100), (5_000, KIB), (20_000, 100), (20_000, KIB)] {
            let name = match size {
                KIB => format!("latency {rate} msg/s acks={acks_name}"),
                _ => format!("latency {rate} msg/s acks={acks_name}, {size} B"),
            };
            self.run(report, &name, brokers, || {
                let topic = format!("lat{rate}a{acks_name}s{size}");
                client::create_topic(&bs, &topic, 1, rf)?;
                warm_up(&bs, &topic, acks)?;
                let load = Load {
                    count: self.n(rate * 10),
                    size,
                    pace: Pace::Rate(rate),
                    max_time: SCENARIO_MAX,
                    ack_latency: true,
                    stamp: None,
                };
                Ok(vec![produce(t, &name, &bs, &topic, acks, &load, |_| 0)?])
            })?;
        }
        let name = format!("end-to-end 5000 msg/s acks={acks_name}");
        self.run(report, &name, brokers, || {
            let topic = format!("e2e-a{acks_name}");
            client::create_topic(&bs, &topic, 1, rf)?;
            warm_up(&bs, &topic, acks)?;
            let usage = Usage::start(t.pids());
            let count = self.n(50_000);
            let (p, c) = client::end_to_end(&bs, acks, &topic, count, KIB, 5_000, SCENARIO_MAX)?;
            let mut m = Measurement::new(&name, brokers);
            m.acks = Some(acks);
            m.record_bytes = Some(KIB);
            m.messages = Some(c.messages);
            m.seconds = Some(p.seconds);
            m.latency_us = c.latency_us;
            m.usage = usage.finish();
            m.errors = p.errors + (p.sent - c.messages.min(p.sent));
            if let Some(e) = p.first_error {
                m.note.push_str(&format!("; producer: {e}"));
            }
            m.note
                .insert_str(0, "produce timestamp to consumer receipt");
            Ok(vec![m])
        })
    }
}

/// Sends 100 records to a new topic and waits for their acknowledgement, so that a latency
/// scenario measures a topic in service rather than its creation (followers still starting
/// their fetchers put ~50 ms on the first acks=all records). First writes back what earlier
/// scenarios left in the page cache (`sync`): the kernel starts that writeback 30 s after the
/// writes, so gigabytes of it would otherwise share the disk and the two cores with the
/// latency scenarios that follow the throughput ones. Returns how long the records took,
/// client start included (the `sync` not).
pub(crate) fn warm_up(bootstrap: &str, topic: &str, acks: i32) -> Result<Duration> {
    sync()?;
    let started = Instant::now();
    let config = client::producer_config(bootstrap, acks, 0);
    produce_acknowledged(&config, topic, 100, "warm-up")?;
    Ok(started.elapsed())
}

/// `count` 1 KiB records to `topic` at full speed, not measured; an error unless every one
/// was acknowledged.
fn produce_acknowledged(
    config: &rdkafka::ClientConfig,
    topic: &str,
    count: u64,
    what: &str,
) -> Result<()> {
    let out = client::produce(config, topic, &full_speed(count, KIB), |_| 0)?;
    anyhow::ensure!(
        out.delivered == count,
        "{what}: {} of {count} records acknowledged ({:?})",
        out.delivered,
        out.first_error
    );
    Ok(())
}

/// Writes every dirty page back (the `sync` command), so that what comes next does not pay
/// for the writeback of what came before.
pub(crate) fn sync() -> Result<()> {
    let synced = Command::new("sync").status().context("running sync")?;
    anyhow::ensure!(synced.success(), "sync failed: {synced}");
    Ok(())
}

/// Fills a capped page cache before a steady-state row: `count` 1 KiB records at full speed to
/// a new topic of their own, not measured, then a `sync`, so that the measured appends find
/// clean pages to reuse (a capped cgroup must wait for dirty ones to be written back).
pub(crate) fn fill_page_cache(bootstrap: &str, topic: &str, count: u64) -> Result<()> {
    client::create_topic(bootstrap, topic, 1, 1)?;
    let config = client::producer_config(bootstrap, 1, 5);
    produce_acknowledged(&config, topic, count, &format!("filling {topic}"))?;
    sync()
}

/// Full-speed load of `count` messages of `size` bytes.
pub(crate) fn full_speed(count: u64, size: usize) -> Load {
    Load {
        count,
        size,
        pace: Pace::FullSpeed,
        max_time: SCENARIO_MAX,
        ack_latency: false,
        stamp: None,
    }
}

/// One producer run measured with the brokers' CPU and memory.
pub(crate) fn produce(
    t: &Target,
    name: &str,
    bootstrap: &str,
    topic: &str,
    acks: i32,
    load: &Load,
    partition: impl Fn(u64) -> i32,
) -> Result<Measurement> {
    let linger = if load.ack_latency { 0 } else { 5 };
    let config = client::producer_config(bootstrap, acks, linger);
    let usage = Usage::start(t.pids());
    let out = client::produce(&config, topic, load, partition)?;
    let mut m = Measurement::new(name, t.broker_count());
    m.acks = Some(acks);
    m.record_bytes = Some(load.size);
    m.messages = Some(out.delivered);
    m.seconds = Some(out.seconds);
    let bytes = out.delivered * load.size as u64;
    m.volume_bytes = Some(bytes);
    if let Pace::FullSpeed = load.pace {
        m.bytes_per_s = Some(bytes as f64 / out.seconds.max(1e-9));
    }
    m.latency_us = out.latency_us;
    m.usage = usage.finish();
    m.errors = out.errors;
    let mut notes = Vec::new();
    if let Pace::Rate(rate) = load.pace {
        let achieved = out.sent as f64 / out.send_seconds.max(1e-9);
        notes.push(format!(
            "target {rate} msg/s, sent at {achieved:.0}; linger.ms=0"
        ));
    }
    if out.sent < load.count {
        notes.push(format!(
            "only {} of {} sent within {:?}",
            out.sent, load.count, load.max_time
        ));
    }
    if out.delivered < out.sent {
        notes.push(format!(
            "{} of {} sent not acknowledged",
            out.sent - out.delivered,
            out.sent
        ));
    }
    if let Some(e) = out.first_error {
        notes.push(format!("first error: {e}"));
    }
    m.note = notes.join("; ");
    Ok(m)
}

/// Runs the two sides of a linear-cost pair alternately, [`PAIR_ROUNDS`] times each, and
/// reports each side's median round (by throughput) with every round's figure in its note,
/// and on the second side the change from the first (median against median).
fn alternate(mut sides: [impl FnMut() -> Result<Measurement>; 2]) -> Result<Vec<Measurement>> {
    let mut rounds: [Vec<Measurement>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..PAIR_ROUNDS {
        for (side, runs) in sides.iter_mut().zip(rounds.iter_mut()) {
            runs.push(side()?);
        }
    }
    let throughput = |m: &Measurement| m.bytes_per_s.unwrap_or(0.0);
    let medians = rounds.map(|mut runs| {
        runs.sort_by(|a, b| throughput(a).total_cmp(&throughput(b)));
        let all: Vec<String> = runs
            .iter()
            .map(|m| format!("{:.0}", throughput(m) / 1e6))
            .collect();
        let mut median = runs.swap_remove(runs.len() / 2);
        let note = format!(
            "median of {PAIR_ROUNDS} rounds alternating with the other side, MB/s {}",
            all.join(" / ")
        );
        median.note = [note, std::mem::take(&mut median.note)]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        median
    });
    let [first, mut second] = medians;
    let change = throughput(&second) / throughput(&first).max(1e-9) - 1.0;
    second.note = format!(
        "{:+.0}% against the first side; {}",
        100.0 * change,
        second.note
    );
    Ok(vec![first, second])
}

/// Creates a topic of `n` partitions: time until every partition has a leader, then
/// Metadata latency for it.
fn partitioned_topic(bs: &str, n: i32) -> Result<Measurement> {
    let topic = format!("p{n}x");
    let created = Instant::now();
    client::create_topic(bs, &topic, n, 1)?;
    let create_s = created.elapsed().as_secs_f64();
    let mut md = Measurement::new(format!("{n} partitions: Metadata"), 1);
    md.messages = Some(50);
    md.latency_us = Some(client::metadata_latency(bs, &topic, 50)?);
    md.note =
        format!("Metadata for the topic, 50 requests after two unmeasured (client connection set-up); CreateTopics to all leaders {create_s:.2} s");
    Ok(md)
}

/// 100 B records at full speed, round-robin over the `n` partitions of the topic
/// [`partitioned_topic`] made.
fn spread_produce(s: &Suite, t: &Target, bs: &str, n: i32) -> Result<Measurement> {
    // Long enough (1-3 s) that the producer's start-up is not what is measured.
    let load = full_speed(s.n(2_000_000), 100);
    produce(
        t,
        &format!("{n} partitions: produce 100 B acks=1"),
        bs,
        &format!("p{n}x"),
        1,
        &load,
        |i| (i % n as u64) as i32,
    )
}

/// `n` idle connections (each did ApiVersions) held open while 10 producers send 1 KiB
/// records at full speed, each to its own partition.
fn idle_connections(s: &Suite, t: &Target, bs: &str, n: usize) -> Result<Measurement> {
    let topic = format!("many{n}");
    client::create_topic(bs, &topic, 10, 1)?;
    let usage = Usage::start(t.pids());
    let first = bs.split(',').next().context("empty bootstrap")?;
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = WireClient::connect(first).context("opening an idle connection")?;
        c.api_versions(0)
            .context("ApiVersions on an idle connection")?;
        idle.push(c);
    }
    let idle_usage = usage.finish();
    let per = s.n(400_000) / 10;
    let start = Instant::now();
    let handles: Vec<_> = (0..10)
        .map(|k| {
            let config = client::producer_config(bs, 1, 5);
            let topic = topic.clone();
            thread::spawn(move || client::produce(&config, &topic, &full_speed(per, KIB), |_| k))
        })
        .collect();
    let mut delivered = 0;
    let mut errors = 0;
    for h in handles {
        let out = h
            .join()
            .map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
        delivered += out.delivered;
        errors += out.errors;
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut m = Measurement::new(format!("{n} idle connections + 10 producers"), 1);
    m.acks = Some(1);
    m.record_bytes = Some(KIB);
    m.messages = Some(delivered);
    m.seconds = Some(seconds);
    m.bytes_per_s = Some((delivered * KIB as u64) as f64 / seconds);
    m.volume_bytes = Some(delivered * KIB as u64);
    m.usage = usage.finish();
    m.errors = errors;
    if let Some(u) = idle_usage {
        m.note = format!(
            "RSS with {n} idle connections, before producing: {:.1} MiB",
            u.peak_rss_mib
        );
    }
    drop(idle);
    Ok(m)
}

/// Starts a separate broker (own chroot, so it joins no cluster) and times how long until it
/// answers ApiVersions and until its Metadata lists itself; then its idle RSS after 1 s.
fn startup(bin: &Path, t: &Target) -> Result<Vec<Measurement>> {
    let zk = t.zk_connect();
    let dir = tempfile_dir()?;
    let port = tests::ports::free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("broker.log"))?;
    let start = Instant::now();
    let child = Command::new(bin)
        .args(["--override", "broker.id=99"])
        .arg("--override")
        .arg(format!("zookeeper.connect={zk}/startup"))
        .arg("--override")
        .arg(format!("listeners=PLAINTEXT://{addr}"))
        .arg("--override")
        .arg(format!("log.dirs={}", dir.join("data").display()))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut guard = ChildGuard(child);
    let deadline = start + Duration::from_secs(30);
    let answered = poll_until(deadline, || {
        TcpStream::connect(&addr).is_ok()
            && WireClient::connect(&addr).is_ok_and(|mut c| c.api_versions(0).is_ok())
    })
    .context("the broker did not answer ApiVersions within 30 s")?
        - start;
    let registered = poll_until(deadline, || {
        WireClient::connect(&addr)
            .and_then(|mut c| c.metadata_all())
            .is_ok_and(|m| m.brokers.iter().any(|b| b.node_id.0 == 99) && m.controller_id.0 >= 0)
    })
    .context("the broker did not list itself in Metadata within 30 s")?
        - start;
    thread::sleep(Duration::from_secs(1));
    let idle = target::sample(guard.0.id())?;
    guard.kill();
    let _ = std::fs::remove_dir_all(&dir);
    let mut m = Measurement::new("startup + idle RSS", 1);
    m.latency_us = None;
    m.seconds = Some(answered.as_secs_f64());
    m.note = format!(
        "spawn to first ApiVersions answer {:.0} ms, to registered (Metadata lists itself + controller) {:.0} ms; idle RSS {:.1} MiB (VmHWM {:.1} MiB)",
        answered.as_secs_f64() * 1000.0,
        registered.as_secs_f64() * 1000.0,
        idle.rss_kib as f64 / 1024.0,
        idle.hwm_kib as f64 / 1024.0,
    );
    Ok(vec![m])
}

/// Polls `f` every 2 ms until it holds; the instant it held, or None at `deadline`.
fn poll_until(deadline: Instant, mut f: impl FnMut() -> bool) -> Option<Instant> {
    while Instant::now() < deadline {
        if f() {
            return Some(Instant::now());
        }
        thread::sleep(Duration::from_millis(2));
    }
    None
}

/// Kills (by PID) and reaps the child when dropped.
struct ChildGuard(Child);

impl ChildGuard {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh directory under the system temp dir (same filesystem as the brokers' logs).
fn tempfile_dir() -> Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Machine facts for the record: cores, memory, kernel, date.
pub(crate) fn machine() -> serde_json::Value {
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let out = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    json!({
        "scenario": "machine",
        "nproc": cores,
        "mem_gib": (mem_kib as f64 / 1048576.0 * 10.0).round() / 10.0,
        "kernel": out("uname", &["-r"]),
        "date": out("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "rdkafka": rdkafka::util::get_rdkafka_version().1,
    })
}
