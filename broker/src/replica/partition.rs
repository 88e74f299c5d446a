//! One partition replica hosted by this broker: its log, its role (leader or follower, with
//! the leader epoch and ISR the controller decided), its high watermark and producer state.
//! How its log start offset moves (DeleteRecords, followers, the low watermark) is in
//! [`log_start`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use thiserror::Error;
use tokio::sync::{watch, Notify};

use crate::log::{Log, LogError, LogSlice};
use crate::records::validate::ValidatedBatches;
use crate::records::BatchHeader;
use crate::records::RecordError;
use crate::replica::isr::{self, FollowerState};
use crate::replica::log_dirs::LogDir;
use crate::replica::producer_state::{ProducerError, ProducerStateManager, SequenceCheck};

mod log_start;

/// Why a partition operation failed; each maps to one Kafka error code at the API edge.
#[derive(Debug, Error)]
pub enum PartitionError {
    #[error("this broker is not the leader of the partition")]
    NotLeader,
    #[error(transparent)]
    Records(#[from] RecordError),
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("ISR size {isr} is below min.insync.replicas {min}")]
    NotEnoughReplicas { isr: usize, min: usize },
    /// DeleteRecords on a log whose `cleanup.policy` does not include `delete`.
    #[error("records of a log whose cleanup policy is not delete cannot be deleted")]
    DeleteNotAllowed,
}

/// Role and replica set as last decided by the controller (LeaderAndIsr).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaRole {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub partition_epoch: i32,
    pub controller_epoch: i32,
}

/// The result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// True when every batch was a retry of one already in the log.
    pub duplicate: bool,
}

