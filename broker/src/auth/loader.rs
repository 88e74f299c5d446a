//! Keeps the [`Authorizer`]'s ACLs equal to ZooKeeper's, as Kafka's `AclAuthorizer` does:
//! everything is read once before the broker serves, each change notification re-reads the
//! pattern it names (so every broker applies a change within a second), and a new ZooKeeper
//! session after an expiry reads everything again, since notifications may have been purged
//! while this broker was away.

use std::sync::Arc;

use coordinator::acl::{ensure_acl_paths, read_all_acls};
use coordinator::acl_changes::watch_acl_changes;
use coordinator::{Zk, ZkError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::authorizer::{AclIndex, Authorizer};
use crate::context::Broker;

/// Creates the ACL paths (`KafkaZkClient.createAclPaths`) and reads every ACL.
pub async fn load_all(zk: &Zk) -> Result<AclIndex, ZkError> {
    ensure_acl_paths(zk).await?;
    let all = read_all_acls(zk).await?;
    Ok(AclIndex::from_resources(
        all.into_iter()
            .map(|(pattern, versioned)| (pattern, versioned.acls)),
    ))
}

/// Applies ACL changes to `broker.authorizer` until `shutdown`; returns at once without one.
pub async fn follow_acls(broker: Arc<Broker>, shutdown: CancellationToken) {
    let Some(authorizer) = broker.authorizer.as_ref() else {
        return;
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher_broker = broker.clone();
    let watcher = tokio::spawn(watch_acl_changes(
        move || watcher_broker.zk(),
        tx,
        shutdown.clone(),
    ));
    let mut sessions = broker.subscribe_sessions();
    loop {
        tokio::select! {
            change = rx.recv() => {
                let Some((pattern, versioned)) = change else { break };
                debug!(?pattern, acls = versioned.acls.len(), "ACLs changed");
                authorizer.update_resources([(pattern, versioned.acls)]);
            }
            changed = sessions.changed() => {
                if changed.is_err() {
                    break;
                }
                reload(&broker, authorizer, &shutdown).await;
            }
            _ = shutdown.cancelled() => break,
        }
    }
    let _ = watcher.await;
}

/// Reads every ACL again after a new session, retrying until it works or `shutdown`.
async fn reload(broker: &Broker, authorizer: &Authorizer, shutdown: &CancellationToken) {
    while !shutdown.is_cancelled() {
        match load_all(&broker.zk()).await {
            Ok(index) => {
                info!(
                    acls = index.len(),
                    "reloaded ACLs after a new ZooKeeper session"
                );
                authorizer.replace_all(index);
                return;
            }
            Err(e) => warn!(error = %e, "cannot reload ACLs; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}
