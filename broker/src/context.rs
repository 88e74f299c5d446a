//! What request handlers share: the broker's identity, configuration and the components that
//! own state. Each component guards its own state; this struct only bundles references.

use std::sync::RwLock;

use coordinator::controller::ControllerHandle;

use crate::config::BrokerConfig;
use crate::controller_fence::ControllerFence;
use crate::credentials::Credentials;
use crate::fetch_session::FetchSessions;
use crate::group::GroupCoordinator;
use crate::metadata_cache::MetadataCache;
use crate::producer_ids::ProducerIdAllocator;
use crate::replica::fetcher::FetcherManager;
use crate::replica::follower_polls::FollowerPolls;
use crate::replica::ReplicaManager;

/// The running broker as request handlers see it.
#[derive(Debug)]
pub struct Broker {
    pub broker_id: i32,
    pub cluster_id: String,
    /// The static config (file, environment, `--override`). Keys that can change at run time
    /// must be read from [`Broker::dynamic`] instead.
    pub config: BrokerConfig,
    /// Dynamic broker configs (`/config/brokers/...`) and the effective config they make.
    pub dynamic: crate::dynamic_config::DynamicConfig,
    /// The current ZooKeeper session; replaced after an expiry (see [`Broker::zk`]).
    pub zk_session: RwLock<coordinator::Zk>,
    /// Our registration's broker epoch, and which controller requests we obey.
    pub controller_fence: ControllerFence,
    /// Reaches this broker's controller while it is the active one.
    pub controller: ControllerHandle,
    pub replicas: ReplicaManager,
    pub fetchers: FetcherManager,
    /// Pokes that end followers' long polls (see [`FollowerPolls`]).
    pub follower_polls: FollowerPolls,
    /// Incremental fetch sessions of the followers and consumers fetching from this broker.
    pub fetch_sessions: FetchSessions,
    pub metadata: MetadataCache,
    pub producer_ids: ProducerIdAllocator,
    /// The consumer groups this broker coordinates.
    pub groups: GroupCoordinator,
    /// `authorizer.class.name`'s ACL authorizer; `None`: every request is allowed.
    pub authorizer: Option<crate::auth::Authorizer>,
    /// Counts the sessions installed by [`Broker::replace_zk`], for whoever must re-read
    /// ZooKeeper state after an expiry (the ACLs).
    pub session_generation: tokio::sync::watch::Sender<u64>,
    /// TLS listeners' contexts and the inter-broker client's TLS.
    pub tls: std::sync::Arc<crate::tls::TlsContexts>,
    /// Users of the SASL listeners (PLAIN from JAAS, SCRAM from ZooKeeper).
    pub credentials: Credentials,
}

impl Broker {
    /// The current ZooKeeper session (a cheap clone).
    pub fn zk(&self) -> coordinator::Zk {
        self.zk_session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs a new session (after the previous one expired) and its registration's epoch.
    pub fn replace_zk(&self, zk: coordinator::Zk, broker_epoch: i64) {
        self.groups.replace_zk(zk.clone());
        *self.zk_session.write().unwrap_or_else(|e| e.into_inner()) = zk;
        self.controller_fence.set_broker_epoch(broker_epoch);
        self.session_generation.send_modify(|g| *g += 1);
    }

    /// Wakes on every new ZooKeeper session (after an expiry).
    pub fn subscribe_sessions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.session_generation.subscribe()
    }

    /// The broker epoch of the current registration (the czxid of `/brokers/ids/<id>`).
    pub fn broker_epoch(&self) -> i64 {
        self.controller_fence.broker_epoch()
    }
}

/// Who is on the other end of a connection, once it is authenticated: what authorization
/// decides on. Fixed for the connection's life (Kafka has no re-authentication here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `<type>:<name>` as ACLs name principals: `User:ANONYMOUS` on a PLAINTEXT listener (and on
    /// SSL without a client certificate), the SASL user, or the mapped certificate name.
    pub principal: String,
    /// The client's address as ACL hosts are written (`127.0.0.1`, Java's IPv6 form).
    pub host: String,
}

impl Session {
    /// Kafka's principal for connections that did not authenticate.
    pub const ANONYMOUS: &'static str = "User:ANONYMOUS";

    pub fn anonymous(peer: std::net::IpAddr) -> Session {
        Session {
            principal: Session::ANONYMOUS.to_string(),
            host: crate::auth::java_host_address(peer),
        }
    }
}

/// Per-request context: which broker, and which listener the request arrived on (Metadata
/// answers with that listener's endpoints).
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub broker: &'a Broker,
    pub listener: &'a str,
    /// The authenticated peer.
    pub session: &'a Session,
    /// The client id from the request header ("" when absent).
    pub client_id: &'a str,
    /// The peer address, as Kafka reports client hosts ("/127.0.0.1").
    pub client_host: &'a str,
}
