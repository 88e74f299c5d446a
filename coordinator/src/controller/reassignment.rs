//! Partition reassignment on the active controller (KIP-455 as Kafka's ZooKeeper-mode
//! `KafkaController` runs it: `onPartitionReassignment` and its callers).
//!
//! Reassignments arrive through AlterPartitionReassignments (a [`ControllerHandle`] request)
//! or `/admin/reassign_partitions`; they move on when the ISR changes (a new replica caught up),
//! when a target broker registers, and on failover, where every reassignment recorded in a
//! topic znode (adding/removing replicas) is resumed. The steps are pure functions in
//! [`super::reassign_steps`]; here they are written (epoch-fenced) and sent.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::oneshot;

use super::active::{Active, Event};
use super::channel::ControllerRequest;
use super::reassign_steps::{
    build, is_complete, leader_epoch_bump, leader_into_target, remaining_zk_entries,
    replicas_removed, topic_znode, validate_list, validate_target,
};
use super::requests;
use super::view::{without, ReplicaAssignment, TopicPartition};
use super::{ControllerHandle, HANDLE_TIMEOUT};
use crate::error::{ControllerError, ReassignmentError, ZkError};
use crate::zk_ops::ZkOp;
use crate::znode::{PartitionStateZNode, ReassignPartitionsZNode, TopicZNode};

/// One partition of an AlterPartitionReassignments: its target replicas, `None` to cancel.
pub type ReassignmentRequest = (TopicPartition, Option<Vec<i32>>);

/// Each partition's answer to an AlterPartitionReassignments.
pub type AlterResults = Vec<(TopicPartition, Result<(), ReassignmentError>)>;

/// Rounds of re-reading `/admin/reassign_partitions` when it changes while we update it.
const ZK_NODE_ROUNDS: usize = 3;

/// What the reassignment handlers are asked through the event loop.
#[derive(Debug)]
pub(crate) enum ReassignmentEvent {
    /// AlterPartitionReassignments: a target per partition, `None` to cancel.
    Alter {
        reassignments: Vec<ReassignmentRequest>,
        reply: oneshot::Sender<Result<AlterResults, ControllerError>>,
    },
    /// ListPartitionReassignments: these partitions, or `None` for all.
    List {
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<Vec<(TopicPartition, ReplicaAssignment)>>,
    },
    /// `/admin/reassign_partitions` was created, changed or deleted.
    ZkNodeChanged,
}

impl ControllerHandle {
    /// Kafka's `alterPartitionReassignments`: starts (or, with `None`, cancels) the
    /// reassignment of each partition; answers once each has been taken in, not completed.
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: Vec<ReassignmentRequest>,
    ) -> Result<AlterResults, ControllerError> {
        let (reply, rx) = oneshot::channel();
        self.send(Event::Reassignment(ReassignmentEvent::Alter {
            reassignments,
            reply,
        }))?;
        await_reply(rx).await?
    }

    /// Kafka's `listPartitionReassignments`: the full assignment of each partition (of
    /// `partitions`, or of all) that is being reassigned.
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<(TopicPartition, ReplicaAssignment)>, ControllerError> {
        let (reply, rx) = oneshot::channel();
        self.send(Event::Reassignment(ReassignmentEvent::List {
            partitions,
            reply,
        }))?;
        await_reply(rx).await
    }
}

async fn await_reply<T>(rx: oneshot::Receiver<T>) -> Result<T, ControllerError> {
    match tokio::time::timeout(HANDLE_TIMEOUT, rx).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(_)) => Err(ControllerError::NotController),
        Err(_) => Err(ControllerError::Timeout(HANDLE_TIMEOUT)),
    }
}

impl Active {
    /// Handles one [`ReassignmentEvent`]; a ZooKeeper failure is answered NOT_CONTROLLER and
    /// makes the controller resign, as every handler's does.
    pub(super) async fn on_reassignment_event(
        &mut self,
        event: ReassignmentEvent,
    ) -> Result<(), ZkError> {
        match event {
            ReassignmentEvent::Alter {
                reassignments,
                reply,
            } => match self.alter_reassignments(reassignments).await {
                Ok(results) => {
                    let _ = reply.send(Ok(results));
                    Ok(())
                }
                Err(e) => {
                    let _ = reply.send(Err(ControllerError::NotController));
                    Err(e)
                }
            },
            ReassignmentEvent::List { partitions, reply } => {
                let _ = reply.send(self.list_reassignments(partitions));
                Ok(())
            }
            ReassignmentEvent::ZkNodeChanged => self.on_zk_reassignment().await.map(|_| ()),
        }
    }

