//! A Kafka-protocol broker whose cluster state lives in ZooKeeper, laid out as Kafka's
//! ZooKeeper mode lays it out.
//!
//! Module layout (a request's path, top to bottom):
//! - [`server`]: start-up order, listeners, the ordered drain on shutdown.
//! - [`connection`]: framing; one task per client connection, requests answered in order.
//! - [`sasl_stage`]: on SASL listeners, the exchange a connection must pass before it is
//!   served; [`credentials`]: the users it checks against (JAAS, ZooKeeper's SCRAM).
//! - [`api`]: dispatch on the API key, one file per Kafka API.
//! - [`auth`]: Kafka's ACL model and the authorizer's decision (not yet on the request path).
//! - [`group`]: the consumer-group coordinator; offsets in ZooKeeper under `/consumers`.
//! - [`replica`]: the partitions this broker hosts (leader epoch, high watermark, producer state).
//! - [`log`]: segments and indexes on disk: append, read, recover, retention, compaction.
//! - [`cleaner`]: the background threads that compact `cleanup.policy=compact` logs.
//! - [`records`]: record batch validation and format conversion.
//! - [`fetch_session`]: incremental fetch sessions (which partitions a fetcher follows, what it
//!   was last told).
//! - [`metadata_cache`]: brokers and partition leadership as the controller last described them.
//! - [`controller_fence`]: which controller requests the broker obeys (the controller ZooKeeper
//!   names, for our current registration).
//! - [`log_throttle`]: rate limits for log lines a peer can cause once per request.
//! - [`zk_session`]: the controller module's lifecycle and re-registration after a ZooKeeper
//!   session expiry; [`controlled_shutdown`]: asking the controller to move leadership away
//!   before stopping.
//! - [`tls`]: TLS listeners (rustls), client-certificate principals, certificate reload, and
//!   the inter-broker client's TLS.
//! - [`config`]: typed configuration from YAML, `KAFKA_*` env vars and `--override`.
//! - [`admin`]: `broker admin`, which writes SCRAM users and ACLs straight into ZooKeeper.
//!
//! Glossary: *LEO* log end offset (next offset to be written); *HW* high watermark (offsets
//! below it are committed and visible to consumers); *leader epoch* bumps on every leader
//! change; *ISR* in-sync replicas; *controller epoch* fences requests from deposed controllers.

/// Huge allocations only reserve address space: a peer's absurd element count (decoders
/// reserve room for every element a request claims) must not abort the broker.
#[global_allocator]
static ALLOCATOR: huge_alloc::HugeAlloc = huge_alloc::HugeAlloc;

pub mod admin;
pub mod api;
pub mod auth;
pub mod cleaner;
pub mod config;
pub mod connection;
pub mod context;
pub mod controlled_shutdown;
pub mod controller_fence;
pub mod credentials;
pub mod dynamic_config;
pub mod fetch_session;
pub mod frame;
pub mod group;
pub mod log;
pub mod log_throttle;
pub mod meta_properties;
pub mod metadata_cache;
pub mod producer_ids;
pub mod records;
pub mod replica;
pub mod sasl_stage;
pub mod server;
pub mod shutdown;
pub mod tls;
pub mod topic_config;
pub mod zk_session;
