//! Owns every hosted partition (Kafka's `LogManager` + `ReplicaManager`, minus replication).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tracing::{info, warn};

use crate::log::{Log, LogConfig, LogError};
use crate::replica::checkpoint::{self, HIGH_WATERMARK_FILE, LOG_START_OFFSET_FILE};
use crate::replica::dir_move::DirMoves;
use crate::replica::log_dirs::{LogDir, LogDirs};
use crate::replica::partition::{Partition, ReplicaRole};
use crate::replica::throttle::ReplicationQuotas;
use crate::topic_config::{self, Overrides};

/// (topic, partition).
pub type TopicPartition = (String, i32);

/// Splits a partition directory name `<topic>-<partition>` (topics may contain '-').
pub fn parse_partition_dir(name: &str) -> Option<TopicPartition> {
    if name.ends_with("-delete") || name.ends_with("-future") || name.starts_with('.') {
        return None;
    }
    let (topic, index) = name.rsplit_once('-')?;
    let index: i32 = index.parse().ok()?;
    if topic.is_empty() || index < 0 {
        return None;
    }
    Some((topic.to_string(), index))
}

/// All partitions hosted here.
#[derive(Debug)]
pub struct ReplicaManager {
    broker_id: i32,
    log_dirs: LogDirs,
    /// The broker's log defaults (static, or dynamic from `/config/brokers`).
    log_defaults: RwLock<LogConfig>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Per-topic config overrides from `/config/topics/<t>`.
    topic_overrides: RwLock<HashMap<String, Overrides>>,
    /// The replication throttles; their throttled replicas follow the topic overrides.
    quotas: Arc<ReplicationQuotas>,
    /// Held while a dir's checkpoints are computed and written: two writers would share the
    /// temporary file (one renames it from under the other, failing the dir), and the later
    /// one must also have looked later, or a deleted replica's entry could come back.
    checkpoint_writes: Mutex<()>,
    /// Replicas on their way to another log dir (AlterReplicaLogDirs).
    moves: DirMoves,
    /// Where replicas not hosted yet go when created: AlterReplicaLogDirs may come first (a
    /// reassignment with log dirs sends it before the replica exists), as Kafka's
    /// `preferredLogDirs`.
    preferred_dirs: Mutex<HashMap<TopicPartition, Arc<LogDir>>>,
    /// Held by whatever changes the directory a replica is in: a move's start or swap, a
    /// deletion (Kafka's `logCreationOrDeletionLock`). Taken before any partition's lock.
    dir_changes: Mutex<()>,
}

