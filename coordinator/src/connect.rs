//! The ZooKeeper session: connect string parsing, connecting (authenticating, creating the
//! chroot), closing.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
pub use zookeeper_client::SessionState;
use zookeeper_client::{Client, SaslOptions, StateWatcher};

use crate::error::ZkError;
use crate::zk_acl::ZnodeAcls;
use crate::zk_auth::ZkOptions;
use crate::zk_ops::ensure_path_with;

/// How long [`Zk::close`] waits for ZooKeeper to acknowledge the session close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A parsed `zookeeper.connect` value: `host:port[,host:port...][/chroot]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkConnect {
    /// `host:port,host:port`, without the chroot.
    pub servers: String,
    /// The chroot path (e.g. `/kafka`), if any; `/` alone means none.
    pub chroot: Option<String>,
}

impl ZkConnect {
    /// Parses `h1:2181,h2:2181/kafka`. The chroot starts at the first `/`, as in the Java client.
    pub fn parse(s: &str) -> Result<ZkConnect, ZkError> {
        let invalid = || ZkError::InvalidConnectString(s.to_string());
        let s = s.trim();
        let (servers, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Some(s[i..].trim_end_matches('/'))),
            None => (s, None),
        };
        if servers.is_empty() {
            return Err(invalid());
        }
        for server in servers.split(',') {
            let (host, port) = server.rsplit_once(':').ok_or_else(invalid)?;
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(invalid());
            }
        }
        let chroot = match chroot {
            Some(c) if c.contains("//") => return Err(invalid()),
            Some("") | None => None,
            Some(c) => Some(c.to_string()),
        };
        Ok(ZkConnect {
            servers: servers.to_string(),
            chroot,
        })
    }
}

/// A ZooKeeper session with the chroot applied; cheap to clone (all clones share the session).
///
/// Wraps `zookeeper_client::Client` so that [`Zk::close`] can end the session even while other
/// clones (the controller, watchers) are still around: after `close` every operation on any
/// clone fails with [`ZkError::Closed`].
#[derive(Clone)]
pub struct Zk {
    inner: Arc<Inner>,
}

struct Inner {
    client: Mutex<Option<Client>>,
    session_id: i64,
    /// The ACLs every znode this session creates gets.
    acls: ZnodeAcls,
}

impl Zk {
    /// Connects without authentication, creating open znodes; see [`Zk::connect_with`].
    pub async fn connect(
        connect: &ZkConnect,
        session_timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Zk, ZkError> {
        Zk::connect_with(connect, &ZkOptions::new(session_timeout, connect_timeout)).await
    }

    /// Connects (bounded by `options.connect_timeout`), authenticating as `options` say, and
    /// creates the chroot path if missing (Kafka does), with the ACLs `options.acls` give it.
    pub async fn connect_with(connect: &ZkConnect, options: &ZkOptions) -> Result<Zk, ZkError> {
        options.validate()?;
        let connect_timeout = options.connect_timeout;
        let mut connector = Client::connector()
            .with_session_timeout(options.session_timeout)
            .with_connection_timeout(connect_timeout);
        if let Some(login) = &options.sasl {
            let sasl = SaslOptions::digest_md5(login.username.clone(), login.password.clone());
            connector = connector.with_sasl(sasl);
        }
        let connecting = match &options.tls {
            None => connector.connect(&connect.servers).left_future(),
            Some(tls) => connector
                .with_tls(tls.options()?)
                .secure_connect(&connect.servers)
                .right_future(),
        };
        let timed_out = || ZkError::ConnectTimeout {
            servers: connect.servers.clone(),
            timeout: connect_timeout,
        };
        let client = tokio::time::timeout(connect_timeout, WithTokioSpawner::new(connecting))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| match e {
                zookeeper_client::Error::Timeout | zookeeper_client::Error::NoHosts => timed_out(),
                zookeeper_client::Error::AuthFailed => ZkError::AuthFailed {
                    servers: connect.servers.clone(),
                    user: options
                        .sasl
                        .as_ref()
                        .map(|l| l.username.clone())
                        .unwrap_or_default(),
                },
                e => ZkError::client(format!("connect to {}", connect.servers), e),
            })?;
        if let Some(login) = &options.sasl {
            check_authenticated(&client, &connect.servers, &login.username).await?;
        }
        let client = match &connect.chroot {
            None => client,
            Some(chroot) => {
                // The chroot's ancestors are created as Kafka's createRecursive creates them:
                // each with the ACLs of its own path.
                ensure_path_with(&client, chroot, options.acls).await?;
                client
                    .chroot(chroot.as_str())
                    .map_err(|_| ZkError::InvalidConnectString(chroot.clone()))?
            }
        };
        let session_id = client.session_id().0;
        tracing::info!(session = format!("{session_id:#x}"), servers = %connect.servers, "ZooKeeper session established");
        Ok(Zk {
            inner: Arc::new(Inner {
                client: Mutex::new(Some(client)),
                session_id,
                acls: options.acls,
            }),
        })
    }