/// Data read for a fetch.
#[derive(Debug, Clone)]
pub struct FetchedData {
    pub records: LogSlice,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// A hosted partition. Lock order: `producers` before `log`, `role` before `log`, `log` before
/// `log_dir`.
pub struct Partition {
    pub topic: String,
    pub index: i32,
    broker_id: i32,
    /// The log dir holding this partition's directory. Once it has failed, nothing here reads
    /// or writes the log: see [`LogDir::guard`]. Changes only together with `log`, under its
    /// write lock, when the log moves to another dir (see `replica::dir_move`); a leaf lock.
    log_dir: RwLock<Arc<LogDir>>,
    log: RwLock<Log>,
    producers: Mutex<ProducerStateManager>,
    role: Mutex<ReplicaRole>,
    followers: Mutex<HashMap<i32, FollowerState>>,
    high_watermark: AtomicI64,
    /// Offset where the current leader epoch began on this leader (ISR expansion needs it).
    epoch_start_offset: AtomicI64,
    /// One leader-made ISR change at a time.
    pub(crate) isr_change_in_flight: AtomicBool,
    /// The ISR being written to ZooKeeper, if any. Until the write ends the high watermark
    /// counts its members too (Kafka's "maximal ISR"), so a joining follower that has not got
    /// a record yet cannot see it committed without it, and then lead without it.
    pending_isr: Mutex<Option<Vec<i32>>>,
    /// What parked requests wait on (see [`Waiters`]).
    waiters: Mutex<Waiters>,
    /// Bumped on every append; follower fetches long-poll on it (the leader's high watermark
    /// only moves after followers fetch, so waiting on it would stall replication).
    leo_tx: watch::Sender<i64>,
    /// Counts changes a fetcher could see: appends, truncation, high watermark and log start
    /// moves, leadership. A fetch session skips a partition whose count it has already seen.
    generation: AtomicU64,
    /// Fetch sessions to wake on each such change (dropped sessions are pruned on the way).
    listeners: Mutex<Vec<Weak<Notify>>>,
    /// Set on becoming leader until every follower has fetched in this term: appends poke
    /// those yet to fetch (see [`crate::replica::follower_polls`]).
    followers_pending: AtomicBool,
    /// When those followers were last poked (epoch ms), to poke at most every [`POKE_EVERY_MS`].
    last_poke_ms: AtomicI64,
}

/// The channels parked requests wait on. Both are replaced together (closing every receiver)
/// when this replica stops being leader: a write parked for acks=all must not be acknowledged
/// by the high watermark it later follows as a follower, since its own records may have been
/// truncated away (Kafka's DelayedProduce fails with NOT_LEADER_OR_FOLLOWER then), and a
/// DeleteRecords must not wait for followers that no longer follow us. Waiters see the channel
/// close and give up.
struct Waiters {
    /// Bumped whenever the high watermark moves: long-poll fetches and acks=all produces.
    high_watermark: watch::Sender<i64>,
    /// Bumped whenever the log start of this replica or of a follower moves: DeleteRecords
    /// waits for the low watermark (the lowest of them, see [`Partition::low_watermark`]).
    log_starts: watch::Sender<()>,
}

impl Waiters {
    fn new(hw: i64) -> Self {
        Waiters {
            high_watermark: watch::channel(hw).0,
            log_starts: watch::channel(()).0,
        }
    }
}

/// How often appends poke followers that have not fetched yet: a follower that is down never
/// does, and must not cost every append a lock.
const POKE_EVERY_MS: i64 = 5;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Partition {
    /// Wraps an opened log kept in `log_dir`; the partition has no role until the controller
    /// gives it one.
    pub fn new(
        topic: String,
        index: i32,
        broker_id: i32,
        log: Log,
        log_dir: Arc<LogDir>,
    ) -> Result<Self, LogError> {
        let headers = log.batch_headers_from(log.log_start_offset())?;
        let producers = ProducerStateManager::rebuild(&headers);
        let start = log.log_start_offset();
        let (leo_tx, _) = watch::channel(log.log_end_offset());
        Ok(Partition {
            topic,
            index,
            broker_id,
            log_dir: RwLock::new(log_dir),
            log: RwLock::new(log),
            producers: Mutex::new(producers),
            role: Mutex::new(ReplicaRole {
                leader: -1,
                ..ReplicaRole::default()
            }),
            followers: Mutex::new(HashMap::new()),
            high_watermark: AtomicI64::new(start),
            epoch_start_offset: AtomicI64::new(0),
            isr_change_in_flight: AtomicBool::new(false),
            pending_isr: Mutex::new(None),
            waiters: Mutex::new(Waiters::new(start)),
            leo_tx,
            generation: AtomicU64::new(0),
            listeners: Mutex::new(Vec::new()),
            followers_pending: AtomicBool::new(false),
            last_poke_ms: AtomicI64::new(i64::MIN),
        })
    }

    fn log_read(&self) -> RwLockReadGuard<'_, Log> {
        self.log.read().unwrap_or_else(|e| e.into_inner())
    }

    fn log_write(&self) -> RwLockWriteGuard<'_, Log> {
        self.log.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn role(&self) -> ReplicaRole {
        lock(&self.role).clone()
    }

    pub fn is_leader(&self) -> bool {
        lock(&self.role).leader == self.broker_id
    }

    /// Whether `replica` is in the ISR as last decided (by the controller or this leader).
    pub fn isr_contains(&self, replica: i32) -> bool {
        lock(&self.role).isr.contains(&replica)
    }

    /// The leader epoch, if this replica leads (one lock for both questions).
    pub fn leading_epoch(&self) -> Option<i32> {
        let role = lock(&self.role);
        (role.leader == self.broker_id).then_some(role.leader_epoch)
    }

    pub fn leader_epoch(&self) -> i32 {
        lock(&self.role).leader_epoch
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log_read().log_end_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_read().log_start_offset()
    }

    /// See the `generation` field.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Wakes `waker` (with `notify_one`) on every change that bumps the generation.
    pub fn listen(&self, waker: &Arc<Notify>) {
        let mut listeners = lock(&self.listeners);
        // Sessions end without unlistening: drop theirs here, so an idle partition's list
        // cannot grow with every session that ever read it.
        listeners.retain(|w| w.strong_count() > 0);
        listeners.push(Arc::downgrade(waker));
    }

