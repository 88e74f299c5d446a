//! The pure steps of a partition reassignment (KIP-455 as Kafka's ZooKeeper-mode
//! `KafkaController` runs it): which reassignment a request means, whether it is complete, and
//! the partition state changes of each phase. No I/O; [`super::reassignment`] applies them.
//!
//! A reassignment of a partition from ORS to TRS goes:
//! - U: the topic znode gets RS = TRS + ORS, adding = TRS − ORS, removing = ORS − TRS; replicas
//!   a replaced reassignment was adding and the new one does not want are removed at once;
//! - A (some of TRS not in the ISR): leader epoch + 1, LeaderAndIsr to RS so the new replicas
//!   start fetching ([`leader_epoch_bump`]);
//! - B (TRS ⊆ ISR): a leader from TRS if the current one is not in it ([`leader_into_target`]),
//!   RS = TRS, the removed replicas out of the ISR ([`replicas_removed`]) and StopReplica
//!   (delete) to them, then the final assignment in the topic znode.

use std::collections::BTreeMap;

use super::decisions::{StateChange, Write};
use super::view::{without, ClusterView, ReplicaAssignment, TopicPartition};
use crate::error::ReassignmentError;
use crate::znode::{LeaderIsrAndControllerEpoch, TopicZNode};

/// Kafka's `validateReplicas`: a target must be non-empty, without duplicates or negative
/// ids, and the replicas it adds must be on live brokers.
pub fn validate_target(
    view: &ClusterView,
    tp: &TopicPartition,
    target: &[i32],
) -> Result<(), ReassignmentError> {
    validate_list(target)?;
    let adding = view.assignment(&tp.0, tp.1).reassign_to(target).adding;
    if adding.iter().any(|r| !view.is_live(*r)) {
        let live: Vec<i32> = view.live.keys().copied().collect();
        return Err(ReassignmentError::InvalidReplicaAssignment(format!(
            "Replica assignment has brokers that are not alive. Replica list: {adding:?}, live \
             broker list: {live:?}"
        )));
    }
    Ok(())
}

/// The checks of [`validate_target`] that do not depend on the cluster: what an entry of
/// `/admin/reassign_partitions` must pass (Kafka checks those not at all; a target broker
/// that is down there only delays the move).
pub fn validate_list(target: &[i32]) -> Result<(), ReassignmentError> {
    let invalid = |msg: String| Err(ReassignmentError::InvalidReplicaAssignment(msg));
    if target.is_empty() {
        return invalid("Empty replica list specified in partition reassignment.".into());
    }
    let mut sorted = target.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != target.len() {
        return invalid(format!(
            "Duplicate replica ids in partition reassignment replica list: {target:?}"
        ));
    }
    if target.iter().any(|r| *r < 0) {
        return invalid(format!("Invalid broker id in replica list: {target:?}"));
    }
    Ok(())
}

/// Kafka's `maybeBuildReassignment`: the assignment a request for `target` means (`None`:
/// cancel, back to the original replicas). `None` when cancelling what is not in progress.
pub fn build(
    view: &ClusterView,
    tp: &TopicPartition,
    target: Option<&[i32]>,
) -> Option<ReplicaAssignment> {
    let current = view.assignment(&tp.0, tp.1);
    match target {
        Some(target) => Some(current.reassign_to(target)),
        None if current.is_being_reassigned() => Some(current.reassign_to(&current.origin())),
        None => None,
    }
}

/// Whether phase B may run: nothing is being reassigned, or every target replica is in the ISR.
pub fn is_complete(
    view: &ClusterView,
    tp: &TopicPartition,
    assignment: &ReplicaAssignment,
) -> bool {
    if !assignment.is_being_reassigned() {
        return true;
    }
    view.states
        .get(tp)
        .is_some_and(|s| assignment.target().iter().all(|r| s.lic.isr.contains(r)))
}

/// Phase A: same leader and ISR, leader epoch + 1, so that every replica (the new ones too)
/// takes the LeaderAndIsr carrying the new replica set.
pub fn leader_epoch_bump(view: &ClusterView, tp: &TopicPartition) -> Vec<StateChange> {
    let Some(state) = view.states.get(tp) else {
        return Vec::new();
    };
    vec![change(view, tp, state.zk_version, |old| old.clone())]
}

