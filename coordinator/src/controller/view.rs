//! The active controller's picture of the cluster (Kafka's `ControllerContext`).

use std::collections::{BTreeMap, BTreeSet};

use crate::registration::LiveBroker;
use crate::znode::LeaderIsrAndControllerEpoch;

/// A topic's assignment and id, as `/brokers/topics/<t>` holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicInfo {
    /// Partition → replicas (element 0 = preferred leader). During a reassignment the full
    /// set: target replicas first, then the original ones not in the target.
    pub assignment: BTreeMap<i32, Vec<i32>>,
    /// Partitions being reassigned → replicas being added (target minus original).
    pub adding: BTreeMap<i32, Vec<i32>>,
    /// Partitions being reassigned → replicas being removed (original minus target).
    pub removing: BTreeMap<i32, Vec<i32>>,
    /// Topic id (nil if the node has none).
    pub topic_id: uuid::Uuid,
}

/// One partition's full assignment (Kafka's `ReplicaAssignment`): while it is being
/// reassigned from ORS (original) to TRS (target), `replicas` is TRS followed by the rest of
/// ORS, `adding` is TRS − ORS and `removing` is ORS − TRS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaAssignment {
    /// Every replica (RS).
    pub replicas: Vec<i32>,
    /// Replicas being added.
    pub adding: Vec<i32>,
    /// Replicas being removed.
    pub removing: Vec<i32>,
}

impl ReplicaAssignment {
    /// A settled assignment (nothing being added or removed).
    pub fn settled(replicas: Vec<i32>) -> Self {
        ReplicaAssignment {
            replicas,
            ..Self::default()
        }
    }

    /// Whether a reassignment is in progress.
    pub fn is_being_reassigned(&self) -> bool {
        !self.adding.is_empty() || !self.removing.is_empty()
    }

    /// The original replicas (ORS): all but those being added.
    pub fn origin(&self) -> Vec<i32> {
        without(&self.replicas, &self.adding)
    }

    /// The target replicas (TRS): all but those being removed.
    pub fn target(&self) -> Vec<i32> {
        without(&self.replicas, &self.removing)
    }

    /// Kafka's `reassignTo`: from this assignment's original replicas to `target`. Reassigning
    /// to the original replicas (a cancellation) gives a settled assignment.
    pub fn reassign_to(&self, target: &[i32]) -> ReplicaAssignment {
        let origin = self.origin();
        let mut replicas: Vec<i32> = Vec::with_capacity(target.len() + origin.len());
        for r in target.iter().chain(&origin) {
            if !replicas.contains(r) {
                replicas.push(*r);
            }
        }
        ReplicaAssignment {
            adding: without(&replicas, &origin),
            removing: without(&replicas, target),
            replicas,
        }
    }
}

/// `list` without the members of `gone`, in order.
pub fn without(list: &[i32], gone: &[i32]) -> Vec<i32> {
    list.iter().copied().filter(|r| !gone.contains(r)).collect()
}

/// A partition's leader/ISR and its state node's zkVersion (the partition epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// Leader, ISR, epochs.
    pub lic: LeaderIsrAndControllerEpoch,
    /// zkVersion of the state node.
    pub zk_version: i32,
}

/// (topic, partition).
pub type TopicPartition = (String, i32);

/// Everything the controller decides from.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    /// This controller's broker id.
    pub controller_id: i32,
    /// This controller's epoch.
    pub epoch: i32,
    /// Live brokers by id (with their epochs = czxid).
    pub live: BTreeMap<i32, LiveBroker>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicInfo>,
    /// Partition states known (partitions without one are "New").
    pub states: BTreeMap<TopicPartition, PartitionState>,
    /// Brokers in controlled shutdown: live, but not eligible to lead or join an ISR.
    pub shutting_down: BTreeSet<i32>,
    /// Topics queued for deletion: no elections, leader -2 in UpdateMetadata.
    pub deleting: BTreeSet<String>,
    /// `unclean.leader.election.enable` of the brokers (the default for every topic).
    pub unclean_default: bool,
    /// Topics whose `/config/topics/<t>` overrides `unclean.leader.election.enable`.
    pub unclean_topics: BTreeMap<String, bool>,
    /// Replicas on a failed log dir, by broker (Kafka's `replicasOnOfflineDirs`): the broker
    /// answered KAFKA_STORAGE_ERROR for them. Offline until the broker registers again.
    pub offline_replicas: BTreeMap<i32, BTreeSet<TopicPartition>>,
}

