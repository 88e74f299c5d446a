//! What the bench measures: a cluster it starts itself (a real ZooKeeper and 1 or 3 broker
//! processes, through the integration-test harness), and CPU and memory figures of the broker
//! processes read from `/proc`. (The single-mode subcommands take a bootstrap instead.)

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use tests::broker::BrokerProcess;
use tests::multi::MultiCluster;

/// The brokers under test, started by the bench; killed (by PID, through the harness) when
/// dropped, brokers before ZooKeeper.
pub struct Target {
    cluster: MultiCluster,
}

impl Target {
    /// Starts ZooKeeper and `brokers` brokers (ids 1..=n) from `broker_bin` with `extra`
    /// overrides, and waits until every broker sees every other one.
    pub fn start(
        name: &str,
        brokers: i32,
        broker_bin: &Path,
        extra: &[(&str, &str)],
    ) -> Result<Target> {
        // The harness reads the binary's path from BROKER_BIN.
        std::env::set_var("BROKER_BIN", broker_bin);
        // Brokers log at warn: info logging of every connection would be measured too.
        if std::env::var_os("BROKER_RUST_LOG").is_none() {
            std::env::set_var("BROKER_RUST_LOG", "warn");
        }
        let cluster = MultiCluster::start(name, brokers, extra)
            .with_context(|| format!("starting ZooKeeper and {brokers} broker(s)"))?;
        Ok(Target { cluster })
    }

    /// [`Target::start`] with the log cleaner's info lines in each broker's log ("cleaned
    /// log" after each cleaning, see [`crate::cleaner_log`]); everything else at the usual
    /// level.
    pub fn start_logging_cleaner(
        name: &str,
        brokers: i32,
        broker_bin: &Path,
        extra: &[(&str, &str)],
    ) -> Result<Target> {
        let usual = std::env::var("BROKER_RUST_LOG").unwrap_or_else(|_| "warn".into());
        // The harness hands BROKER_RUST_LOG to the brokers as RUST_LOG when it spawns them.
        std::env::set_var("BROKER_RUST_LOG", format!("{usual},broker::cleaner=info"));
        let started = Target::start(name, brokers, broker_bin, extra);
        std::env::set_var("BROKER_RUST_LOG", usual);
        started
    }

    /// Comma-separated bootstrap servers.
    pub fn bootstrap(&mut self) -> String {
        self.cluster.bootstrap()
    }

    /// PIDs of the broker processes.
    pub fn pids(&self) -> Vec<u32> {
        self.cluster
            .brokers
            .iter()
            .filter_map(|b| b.pid())
            .collect()
    }

    /// ZooKeeper connect string (no chroot).
    pub fn zk_connect(&self) -> String {
        self.cluster.zk.connect_string()
    }

    /// Number of brokers.
    pub fn broker_count(&self) -> usize {
        self.cluster.brokers.len()
    }

    /// The brokers' processes (log file, log dir, partition directories), in id order.
    pub fn brokers(&self) -> &[BrokerProcess] {
        &self.cluster.brokers
    }
}

/// One process's figures from /proc.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// VmHWM: peak resident set since start or the last reset, KiB.
    pub hwm_kib: u64,
    /// VmRSS: current resident set, KiB.
    pub rss_kib: u64,
}

/// utime+stime, in clock ticks, from a `stat` file of /proc (a process's or a thread's).
fn stat_cpu_ticks(path: &str) -> Result<u64> {
    let (user, sys) = stat_times(path)?;
    Ok(user + sys)
}

/// (utime, stime), in clock ticks, from a `stat` file of /proc.
fn stat_times(path: &str) -> Result<(u64, u64)> {
    let stat = fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("malformed {path}"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15 (1-based, proc(5)).
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .with_context(|| format!("short {path}"))?
            .parse::<u64>()
            .with_context(|| format!("bad number in {path}"))
    };
    Ok((field(14)?, field(15)?))
}

/// The thread of process `pid` named `comm` (e.g. `log-cleaner-0`): its id, for
/// [`thread_cpu_ticks`].
pub fn find_thread(pid: u32, comm: &str) -> Result<u32> {
    let tasks = format!("/proc/{pid}/task");
    for entry in fs::read_dir(&tasks).with_context(|| format!("listing {tasks}"))? {
        let Ok(tid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let name = fs::read_to_string(format!("{tasks}/{tid}/comm")).unwrap_or_default();
        if name.trim_end() == comm {
            return Ok(tid);
        }
    }
    anyhow::bail!("process {pid} has no thread named {comm}")
}

/// utime+stime of thread `tid` of process `pid`, in clock ticks.
pub fn thread_cpu_ticks(pid: u32, tid: u32) -> Result<u64> {
    stat_cpu_ticks(&format!("/proc/{pid}/task/{tid}/stat"))
}

/// (utime, stime) of thread `tid` of process `pid`, in clock ticks.
pub fn thread_times(pid: u32, tid: u32) -> Result<(u64, u64)> {
    stat_times(&format!("/proc/{pid}/task/{tid}/stat"))
}

/// Reads utime+stime from /proc/<pid>/stat and VmHWM/VmRSS from /proc/<pid>/status.
pub fn sample(pid: u32) -> Result<ProcSample> {
    let cpu_ticks = stat_cpu_ticks(&format!("/proc/{pid}/stat"))?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcSample {
        cpu_ticks,
        hwm_kib: kib("VmHWM:"),
        rss_kib: kib("VmRSS:"),
    })
}

