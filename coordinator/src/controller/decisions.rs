//! Pure partition-state decisions: (cluster view, event) → state changes to write. No I/O, so
//! every rule from Kafka's `PartitionStateMachine` / `Election` is unit-tested here.

use std::collections::{BTreeMap, BTreeSet};

use super::view::{ClusterView, TopicPartition};
use crate::znode::LeaderIsrAndControllerEpoch;

/// How a state change is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// New partition: create `.../partitions/<p>/state` (and parents).
    Create,
    /// Existing state: setData conditional on this zkVersion.
    Update {
        /// The zkVersion we last saw.
        zk_version: i32,
    },
}

/// One partition's new leader/ISR and how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// Which partition.
    pub partition: TopicPartition,
    /// The new state.
    pub lic: LeaderIsrAndControllerEpoch,
    /// Create or conditional update.
    pub write: Write,
}

/// New partitions (no state node yet): leader = first live replica in assignment order, ISR =
/// all live replicas in assignment order, leader epoch 0. Partitions with no live replica stay New.
pub fn elect_new_partitions(view: &ClusterView, partitions: &[TopicPartition]) -> Vec<StateChange> {
    partitions
        .iter()
        .filter(|tp| !view.states.contains_key(*tp))
        .filter_map(|(topic, p)| {
            let isr: Vec<i32> = view
                .replicas(topic, *p)
                .iter()
                .copied()
                .filter(|b| view.is_live(*b))
                .collect();
            let leader = *isr.first()?;
            let lic = LeaderIsrAndControllerEpoch {
                leader,
                leader_epoch: 0,
                isr,
                controller_epoch: view.epoch,
                leader_recovery_state: 0,
            };
            Some(StateChange {
                partition: (topic.clone(), *p),
                lic,
                write: Write::Create,
            })
        })
        .collect()
}

/// Offline partitions (leader -1, not live, or its replica on a failed log dir): leader = first
/// replica in assignment order that is online and in the ISR; ISR = its online members; leader
/// epoch + 1. No candidate → unchanged (unclean election is off). Also elects New partitions.
pub fn elect_offline_and_new(view: &ClusterView) -> Vec<StateChange> {
    let all: Vec<TopicPartition> = view.all_partitions().collect();
    let mut changes = elect_new_partitions(view, &all);
    for (tp, state) in &view.states {
        if view.is_replica_online(tp, state.lic.leader) || view.deleting.contains(&tp.0) {
            continue;
        }
        if let Some(lic) = offline_election(view, tp, &state.lic, view.unclean_allowed(&tp.0)) {
            changes.push(StateChange {
                partition: tp.clone(),
                lic,
                write: Write::Update {
                    zk_version: state.zk_version,
                },
            });
        }
    }
    changes
}

/// The offline-partition election (Kafka's `leaderForOffline`): the first eligible ISR member
/// in assignment order; failing that, with `allow_unclean`, an out-of-sync replica
/// ([`unclean_election`]). `allow_unclean` is the topic's `unclean.leader.election.enable`,
/// or true for an election an admin asked for as UNCLEAN.
pub(super) fn offline_election(
    view: &ClusterView,
    tp: &TopicPartition,
    old: &LeaderIsrAndControllerEpoch,
    allow_unclean: bool,
) -> Option<LeaderIsrAndControllerEpoch> {
    let candidates = view.replicas(&tp.0, tp.1);
    let clean = candidates
        .iter()
        .copied()
        .find(|b| view.is_replica_eligible(tp, *b) && old.isr.contains(b));
    let Some(leader) = clean else {
        return allow_unclean
            .then(|| unclean_election(view, tp, candidates, old))
            .flatten();
    };
    Some(LeaderIsrAndControllerEpoch {
        leader,
        leader_epoch: old.leader_epoch + 1,
        isr: live_isr(view, tp, old),
        controller_epoch: view.epoch,
        leader_recovery_state: old.leader_recovery_state,
    })
}

/// The ISR members whose replicas are online (live broker, log dir not failed), in ISR order:
/// what remains of the ISR when brokers or log dirs fail. Shutting-down brokers are still live
/// here; callers that must exclude them filter differently.
fn live_isr(
    view: &ClusterView,
    tp: &TopicPartition,
    lic: &LeaderIsrAndControllerEpoch,
) -> Vec<i32> {
    lic.isr
        .iter()
        .copied()
        .filter(|b| view.is_replica_online(tp, *b))
        .collect()
}

