//! Results: one JSON line each as they come (stdout and `results.jsonl`), and a Markdown table
//! of them all at the end (`results.md`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::target::UsageDelta;

/// The machine's own ceilings, measured in the same run (bytes per second).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ceilings {
    pub tcp_loopback: f64,
    pub file_write: f64,
}

/// One measured result; absent figures are left out of the JSON and shown as "-".
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    pub scenario: String,
    pub brokers: usize,
    pub acks: Option<i32>,
    pub record_bytes: Option<usize>,
    pub messages: Option<u64>,
    pub seconds: Option<f64>,
    /// Payload bytes per second.
    pub bytes_per_s: Option<f64>,
    /// Latency percentiles in microseconds: p50, p99, p99.9, max.
    pub latency_us: Option<[u64; 4]>,
    pub usage: Option<UsageDelta>,
    /// Bytes the CPU-per-GB figure refers to (produced or consumed payload).
    pub volume_bytes: Option<u64>,
    pub pass: Option<bool>,
    pub errors: u64,
    pub note: String,
    /// `bytes_per_s` is work the broker did on its own (the log cleaner), not a transfer: no
    /// ratio to the ceilings.
    pub own_work: bool,
    /// Figures of this scenario alone, added to its JSON line (not to the table).
    pub extra: Vec<(&'static str, Value)>,
}

impl Measurement {
    pub fn new(scenario: impl Into<String>, brokers: usize) -> Measurement {
        Measurement {
            scenario: scenario.into(),
            brokers,
            ..Measurement::default()
        }
    }

    fn msgs_per_s(&self) -> Option<f64> {
        match (self.messages, self.seconds) {
            (Some(m), Some(s)) if s > 0.0 => Some(m as f64 / s),
            _ => None,
        }
    }

    fn cpu_per_gb(&self) -> Option<f64> {
        self.per_gb(|u| u.cpu_s)
    }

    fn client_cpu_per_gb(&self) -> Option<f64> {
        self.per_gb(|u| u.client_cpu_s)
    }

    fn per_gb(&self, cpu: impl Fn(&UsageDelta) -> f64) -> Option<f64> {
        match (self.usage, self.volume_bytes) {
            (Some(u), Some(v)) if v > 0 => Some(cpu(&u) / (v as f64 / 1e9)),
            _ => None,
        }
    }

    pub fn to_json(&self, ceilings: Ceilings) -> Value {
        let mut m = Map::new();
        m.insert("scenario".into(), json!(self.scenario));
        m.insert("brokers".into(), json!(self.brokers));
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("acks", self.acks.map(|v| json!(v)));
        put("record_bytes", self.record_bytes.map(|v| json!(v)));
        put("messages", self.messages.map(|v| json!(v)));
        put("seconds", self.seconds.map(|v| json!(round(v, 3))));
        put("msgs_per_s", self.msgs_per_s().map(|v| json!(v.round())));
        put(
            "mb_per_s",
            self.bytes_per_s.map(|v| json!(round(v / 1e6, 1))),
        );
        put(
            "ratio_tcp_loopback",
            self.bytes_per_s
                .filter(|_| ceilings.tcp_loopback > 0.0 && !self.own_work)
                .map(|v| json!(round(v / ceilings.tcp_loopback, 3))),
        );
        put(
            "ratio_file_write",
            self.bytes_per_s
                .filter(|_| ceilings.file_write > 0.0 && !self.own_work)
                .map(|v| json!(round(v / ceilings.file_write, 3))),
        );
        if let Some([p50, p99, p999, max]) = self.latency_us {
            put("p50_us", Some(json!(p50)));
            put("p99_us", Some(json!(p99)));
            put("p999_us", Some(json!(p999)));
            put("max_us", Some(json!(max)));
        }
        put("broker_cpu_s", self.usage.map(|u| json!(round(u.cpu_s, 2))));
        put(
            "cpu_s_per_gb",
            self.cpu_per_gb().map(|v| json!(round(v, 2))),
        );
        put(
            "client_cpu_s",
            self.usage.map(|u| json!(round(u.client_cpu_s, 2))),
        );
        put(
            "client_cpu_s_per_gb",
            self.client_cpu_per_gb().map(|v| json!(round(v, 2))),
        );
        put(
            "peak_rss_mib",
            self.usage.map(|u| json!(round(u.peak_rss_mib, 1))),
        );
        put("pass", self.pass.map(|v| json!(v)));
        put("errors", (self.errors > 0).then(|| json!(self.errors)));
        put("note", (!self.note.is_empty()).then(|| json!(self.note)));
        for (k, v) in &self.extra {
            m.insert((*k).into(), v.clone());
        }
        Value::Object(m)
    }

