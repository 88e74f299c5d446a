//! Leader elections an admin asks for (ElectLeaders, `/admin/preferred_replica_election`), as
//! pure choices over a [`ClusterView`] (Kafka's `processReplicaLeaderElection` and `Election`):
//! which requested partitions need an election, the state changes that elect them, and, once
//! written, how each one ended.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::decisions::{self, StateChange, Write};
use super::view::{ClusterView, TopicPartition};

/// Kafka's `ElectionType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionType {
    /// Hand leadership back to the preferred replica (the first assigned), if it is in the ISR.
    Preferred,
    /// Elect a leader for a partition that has none, out of the ISR if no ISR member is left,
    /// whatever `unclean.leader.election.enable` says.
    Unclean,
}

impl ElectionType {
    /// From the request's `election_type` (0 preferred, 1 unclean).
    pub fn from_wire(value: i8) -> Option<ElectionType> {
        match value {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

impl fmt::Display for ElectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        })
    }
}

/// How one partition's requested election ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionOutcome {
    /// Elected; the new leader.
    Elected(i32),
    /// Nothing to do: the preferred replica leads already, or (unclean) a live leader exists.
    NotNeeded,
    /// No replica could be elected: the preferred one is not live or not in the ISR; (unclean)
    /// no assigned replica is live.
    NoEligibleLeader,
    /// No such topic or partition.
    UnknownPartition,
    /// The topic is queued for deletion.
    TopicBeingDeleted,
}

/// Sorts `partitions` into those to elect and those whose outcome is known without an
/// election (unknown, being deleted, not needed).
pub fn classify(
    view: &ClusterView,
    election: ElectionType,
    partitions: &BTreeSet<TopicPartition>,
) -> (
    Vec<TopicPartition>,
    BTreeMap<TopicPartition, ElectionOutcome>,
) {
    let mut electable = Vec::new();
    let mut decided = BTreeMap::new();
    for tp in partitions {
        let replicas = view.replicas(&tp.0, tp.1);
        let outcome = if replicas.is_empty() {
            Some(ElectionOutcome::UnknownPartition)
        } else if view.deleting.contains(&tp.0) {
            Some(ElectionOutcome::TopicBeingDeleted)
        } else if is_done(view, election, tp) {
            Some(ElectionOutcome::NotNeeded)
        } else {
            None
        };
        match outcome {
            Some(outcome) => {
                decided.insert(tp.clone(), outcome);
            }
            None => electable.push(tp.clone()),
        }
    }
    (electable, decided)
}

/// Whether the partition is where `election` would put it: led by its preferred replica, or
/// (unclean) led by an online replica.
fn is_done(view: &ClusterView, election: ElectionType, tp: &TopicPartition) -> bool {
    let Some(state) = view.states.get(tp) else {
        return false;
    };
    let leader = state.lic.leader;
    match election {
        ElectionType::Preferred => view.replicas(&tp.0, tp.1).first() == Some(&leader),
        ElectionType::Unclean => leader >= 0 && view.is_replica_online(tp, leader),
    }
}

/// The state changes electing `partitions` (from [`classify`]); partitions without an
/// eligible replica get none. A partition that never had a leader (no replica was live when it
/// was created) gets its first one, as Kafka's state machine does for a New partition.
pub fn elections(
    view: &ClusterView,
    election: ElectionType,
    partitions: &[TopicPartition],
) -> Vec<StateChange> {
    let (known, new): (Vec<TopicPartition>, Vec<TopicPartition>) = partitions
        .iter()
        .cloned()
        .partition(|tp| view.states.contains_key(tp));
    let mut changes = decisions::elect_new_partitions(view, &new);
    match election {
        ElectionType::Preferred => changes.extend(decisions::preferred_elections(view, &known)),
        ElectionType::Unclean => changes.extend(known.iter().filter_map(|tp| {
            let state = view.states.get(tp)?;
            let lic = decisions::offline_election(view, tp, &state.lic, true)?;
            Some(StateChange {
                partition: tp.clone(),
                lic,
                write: Write::Update {
                    zk_version: state.zk_version,
                },
            })
        })),
    }
    changes
}

