//! `broker admin`'s arguments: the configuration flags the broker takes, and the users and
//! ACLs to write, parsed and validated before anything touches ZooKeeper.

use crate::api::acl_wire::{binding, WireBinding};
use crate::auth::acl::{AclOperation, AclPermissionType, PatternType, ResourceType};
use crate::auth::AclBinding;
use crate::config::ConfigArgs;

/// `broker admin [--config FILE] [--override K=V ...] [--user NAME:PASSWORD ...]
/// [--allow ACL ...] [--deny ACL ...]`.
#[derive(clap::Args, Debug, Clone)]
pub struct AdminArgs {
    /// The broker's configuration (zookeeper.connect, zookeeper.set.acl, the JAAS file of
    /// KAFKA_OPTS), loaded exactly as `broker` loads it.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// A SCRAM user: SCRAM-SHA-256 and SCRAM-SHA-512 credentials (4096 iterations) for this
    /// password, as `kafka-configs --entity-type users --add-config` writes them; repeatable.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    pub users: Vec<UserSpec>,
    /// Allow an operation, as `kafka-acls --add --allow-principal` does; repeatable. The form is
    /// PRINCIPAL:OPERATION:RESOURCE_TYPE:PATTERN_TYPE:NAME, e.g.
    /// User:alice:Read:Topic:Literal:orders (names case-insensitive, host `*`).
    #[arg(long = "allow", value_name = "ACL", value_parser = parse_allow)]
    pub allow: Vec<AclBinding>,
    /// Deny an operation (same form as --allow); a DENY wins over every ALLOW.
    #[arg(long = "deny", value_name = "ACL", value_parser = parse_deny)]
    pub deny: Vec<AclBinding>,
}