/// Phase B's leader: `Some(empty)` when the current leader is in `target` and online; else
/// the first of `target` that is eligible and in the ISR leads (ISR unchanged, leader epoch +
/// 1, Kafka's `ReassignPartitionLeaderElectionStrategy`). `None` when nobody can: the
/// reassignment waits.
pub fn leader_into_target(
    view: &ClusterView,
    tp: &TopicPartition,
    target: &[i32],
) -> Option<Vec<StateChange>> {
    let state = view.states.get(tp)?;
    let old = &state.lic;
    if target.contains(&old.leader) && view.is_replica_online(tp, old.leader) {
        return Some(Vec::new());
    }
    let leader = target
        .iter()
        .copied()
        .find(|r| view.is_replica_eligible(tp, *r) && old.isr.contains(r))?;
    Some(vec![change(view, tp, state.zk_version, |old| {
        LeaderIsrAndControllerEpoch {
            leader,
            ..old.clone()
        }
    })])
}

/// The `removed` replicas leave the partition (Kafka's OfflineReplica transition): out of the
/// ISR (never emptied), leader -1 if one of them led, leader epoch + 1. The change is made
/// even when neither moves, so that the remaining replicas learn their new replica set.
pub fn replicas_removed(
    view: &ClusterView,
    tp: &TopicPartition,
    removed: &[i32],
) -> Vec<StateChange> {
    let Some(state) = view.states.get(tp) else {
        return Vec::new();
    };
    vec![change(view, tp, state.zk_version, |old| {
        let isr = without(&old.isr, removed);
        LeaderIsrAndControllerEpoch {
            leader: if removed.contains(&old.leader) {
                -1
            } else {
                old.leader
            },
            isr: if isr.is_empty() { old.isr.clone() } else { isr },
            ..old.clone()
        }
    })]
}

/// `tp`'s state changed by `edit`, with the leader epoch bumped and this controller's epoch.
fn change(
    view: &ClusterView,
    tp: &TopicPartition,
    zk_version: i32,
    edit: impl FnOnce(&LeaderIsrAndControllerEpoch) -> LeaderIsrAndControllerEpoch,
) -> StateChange {
    let old = &view.states[tp].lic;
    let lic = LeaderIsrAndControllerEpoch {
        leader_epoch: old.leader_epoch + 1,
        controller_epoch: view.epoch,
        ..edit(old)
    };
    StateChange {
        partition: tp.clone(),
        lic,
        write: Write::Update { zk_version },
    }
}

/// `/brokers/topics/<topic>` as the view has it (assignment, adding, removing, id).
pub fn topic_znode(view: &ClusterView, topic: &str) -> Option<TopicZNode> {
    let info = view.topics.get(topic)?;
    Some(TopicZNode {
        partitions: info.assignment.clone(),
        adding_replicas: info.adding.clone(),
        removing_replicas: info.removing.clone(),
        topic_id: (!info.topic_id.is_nil()).then_some(info.topic_id),
    })
}

