//! ISR change notifications from partition leaders (legacy path, §1.13) and the automatic
//! preferred-leader rebalance (Kafka's `checkAndTriggerAutoLeaderRebalance`).

use std::collections::BTreeSet;

use super::active::{Active, Event};
use super::decisions;
use super::view::{PartitionState, TopicPartition};
use crate::error::ZkError;
use crate::zk_ops::ZkOp;
use crate::znode::{IsrChangeNotificationZNode, PartitionStateZNode};

impl Active {
    /// Failover: stale notifications are dropped (every state is read fresh anyway), and the
    /// child watch is set.
    pub(super) async fn clear_isr_change_notifications(&mut self) -> Result<(), ZkError> {
        self.zk
            .ensure_path(IsrChangeNotificationZNode::PATH)
            .await?;
        let (children, watcher) = self
            .zk
            .watch_children(IsrChangeNotificationZNode::PATH)
            .await?;
        self.forward(watcher, Event::IsrChange);
        self.delete_notifications(IsrChangeNotificationZNode::PATH, &children)
            .await
    }

    /// New notifications: re-read those partitions' states, take dead and shutting-down
    /// followers back out of them, tell every broker, delete the notifications.
    pub(super) async fn on_isr_change(&mut self) -> Result<(), ZkError> {
        let (children, watcher) = self
            .zk
            .watch_children(IsrChangeNotificationZNode::PATH)
            .await?;
        self.forward(watcher, Event::IsrChange);
        if children.is_empty() {
            return Ok(());
        }
        let mut partitions: BTreeSet<TopicPartition> = BTreeSet::new();
        for child in &children {
            let path = format!("{}/{child}", IsrChangeNotificationZNode::PATH);
            let Some((data, _)) = self.zk.get(&path).await? else {
                continue;
            };
            match IsrChangeNotificationZNode::decode(&path, &data) {
                Ok(list) => partitions.extend(list),
                Err(e) => tracing::warn!(%e, "ignoring ISR change notification"),
            }
        }
        let mut changed = 0;
        for (topic, p) in &partitions {
            if !self.view.topics.contains_key(topic) || self.view.deleting.contains(topic) {
                continue;
            }
            let Some((data, stat)) = self.zk.get(&PartitionStateZNode::path(topic, *p)).await?
            else {
                continue;
            };
            let lic = PartitionStateZNode::decode(topic, *p, &data)?;
            let state = PartitionState {
                lic,
                zk_version: stat.version,
            };
            if self.view.states.get(&(topic.clone(), *p)) != Some(&state) {
                changed += 1;
                self.view.states.insert((topic.clone(), *p), state);
            }
        }
        tracing::info!(
            partitions = partitions.len(),
            changed,
            "ISR change notification"
        );
        let partitions: Vec<TopicPartition> = partitions.into_iter().collect();
        let removals = decisions::ineligible_isr_members_removed(&self.view, &partitions);
        if removals.is_empty() {
            self.send_update_metadata_to_all();
        } else {
            tracing::info!(
                partitions = removals.len(),
                "taking dead or shutting-down brokers out of leader-made ISRs"
            );
            // apply_retrying sends LeaderAndIsr and UpdateMetadata to everyone.
            let changed = partitions.clone();
            self.apply_retrying(removals, move |v| {
                decisions::ineligible_isr_members_removed(v, &changed)
            })
            .await?;
        }
        self.delete_notifications(IsrChangeNotificationZNode::PATH, &children)
            .await?;
        // New replicas that caught up complete their reassignment.
        self.maybe_complete_reassignments(&partitions).await?;
        if self.config.auto_leader_rebalance_enable {
            // A returning preferred replica is back in the ISR: it may lead again.
            self.auto_rebalance().await?;
        }
        Ok(())
    }

    /// Deletes handled notifications, `children` of `parent` (ISR changes, log dir events).
    pub(super) async fn delete_notifications(
        &self,
        parent: &str,
        children: &[String],
    ) -> Result<(), ZkError> {
        for chunk in children.chunks(100) {
            let ops: Vec<ZkOp> = chunk
                .iter()
                .map(|c| ZkOp::Delete {
                    path: format!("{parent}/{c}"),
                    version: None,
                })
                .collect();
            match self.zk.fenced_multi(self.epoch_zk_version, ops).await {
                Err(e) if e.is_no_node() => {
                    tracing::debug!(%e, "notification already gone")
                }
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Preferred-replica election for brokers whose share of partitions led elsewhere exceeds
    /// `leader.imbalance.per.broker.percentage`.
    pub(super) async fn auto_rebalance(&mut self) -> Result<(), ZkError> {
        let percentage = self.config.leader_imbalance_per_broker_percentage;
        let candidates = decisions::imbalanced_partitions(&self.view, percentage);
        let changes = decisions::preferred_elections(&self.view, &candidates);
        if changes.is_empty() {
            return Ok(());
        }
        tracing::info!(
            partitions = changes.len(),
            "preferred leader election (auto rebalance)"
        );
        self.apply_retrying(changes, move |v| {
            decisions::preferred_elections(v, &decisions::imbalanced_partitions(v, percentage))
        })
        .await
    }
}
