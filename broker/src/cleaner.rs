//! The log cleaner service (Kafka's `LogCleaner` and `LogCleanerManager`): background threads
//! that compact every replica whose topic's `cleanup.policy` includes `compact`, leaders and
//! followers alike, each replica on its own.
//!
//! Each of `log.cleaner.threads` threads takes, in turn, the dirtiest replica that needs
//! cleaning (one whose dirty share reached `min.cleanable.dirty.ratio`, or whose oldest dirty
//! records passed `max.compaction.lag.ms`; those first), cleans it (`log::cleaner`) with its
//! share of `log.cleaner.dedupe.buffer.size` for the key map, and sleeps
//! `log.cleaner.backoff.ms` when none does. Where each replica's dirty section starts is kept
//! per log dir in `cleaner-offset-checkpoint` (Kafka's file and format), moved on only when a
//! cleaning was swapped in whole. All threads together read and write at most
//! `log.cleaner.io.max.bytes.per.second`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::config::BrokerConfig;
use crate::context::Broker;
use crate::log::cleaner::{clean, CleanSnapshot};
use crate::log::LogError;
use crate::replica::checkpoint;
use crate::replica::Partition;

/// Kafka's name for the per-dir file of first dirty offsets.
pub const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
/// How far ahead of its I/O limit the cleaner may run before it sleeps (a tenth of this), and
/// how long an idle spell starts a new busy period.
const THROTTLE_WINDOW: Duration = Duration::from_millis(300);

type TopicPartition = (String, i32);

/// The cleaner's settings (`log.cleaner.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanerConfig {
    pub threads: usize,
    /// Key-map memory of all threads together.
    pub dedupe_buffer_bytes: usize,
    pub io_max_bytes_per_second: Option<u64>,
    pub backoff: Duration,
}

impl CleanerConfig {
    /// The broker's `log.cleaner.*` settings; `None` when the cleaner is off.
    pub fn of(c: &BrokerConfig) -> Option<CleanerConfig> {
        (c.log_cleaner_enable && c.log_cleaner_threads > 0).then(|| CleanerConfig {
            threads: c.log_cleaner_threads,
            dedupe_buffer_bytes: c.log_cleaner_dedupe_buffer_size,
            io_max_bytes_per_second: c.log_cleaner_io_max_bytes_per_second,
            backoff: Duration::from_millis(c.log_cleaner_backoff_ms),
        })
    }
}

/// The running cleaner threads.
pub struct LogCleaner {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    broker: Arc<Broker>,
    config: CleanerConfig,
    /// Per log dir: where each replica's dirty section starts.
    checkpoints: Mutex<HashMap<PathBuf, HashMap<TopicPartition, i64>>>,
    /// Replicas a thread is cleaning now.
    in_progress: Mutex<HashSet<TopicPartition>>,
    /// Replicas whose data could not be cleaned (corrupt): left alone until a restart.
    uncleanable: Mutex<HashSet<TopicPartition>>,
    throttle: Throttle,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LogCleaner {
    /// Starts the threads; checkpoints are read from every online log dir first.
    pub fn start(broker: Arc<Broker>, config: CleanerConfig) -> LogCleaner {
        let mut checkpoints = HashMap::new();
        for dir in broker.replicas.log_dirs().all() {
            if dir.is_offline() {
                continue;
            }
            match dir.guard(|| checkpoint::read(&dir.path().join(CHECKPOINT_FILE))) {
                Ok(entries) => {
                    checkpoints.insert(dir.path().to_path_buf(), entries);
                }
                Err(e) => {
                    warn!(dir = %dir.path().display(), error = %e, "cannot read the cleaner checkpoint: every log there counts as dirty")
                }
            }
        }
        let shared = Arc::new(Shared {
            broker,
            config,
            checkpoints: Mutex::new(checkpoints),
            in_progress: Mutex::new(HashSet::new()),
            uncleanable: Mutex::new(HashSet::new()),
            throttle: Throttle::new(config.io_max_bytes_per_second),
            stop: AtomicBool::new(false),
        });
        let threads = (0..config.threads)
            .filter_map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("log-cleaner-{i}"))
                    .spawn(move || shared.run())
                    .map_err(|e| warn!(error = %e, "cannot start a log cleaner thread"))
                    .ok()
            })
            .collect();
        info!(
            threads = config.threads,
            dedupe_buffer_bytes = config.dedupe_buffer_bytes,
            "log cleaner started"
        );
        LogCleaner { shared, threads }
    }

    /// Stops the threads (a cleaning under way is abandoned; its files written aside are
    /// removed) and waits for them.
    pub fn shutdown(self) {
        self.shared.stop.store(true, Ordering::Release);
        for t in &self.threads {
            t.thread().unpark();
        }
        for t in self.threads {
            let _ = t.join();
        }
        info!("log cleaner stopped");
    }
}

