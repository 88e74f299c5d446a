//! Dynamic topic configs reach every broker the way Kafka's ZooKeeper mode delivers them: the
//! admin path writes `/config/topics/<t>` and then a sequential
//! `/config/changes/config_change_NNNNNNNNNN` naming the entity; every broker child-watches
//! `/config/changes`, re-reads the entity node for each notification newer than the last one it
//! applied (the notification is only a trigger), and purges notifications older than 15 minutes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::admin::topic_config;
use crate::connect::Zk;
use crate::znode::ConfigChangeNotificationZNode;

/// Kafka purges change notifications after this long.
const PURGE_AFTER_MS: i64 = 15 * 60 * 1000;
const PREFIX: &str = "config_change_";

/// A topic whose overrides changed, with its current overrides.
pub type TopicConfigUpdate = (String, BTreeMap<String, String>);

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

fn sequence(child: &str) -> Option<u64> {
    child.strip_prefix(PREFIX)?.parse().ok()
}

/// Watches `/config/changes` until `shutdown`, sending each changed topic's overrides to `tx`.
/// `zk` returns the current session (it changes after a session expiry).
pub async fn watch_topic_configs(
    zk: impl Fn() -> Zk,
    tx: mpsc::UnboundedSender<TopicConfigUpdate>,
    shutdown: CancellationToken,
) {
    let mut last_seen: Option<u64> = None;
    while !shutdown.is_cancelled() {
        let session = zk();
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
    tx: &mpsc::UnboundedSender<TopicConfigUpdate>,
) -> Result<(), crate::ZkError> {
    let path = format!("{}/{child}", ConfigChangeNotificationZNode::PATH);
    let Some((data, stat)) = zk.get(&path).await? else {
        return Ok(());
    };
    if let Some(topic) =
        entity_path(&data).and_then(|p| p.strip_prefix("topics/").map(String::from))
    {
        let overrides = topic_config(zk, &topic).await?;
        let _ = tx.send((topic, overrides));
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
    }
}
