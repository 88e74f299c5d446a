//! What request handlers share: the broker's identity, configuration and the components that
//! own state. Each component guards its own state; this struct only bundles references.

use crate::config::BrokerConfig;
use crate::group::GroupCoordinator;
use crate::metadata_cache::MetadataCache;
use crate::producer_ids::ProducerIdAllocator;
use crate::replica::ReplicaManager;

/// The running broker as request handlers see it.
#[derive(Debug)]
pub struct Broker {
    pub broker_id: i32,
    pub cluster_id: String,
    pub config: BrokerConfig,
    pub zk: coordinator::Zk,
    pub replicas: ReplicaManager,
    pub metadata: MetadataCache,
    pub producer_ids: ProducerIdAllocator,
    /// The consumer groups this broker coordinates.
    pub groups: GroupCoordinator,
}

/// Per-request context: which broker, and which listener the request arrived on (Metadata
/// answers with that listener's endpoints).
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub broker: &'a Broker,
    pub listener: &'a str,
}