/// The cleaner the broker runs, if any: stopped and started again with new settings when a
/// dynamic `log.cleaner.*` change arrives (Kafka's `LogCleaner.reconfigure` does the same).
#[derive(Default)]
pub struct CleanerSlot {
    running: Mutex<Option<(CleanerConfig, LogCleaner)>>,
}

impl std::fmt::Debug for CleanerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = lock(&self.running).as_ref().map(|(c, _)| *c);
        f.debug_struct("CleanerSlot")
            .field("config", &config)
            .finish()
    }
}

impl CleanerSlot {
    /// Runs the cleaner with `config` (`None`: none runs), restarting it if it runs with
    /// other settings. Blocks while old threads finish: call from a blocking context.
    pub fn set(&self, broker: &Arc<Broker>, config: Option<CleanerConfig>) {
        let mut running = lock(&self.running);
        if running.as_ref().map(|(c, _)| *c) == config {
            return;
        }
        if let Some((_, old)) = running.take() {
            old.shutdown();
        }
        *running = config.map(|c| (c, LogCleaner::start(broker.clone(), c)));
    }

    /// Stops the cleaner, if one runs. Blocking, like [`CleanerSlot::set`].
    pub fn shutdown(&self) {
        if let Some((_, cleaner)) = lock(&self.running).take() {
            cleaner.shutdown();
        }
    }
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn run(&self) {
        while !self.stopped() {
            match self.pick() {
                Some((partition, snapshot)) => {
                    self.clean(&partition, snapshot);
                    lock(&self.in_progress).remove(&key_of(&partition));
                }
                None => std::thread::park_timeout(self.config.backoff),
            }
        }
    }

    /// The replica to clean next, marked in progress: overdue ones first, then the dirtiest.
    fn pick(&self) -> Option<(Arc<Partition>, CleanSnapshot)> {
        let now = crate::log::now_ms();
        let mut in_progress = lock(&self.in_progress);
        let uncleanable = lock(&self.uncleanable).clone();
        let mut best: Option<(Arc<Partition>, CleanSnapshot)> = None;
        for p in self.broker.replicas.all() {
            let key = key_of(&p);
            if in_progress.contains(&key) || uncleanable.contains(&key) {
                continue;
            }
            let Some(snapshot) = p.clean_snapshot(self.checkpoint_of(&p), now) else {
                continue;
            };
            if !snapshot.needs_cleaning() {
                continue;
            }
            let rank = |s: &CleanSnapshot| (s.overdue, s.dirty_ratio());
            if best.as_ref().is_none_or(|(_, b)| rank(&snapshot) > rank(b)) {
                best = Some((p, snapshot));
            }
        }
        let (p, snapshot) = best?;
        in_progress.insert(key_of(&p));
        Some((p, snapshot))
    }

    fn checkpoint_of(&self, p: &Partition) -> Option<i64> {
        lock(&self.checkpoints)
            .get(p.log_dir().path())
            .and_then(|entries| entries.get(&key_of(p)).copied())
    }

