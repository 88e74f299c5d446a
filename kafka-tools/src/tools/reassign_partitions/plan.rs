//! The pure parts of planning a reassignment: Kafka's rack-unaware replica placement for
//! `--generate` (`AdminUtils.assignReplicasToBrokersRackUnaware`), and which replicas a move
//! throttles (`calculateProposedMoveMap`, `calculateLeaderThrottles`,
//! `calculateFollowerThrottles`, `calculateReassigningBrokers`).

use std::collections::{BTreeMap, BTreeSet};

use super::json::TopicPartition;
use crate::error::{Result, ToolError};

/// Kafka's `replicaIndex`: where the follower `replica_index` of a partition whose first
/// replica is at `first` goes, with the partition's `shift`.
fn replica_index(first: usize, shift: usize, replica_index: usize, n: usize) -> usize {
    let shift = 1 + (shift + replica_index) % (n - 1);
    (first + shift) % n
}

/// Places `partitions` partitions of `rf` replicas on `brokers` as Kafka does without racks:
/// first replicas round-robin from `start`, followers shifted by a shift that grows by one
/// each time the partitions wrap around the brokers (Kafka picks `start` and the first
/// shift at random; so do callers).
pub(super) fn assign_rack_unaware(
    brokers: &[i32],
    partitions: usize,
    rf: usize,
    start: usize,
    first_shift: usize,
) -> Result<BTreeMap<i32, Vec<i32>>> {
    if partitions == 0 {
        return Err(ToolError::usage(
            "Number of partitions must be larger than 0.",
        ));
    }
    if rf == 0 {
        return Err(ToolError::usage(
            "Replication factor must be larger than 0.",
        ));
    }
    let n = brokers.len();
    if rf > n {
        return Err(ToolError::usage(format!(
            "Replication factor: {rf} larger than available brokers: {n}."
        )));
    }
    let mut shift = first_shift;
    let mut out = BTreeMap::new();
    for p in 0..partitions {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![brokers[first]];
        for j in 0..rf - 1 {
            replicas.push(brokers[replica_index(first, shift, j, n)]);
        }
        out.insert(p as i32, replicas);
    }
    Ok(out)
}

/// One partition's move: the replicas it has (and keeps serving from) and the ones it gains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PartitionMove {
    pub(super) sources: BTreeSet<i32>,
    pub(super) destinations: BTreeSet<i32>,
}

/// Every partition moving, by topic then partition.
pub(super) type MoveMap = BTreeMap<String, BTreeMap<i32, PartitionMove>>;

/// An ongoing reassignment as ListPartitionReassignments reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Ongoing {
    pub(super) replicas: Vec<i32>,
    pub(super) adding: Vec<i32>,
    pub(super) removing: Vec<i32>,
}

/// The moves of the ongoing reassignments plus the proposed ones: a proposed partition
/// already moving keeps its sources; otherwise its sources are its current replicas.
pub(super) fn proposed_moves(
    ongoing: &BTreeMap<TopicPartition, Ongoing>,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
    current: &BTreeMap<TopicPartition, Vec<i32>>,
) -> Result<MoveMap> {
    let mut moves = MoveMap::new();
    for ((topic, partition), o) in ongoing {
        let sources: BTreeSet<i32> = o
            .replicas
            .iter()
            .filter(|r| !o.adding.contains(r))
            .copied()
            .collect();
        let destinations = o.adding.iter().copied().collect();
        moves.entry(topic.clone()).or_default().insert(
            *partition,
            PartitionMove {
                sources,
                destinations,
            },
        );
    }
    for (tp, replicas) in proposed {
        let parts = moves.entry(tp.0.clone()).or_default();
        let sources = match (parts.get(&tp.1), current.get(tp)) {
            (Some(m), _) => m.sources.clone(),
            (None, Some(c)) => c.iter().copied().collect(),
            (None, None) => {
                return Err(ToolError::usage(format!(
                    "Trying to reassign a topic partition {}-{} with 0 replicas",
                    tp.0, tp.1
                )))
            }
        };
        let destinations = replicas
            .iter()
            .filter(|r| !sources.contains(r))
            .copied()
            .collect();
        parts.insert(
            tp.1,
            PartitionMove {
                sources,
                destinations,
            },
        );
    }
    Ok(moves)
}