    pub fn unlisten(&self, waker: &Arc<Notify>) {
        let gone = Arc::downgrade(waker);
        lock(&self.listeners).retain(|w| !w.ptr_eq(&gone) && w.strong_count() > 0);
    }

    /// Something a fetcher could see changed: bump the generation, then wake the listeners.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        lock(&self.listeners).retain(|w| match w.upgrade() {
            Some(waker) => {
                waker.notify_one();
                true
            }
            None => false,
        });
    }

    /// A receiver that changes whenever the high watermark moves.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        lock(&self.waiters).high_watermark.subscribe()
    }

    /// A receiver that changes whenever this replica's or a follower's log start moves.
    pub fn subscribe_log_starts(&self) -> watch::Receiver<()> {
        lock(&self.waiters).log_starts.subscribe()
    }

    /// A receiver that changes whenever the log end offset moves (new data for followers).
    pub fn subscribe_log_end(&self) -> watch::Receiver<i64> {
        self.leo_tx.subscribe()
    }

    /// Applies a role from the controller. A newer leader epoch (or a first role) makes us
    /// leader or follower; the same epoch only refreshes ISR and partition epoch (Kafka ignores
    /// older epochs). Returns whether leadership changed.
    pub fn apply_role(&self, new: ReplicaRole, now_ms: i64) -> bool {
        let mut role = lock(&self.role);
        let first = role.replicas.is_empty();
        if !first && new.leader_epoch <= role.leader_epoch {
            if new.leader_epoch == role.leader_epoch && new.partition_epoch > role.partition_epoch {
                role.isr = new.isr;
                role.replicas = new.replicas;
                role.partition_epoch = new.partition_epoch;
            }
            return false;
        }
        let becomes_leader = new.leader == self.broker_id;
        if role.leader == self.broker_id && !becomes_leader {
            // Leadership lost: release acks=all and long-poll waiters of our term.
            self.release_waiters();
        }
        *role = new;
        if becomes_leader {
            let mut log = self.log_write();
            let leo = log.log_end_offset();
            // Not written to the checkpoint yet: see `log::epoch` for why a crash cannot lose it.
            log.leader_epochs_mut().assign(role.leader_epoch, leo);
            self.epoch_start_offset.store(leo, Ordering::Release);
            let mut followers = lock(&self.followers);
            followers.clear();
            for &r in role.replicas.iter().filter(|&&r| r != self.broker_id) {
                followers.insert(r, FollowerState::new(now_ms));
            }
            self.followers_pending
                .store(!followers.is_empty(), Ordering::Release);
            self.last_poke_ms.store(i64::MIN, Ordering::Relaxed);
        }
        drop(role);
        self.changed();
        self.maybe_advance_high_watermark();
        true
    }

    /// Marks `proposed` as being written: until [`Self::end_isr_change`] the high watermark
    /// waits for its members too. Refuses (false) when a new member's log already ends below
    /// the high watermark: it fell behind after it was found caught up.
    pub fn begin_isr_change(&self, proposed: &[i32]) -> bool {
        let current = self.role().isr;
        let mut pending = lock(&self.pending_isr);
        *pending = Some(proposed.to_vec());
        drop(pending);
        let hw = self.high_watermark();
        let followers = lock(&self.followers);
        let caught_up = proposed
            .iter()
            .filter(|r| !current.contains(r) && **r != self.broker_id)
            .all(|r| followers.get(r).is_some_and(|f| f.leo >= hw));
        drop(followers);
        if !caught_up {
            self.end_isr_change();
        }
        caught_up
    }

    /// The ISR write ended (adopted or not).
    pub fn end_isr_change(&self) {
        *lock(&self.pending_isr) = None;
        self.maybe_advance_high_watermark();
    }

    /// Adopts an ISR this leader wrote to ZooKeeper, unless leadership moved meanwhile.
    pub fn adopt_isr(&self, isr: &[i32], partition_epoch: i32, leader_epoch: i32) -> bool {
        let mut role = lock(&self.role);
        if role.leader != self.broker_id || role.leader_epoch != leader_epoch {
            return false;
        }
        role.isr = isr.to_vec();
        role.partition_epoch = partition_epoch;
        drop(role);
        self.maybe_advance_high_watermark();
        true
    }

    /// Appends validated batches as leader, enforcing idempotent-producer rules.
    pub fn append_as_leader(
        &self,
        batches: ValidatedBatches,
        required_acks: i16,
        min_insync_replicas: usize,
        log_append_time_ms: Option<i64>,
    ) -> Result<Appended, PartitionError> {
        self.dir().check_online()?;
        let role = self.role();
        if role.leader != self.broker_id {
            return Err(PartitionError::NotLeader);
        }
        if required_acks == -1 && role.isr.len() < min_insync_replicas {
            return Err(PartitionError::NotEnoughReplicas {
                isr: role.isr.len(),
                min: min_insync_replicas,
            });
        }
        let mut producers = lock(&self.producers);
        if let Some(dup) = duplicate_of(&producers, &batches.headers)? {
            let log = self.log_read();
            return Ok(Appended {
                base_offset: dup.0,
                last_offset: dup.1,
                log_append_time: -1,
                log_start_offset: log.log_start_offset(),
                duplicate: true,
            });
        }
        let mut log = self.log_write();
        let info = self
            .dir()
            .guard(|| log.append_as_leader(&batches.data, role.leader_epoch, log_append_time_ms))?;
        let mut offset = info.first_offset;
        for h in &batches.headers {
            let mut stored = *h;
            stored.base_offset = offset;
            producers.update(&stored);
            offset = stored.next_offset();
        }
        let leo = log.log_end_offset();
        drop(log);
        drop(producers);
        self.leo_tx.send_replace(leo);
        self.changed();
        self.maybe_advance_high_watermark();
        Ok(Appended {
            base_offset: info.first_offset,
            last_offset: info.last_offset,
            log_append_time: info.log_append_time,
            log_start_offset: info.log_start_offset,
            duplicate: false,
        })
    }

    /// Reads for a consumer (up to the high watermark) or a follower (up to the log end).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        up_to_log_end: bool,
    ) -> Result<FetchedData, LogError> {
        let hw = self.high_watermark();
        let log = self.log_read();
        let bound = if up_to_log_end {
            log.log_end_offset()
        } else {
            hw
        };
        let result = self
            .dir()
            .guard(|| log.read(offset, max_bytes, bound, min_one_batch))?;
        Ok(FetchedData {
            records: result.data,
            high_watermark: hw,
            log_start_offset: result.log_start_offset,
            log_end_offset: result.log_end_offset,
        })
    }

    /// Records a follower's fetch at `fetch_offset` (its log end offset) with its log start,
    /// moves the high watermark if it can, and returns the ISR to propose if the follower has
    /// caught up.
    pub fn update_follower(
        &self,
        replica: i32,
        (fetch_offset, log_start): (i64, i64),
        now_ms: i64,
    ) -> Option<Vec<i32>> {
        let leo = self.log_end_offset();
        let (moved, start_moved, state) = {
            let mut followers = lock(&self.followers);
            let f = followers
                .entry(replica)
                .or_insert_with(|| FollowerState::new(now_ms));
            let before = *f;
            f.on_fetch(fetch_offset, leo, now_ms);
            f.log_start = log_start;
            (f.leo != before.leo, f.log_start != before.log_start, *f)
        };
        if start_moved {
            lock(&self.waiters).log_starts.send_replace(());
        }
        // The high watermark is the ISR's lowest log end: it can only move with this
        // follower's (appends and ISR changes move it on their own paths).
        if moved {
            self.maybe_advance_high_watermark();
        }
        let role = lock(&self.role);
        isr::expand(
            &role.isr,
            &role.replicas,
            replica,
            state.leo,
            self.high_watermark(),
            self.epoch_start_offset.load(Ordering::Acquire),
        )
    }

    /// After an append: the followers of this term that have not fetched the partition yet,
    /// to poke, at most once every [`POKE_EVERY_MS`]; None once all have (one atomic load).
    pub fn followers_yet_to_fetch(&self, now_ms: impl FnOnce() -> i64) -> Option<Vec<i32>> {
        if !self.followers_pending.load(Ordering::Acquire) {
            return None;
        }
        let now = now_ms();
        let last = self.last_poke_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < POKE_EVERY_MS {
            return None;
        }
        self.last_poke_ms.store(now, Ordering::Relaxed);
        let followers = lock(&self.followers);
        let missing: Vec<i32> = followers
            .iter()
            .filter(|(_, f)| f.leo < 0)
            .map(|(&r, _)| r)
            .collect();
        if missing.is_empty() {
            self.followers_pending.store(false, Ordering::Release);
            return None;
        }
        Some(missing)
    }

    /// The ISR to propose without followers lagging more than `lag_ms`, if any lag.
    pub fn isr_shrink_candidate(&self, now_ms: i64, lag_ms: i64) -> Option<Vec<i32>> {
        let role = self.role();
        // A replica in a failed log dir hears no more of the controller's decisions: its
        // followers have gone to the leader elected instead, and it must not shrink the ISR.
        if role.leader != self.broker_id || self.dir().is_offline() {
            return None;
        }
        let leo = self.log_end_offset();
        let followers = lock(&self.followers);
        isr::shrink(&role.isr, self.broker_id, &followers, leo, now_ms, lag_ms)
    }

    /// HW = min log end offset over the ISR; only moves forward on the leader.
    fn maybe_advance_high_watermark(&self) {
        let role = self.role();
        if role.leader != self.broker_id {
            return;
        }
        let leo = self.log_end_offset();
        let pending = lock(&self.pending_isr).clone().unwrap_or_default();
        let followers = lock(&self.followers);
        // A follower that has not fetched yet (leo -1) holds the high watermark back.
        let min = role
            .isr
            .iter()
            .chain(pending.iter())
            .filter(|&&r| r != self.broker_id)
            .map(|r| followers.get(r).map(|f| f.leo).unwrap_or(-1))
            .fold(leo, i64::min);
        drop(followers);
        let current = self.high_watermark();
        if min > current {
            self.high_watermark.store(min, Ordering::Release);
            self.publish_high_watermark(min);
        }
    }

    /// Closes the high-watermark channel every current waiter holds (later subscribers get a
    /// new one): parked acks=all produces give up (REQUEST_TIMED_OUT, which clients retry) and
    /// long-poll fetches answer at once. On leadership loss, and for a shutting-down broker
    /// whose in-flight requests must end although no LeaderAndIsr will reach it any more.
    pub fn release_waiters(&self) {
        let hw = self.high_watermark();
        *lock(&self.waiters) = Waiters::new(hw);
        self.changed();
    }

    /// Tells waiters the high watermark moved to `hw`.
    fn publish_high_watermark(&self, hw: i64) {
        lock(&self.waiters).high_watermark.send_replace(hw);
        self.changed();
    }

    /// Tells fetchers (a leader's start is in its fetch responses, a follower's in its fetch
    /// requests) and DeleteRecords waiters that a log start moved.
    fn publish_log_start(&self) {
        lock(&self.waiters).log_starts.send_replace(());
        self.changed();
    }

    /// ListOffsets helpers.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        let log = self.log_read();
        self.dir().guard(|| log.offset_for_timestamp(ts))
    }

    pub fn max_timestamp_and_offset(&self) -> Result<Option<(i64, i64)>, LogError> {
        let log = self.log_read();
        self.dir().guard(|| log.max_timestamp_and_offset())
    }

    /// What the log cleaner would clean in this replica now (`None`: nothing, or not
    /// compacted). Holds the log's read lock only while it looks.
    pub fn clean_snapshot(
        &self,
        checkpoint: Option<i64>,
        now_ms: i64,
    ) -> Option<crate::log::cleaner::CleanSnapshot> {
        if self.dir().is_offline() {
            return None;
        }
        self.log_read().clean_snapshot(checkpoint, now_ms)
    }

    /// The last offset of each idempotent producer's latest batch (kept by the cleaner).
    pub fn producers_last_offsets(&self) -> HashMap<i64, i64> {
        lock(&self.producers).last_offsets()
    }

    /// Swaps a cleaning's segments in, one group at a time under the log's write lock (a
    /// segment swap is all an append or a fetch of this partition may wait for); the
    /// replaced files are deleted after each swap, outside the lock. Returns whether every
    /// group was swapped in.
    pub fn swap_cleaned(&self, output: crate::log::cleaner::CleanOutput) -> Result<bool, LogError> {
        let mut whole = true;
        // I/O errors are the cleaner's to judge: a deleted replica's files vanish under it.
        for group in output.into_groups() {
            self.dir().check_online()?;
            let swapped = self.log_write().swap_cleaned(group)?;
            match swapped {
                Some(retired) => retired.delete()?,
                None => whole = false,
            }
        }
        Ok(whole)
    }

    /// New log settings (a topic config change).
    pub fn set_log_config(&self, config: crate::log::LogConfig) {
        self.log_write().set_config(config);
    }

    /// fsyncs the segments rolled since the last call, holding the log's lock only to take
    /// them.
    pub fn sync_rolled(&self) -> Result<(), LogError> {
        if !self.log_read().has_unsynced() {
            return Ok(());
        }
        let (rolled, dir) = {
            let mut log = self.log_write();
            (log.take_unsynced(), self.dir())
        };
        let Some(rolled) = rolled else {
            return Ok(());
        };
        dir.check_online()?;
        match rolled.sync() {
            // The log moved to another dir meanwhile (`replica::dir_move`): these files and
            // their directory are on their way out, not a failing disk.
            Err(_) if !Arc::ptr_eq(&dir, &self.dir()) => Ok(()),
            Err(e) => {
                if e.is_io() {
                    dir.fail(&e);
                }
                Err(e)
            }
            Ok(()) => Ok(()),
        }
    }

    pub fn flush(&self) -> Result<(), LogError> {
        let mut log = self.log_write();
        self.dir().guard(|| log.flush())
    }

    pub fn enforce_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        let mut log = self.log_write();
        let deleted = self.dir().guard(|| log.enforce_retention(now_ms))?;
        drop(log);
        if deleted > 0 {
            self.publish_log_start();
        }
        Ok(deleted)
    }
}