    fn table_row(&self, ceilings: Ceilings) -> String {
        let f = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let lat = |i: usize| {
            self.latency_us
                .map(|l| format!("{:.2}", l[i] as f64 / 1000.0))
        };
        let cells = [
            self.scenario.clone(),
            self.brokers.to_string(),
            f(self
                .acks
                .map(|a| if a < 0 { "all".into() } else { a.to_string() })),
            f(self.record_bytes.map(|b| b.to_string())),
            f(self.messages.map(|m| m.to_string())),
            f(self.msgs_per_s().map(|v| format!("{v:.0}"))),
            f(self.bytes_per_s.map(|v| format!("{:.1}", v / 1e6))),
            f(self
                .bytes_per_s
                .filter(|_| ceilings.tcp_loopback > 0.0 && !self.own_work)
                .map(|v| format!("{:.1}%", 100.0 * v / ceilings.tcp_loopback))),
            f(lat(0)),
            f(lat(1)),
            f(lat(2)),
            f(lat(3)),
            f(self.usage.map(|u| format!("{:.2}", u.cpu_s))),
            f(self.cpu_per_gb().map(|v| format!("{v:.2}"))),
            f(self.client_cpu_per_gb().map(|v| format!("{v:.2}"))),
            f(self.usage.map(|u| format!("{:.1}", u.peak_rss_mib))),
            match self.pass {
                Some(true) => "PASS".into(),
                Some(false) => "FAIL".into(),
                None if self.errors > 0 => format!("{} errors", self.errors),
                None => "ok".into(),
            },
            self.note.clone(),
        ];
        format!("| {} |", cells.join(" | "))
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (v * p).round() / p
}

/// Collects results and writes them out.
pub struct Report {
    pub ceilings: Ceilings,
    results: Vec<Measurement>,
    jsonl: File,
    dir: PathBuf,
}

impl Report {
    /// Creates `dir` and truncates `dir/results.jsonl`.
    pub fn create(dir: &Path) -> Result<Report> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("results.jsonl");
        let jsonl = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Report {
            ceilings: Ceilings::default(),
            results: Vec::new(),
            jsonl,
            dir: dir.to_path_buf(),
        })
    }

    /// Prints the result as a JSON line and keeps it for the table.
    pub fn add(&mut self, m: Measurement) -> Result<()> {
        let line = m.to_json(self.ceilings).to_string();
        println!("{line}");
        writeln!(self.jsonl, "{line}").context("writing results.jsonl")?;
        self.results.push(m);
        Ok(())
    }

    /// A raw JSON line (ceilings, machine facts) that is not a table row.
    pub fn add_raw(&mut self, v: Value) -> Result<()> {
        let line = v.to_string();
        println!("{line}");
        writeln!(self.jsonl, "{line}").context("writing results.jsonl")
    }

    /// The result of `scenario` recorded earlier in this run, if any.
    pub fn find(&self, scenario: &str) -> Option<&Measurement> {
        self.results.iter().find(|m| m.scenario == scenario)
    }

    /// The Markdown table of every result so far.
    pub fn table(&self) -> String {
        let mut out = String::new();
        // A run of one scenario group (`bench cleaner`) measures no ceilings.
        if self.ceilings.tcp_loopback > 0.0 {
            out = format!(
                "Ceilings measured in this run: TCP loopback {:.0} MB/s, sequential file write {:.0} MB/s.\n\n",
                self.ceilings.tcp_loopback / 1e6,
                self.ceilings.file_write / 1e6
            );
        }
        out.push_str(
            "| scenario | brokers | acks | record B | messages | msg/s | MB/s | % of loopback | p50 ms | p99 ms | p99.9 ms | max ms | broker CPU s | broker CPU s/GB | client CPU s/GB | peak RSS MiB | result | note |\n",
        );
        out.push_str(&format!("|{}\n", "---|".repeat(18)));
        for r in &self.results {
            out.push_str(&r.table_row(self.ceilings));
            out.push('\n');
        }
        out
    }

    /// Writes `results.md` and returns its path.
    pub fn write_table(&self) -> Result<PathBuf> {
        let path = self.dir.join("results.md");
        fs::write(&path, self.table()).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}
