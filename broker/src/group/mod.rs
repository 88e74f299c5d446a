//! The consumer-group coordinator (Kafka's classic group protocol), with committed offsets
//! kept in ZooKeeper under `/consumers/<group>/offsets` (see `coordinator::offsets`).
//!
//! Layout:
//! - [`placement`]: which broker coordinates a group (rendezvous hashing over live brokers).
//! - [`state`]: a group as plain data: Kafka's states, members, deadlines.
//! - [`join`]: JoinGroup and rebalance completion, as pure transitions.
//! - [`membership`]: SyncGroup, Heartbeat, LeaveGroup, commit validation, timer expiry.
//! - [`subscriptions`]: the topics members subscribe to, and what OffsetDelete may remove.
//! - [`coordinator`]: the running component: groups behind mutexes, parked requests, one timer
//!   task per group, offsets through ZooKeeper.
//! - [`error`]: [`GroupError`] and its Kafka codes.
//!
//! Glossary: *generation* +1 per completed rebalance, fences members of older ones; *leader*
//! the member that computes the assignment; *static member* one with a `group.instance.id`,
//! kept across restarts; *pending member* a member id handed out with MEMBER_ID_REQUIRED
//! (JoinGroup v4+) that has not joined with it yet.
//!
//! What is not like Kafka: membership lives only in the coordinator's memory (Kafka writes it
//! to `__consumer_offsets`), so when a group moves to another broker its members get
//! UNKNOWN_MEMBER_ID / NOT_COORDINATOR and rejoin a fresh generation; committed offsets are
//! in ZooKeeper and survive. Offset retention for a group without members is counted from
//! the later of its last commit and the time it became Empty on this coordinator.

pub mod coordinator;
pub mod error;
pub mod join;
pub mod membership;
pub mod placement;
pub mod state;
pub mod subscriptions;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use coordinator::GroupCoordinator;
pub use error::GroupError;
pub use state::{GroupConfig, GroupState};

use crate::context::Broker;
use crate::metadata_cache::MetadataCache;

/// How often groups that moved to another broker are unloaded.
const MOVE_CHECK_INTERVAL: Duration = Duration::from_millis(500);
/// How often expired offsets are looked for (`offsets.retention.check.interval.ms` default).
const RETENTION_CHECK_INTERVAL: Duration = Duration::from_secs(600);

/// The live broker ids the controller last told us about.
pub fn live_ids(metadata: &MetadataCache) -> Vec<i32> {
    metadata.brokers().iter().map(|b| b.id).collect()
}

/// Have a member-less group's offsets outlived `retention_ms`? The clock starts at the later
/// of the last commit and the time the group became Empty (if known).
pub fn offsets_expired(
    now_ms: i64,
    retention_ms: i64,
    last_commit_ms: Option<i64>,
    empty_since_ms: Option<i64>,
) -> bool {
    let start = match (last_commit_ms, empty_since_ms) {
        (None, None) => return false,
        (a, b) => a.max(b).unwrap_or(0),
    };
    now_ms.saturating_sub(start) >= retention_ms
}

/// The coordinator settings from the broker config.
pub fn config_of(c: &crate::config::BrokerConfig) -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: c.group_initial_rebalance_delay_ms,
        min_session_timeout_ms: c.group_min_session_timeout_ms,
        max_session_timeout_ms: c.group_max_session_timeout_ms,
    }
}

/// Background upkeep until `shutdown`: unload groups that moved, expire old offsets.
pub async fn maintenance(broker: Arc<Broker>, shutdown: CancellationToken) {
    let mut moves = tokio::time::interval(MOVE_CHECK_INTERVAL);
    let mut retention = tokio::time::interval(RETENTION_CHECK_INTERVAL);
    retention.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = moves.tick() => broker.groups.unload_moved(&live_ids(&broker.metadata)),
            _ = retention.tick() => broker.groups.expire_offsets(&live_ids(&broker.metadata)).await,
        }
    }
}