/// If every batch is a retry of one already written, the offsets to answer with.
fn duplicate_of(
    producers: &ProducerStateManager,
    headers: &[BatchHeader],
) -> Result<Option<(i64, i64)>, ProducerError> {
    let mut found: Option<(i64, i64)> = None;
    for h in headers {
        match producers.check(h)? {
            SequenceCheck::Append => return Ok(None),
            SequenceCheck::Duplicate(m) => {
                found = Some(match found {
                    None => (m.first_offset, m.last_offset),
                    Some((first, _)) => (first, m.last_offset),
                });
            }
        }
    }
    Ok(found)
}

impl Partition {
    /// The log dir this partition's directory is in.
    pub fn log_dir(&self) -> Arc<LogDir> {
        self.dir()
    }

    fn dir(&self) -> Arc<LogDir> {
        self.log_dir
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `f` on the log and the dir holding it, under the log's read lock (appends wait):
    /// how `replica::dir_move` reads for a copy of the log, checked against it in one look.
    pub(crate) fn with_log<T>(&self, f: impl FnOnce(&Log, &LogDir) -> T) -> T {
        let log = self.log_read();
        let dir = self.dir();
        f(&log, &dir)
    }

    /// Runs `f` on the log and the dir holding it, under the log's write lock (appends and
    /// reads wait): how `replica::dir_move` swaps in a copy of the log from another dir.
    pub(crate) fn with_log_exclusive<T>(
        &self,
        f: impl FnOnce(&mut Log, &mut Arc<LogDir>) -> T,
    ) -> T {
        let mut log = self.log_write();
        let mut dir = self.log_dir.write().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut log, &mut dir);
        drop(dir);
        drop(log);
        // Fetch sessions read the log again.
        self.changed();
        out
    }

