//! Dynamic topic, user and broker configs reach every broker the way Kafka's ZooKeeper mode delivers
//! them: the admin path writes `/config/topics/<t>` (or `/config/users/<u>`, `/config/brokers/<id>`) and then a sequential
//! `/config/changes/config_change_NNNNNNNNNN` naming the entity; every broker child-watches
//! `/config/changes`, re-reads the entity node for each notification newer than the last one it
//! applied (the notification is only a trigger), and purges notifications older than 15 minutes.
//!
//! Notifications written while the broker had no session may be missed (purged or read by
//! nobody), so on each new session after the first the watcher says [`ConfigChange::NewSession`]
//! and the broker re-reads what it caches.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::admin::topic_config;
use crate::broker_config::{broker_config, BrokerEntity};
use crate::connect::Zk;
use crate::user_config::{desanitize, user_config};
use crate::znode::ConfigChangeNotificationZNode;

/// Writes a config entity's znode (`/config/<type>/<name>` under `parent`), creating it and its
/// parent when absent; a concurrent creator is overwritten, as Kafka's `setOrCreateEntityConfigs`.
pub(crate) async fn write_entity(
    zk: &Zk,
    parent: &str,
    path: &str,
    data: &[u8],
) -> Result<(), crate::ZkError> {
    match zk.set(path, data, None).await {
        Err(e) if e.is_no_node() => {
            zk.ensure_path(parent).await?;
            match zk.create(path, data, false).await {
                Err(e) if e.is_node_exists() => zk.set(path, data, None).await.map(|_| ()),
                other => other.map(|_| ()),
            }
        }
        other => other.map(|_| ()),
    }
}

/// Announces a change of `entity` ("topics/t", "users/alice", "brokers/<default>") with a
/// sequential `/config/changes/config_change_N`, which every broker follows.
pub(crate) async fn announce(zk: &Zk, entity: &str) -> Result<(), crate::ZkError> {
    zk.ensure_path(ConfigChangeNotificationZNode::PATH).await?;
    zk.create_sequential(
        &ConfigChangeNotificationZNode::sequential_prefix(),
        &ConfigChangeNotificationZNode::encode(entity),
    )
    .await?;
    Ok(())
}

/// Kafka purges change notifications after this long.
const PURGE_AFTER_MS: i64 = 15 * 60 * 1000;
const PREFIX: &str = "config_change_";

/// A change a broker applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// A topic whose overrides changed, with its current overrides.
    Topic(String, BTreeMap<String, String>),
    /// A user (desanitized) whose configs changed, with its current configs (empty if gone).
    User(String, BTreeMap<String, String>),
    /// A broker entity (one broker, or the cluster defaults) whose dynamic configs changed,
    /// with its current configs.
    Broker(BrokerEntity, BTreeMap<String, String>),
    /// A new ZooKeeper session: re-read everything cached, changes may have been missed.
    NewSession,
}

/// The entity a notification names: v2 `{"entity_path":"topics/t"}` or v1
/// `{"entity_type":"topics","entity_name":"t"}`. Non-JSON payloads are ignored, as in Kafka.
pub fn entity_path(data: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(data).ok()?;
    if let Some(p) = v.get("entity_path").and_then(Value::as_str) {
        return Some(p.to_string());
    }
    let kind = v.get("entity_type").and_then(Value::as_str)?;
    let name = v.get("entity_name").and_then(Value::as_str)?;
    Some(format!("{kind}/{name}"))
}

/// The user a `users/...` entity names: `<sanitized>` alone; per-client entities
/// (`<user>/clients/<id>`) and the default user (`<default>`) hold only quotas.
fn user_entity(rest: &str) -> Option<String> {
    if rest.contains('/') || rest == "<default>" {
        return None;
    }
    desanitize(rest)
}

fn sequence(child: &str) -> Option<u64> {
    child.strip_prefix(PREFIX)?.parse().ok()
}

/// Watches `/config/changes` until `shutdown`, sending each changed topic's overrides and
/// user's configs to `tx`. `zk` returns the current session (it changes after a session
/// expiry).
pub async fn watch_config_changes(
    zk: impl Fn() -> Zk,
    tx: mpsc::UnboundedSender<ConfigChange>,
    shutdown: CancellationToken,
) {
    let mut last_seen: Option<u64> = None;
    let mut session_id = None;
    while !shutdown.is_cancelled() {
        let session = zk();
        if session_id.is_some_and(|id| id != session.session_id()) {
            let _ = tx.send(ConfigChange::NewSession);
        }
        session_id = Some(session.session_id());
        let watched = session
            .watch_children(ConfigChangeNotificationZNode::PATH)
            .await;
        let (children, watcher) = match watched {
            Ok(w) => w,
            Err(e) => {
                debug!(error = %e, "cannot watch /config/changes; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        let mut pending: Vec<(u64, String)> = children
            .into_iter()
            .filter_map(|c| sequence(&c).map(|s| (s, c)))
            .filter(|(s, _)| last_seen.is_none_or(|l| *s > l))
            .collect();
        pending.sort();
        for (seq, child) in pending {
            if let Err(e) = process(&session, &child, &tx).await {
                warn!(notification = child, error = %e, "config change not applied");
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
    child: &str,
    tx: &mpsc::UnboundedSender<ConfigChange>,
) -> Result<(), crate::ZkError> {
    let path = format!("{}/{child}", ConfigChangeNotificationZNode::PATH);
    let Some((data, stat)) = zk.get(&path).await? else {
        return Ok(());
    };
    let entity = entity_path(&data).unwrap_or_default();
    if let Some(topic) = entity.strip_prefix("topics/") {
        let overrides = topic_config(zk, topic).await?;
        let _ = tx.send(ConfigChange::Topic(topic.to_string(), overrides));
    } else if let Some(user) = entity.strip_prefix("users/").and_then(user_entity) {
        let config = user_config(zk, &user).await?;
        let _ = tx.send(ConfigChange::User(user, config));
    } else if let Some(entity) = entity
        .strip_prefix("brokers/")
        .and_then(BrokerEntity::parse)
    {
        let config = broker_config(zk, entity).await?;
        let _ = tx.send(ConfigChange::Broker(entity, config));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    if now - stat.ctime > PURGE_AFTER_MS {
        zk.delete(&path).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_paths_of_both_versions() {
        assert_eq!(
            entity_path(br#"{"version":2,"entity_path":"topics/t1"}"#).as_deref(),
            Some("topics/t1")
        );
        assert_eq!(
            entity_path(br#"{"version":1,"entity_type":"topics","entity_name":"t2"}"#).as_deref(),
            Some("topics/t2")
        );
        assert_eq!(entity_path(b"not json"), None);
        assert_eq!(sequence("config_change_0000000042"), Some(42));
        assert_eq!(sequence("other"), None);
        assert_eq!(user_entity("alice").as_deref(), Some("alice"));
        assert_eq!(user_entity("a%2Cb").as_deref(), Some("a,b"));
        assert_eq!(user_entity("alice/clients/c1"), None);
        assert_eq!(user_entity("<default>"), None);
    }
}
