//! Where moves begin: an AlterReplicaLogDirs request ([`ReplicaManager::alter_log_dir`]), or
//! a future log found when the broker starts ([`ReplicaManager::recover_moves`]).

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;
use tracing::{info, warn};

use super::{future_dir_name, parse_future_dir, remove_dir};
use crate::log::{Log, LogError};
use crate::replica::checkpoint::{self, HIGH_WATERMARK_FILE, LOG_START_OFFSET_FILE};
use crate::replica::log_dirs::LogDir;
use crate::replica::manager::{ReplicaManager, TopicPartition};
use crate::replica::Partition;

/// Longest file name a log dir's filesystem takes (Kafka refuses longer future dir names).
const MAX_NAME_LEN: usize = 255;

/// Why a replica cannot move to the dir asked for; each is one Kafka error code.
#[derive(Debug, Error)]
pub enum AlterDirError {
    /// LOG_DIR_NOT_FOUND.
    #[error("{0} is not one of this broker's log dirs")]
    DirNotFound(String),
    /// REPLICA_NOT_AVAILABLE: the replica will be created in the dir asked for.
    #[error("this broker does not host the replica yet")]
    ReplicaNotAvailable,
    /// INVALID_TOPIC_EXCEPTION: the future log's directory name would be too long.
    #[error("the topic name is too long for a future log directory")]
    NameTooLong,
    /// KAFKA_STORAGE_ERROR: a dir involved is offline, or failed on the way.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl ReplicaManager {
    /// AlterReplicaLogDirs for one replica, as Kafka's `ReplicaManager.alterReplicaLogDirs`:
    /// starts moving it to `dest` (a log dir as DescribeLogDirs names it). Already there, or
    /// already on its way there: nothing to do. Asked back to its current dir: its move is
    /// cancelled. Not hosted yet: it will be created in `dest` (REPLICA_NOT_AVAILABLE).
    pub fn alter_log_dir(&self, topic: &str, index: i32, dest: &str) -> Result<(), AlterDirError> {
        let dest = self
            .log_dirs()
            .get(Path::new(dest))
            .cloned()
            .ok_or_else(|| AlterDirError::DirNotFound(dest.to_string()))?;
        if future_dir_name(topic, index).len() > MAX_NAME_LEN {
            return Err(AlterDirError::NameTooLong);
        }
        dest.check_online()?;
        let _changes = self.lock_dir_changes();
        let Some(partition) = self.get(topic, index) else {
            self.prefer_dir(topic, index, dest);
            return Err(AlterDirError::ReplicaNotAvailable);
        };
        partition.check_online()?;
        if let Some(mv) = self.moves().get(topic, index) {
            if Arc::ptr_eq(&mv.dest, &dest) {
                return Ok(());
            }
            self.moves().cancel(topic, index);
        }
        if Arc::ptr_eq(&partition.log_dir(), &dest) {
            return Ok(());
        }
        // As Kafka: no future log while a dir is offline, which may hold another copy.
        if let Some(failed) = self.log_dirs().all().iter().find(|d| d.is_offline()) {
            return Err(LogError::DirOffline(failed.path().to_path_buf()).into());
        }
        let path = dest.path().join(future_dir_name(topic, index));
        let future = dest.guard(|| Log::open(&path, self.log_config_for(topic)))?;
        self.moves().start(partition, dest, future);
        Ok(())
    }

    /// At start, after every dir's partitions are loaded: removes `-delete` directories left
    /// by a stop, resumes the move of each future log beside its current one, and adopts a
    /// future log without one (the swap was cut between its renames) as the current log;
    /// unless a dir failed to load, which may hold that current log.
    pub(crate) fn recover_moves(&self, all_loaded: bool) {
        let dirs: Vec<Arc<LogDir>> = self.log_dirs().online().cloned().collect();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if name.ends_with("-delete") && path.is_dir() {
                    info!(path = %path.display(), "removing a replica directory left for deletion");
                    if let Err(e) = dir.guard(|| remove_dir(&path)) {
                        warn!(path = %path.display(), error = %e, "cannot remove it");
                    }
                    continue;
                }
                let Some((topic, index)) = parse_future_dir(name) else {
                    continue;
                };
                let recovered =
                    dir.guard(|| self.recover_future(&dir, &path, (&topic, index), all_loaded));
                if let Err(e) = recovered {
                    warn!(path = %path.display(), error = %e, "cannot recover a future log");
                }
            }
        }
    }

    /// The largest entry for `key` in the checkpoint `file` of any online dir.
    fn checkpointed(&self, file: &str, key: &TopicPartition) -> Option<i64> {
        self.log_dirs()
            .online()
            .filter_map(|d| {
                checkpoint::read(&d.path().join(file))
                    .ok()?
                    .get(key)
                    .copied()
            })
            .max()
    }

    fn recover_future(
        &self,
        dir: &Arc<LogDir>,
        path: &Path,
        (topic, index): (&str, i32),
        all_loaded: bool,
    ) -> Result<(), LogError> {
        let hosted = self.get(topic, index);
        match hosted {
            Some(p)
                if Arc::ptr_eq(&p.log_dir(), dir) || self.moves().get(topic, index).is_some() =>
            {
                warn!(path = %path.display(), "dropping a future log with no move to finish");
                remove_dir(path)
            }
            Some(p) => {
                let future = Log::open(path, self.log_config_for(topic))?;
                self.moves().start(p, dir.clone(), future);
                Ok(())
            }
            None if all_loaded => {
                let final_path = dir.path().join(format!("{topic}-{index}"));
                std::fs::rename(path, &final_path).map_err(|source| LogError::Io {
                    context: format!("renaming {} to {}", path.display(), final_path.display()),
                    source,
                })?;
                let mut log = Log::open(&final_path, self.log_config_for(topic))?;
                // Its offsets are still in the checkpoints of the dir it came from.
                let key = (topic.to_string(), index);
                if let Some(start) = self.checkpointed(LOG_START_OFFSET_FILE, &key) {
                    log.restore_log_start_offset(start)?;
                }
                info!(
                    topic,
                    partition = index,
                    dir = %dir.path().display(),
                    log_end_offset = log.log_end_offset(),
                    "finished a replica move cut short by a stop: the future log is the replica's"
                );
                let p =
                    Partition::new(topic.to_string(), index, self.broker_id(), log, dir.clone())?;
                if let Some(hw) = self.checkpointed(HIGH_WATERMARK_FILE, &key) {
                    p.restore_high_watermark(hw);
                }
                self.adopt(Arc::new(p));
                Ok(())
            }
            None => {
                warn!(path = %path.display(), "future log left alone: its current log may be in the failed dir");
                Ok(())
            }
        }
    }
}