/// After the writes: each of `partitions` is elected if it now is where `election` puts it
/// (the view holds what was written, or what a concurrent writer left).
pub fn outcomes(
    view: &ClusterView,
    election: ElectionType,
    partitions: &[TopicPartition],
) -> BTreeMap<TopicPartition, ElectionOutcome> {
    partitions
        .iter()
        .map(|tp| {
            let outcome = match view.states.get(tp) {
                Some(state) if is_done(view, election, tp) => {
                    ElectionOutcome::Elected(state.lic.leader)
                }
                _ => ElectionOutcome::NoEligibleLeader,
            };
            (tp.clone(), outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::decisions::tests::{lic, view, with_state};
    use ElectionOutcome::*;

    fn tp(p: i32) -> TopicPartition {
        ("t".to_string(), p)
    }

    fn set(ps: &[TopicPartition]) -> BTreeSet<TopicPartition> {
        ps.iter().cloned().collect()
    }

    #[test]
    fn preferred_classification() {
        let mut v = view(&[1, 2, 3], &[(0, &[1, 2]), (1, &[2, 1]), (2, &[3, 1])]);
        v = with_state(v, 0, lic(2, 3, &[2, 1]));
        v = with_state(v, 1, lic(2, 0, &[2, 1]));
        v = with_state(v, 2, lic(1, 0, &[1]));
        let asked = set(&[tp(0), tp(1), tp(2), tp(9), ("nope".into(), 0)]);
        let (electable, decided) = classify(&v, ElectionType::Preferred, &asked);
        assert_eq!(electable, vec![tp(0), tp(2)]);
        assert_eq!(decided[&tp(1)], NotNeeded);
        assert_eq!(decided[&tp(9)], UnknownPartition);
        assert_eq!(decided[&("nope".into(), 0)], UnknownPartition);
        v.deleting.insert("t".into());
        let (electable, decided) = classify(&v, ElectionType::Preferred, &set(&[tp(0)]));
        assert!(electable.is_empty());
        assert_eq!(decided[&tp(0)], TopicBeingDeleted);
    }

    #[test]
    fn preferred_election_elects_the_first_replica_only_from_the_isr() {
        let mut v = view(&[1, 2, 3], &[(0, &[1, 2]), (2, &[3, 1])]);
        v = with_state(v, 0, lic(2, 3, &[2, 1]));
        // Replica 3 is live but out of sync: no election.
        v = with_state(v, 2, lic(1, 0, &[1]));
        let changes = elections(&v, ElectionType::Preferred, &[tp(0), tp(2)]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].lic, lic(1, 4, &[2, 1]), "ISR kept, epoch bumped");
        for change in changes {
            v.states.get_mut(&change.partition).unwrap().lic = change.lic;
        }
        let result = outcomes(&v, ElectionType::Preferred, &[tp(0), tp(2)]);
        assert_eq!(result[&tp(0)], Elected(1));
        assert_eq!(result[&tp(2)], NoEligibleLeader);
    }

    #[test]
    fn unclean_election_is_needed_only_without_a_live_leader() {
        let mut v = view(&[2, 3], &[(0, &[1, 2, 3]), (1, &[2, 3])]);
        v = with_state(v, 0, lic(-1, 7, &[1]));
        v = with_state(v, 1, lic(3, 0, &[3]));
        let (electable, decided) = classify(&v, ElectionType::Unclean, &set(&[tp(0), tp(1)]));
        assert_eq!(electable, vec![tp(0)]);
        assert_eq!(decided[&tp(1)], NotNeeded, "3 leads though 2 is preferred");
        // A leader on a dead broker is no leader either.
        let v2 = with_state(v.clone(), 1, lic(1, 0, &[1]));
        let (electable, _) = classify(&v2, ElectionType::Unclean, &set(&[tp(1)]));
        assert_eq!(electable, vec![tp(1)]);
    }

    #[test]
    fn unclean_election_takes_an_out_of_sync_replica_even_when_disabled() {
        let mut v = view(&[2, 3], &[(0, &[1, 3, 2])]);
        v = with_state(v, 0, lic(-1, 7, &[1]));
        assert!(!v.unclean_allowed("t"), "the broker default is false");
        assert!(
            decisions::elect_offline_and_new(&v).is_empty(),
            "no automatic unclean election"
        );
        let changes = elections(&v, ElectionType::Unclean, &[tp(0)]);
        assert_eq!(changes.len(), 1);
        let change = &changes[0];
        // Assignment order: 3 before 2; the ISR is just the new leader, which recovers.
        assert_eq!((change.lic.leader, change.lic.isr.clone()), (3, vec![3]));
        assert_eq!(change.lic.leader_epoch, 8);
        assert_eq!(change.lic.leader_recovery_state, 1);
        // An ISR member that is live is preferred to an out-of-sync replica (a clean election).
        let v2 = with_state(v.clone(), 0, lic(-1, 7, &[2, 1]));
        let clean = &elections(&v2, ElectionType::Unclean, &[tp(0)])[0];
        assert_eq!((clean.lic.leader, clean.lic.isr.clone()), (2, vec![2]));
        assert_eq!(clean.lic.leader_recovery_state, 0);
        // No assigned replica live: nothing to elect.
        let mut v3 = v.clone();
        v3.live.clear();
        assert!(elections(&v3, ElectionType::Unclean, &[tp(0)]).is_empty());
        assert_eq!(
            outcomes(&v3, ElectionType::Unclean, &[tp(0)])[&tp(0)],
            NoEligibleLeader
        );
    }

    #[test]
    fn a_partition_that_never_had_a_leader_gets_one() {
        let v = view(&[2], &[(0, &[1, 2])]);
        let changes = elections(&v, ElectionType::Preferred, &[tp(0)]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].write, Write::Create);
        assert_eq!(changes[0].lic, lic(2, 0, &[2]));
    }

    #[test]
    fn election_types_on_the_wire() {
        assert_eq!(ElectionType::from_wire(0), Some(ElectionType::Preferred));
        assert_eq!(ElectionType::from_wire(1), Some(ElectionType::Unclean));
        assert_eq!(ElectionType::from_wire(2), None);
        assert_eq!(ElectionType::Unclean.to_string(), "UNCLEAN");
    }
}