/// No ISR member is left (and unclean election is allowed): the first eligible replica in
/// assignment order leads although it may miss acknowledged records; the ISR becomes just it
/// and the state records RECOVERING (1), as Kafka 3.2+ writes it.
fn unclean_election(
    view: &ClusterView,
    tp: &TopicPartition,
    candidates: &[i32],
    old: &LeaderIsrAndControllerEpoch,
) -> Option<LeaderIsrAndControllerEpoch> {
    let topic = tp.0.as_str();
    let leader = candidates
        .iter()
        .copied()
        .find(|b| view.is_replica_eligible(tp, *b))?;
    tracing::warn!(
        topic,
        leader,
        "unclean leader election: acknowledged records may be lost"
    );
    Some(LeaderIsrAndControllerEpoch {
        leader,
        leader_epoch: old.leader_epoch + 1,
        isr: vec![leader],
        controller_epoch: view.epoch,
        leader_recovery_state: 1,
    })
}

/// Brokers `dead` are gone (`view.live` no longer has them). Partitions they led get a new leader
/// as in [`elect_offline_and_new`] or leader -1 with the ISR kept as is if none is eligible;
/// partitions whose ISR merely contained them get the ISR shrunk. Every change bumps the leader epoch.
pub fn on_brokers_failed(view: &ClusterView, dead: &BTreeSet<i32>) -> Vec<StateChange> {
    on_replicas_failed(view, |_, broker| dead.contains(&broker))
}

/// `broker`'s replicas of `partitions` are on a failed log dir (and already in
/// `view.offline_replicas`): as if the broker had failed, for those replicas only (Kafka's
/// `onReplicasBecomeOffline`). Partitions it led get a new leader from the rest of the ISR, or
/// leader -1; partitions it followed lose it from the ISR.
pub fn on_replicas_offline(
    view: &ClusterView,
    broker: i32,
    partitions: &BTreeSet<TopicPartition>,
) -> Vec<StateChange> {
    on_replicas_failed(view, |tp, b| b == broker && partitions.contains(tp))
}

/// The replicas for which `failed(partition, broker)` holds are gone: elections for the
/// partitions they led, ISR shrinks for those they followed.
fn on_replicas_failed(
    view: &ClusterView,
    failed: impl Fn(&TopicPartition, i32) -> bool,
) -> Vec<StateChange> {
    let mut changes = Vec::new();
    for (tp, state) in &view.states {
        if view.deleting.contains(&tp.0) {
            continue;
        }
        let old = &state.lic;
        let led_by_dead = failed(tp, old.leader);
        if !led_by_dead && !old.isr.iter().any(|b| failed(tp, *b)) {
            continue;
        }
        let live_isr = live_isr(view, tp, old);
        let lic = if led_by_dead {
            offline_election(view, tp, old, view.unclean_allowed(&tp.0)).unwrap_or_else(|| {
                LeaderIsrAndControllerEpoch {
                    leader: -1,
                    leader_epoch: old.leader_epoch + 1,
                    // The ISR is never written empty: keep the last members so an unclean-free
                    // election can pick them when they return.
                    isr: if live_isr.is_empty() {
                        old.isr.clone()
                    } else {
                        live_isr
                    },
                    controller_epoch: view.epoch,
                    leader_recovery_state: old.leader_recovery_state,
                }
            })
        } else if live_isr.is_empty() {
            continue;
        } else {
            LeaderIsrAndControllerEpoch {
                isr: live_isr,
                leader_epoch: old.leader_epoch + 1,
                controller_epoch: view.epoch,
                ..old.clone()
            }
        };
        changes.push(StateChange {
            partition: tp.clone(),
            lic,
            write: Write::Update {
                zk_version: state.zk_version,
            },
        });
    }
    changes
}