/// `leader.replication.throttled.replicas` per topic: every source of every moving partition.
pub(super) fn leader_throttles(moves: &MoveMap) -> BTreeMap<String, String> {
    throttles(moves, |m| m.sources.iter().copied().collect())
}

/// `follower.replication.throttled.replicas` per topic: every destination that is not also
/// a source.
pub(super) fn follower_throttles(moves: &MoveMap) -> BTreeMap<String, String> {
    throttles(moves, |m| {
        m.destinations
            .iter()
            .filter(|d| !m.sources.contains(d))
            .copied()
            .collect()
    })
}

fn throttles(
    moves: &MoveMap,
    brokers: impl Fn(&PartitionMove) -> Vec<i32>,
) -> BTreeMap<String, String> {
    moves
        .iter()
        .map(|(topic, parts)| {
            // Kafka sorts the "p:b" strings as strings (a TreeSet of them).
            let items: BTreeSet<String> = parts
                .iter()
                .flat_map(|(p, m)| brokers(m).into_iter().map(move |b| format!("{p}:{b}")))
                .collect();
            (
                topic.clone(),
                items.into_iter().collect::<Vec<_>>().join(","),
            )
        })
        .collect()
}

/// Every broker a move reads from or writes to: where the throttle rates go.
pub(super) fn reassigning_brokers(moves: &MoveMap) -> BTreeSet<i32> {
    moves
        .values()
        .flat_map(|parts| parts.values())
        .flat_map(|m| m.sources.iter().chain(&m.destinations).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rack_unaware_placement_is_kafkas() {
        // Kafka's documented example: 5 brokers, 10 partitions, RF 3, start 0, shift 0.
        let a = assign_rack_unaware(&[0, 1, 2, 3, 4], 10, 3, 0, 0).expect("assign");
        let expected: [&[i32]; 10] = [
            &[0, 1, 2],
            &[1, 2, 3],
            &[2, 3, 4],
            &[3, 4, 0],
            &[4, 0, 1],
            &[0, 2, 3],
            &[1, 3, 4],
            &[2, 4, 0],
            &[3, 0, 1],
            &[4, 1, 2],
        ];
        for (p, replicas) in expected.iter().enumerate() {
            assert_eq!(a[&(p as i32)], replicas.to_vec(), "partition {p}");
        }
        let moved = assign_rack_unaware(&[4, 5, 6], 2, 2, 1, 1).expect("assign");
        assert_eq!(moved[&0], vec![5, 4]);
        assert_eq!(moved[&1], vec![6, 5]);
        let err = assign_rack_unaware(&[1, 2], 1, 3, 0, 0).map(|_| ());
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("Replication factor: 3 larger than available brokers: 2.".to_string())
        );
    }

    #[test]
    fn throttles_name_sources_on_leaders_and_new_replicas_on_followers() {
        let tp = |t: &str, p: i32| (t.to_string(), p);
        let current = BTreeMap::from([(tp("t", 0), vec![1, 2]), (tp("t", 1), vec![2, 3])]);
        let proposed = BTreeMap::from([(tp("t", 0), vec![2, 3]), (tp("t", 1), vec![2, 3])]);
        // u/0 is already moving 1 -> 4.
        let ongoing = BTreeMap::from([(
            tp("u", 0),
            Ongoing {
                replicas: vec![1, 4],
                adding: vec![4],
                removing: vec![1],
            },
        )]);
        let moves = proposed_moves(&ongoing, &proposed, &current).expect("moves");
        let leader = leader_throttles(&moves);
        let follower = follower_throttles(&moves);
        assert_eq!(leader["t"], "0:1,0:2,1:2,1:3");
        assert_eq!(follower["t"], "0:3");
        assert_eq!(leader["u"], "0:1");
        assert_eq!(follower["u"], "0:4");
        assert_eq!(reassigning_brokers(&moves), BTreeSet::from([1, 2, 3, 4]));
        let missing = proposed_moves(
            &BTreeMap::new(),
            &BTreeMap::from([(tp("x", 0), vec![1])]),
            &current,
        );
        assert!(missing.is_err());
    }
}
