//! The partitions this broker hosts.
//!
//! - [`manager`]: finds, opens and creates partition logs across `log.dirs`; applies the
//!   controller's LeaderAndIsr decisions.
//! - [`partition`]: one replica: log, role, high watermark, producer state.
//! - [`producer_state`]: idempotent-producer sequence tracking.
//! - [`fetcher`]: follower fetches from leaders, with leader-epoch truncation.
//! - [`fetch_delays`]: partitions a fetcher leaves out for a while after an error.
//! - [`follower_polls`]: ends a follower's long poll when it is needed on a new partition.
//! - [`log_dirs`]: the log dirs, and taking one offline when an I/O error fails it.
//! - [`dir_move`]: moving a replica to another log dir (AlterReplicaLogDirs, future logs).
//! - [`isr`]: leader-side ISR shrink/expand, written to ZooKeeper by the leader.
//! - [`checkpoint`]: high-watermark checkpoint files.
//! - [`throttle`]: replication throttles (leader and follower byte-rate quotas).

pub mod checkpoint;
pub mod dir_move;
mod fetch_delays;
pub mod fetcher;
pub mod follower_polls;
pub mod isr;
pub mod log_dirs;
pub mod manager;
pub mod partition;
pub mod producer_state;
pub mod throttle;

pub use manager::ReplicaManager;
pub use partition::{Partition, PartitionError};