/// A user and the password its SCRAM credentials are made from.
#[derive(Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// The user name (what clients give as `sasl_plain_username`).
    pub name: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Passwords stay out of logs and error messages.
        f.debug_struct("UserSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `NAME:PASSWORD`: the name ends at the first `:` (the password may hold more).
pub fn parse_user(text: &str) -> Result<UserSpec, String> {
    let (name, password) = text
        .split_once(':')
        .ok_or_else(|| "expected NAME:PASSWORD, e.g. alice:alice-secret".to_owned())?;
    if name.is_empty() {
        return Err("empty user name: expected NAME:PASSWORD".to_owned());
    }
    if password.is_empty() {
        return Err(format!("empty password for user {name:?}"));
    }
    Ok(UserSpec {
        name: name.to_owned(),
        password: password.to_owned(),
    })
}

fn parse_allow(text: &str) -> Result<AclBinding, String> {
    parse_acl(text, AclPermissionType::Allow)
}

fn parse_deny(text: &str) -> Result<AclBinding, String> {
    parse_acl(text, AclPermissionType::Deny)
}

/// `PRINCIPAL_TYPE:PRINCIPAL_NAME:OPERATION:RESOURCE_TYPE:PATTERN_TYPE:NAME`; the resource
/// name is the rest (group names may hold `:`). Validated as CreateAcls validates a binding.
pub fn parse_acl(text: &str, permission: AclPermissionType) -> Result<AclBinding, String> {
    let usage = "expected PRINCIPAL:OPERATION:RESOURCE_TYPE:PATTERN_TYPE:NAME, e.g. \
                 User:alice:Read:Topic:Literal:orders";
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [kind, user, operation, resource_type, pattern_type, name] = parts[..] else {
        return Err(format!("{text:?}: {usage}"));
    };
    let operation = named(operation, AclOperation::ALL_VALUES, |v| {
        (v.pascal_name(), v.enum_name())
    })
    .ok_or_else(|| unknown("operation", operation, AclOperation::ALL_VALUES))?;
    let resource_type = named(resource_type, ResourceType::ALL_VALUES, |v| {
        (v.pascal_name(), v.enum_name())
    })
    .ok_or_else(|| unknown("resource type", resource_type, ResourceType::ALL_VALUES))?;
    let pattern_type = named(pattern_type, PatternType::ALL_VALUES, |v| {
        (v.pascal_name(), v.enum_name())
    })
    .ok_or_else(|| unknown("pattern type", pattern_type, PatternType::ALL_VALUES))?;
    if user.is_empty() {
        return Err(format!("{text:?}: empty principal name ({usage})"));
    }
    // Principals the broker authenticates are all `User:`; `user:alice` would never match.
    let kind = if kind.eq_ignore_ascii_case("user") {
        "User"
    } else {
        kind
    };
    let principal = format!("{kind}:{user}");
    binding(&WireBinding {
        resource_type: resource_type.code(),
        name,
        pattern_type: pattern_type.code(),
        principal: &principal,
        host: crate::auth::acl::WILDCARD_HOST,
        operation: operation.code(),
        permission_type: permission.code(),
    })
    .map_err(|e| format!("{text:?}: {e}"))
}

/// The value spelled `text` in either of Kafka's spellings (`ClusterAction`, `CLUSTER_ACTION`),
/// case-insensitively, as kafka-acls takes them.
fn named<T: Copy>(
    text: &str,
    values: &[T],
    names: impl Fn(T) -> (&'static str, &'static str),
) -> Option<T> {
    values.iter().copied().find(|v| {
        let (pascal, upper) = names(*v);
        pascal.eq_ignore_ascii_case(text) || upper.eq_ignore_ascii_case(text)
    })
}

fn unknown<T: std::fmt::Display>(what: &str, text: &str, values: &[T]) -> String {
    let known: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("unknown {what} {text:?}: one of {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;
    use crate::auth::acl::{AccessControlEntry, ResourcePattern};

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        admin: AdminArgs,
    }

    fn cli(args: &[&str]) -> Result<AdminArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("admin").chain(args.iter().copied())).map(|c| c.admin)
    }

    #[test]
    fn users_split_at_the_first_colon() {
        let u = parse_user("alice:pa:ss").unwrap();
        assert_eq!((u.name.as_str(), u.password.as_str()), ("alice", "pa:ss"));
        assert!(parse_user("alice").unwrap_err().contains("NAME:PASSWORD"));
        assert!(parse_user(":pw").unwrap_err().contains("empty user name"));
        assert!(parse_user("alice:").unwrap_err().contains("empty password"));
        assert!(!format!("{u:?}").contains("pa:ss"), "password in Debug");
    }

    #[test]
    fn acls_take_either_spelling_in_any_case() {
        let b = parse_acl(
            "User:tutorial:Read:Group:Literal:*",
            AclPermissionType::Allow,
        )
        .unwrap();
        assert_eq!(
            b.pattern,
            ResourcePattern::new(ResourceType::Group, "*", PatternType::Literal)
        );
        assert_eq!(
            b.entry,
            AccessControlEntry::new(
                "User:tutorial",
                "*",
                AclOperation::Read,
                AclPermissionType::Allow
            )
        );
        let b = parse_acl(
            "User:svc:cluster_action:CLUSTER:literal:kafka-cluster",
            AclPermissionType::Deny,
        )
        .unwrap();
        assert_eq!(b.entry.operation, AclOperation::ClusterAction);
        assert_eq!(b.entry.permission_type, AclPermissionType::Deny);
        let b = parse_acl(
            "User:a:IdempotentWrite:transactionalid:PREFIXED:tx:1",
            AclPermissionType::Allow,
        )
        .unwrap();
        assert_eq!(b.pattern.resource_type, ResourceType::TransactionalId);
        assert_eq!(b.pattern.pattern_type, PatternType::Prefixed);
        assert_eq!(b.pattern.name, "tx:1", "the name keeps its colons");
    }

    #[test]
    fn bad_acls_say_why() {
        let allow = AclPermissionType::Allow;
        let e = parse_acl("User:a:Read:Topic:t", allow).unwrap_err();
        assert!(e.contains("expected PRINCIPAL:OPERATION"), "{e}");
        let e = parse_acl("User:a:Eat:Topic:Literal:t", allow).unwrap_err();
        assert!(
            e.contains("unknown operation \"Eat\"") && e.contains("Read"),
            "{e}"
        );
        let e = parse_acl("User:a:Read:Table:Literal:t", allow).unwrap_err();
        assert!(e.contains("unknown resource type"), "{e}");
        let e = parse_acl("User:a:Read:Topic:Match:t", allow).unwrap_err();
        assert!(e.contains("unknown pattern type"), "{e}");
        let e = parse_acl("User:a:Read:Topic:Literal:", allow).unwrap_err();
        assert!(e.contains("empty resource name"), "{e}");
        let e = parse_acl("User::Read:Topic:Literal:t", allow).unwrap_err();
        assert!(e.contains("empty principal name"), "{e}");
        let e = parse_acl(":a:Read:Topic:Literal:t", allow).unwrap_err();
        assert!(e.contains("invalid principal"), "{e}");
        let e = parse_acl("User:a:Alter:Cluster:Literal:c1", allow).unwrap_err();
        assert!(e.contains("kafka-cluster"), "{e}");
    }

    #[test]
    fn command_line() {
        let a = cli(&[
            "--config",
            "b.yaml",
            "--override",
            "zookeeper.connect=zk:2181",
            "--user=admin:admin-secret",
            "--user",
            "tutorial:t",
            "--allow=User:tutorial:ALL:TOPIC:LITERAL:my-topic",
            "--deny",
            "User:*:Write:Topic:Prefixed:secret-",
        ])
        .unwrap();
        assert_eq!(a.config.config.as_deref(), Some("b.yaml".as_ref()));
        assert_eq!(a.config.overrides, ["zookeeper.connect=zk:2181"]);
        let names: Vec<&str> = a.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["admin", "tutorial"]);
        assert_eq!(a.allow.len(), 1);
        assert_eq!(a.allow[0].entry.operation, AclOperation::All);
        assert_eq!(a.deny[0].entry.principal, "User:*");
        assert_eq!(a.deny[0].entry.permission_type, AclPermissionType::Deny);
        let e = cli(&["--allow=User:x:Read:Topic"]).unwrap_err().to_string();
        assert!(e.contains("--allow"), "{e}");
        let e = cli(&["--user=nopassword"]).unwrap_err().to_string();
        assert!(e.contains("NAME:PASSWORD"), "{e}");
    }
}
