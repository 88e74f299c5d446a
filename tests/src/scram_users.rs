//! SCRAM users written straight into ZooKeeper in Kafka's format, as
//! `kafka-configs --zookeeper ... --alter --add-config SCRAM-SHA-256=[password=...]` writes
//! them: the `/config/users/<user>` node, then the change notification brokers follow. Tests
//! use it for users that must exist before any broker starts (the brokers' own user).

use std::io;

use sasl::{Mechanism, ScramCredential};
use serde_json::Value;

use crate::zookeeper::zk_cli;

/// Kafka's `/config/users/<user>` JSON with a credential per mechanism (4096 iterations).
pub fn user_json(password: &str, mechanisms: &[Mechanism]) -> io::Result<String> {
    let mut config = serde_json::Map::new();
    for &m in mechanisms {
        let c = ScramCredential::from_password(m, password, 4096)
            .map_err(|e| io::Error::other(format!("SCRAM credential: {e}")))?;
        config.insert(m.name().to_string(), Value::String(c.format()));
    }
    Ok(serde_json::json!({"version": 1, "config": config}).to_string())
}

/// The user node and its change notification. `root` is the chroot ("" for none).
pub fn add_user_in_zk(
    zk: &str,
    root: &str,
    user: &str,
    password: &str,
    mechanisms: &[Mechanism],
) -> io::Result<()> {
    write_user_node(zk, root, user, password, mechanisms)?;
    // Already there after the first user: zkCli's complaint is harmless.
    let _ = zk_cli(zk, &["create", &format!("{root}/config/changes")]);
    let note = format!("{{\"version\":2,\"entity_path\":\"users/{user}\"}}");
    let prefix = format!("{root}/config/changes/config_change_");
    zk_cli(zk, &["create", "-s", &prefix, &note]).map(|_| ())
}

/// The user node alone, without a notification (as if the notification was purged unread).
pub fn write_user_node(
    zk: &str,
    root: &str,
    user: &str,
    password: &str,
    mechanisms: &[Mechanism],
) -> io::Result<()> {
    for path in [
        root.to_string(),
        format!("{root}/config"),
        format!("{root}/config/users"),
    ] {
        if !path.is_empty() {
            let _ = zk_cli(zk, &["create", &path]);
        }
    }
    let data = user_json(password, mechanisms)?;
    let node = format!("{root}/config/users/{user}");
    // create fails if the node exists; set then writes the new credentials either way.
    let _ = zk_cli(zk, &["create", &node, &data]);
    zk_cli(zk, &["set", &node, &data]).map(|_| ())
}
