//! The log cleaner scenarios (`bench cleaner`, and the last group of `bench all`).
//!
//! - Cleaning throughput: ~1 GB of 1 KiB records (times `--scale`) with 10% or 90% duplicate
//!   keys is written to a 1-partition topic that does not clean (`cleanup.policy=delete`,
//!   no retention), its last segment rolled, `sync`; then the topic is switched to `compact`
//!   (AlterConfigs) and measured until the cleaner's checkpoint reaches the active segment,
//!   from the broker's "cleaned log" lines (one per cleaning pass) and from /proc: the
//!   `log-cleaner-0` thread's CPU, the broker's CPU and peak RSS.
//! - The same 10% case on a broker whose key map holds only part of the keys
//!   (`log.cleaner.dedupe.buffer.size` = 8 MiB): several passes.
//! - Produce latency (the 5,000 msg/s 100 B load of the latency rows) on another topic of a
//!   broker whose cleaner is busy through the whole window: a compacted topic with a large
//!   clean section, which a background writer keeps dirty by updating its keys while
//!   `segment.ms` seals a segment every 100 ms, so that one cleaning follows the other (each
//!   copies the log from its start). The same load with the same writer and the cleaner idle
//!   (the topic switched back to `delete`) is the row to compare with.
//!
//! Every broker runs in a 3 GiB memory cgroup of its own ([`MemoryCap`]), room for a log and
//! its cleaned copy, and the single brokers' cgroups are filled with clean pages first (a
//! topic written and synced), so that their logs are read from the page cache and a
//! cleaning's writes recycle pages as on a long-running broker rather than pay this VM's cost
//! of fresh memory (see "Where the produce time goes" in BENCHMARKS.md). A tighter cgroup
//! (512 MiB, as the capped produce row) left most of the log on disk and the cleaner reading
//! it back, and made every allocation of the broker wait for the cleaner's writeback. Each
//! row says when no cgroup could be made.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use serde_json::json;
// `::` for the harness crate: `tests` alone would name this module's unit tests.
use ::tests::broker::BrokerProcess;

use crate::cleaner_log::{self, Cleaning};
use crate::client::{self, Extra, Load, Pace, ProduceOutcome};
use crate::report::{Measurement, Report};
use crate::suite::{self, Suite, KIB, SCENARIO_MAX};
use crate::target::{self, MemoryCap, Target, Usage, UsageDelta};

/// Records of the throughput rows: 1 GiB of 1 KiB values, before `--scale`.
const RECORDS: u64 = 1 << 20;
/// `segment.bytes` of the cleaned topics, before `--scale`: ~10 sealed segments.
const SEGMENT_BYTES: u64 = 100 << 20;
/// The broker's default `log.cleaner.dedupe.buffer.size`.
const DEFAULT_MAP: u64 = 128 << 20;
/// The small key map, before `--scale` (scaled with the records, so that the passes stay).
const SMALL_MAP: u64 = 8 << 20;
/// How often an idle cleaner thread looks for work (the broker's default is 15 s).
const BACKOFF_MS: &str = "100";
/// The cleaner thread measured (`log.cleaner.threads=1`).
const CLEANER_THREAD: &str = "log-cleaner-0";
/// Key updates per second (1 KiB records) that keep the compacted topic dirty.
const WRITER_RATE: u64 = 1_000;
/// `segment.ms` of the compacted topic while the writer runs, before `--scale` (at least
/// 100 ms): a segment of dirty records is sealed this often, so one is waiting when a
/// cleaning ends (a cleaning of the ~1 GB clean section lasts longer). Each roll fsyncs the
/// sealed segment in the produce path, so the rolls are kept as rare as that allows.
const WRITER_SEGMENT_MS: u64 = 1_000;
/// The memory cgroup of each broker: a cleaned log (~1.1 GB) and its cleaned copy fit.
const CLEANER_CACHE_CAP: u64 = 3 << 30;

/// Upper bound on a cleaning the bench waits for.
const CLEAN_DEADLINE: Duration = Duration::from_secs(180);
/// The fixed-rate load measured beside the cleaner (the latency rows' 100 B load).
const LATENCY_RATE: u64 = 5_000;
const LATENCY_BYTES: usize = 100;

