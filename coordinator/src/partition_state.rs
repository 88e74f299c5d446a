//! Leader-side access to `/brokers/topics/<t>/partitions/<p>/state` (Kafka's legacy ISR path,
//! IBP < 2.7-IV2: `ReplicationUtils.updateLeaderAndIsr` + `/isr_change_notification`).
//!
//! A partition leader that shrinks or expands its ISR writes the state node itself,
//! conditional on the zkVersion it holds (no controller-epoch check: it is not the
//! controller), then announces the change with [`notify_isr_change`] so the controller re-reads
//! the state and tells every broker.

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::{IsrChangeNotificationZNode, LeaderIsrAndControllerEpoch, PartitionStateZNode};

/// The partition's state and its zkVersion (the partition epoch); `None` if it has none.
pub async fn read_state(
    zk: &Zk,
    topic: &str,
    partition: i32,
) -> Result<Option<(LeaderIsrAndControllerEpoch, i32)>, ZkError> {
    match zk.get(&PartitionStateZNode::path(topic, partition)).await? {
        Some((data, stat)) => Ok(Some((
            PartitionStateZNode::decode(topic, partition, &data)?,
            stat.version,
        ))),
        None => Ok(None),
    }
}

/// Writes `new_state` (the leader's new ISR with its unchanged leader epoch and the controller
/// epoch from its last LeaderAndIsr) conditional on `expected_version`; returns the new
/// zkVersion.
///
/// On BADVERSION the node is re-read: if it already holds exactly `new_state` (a retried write
/// that landed) its version is returned; otherwise the BADVERSION error comes back
/// ([`ZkError::is_bad_version`]) and the leader should keep its old ISR until the controller
/// sends a new LeaderAndIsr.
pub async fn update_isr_as_leader(
    zk: &Zk,
    topic: &str,
    partition: i32,
    new_state: &LeaderIsrAndControllerEpoch,
    expected_version: i32,
) -> Result<i32, ZkError> {
    let path = PartitionStateZNode::path(topic, partition);
    let data = PartitionStateZNode::encode(new_state);
    match zk.set(&path, &data, Some(expected_version)).await {
        Ok(stat) => Ok(stat.version),
        Err(e) if e.is_bad_version() => match read_state(zk, topic, partition).await? {
            Some((current, version)) if current == *new_state => Ok(version),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Creates `/isr_change_notification/isr_change_N` listing `partitions`; returns its path.
pub async fn notify_isr_change(zk: &Zk, partitions: &[(String, i32)]) -> Result<String, ZkError> {
    zk.ensure_path(IsrChangeNotificationZNode::PATH).await?;
    zk.create_sequential(
        &IsrChangeNotificationZNode::sequential_prefix(),
        &IsrChangeNotificationZNode::encode(partitions),
    )
    .await
}
