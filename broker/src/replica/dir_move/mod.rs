//! Moving a replica between this broker's log dirs (AlterReplicaLogDirs): Kafka's future logs,
//! its `ReplicaAlterLogDirsThread` and `LogManager.replaceCurrentWithFutureLog`.
//!
//! A move copies the partition's log, batch by batch with their offsets and epochs, into a
//! *future log* `<dest>/<topic>-<partition>.<id>-future`, while the partition goes on serving
//! produce and fetch from its current log. One thread (the [`DirMover`]) copies for every
//! move, at most `replica.alter.log.dirs.io.max.bytes.per.second` together (a dynamic broker
//! quota, as in Kafka: `/config/brokers`). Once a copy has
//! reached the current log end, the swap, under the partition log's write lock (appends and
//! reads wait for a few renames), copies what was appended meanwhile, renames the current
//! directory `<topic>-<partition>.<id>-delete`, renames the future one `<topic>-<partition>`
//! and puts the future log in the partition's place. The old directory is deleted after.
//!
//! A current log cut back meanwhile (a follower truncating a diverged tail) is followed the
//! way a follower follows its leader: through the leader epochs of the copied batches.
//!
//! A restart finds the future directories (`ReplicaManager::open`): beside its current log, a
//! future log resumes its move where the copy had got; without one (the broker stopped between
//! the swap's two renames) it is complete and becomes the current log; any `-delete` directory
//! left over is removed.
//!
//! A log the cleaner was compacting when it moved keeps its cleaning out: the cleaned segments
//! belong to the old directory (`Log::swap_cleaned` drops them), and the cleaner does not take
//! the vanished files for a failed disk.
//!
//! Lock order: `ReplicaManager`'s dir-change lock → [`Move::future`] → the partition's locks
//! (`log` → `log_dir`); the registry's own lock is taken alone (or before `log_dir`). The
//! dir-change lock (Kafka's `logCreationOrDeletionLock`) keeps a swap from crossing a deletion
//! of the replica or a new AlterReplicaLogDirs.
//!
//! - `mod.rs`: the registry of moves ([`DirMoves`]), a move's step, and the mover thread.
//! - `copy`: the copy and the swap, over the current and the future log.
//! - `start`: AlterReplicaLogDirs for one replica, and the future logs found at start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{info, warn};

use crate::cleaner::Throttle;
use crate::context::Broker;
use crate::log::{Log, LogError};
use crate::replica::log_dirs::LogDir;
use crate::replica::manager::{ReplicaManager, TopicPartition};
use crate::replica::Partition;

mod copy;
mod start;
use copy::{copy_step, swap_in, Step};
pub use start::AlterDirError;

/// Bytes copied per step of a move (less when the throttle is lower).
const CHUNK_BYTES: usize = 1 << 20;
/// How long the mover waits when no move made progress.
const IDLE_WAIT: Duration = Duration::from_millis(200);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A partition's future log directory: `<dest>/<topic>-<partition>.<id>-future`.
pub fn future_dir_name(topic: &str, index: i32) -> String {
    format!("{topic}-{index}.{}-future", uuid::Uuid::new_v4().simple())
}

/// The directory name a swap gives a partition's replaced log before deleting it.
fn delete_dir_name(topic: &str, index: i32) -> String {
    format!("{topic}-{index}.{}-delete", uuid::Uuid::new_v4().simple())
}

/// `<topic>-<partition>` of a future directory's name.
pub fn parse_future_dir(name: &str) -> Option<TopicPartition> {
    let stem = name.strip_suffix("-future")?;
    let (partition_dir, _id) = stem.rsplit_once('.')?;
    crate::replica::manager::parse_partition_dir(partition_dir)
}

/// One replica on its way to another log dir.
pub struct Move {
    pub partition: Arc<Partition>,
    /// Where the replica is going.
    pub dest: Arc<LogDir>,
    /// The copy; `None` once the move ended (swapped in, or cancelled).
    future: Mutex<Option<Log>>,
}

impl std::fmt::Debug for Move {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Move")
            .field("topic", &self.partition.topic)
            .field("partition", &self.partition.index)
            .field("dest", &self.dest.path())
            .finish_non_exhaustive()
    }
}

/// What DescribeLogDirs shows of a future log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FutureStatus {
    pub size: u64,
    pub log_end_offset: i64,
}