impl Suite {
    /// The cleaner rows, in order: throughput 10% and 90% duplicates, latency acks=1 beside a
    /// busy cleaner (and acks=all on that broker when a 3-broker cluster does not fit the
    /// budget), the small key map, then acks=all RF3 beside busy cleaners.
    pub fn cleaner(&self, report: &mut Report) -> Result<()> {
        let segment_bytes = self.scaled(SEGMENT_BYTES, 1 << 20);
        let big = Brokers::start(self, "bench-cleaner", 1, DEFAULT_MAP, true)?;
        let started = Instant::now();
        let mut ten = None;
        for (dup, topic) in [(0.1, "clean10"), (0.9, "clean90")] {
            let name = throughput_name(dup, None);
            self.run(report, &name, 1, || {
                let spec = DirtyLog {
                    topic,
                    dup,
                    records: self.n(RECORDS),
                    segment_bytes,
                };
                let (m, distinct) = throughput(self, &big, &name, &spec)?;
                if topic == "clean10" {
                    ten = Some(distinct);
                }
                Ok(vec![m])
            })?;
        }
        let per_row = started.elapsed() / 2;
        let data = ten.map(|distinct| KeyedTopic {
            name: "clean10",
            distinct,
            segment_bytes,
        });
        self.latency_rows(report, &big, data.as_ref(), 1)?;
        // The small-map row costs about one row and a half; the 3-broker cluster writes
        // its data with three replicas and cleans it three times before its two windows.
        let needed = per_row * 4 + Duration::from_secs(60);
        let left = self.budget.saturating_sub(self.started.elapsed());
        let rf3 = left > needed;
        if !rf3 {
            eprintln!("cleaner: {left:?} of the budget left, a 3-broker cluster needs ~{needed:?}: acks=all on the single broker");
            self.latency_rows(report, &big, data.as_ref(), -1)?;
        }
        drop(big);
        self.small_map(report, segment_bytes)?;
        if rf3 {
            self.replicated_latency(report, segment_bytes)?;
        }
        Ok(())
    }

    /// A size (or a time) times `--scale`, at least `min`.
    fn scaled(&self, value: u64, min: u64) -> u64 {
        ((value as f64 * self.scale) as u64).max(min)
    }

    /// The 10% throughput case on a broker whose key map takes a fraction of the keys.
    fn small_map(&self, report: &mut Report, segment_bytes: u64) -> Result<()> {
        let map = self.scaled(SMALL_MAP, 64 << 10);
        let name = throughput_name(0.1, Some(map));
        self.run(report, &name, 1, || {
            let small = Brokers::start(self, "bench-cleaner-small", 1, map, true)?;
            let spec = DirtyLog {
                topic: "clean10small",
                dup: 0.1,
                records: self.n(RECORDS),
                segment_bytes,
            };
            Ok(vec![throughput(self, &small, &name, &spec)?.0])
        })
    }

    /// Three brokers, a compacted RF3 topic written for the purpose, acks=all latency.
    fn replicated_latency(&self, report: &mut Report, segment_bytes: u64) -> Result<()> {
        let name = latency_name(-1, true);
        let three = match Brokers::start(self, "bench-cleaner3", 3, DEFAULT_MAP, false) {
            Ok(b) => b,
            Err(e) => {
                let mut m = Measurement::new(name, 3);
                m.pass = Some(false);
                m.note = format!("error: {e:#}");
                return report.add(m);
            }
        };
        let bs = three.bootstrap.clone();
        let mut data = None;
        self.run(
            report,
            "cleaner RF3: writing the compacted topic",
            3,
            || {
                let spec = DirtyLog {
                    topic: "clean10rf3",
                    dup: 0.1,
                    records: self.n(RECORDS),
                    segment_bytes,
                };
                let (distinct, _) = write_keyed(&bs, &spec, 3)?;
                data = Some(KeyedTopic {
                    name: spec.topic,
                    distinct,
                    segment_bytes,
                });
                // No row of its own: only a failure is recorded.
                Ok(Vec::new())
            },
        )?;
        self.latency_rows(report, &three, data.as_ref(), -1)
    }

    /// The fixed-rate rows beside a busy cleaner, and the same load with it idle.
    fn latency_rows(
        &self,
        report: &mut Report,
        brokers: &Brokers,
        data: Option<&KeyedTopic>,
        acks: i32,
    ) -> Result<()> {
        let plain = plain_latency(report, acks);
        let n = brokers.target.broker_count();
        self.run(report, &latency_name(acks, true), n, || {
            let data = data.context("the topic to keep the cleaner busy was not written")?;
            beside_cleaning(self, brokers, data, acks, plain.as_deref())
        })
    }
}

fn throughput_name(dup: f64, small_map: Option<u64>) -> String {
    let base = format!(
        "cleaner throughput, 1 KiB records, {:.0}% duplicate keys",
        dup * 100.0
    );
    match small_map {
        Some(bytes) if bytes % (1 << 20) == 0 => format!("{base}, {} MiB key map", bytes >> 20),
        Some(bytes) => format!("{base}, {} KiB key map", bytes >> 10),
        None => base,
    }
}

/// `acks` as the row names spell it.
fn acks_label(acks: i32) -> String {
    if acks < 0 {
        "all".into()
    } else {
        acks.to_string()
    }
}

fn latency_name(acks: i32, busy: bool) -> String {
    let acks = acks_label(acks);
    let cleaner = if busy {
        "log cleaner busy"
    } else {
        "log cleaner idle, same writer"
    };
    format!("latency {LATENCY_RATE} msg/s acks={acks}, {LATENCY_BYTES} B, {cleaner}")
}

