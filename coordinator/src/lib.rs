//! Everything that talks to ZooKeeper, laid out exactly as Apache Kafka 3.x does in ZooKeeper
//! mode, so `zkCli.sh` shows what a Kafka cluster would show.
//!
//! # Layout
//! - [`connect`]: [`ZkConnect`] (parsing `zookeeper.connect`) and [`Zk`], the session handle.
//! - [`error`]: [`ZkError`], the one error type.
//! - [`znode`]: one type per znode: path + Kafka-format data (`ZkData.scala`).
//! - [`zk_auth`]: [`ZkOptions`]: SASL DIGEST-MD5 login from a JAAS `Client` section
//!   ([`jaas_client`]) and `zookeeper.set.acl`.
//! - [`zk_tls`]: TLS to ZooKeeper (PEM truststore, optional client certificate).
//! - [`zk_acl`]: which ACLs each created znode gets (Kafka's `ZkData.defaultAcls`).
//! - [`zk_ops`]: typed operations on [`Zk`] (absent = `None`, errors carry the path, multi-ops,
//!   controller-epoch-fenced multi-ops).
//! - [`bootstrap`]: startup paths, cluster id, broker id generation.
//! - [`registration`]: the broker's ephemeral `/brokers/ids/<id>`.
//! - [`acl`]: Kafka's ACL model as stored in ZooKeeper; reading and conditionally writing
//!   `/kafka-acl*` (the authorization decision is the broker's).
//! - [`acl_changes`]: every broker's watch of `/kafka-acl*-changes`, re-reading changed ACLs.
//! - [`admin`]: topic creation (Kafka's `AdminZkClient`), usable from any broker.
//! - [`partition_state`]: the partition leader's conditional ISR writes and
//!   `/isr_change_notification` (legacy leader-side ISR path).
//! - [`log_dir_event`]: a broker announcing a failed log dir (`/log_dir_event_notification`).
//! - [`broker_config`]: dynamic broker configs under `/config/brokers` (`<id>`, `<default>`).
//! - [`user_config`]: users' configs (SCRAM credentials) under `/config/users`, Kafka's format.
//! - [`offsets`]: committed consumer-group offsets under `/consumers/<group>/offsets`.
//! - [`producer_ids`]: producer-id blocks from `/latest_producer_id_block`.
//! - [`controller`]: Kafka's ZooKeeper-mode controller: election, a single event loop, pure
//!   decisions, and the request channel to brokers.
//!
//! # Glossary
//! - **zkVersion**: a znode's data version (`Stat.version`), bumped by every setData; conditional
//!   writes name the version they expect and fail with BADVERSION otherwise.
//! - **czxid**: the ZooKeeper transaction id that created a node. A broker's registration czxid is
//!   its **broker epoch**: a restarted broker gets a larger one.
//! - **controller epoch**: `/controller_epoch`, +1 per election. Its zkVersion fences every
//!   controller write (multi[check(/controller_epoch, v), op]) so a deposed controller cannot write.
//! - **leader epoch**: per partition, +1 per leader election or controller-made ISR change.
//! - **partition epoch**: the zkVersion of a partition's `state` node.
//! - **ISR**: in-sync replicas: the replicas caught up with the leader; never written empty.

// Tests may unwrap: a panic there is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod acl;
pub mod acl_changes;
pub mod admin;
pub mod bootstrap;
pub mod broker_config;
pub mod config_changes;
pub mod connect;
pub mod controller;
pub mod error;
pub mod jaas_client;
pub mod log_dir_event;
pub mod offsets;
pub mod partition_state;
pub mod producer_ids;
pub mod registration;
pub mod user_config;
pub mod zk_acl;
pub mod zk_auth;
pub mod zk_ops;
pub mod zk_tls;
pub mod znode;

pub use connect::{Zk, ZkConnect};
pub use error::{ControllerError, ReassignmentError, ZkError};
pub use zk_acl::ZnodeAcls;
pub use zk_auth::{ZkOptions, ZkSaslConfig};
pub use zk_tls::{ZkTls, ZkTlsIdentity};
