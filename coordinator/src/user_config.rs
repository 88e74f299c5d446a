//! Users' dynamic configs in ZooKeeper, as Kafka's `AdminZkClient` keeps them:
//! `/config/users/<sanitized user>` holds `{"version":1,"config":{...}}`, where SCRAM
//! credentials are the entries named after their mechanism
//! (`"SCRAM-SHA-256":"salt=...,stored_key=...,server_key=...,iterations=4096"`) beside other
//! user configs (quotas) that are kept untouched. Every change is announced with a
//! `/config/changes/config_change_N` notification naming `users/<sanitized user>`, which every
//! broker follows ([`crate::config_changes`]).

use std::collections::BTreeMap;

use sasl::{Mechanism, ScramCredential};

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::UserConfigZNode;

/// A user name as Kafka's `Sanitizer.sanitize` writes it into a znode name: URL-encoded
/// (Java's `URLEncoder`: letters, digits and `.-_` kept, every other UTF-8 byte as `%XX`),
/// with `*` as `%2A` and space as `%20`.
pub fn sanitize(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for b in user.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The user name of a sanitized znode name (Java's `URLDecoder`: `%XX` bytes, `+` a space);
/// `None` if it does not decode to UTF-8.
pub fn desanitize(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = name.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A user's configs (empty if the node does not exist).
pub async fn user_config(zk: &Zk, user: &str) -> Result<BTreeMap<String, String>, ZkError> {
    let sanitized = sanitize(user);
    match zk.get(&UserConfigZNode::path(&sanitized)).await? {
        Some((data, _)) if !data.is_empty() => UserConfigZNode::decode(&sanitized, &data),
        _ => Ok(BTreeMap::new()),
    }
}

/// Every user with a config node, desanitized, with its configs. Names that do not decode
/// and nodes that are not Kafka's JSON are skipped with a warning (one bad node must not stop
/// a broker from starting).
pub async fn all_user_configs(zk: &Zk) -> Result<Vec<(String, BTreeMap<String, String>)>, ZkError> {
    let children = match zk.children(UserConfigZNode::PATH).await {
        Err(e) if e.is_no_node() => return Ok(Vec::new()),
        other => other?,
    };
    let mut users = Vec::new();
    for child in children {
        let Some(user) = desanitize(&child) else {
            tracing::warn!(
                node = child,
                "user config node name does not URL-decode; skipped"
            );
            continue;
        };
        match user_config(zk, &user).await {
            Ok(config) => users.push((user, config)),
            Err(e @ ZkError::Json { .. }) => {
                tracing::warn!(user, error = %e, "user config is not Kafka's JSON; skipped");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(users)
}

/// Replaces a user's configs and announces the change (Kafka's `changeUserOrUserClientIdConfig`):
/// an empty config removes the node when it has no children (per-client quotas), as Kafka
/// cleans up quota nodes.
pub async fn set_user_config(
    zk: &Zk,
    user: &str,
    config: &BTreeMap<String, String>,
) -> Result<(), ZkError> {
    let sanitized = sanitize(user);
    let path = UserConfigZNode::path(&sanitized);
    let removed = config.is_empty() && remove_if_childless(zk, &path).await?;
    if !removed {
        let data = UserConfigZNode::encode(config);
        crate::config_changes::write_entity(zk, UserConfigZNode::PATH, &path, &data).await?;
    }
    crate::config_changes::announce(zk, &format!("users/{sanitized}")).await
}

/// Deletes `path` unless it has children; true if it is gone.
async fn remove_if_childless(zk: &Zk, path: &str) -> Result<bool, ZkError> {
    match zk.delete(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_no_node() => Ok(true),
        Err(e) if e.is_not_empty() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The SCRAM credentials among a user's configs. An entry that does not parse is left out
/// (with a warning): that user then fails authentication with that mechanism.
pub fn scram_credentials(
    user: &str,
    config: &BTreeMap<String, String>,
) -> BTreeMap<Mechanism, ScramCredential> {
    let mut out = BTreeMap::new();
    for m in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let Some(text) = config.get(m.name()) else {
            continue;
        };
        match ScramCredential::parse(text) {
            Ok(c) => {
                out.insert(m, c);
            }
            Err(e) => tracing::warn!(user, mechanism = %m, error = %e, "SCRAM credential ignored"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_as_kafka() {
        assert_eq!(sanitize("alice"), "alice");
        assert_eq!(sanitize("a b*c+d/é"), "a%20b%2Ac%2Bd%2F%C3%A9");
        assert_eq!(sanitize("User.1-x_y"), "User.1-x_y");
        for name in ["alice", "a b*c+d/é", "=,%"] {
            assert_eq!(desanitize(&sanitize(name)).as_deref(), Some(name));
        }
        assert_eq!(desanitize("a+b").as_deref(), Some("a b"));
        assert_eq!(desanitize("%zz"), None);
        assert_eq!(desanitize("%C3"), None);
    }

    #[test]
    fn credentials_from_config() {
        let good = ScramCredential::from_password(Mechanism::ScramSha256, "pw", 4096).unwrap();
        let config = BTreeMap::from([
            ("SCRAM-SHA-256".to_string(), good.format()),
            ("SCRAM-SHA-512".to_string(), "garbage".to_string()),
            ("producer_byte_rate".to_string(), "1024".to_string()),
        ]);
        let creds = scram_credentials("u", &config);
        assert_eq!(creds.len(), 1);
        assert_eq!(creds.get(&Mechanism::ScramSha256), Some(&good));
    }
}