/// Controlled shutdown of `broker` (already in `view.shutting_down`), Kafka's
/// `doControlledShutdown`: partitions it leads with more than one replica get the
/// controlled-shutdown election (first replica in assignment order that is live, in the ISR and
/// not shutting down; ISR minus shutting-down brokers); partitions whose ISR merely contains it
/// lose it from the ISR (unless it is the last member). Every change bumps the leader epoch.
/// Partitions without an eligible new leader are left alone: they "remain" led by `broker`.
pub fn controlled_shutdown(view: &ClusterView, broker: i32) -> Vec<StateChange> {
    let mut changes = Vec::new();
    for (tp, state) in &view.states {
        let old = &state.lic;
        if view.deleting.contains(&tp.0) || !old.isr.contains(&broker) && old.leader != broker {
            continue;
        }
        let replicas = view.replicas(&tp.0, tp.1);
        let isr: Vec<i32> = old
            .isr
            .iter()
            .copied()
            .filter(|b| !view.shutting_down.contains(b))
            .collect();
        let lic = if old.leader == broker {
            if replicas.len() <= 1 {
                continue;
            }
            let Some(leader) = replicas
                .iter()
                .copied()
                .find(|b| view.is_replica_eligible(tp, *b) && old.isr.contains(b))
            else {
                continue;
            };
            LeaderIsrAndControllerEpoch {
                leader,
                leader_epoch: old.leader_epoch + 1,
                isr,
                controller_epoch: view.epoch,
                leader_recovery_state: old.leader_recovery_state,
            }
        } else {
            if isr.is_empty() {
                continue;
            }
            LeaderIsrAndControllerEpoch {
                isr,
                leader_epoch: old.leader_epoch + 1,
                controller_epoch: view.epoch,
                ..old.clone()
            }
        };
        changes.push(StateChange {
            partition: tp.clone(),
            lic,
            write: Write::Update {
                zk_version: state.zk_version,
            },
        });
    }
    changes
}

/// Partitions `broker` still leads that have more than one replica: what a ControlledShutdown
/// response lists as remaining (Kafka ignores single-replica partitions: nothing can take them).
pub fn replicated_partitions_led_by(view: &ClusterView, broker: i32) -> Vec<TopicPartition> {
    view.states
        .iter()
        .filter(|(tp, s)| s.lic.leader == broker && view.replicas(&tp.0, tp.1).len() > 1)
        .map(|(tp, _)| tp.clone())
        .collect()
}

/// Partitions `broker` follows (assigned, not leader): they get StopReplica(delete=false).
pub fn partitions_followed_by(view: &ClusterView, broker: i32) -> Vec<TopicPartition> {
    view.states
        .iter()
        .filter(|(tp, s)| s.lic.leader != broker && view.replicas(&tp.0, tp.1).contains(&broker))
        .map(|(tp, _)| tp.clone())
        .collect()
}

/// Preferred-replica election for `partitions`: `replicas[0]` becomes leader if it is eligible
/// and in the ISR and does not lead already; ISR unchanged; leader epoch + 1.
pub fn preferred_elections(view: &ClusterView, partitions: &[TopicPartition]) -> Vec<StateChange> {
    partitions
        .iter()
        .filter(|tp| !view.deleting.contains(&tp.0))
        .filter_map(|tp| {
            let state = view.states.get(tp)?;
            let preferred = *view.replicas(&tp.0, tp.1).first()?;
            let old = &state.lic;
            if old.leader == preferred
                || !view.is_replica_eligible(tp, preferred)
                || !old.isr.contains(&preferred)
            {
                return None;
            }
            Some(StateChange {
                partition: tp.clone(),
                lic: LeaderIsrAndControllerEpoch {
                    leader: preferred,
                    leader_epoch: old.leader_epoch + 1,
                    controller_epoch: view.epoch,
                    ..old.clone()
                },
                write: Write::Update {
                    zk_version: state.zk_version,
                },
            })
        })
        .collect()
}

/// Kafka's auto-rebalance check: for each broker B, among partitions whose preferred replica is
/// B, the share not led by B; when it exceeds `percentage`% those partitions are candidates for
/// a preferred election (which still needs B eligible and in the ISR).
pub fn imbalanced_partitions(view: &ClusterView, percentage: u32) -> Vec<TopicPartition> {
    let mut by_preferred: BTreeMap<i32, (usize, Vec<TopicPartition>)> = BTreeMap::new();
    for (tp, state) in &view.states {
        if view.deleting.contains(&tp.0) {
            continue;
        }
        let Some(&preferred) = view.replicas(&tp.0, tp.1).first() else {
            continue;
        };
        let entry = by_preferred.entry(preferred).or_default();
        entry.0 += 1;
        if state.lic.leader != preferred {
            entry.1.push(tp.clone());
        }
    }
    by_preferred
        .into_iter()
        .filter(|(b, (total, off))| {
            view.is_eligible(*b) && *total > 0 && off.len() * 100 > *total * percentage as usize
        })
        .flat_map(|(_, (_, off))| off)
        .collect()
}

