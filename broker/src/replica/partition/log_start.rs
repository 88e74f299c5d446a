//! A replica's log start offset as replication moves it (Kafka's `deleteRecordsOnLeader`,
//! `lowWatermarkIfLeader` and the follower's `maybeIncrementLogStartOffset`):
//!
//! - DeleteRecords raises the leader's log start, up to the high watermark.
//! - The leader's fetch responses carry its log start; a follower raises its own to it.
//! - The followers' fetch requests carry their log starts; the leader keeps them beside their
//!   log end offsets ([`FollowerState::log_start`]). The lowest of its own and theirs is the
//!   partition's low watermark, which a DeleteRecords waits for (woken through
//!   [`Partition::subscribe_log_starts`]).

use super::{lock, Partition, PartitionError};
use crate::log::LogError;
use crate::replica::isr::FollowerState;

impl Partition {
    /// DeleteRecords on the leader: raises the log start to `offset` (-1: the high
    /// watermark), deleting the segments wholly below it. An offset past the high watermark is
    /// out of range. Returns the offset the low watermark has to reach.
    pub fn delete_records(&self, offset: i64) -> Result<i64, PartitionError> {
        self.dir().check_online()?;
        // Held throughout, so that leadership cannot move between the check and the write.
        let role = lock(&self.role);
        if role.leader != self.broker_id {
            return Err(PartitionError::NotLeader);
        }
        let hw = self.high_watermark();
        let target = if offset == -1 { hw } else { offset };
        let mut log = self.log_write();
        if !log.config().cleanup_policy.delete {
            return Err(PartitionError::DeleteNotAllowed);
        }
        if target < 0 || target > hw {
            return Err(PartitionError::Log(LogError::OffsetOutOfRange {
                requested: target,
                log_start: log.log_start_offset(),
                log_end: hw,
            }));
        }
        let before = log.log_start_offset();
        self.dir().guard(|| log.raise_log_start_offset(target))?;
        let moved = log.log_start_offset() != before;
        drop(log);
        drop(role);
        if moved {
            tracing::info!(topic = %self.topic, partition = self.index, log_start = target, "log start offset raised (DeleteRecords)");
            self.publish_log_start();
        }
        Ok(target)
    }

    /// The low watermark: the lowest log start of this leader and of its followers on the
    /// brokers `alive` says are alive (one that has not fetched yet counts as -1). `None`
    /// unless this replica leads.
    pub fn low_watermark(&self, alive: impl Fn(i32) -> bool) -> Option<i64> {
        if !self.is_leader() {
            return None;
        }
        let own = self.log_start_offset();
        let followers = lock(&self.followers);
        let lowest = followers
            .iter()
            .filter(|(id, _)| alive(**id))
            .map(|(_, f): (_, &FollowerState)| f.log_start)
            .fold(own, i64::min);
        Some(lowest)
    }

    /// The log start for the log dir's `log-start-offset-checkpoint`, if it needs an entry.
    pub fn log_start_to_checkpoint(&self) -> Option<i64> {
        self.log_read().log_start_to_checkpoint()
    }

    /// A follower takes its leader's log start from a fetch response, never past its own high
    /// watermark (which the leader's start cannot pass either). Lower starts change nothing.
    pub fn follow_leader_log_start(&self, leader_start: i64) -> Result<(), LogError> {
        if leader_start <= self.log_start_offset() {
            return Ok(());
        }
        let target = leader_start.min(self.high_watermark());
        let mut log = self.log_write();
        let before = log.log_start_offset();
        self.dir().guard(|| log.raise_log_start_offset(target))?;
        let moved = log.log_start_offset() != before;
        drop(log);
        if moved {
            tracing::debug!(topic = %self.topic, partition = self.index, log_start = target, "log start offset follows the leader's");
            self.publish_log_start();
        }
        Ok(())
    }
}