impl ReplicaManager {
    /// Opens (and recovers) every partition log found in `log_dirs`. A dir whose files cannot
    /// be read or written fails (and stays offline) as it would while running, as Kafka's
    /// `LogManager.loadLogs` does; only when every dir has failed is that an error.
    pub fn open(
        broker_id: i32,
        log_dirs: Vec<PathBuf>,
        log_config: LogConfig,
    ) -> Result<Self, LogError> {
        let manager = ReplicaManager {
            broker_id,
            log_dirs: LogDirs::new(log_dirs),
            log_defaults: RwLock::new(log_config),
            partitions: RwLock::new(HashMap::new()),
            topic_overrides: RwLock::new(HashMap::new()),
            quotas: Arc::new(ReplicationQuotas::unlimited()),
            checkpoint_writes: Mutex::new(()),
            moves: DirMoves::default(),
            preferred_dirs: Mutex::new(HashMap::new()),
            dir_changes: Mutex::new(()),
        };
        let mut first_failure = None;
        for dir in manager.log_dirs.all() {
            match manager.load_dir(dir) {
                Ok(()) => {}
                Err(e) if e.is_io() => {
                    dir.fail(&e);
                    first_failure.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        match first_failure {
            Some(e) if manager.log_dirs.all_offline() => Err(e),
            failure => {
                manager.recover_moves(failure.is_none());
                Ok(manager)
            }
        }
    }

    /// Uses `quotas` for the replication throttles (before any topic override is set).
    pub fn with_quotas(mut self, quotas: Arc<ReplicationQuotas>) -> Self {
        self.quotas = quotas;
        self
    }

    /// The replication throttles: the leader side's for the fetch handler, the follower side's
    /// for the fetchers.
    pub fn quotas(&self) -> &Arc<ReplicationQuotas> {
        &self.quotas
    }

    /// The log dirs and which have failed.
    pub fn log_dirs(&self) -> &LogDirs {
        &self.log_dirs
    }

    /// The moves of replicas between log dirs under way.
    pub fn moves(&self) -> &DirMoves {
        &self.moves
    }

    /// See the `dir_changes` field.
    pub(crate) fn lock_dir_changes(&self) -> MutexGuard<'_, ()> {
        self.dir_changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates `topic`-`index` in `dir` when it comes (see the `preferred_dirs` field).
    pub(crate) fn prefer_dir(&self, topic: &str, index: i32, dir: Arc<LogDir>) {
        let mut preferred = self
            .preferred_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        preferred.insert((topic.to_string(), index), dir);
    }

    /// Hosts a partition opened outside `load_dir` (a future log adopted at start).
    pub(crate) fn adopt(&self, partition: Arc<Partition>) {
        let key = (partition.topic.clone(), partition.index);
        self.write().insert(key, partition);
    }

    fn load_dir(&self, log_dir: &Arc<LogDir>) -> Result<(), LogError> {
        let dir = log_dir.path();
        let entries = std::fs::read_dir(dir).map_err(|source| LogError::Io {
            context: format!("listing log dir {}", dir.display()),
            source,
        })?;
        let high_watermarks = checkpoint::read(&dir.join(HIGH_WATERMARK_FILE))?;
        let log_starts = checkpoint::read(&dir.join(LOG_START_OFFSET_FILE))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some((topic, index)) = parse_partition_dir(name) else {
                continue;
            };
            let mut log = Log::open(&path, self.log_defaults())?;
            if let Some(&start) = log_starts.get(&(topic.clone(), index)) {
                log.restore_log_start_offset(start)?;
            }
            info!(
                topic,
                partition = index,
                log_start_offset = log.log_start_offset(),
                log_end_offset = log.log_end_offset(),
                "loaded partition log"
            );
            let partition =
                Partition::new(topic.clone(), index, self.broker_id, log, log_dir.clone())?;
            if let Some(&hw) = high_watermarks.get(&(topic.clone(), index)) {
                partition.restore_high_watermark(hw);
            }
            self.write().insert((topic, index), Arc::new(partition));
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<TopicPartition, Arc<Partition>>> {
        self.partitions.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<TopicPartition, Arc<Partition>>> {
        self.partitions.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.read().get(&(topic.to_string(), partition)).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.read().values().cloned().collect()
    }

    /// The online log dir holding the fewest partitions: where a new partition goes (the first
    /// such dir, as Kafka's `nextLogDirs`). One pass without locking any partition: creating a
    /// thousand partitions on a broker that hosts thousands used to take seconds of CPU here.
    fn pick_log_dir(&self) -> Result<Arc<LogDir>, LogError> {
        let dirs: Vec<&Arc<LogDir>> = self.log_dirs.online().collect();
        if dirs.len() > 1 {
            let mut counts = vec![0usize; dirs.len()];
            for p in self.read().values() {
                if let Some(i) = dirs.iter().position(|d| Arc::ptr_eq(d, &p.log_dir())) {
                    counts[i] += 1;
                }
            }
            let fewest = (0..dirs.len()).min_by_key(|&i| counts[i]).unwrap_or(0);
            return Ok(dirs[fewest].clone());
        }
        match (dirs.first(), self.log_dirs.all().first()) {
            (Some(only), _) => Ok((*only).clone()),
            (None, Some(failed)) => Err(LogError::DirOffline(failed.path().to_path_buf())),
            (None, None) => Err(LogError::Corrupt("no log dir configured".into())),
        }
    }

    /// Returns the partition, creating its log if this broker does not host it yet. A replica
    /// that should exist already (`is_new` false, the controller's IsNew) is not created while
    /// a log dir is offline: its log may be in that dir (Kafka's rule in `getOrCreateLog`).
    pub fn get_or_create(
        &self,
        topic: &str,
        index: i32,
        is_new: bool,
    ) -> Result<Arc<Partition>, LogError> {
        if let Some(p) = self.get(topic, index) {
            return Ok(p);
        }
        if !is_new {
            if let Some(failed) = self.log_dirs.all().iter().find(|d| d.is_offline()) {
                return Err(LogError::DirOffline(failed.path().to_path_buf()));
            }
        }
        let preferred = self
            .preferred_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(topic.to_string(), index))
            .filter(|d| !d.is_offline());
        let log_dir = match preferred {
            Some(dir) => dir,
            None => self.pick_log_dir()?,
        };
        let dir = log_dir.path().join(format!("{topic}-{index}"));
        let log = log_dir.guard(|| Log::open(&dir, self.log_config_for(topic)))?;
        let partition = Arc::new(log_dir.guard(|| {
            Partition::new(
                topic.to_string(),
                index,
                self.broker_id,
                log,
                log_dir.clone(),
            )
        })?);
        let mut map = self.write();
        let entry = map
            .entry((topic.to_string(), index))
            .or_insert_with(|| partition.clone());
        Ok(entry.clone())
    }

    /// The log settings of `topic`: broker defaults with the topic's overrides.
    pub fn log_config_for(&self, topic: &str) -> LogConfig {
        let overrides = self
            .topic_overrides
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let defaults = self.log_defaults();
        match overrides.get(topic) {
            Some(o) => topic_config::log_config(&defaults, o),
            None => defaults,
        }
    }

    /// The broker's current log defaults.
    fn log_defaults(&self) -> LogConfig {
        self.log_defaults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adopts new broker log defaults (a dynamic broker config changed) and applies them,
    /// under each topic's overrides, to every hosted partition's log: Kafka's
    /// `DynamicLogConfig.reconfigure`.
    pub fn set_log_defaults(&self, defaults: LogConfig) {
        *self.log_defaults.write().unwrap_or_else(|e| e.into_inner()) = defaults;
        for p in self.all() {
            p.set_log_config(self.log_config_for(&p.topic));
        }
    }

    /// The topic's overrides, if it has any.
    pub fn topic_overrides(&self, topic: &str) -> Option<Overrides> {
        let overrides = self
            .topic_overrides
            .read()
            .unwrap_or_else(|e| e.into_inner());
        overrides.get(topic).cloned()
    }

    /// Adopts a topic's new overrides and applies them to its hosted partitions' logs and to
    /// the replication throttles.
    pub fn set_topic_overrides(&self, topic: &str, overrides: Overrides) {
        self.quotas
            .apply_topic_configs(topic, &overrides, self.broker_id);
        {
            let mut all = self
                .topic_overrides
                .write()
                .unwrap_or_else(|e| e.into_inner());
            if overrides.is_empty() {
                all.remove(topic);
            } else {
                all.insert(topic.to_string(), overrides);
            }
        }
        let config = self.log_config_for(topic);
        for p in self.all().into_iter().filter(|p| p.topic == topic) {
            p.set_log_config(config.clone());
        }
    }

    /// Applies one partition's state from a LeaderAndIsr request (`is_new`: its IsNew flag);
    /// returns the partition and whether its leadership changed. A replica in a failed log dir
    /// refuses (KAFKA_STORAGE_ERROR): that is how the controller learns it is offline.
    pub fn apply_role(
        &self,
        topic: &str,
        index: i32,
        role: ReplicaRole,
        is_new: bool,
        now_ms: i64,
    ) -> Result<(Arc<Partition>, bool), LogError> {
        let partition = self.get_or_create(topic, index, is_new)?;
        partition.check_online()?;
        let leader = role.leader;
        let epoch = role.leader_epoch;
        let applied = partition.apply_role(role, now_ms);
        if applied {
            let as_what = if leader == self.broker_id {
                "leader"
            } else {
                "follower"
            };
            info!(
                topic,
                partition = index,
                leader,
                leader_epoch = epoch,
                "became {as_what}"
            );
        }
        Ok((partition, applied))
    }

    /// Leader partitions whose ISR should shrink, with the proposed ISR.
    pub fn isr_shrink_candidates(
        &self,
        now_ms: i64,
        lag_ms: i64,
    ) -> Vec<(Arc<Partition>, Vec<i32>)> {
        self.all()
            .into_iter()
            .filter_map(|p| p.isr_shrink_candidate(now_ms, lag_ms).map(|isr| (p, isr)))
            .collect()
    }

    /// Writes every online log dir's high-watermark and log-start checkpoints (a failure fails
    /// the dir). Kafka writes the log starts every minute; here both go every few seconds.
    pub fn write_checkpoints(&self) {
        for dir in self.log_dirs.online() {
            self.write_dir_checkpoints(dir);
        }
    }

    /// The checkpoints of `dir`, from the partitions that live there now.
    pub(crate) fn write_dir_checkpoints(&self, dir: &Arc<LogDir>) {
        let _writing = self
            .checkpoint_writes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let partitions = self.all();
        let here: Vec<&Arc<Partition>> = partitions
            .iter()
            .filter(|p| Arc::ptr_eq(&p.log_dir(), dir))
            .collect();
        let tp = |p: &Partition| (p.topic.clone(), p.index);
        let high_watermarks: Vec<_> = here.iter().map(|p| (tp(p), p.high_watermark())).collect();
        let log_starts: Vec<_> = here
            .iter()
            .filter_map(|p| p.log_start_to_checkpoint().map(|start| (tp(p), start)))
            .collect();
        let _ = dir.guard(|| {
            checkpoint::write(&dir.path().join(HIGH_WATERMARK_FILE), &high_watermarks)?;
            checkpoint::write(&dir.path().join(LOG_START_OFFSET_FILE), &log_starts)
        });
    }

    /// The partitions in `dir`, which has failed: their parked requests are released; the
    /// caller stops their fetchers. They stay listed, answering KAFKA_STORAGE_ERROR.
    pub fn take_offline(&self, dir: &Arc<LogDir>) -> Vec<Arc<Partition>> {
        self.moves.cancel_in(dir);
        let offline: Vec<Arc<Partition>> = self
            .all()
            .into_iter()
            .filter(|p| Arc::ptr_eq(&p.log_dir(), dir))
            .collect();
        for p in &offline {
            // Wakes parked acks=all produces (answered KAFKA_STORAGE_ERROR) and long polls.
            p.release_waiters();
        }
        offline
    }

    /// Releases every partition's parked acks=all produces and long-poll fetches (see
    /// [`Partition::release_waiters`]): for the shutdown drain, which otherwise waits for them
    /// until their request timeouts.
    pub fn release_waiters(&self) {
        for p in self.all() {
            p.release_waiters();
        }
    }

    /// Flushes every log in an online dir (shutdown, or a periodic flush).
    pub fn flush_all(&self) {
        for p in self.all().into_iter().filter(|p| !p.log_dir().is_offline()) {
            if let Err(e) = p.flush() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// fsyncs the segments every log rolled since the last call (a failure fails the dir).
    pub fn sync_rolled(&self) {
        for p in self.all().into_iter().filter(|p| !p.log_dir().is_offline()) {
            if let Err(e) = p.sync_rolled() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "syncing rolled segments failed");
            }
        }
    }

    /// Applies time and size retention to every log in an online dir.
    pub fn enforce_retention(&self, now_ms: i64) {
        for p in self.all().into_iter().filter(|p| !p.log_dir().is_offline()) {
            match p.enforce_retention(now_ms) {
                Ok(0) => {}
                Ok(n) => {
                    info!(topic = %p.topic, partition = p.index, segments = n, "retention deleted segments")
                }
                Err(e) => {
                    warn!(topic = %p.topic, partition = p.index, error = %e, "retention failed")
                }
            }
        }
    }
}

impl ReplicaManager {
    /// StopReplica: stop hosting `topic`-`partition` as leader or follower; with `delete` also
    /// forget it and remove its log directory (renamed to `<dir>.<uuid>-delete` first, as Kafka
    /// does, so a crash mid-delete never leaves a directory that looks like a live partition).
    ///
    /// Without `delete` the partition stays (its log is kept for a later LeaderAndIsr); follower
    /// fetching stops because the replica fetcher only follows partitions whose role names a
    /// live leader other than us.
    pub fn stop_replica(&self, topic: &str, partition: i32, delete: bool) -> Result<(), LogError> {
        if !delete {
            info!(topic, partition, "stopped replica");
            return Ok(());
        }
        let _changes = self.lock_dir_changes();
        if let Some(p) = self.get(topic, partition) {
            // A log in a failed dir is neither deleted nor forgotten (Kafka answers the same).
            p.check_online()?;
        }
        // Its future log goes first: one left alone would be taken for a finished move.
        self.moves.cancel(topic, partition);
        let removed = self.write().remove(&(topic.to_string(), partition));
        let Some(removed) = removed else {
            return Ok(());
        };
        // Fetch sessions holding it look it up again (and find it gone).
        removed.changed();
        let log_dir = removed.log_dir();
        // Its checkpoint entries go first, as in Kafka: a log created later under the same
        // name must not inherit this one's start.
        self.write_dir_checkpoints(&log_dir);
        let dir = log_dir.path().join(format!("{topic}-{partition}"));
        let doomed = log_dir.path().join(format!(
            "{topic}-{partition}.{}-delete",
            uuid::Uuid::new_v4().simple()
        ));
        log_dir.guard(|| {
            std::fs::rename(&dir, &doomed).map_err(|source| LogError::Io {
                context: format!("renaming {} for deletion", dir.display()),
                source,
            })?;
            std::fs::remove_dir_all(&doomed).map_err(|source| LogError::Io {
                context: format!("deleting {}", doomed.display()),
                source,
            })
        })?;
        info!(topic, partition, "deleted replica");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dir_names() {
        assert_eq!(
            parse_partition_dir("my-topic-3"),
            Some(("my-topic".into(), 3))
        );
        assert_eq!(parse_partition_dir("t-0"), Some(("t".into(), 0)));
        assert_eq!(parse_partition_dir("t-0.abc-delete"), None);
        assert_eq!(parse_partition_dir("nodash"), None);
        assert_eq!(parse_partition_dir("t-x"), None);
    }

    fn dir_of(manager: &ReplicaManager, topic: &str, index: i32) -> PathBuf {
        let p = manager.get(topic, index).expect("hosted");
        p.log_dir().path().to_path_buf()
    }

    #[test]
    fn new_partitions_go_to_the_log_dir_holding_fewest() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let manager = ReplicaManager::open(1, dirs.clone(), LogConfig::default()).expect("open");
        for i in 0..3 {
            manager.get_or_create("t", i, true).expect("create");
        }
        assert_eq!(dir_of(&manager, "t", 0), dirs[0]);
        assert_eq!(dir_of(&manager, "t", 1), dirs[1]);
        assert_eq!(dir_of(&manager, "t", 2), dirs[0]);
        assert!(dirs[1].join("t-1").is_dir());
        drop(manager);

        // Reopened, the partitions found on disk count: the next one goes to the second dir.
        let manager = ReplicaManager::open(1, dirs.clone(), LogConfig::default()).expect("reopen");
        assert_eq!(dir_of(&manager, "t", 2), dirs[0]);
        manager.get_or_create("u", 0, true).expect("create");
        assert_eq!(dir_of(&manager, "u", 0), dirs[1]);

        // Deleting frees its dir's place: two deleted from the second dir, the next two go there.
        manager.stop_replica("t", 1, true).expect("delete");
        manager.stop_replica("u", 0, true).expect("delete");
        assert!(!dirs[1].join("t-1").exists());
        manager.get_or_create("v", 0, true).expect("create");
        manager.get_or_create("v", 1, true).expect("create");
        assert_eq!(dir_of(&manager, "v", 0), dirs[1]);
        assert_eq!(dir_of(&manager, "v", 1), dirs[1]);
    }

    /// One validated batch of one record, as a Produce request brings it.
    fn produced() -> crate::records::validate::ValidatedBatches {
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let records: Vec<Record> = (0..1)
            .map(|i| Record {
                transactional: false,
                control: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i,
                sequence: -1,
                timestamp: 1000,
                key: None,
                value: Some(bytes::Bytes::from_static(b"value")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
        crate::records::validate::validate_produce(&buf.freeze(), 8, 1 << 20, false).expect("valid")
    }

    fn leader_role() -> ReplicaRole {
        ReplicaRole {
            leader: 1,
            leader_epoch: 1,
            isr: vec![1],
            replicas: vec![1],
            partition_epoch: 1,
            controller_epoch: 1,
        }
    }

    /// Writes to `path` fail with ENOSPC from now on.
    fn full(path: &std::path::Path) {
        let _ = std::fs::remove_file(path);
        std::os::unix::fs::symlink("/dev/full", path).expect("symlink to /dev/full");
    }

    #[test]
    fn a_write_the_disk_refuses_takes_the_whole_dir_offline() {
        use crate::replica::PartitionError;
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        // t-0 lives in the first dir, whose disk is full.
        drop(Log::open(&dirs[0].join("t-0"), LogConfig::default()).expect("log"));
        full(&dirs[0].join("t-0").join(format!("{:020}.log", 0)));
        let manager = ReplicaManager::open(1, dirs.clone(), LogConfig::default()).expect("open");
        let (p, _) = manager
            .apply_role("t", 0, leader_role(), false, 0)
            .expect("leader");
        let failed = p.append_as_leader(produced(), 1, 1, None);
        assert!(matches!(
            failed,
            Err(PartitionError::Log(LogError::Io { .. }))
        ));
        let a_dir = manager.log_dirs().all()[0].clone();
        assert!(a_dir.is_offline() && !manager.log_dirs().all_offline());
        // From now on nothing in the dir is touched: KAFKA_STORAGE_ERROR at once.
        let offline = |r: Result<_, LogError>| matches!(r, Err(LogError::DirOffline(_)));
        assert!(matches!(
            p.append_as_leader(produced(), 1, 1, None),
            Err(PartitionError::Log(LogError::DirOffline(_)))
        ));
        assert!(offline(p.read(0, 1024, true, false).map(drop)));
        assert!(offline(p.flush()));
        assert!(offline(
            manager
                .apply_role("t", 0, leader_role(), false, 0)
                .map(drop)
        ));
        assert!(offline(manager.stop_replica("t", 0, true)));
        // A replica that should exist may be in the failed dir: not re-created elsewhere.
        assert!(offline(manager.get_or_create("u", 0, false).map(drop)));
        // A new one goes to the dir still online.
        manager.get_or_create("u", 0, true).expect("new replica");
        assert_eq!(dir_of(&manager, "u", 0), dirs[1]);
        let taken: Vec<_> = manager
            .take_offline(&a_dir)
            .iter()
            .map(|p| (p.topic.clone(), p.index))
            .collect();
        assert_eq!(taken, vec![("t".to_string(), 0)]);

        // The last dir fails on its high-watermark checkpoint.
        full(&dirs[1].join(HIGH_WATERMARK_FILE).with_extension("tmp"));
        manager.write_checkpoints();
        assert!(manager.log_dirs().all_offline());
    }

    #[test]
    fn log_starts_survive_a_restart_through_the_checkpoint_and_leave_with_their_replica() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dirs = vec![dir.path().to_path_buf()];
        let config = LogConfig {
            segment_bytes: 200,
            ..LogConfig::default()
        };
        let manager = ReplicaManager::open(1, dirs.clone(), config.clone()).expect("open");
        let (p, _) = manager
            .apply_role("t", 0, leader_role(), true, 0)
            .expect("leader");
        for _ in 0..10 {
            p.append_as_leader(produced(), 1, 1, None).expect("append");
        }
        // Small segments: those below 7 are deleted, and 7 may or may not be a segment base.
        assert_eq!(p.delete_records(7).expect("delete"), 7);
        manager.write_checkpoints();
        drop(p);
        drop(manager);
        let manager = ReplicaManager::open(1, dirs.clone(), config.clone()).expect("reopen");
        assert_eq!(manager.get("t", 0).expect("hosted").log_start_offset(), 7);
        drop(manager);

        // A start inside a segment needs the checkpoint.
        let dir = tempfile::tempdir().expect("tempdir");
        let dirs = vec![dir.path().to_path_buf()];
        let big = LogConfig::default();
        let manager = ReplicaManager::open(1, dirs.clone(), big.clone()).expect("open");
        let (p, _) = manager
            .apply_role("u", 0, leader_role(), true, 0)
            .expect("leader");
        for _ in 0..10 {
            p.append_as_leader(produced(), 1, 1, None).expect("append");
        }
        p.delete_records(4).expect("delete");
        manager.write_checkpoints();
        let text = std::fs::read_to_string(dir.path().join(LOG_START_OFFSET_FILE)).expect("file");
        assert_eq!(text, "0\n1\nu 0 4\n");
        drop(p);
        drop(manager);
        let manager = ReplicaManager::open(1, dirs.clone(), big.clone()).expect("reopen");
        let p = manager.get("u", 0).expect("hosted");
        assert_eq!(p.log_start_offset(), 4);
        assert!(matches!(
            p.read(3, 1 << 20, true, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        // Deleting the replica drops its entry at once.
        manager.stop_replica("u", 0, true).expect("delete");
        let text = std::fs::read_to_string(dir.path().join(LOG_START_OFFSET_FILE)).expect("file");
        assert_eq!(text, "0\n0\n");
    }

    #[test]
    fn checkpoints_written_while_replicas_are_deleted_never_fail_the_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dirs = vec![dir.path().to_path_buf()];
        let manager = Arc::new(ReplicaManager::open(1, dirs, LogConfig::default()).expect("open"));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // The periodic checkpoint task, as the server runs it, but without pause.
        let writer = {
            let (manager, stop) = (manager.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    manager.write_checkpoints();
                }
            })
        };
        for i in 0..40 {
            manager
                .apply_role("t", i, leader_role(), true, 0)
                .expect("leader");
            manager.stop_replica("t", i, true).expect("delete");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().expect("writer");
        assert!(
            !manager.log_dirs().all_offline(),
            "a checkpoint write failed the dir"
        );
        manager.write_checkpoints();
        let text = std::fs::read_to_string(dir.path().join(HIGH_WATERMARK_FILE)).expect("file");
        assert_eq!(text, "0\n0\n", "deleted replicas left entries behind");
    }

    #[test]
    fn a_dir_that_cannot_be_read_at_start_is_offline_and_the_others_serve() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        // Reading the first dir's checkpoint fails (EISDIR stands for EIO here).
        std::fs::create_dir(dirs[0].join(HIGH_WATERMARK_FILE)).expect("mkdir");
        drop(Log::open(&dirs[1].join("t-1"), LogConfig::default()).expect("log"));
        let manager = ReplicaManager::open(1, dirs.clone(), LogConfig::default()).expect("open");
        assert!(manager.log_dirs().all()[0].is_offline());
        assert!(manager.get("t", 1).is_some());
        drop(manager);
        // With no dir left, starting fails with the cause.
        let alone = ReplicaManager::open(1, dirs[..1].to_vec(), LogConfig::default());
        assert!(matches!(alone, Err(LogError::Io { .. })));
    }
}