    /// `Err(DirOffline)` once this replica's log dir has failed (KAFKA_STORAGE_ERROR at the
    /// API edge), for requests answered from memory that Kafka refuses all the same.
    pub fn check_online(&self) -> Result<(), LogError> {
        self.dir().check_online()
    }
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("topic", &self.topic)
            .field("index", &self.index)
            .field("high_watermark", &self.high_watermark())
            .finish_non_exhaustive()
    }
}

/// Follower-side operations and leader-epoch lookups.
impl Partition {
    /// Appends batches fetched from the leader, keeping the leader's offsets and epochs.
    pub fn append_as_follower(&self, data: &[u8]) -> Result<(), LogError> {
        let mut producers = lock(&self.producers);
        let mut log = self.log_write();
        let before = log.log_end_offset();
        self.dir().guard(|| log.append_as_follower(data))?;
        for (h, _) in crate::records::header::batches(data).flatten() {
            if h.base_offset >= before {
                producers.update(&h);
            }
        }
        drop(log);
        drop(producers);
        self.changed();
        Ok(())
    }

    /// A follower's high watermark is the leader's, capped by its own log end (it may go down).
    pub fn update_follower_high_watermark(&self, leader_hw: i64) {
        let hw = leader_hw.min(self.log_end_offset());
        if self.high_watermark.swap(hw, Ordering::AcqRel) != hw {
            self.publish_high_watermark(hw);
        }
    }