    fn clean(&self, p: &Arc<Partition>, snapshot: CleanSnapshot) {
        let started = Instant::now();
        let ratio = snapshot.dirty_ratio();
        let memory = self.config.dedupe_buffer_bytes / self.config.threads.max(1);
        let mut io = |bytes: u64| {
            if self.stopped() {
                return Err(LogError::Aborted);
            }
            self.throttle.record(bytes);
            Ok(())
        };
        let producers = p.producers_last_offsets();
        let now = crate::log::now_ms();
        let result = clean(&snapshot, memory, now, &producers, &mut io).and_then(|out| {
            let (end, stats) = (out.end_offset, out.stats);
            let whole = p.swap_cleaned(out)?;
            Ok((end, stats, whole))
        });
        match result {
            Ok((end, stats, whole)) => {
                if whole {
                    self.move_checkpoint(p, end);
                }
                info!(
                    topic = %p.topic,
                    partition = p.index,
                    dirty_ratio = format!("{ratio:.2}"),
                    read_bytes = stats.bytes_read,
                    written_bytes = stats.bytes_written,
                    records_read = stats.records_read,
                    records_kept = stats.records_kept,
                    keys = stats.keys,
                    map_bytes = stats.map_bytes,
                    ms = started.elapsed().as_millis() as u64,
                    swapped = whole,
                    "cleaned log"
                );
            }
            Err(LogError::Aborted) | Err(LogError::DirOffline(_)) => {}
            Err(e) if e.is_io() => {
                // A deleted replica's directory vanishes under a cleaning: not a disk failure.
                if self.still_hosted(p) {
                    p.log_dir().fail(&e);
                }
            }
            Err(e) => {
                warn!(topic = %p.topic, partition = p.index, error = %e, "cannot clean this log; leaving it until the broker restarts");
                lock(&self.uncleanable).insert(key_of(p));
            }
        }
    }

    fn still_hosted(&self, p: &Arc<Partition>) -> bool {
        self.broker
            .replicas
            .get(&p.topic, p.index)
            .is_some_and(|now| Arc::ptr_eq(&now, p))
    }

    /// Records where `p`'s dirty section now starts and rewrites its dir's checkpoint (only
    /// the replicas the dir still holds).
    fn move_checkpoint(&self, p: &Partition, first_dirty: i64) {
        let dir = p.log_dir();
        let hosted: HashSet<TopicPartition> = self
            .broker
            .replicas
            .all()
            .iter()
            .filter(|q| Arc::ptr_eq(q.log_dir(), dir))
            .map(|q| key_of(q))
            .collect();
        // Written under the lock: cleaner threads would share the temporary file, and the
        // file must end with the latest entries.
        let mut all = lock(&self.checkpoints);
        let entries = all.entry(dir.path().to_path_buf()).or_default();
        entries.insert(key_of(p), first_dirty);
        entries.retain(|k, _| hosted.contains(k));
        let entries: Vec<(TopicPartition, i64)> =
            entries.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let path = checkpoint_path(dir.path());
        if let Err(e) = dir.guard(|| checkpoint::write(&path, &entries)) {
            warn!(path = %path.display(), error = %e, "writing the cleaner checkpoint failed");
        }
    }
}

fn key_of(p: &Partition) -> TopicPartition {
    (p.topic.clone(), p.index)
}

fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

/// The I/O limit of all cleaner threads together: bytes are counted from the start of a
/// busy period, and whoever gets ahead of the rate sleeps until the count is due. A period
/// ends when the cleaners were idle long enough to be back within the rate.
struct Throttle {
    bytes_per_second: Option<u64>,
    /// (start of the busy period, bytes since).
    period: Mutex<(Instant, u64)>,
}

impl Throttle {
    fn new(bytes_per_second: Option<u64>) -> Throttle {
        Throttle {
            bytes_per_second,
            period: Mutex::new((Instant::now(), 0)),
        }
    }

    fn record(&self, bytes: u64) {
        let Some(rate) = self.bytes_per_second.filter(|r| *r > 0) else {
            return;
        };
        let ahead = {
            let mut p = lock(&self.period);
            let elapsed = p.0.elapsed();
            let due = Duration::from_secs_f64(p.1 as f64 / rate as f64);
            if elapsed > due + THROTTLE_WINDOW {
                // Idle for a while: a new busy period.
                *p = (Instant::now(), 0);
            }
            p.1 += bytes;
            Duration::from_secs_f64(p.1 as f64 / rate as f64).saturating_sub(p.0.elapsed())
        };
        // Short debts are paid together, not with a sleep per batch.
        if ahead > THROTTLE_WINDOW / 10 {
            std::thread::sleep(ahead);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_holds_the_rate() {
        let throttle = Throttle::new(Some(1_000_000));
        // Idle since it was made: the first busy period starts with the first bytes.
        std::thread::sleep(Duration::from_millis(400));
        let started = Instant::now();
        // 600 KB at 1 MB/s take at least ~0.6 s.
        for _ in 0..60 {
            throttle.record(10_000);
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(550), "{took:?}");
        assert!(took < Duration::from_millis(900), "{took:?}");
        let unlimited = Throttle::new(None);
        let started = Instant::now();
        unlimited.record(u64::MAX);
        assert!(started.elapsed() < Duration::from_millis(50));
    }
}
