//! ACL changes reach every broker as Kafka's `AclAuthorizer` receives them: a writer changes
//! `/kafka-acl[-extended/prefixed]/<Type>/<name>` and adds a sequential
//! `/kafka-acl[-extended]-changes/acl_changes_N` naming the pattern; every broker child-watches
//! both change folders, re-reads the named pattern's ACLs for each notification newer than the
//! last one it applied (the notification is only a trigger), and purges notifications older
//! than 15 minutes (`ZkNodeChangeNotificationListener`).
//!
//! The first pass after (re)connecting handles every notification present, so a change made
//! between a full load and the start of the watch is not missed.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::acl::{read_resource_acls, PatternType, ResourcePattern, VersionedAcls};
use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::acl::AclChangeZNode;

/// Kafka purges change notifications after this long.
const PURGE_AFTER_MS: i64 = 15 * 60 * 1000;

/// A pattern whose ACLs changed, with its ACLs as read after the notification (empty and
/// without a version when the pattern no longer has any).
pub type AclChange = (ResourcePattern, VersionedAcls);

/// Watches both ACL change folders until `shutdown`, sending each changed pattern's current
/// ACLs to `tx`. `zk` returns the current session (it changes after a session expiry).
pub async fn watch_acl_changes(
    zk: impl Fn() -> Zk,
    tx: mpsc::UnboundedSender<AclChange>,
    shutdown: CancellationToken,
) {
    let literal = watch_store(&zk, PatternType::Literal, &tx, &shutdown);
    let extended = watch_store(&zk, PatternType::Prefixed, &tx, &shutdown);
    tokio::join!(literal, extended);
}

async fn watch_store(
    zk: &impl Fn() -> Zk,
    pattern_type: PatternType,
    tx: &mpsc::UnboundedSender<AclChange>,
    shutdown: &CancellationToken,
) {
    let parent = AclChangeZNode::parent_path(pattern_type);
    let mut last_seen: Option<u64> = None;
    while !shutdown.is_cancelled() {
        let session = zk();
        let (children, watcher) = match session.watch_children(parent).await {
            Ok(w) => w,
            Err(e) => {
                debug!(error = %e, parent, "cannot watch ACL changes; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        let mut pending: Vec<(u64, String)> = children
            .into_iter()
            .filter_map(|c| AclChangeZNode::sequence(&c).map(|s| (s, c)))
            .filter(|(s, _)| last_seen.is_none_or(|l| *s > l))
            .collect();
        pending.sort();
        for (seq, child) in pending {
            let path = format!("{parent}/{child}");
            if let Err(e) = process(&session, &path, pattern_type, tx).await {
                warn!(notification = path, error = %e, "ACL change not applied");
            }
            last_seen = Some(seq);
        }
        tokio::select! {
            _ = watcher.changed() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn process(
    zk: &Zk,
    path: &str,
    pattern_type: PatternType,
    tx: &mpsc::UnboundedSender<AclChange>,
) -> Result<(), ZkError> {
    let Some((data, stat)) = zk.get(path).await? else {
        return Ok(());
    };
    let purge = now_ms() - stat.ctime > PURGE_AFTER_MS;
    let applied = apply(zk, path, pattern_type, &data, tx).await;
    if purge {
        zk.delete(path).await?;
    }
    applied
}

async fn apply(
    zk: &Zk,
    path: &str,
    pattern_type: PatternType,
    data: &[u8],
    tx: &mpsc::UnboundedSender<AclChange>,
) -> Result<(), ZkError> {
    let pattern = AclChangeZNode::decode(path, pattern_type, data)?;
    let acls = read_resource_acls(zk, &pattern).await?;
    let _ = tx.send((pattern, acls));
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
