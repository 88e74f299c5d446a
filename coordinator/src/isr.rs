//! The partition leader's own ISR writes (Kafka's legacy, pre-AlterPartition path): the
//! leader rewrites `/brokers/topics/<t>/partitions/<p>/state` conditionally on the zkVersion
//! it holds (the partition epoch), keeping leader and leader epoch, then tells the controller
//! through a sequential `/isr_change_notification/isr_change_` node.

use serde_json::json;
use zookeeper_client::{Acls, CreateMode};

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::{LeaderIsrAndControllerEpoch, PartitionStateZNode};

/// Outcome of a conditional ISR write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsrWrite {
    /// Written; the node's new zkVersion (the new partition epoch).
    Written(i32),
    /// Someone (the controller) changed the node first; keep the old ISR until the next
    /// LeaderAndIsr, as Kafka does.
    Conflict,
}

/// Writes `state` to the partition's state node if its zkVersion is still `expected_version`.
pub async fn update_isr_as_leader(
    zk: &Zk,
    topic: &str,
    partition: i32,
    state: &LeaderIsrAndControllerEpoch,
    expected_version: i32,
) -> Result<IsrWrite, ZkError> {
    let path = PartitionStateZNode::path(topic, partition);
    let data = PartitionStateZNode::encode(state);
    match zk.set(&path, &data, Some(expected_version)).await {
        Ok(stat) => Ok(IsrWrite::Written(stat.version)),
        Err(e) if e.is_bad_version() => {
            // A retried write that actually landed reads back as what we wrote.
            match zk.get(&path).await? {
                Some((current, stat)) if current == data => Ok(IsrWrite::Written(stat.version)),
                _ => Ok(IsrWrite::Conflict),
            }
        }
        Err(e) => Err(e),
    }
}

/// Creates one ISR-change notification naming `partitions`.
pub async fn notify_isr_change(zk: &Zk, partitions: &[(String, i32)]) -> Result<(), ZkError> {
    if partitions.is_empty() {
        return Ok(());
    }
    let list: Vec<_> = partitions
        .iter()
        .map(|(t, p)| json!({"topic": t, "partition": p}))
        .collect();
    let body = json!({"version": 1, "partitions": list}).to_string();
    let path = "/isr_change_notification/isr_change_";
    let client = zk.client()?;
    let options = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    client
        .create(path, body.as_bytes(), &options)
        .await
        .map(|_| ())
        .map_err(|e| ZkError::client(format!("create {path}"), e))
}