impl ClusterView {
    /// Whether broker `id` is live.
    pub fn is_live(&self, id: i32) -> bool {
        self.live.contains_key(&id)
    }

    /// The topic's id (nil when unknown or never assigned).
    pub fn topic_id(&self, topic: &str) -> uuid::Uuid {
        self.topics
            .get(topic)
            .map(|t| t.topic_id)
            .unwrap_or_default()
    }

    /// Whether an out-of-sync replica of `topic` may become leader when no ISR member is left.
    pub fn unclean_allowed(&self, topic: &str) -> bool {
        self.unclean_topics
            .get(topic)
            .copied()
            .unwrap_or(self.unclean_default)
    }

    /// Whether broker `id` may lead or be elected: live and not shutting down.
    pub fn is_eligible(&self, id: i32) -> bool {
        self.is_live(id) && !self.shutting_down.contains(&id)
    }

    /// Whether `broker`'s replica of `tp` sits on a failed log dir.
    pub fn is_replica_offline(&self, tp: &TopicPartition, broker: i32) -> bool {
        self.offline_replicas
            .get(&broker)
            .is_some_and(|partitions| partitions.contains(tp))
    }

    /// Whether `broker`'s replica of `tp` is online: the broker is live and the replica's log
    /// dir has not failed (Kafka's `isReplicaOnline`).
    pub fn is_replica_online(&self, tp: &TopicPartition, broker: i32) -> bool {
        self.is_live(broker) && !self.is_replica_offline(tp, broker)
    }

    /// Whether `broker`'s replica of `tp` may lead or be elected: online, and the broker not
    /// shutting down.
    pub fn is_replica_eligible(&self, tp: &TopicPartition, broker: i32) -> bool {
        self.is_eligible(broker) && !self.is_replica_offline(tp, broker)
    }

    /// The name of the topic with id `id`.
    pub fn topic_by_id(&self, id: uuid::Uuid) -> Option<&str> {
        self.topics
            .iter()
            .find(|(_, t)| t.topic_id == id)
            .map(|(name, _)| name.as_str())
    }

    /// The assignment of one partition.
    pub fn replicas(&self, topic: &str, partition: i32) -> &[i32] {
        self.topics
            .get(topic)
            .and_then(|t| t.assignment.get(&partition))
            .map_or(&[], Vec::as_slice)
    }

    /// The full assignment of one partition (empty when unknown).
    pub fn assignment(&self, topic: &str, partition: i32) -> ReplicaAssignment {
        let Some(info) = self.topics.get(topic) else {
            return ReplicaAssignment::default();
        };
        let list = |m: &BTreeMap<i32, Vec<i32>>| m.get(&partition).cloned().unwrap_or_default();
        ReplicaAssignment {
            replicas: list(&info.assignment),
            adding: list(&info.adding),
            removing: list(&info.removing),
        }
    }

    /// Replaces one partition's full assignment (of a known topic).
    pub fn set_assignment(&mut self, topic: &str, partition: i32, new: &ReplicaAssignment) {
        let Some(info) = self.topics.get_mut(topic) else {
            return;
        };
        info.assignment.insert(partition, new.replicas.clone());
        for (map, list) in [
            (&mut info.adding, &new.adding),
            (&mut info.removing, &new.removing),
        ] {
            if list.is_empty() {
                map.remove(&partition);
            } else {
                map.insert(partition, list.clone());
            }
        }
    }

    /// Partitions being reassigned (adding or removing replicas), of topics not being deleted.
    pub fn reassigning(&self) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .filter(|(t, _)| !self.deleting.contains(*t))
            .flat_map(|(t, info)| {
                let ps: BTreeSet<i32> = info
                    .adding
                    .keys()
                    .chain(info.removing.keys())
                    .copied()
                    .collect();
                ps.into_iter().map(move |p| (t.clone(), p))
            })
            .collect()
    }

    /// Every assigned partition of topics not being deleted, in order.
    pub fn all_partitions(&self) -> impl Iterator<Item = TopicPartition> + '_ {
        self.topics
            .iter()
            .filter(|(t, _)| !self.deleting.contains(*t))
            .flat_map(|(t, info)| info.assignment.keys().map(move |p| (t.clone(), *p)))
    }

    /// Partitions assigned to `broker`.
    pub fn partitions_on(&self, broker: i32) -> Vec<TopicPartition> {
        self.all_partitions()
            .filter(|(t, p)| self.replicas(t, *p).contains(&broker))
            .collect()
    }
}
