//! Integration test harness: real ZooKeeper, real broker processes, real Kafka clients.
//!
//! Modules:
//! - [`zookeeper`]: a standalone ZooKeeper server or a 3-node loopback ensemble, and `zkCli.sh`;
//!   [`zk_certs`]: a throw-away CA and certificates for a TLS ZooKeeper.
//! - [`broker`]: a broker process on a free port with its own log dir; stop, kill, restart.
//! - [`cluster`]: ZooKeeper + one broker under a per-test chroot, with zkCli helpers.
//! - [`multi`]: ZooKeeper (standalone or ensemble) + N brokers (ids 1..=N) on one chroot;
//!   controller / leader lookups, topic creation, produce straight to one broker.
//! - [`traffic`]: a steady background producer, a whole-topic consumer, and the check that
//!   every acknowledged record is in the log exactly once.
//! - [`wire`]: a tiny blocking Kafka client (kafka-protocol codecs) for exact requests.
//! - [`python`]: runs the client scripts in `tests/clients/` (kafka-python, confluent-kafka).
//! - [`kcat`]: byte-exact produce/consume through kcat.
//! - [`docker`]: the docker tier: local images, the compose cluster, the docker CLI.
//! - [`segments`]: a stopped replica's records, read from its segment files.
//! - [`check`]: assertions on client output (hex, contiguous offsets, binary payloads).
//! - [`process`]: running child processes with deadlines; [`ports`]: free ports.
//! - [`scram_users`]: SCRAM users written into ZooKeeper in Kafka's format.
//! - [`certs`]: a throw-away CA and the certificates it signs (openssl), for TLS tests.
//! - [`tmpfs`]: a small tmpfs (a disk that fills up), unmounted on drop.
//! - [`tools`]: Kafka's tools from the `kafka-tools` binary, run through links named after them.
//!
//! Every process a test starts is killed by PID when its handle drops, and every wait has a
//! deadline, so a broken broker fails tests instead of hanging them.

pub mod zk_certs;
pub mod zookeeper;

pub mod batch;
pub mod broker;
pub mod certs;
pub mod check;
pub mod cluster;
pub mod docker;
pub mod kcat;
pub mod multi;
pub mod ports;
pub mod process;
pub mod python;
pub mod sasl_clients;
pub mod scram_users;
pub mod segments;
pub mod tmpfs;
pub mod tools;
pub mod traffic;
pub mod wire;

pub use broker::{BrokerProcess, BrokerSetup};
pub use cluster::Cluster;

use std::path::PathBuf;

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_dir() -> PathBuf {
    let tests_crate = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match tests_crate.parent() {
        Some(root) => root.to_path_buf(),
        None => tests_crate,
    }
}

/// `expect` for tests, but printing the error with `Display`: harness errors carry multi-line
/// broker log tails and client stderr, which `Debug` would squash into one escaped line.
pub trait OrPanic<T> {
    /// Unwraps, or panics with "`what`: error".
    fn or_panic(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> OrPanic<T> for Result<T, E> {
    #[track_caller]
    fn or_panic(self, what: &str) -> T {
        match self {
            Ok(value) => value,
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

impl<T> OrPanic<T> for Option<T> {
    #[track_caller]
    fn or_panic(self, what: &str) -> T {
        match self {
            Some(value) => value,
            None => panic!("{what}: nothing there"),
        }
    }
}
