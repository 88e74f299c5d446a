//! Owns every hosted partition (Kafka's `LogManager` + `ReplicaManager`, minus replication).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tracing::{info, warn};

use crate::log::{Log, LogConfig, LogError};
use crate::replica::checkpoint::{self, HIGH_WATERMARK_FILE};
use crate::replica::partition::{Partition, ReplicaRole};
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
    log_dirs: Vec<PathBuf>,
    log_config: LogConfig,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Per-topic config overrides from `/config/topics/<t>`.
    topic_overrides: RwLock<HashMap<String, Overrides>>,
}

impl ReplicaManager {
    /// Opens (and recovers) every partition log found in `log_dirs`.
    pub fn open(
        broker_id: i32,
        log_dirs: Vec<PathBuf>,
        log_config: LogConfig,
    ) -> Result<Self, LogError> {
        let manager = ReplicaManager {
            broker_id,
            log_dirs,
            log_config,
            partitions: RwLock::new(HashMap::new()),
            topic_overrides: RwLock::new(HashMap::new()),
        };
        for dir in manager.log_dirs.clone() {
            manager.load_dir(&dir)?;
        }
        Ok(manager)
    }

    fn load_dir(&self, dir: &Path) -> Result<(), LogError> {
        let entries = std::fs::read_dir(dir).map_err(|source| LogError::Io {
            context: format!("listing log dir {}", dir.display()),
            source,
        })?;
        let high_watermarks = checkpoint::read(&dir.join(HIGH_WATERMARK_FILE))?;
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
            let log = Log::open(&path, self.log_config.clone())?;
            info!(
                topic,
                partition = index,
                log_end_offset = log.log_end_offset(),
                "loaded partition log"
            );
            let partition = Partition::new(topic.clone(), index, self.broker_id, log)?;
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

    /// The log dir holding the fewest partitions: where a new partition goes (the first such
    /// dir, as Kafka's `nextLogDirs`). One pass without locking any partition: creating a
    /// thousand partitions on a broker that hosts thousands used to take seconds of CPU here.
    fn pick_log_dir(&self) -> PathBuf {
        match self.log_dirs.as_slice() {
            [] => PathBuf::from("/tmp/kafka-logs"),
            [only] => only.clone(),
            dirs => {
                let mut counts = vec![0usize; dirs.len()];
                for p in self.read().values() {
                    let held = dirs
                        .iter()
                        .position(|d| p.dir_parent() == Some(d.as_path()));
                    if let Some(i) = held {
                        counts[i] += 1;
                    }
                }
                let fewest = (0..dirs.len()).min_by_key(|&i| counts[i]).unwrap_or(0);
                dirs[fewest].clone()
            }
        }
    }

    /// Returns the partition, creating its log if this broker does not host it yet.
    pub fn get_or_create(&self, topic: &str, index: i32) -> Result<Arc<Partition>, LogError> {
        if let Some(p) = self.get(topic, index) {
            return Ok(p);
        }
        let dir = self.pick_log_dir().join(format!("{topic}-{index}"));
        let log = Log::open(&dir, self.log_config_for(topic))?;
        let partition = Arc::new(Partition::new(
            topic.to_string(),
            index,
            self.broker_id,
            log,
        )?);
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
        match overrides.get(topic) {
            Some(o) => topic_config::log_config(&self.log_config, o),
            None => self.log_config.clone(),
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

    /// Adopts a topic's new overrides and applies them to its hosted partitions' logs.
    pub fn set_topic_overrides(&self, topic: &str, overrides: Overrides) {
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

    /// Applies one partition's state from a LeaderAndIsr request; returns the partition and
    /// whether its leadership changed.
    pub fn apply_role(
        &self,
        topic: &str,
        index: i32,
        role: ReplicaRole,
        now_ms: i64,
    ) -> Result<(Arc<Partition>, bool), LogError> {
        let partition = self.get_or_create(topic, index)?;
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

    /// Writes every log dir's high-watermark checkpoint.
    pub fn checkpoint_high_watermarks(&self) {
        let partitions = self.all();
        for dir in &self.log_dirs {
            let entries: Vec<_> = partitions
                .iter()
                .filter(|p| p.dir_parent() == Some(dir.as_path()))
                .map(|p| ((p.topic.clone(), p.index), p.high_watermark()))
                .collect();
            if let Err(e) = checkpoint::write(&dir.join(HIGH_WATERMARK_FILE), &entries) {
                warn!(dir = %dir.display(), error = %e, "high watermark checkpoint failed");
            }
        }
    }

    /// Releases every partition's parked acks=all produces and long-poll fetches (see
    /// [`Partition::release_waiters`]): for the shutdown drain, which otherwise waits for them
    /// until their request timeouts.
    pub fn release_waiters(&self) {
        for p in self.all() {
            p.release_waiters();
        }
    }

    /// Flushes every log (shutdown, or a periodic flush).
    pub fn flush_all(&self) {
        for p in self.all() {
            if let Err(e) = p.flush() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// Applies time and size retention to every log.
    pub fn enforce_retention(&self, now_ms: i64) {
        for p in self.all() {
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
        let removed = self.write().remove(&(topic.to_string(), partition));
        let Some(removed) = removed else {
            return Ok(());
        };
        // Fetch sessions holding it look it up again (and find it gone).
        removed.changed();
        let Some(parent) = removed.dir_parent() else {
            return Ok(());
        };
        let dir = parent.join(format!("{topic}-{partition}"));
        let doomed = parent.join(format!(
            "{topic}-{partition}.{}-delete",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::rename(&dir, &doomed).map_err(|source| LogError::Io {
            context: format!("renaming {} for deletion", dir.display()),
            source,
        })?;
        std::fs::remove_dir_all(&doomed).map_err(|source| LogError::Io {
            context: format!("deleting {}", doomed.display()),
            source,
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
        p.dir_parent().expect("in a log dir").to_path_buf()
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
            manager.get_or_create("t", i).expect("create");
        }
        assert_eq!(dir_of(&manager, "t", 0), dirs[0]);
        assert_eq!(dir_of(&manager, "t", 1), dirs[1]);
        assert_eq!(dir_of(&manager, "t", 2), dirs[0]);
        assert!(dirs[1].join("t-1").is_dir());
        drop(manager);

        // Reopened, the partitions found on disk count: the next one goes to the second dir.
        let manager = ReplicaManager::open(1, dirs.clone(), LogConfig::default()).expect("reopen");
        assert_eq!(dir_of(&manager, "t", 2), dirs[0]);
        manager.get_or_create("u", 0).expect("create");
        assert_eq!(dir_of(&manager, "u", 0), dirs[1]);

        // Deleting frees its dir's place: two deleted from the second dir, the next two go there.
        manager.stop_replica("t", 1, true).expect("delete");
        manager.stop_replica("u", 0, true).expect("delete");
        assert!(!dirs[1].join("t-1").exists());
        manager.get_or_create("v", 0).expect("create");
        manager.get_or_create("v", 1).expect("create");
        assert_eq!(dir_of(&manager, "v", 0), dirs[1]);
        assert_eq!(dir_of(&manager, "v", 1), dirs[1]);
    }
}
