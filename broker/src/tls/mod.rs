//! TLS for SSL and SASL_SSL listeners and for the inter-broker client, with rustls.
//!
//! - [`material`]: PEM keystores and truststores, and the rustls configurations built from
//!   them (server side per listener, client side for the inter-broker listener).
//! - [`principal`]: a client certificate's subject DN as Java writes it, and Kafka's
//!   `ssl.principal.mapping.rules`.
//! - [`ListenerTls`]: one listener's current server configuration and its handshake.
//! - [`watch`]: re-reads certificate files when they change; new connections (and new
//!   inter-broker connections) get the new material, a broken new file keeps the old one.

pub mod material;
pub mod principal;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use kafka_client::ClientTls;
use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::{BrokerConfig, SslConfig};
use crate::context::Session;
pub use material::TlsError;
use principal::PrincipalMapper;

/// How long a client may take to complete the TLS handshake. Bounds what a slow or silent
/// peer costs (one task and its buffers) before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often certificate files are checked for changes.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// One TLS listener: its settings and the server configuration new connections get.
#[derive(Debug)]
pub struct ListenerTls {
    /// Replaced by a dynamic change of the listener's key material (see
    /// [`TlsContexts::reconfigure`]).
    settings: RwLock<SslConfig>,
    mapper: PrincipalMapper,
    current: RwLock<Arc<ServerConfig>>,
}

/// Why a TLS connection was not established.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake timed out after {HANDSHAKE_TIMEOUT:?}")]
    TimedOut,
    #[error("TLS handshake failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Principal(#[from] principal::PrincipalError),
}

impl ListenerTls {
    /// Reads the listener's material and builds its server configuration.
    pub fn new(settings: &SslConfig) -> Result<ListenerTls, TlsError> {
        let mapper = PrincipalMapper::parse(&settings.principal_mapping_rules).map_err(|e| {
            TlsError::Material {
                listener: settings.listener.clone(),
                what: "ssl.principal.mapping.rules".into(),
                message: e,
            }
        })?;
        Ok(ListenerTls {
            current: RwLock::new(material::server_config(settings)?),
            settings: RwLock::new(settings.clone()),
            mapper,
        })
    }

    fn config(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, config: Arc<ServerConfig>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// The listener's current settings.
    fn settings(&self) -> SslConfig {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs the server side of the handshake (bounded by [`HANDSHAKE_TIMEOUT`]) and works out
    /// the client's session: its mapped certificate DN, or `User:ANONYMOUS` without one.
    pub async fn accept(
        &self,
        tcp: TcpStream,
        peer: std::net::IpAddr,
    ) -> Result<(TlsStream<TcpStream>, Session), HandshakeError> {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config());
        let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
            .await
            .map_err(|_| HandshakeError::TimedOut)??;
        let mut session = Session::anonymous(peer);
        let leaf = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first());
        if let Some(cert) = leaf {
            let dn = principal::subject_dn(cert)?;
            session.principal = format!("User:{}", self.mapper.name(&dn)?);
        }
        Ok((stream, session))
    }
}

/// This broker's TLS contexts: one per TLS listener, and the inter-broker client's when the
/// inter-broker listener uses TLS.
#[derive(Debug, Default)]
pub struct TlsContexts {
    listeners: BTreeMap<String, Arc<ListenerTls>>,
    inter_broker: Option<ClientTls>,
}

impl TlsContexts {
    /// Builds every context; a missing or broken file stops the broker at start-up.
    pub fn build(config: &BrokerConfig) -> Result<TlsContexts, TlsError> {
        let mut listeners = BTreeMap::new();
        for (name, settings) in &config.ssl {
            listeners.insert(name.clone(), Arc::new(ListenerTls::new(settings)?));
        }
        let inter_broker = config
            .inter_broker_ssl()
            .map(|s| material::client_config(s).map(ClientTls::new))
            .transpose()?;
        Ok(TlsContexts {
            listeners,
            inter_broker,
        })
    }

    /// The TLS context of a listener, if its protocol uses TLS.
    pub fn listener(&self, name: &str) -> Option<Arc<ListenerTls>> {
        self.listeners.get(name).cloned()
    }

    /// The inter-broker client's TLS, if the inter-broker listener uses TLS.
    pub fn inter_broker(&self) -> Option<&ClientTls> {
        self.inter_broker.as_ref()
    }

    /// Adopts a listener's new settings (a dynamic change of its key material): new
    /// connections, and new inter-broker connections when `inter_broker`, use the new
    /// material; existing connections keep theirs. On error nothing changes.
    pub fn reconfigure(&self, settings: &SslConfig, inter_broker: bool) -> Result<(), TlsError> {
        let Some(listener) = self.listeners.get(&settings.listener) else {
            return Ok(());
        };
        let server = material::server_config(settings)?;
        let client = match (inter_broker, &self.inter_broker) {
            (true, Some(_)) => Some(material::client_config(settings)?),
            _ => None,
        };
        *listener.settings.write().unwrap_or_else(|e| e.into_inner()) = settings.clone();
        listener.replace(server);
        if let (Some(config), Some(tls)) = (client, &self.inter_broker) {
            tls.replace(config);
        }
        Ok(())
    }
}

/// What a file looked like when last read: a change in either means it was rewritten.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &PathBuf) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
    files.iter().map(stamp).collect()
}

/// Polls every TLS listener's files each [`RELOAD_INTERVAL`] until `shutdown`; when one
/// changed, rebuilds that listener's configuration (and the inter-broker client's, if it is
/// that listener). A new file that does not work is logged once per change and the old
/// material stays in use.
pub async fn watch(
    contexts: Arc<TlsContexts>,
    inter_broker_listener: String,
    shutdown: CancellationToken,
) {
    let watched = |l: &ListenerTls| {
        let files = material::watched_files(&l.settings());
        let stamps = stamps(&files);
        (files, stamps)
    };
    let mut seen: BTreeMap<String, (Vec<PathBuf>, Vec<Stamp>)> = contexts
        .listeners
        .iter()
        .map(|(name, l)| (name.clone(), watched(l)))
        .collect();
    if seen.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(RELOAD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        for (name, (files, last)) in seen.iter_mut() {
            let Some(listener) = contexts.listeners.get(name) else {
                continue;
            };
            let (now_files, now) = watched(listener);
            if now_files != *files {
                // Other files since a dynamic change, which loaded them already.
                (*files, *last) = (now_files, now);
                continue;
            }
            if now == *last {
                continue;
            }
            *last = now;
            reload(listener, &contexts, name == &inter_broker_listener);
        }
    }
}

fn reload(listener: &ListenerTls, contexts: &TlsContexts, inter_broker: bool) {
    let settings = listener.settings();
    let name = &settings.listener;
    match material::server_config(&settings) {
        Ok(config) => {
            listener.replace(config);
            info!(listener = %name, "TLS material changed: new connections use the new certificates");
        }
        Err(e) => {
            error!(listener = %name, error = %e, "TLS material changed but cannot be used; keeping the previous certificates");
            return;
        }
    }
    if let (true, Some(client)) = (inter_broker, &contexts.inter_broker) {
        match material::client_config(&settings) {
            Ok(config) => client.replace(config),
            Err(e) => {
                error!(listener = %name, error = %e, "inter-broker TLS material changed but cannot be used; keeping the previous one")
            }
        }
    }
}