impl Move {
    /// The future log's size and end, while the move lasts.
    pub fn status(&self) -> Option<FutureStatus> {
        lock(&self.future).as_ref().map(|f| FutureStatus {
            size: f.size_bytes(),
            log_end_offset: f.log_end_offset(),
        })
    }
}

/// Every move under way, by partition.
#[derive(Debug, Default)]
pub struct DirMoves {
    moves: Mutex<HashMap<TopicPartition, Arc<Move>>>,
    /// Wakes the mover when a move starts or it is told to stop.
    wake: Condvar,
}

impl DirMoves {
    /// Starts moving `partition` to `dest`, into `future` (new and empty, or found at start).
    pub(crate) fn start(&self, partition: Arc<Partition>, dest: Arc<LogDir>, future: Log) {
        let key = (partition.topic.clone(), partition.index);
        info!(
            topic = %key.0,
            partition = key.1,
            from = %partition.log_dir().path().display(),
            to = %dest.path().display(),
            future_log_end = future.log_end_offset(),
            "moving replica to another log dir"
        );
        let mv = Arc::new(Move {
            partition,
            dest,
            future: Mutex::new(Some(future)),
        });
        lock(&self.moves).insert(key, mv);
        self.wake.notify_all();
    }

    pub fn get(&self, topic: &str, index: i32) -> Option<Arc<Move>> {
        lock(&self.moves).get(&(topic.to_string(), index)).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Move>> {
        lock(&self.moves).values().cloned().collect()
    }

    /// Ends the move of `topic`-`index`, if any, deleting its future log unless its dir is
    /// offline (nothing is touched there). Returns whether there was one.
    pub(crate) fn cancel(&self, topic: &str, index: i32) -> bool {
        let Some(mv) = lock(&self.moves).remove(&(topic.to_string(), index)) else {
            return false;
        };
        let future = lock(&mv.future).take();
        if let Some(future) = future {
            let path = future.dir().to_path_buf();
            if !mv.dest.is_offline() {
                drop(future);
                if let Err(e) = remove_dir(&path) {
                    warn!(path = %path.display(), error = %e, "cannot delete a cancelled future log");
                }
            }
            info!(topic, partition = index, future = %path.display(), "replica move cancelled");
        }
        true
    }

    /// Cancels the moves from or to `dir`, which has failed.
    pub(crate) fn cancel_in(&self, dir: &Arc<LogDir>) {
        let doomed: Vec<TopicPartition> = lock(&self.moves)
            .iter()
            .filter(|(_, mv)| {
                Arc::ptr_eq(&mv.dest, dir) || Arc::ptr_eq(&mv.partition.log_dir(), dir)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (topic, index) in doomed {
            self.cancel(&topic, index);
        }
    }

    /// Waits until a move starts or `timeout` passes.
    fn wait(&self, timeout: Duration) {
        let moves = lock(&self.moves);
        let _ = self.wake.wait_timeout(moves, timeout);
    }

    fn wake_all(&self) {
        self.wake.notify_all();
    }

    /// Forgets `mv` if it is still the move of its partition.
    fn finished(&self, mv: &Arc<Move>) {
        let key = (mv.partition.topic.clone(), mv.partition.index);
        let mut moves = lock(&self.moves);
        if moves.get(&key).is_some_and(|m| Arc::ptr_eq(m, mv)) {
            moves.remove(&key);
        }
    }
}

fn remove_dir(path: &std::path::Path) -> Result<(), LogError> {
    std::fs::remove_dir_all(path).map_err(|source| LogError::Io {
        context: format!("deleting {}", path.display()),
        source,
    })
}

/// One step of `mv`: copies a chunk, or swaps the copy in once it has caught up. Returns the
/// bytes copied, for the throttle. A move whose copy fails is cancelled (an I/O error has
/// failed the dir it came from).
fn step(replicas: &ReplicaManager, mv: &Arc<Move>, max_bytes: usize) -> usize {
    let p = &mv.partition;
    if mv.dest.is_offline() || p.log_dir().is_offline() {
        replicas.moves().cancel(&p.topic, p.index);
        return 0;
    }
    let result = {
        let mut slot = lock(&mv.future);
        let Some(future) = slot.as_mut() else {
            return 0;
        };
        copy_step(p, future, &mv.dest, max_bytes)
    };
    match result {
        Ok(Step::Copied(n)) => n,
        Ok(Step::CaughtUp) => {
            finish(replicas, mv);
            0
        }
        Err(e) => {
            warn!(topic = %p.topic, partition = p.index, error = %e, "copying to the future log failed: move cancelled");
            replicas.moves().cancel(&p.topic, p.index);
            0
        }
    }
}

/// Tries the swap; on success deletes the replaced log and rewrites both dirs' checkpoints.
fn finish(replicas: &ReplicaManager, mv: &Arc<Move>) {
    let p = &mv.partition;
    let (topic, index) = (p.topic.as_str(), p.index);
    let changes = replicas.lock_dir_changes();
    if !replicas
        .get(topic, index)
        .is_some_and(|q| Arc::ptr_eq(&q, p))
    {
        // Deleted meanwhile (its deletion cancels its move too).
        drop(changes);
        replicas.moves().cancel(topic, index);
        return;
    }
    let source = p.log_dir();
    let swapped = {
        let mut slot = lock(&mv.future);
        // The fsyncs before the partition's lock: under it, only what came since is synced.
        if let Some(future) = slot.as_mut() {
            if let Err(e) = mv.dest.guard(|| future.flush()) {
                drop((slot, changes));
                warn!(topic, partition = index, error = %e, "flushing the future log failed: move cancelled");
                replicas.moves().cancel(topic, index);
                return;
            }
        }
        p.with_log_exclusive(|current, dir| {
            swap_in(current, dir, &mut slot, &mv.dest, (topic, index))
        })
    };
    match swapped {
        Ok(None) => {}
        Ok(Some(replaced)) => {
            replicas.moves().finished(mv);
            replicas.write_dir_checkpoints(&source);
            replicas.write_dir_checkpoints(&mv.dest);
            drop(changes);
            let doomed = replaced.dir().to_path_buf();
            drop(replaced);
            // Not a disk failure when it cannot go (a cleaning writing there meanwhile): the
            // next start removes it.
            if let Err(e) = remove_dir(&doomed) {
                warn!(path = %doomed.display(), error = %e, "cannot delete the moved replica's old directory");
            }
            info!(
                topic,
                partition = index,
                from = %source.path().display(),
                to = %mv.dest.path().display(),
                "replica moved to another log dir"
            );
        }
        Err(e) => {
            drop(changes);
            warn!(topic, partition = index, error = %e, "swapping in the future log failed: move cancelled");
            replicas.moves().cancel(topic, index);
        }
    }
}

/// The thread that copies for every move (Kafka's `ReplicaAlterLogDirsThread`s), at most
/// `replica.alter.log.dirs.io.max.bytes.per.second` together.
pub struct DirMover {
    broker: Arc<Broker>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DirMover {
    pub fn start(broker: Arc<Broker>) -> DirMover {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (broker, stop) = (broker.clone(), stop.clone());
            std::thread::Builder::new()
                .name("log-dir-mover".into())
                .spawn(move || {
                    let rate = || broker.dynamic.current().replica_alter_log_dirs_rate();
                    run(&broker.replicas, &stop, rate)
                })
                .map_err(|e| warn!(error = %e, "cannot start the log dir mover thread"))
                .ok()
        };
        DirMover {
            broker,
            stop,
            thread,
        }
    }

    /// Stops copying (the future logs stay on disk: the next start resumes them).
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::Release);
        self.broker.replicas.moves().wake_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copies for every move until `stop`, at most `rate()` bytes per second together (a dynamic
/// config, read again every round).
fn run(replicas: &ReplicaManager, stop: &AtomicBool, rate: impl Fn() -> Option<u64>) {
    let mut limit = rate();
    let mut throttle = Throttle::new(limit);
    while !stop.load(Ordering::Acquire) {
        if rate() != limit {
            limit = rate();
            info!(bytes_per_second = ?limit, "log dir moves: new I/O limit");
            throttle = Throttle::new(limit);
        }
        // Small steps under a low limit, so that one step does not overshoot it by much.
        let chunk = limit.map_or(CHUNK_BYTES, |r| {
            (r / 10).clamp(1, CHUNK_BYTES as u64) as usize
        });
        let moves = replicas.moves().all();
        let mut copied = 0;
        for mv in &moves {
            let n = step(replicas, mv, chunk);
            throttle.record(n as u64);
            copied += n;
        }
        if copied == 0 {
            let wait = if moves.is_empty() {
                Duration::from_secs(1)
            } else {
                IDLE_WAIT
            };
            replicas.moves().wait(wait);
        }
    }
}

#[cfg(test)]
mod tests;
