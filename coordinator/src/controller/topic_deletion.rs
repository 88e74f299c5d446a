//! Topic deletion on the active controller (Kafka's `TopicDeletionManager`): markers under
//! `/admin/delete_topics`, StopReplica(delete) to every replica, then the topic's znodes go.

use std::collections::BTreeMap;

use super::active::{Active, Event};
use super::channel::{ControllerRequest, StopReplicaReply};
use super::requests;
use super::view::TopicPartition;
use crate::error::ZkError;
use crate::offsets;
use crate::zk_ops::ZkOp;
use crate::znode::{DeleteTopicsZNode, TopicConfigZNode, TopicZNode};

impl Active {
    /// `/admin/delete_topics` changed: start deleting newly marked topics.
    pub(super) async fn on_topic_deletion(&mut self) -> Result<(), ZkError> {
        self.zk.ensure_path(DeleteTopicsZNode::PATH).await?;
        let (marked, watcher) = self.zk.watch_children(DeleteTopicsZNode::PATH).await?;
        self.forward(watcher, Event::TopicDeletion);
        for topic in marked {
            if self.deletions.contains(&topic) {
                continue;
            }
            if !self.config.delete_topic_enable || !self.view.topics.contains_key(&topic) {
                tracing::info!(
                    topic,
                    "removing deletion marker (deletion disabled or unknown topic)"
                );
                self.fenced_delete(vec![DeleteTopicsZNode::path(&topic)])
                    .await?;
                continue;
            }
            tracing::info!(topic, "deleting topic");
            let targets = self.deletions.start(&self.view, &topic);
            self.view.deleting.insert(topic.clone());
            self.view.states.retain(|(t, _), _| *t != topic);
            // Leader -2 to everyone first, so nobody serves the topic any more.
            self.send_update_metadata_to_all();
            self.send_stop_replica_delete(targets);
        }
        self.complete_deletions().await
    }

    /// Records a StopReplica answer; finishes topics whose replicas are all gone.
    pub(super) async fn on_stop_replica_reply(
        &mut self,
        reply: StopReplicaReply,
    ) -> Result<(), ZkError> {
        let results: Vec<(TopicPartition, i16)> = reply
            .response
            .partition_errors
            .iter()
            .map(|p| {
                (
                    (p.topic_name.0.to_string(), p.partition_index),
                    p.error_code,
                )
            })
            .collect();
        let failed: Vec<_> = results.iter().filter(|(_, code)| *code != 0).collect();
        if reply.response.error_code != 0 || !failed.is_empty() {
            tracing::warn!(
                broker = reply.broker,
                error = reply.response.error_code,
                ?failed,
                "StopReplica(delete) failed"
            );
        }
        self.deletions.on_response(reply.broker, &results);
        self.complete_deletions().await
    }

    /// A broker came back: ask it again to delete what it still holds of deleted topics.
    pub(super) fn resume_deletion_on(&self, broker: i32) {
        let pending = self.deletions.pending_on(&self.view, broker);
        if !pending.is_empty() {
            self.send_stop_replica_delete(BTreeMap::from([(broker, pending)]));
        }
    }

    fn send_stop_replica_delete(&self, targets: BTreeMap<i32, Vec<TopicPartition>>) {
        for (broker, partitions) in targets {
            let Some(epoch) = self.view.live.get(&broker).map(|b| b.epoch) else {
                continue;
            };
            let request = requests::stop_replica(&self.view, epoch, &partitions, true);
            self.channels.send(
                broker,
                ControllerRequest::StopReplica {
                    request,
                    reply: Some(self.stop_replica_tx.clone()),
                },
            );
        }
    }

    /// Deletes the znodes of every topic whose replicas all confirmed (epoch-fenced), after
    /// the groups' committed offsets of it (before the marker goes, so that a controller that
    /// fails in between finishes the job).
    async fn complete_deletions(&mut self) -> Result<(), ZkError> {
        for topic in self.deletions.completed() {
            let groups = offsets::delete_topic_offsets(&self.zk, &topic).await?;
            if groups > 0 {
                tracing::info!(
                    topic,
                    groups,
                    "removed the deleted topic's committed offsets"
                );
            }
            let mut paths = self
                .zk
                .subtree_deepest_first(&TopicZNode::path(&topic))
                .await?;
            let config = TopicConfigZNode::path(&topic);
            if self.zk.stat(&config).await?.is_some() {
                paths.push(config);
            }
            paths.push(DeleteTopicsZNode::path(&topic));
            self.fenced_delete(paths).await?;
            self.deletions.finish(&topic);
            self.view.deleting.remove(&topic);
            self.view.topics.remove(&topic);
            tracing::info!(topic, "topic deleted");
        }
        Ok(())
    }

    /// Deletes `paths` (each must exist, children before parents) in one fenced multi; a
    /// concurrent removal (NONODE) falls back to deleting them one fenced op at a time.
    async fn fenced_delete(&self, paths: Vec<String>) -> Result<(), ZkError> {
        let ops: Vec<ZkOp> = paths
            .iter()
            .map(|p| ZkOp::Delete {
                path: p.clone(),
                version: None,
            })
            .collect();
        match self.zk.fenced_multi(self.epoch_zk_version, ops).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_no_node() || e.is_not_empty() => {
                for path in paths {
                    let op = ZkOp::Delete {
                        path,
                        version: None,
                    };
                    match self.zk.fenced_multi(self.epoch_zk_version, vec![op]).await {
                        Err(e) if e.is_no_node() => {}
                        other => {
                            other?;
                        }
                    }
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
