//! `broker admin`: bootstrap users and ACLs straight into ZooKeeper, before (or while) the
//! brokers run, as Kafka's `kafka-configs --zookeeper ... --entity-type users --add-config
//! SCRAM-SHA-512=[password=...]` and `kafka-acls --authorizer-properties zookeeper.connect=...
//! --add` do. It connects as a broker would (same config, JAAS login and znode ACLs), so what
//! it creates is protected exactly like what the brokers create.
//!
//! Idempotent: a user whose stored credentials already match its password and an ACL already
//! present are left alone (no write, no change notification), so running it on every
//! `docker compose up` changes nothing after the first.
//!
//! - [`args`]: the command line.

pub mod args;

use std::collections::BTreeMap;
use std::time::Duration;

use coordinator::acl::AclModifyError;
use coordinator::{Zk, ZkConnect, ZkError};
use sasl::{Mechanism, ScramCredential};

pub use args::{AdminArgs, UserSpec};

use crate::auth::AclBinding;
use crate::config::BrokerConfig;
use crate::zk_session;

/// Iterations of the credentials written (Kafka's default for `kafka-configs`, and its
/// minimum).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// The mechanisms every user gets a credential for.
const MECHANISMS: [Mechanism; 2] = [Mechanism::ScramSha256, Mechanism::ScramSha512];

/// Why `broker admin` failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error("ACLs: {0}")]
    Acl(#[from] AclModifyError),
    #[error("SCRAM credential for user {user:?}: {message}")]
    Credential { user: String, message: String },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// What a run changed, one line per user or ACL, for the operator.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub lines: Vec<String>,
}

/// Connects as the broker would, creates Kafka's paths (with the broker's znode ACLs), writes
/// the users and the ACLs, and closes the session.
pub async fn run(config: &BrokerConfig, args: &AdminArgs) -> Result<Report, AdminError> {
    let connect = ZkConnect::parse(&config.zookeeper_connect)?;
    let options = zk_session::zk_options(config)?;
    // Connecting is bounded by the connection timeout; the writes by this.
    let bound = options.session_timeout.max(Duration::from_secs(30));
    let zk = Zk::connect_with(&connect, &options).await?;
    let result = tokio::time::timeout(bound, apply(&zk, args))
        .await
        .unwrap_or(Err(AdminError::Timeout(bound)));
    zk.close().await;
    result
}

async fn apply(zk: &Zk, args: &AdminArgs) -> Result<Report, AdminError> {
    coordinator::bootstrap::ensure_persistent_paths(zk).await?;
    coordinator::acl::ensure_acl_paths(zk).await?;
    let mut report = Report::default();
    for user in &args.users {
        report.lines.push(upsert_user(zk, user).await?);
    }
    for acl in args.allow.iter().chain(&args.deny) {
        report.lines.push(add_acl(zk, acl).await?);
    }
    Ok(report)
}

/// Sets `user`'s SCRAM credentials, keeping its other configs (quotas) and any credential
/// already made from this password (its salt too).
async fn upsert_user(zk: &Zk, user: &UserSpec) -> Result<String, AdminError> {
    let current = coordinator::user_config::user_config(zk, &user.name).await?;
    let Some(next) = with_credentials(&current, user)? else {
        return Ok(format!("user {}: SCRAM credentials unchanged", user.name));
    };
    coordinator::user_config::set_user_config(zk, &user.name, &next).await?;
    Ok(format!(
        "user {}: SCRAM-SHA-256 and SCRAM-SHA-512 credentials written",
        user.name
    ))
}

/// `config` with a credential for every mechanism that lacks one matching the password;
/// `None` when nothing changes.
pub fn with_credentials(
    config: &BTreeMap<String, String>,
    user: &UserSpec,
) -> Result<Option<BTreeMap<String, String>>, AdminError> {
    let mut next = config.clone();
    for mechanism in MECHANISMS {
        let current = config
            .get(mechanism.name())
            .and_then(|text| ScramCredential::parse(text).ok());
        if current.is_some_and(|c| c.matches_password(mechanism, &user.password)) {
            continue;
        }
        let credential =
            ScramCredential::from_password(mechanism, &user.password, SCRAM_ITERATIONS).map_err(
                |e| AdminError::Credential {
                    user: user.name.clone(),
                    message: e.to_string(),
                },
            )?;
        next.insert(mechanism.name().to_owned(), credential.format());
    }
    Ok((next != *config).then_some(next))
}

/// Adds one ACL to its pattern (Kafka's `AclAuthorizer.createAcls` for one binding).
async fn add_acl(zk: &Zk, acl: &AclBinding) -> Result<String, AdminError> {
    let entry = &acl.entry;
    let done = coordinator::acl::modify_resource_acls(zk, &acl.pattern, |current| {
        current.iter().chain([entry]).cloned().collect()
    })
    .await?;
    let what = format!(
        "{} {} {} on {}:{}:{} from host {}",
        entry.permission_type,
        entry.principal,
        entry.operation,
        acl.pattern.resource_type,
        acl.pattern.pattern_type,
        acl.pattern.name,
        entry.host
    );
    Ok(if done.written {
        format!("ACL added: {what}")
    } else {
        format!("ACL already present: {what}")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn user(password: &str) -> UserSpec {
        UserSpec {
            name: "alice".into(),
            password: password.into(),
        }
    }

    #[test]
    fn credentials_written_once_per_password() {
        let quota = BTreeMap::from([("producer_byte_rate".to_owned(), "1024".to_owned())]);
        let first = with_credentials(&quota, &user("pw")).unwrap().unwrap();
        assert_eq!(
            first.get("producer_byte_rate").map(String::as_str),
            Some("1024")
        );
        for m in MECHANISMS {
            let c = ScramCredential::parse(&first[m.name()]).unwrap();
            assert_eq!(c.iterations, SCRAM_ITERATIONS);
            assert!(c.matches_password(m, "pw"));
        }
        assert_eq!(with_credentials(&first, &user("pw")).unwrap(), None);
        let changed = with_credentials(&first, &user("new")).unwrap().unwrap();
        assert_ne!(changed["SCRAM-SHA-512"], first["SCRAM-SHA-512"]);
        // One mechanism missing: only it is added, the other keeps its salt.
        let mut half = first.clone();
        half.remove("SCRAM-SHA-256");
        let filled = with_credentials(&half, &user("pw")).unwrap().unwrap();
        assert_eq!(filled["SCRAM-SHA-512"], first["SCRAM-SHA-512"]);
        assert!(filled.contains_key("SCRAM-SHA-256"));
    }
}