/// The latency row of this run without cleaner or writer, for the notes.
fn plain_latency(report: &Report, acks: i32) -> Option<String> {
    let acks = acks_label(acks);
    let name = format!("latency {LATENCY_RATE} msg/s acks={acks}, {LATENCY_BYTES} B");
    let m = report.find(&name)?;
    let [p50, p99, p999, _] = m.latency_us?;
    let ms = |us: u64| us as f64 / 1000.0;
    Some(format!(
        "this run's '{name}' row ({} broker(s), no cleaner, no writer): p50/p99/p99.9 {:.2}/{:.2}/{:.2} ms",
        m.brokers,
        ms(p50),
        ms(p99),
        ms(p999)
    ))
}

/// Brokers with the cleaner's lines in their logs, each in a memory cgroup of its own.
struct Brokers {
    target: Target,
    bootstrap: String,
    /// One per broker; empty when no memory cgroup could be made (`settings` says why).
    caps: Vec<MemoryCap>,
    /// The broker settings and the command, for every row.
    settings: String,
    dedupe_bytes: u64,
}

impl Brokers {
    /// With `fill`, the cgroup is filled with clean pages before anything is measured.
    fn start(
        s: &Suite,
        name: &str,
        brokers: i32,
        dedupe_bytes: u64,
        fill: bool,
    ) -> Result<Brokers> {
        let dedupe = dedupe_bytes.to_string();
        let mut extra = vec![
            ("log.cleaner.enable", "true"),
            ("log.cleaner.threads", "1"),
            ("log.cleaner.backoff.ms", BACKOFF_MS),
            ("log.cleaner.dedupe.buffer.size", dedupe.as_str()),
        ];
        if brokers > 1 {
            extra.push(("min.insync.replicas", "2"));
        }
        let mut target = Target::start_logging_cleaner(name, brokers, &s.broker_bin, &extra)?;
        let bootstrap = target.bootstrap();
        let mut caps = Vec::new();
        let mut cap_note = format!(
            "each broker in a {} MiB memory cgroup",
            CLEANER_CACHE_CAP >> 20
        );
        for (i, pid) in target.pids().into_iter().enumerate() {
            match MemoryCap::apply(&format!("{name}-{}", i + 1), &[pid], CLEANER_CACHE_CAP) {
                Ok(cap) => caps.push(cap),
                Err(e) => {
                    caps.clear();
                    cap_note = format!("memory cgroup skipped, page cache not capped: {e:#}");
                    break;
                }
            }
        }
        if fill && !caps.is_empty() {
            // 10% more than the cgroup holds, in 1 KiB records: every page recycled.
            let records = s.n(CLEANER_CACHE_CAP / KIB as u64 * 11 / 10);
            suite::fill_page_cache(&bootstrap, "fill", records)?;
            cap_note.push_str(", filled with clean pages first");
        }
        let settings: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(Brokers {
            target,
            bootstrap,
            caps,
            settings: format!(
                "broker: {}; {cap_note}; command: {}",
                settings.join(", "),
                s.command
            ),
            dedupe_bytes,
        })
    }

    fn broker(&self, i: usize) -> &BrokerProcess {
        &self.target.brokers()[i]
    }
}

/// Keys of the cleaner's topics: each record repeats, with probability `dup`, a key drawn
/// uniformly from those written before it, else takes a new one, so that repeats are spread
/// through the whole log and most batches lose some records (the hard case: few batches are
/// dropped or kept whole). Seeded (splitmix64), so a run writes the same keys every time.
struct KeyGen {
    state: u64,
    dup: f64,
    /// Keys handed out so far are `0..distinct`.
    distinct: u64,
}

impl KeyGen {
    fn new(dup: f64, seed: u64) -> KeyGen {
        KeyGen {
            state: seed,
            dup,
            distinct: 0,
        }
    }

    /// Updates only: every key is one of `0..keys`.
    fn updates(keys: u64, seed: u64) -> KeyGen {
        KeyGen {
            state: seed,
            dup: 1.0,
            distinct: keys,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn next_key(&mut self) -> u64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if self.distinct > 0 && unit < self.dup {
            // Uniform in 0..distinct by a 128-bit multiply (no modulo bias worth a thought).
            ((u128::from(self.next_u64()) * u128::from(self.distinct)) >> 64) as u64
        } else {
            self.distinct += 1;
            self.distinct - 1
        }
    }
}

fn write_key(id: u64, buf: &mut Vec<u8>) {
    let _ = write!(ByteWriter(buf), "key-{id:012}");
}

/// `fmt::Write` into a byte buffer.
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A topic to clean: `records` 1 KiB records, `dup` of them repeating an earlier key.
struct DirtyLog<'a> {
    topic: &'a str,
    dup: f64,
    records: u64,
    segment_bytes: u64,
}

/// A compacted topic written with [`KeyGen`]: its keys are `0..distinct`.
struct KeyedTopic {
    name: &'static str,
    distinct: u64,
    segment_bytes: u64,
}