/// After leaders changed ISRs themselves (the legacy ZooKeeper path): followers that are dead or
/// in controlled shutdown are taken out again. A leader re-adds a shutting-down broker that is
/// still fetching, or writes an ISR the controller's broker-failure handling never saw; Kafka's
/// controller blocks such members from joining the ISR. ISR minus them, leader epoch + 1; the
/// leader itself and partitions that would be left with an empty ISR are left alone.
pub fn ineligible_isr_members_removed(
    view: &ClusterView,
    partitions: &[TopicPartition],
) -> Vec<StateChange> {
    partitions
        .iter()
        .filter(|tp| !view.deleting.contains(&tp.0))
        .filter_map(|tp| {
            let state = view.states.get(tp)?;
            let old = &state.lic;
            let isr: Vec<i32> = old
                .isr
                .iter()
                .copied()
                .filter(|b| *b == old.leader || view.is_replica_eligible(tp, *b))
                .collect();
            if isr.len() == old.isr.len() || isr.is_empty() {
                return None;
            }
            Some(StateChange {
                partition: tp.clone(),
                lic: LeaderIsrAndControllerEpoch {
                    isr,
                    leader_epoch: old.leader_epoch + 1,
                    controller_epoch: view.epoch,
                    ..old.clone()
                },
                write: Write::Update {
                    zk_version: state.zk_version,
                },
            })
        })
        .collect()
}

/// A broker's LeaderAndIsr answer, `(partition, error code)` each, updates which of its replicas
/// are on a failed log dir (Kafka's `processLeaderAndIsrResponseReceived`): KAFKA_STORAGE_ERROR
/// makes a replica offline, no error makes it online again, other errors change nothing.
/// Returns all of the broker's offline replicas, and those of them that were not before.
pub fn offline_after_answer(
    previous: &BTreeSet<TopicPartition>,
    answers: &[(TopicPartition, i16)],
) -> (BTreeSet<TopicPartition>, BTreeSet<TopicPartition>) {
    let storage_error = kafka_protocol::ResponseError::KafkaStorageError.code();
    let mut offline = previous.clone();
    for (tp, code) in answers {
        if *code == storage_error {
            offline.insert(tp.clone());
        } else if *code == 0 {
            offline.remove(tp);
        }
    }
    let new = offline.difference(previous).cloned().collect();
    (offline, new)
}