    /// The ZooKeeper session id (what `ephemeralOwner` shows on our ephemeral nodes).
    pub fn session_id(&self) -> i64 {
        self.inner.session_id
    }

    /// Closes the session so our ephemeral nodes vanish at once (rather than after the timeout).
    pub async fn close(self) {
        let client = self.lock().take();
        let Some(client) = client else { return };
        let mut state = client.state_watcher();
        // The session task sends CloseSession once the last client handle is gone.
        drop(client);
        let closed = async { while !state.changed().await.is_terminated() {} };
        if tokio::time::timeout(CLOSE_TIMEOUT, closed).await.is_err() {
            tracing::warn!("ZooKeeper session close not acknowledged within {CLOSE_TIMEOUT:?}");
        }
    }

    /// A watcher of session state changes (Disconnected, SyncConnected, Expired, Closed).
    pub fn state_watcher(&self) -> Result<StateWatcher, ZkError> {
        Ok(self.client()?.state_watcher())
    }

    /// The ACL policy of the znodes this session creates.
    pub fn acls(&self) -> ZnodeAcls {
        self.inner.acls
    }

    /// The current session state; `Closed` after [`Zk::close`].
    pub fn state(&self) -> SessionState {
        match self.lock().as_ref() {
            Some(client) => client.state(),
            None => SessionState::Closed,
        }
    }

    /// A clone of the underlying client, or [`ZkError::Closed`].
    pub(crate) fn client(&self) -> Result<Client, ZkError> {
        self.lock().clone().ok_or(ZkError::Closed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Client>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.inner
            .client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for Zk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Zk(session {:#x})", self.inner.session_id)
    }
}

/// Fails unless the session authenticated with SASL: a server without SASL enabled accepts the
/// session anyway, and every secure create would then fail with a puzzling INVALIDACL.
async fn check_authenticated(client: &Client, servers: &str, user: &str) -> Result<(), ZkError> {
    match client.list_auth_users().await {
        Ok(users) if users.iter().any(|u| u.scheme() == "sasl") => Ok(()),
        Ok(users) => {
            let ids: Vec<String> = users
                .iter()
                .map(|u| format!("{}:{}", u.scheme(), u.user()))
                .collect();
            Err(ZkError::NotAuthenticated {
                servers: servers.to_owned(),
                user: user.to_owned(),
                identities: ids.join(", "),
            })
        }
        // `whoami` came with ZooKeeper 3.7; older servers cannot tell us.
        Err(zookeeper_client::Error::Unimplemented) => {
            tracing::warn!(
                servers,
                "ZooKeeper is older than 3.7: cannot check that the SASL login took effect"
            );
            Ok(())
        }
        Err(e) => Err(ZkError::client("whoami", e)),
    }
}

/// Spawns zookeeper-client's tasks on tokio.
///
/// zookeeper-client is runtime-agnostic: it spawns its session task through the `spawns`
/// facade, which panics without a registered spawner. Rather than a global (link-time)
/// registration we install a tokio spawner around each poll of the connect future, which is the
/// only place the client spawns for the operations we use.
struct TokioSpawner(tokio::runtime::Handle);

impl spawns_core::Spawn for TokioSpawner {
    fn spawn(&self, task: spawns_core::Task) {
        self.0.spawn(Box::into_pin(task.future));
    }
}

/// A future polled inside a [`TokioSpawner`] scope.
struct WithTokioSpawner<F> {
    future: Pin<Box<F>>,
    spawner: TokioSpawner,
}

impl<F> WithTokioSpawner<F> {
    fn new(future: F) -> Self {
        WithTokioSpawner {
            future: Box::pin(future),
            spawner: TokioSpawner(tokio::runtime::Handle::current()),
        }
    }
}

impl<F: Future> Future for WithTokioSpawner<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _scope = spawns_core::enter(&this.spawner);
        this.future.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_servers_and_chroot() {
        let c = ZkConnect::parse("h1:2181,h2:2182/kafka").unwrap();
        assert_eq!(c.servers, "h1:2181,h2:2182");
        assert_eq!(c.chroot.as_deref(), Some("/kafka"));
        let c = ZkConnect::parse("zk:2181").unwrap();
        assert_eq!(c.chroot, None);
        assert_eq!(ZkConnect::parse("zk:2181/").unwrap().chroot, None);
        assert_eq!(
            ZkConnect::parse("zk:2181/a/b/").unwrap().chroot.as_deref(),
            Some("/a/b")
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "/kafka", "zk", "zk:port", ":2181", "zk:2181//x"] {
            assert!(ZkConnect::parse(bad).is_err(), "{bad}");
        }
    }
}
