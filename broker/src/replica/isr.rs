//! Leader-side ISR maintenance (Kafka's `Partition.maybeShrinkIsr` / `maybeExpandIsr` and
//! `Replica.updateFetchState`), in the legacy ZooKeeper form: the leader itself rewrites the
//! partition state node, conditionally on the partition epoch, and leaves an
//! `/isr_change_notification` for the controller.
//!
//! The decisions are pure functions over [`FollowerState`]s; [`propose`] performs the write.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use coordinator::znode::LeaderIsrAndControllerEpoch;
use tracing::{info, warn};

use crate::replica::Partition;

/// What the leader knows about one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's log end offset (its last fetch offset), -1 until it fetches.
    pub leo: i64,
    /// The follower's log start offset (sent with its fetches), -1 until it fetches.
    pub log_start: i64,
    /// Last time the follower was known to be caught up with the leader.
    pub last_caught_up_ms: i64,
    /// The leader's log end offset at the follower's previous fetch.
    pub last_fetch_leader_leo: i64,
    pub last_fetch_ms: i64,
}

impl FollowerState {
    /// A follower as seen by a new leader: unknown position, counted as caught up now so that
    /// it gets `replica.lag.time.max.ms` to show up before it is dropped from the ISR.
    pub fn new(now_ms: i64) -> Self {
        FollowerState {
            leo: -1,
            log_start: -1,
            last_caught_up_ms: now_ms,
            last_fetch_leader_leo: -1,
            last_fetch_ms: now_ms,
        }
    }

    /// Records a fetch at `fetch_offset` while the leader's log ends at `leader_leo`.
    pub fn on_fetch(&mut self, fetch_offset: i64, leader_leo: i64, now_ms: i64) {
        if fetch_offset >= leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(now_ms);
        } else if fetch_offset >= self.last_fetch_leader_leo {
            // It has what the leader had at its previous fetch: caught up as of then.
            self.last_caught_up_ms = self.last_caught_up_ms.max(self.last_fetch_ms);
        }
        self.leo = fetch_offset;
        self.last_fetch_leader_leo = leader_leo;
        self.last_fetch_ms = now_ms;
    }
}

/// The ISR without followers that have lagged for more than `lag_ms`; `None` if unchanged.
/// The leader never removes itself.
pub fn shrink(
    isr: &[i32],
    leader: i32,
    followers: &HashMap<i32, FollowerState>,
    leader_leo: i64,
    now_ms: i64,
    lag_ms: i64,
) -> Option<Vec<i32>> {
    let in_sync = |r: &i32| {
        if *r == leader {
            return true;
        }
        match followers.get(r) {
            Some(f) => f.leo == leader_leo || now_ms - f.last_caught_up_ms <= lag_ms,
            None => true,
        }
    };
    let kept: Vec<i32> = isr.iter().copied().filter(in_sync).collect();
    (kept.len() != isr.len()).then_some(kept)
}

/// The ISR with `replica` added if it has caught up: its log end offset reached the high
/// watermark and the start of the current leader epoch. `None` if nothing changes.
pub fn expand(
    isr: &[i32],
    replicas: &[i32],
    replica: i32,
    follower_leo: i64,
    high_watermark: i64,
    epoch_start_offset: i64,
) -> Option<Vec<i32>> {
    if isr.contains(&replica) || !replicas.contains(&replica) {
        return None;
    }
    if follower_leo < high_watermark || follower_leo < epoch_start_offset {
        return None;
    }
    let mut next = isr.to_vec();
    next.push(replica);
    Some(next)
}

/// Writes `new_isr` to ZooKeeper as the leader and adopts it on success. One change per
/// partition is in flight at a time; a conflicting controller write wins (we keep the old ISR
/// until its LeaderAndIsr arrives).
pub async fn propose(zk: &coordinator::Zk, partition: &Partition, new_isr: Vec<i32>) {
    if partition.isr_change_in_flight.swap(true, Ordering::AcqRel) {
        return;
    }
    let role = partition.role();
    if partition.is_leader() && partition.begin_isr_change(&new_isr) {
        let state = LeaderIsrAndControllerEpoch {
            leader: role.leader,
            leader_epoch: role.leader_epoch,
            isr: new_isr.clone(),
            controller_epoch: role.controller_epoch,
            leader_recovery_state: 0,
        };
        let topic = partition.topic.clone();
        let index = partition.index;
        let written = coordinator::partition_state::update_isr_as_leader(
            zk,
            &topic,
            index,
            &state,
            role.partition_epoch,
        )
        .await;
        match written {
            Ok(version) => {
                if partition.adopt_isr(&new_isr, version, role.leader_epoch) {
                    info!(topic, partition = index, old = ?role.isr, new = ?new_isr, "ISR changed");
                    if let Err(e) = coordinator::partition_state::notify_isr_change(
                        zk,
                        &[(topic.clone(), index)],
                    )
                    .await
                    {
                        warn!(topic, partition = index, error = %e, "ISR change notification failed");
                    }
                }
            }
            Err(e) if e.is_bad_version() => {
                info!(
                    topic,
                    partition = index,
                    "ISR write lost to a newer partition state; waiting for the controller"
                );
            }
            Err(e) => warn!(topic, partition = index, error = %e, "ISR write failed"),
        }
        partition.end_isr_change();
    }
    partition
        .isr_change_in_flight
        .store(false, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_state_tracks_catch_up_time() {
        let mut f = FollowerState::new(0);
        f.on_fetch(5, 10, 100);
        // Behind, but it has what the leader had before (nothing): caught up as of then.
        assert_eq!(f.last_caught_up_ms, 0);
        f.on_fetch(10, 12, 200);
        // It reached what the leader had at the previous fetch (10): caught up as of 100.
        assert_eq!(f.last_caught_up_ms, 100);
        f.on_fetch(12, 12, 300);
        assert_eq!(f.last_caught_up_ms, 300);
        assert_eq!(f.leo, 12);
    }

    #[test]
    fn shrink_drops_only_lagging_followers() {
        let mut followers = HashMap::new();
        let mut slow = FollowerState::new(0);
        slow.on_fetch(3, 10, 1_000);
        followers.insert(2, slow);
        let mut fast = FollowerState::new(0);
        fast.on_fetch(10, 10, 40_000);
        followers.insert(3, fast);
        assert_eq!(
            shrink(&[1, 2, 3], 1, &followers, 10, 40_000, 30_000),
            Some(vec![1, 3])
        );
        assert_eq!(shrink(&[1, 2, 3], 1, &followers, 10, 20_000, 30_000), None);
    }

    #[test]
    fn expand_needs_high_watermark_and_epoch_start() {
        assert_eq!(expand(&[1], &[1, 2], 2, 10, 10, 5), Some(vec![1, 2]));
        assert_eq!(expand(&[1], &[1, 2], 2, 9, 10, 5), None);
        assert_eq!(expand(&[1], &[1, 2], 2, 10, 8, 12), None);
        assert_eq!(expand(&[1, 2], &[1, 2], 2, 10, 10, 5), None);
        assert_eq!(expand(&[1], &[1, 2], 3, 10, 10, 5), None);
    }
}