/// Who gets a LeaderAndIsr for a change: the partition's online assigned replicas (a replica on
/// a failed log dir has nothing to apply it to).
pub fn leader_and_isr_recipients(view: &ClusterView, tp: &TopicPartition) -> Vec<i32> {
    view.replicas(&tp.0, tp.1)
        .iter()
        .copied()
        .filter(|b| view.is_replica_online(tp, *b))
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::controller::view::{PartitionState, TopicInfo};
    use crate::registration::LiveBroker;
    use crate::znode::BrokerInfo;

    pub(in crate::controller) fn view(live: &[i32], assignment: &[(i32, &[i32])]) -> ClusterView {
        let live = live
            .iter()
            .map(|&id| {
                let info = BrokerInfo {
                    id,
                    endpoints: vec![],
                    rack: None,
                    timestamp: 0,
                };
                (
                    id,
                    LiveBroker {
                        info,
                        epoch: 100 + i64::from(id),
                    },
                )
            })
            .collect();
        let assignment: BTreeMap<i32, Vec<i32>> =
            assignment.iter().map(|(p, r)| (*p, r.to_vec())).collect();
        let topics = [(
            "t".to_string(),
            TopicInfo {
                assignment,
                topic_id: uuid::Uuid::nil(),
                ..TopicInfo::default()
            },
        )]
        .into();
        ClusterView {
            controller_id: 1,
            epoch: 5,
            live,
            topics,
            states: BTreeMap::new(),
            shutting_down: BTreeSet::new(),
            deleting: BTreeSet::new(),
            unclean_default: false,
            unclean_topics: BTreeMap::new(),
            offline_replicas: BTreeMap::new(),
        }
    }

    pub(in crate::controller) fn lic(
        leader: i32,
        leader_epoch: i32,
        isr: &[i32],
    ) -> LeaderIsrAndControllerEpoch {
        LeaderIsrAndControllerEpoch {
            leader,
            leader_epoch,
            isr: isr.to_vec(),
            controller_epoch: 5,
            leader_recovery_state: 0,
        }
    }

    pub(in crate::controller) fn with_state(
        mut v: ClusterView,
        p: i32,
        l: LeaderIsrAndControllerEpoch,
    ) -> ClusterView {
        v.states.insert(
            ("t".into(), p),
            PartitionState {
                lic: l,
                zk_version: 3,
            },
        );
        v
    }

    #[test]
    fn new_partition_leader_is_first_live_replica_in_assignment_order() {
        let v = view(&[2, 3], &[(0, &[1, 3, 2]), (1, &[4, 5, 1])]);
        let changes = elect_new_partitions(&v, &[("t".into(), 0), ("t".into(), 1)]);
        assert_eq!(
            changes.len(),
            1,
            "partition 1 has no live replica and stays New"
        );
        assert_eq!(changes[0].lic, lic(3, 0, &[3, 2]));
        assert_eq!(changes[0].write, Write::Create);
    }

    #[test]
    fn leader_failure_elects_first_assigned_live_isr_member() {
        let mut v = with_state(
            view(&[1, 2, 3], &[(0, &[1, 2, 3])]),
            0,
            lic(1, 4, &[1, 3, 2]),
        );
        v.live.remove(&1);
        let changes = on_brokers_failed(&v, &[1].into());
        assert_eq!(changes.len(), 1);
        // Assignment order (2 before 3), not ISR order.
        assert_eq!(changes[0].lic, lic(2, 5, &[3, 2]));
        assert_eq!(changes[0].write, Write::Update { zk_version: 3 });
    }

    #[test]
    fn leader_made_isr_loses_dead_and_shutting_down_followers() {
        let mut v = with_state(
            view(&[1, 2, 3], &[(0, &[1, 2, 3]), (1, &[2, 3, 1])]),
            0,
            lic(1, 4, &[1, 3, 2]),
        );
        v = with_state(v, 1, lic(3, 2, &[3, 1]));
        let all = [("t".to_string(), 0), ("t".to_string(), 1)];
        assert!(ineligible_isr_members_removed(&v, &all).is_empty());
        v.shutting_down.insert(2);
        let changes = ineligible_isr_members_removed(&v, &all);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].lic, lic(1, 5, &[1, 3]));
        v.shutting_down.clear();
        v.live.remove(&3);
        assert_eq!(
            ineligible_isr_members_removed(&v, &all)[0].lic,
            lic(1, 5, &[1, 2])
        );
        // The leader itself is never removed here (its failure is a leader election).
        assert_eq!(ineligible_isr_members_removed(&v, &all[1..]).len(), 0);
    }

    #[test]
    fn follower_failure_shrinks_isr_and_bumps_epoch() {
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(1, 0, &[1, 2]));
        v.live.remove(&2);
        assert_eq!(on_brokers_failed(&v, &[2].into())[0].lic, lic(1, 1, &[1]));
    }

    #[test]
    fn last_isr_member_dying_leaves_leader_minus_one_and_isr_kept() {
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(1, 2, &[1]));
        v.live.remove(&1);
        assert_eq!(
            on_brokers_failed(&v, &[1].into())[0].lic,
            lic(-1, 3, &[1]),
            "no unclean election of 2"
        );
        // Unrelated partitions are untouched.
        let v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(1, 2, &[1]));
        assert!(on_brokers_failed(&v, &[7].into()).is_empty());
    }

    #[test]
    fn unclean_election_picks_the_first_live_replica_when_allowed() {
        let mut v = with_state(view(&[1, 2, 3], &[(0, &[1, 3, 2])]), 0, lic(1, 2, &[1]));
        v.live.remove(&1);
        v.unclean_topics.insert("t".into(), true);
        let change = &on_brokers_failed(&v, &[1].into())[0];
        assert_eq!((change.lic.leader, change.lic.isr.clone()), (3, vec![3]));
        assert_eq!(change.lic.leader_epoch, 3);
        assert_eq!(change.lic.leader_recovery_state, 1);
        // A topic override of false wins over a permissive broker default.
        v.unclean_default = true;
        v.unclean_topics.insert("t".into(), false);
        assert_eq!(on_brokers_failed(&v, &[1].into())[0].lic.leader, -1);
    }

    #[test]
    fn returning_isr_member_is_elected_for_offline_partition() {
        let v = with_state(view(&[1, 2], &[(0, &[2, 1])]), 0, lic(-1, 3, &[1]));
        let changes = elect_offline_and_new(&v);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].lic, lic(1, 4, &[1]));
        // Broker 2 alone (not in ISR) cannot lead.
        let v = with_state(view(&[2], &[(0, &[2, 1])]), 0, lic(-1, 3, &[1]));
        assert!(elect_offline_and_new(&v).is_empty());
    }

    #[test]
    fn controlled_shutdown_moves_leadership_and_shrinks_isr() {
        let mut v = view(&[1, 2, 3], &[(0, &[1, 2, 3]), (1, &[2, 1, 3]), (2, &[1])]);
        v = with_state(v, 0, lic(1, 4, &[1, 3, 2]));
        v = with_state(v, 1, lic(2, 0, &[2, 1, 3]));
        v = with_state(v, 2, lic(1, 0, &[1]));
        v.shutting_down.insert(1);
        let changes = controlled_shutdown(&v, 1);
        let by_p: BTreeMap<i32, _> = changes
            .iter()
            .map(|c| (c.partition.1, c.lic.clone()))
            .collect();
        // Assignment order: 2 before 3; ISR loses 1.
        assert_eq!(by_p[&0], lic(2, 5, &[3, 2]));
        // Follower: removed from the ISR, leader kept, epoch bumped.
        assert_eq!(by_p[&1], lic(2, 1, &[2, 3]));
        // RF 1: nothing to do, and not "remaining" either.
        assert!(!by_p.contains_key(&2));
        assert!(replicated_partitions_led_by(&v, 1).contains(&("t".into(), 0)));
        assert!(!replicated_partitions_led_by(&v, 1).contains(&("t".into(), 2)));
        assert_eq!(partitions_followed_by(&v, 1), vec![("t".into(), 1)]);
    }

    #[test]
    fn controlled_shutdown_without_eligible_isr_member_leaves_partition() {
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(1, 0, &[1]));
        v.shutting_down.insert(1);
        assert!(controlled_shutdown(&v, 1).is_empty());
        assert_eq!(replicated_partitions_led_by(&v, 1), vec![("t".into(), 0)]);
        // A shutting-down broker is not elected for offline partitions either.
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(-1, 0, &[1, 2]));
        v.shutting_down.insert(1);
        assert_eq!(elect_offline_and_new(&v)[0].lic, lic(2, 1, &[1, 2]));
    }

    #[test]
    fn preferred_election_needs_preferred_live_and_in_isr() {
        let v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(2, 3, &[2, 1]));
        let tp = [("t".to_string(), 0)];
        assert_eq!(preferred_elections(&v, &tp)[0].lic, lic(1, 4, &[2, 1]));
        let v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(2, 3, &[2]));
        assert!(preferred_elections(&v, &tp).is_empty(), "not in ISR");
        let v = with_state(view(&[2], &[(0, &[1, 2])]), 0, lic(2, 3, &[2, 1]));
        assert!(preferred_elections(&v, &tp).is_empty(), "not live");
        let v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(1, 3, &[2, 1]));
        assert!(preferred_elections(&v, &tp).is_empty(), "already preferred");
    }

    #[test]
    fn imbalance_rule_is_ten_percent_per_broker() {
        // Broker 1 prefers 10 partitions; 1 led elsewhere = 10%: not above the threshold.
        let assignment: Vec<(i32, &[i32])> = (0..10).map(|p| (p, &[1, 2][..])).collect();
        let mut v = view(&[1, 2], &assignment);
        for p in 0..10 {
            v = with_state(v, p, lic(if p == 0 { 2 } else { 1 }, 0, &[1, 2]));
        }
        assert!(imbalanced_partitions(&v, 10).is_empty());
        v = with_state(v, 1, lic(2, 0, &[1, 2]));
        assert_eq!(
            imbalanced_partitions(&v, 10),
            vec![("t".into(), 0), ("t".into(), 1)]
        );
    }

    #[test]
    fn deleting_topics_are_not_elected() {
        let mut v = view(&[1, 2], &[(0, &[1, 2])]);
        v.deleting.insert("t".into());
        assert!(elect_offline_and_new(&v).is_empty());
        let v2 = with_state(v, 0, lic(-1, 0, &[1]));
        assert!(elect_offline_and_new(&v2).is_empty());
    }

    #[test]
    fn replicas_on_a_failed_log_dir_lose_leadership_and_isr_membership() {
        let mut v = view(
            &[1, 2, 3],
            &[(0, &[1, 2, 3]), (1, &[2, 1, 3]), (2, &[1]), (3, &[2, 3])],
        );
        v = with_state(v, 0, lic(1, 4, &[1, 2, 3]));
        v = with_state(v, 1, lic(2, 0, &[2, 1, 3]));
        v = with_state(v, 2, lic(1, 0, &[1]));
        v = with_state(v, 3, lic(2, 0, &[2, 3]));
        let failed: BTreeSet<TopicPartition> = (0..3).map(|p| ("t".to_string(), p)).collect();
        v.offline_replicas.insert(1, failed.clone());
        let by_p: BTreeMap<i32, _> = on_replicas_offline(&v, 1, &failed)
            .into_iter()
            .map(|c| (c.partition.1, c.lic))
            .collect();
        // Led there: the next ISR member in assignment order leads; the ISR loses broker 1.
        assert_eq!(by_p[&0], lic(2, 5, &[2, 3]));
        // Followed there: the leader stays, the ISR shrinks.
        assert_eq!(by_p[&1], lic(2, 1, &[2, 3]));
        // No other replica: offline (leader -1), the ISR kept for when it comes back.
        assert_eq!(by_p[&2], lic(-1, 1, &[1]));
        assert!(!by_p.contains_key(&3), "broker 1 holds no replica of it");
        // The rest of the broker's replicas are unaffected by its failed dir.
        let other = [("t".to_string(), 0)].into();
        assert!(on_replicas_offline(&view(&[1, 2], &[(0, &[1, 2])]), 1, &other).is_empty());
    }

    #[test]
    fn storage_errors_in_a_leader_and_isr_answer_mark_replicas_offline() {
        let tp = |p: i32| ("t".to_string(), p);
        let (offline, new) =
            offline_after_answer(&BTreeSet::new(), &[(tp(0), 56), (tp(1), 0), (tp(2), 56)]);
        assert_eq!(offline, [tp(0), tp(2)].into());
        assert_eq!(new, offline);
        // Asked again: nothing new; an answer without error brings one back; other errors
        // (a stale epoch, say) say nothing about the disk.
        let (offline, new) =
            offline_after_answer(&offline, &[(tp(0), 56), (tp(2), 0), (tp(3), 11)]);
        assert_eq!(offline, [tp(0)].into());
        assert!(new.is_empty());
    }

    #[test]
    fn a_replica_on_a_failed_log_dir_is_never_elected() {
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(-1, 3, &[1, 2]));
        v.offline_replicas.insert(1, [("t".to_string(), 0)].into());
        assert_eq!(elect_offline_and_new(&v)[0].lic, lic(2, 4, &[2]));
        // A leader whose replica went offline is an offline partition too.
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(1, 3, &[1, 2]));
        v.offline_replicas.insert(1, [("t".to_string(), 0)].into());
        assert_eq!(elect_offline_and_new(&v)[0].lic, lic(2, 4, &[2]));
        let tp = [("t".to_string(), 0)];
        let mut v = with_state(view(&[1, 2], &[(0, &[1, 2])]), 0, lic(2, 3, &[2, 1]));
        v.offline_replicas.insert(1, [("t".to_string(), 0)].into());
        assert!(preferred_elections(&v, &tp).is_empty());
        assert_eq!(
            ineligible_isr_members_removed(&v, &tp)[0].lic,
            lic(2, 4, &[2])
        );
        assert_eq!(leader_and_isr_recipients(&v, &tp[0]), vec![2]);
    }

    #[test]
    fn recipients_are_live_replicas() {
        let v = view(&[1, 3], &[(0, &[1, 2, 3])]);
        assert_eq!(leader_and_isr_recipients(&v, &("t".into(), 0)), vec![1, 3]);
    }
}