    /// Failover (Kafka's `initializePartitionReassignments`): what `/admin/reassign_partitions`
    /// asks for, then every other reassignment the topic znodes record.
    pub(super) async fn resume_all_reassignments(&mut self) -> Result<(), ZkError> {
        let started = self.on_zk_reassignment().await?;
        self.resume_reassignments(|tp, _| !started.contains(tp))
            .await
    }

    /// Brokers registered: reassignments whose target includes one of them go on (Kafka's
    /// `onBrokerStartup`), so the restarted replica gets the replica set and catches up.
    pub(super) async fn resume_reassignments_on(
        &mut self,
        joined: &BTreeSet<i32>,
    ) -> Result<(), ZkError> {
        self.resume_reassignments(|_, a| a.target().iter().any(|r| joined.contains(r)))
            .await
    }

    /// The ISR of `partitions` changed: reassignments whose target replicas are all in sync
    /// now complete (Kafka's `handlePartitionReassignmentIsrChange`).
    pub(super) async fn maybe_complete_reassignments(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<(), ZkError> {
        for tp in partitions {
            let current = self.view.assignment(&tp.0, tp.1);
            if current.is_being_reassigned()
                && !self.view.deleting.contains(&tp.0)
                && is_complete(&self.view, tp, &current)
            {
                tracing::info!(topic = tp.0, partition = tp.1, target = ?current.target(), "target replicas caught up");
                self.on_partition_reassignment(tp, current).await?;
            }
        }
        Ok(())
    }

    async fn resume_reassignments(
        &mut self,
        resume: impl Fn(&TopicPartition, &ReplicaAssignment) -> bool,
    ) -> Result<(), ZkError> {
        for tp in self.view.reassigning() {
            let current = self.view.assignment(&tp.0, tp.1);
            if resume(&tp, &current) {
                tracing::info!(
                    topic = tp.0,
                    partition = tp.1,
                    ?current,
                    "resuming reassignment"
                );
                self.on_partition_reassignment(&tp, current).await?;
            }
        }
        Ok(())
    }

    /// Kafka's `processApiPartitionReassignment`.
    async fn alter_reassignments(
        &mut self,
        requests: Vec<ReassignmentRequest>,
    ) -> Result<AlterResults, ZkError> {
        let mut results = Vec::new();
        let mut start = Vec::new();
        for (tp, target) in requests {
            if let Some(Err(e)) = target
                .as_deref()
                .map(|t| validate_target(&self.view, &tp, t))
            {
                results.push((tp, Err(e)));
                continue;
            }
            match build(&self.view, &tp, target.as_deref()) {
                Some(assignment) => start.push((tp, assignment)),
                None => results.push((tp, Err(ReassignmentError::NoReassignmentInProgress))),
            }
        }
        // The latest request wins over one through ZooKeeper for the same partition.
        let starting: BTreeSet<TopicPartition> = start.iter().map(|(tp, _)| tp.clone()).collect();
        self.remove_from_zk_reassignment(|tp, _| starting.contains(tp))
            .await?;
        for (tp, assignment) in start {
            let result = self.trigger(&tp, assignment).await?;
            results.push((tp, result));
        }
        Ok(results)
    }

    fn list_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Vec<(TopicPartition, ReplicaAssignment)> {
        let asked: BTreeSet<TopicPartition> = match partitions {
            Some(list) => list.into_iter().collect(),
            None => self.view.reassigning().into_iter().collect(),
        };
        asked
            .into_iter()
            .map(|tp| {
                let assignment = self.view.assignment(&tp.0, tp.1);
                (tp, assignment)
            })
            .filter(|(_, a)| a.is_being_reassigned())
            .collect()
    }

    /// Kafka's `maybeTriggerPartitionReassignment` for one partition.
    async fn trigger(
        &mut self,
        tp: &TopicPartition,
        assignment: ReplicaAssignment,
    ) -> Result<Result<(), ReassignmentError>, ZkError> {
        if self.view.deleting.contains(&tp.0) || self.view.replicas(&tp.0, tp.1).is_empty() {
            return Ok(Err(ReassignmentError::UnknownTopicOrPartition));
        }
        self.on_partition_reassignment(tp, assignment).await?;
        Ok(Ok(()))
    }

    /// Kafka's `processZkPartitionReassignment`: watches `/admin/reassign_partitions` and
    /// starts what it asks for. Entries leave the node as their partitions complete (the node
    /// goes with the last one); entries that cannot start leave it at once. Returns the
    /// partitions it started or moved on.
    async fn on_zk_reassignment(&mut self) -> Result<BTreeSet<TopicPartition>, ZkError> {
        let path = ReassignPartitionsZNode::PATH;
        let (stat, watcher) = self.zk.watch_exists(path).await?;
        self.forward(
            watcher,
            Event::Reassignment(ReassignmentEvent::ZkNodeChanged),
        );
        let mut started = BTreeSet::new();
        if stat.is_none() {
            return Ok(started);
        }
        let Some((data, _)) = self.zk.get(path).await? else {
            return Ok(started);
        };
        let entries = match ReassignPartitionsZNode::decode(&data) {
            Ok(entries) => entries,
            Err(e) => {
                // Kafka ignores such a node, which then blocks every later one: it goes.
                tracing::warn!(%e, "deleting unreadable {path}");
                self.remove_from_zk_reassignment(|_, _| true).await?;
                return Ok(started);
            }
        };
        let mut failed = BTreeMap::new();
        for (tp, target) in entries {
            let current = self.view.assignment(&tp.0, tp.1);
            let result = match validate_list(&target) {
                Err(e) => Err(e),
                // Already under way towards this target (our own update of the node, or a
                // failover): nothing to restart.
                Ok(()) if current.is_being_reassigned() && current.target() == target => continue,
                Ok(()) => {
                    let assignment = current.reassign_to(&target);
                    started.insert(tp.clone());
                    self.trigger(&tp, assignment).await?
                }
            };
            if let Err(e) = result {
                started.remove(&tp);
                failed.insert(tp, e);
            }
        }
        if !failed.is_empty() {
            tracing::warn!(?failed, "reassignments through {path} failed");
            self.remove_from_zk_reassignment(|tp, _| failed.contains_key(tp))
                .await?;
        }
        Ok(started)
    }

    /// Kafka's `maybeRemoveFromZkReassignment`: rewrites `/admin/reassign_partitions` without
    /// the entries `done` says are done, deleting it when none is left (epoch-fenced).
    async fn remove_from_zk_reassignment(
        &mut self,
        done: impl Fn(&TopicPartition, &[i32]) -> bool,
    ) -> Result<(), ZkError> {
        let path = ReassignPartitionsZNode::PATH;
        for _ in 0..ZK_NODE_ROUNDS {
            let Some((data, stat)) = self.zk.get(path).await? else {
                return Ok(());
            };
            let entries = ReassignPartitionsZNode::decode(&data).unwrap_or_default();
            let left = if entries.is_empty() {
                BTreeMap::new()
            } else {
                match remaining_zk_entries(&entries, &done) {
                    Some(left) => left,
                    None => return Ok(()),
                }
            };
            let op = if left.is_empty() {
                tracing::info!("no more partitions to reassign: deleting {path}");
                ZkOp::Delete {
                    path: path.to_string(),
                    version: Some(stat.version),
                }
            } else {
                ZkOp::set(path, ReassignPartitionsZNode::encode(&left), stat.version)
            };
            match self.zk.fenced_multi(self.epoch_zk_version, vec![op]).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_bad_version() || e.is_no_node() => continue,
                Err(e) => return Err(e),
            }
        }
        tracing::warn!("{path} kept changing; left as it is");
        Ok(())
    }