/// `/admin/reassign_partitions` entries without those `done` says are done; `None` when
/// nothing changes.
pub fn remaining_zk_entries(
    entries: &BTreeMap<TopicPartition, Vec<i32>>,
    done: impl Fn(&TopicPartition, &[i32]) -> bool,
) -> Option<BTreeMap<TopicPartition, Vec<i32>>> {
    let left: BTreeMap<_, _> = entries
        .iter()
        .filter(|(tp, replicas)| !done(tp, replicas))
        .map(|(tp, r)| (tp.clone(), r.clone()))
        .collect();
    (left.len() != entries.len()).then_some(left)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::controller::view::{PartitionState, TopicInfo};
    use crate::registration::LiveBroker;
    use crate::znode::BrokerInfo;

    fn tp() -> TopicPartition {
        ("t".to_string(), 0)
    }

    /// Brokers `live`, partition t-0 with `assignment`, leader and ISR.
    fn view(live: &[i32], assignment: ReplicaAssignment, leader: i32, isr: &[i32]) -> ClusterView {
        let mut v = ClusterView {
            epoch: 7,
            ..ClusterView::default()
        };
        for &id in live {
            let info = BrokerInfo {
                id,
                endpoints: vec![],
                rack: None,
                timestamp: 0,
            };
            v.live.insert(id, LiveBroker { info, epoch: 1 });
        }
        v.topics.insert("t".into(), TopicInfo::default());
        v.set_assignment("t", 0, &assignment);
        v.states.insert(
            tp(),
            PartitionState {
                lic: LeaderIsrAndControllerEpoch {
                    leader,
                    leader_epoch: 4,
                    isr: isr.to_vec(),
                    controller_epoch: 6,
                    leader_recovery_state: 0,
                },
                zk_version: 9,
            },
        );
        v
    }

    #[test]
    fn reassign_to_lists_target_first_and_a_cancel_settles_on_the_origin() {
        let moving = ReplicaAssignment::settled(vec![1, 2]).reassign_to(&[2, 3]);
        assert_eq!(moving.replicas, vec![2, 3, 1]);
        assert_eq!(
            (moving.adding.clone(), moving.removing.clone()),
            (vec![3], vec![1])
        );
        assert_eq!((moving.origin(), moving.target()), (vec![2, 1], vec![2, 3]));
        // Kafka cannot restore the original order either: the cancel keeps RS's order.
        let back = moving.reassign_to(&moving.origin());
        assert_eq!(back, ReplicaAssignment::settled(vec![2, 1]));
        assert!(!back.is_being_reassigned());
        // A new target while moving: origin stays {1, 2}; 3 is no longer wanted.
        let replaced = moving.reassign_to(&[1, 4]);
        assert_eq!(replaced.replicas, vec![1, 4, 2]);
        assert_eq!((replaced.adding, replaced.removing), (vec![4], vec![2]));
        // Growing and shrinking the replication factor are reassignments too.
        let grow = ReplicaAssignment::settled(vec![1, 2]).reassign_to(&[1, 2, 3]);
        assert_eq!((grow.adding, grow.removing), (vec![3], vec![]));
        let shrink = ReplicaAssignment::settled(vec![1, 2, 3]).reassign_to(&[1, 2]);
        assert_eq!(
            (shrink.replicas.clone(), shrink.removing),
            (vec![1, 2, 3], vec![3])
        );
    }

    #[test]
    fn targets_are_validated_as_kafka_does() {
        let v = view(
            &[1, 2, 3],
            ReplicaAssignment::settled(vec![1, 2]),
            1,
            &[1, 2],
        );
        let bad = |t: &[i32]| {
            matches!(
                validate_target(&v, &tp(), t),
                Err(ReassignmentError::InvalidReplicaAssignment(_))
            )
        };
        assert!(bad(&[]));
        assert!(bad(&[2, 2]));
        assert!(bad(&[-1, 2]));
        assert!(bad(&[2, 4]), "broker 4 is not alive");
        assert!(validate_target(&v, &tp(), &[2, 3]).is_ok());
        assert!(
            validate_list(&[2, 4]).is_ok(),
            "liveness is not a list's property"
        );
        assert!(validate_list(&[4, 4]).is_err());
        // Only added replicas must be alive: a dead original replica may stay.
        let mut v = v;
        v.live.remove(&1);
        assert!(validate_target(&v, &tp(), &[1, 3]).is_ok());
    }

    #[test]
    fn a_cancel_needs_a_reassignment_in_progress() {
        let v = view(
            &[1, 2, 3],
            ReplicaAssignment::settled(vec![1, 2]),
            1,
            &[1, 2],
        );
        assert_eq!(build(&v, &tp(), None), None);
        let moving = ReplicaAssignment::settled(vec![1, 2]).reassign_to(&[2, 3]);
        let v = view(&[1, 2, 3], moving, 1, &[1, 2]);
        assert_eq!(
            build(&v, &tp(), None),
            Some(ReplicaAssignment::settled(vec![2, 1]))
        );
        assert_eq!(
            build(&v, &tp(), Some(&[2, 3])).map(|a| a.adding),
            Some(vec![3])
        );
    }

    #[test]
    fn complete_once_every_target_replica_is_in_the_isr() {
        let moving = ReplicaAssignment::settled(vec![1, 2]).reassign_to(&[2, 3]);
        let v = view(&[1, 2, 3], moving.clone(), 1, &[1, 2]);
        assert!(!is_complete(&v, &tp(), &moving));
        let bump = leader_epoch_bump(&v, &tp());
        assert_eq!(bump[0].lic.leader_epoch, 5);
        assert_eq!(
            (bump[0].lic.leader, bump[0].lic.isr.clone()),
            (1, vec![1, 2])
        );
        assert_eq!(bump[0].write, Write::Update { zk_version: 9 });
        let v = view(&[1, 2, 3], moving.clone(), 1, &[1, 2, 3]);
        assert!(is_complete(&v, &tp(), &moving));
        assert!(is_complete(&v, &tp(), &ReplicaAssignment::settled(vec![5])));
    }

    #[test]
    fn leadership_moves_into_the_target_only_when_needed() {
        let moving = ReplicaAssignment::settled(vec![1, 2]).reassign_to(&[2, 3]);
        let v = view(&[1, 2, 3], moving.clone(), 1, &[1, 2, 3]);
        let elected = leader_into_target(&v, &tp(), &[2, 3]).unwrap();
        assert_eq!(elected[0].lic.leader, 2);
        assert_eq!(elected[0].lic.isr, vec![1, 2, 3]);
        assert_eq!(elected[0].lic.leader_epoch, 5);
        // 2 in controlled shutdown: the next target replica in the ISR.
        let mut v2 = v.clone();
        v2.shutting_down.insert(2);
        assert_eq!(
            leader_into_target(&v2, &tp(), &[2, 3]).unwrap()[0]
                .lic
                .leader,
            3
        );
        // Already led from the target: nothing to elect.
        let v = view(&[1, 2, 3], moving.clone(), 3, &[1, 2, 3]);
        assert_eq!(leader_into_target(&v, &tp(), &[2, 3]), Some(Vec::new()));
        // Nobody of the target can lead: wait.
        let v = view(&[1, 3], moving, 1, &[1, 2, 3]);
        let mut v = v;
        v.shutting_down.insert(3);
        assert_eq!(leader_into_target(&v, &tp(), &[2, 3]), None);
    }

    #[test]
    fn removed_replicas_leave_the_isr_and_leadership() {
        let v = view(
            &[1, 2, 3],
            ReplicaAssignment::settled(vec![2, 3]),
            2,
            &[1, 2, 3],
        );
        let c = &replicas_removed(&v, &tp(), &[1])[0];
        assert_eq!((c.lic.leader, c.lic.isr.clone()), (2, vec![2, 3]));
        assert_eq!(c.lic.leader_epoch, 5);
        // Not in the ISR: still a change, so the rest learn the new replica set.
        assert_eq!(replicas_removed(&v, &tp(), &[4])[0].lic.isr, vec![1, 2, 3]);
        // A removed leader leaves the partition leaderless until the next step elects one.
        let c = &replicas_removed(&v, &tp(), &[2])[0];
        assert_eq!((c.lic.leader, c.lic.isr.clone()), (-1, vec![1, 3]));
        // The ISR is never emptied.
        let v = view(&[1, 2], ReplicaAssignment::settled(vec![2]), 1, &[1]);
        assert_eq!(replicas_removed(&v, &tp(), &[1])[0].lic.isr, vec![1]);
    }

    #[test]
    fn the_topic_znode_carries_adding_and_removing() {
        let moving = ReplicaAssignment::settled(vec![1, 2]).reassign_to(&[2, 3]);
        let v = view(&[1, 2, 3], moving, 1, &[1, 2]);
        let node = topic_znode(&v, "t").unwrap();
        assert_eq!(node.partitions[&0], vec![2, 3, 1]);
        assert_eq!(node.adding_replicas[&0], vec![3]);
        assert_eq!(node.removing_replicas[&0], vec![1]);
        assert_eq!(node.topic_id, None);
        assert_eq!(v.reassigning(), vec![tp()]);
        let mut v = v;
        v.set_assignment("t", 0, &ReplicaAssignment::settled(vec![2, 3]));
        assert!(topic_znode(&v, "t").unwrap().adding_replicas.is_empty());
        assert!(v.reassigning().is_empty());
    }

    #[test]
    fn finished_entries_leave_the_zk_request() {
        let entries: BTreeMap<TopicPartition, Vec<i32>> =
            [(tp(), vec![2, 3]), (("t".into(), 1), vec![1])].into();
        let left = remaining_zk_entries(&entries, |p, r| *p == tp() && r == [2, 3]).unwrap();
        assert_eq!(left.len(), 1);
        // The entry asked for other replicas (it was replaced): it stays.
        assert_eq!(
            remaining_zk_entries(&entries, |p, r| *p == tp() && r == [9]),
            None
        );
    }
}