/// The topic's configs without cleaning (and no deletion either).
fn uncleaned(segment_bytes: &str, segment_ms: Option<&str>) -> Vec<(&'static str, String)> {
    let mut c = vec![
        ("cleanup.policy", "delete".to_string()),
        ("retention.ms", "-1".to_string()),
        ("segment.bytes", segment_bytes.to_string()),
    ];
    if let Some(ms) = segment_ms {
        c.push(("segment.ms", ms.to_string()));
    }
    c
}

/// The topic's configs compacted: a cleaning starts once `ratio` of the log is dirty.
fn compacted(
    segment_bytes: &str,
    segment_ms: Option<&str>,
    ratio: &str,
) -> Vec<(&'static str, String)> {
    let mut c = uncleaned(segment_bytes, segment_ms);
    c[0].1 = "compact".into();
    c.push(("min.cleanable.dirty.ratio", ratio.to_string()));
    c.push(("min.compaction.lag.ms", "0".to_string()));
    c
}

fn pairs<'a>(c: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    c.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Creates the topic (not cleaned) and writes its records at full speed; the distinct keys
/// written and the seconds it took.
fn write_keyed(bs: &str, spec: &DirtyLog<'_>, rf: i32) -> Result<(u64, f64)> {
    let configs = uncleaned(&spec.segment_bytes.to_string(), None);
    client::create_topic_with(bs, spec.topic, 1, rf, &pairs(&configs))?;
    let mut keys = KeyGen::new(spec.dup, 0x0063_6c65_616e_6572);
    let mut key = |_: u64, buf: &mut Vec<u8>| write_key(keys.next_key(), buf);
    let acks = if rf > 1 { -1 } else { 1 };
    let mut load = suite::full_speed(spec.records, KIB);
    // A gigabyte with three replicas on two cores may take longer than a scenario's minute.
    load.max_time = CLEAN_DEADLINE;
    let extra = Extra {
        keys: Some(&mut key),
        stop: None,
    };
    let config = client::producer_config(bs, acks, 5);
    let out = client::produce_with(&config, spec.topic, &load, |_| 0, extra)?;
    if out.delivered != spec.records {
        bail!(
            "writing {}: {} of {} records acknowledged ({:?})",
            spec.topic,
            out.delivered,
            spec.records,
            out.first_error
        );
    }
    Ok((keys.distinct, out.seconds))
}