    /// Kafka's `onPartitionReassignment`: phase U, then A (not complete) or B (complete).
    async fn on_partition_reassignment(
        &mut self,
        tp: &TopicPartition,
        new: ReplicaAssignment,
    ) -> Result<(), ZkError> {
        let current = self.view.assignment(&tp.0, tp.1);
        if current != new {
            tracing::info!(topic = tp.0, partition = tp.1, from = ?current, to = ?new, "reassigning partition");
            self.view.set_assignment(&tp.0, tp.1, &new);
            self.write_topic_znode(&tp.0).await?;
            // Replicas a replaced (or cancelled) reassignment was adding, wanted no more.
            let unneeded = without(&current.replicas, &new.replicas);
            if !unneeded.is_empty() {
                self.remove_replicas(tp, &unneeded).await?;
            }
        }
        // Decide on the ISR as ZooKeeper has it now, as Kafka does.
        self.refresh_state(tp).await?;
        if is_complete(&self.view, tp, &new) {
            return self.complete_reassignment(tp, new).await;
        }
        let key = tp.clone();
        self.apply_retrying(leader_epoch_bump(&self.view, tp), move |v| {
            leader_epoch_bump(v, &key)
        })
        .await
    }

    /// Phase B: leader into the target, RS = TRS, the removed replicas out of the ISR and
    /// deleted, the final assignment written, the ZooKeeper request entry removed.
    async fn complete_reassignment(
        &mut self,
        tp: &TopicPartition,
        assignment: ReplicaAssignment,
    ) -> Result<(), ZkError> {
        let target = assignment.target();
        // Elected while the full replica set still gets the LeaderAndIsr, so that a removed
        // leader learns it follows now before it is stopped.
        let Some(election) = leader_into_target(&self.view, tp, &target) else {
            tracing::warn!(
                topic = tp.0,
                partition = tp.1,
                ?target,
                "no target replica can lead yet; reassignment waits"
            );
            return Ok(());
        };
        let (key, wanted) = (tp.clone(), target.clone());
        self.apply_retrying(election, move |v| {
            leader_into_target(v, &key, &wanted).unwrap_or_default()
        })
        .await?;
        let leader = self.view.states.get(tp).map_or(-1, |s| s.lic.leader);
        if !target.contains(&leader) {
            // The election lost to concurrent ISR writes; the ISR notification brings us back.
            return Ok(());
        }
        self.view
            .set_assignment(&tp.0, tp.1, &ReplicaAssignment::settled(target.clone()));
        self.remove_replicas(tp, &assignment.removing).await?;
        // Last: until here the topic znode is the only record of the original replicas.
        self.write_topic_znode(&tp.0).await?;
        self.remove_from_zk_reassignment(|p, r| p == tp && r == target.as_slice())
            .await?;
        tracing::info!(topic = tp.0, partition = tp.1, replicas = ?target, "reassignment completed");
        Ok(())
    }

