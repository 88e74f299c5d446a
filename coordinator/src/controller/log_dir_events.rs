//! Log dir failures (§1.14; Kafka's `LogDirEventNotification` and
//! `LeaderAndIsrResponseReceived`). A broker whose log dir failed writes
//! `/log_dir_event_notification/log_dir_event_N`; the controller then sends that broker a
//! LeaderAndIsr for every replica it hosts. Each replica that answers KAFKA_STORAGE_ERROR (to
//! that request or to any other LeaderAndIsr) is offline: leadership moves to another ISR
//! member and it leaves the ISR, until the broker registers again.

use std::collections::BTreeSet;

use super::active::{Active, Event};
use super::channel::LeaderAndIsrReply;
use super::decisions;
use super::view::TopicPartition;
use crate::error::ZkError;
use crate::znode::LogDirEventNotificationZNode;

impl Active {
    /// Failover: notifications written while there was no controller are dropped (every
    /// broker gets a LeaderAndIsr for all its replicas anyway, and answers for the offline
    /// ones), and the child watch is set.
    pub(super) async fn clear_log_dir_event_notifications(&mut self) -> Result<(), ZkError> {
        self.zk
            .ensure_path(LogDirEventNotificationZNode::PATH)
            .await?;
        let (children, watcher) = self
            .zk
            .watch_children(LogDirEventNotificationZNode::PATH)
            .await?;
        self.forward(watcher, Event::LogDirFailure);
        self.delete_notifications(LogDirEventNotificationZNode::PATH, &children)
            .await
    }

    /// New notifications: ask each broker named for the state of all its replicas (Kafka's
    /// `onBrokerLogDirFailure`); the answers come back through [`Self::on_leader_and_isr_reply`].
    pub(super) async fn on_log_dir_event(&mut self) -> Result<(), ZkError> {
        let (children, watcher) = self
            .zk
            .watch_children(LogDirEventNotificationZNode::PATH)
            .await?;
        self.forward(watcher, Event::LogDirFailure);
        let mut brokers = BTreeSet::new();
        for child in &children {
            let path = format!("{}/{child}", LogDirEventNotificationZNode::PATH);
            let Some((data, _)) = self.zk.get(&path).await? else {
                continue;
            };
            match LogDirEventNotificationZNode::decode(&path, &data) {
                Ok(broker) => {
                    brokers.insert(broker);
                }
                Err(e) => tracing::warn!(%e, "ignoring log dir event notification"),
            }
        }
        for &broker in &brokers {
            if self.view.is_live(broker) {
                tracing::info!(
                    broker,
                    "log dir failure: asking the broker for its replicas' state"
                );
                self.send_current_state(broker);
            }
        }
        self.delete_notifications(LogDirEventNotificationZNode::PATH, &children)
            .await
    }

    /// A broker answered a LeaderAndIsr: replicas answering KAFKA_STORAGE_ERROR for the first
    /// time go offline (Kafka's `onReplicasBecomeOffline`).
    pub(super) async fn on_leader_and_isr_reply(
        &mut self,
        reply: LeaderAndIsrReply,
    ) -> Result<(), ZkError> {
        let broker = reply.broker;
        if self.view.live.get(&broker).map(|b| b.epoch) != Some(reply.broker_epoch) {
            return Ok(()); // from before the broker restarted or died
        }
        let answers = self.answers(&reply);
        let previous = self
            .view
            .offline_replicas
            .get(&broker)
            .cloned()
            .unwrap_or_default();
        let (offline, new) = decisions::offline_after_answer(&previous, &answers);
        if offline.is_empty() {
            self.view.offline_replicas.remove(&broker);
        } else {
            self.view.offline_replicas.insert(broker, offline);
        }
        if new.is_empty() {
            return Ok(());
        }
        tracing::info!(broker, partitions = ?new, "replicas on a failed log dir are offline");
        let changes = decisions::on_replicas_offline(&self.view, broker, &new);
        if changes.is_empty() {
            // Nothing to elect, but Metadata lists the replicas as offline.
            self.send_update_metadata_to_all();
            return Ok(());
        }
        self.apply_retrying(changes, move |v| {
            decisions::on_replicas_offline(v, broker, &new)
        })
        .await
    }

    /// `(partition, error code)` of each partition in a LeaderAndIsr response, named by topic
    /// id from v5 (topics this controller does not know are skipped).
    fn answers(&self, reply: &LeaderAndIsrReply) -> Vec<(TopicPartition, i16)> {
        let response = &reply.response;
        let by_id = response.topics.iter().flat_map(|t| {
            let topic = self.view.topic_by_id(t.topic_id).map(str::to_string);
            t.partition_errors
                .iter()
                .filter_map(move |p| Some(((topic.clone()?, p.partition_index), p.error_code)))
        });
        let by_name = response.partition_errors.iter().map(|p| {
            (
                (p.topic_name.0.to_string(), p.partition_index),
                p.error_code,
            )
        });
        by_id.chain(by_name).collect()
    }
}