/// Seals the active segment of a single-replica topic (`segment.ms=1`, then records with
/// keys of their own until a new segment appears), so that all the data is cleanable.
/// Returns the new active segment's base offset and how many of those records are sealed.
fn roll_active(bs: &str, broker: &BrokerProcess, spec: &DirtyLog<'_>) -> Result<(i64, u64)> {
    let dir = broker.partition_dir(spec.topic, 0);
    let active = |dir| -> Result<i64> {
        Ok(cleaner_log::segments(dir)?
            .last()
            .map_or(0, |s| s.base_offset))
    };
    let before = active(&dir)?;
    let configs = uncleaned(&spec.segment_bytes.to_string(), Some("1"));
    client::alter_topic(bs, spec.topic, &pairs(&configs))?;
    let config = client::producer_config(bs, 1, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0u64;
    loop {
        let id = sent;
        let mut key = |_: u64, buf: &mut Vec<u8>| {
            let _ = write!(ByteWriter(buf), "roll-{id}");
        };
        let extra = Extra {
            keys: Some(&mut key),
            stop: None,
        };
        let out = client::produce_with(
            &config,
            spec.topic,
            &suite::full_speed(1, KIB),
            |_| 0,
            extra,
        )?;
        anyhow::ensure!(
            out.delivered == 1,
            "a record to roll the segment failed: {:?}",
            out.first_error
        );
        let now = active(&dir)?;
        if now > before {
            // The record that rolled it is the new segment's first.
            return Ok((now, sent));
        }
        sent += 1;
        if Instant::now() > deadline {
            bail!(
                "{}: no new segment after {sent} records with segment.ms=1",
                spec.topic
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// What writing a topic to clean left behind.
struct Written {
    distinct: u64,
    write_s: f64,
    /// The active segment's base: everything below is sealed and dirty.
    active_base: i64,
    /// Records with keys of their own that rolled the last segment and were sealed.
    roll_records: u64,
    dirty_bytes: u64,
    dirty_segments: usize,
}

/// One cleaning of a whole dirty section, measured.
struct Cleaned {
    /// The cleanings logged, in order; the last moved the checkpoint to the active segment.
    passes: Vec<Cleaning>,
    /// From the AlterConfigs to that last pass's line.
    wall: Duration,
    /// The cleaner thread's utime and stime over the cleaning, seconds.
    cleaner_user_s: f64,
    cleaner_sys_s: f64,
    usage: Option<UsageDelta>,
    rss_before_mib: f64,
}

/// One throughput row: writes `spec` without cleaning, seals it, `sync`s, switches it to
/// compact and measures the cleaning. Returns the row and the distinct keys written.
fn throughput(
    s: &Suite,
    b: &Brokers,
    name: &str,
    spec: &DirtyLog<'_>,
) -> Result<(Measurement, u64)> {
    let broker = b.broker(0);
    let (distinct, write_s) = write_keyed(&b.bootstrap, spec, 1)?;
    let (active_base, roll_records) = roll_active(&b.bootstrap, broker, spec)?;
    suite::sync()?;
    let segments = cleaner_log::segments(&broker.partition_dir(spec.topic, 0))?;
    let dirty: Vec<_> = segments
        .iter()
        .filter(|seg| seg.base_offset < active_base)
        .collect();
    let written = Written {
        distinct,
        write_s,
        active_base,
        roll_records,
        dirty_bytes: dirty.iter().map(|seg| seg.bytes).sum(),
        dirty_segments: dirty.len(),
    };
    let cleaned = clean_whole(b, spec, active_base)?;
    let m = throughput_row(s, b, name, spec, &written, &cleaned)?;
    Ok((m, distinct))
}

/// Switches the topic to compact and waits until its whole dirty section is clean.
fn clean_whole(b: &Brokers, spec: &DirtyLog<'_>, active_base: i64) -> Result<Cleaned> {
    let broker = b.broker(0);
    let pid = broker.pid().context("the broker is not running")?;
    let tid = target::find_thread(pid, CLEANER_THREAD)?;
    let seen = cleaner_log::cleanings(&broker.log_file(), spec.topic)?.len();
    let rss_before_mib = target::sample(pid)?.rss_kib as f64 / 1024.0;
    let usage = Usage::start(vec![pid]);
    let cpu_before = target::thread_times(pid, tid)?;
    let started = Instant::now();
    let configs = compacted(&spec.segment_bytes.to_string(), None, "0.01");
    client::alter_topic(&b.bootstrap, spec.topic, &pairs(&configs))?;
    let passes = wait_checkpoint(broker, spec.topic, active_base, seen)?;
    let wall = started.elapsed();
    let cpu_after = target::thread_times(pid, tid)?;
    let seconds =
        |after: u64, before: u64| after.saturating_sub(before) as f64 / target::clock_ticks();
    Ok(Cleaned {
        passes,
        wall,
        cleaner_user_s: seconds(cpu_after.0, cpu_before.0),
        cleaner_sys_s: seconds(cpu_after.1, cpu_before.1),
        usage: usage.finish(),
        rss_before_mib,
    })
}

/// Waits until the cleaner's checkpoint of `topic`-0 reaches `offset` and the pass that
/// moved it there has logged its line (right after writing the checkpoint, so its time is
/// not before the file's); returns the cleanings logged after the first `seen`, up to that
/// pass.
fn wait_checkpoint(
    broker: &BrokerProcess,
    topic: &str,
    offset: i64,
    seen: usize,
) -> Result<Vec<Cleaning>> {
    let deadline = Instant::now() + CLEAN_DEADLINE;
    loop {
        let checkpoint = cleaner_log::checkpoint(&broker.log_dir(), topic, 0)?;
        let mut new = cleaner_log::cleanings(&broker.log_file(), topic)?;
        new.drain(..seen.min(new.len()));
        if let Some((_, written)) = checkpoint.filter(|(at, _)| *at >= offset) {
            if let Some(last) = new.iter().position(|c| c.at >= written) {
                new.truncate(last + 1);
                return Ok(new);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "{topic}: the cleaner's checkpoint is at {:?}, not {offset}, after {CLEAN_DEADLINE:?}; \
                 {} cleaning(s) logged, the last {:?}",
                checkpoint.map(|(at, _)| at),
                new.len(),
                new.last()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// The row of one throughput scenario, and its correctness check: the last pass kept one
/// record per distinct key of the sealed section.
fn throughput_row(
    s: &Suite,
    b: &Brokers,
    name: &str,
    spec: &DirtyLog<'_>,
    w: &Written,
    c: &Cleaned,
) -> Result<Measurement> {
    let last = c.passes.last().context("no cleaning logged")?;
    let sum = |f: fn(&Cleaning) -> u64| c.passes.iter().map(f).sum::<u64>();
    let cleaning_s = (sum(|p| p.ms) as f64 / 1000.0).max(1e-3);
    let (read, wrote) = (sum(|p| p.read_bytes), sum(|p| p.written_bytes));
    let records_read = sum(|p| p.records_read);
    let map_bytes = c.passes.iter().map(|p| p.map_bytes).max().unwrap_or(0);
    let expected = w.distinct + w.roll_records;
    let correct = last.records_kept == expected && last.swapped;
    let dirty_gb = w.dirty_bytes as f64 / 1e9;
    let broker_cpu = c.usage.map_or(0.0, |u| u.cpu_s);
    let cpu = c.cleaner_user_s + c.cleaner_sys_s;
    let peak = c.usage.map_or(0.0, |u| u.peak_rss_mib);
    let mut m = Measurement::new(name, 1);
    m.record_bytes = Some(KIB);
    m.messages = Some(spec.records);
    m.seconds = Some(cleaning_s);
    m.bytes_per_s = Some(w.dirty_bytes as f64 / cleaning_s);
    m.own_work = true;
    m.volume_bytes = Some(w.dirty_bytes);
    m.usage = c.usage;
    m.pass = Some(correct);
    m.note = format!(
        "1 partition, {dup:.0}% of records repeat an earlier key drawn uniformly; {dirty:.0} MB dirty \
         in {segs} segments of {seg:.0} MiB, cleaned in {passes} pass(es): {cleaning_s:.2} s of \
         cleaning by the lines' ms ({wall:.2} s from AlterConfigs to the last checkpoint) = \
         {rate:.0} dirty MB/s; read {read:.0} MB ({read_rate:.0} MB/s), wrote {wrote:.0} MB; \
         {CLEANER_THREAD} {cpu:.2} CPU-s ({user:.2} user, {sys:.2} sys) = {cpu_gb:.2} CPU-s/GB \
         dirty, whole broker {broker_cpu:.2} \
         CPU-s = {broker_gb:.2}/GB; records read {records_read} (all passes), kept {kept} by the \
         last, distinct keys written {expected}{rolls} ({verdict}); key map {map:.1} MiB of the \
         {dedupe:.1} MiB dedupe buffer, peak RSS {peak:.1} MiB ({before:.1} MiB before); data \
         written in {write_s:.1} s; {settings}",
        dup = spec.dup * 100.0,
        dirty = mb(w.dirty_bytes),
        segs = w.dirty_segments,
        seg = mib(spec.segment_bytes),
        passes = c.passes.len(),
        wall = c.wall.as_secs_f64(),
        rate = mb(w.dirty_bytes) / cleaning_s,
        read = mb(read),
        read_rate = mb(read) / cleaning_s,
        wrote = mb(wrote),
        user = c.cleaner_user_s,
        sys = c.cleaner_sys_s,
        cpu_gb = cpu / dirty_gb,
        broker_gb = broker_cpu / dirty_gb,
        kept = last.records_kept,
        rolls = if w.roll_records > 0 {
            format!(" (with {} that rolled the last segment)", w.roll_records)
        } else {
            String::new()
        },
        verdict = if correct { "equal" } else { "MISMATCH" },
        map = mib(map_bytes),
        dedupe = mib(b.dedupe_bytes),
        before = c.rss_before_mib,
        write_s = w.write_s,
        settings = b.settings,
    );
    m.extra = vec![
        ("dirty_bytes", json!(w.dirty_bytes)),
        ("dirty_segments", json!(w.dirty_segments)),
        ("active_segment_base", json!(w.active_base)),
        ("segment_bytes", json!(spec.segment_bytes)),
        ("duplicate_share", json!(spec.dup)),
        ("passes", json!(c.passes.len())),
        ("cleaning_s", json!(cleaning_s)),
        ("wall_s", json!(c.wall.as_secs_f64())),
        ("dirty_mb_per_s", json!(mb(w.dirty_bytes) / cleaning_s)),
        ("read_bytes", json!(read)),
        ("written_bytes", json!(wrote)),
        ("cleaner_cpu_s", json!(cpu)),
        ("cleaner_user_s", json!(c.cleaner_user_s)),
        ("cleaner_sys_s", json!(c.cleaner_sys_s)),
        ("cleaner_cpu_s_per_gb", json!(cpu / dirty_gb)),
        ("records_read", json!(records_read)),
        ("records_kept", json!(last.records_kept)),
        ("distinct_keys", json!(expected)),
        ("map_bytes", json!(map_bytes)),
        ("dedupe_buffer_bytes", json!(b.dedupe_bytes)),
        ("rss_before_mib", json!(c.rss_before_mib)),
        ("memory_cgroup", json!(!b.caps.is_empty())),
        (
            "cleanings",
            json!(c.passes.iter().map(pass_json).collect::<Vec<_>>()),
        ),
        ("settings", json!(b.settings)),
        ("scale", json!(s.scale)),
    ];
    Ok(m)
}

fn pass_json(p: &Cleaning) -> serde_json::Value {
    json!({
        "read_bytes": p.read_bytes,
        "written_bytes": p.written_bytes,
        "records_read": p.records_read,
        "records_kept": p.records_kept,
        "keys": p.keys,
        "map_bytes": p.map_bytes,
        "ms": p.ms,
        "swapped": p.swapped,
    })
}

/// The two latency rows: the fixed-rate load to a topic of its own while a writer updates
/// keys of `data`, first with `data` not compacted (the cleaner idle), then compacted with
/// every new segment worth a cleaning, once each broker has finished its first cleaning.
fn beside_cleaning(
    s: &Suite,
    b: &Brokers,
    data: &KeyedTopic,
    acks: i32,
    plain: Option<&str>,
) -> Result<Vec<Measurement>> {
    let bs = b.bootstrap.as_str();
    let rf = b.target.broker_count() as i32;
    let segment_bytes = data.segment_bytes.to_string();
    let roll_ms = s.scaled(WRITER_SEGMENT_MS, 100);
    let segment_ms = roll_ms.to_string();
    let idle_configs = uncleaned(&segment_bytes, Some(&segment_ms));
    client::alter_topic(bs, data.name, &pairs(&idle_configs))?;
    let acks_name = acks_label(acks);
    let topics = [
        format!("latidle-a{acks_name}"),
        format!("latbusy-a{acks_name}"),
    ];
    for topic in &topics {
        client::create_topic(bs, topic, 1, rf)?;
        suite::warm_up(bs, topic, acks)?;
    }
    let stop = AtomicBool::new(false);
    let (rows, writer) = thread::scope(|scope| {
        let writer = scope.spawn(|| background_writer(bs, data, &stop));
        let rows = (|| -> Result<Vec<Measurement>> {
            let idle = window(s, b, &topics[0], data.name, acks, false)?;
            let seen = cleanings_per_broker(b, data.name)?;
            let busy_configs = compacted(&segment_bytes, Some(&segment_ms), "0");
            client::alter_topic(bs, data.name, &pairs(&busy_configs))?;
            wait_new_cleaning(b, data.name, &seen)?;
            let busy = window(s, b, &topics[1], data.name, acks, true)?;
            Ok(vec![idle, busy])
        })();
        stop.store(true, Ordering::Relaxed);
        let writer = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))
            .and_then(|r| r);
        (rows, writer)
    });
    let (mut rows, writer) = (rows?, writer?);
    let log_bytes: u64 = cleaner_log::segments(&b.broker(0).partition_dir(data.name, 0))?
        .iter()
        .map(|seg| seg.bytes)
        .sum();
    for m in &mut rows {
        m.note.push_str(&format!(
            "; beside it a writer updated keys of a {:.0} MB topic ({} keys, 1 KiB values, \
             segment.ms={segment_ms}, min.cleanable.dirty.ratio=0 when compacted) at \
             {WRITER_RATE} msg/s, acks=1: {} records over both rows, {} errors",
            mb(log_bytes),
            data.distinct,
            writer.delivered,
            writer.errors
        ));
        if let Some(plain) = plain {
            m.note.push_str(&format!("; compare with {plain}"));
        }
        m.note.push_str(&format!("; {}", b.settings));
        m.extra.push(("settings", json!(b.settings)));
        m.extra.push(("writer_rate", json!(WRITER_RATE)));
        m.extra.push(("writer_segment_ms", json!(roll_ms)));
        m.extra.push(("compacted_topic_bytes", json!(log_bytes)));
        m.extra.push(("memory_cgroup", json!(!b.caps.is_empty())));
        m.extra.push(("scale", json!(s.scale)));
    }
    Ok(rows)
}

/// Updates keys of `data` (uniformly drawn, 1 KiB values) at [`WRITER_RATE`] until `stop`.
fn background_writer(bs: &str, data: &KeyedTopic, stop: &AtomicBool) -> Result<ProduceOutcome> {
    let mut keys = KeyGen::updates(data.distinct, 0x7772_6974_6572);
    let mut key = |_: u64, buf: &mut Vec<u8>| write_key(keys.next_key(), buf);
    let load = Load {
        count: u64::MAX,
        size: KIB,
        pace: Pace::Rate(WRITER_RATE),
        // Ended by `stop`; this only bounds a harness that failed to set it.
        max_time: Duration::from_secs(1800),
        ack_latency: false,
        stamp: None,
    };
    let extra = Extra {
        keys: Some(&mut key),
        stop: Some(stop),
    };
    client::produce_with(
        &client::producer_config(bs, 1, 5),
        data.name,
        &load,
        |_| 0,
        extra,
    )
}

/// How many cleanings of `topic` each broker has logged.
fn cleanings_per_broker(b: &Brokers, topic: &str) -> Result<Vec<usize>> {
    b.target
        .brokers()
        .iter()
        .map(|broker| Ok(cleaner_log::cleanings(&broker.log_file(), topic)?.len()))
        .collect()
}

/// Waits until every broker logged a cleaning of `topic` beyond the `seen` ones.
fn wait_new_cleaning(b: &Brokers, topic: &str, seen: &[usize]) -> Result<()> {
    let deadline = Instant::now() + CLEAN_DEADLINE;
    loop {
        let now = cleanings_per_broker(b, topic)?;
        if now.iter().zip(seen).all(|(n, s)| n > s) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{topic}: cleanings logged per broker {now:?}, {seen:?} before, after {CLEAN_DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// One latency window: the latency rows' load to `topic`, with each broker's cleaner thread
/// CPU over the window and the share of it that cleanings of `data_topic` spanned (by their
/// lines; with `busy`, after the cleaning under way at the window's end has logged).
fn window(
    s: &Suite,
    b: &Brokers,
    topic: &str,
    data_topic: &str,
    acks: i32,
    busy: bool,
) -> Result<Measurement> {
    let pids = b.target.pids();
    let tids = pids
        .iter()
        .map(|&pid| target::find_thread(pid, CLEANER_THREAD))
        .collect::<Result<Vec<_>>>()?;
    let cpu = || -> Result<Vec<u64>> {
        pids.iter()
            .zip(&tids)
            .map(|(&pid, &tid)| target::thread_cpu_ticks(pid, tid))
            .collect()
    };
    let load = Load {
        count: s.n(LATENCY_RATE * 10),
        size: LATENCY_BYTES,
        pace: Pace::Rate(LATENCY_RATE),
        max_time: SCENARIO_MAX,
        ack_latency: true,
        stamp: None,
    };
    let before = cpu()?;
    let (from, started) = (SystemTime::now(), Instant::now());
    let name = latency_name(acks, busy);
    let mut m = suite::produce(&b.target, &name, &b.bootstrap, topic, acks, &load, |_| 0)?;
    let (to, secs) = (SystemTime::now(), started.elapsed().as_secs_f64());
    let after = cpu()?;
    let ticks = target::clock_ticks();
    let busy_share: Vec<f64> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.saturating_sub(*b) as f64 / ticks / secs)
        .collect();
    let spans = b
        .target
        .brokers()
        .iter()
        .map(|broker| spanned(broker, data_topic, from, to, busy))
        .collect::<Result<Vec<_>>>()?;
    let percents = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{:.0}", 100.0 * x))
            .collect::<Vec<_>>()
            .join("/")
    };
    let shares: Vec<f64> = spans.iter().map(|s| s.share).collect();
    let counts: Vec<String> = spans.iter().map(|s| s.cleanings.to_string()).collect();
    let read: u64 = spans.iter().map(|s| s.read_bytes).sum();
    let cleanings: usize = spans.iter().map(|s| s.cleanings).sum();
    m.note = format!(
        "cleaner busy: on CPU {}% of the window ({CLEANER_THREAD} utime+stime / the {secs:.1} s \
         window{per}), inside a cleaning of the compacted topic {}% of it ({} cleaning(s){per}, \
         {:.0} MB read each on average, by the broker's \"cleaned log\" lines); {}",
        percents(&busy_share),
        percents(&shares),
        counts.join("/"),
        mb(read) / cleanings.max(1) as f64,
        m.note,
        per = if pids.len() > 1 { ", per broker" } else { "" },
    );
    m.extra = vec![
        ("cleaner_cpu_share", json!(busy_share)),
        ("cleaning_span_share", json!(shares)),
        (
            "cleanings_in_window",
            json!(spans.iter().map(|s| s.cleanings).collect::<Vec<_>>()),
        ),
        ("window_s", json!(secs)),
    ];
    Ok(m)
}

/// Cleanings of one broker that overlapped a window.
struct Spanned {
    /// Share of the window inside a cleaning.
    share: f64,
    cleanings: usize,
    read_bytes: u64,
}

fn spanned(
    broker: &BrokerProcess,
    topic: &str,
    from: SystemTime,
    to: SystemTime,
    wait_for_end: bool,
) -> Result<Spanned> {
    let deadline = Instant::now() + CLEAN_DEADLINE;
    let all = loop {
        let all = cleaner_log::cleanings(&broker.log_file(), topic)?;
        if !wait_for_end || all.iter().any(|c| c.at >= to) {
            break all;
        }
        if Instant::now() > deadline {
            bail!("{topic}: no cleaning ended within {CLEAN_DEADLINE:?} of the window's end");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let window = to.duration_since(from).unwrap_or_default().as_secs_f64();
    let mut out = Spanned {
        share: 0.0,
        cleanings: 0,
        read_bytes: 0,
    };
    for c in &all {
        let (start, end) = c.span();
        let overlap = end
            .min(to)
            .duration_since(start.max(from))
            .unwrap_or_default();
        if overlap > Duration::ZERO {
            out.share += overlap.as_secs_f64() / window.max(1e-9);
            out.cleanings += 1;
            out.read_bytes += c.read_bytes;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_repeats_follow_the_duplicate_share() {
        for (dup, seed) in [(0.1, 1), (0.9, 2)] {
            let mut keys = KeyGen::new(dup, seed);
            let n = 100_000u64;
            for i in 0..n {
                let before = keys.distinct;
                let k = keys.next_key();
                assert!(
                    k < keys.distinct,
                    "record {i}: key {k} of {}",
                    keys.distinct
                );
                assert!(
                    keys.distinct == before || k == before,
                    "a new key is the next id"
                );
            }
            let repeats = (n - keys.distinct) as f64 / n as f64;
            assert!((repeats - dup).abs() < 0.01, "dup {dup}: {repeats}");
        }
        let mut updates = KeyGen::updates(50, 3);
        assert!((0..1000).all(|_| updates.next_key() < 50));
        let mut key = Vec::new();
        write_key(42, &mut key);
        assert_eq!(key, b"key-000000000042");
    }
}
