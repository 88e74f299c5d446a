//! The broker's side of `/log_dir_event_notification` (Kafka's
//! `KafkaZkClient.propagateLogDirEvent`): a broker whose log dir failed announces it, and the
//! controller then asks it which of its replicas are offline (see the controller's
//! `log_dir_events`).

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::LogDirEventNotificationZNode;

/// Creates `/log_dir_event_notification/log_dir_event_N` naming `broker`; returns its path.
pub async fn notify_log_dir_failure(zk: &Zk, broker: i32) -> Result<String, ZkError> {
    zk.ensure_path(LogDirEventNotificationZNode::PATH).await?;
    zk.create_sequential(
        &LogDirEventNotificationZNode::sequential_prefix(),
        &LogDirEventNotificationZNode::encode(broker),
    )
    .await
}