/// Resets VmHWM to the current RSS (writing 5 to /proc/<pid>/clear_refs, Linux ≥ 4.0), so the
/// next sample's peak belongs to one scenario. Best effort: an older kernel keeps the
/// lifetime peak, which only overstates.
pub fn reset_peak(pid: u32) {
    let _ = fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we know).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// Figures of a set of processes over one scenario, and of the bench itself (the client).
pub struct Usage {
    pids: Vec<u32>,
    before: Vec<ProcSample>,
    client_before: ProcSample,
}

/// What the processes used over a scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct UsageDelta {
    /// CPU seconds summed over the processes.
    pub cpu_s: f64,
    /// Largest peak RSS of any one process during the scenario, MiB.
    pub peak_rss_mib: f64,
    /// CPU seconds of the bench process: the librdkafka clients, which share the machine's
    /// cores with the brokers.
    pub client_cpu_s: f64,
}

impl Usage {
    /// Resets each process's peak RSS and takes the starting CPU counters.
    pub fn start(pids: Vec<u32>) -> Usage {
        for &pid in &pids {
            reset_peak(pid);
        }
        let before = pids
            .iter()
            .map(|&p| sample(p).unwrap_or_default())
            .collect();
        Usage {
            pids,
            before,
            client_before: sample(std::process::id()).unwrap_or_default(),
        }
    }

    /// CPU seconds and peak RSS since [`Usage::start`]; None without processes.
    pub fn finish(&self) -> Option<UsageDelta> {
        if self.pids.is_empty() {
            return None;
        }
        let ticks = clock_ticks();
        let mut delta = UsageDelta::default();
        for (pid, before) in self.pids.iter().zip(&self.before) {
            let now = sample(*pid).unwrap_or_default();
            delta.cpu_s += now.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / ticks;
            delta.peak_rss_mib = delta.peak_rss_mib.max(now.hwm_kib as f64 / 1024.0);
        }
        let client = sample(std::process::id()).unwrap_or_default();
        delta.client_cpu_s = client
            .cpu_ticks
            .saturating_sub(self.client_before.cpu_ticks) as f64
            / ticks;
        Some(delta)
    }
}

/// A memory cgroup holding the brokers, so that their page cache is recycled as on a broker
/// whose memory is full, instead of every append touching never-used memory. On the VMs we
/// benchmark on, a page the guest has not touched recently costs a hypervisor fault on first
/// write (free page reporting hands freed memory back to the host within seconds), which made
/// the page-cache copy ~10x dearer than on a machine in steady state. Removed when dropped.
pub struct MemoryCap {
    dir: std::path::PathBuf,
    parent_procs: std::path::PathBuf,
}

impl MemoryCap {
    /// Creates `<own memory cgroup>/<name>` limited to `limit` bytes and moves `pids` into it.
    /// cgroup v1 (`memory` hierarchy) or v2 (unified), whichever this process is in.
    pub fn apply(name: &str, pids: &[u32], limit: u64) -> Result<MemoryCap> {
        let own = fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        let v1 = own.lines().find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers.split(',').any(|c| c == "memory").then(|| {
                (
                    format!("/sys/fs/cgroup/memory{path}"),
                    "memory.limit_in_bytes",
                )
            })
        });
        let v2 = || {
            own.lines()
                .find_map(|l| l.strip_prefix("0::"))
                .map(|path| (format!("/sys/fs/cgroup{path}"), "memory.max"))
        };
        let (parent, limit_file) = v1
            .or_else(v2)
            .context("no memory cgroup found in /proc/self/cgroup")?;
        let parent = std::path::PathBuf::from(parent.trim_end_matches('/'));
        let dir = parent.join(name);
        if !dir.exists() {
            fs::create_dir(&dir).with_context(|| format!("creating cgroup {}", dir.display()))?;
        }
        let cap = MemoryCap {
            dir,
            parent_procs: parent.join("cgroup.procs"),
        };
        fs::write(cap.dir.join(limit_file), limit.to_string())
            .with_context(|| format!("setting {limit_file} of {}", cap.dir.display()))?;
        for pid in pids {
            fs::write(cap.dir.join("cgroup.procs"), pid.to_string())
                .with_context(|| format!("moving broker {pid} into {}", cap.dir.display()))?;
        }
        Ok(cap)
    }
}

impl Drop for MemoryCap {
    fn drop(&mut self) {
        // Processes still inside go back to the parent; then the (empty) group can go.
        if let Ok(procs) = fs::read_to_string(self.dir.join("cgroup.procs")) {
            for pid in procs.split_whitespace() {
                let _ = fs::write(&self.parent_procs, pid);
            }
        }
        let _ = fs::remove_dir(&self.dir);
    }
}