    /// Sets the high watermark read from the checkpoint at start-up (never above the log end).
    pub fn restore_high_watermark(&self, hw: i64) {
        let log = self.log_read();
        let hw = hw.clamp(log.log_start_offset(), log.log_end_offset());
        drop(log);
        self.high_watermark.store(hw, Ordering::Release);
        self.publish_high_watermark(hw);
    }

    /// Drops everything at or after `offset` (a diverged tail found through leader epochs).
    pub fn truncate_to(&self, offset: i64) -> Result<(), LogError> {
        let mut producers = lock(&self.producers);
        let mut log = self.log_write();
        self.dir().guard(|| log.truncate_to(offset))?;
        producers.truncate_to(log.log_end_offset());
        let leo = log.log_end_offset();
        drop(log);
        drop(producers);
        self.changed();
        if self.high_watermark() > leo {
            self.high_watermark.store(leo, Ordering::Release);
            self.publish_high_watermark(leo);
        }
        Ok(())
    }

    /// Empties the log and restarts it at `offset` (the leader's log start is past our end).
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> Result<(), LogError> {
        let mut producers = lock(&self.producers);
        let mut log = self.log_write();
        self.dir()
            .guard(|| log.truncate_fully_and_start_at(offset))?;
        *producers = ProducerStateManager::default();
        drop(log);
        self.high_watermark.store(offset, Ordering::Release);
        self.publish_high_watermark(offset);
        Ok(())
    }

    /// The newest leader epoch in this replica's log, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.log_read().leader_epochs().latest_epoch()
    }

    /// OffsetForLeaderEpoch: (largest epoch ≤ `epoch`, the offset where the next one starts).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let log = self.log_read();
        log.leader_epochs()
            .end_offset_for(epoch, log.log_end_offset())
    }
}

#[cfg(test)]
mod tests;