    /// `removed` leave the partition: out of the ISR (leader epoch + 1, LeaderAndIsr to the
    /// remaining replicas), then StopReplica with delete to those that are live. Kafka sends
    /// a StopReplica without delete first; one with delete stops the replica too.
    async fn remove_replicas(
        &mut self,
        tp: &TopicPartition,
        removed: &[i32],
    ) -> Result<(), ZkError> {
        let (key, gone) = (tp.clone(), removed.to_vec());
        self.apply_retrying(replicas_removed(&self.view, tp, removed), move |v| {
            replicas_removed(v, &key, &gone)
        })
        .await?;
        for broker in removed {
            let Some(epoch) = self.view.live.get(broker).map(|b| b.epoch) else {
                continue;
            };
            let request = requests::stop_replica(&self.view, epoch, std::slice::from_ref(tp), true);
            self.channels.send(
                *broker,
                ControllerRequest::StopReplica {
                    request,
                    reply: None,
                },
            );
        }
        Ok(())
    }

    /// Re-reads one partition's state into the view.
    async fn refresh_state(&mut self, tp: &TopicPartition) -> Result<(), ZkError> {
        let path = PartitionStateZNode::path(&tp.0, tp.1);
        if let Some((data, stat)) = self.zk.get(&path).await? {
            let lic = PartitionStateZNode::decode(&tp.0, tp.1, &data)?;
            self.view.states.insert(
                tp.clone(),
                super::view::PartitionState {
                    lic,
                    zk_version: stat.version,
                },
            );
        }
        Ok(())
    }

    /// Writes `/brokers/topics/<topic>` from the view (epoch-fenced, like Kafka's
    /// `setTopicAssignmentRaw`).
    async fn write_topic_znode(&mut self, topic: &str) -> Result<(), ZkError> {
        let Some(node) = topic_znode(&self.view, topic) else {
            return Ok(());
        };
        let op = ZkOp::SetData {
            path: TopicZNode::path(topic),
            data: node.encode(),
            version: None,
        };
        self.zk
            .fenced_multi(self.epoch_zk_version, vec![op])
            .await
            .map(|_| ())
    }
}
