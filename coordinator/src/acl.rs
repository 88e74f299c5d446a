//! Kafka's ACL model as it is stored in ZooKeeper (`AclAuthorizer` in ZooKeeper mode), and the
//! reads and conditional writes of the ACL znodes.
//!
//! The types here are the *stored* values: a concrete resource type, a literal or prefixed
//! pattern, a concrete operation and permission. Filters (ANY, MATCH) and the authorization
//! decision live in the broker (`broker::auth`), which re-exports these types.
//!
//! Names have two spellings in Kafka: the PascalCase one (`Topic`, `ClusterAction`) used in znode
//! paths and ACL JSON (`SecurityUtils.resourceTypeName` / `operationName`), and the Java enum
//! name (`TOPIC`, `CLUSTER_ACTION`) used in change notifications (`ResourceType.toString`).

use crate::connect::Zk;
use crate::error::ZkError;
use crate::zk_ops::ZkOp;
use crate::znode::acl::{AclChangeZNode, ResourceZNode};

/// The name of the one cluster resource (`Resource.CLUSTER_NAME`).
pub const CLUSTER_RESOURCE_NAME: &str = "kafka-cluster";
/// The literal resource name matching every resource of its type.
pub const WILDCARD_RESOURCE: &str = "*";
/// The principal matching every user.
pub const WILDCARD_PRINCIPAL: &str = "User:*";
/// The host matching every client address.
pub const WILDCARD_HOST: &str = "*";

/// Defines a Kafka enum with its wire code, its PascalCase name and its Java enum name.
macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $pascal:literal, $upper:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in wire-code order.
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant,)+];

            /// Kafka's wire code.
            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code,)+ }
            }

            /// The value with this wire code (`None` for UNKNOWN, ANY and undefined codes).
            pub fn from_code(code: i8) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The PascalCase name Kafka writes in ZooKeeper paths and ACL JSON.
            pub fn pascal_name(self) -> &'static str {
                match self { $($name::$variant => $pascal,)+ }
            }

            /// The Java enum name (`ResourceType.toString`, `PatternType.name`).
            pub fn enum_name(self) -> &'static str {
                match self { $($name::$variant => $upper,)+ }
            }

            /// Parses a stored name as `SecurityUtils` does: the PascalCase name, or it in any
            /// case (so `Read`, `READ` and `read`, but not `CLUSTER_ACTION`).
            pub fn from_pascal_name(name: &str) -> Option<$name> {
                $name::ALL_VALUES
                    .iter()
                    .copied()
                    .find(|v| v.pascal_name().eq_ignore_ascii_case(name))
            }

            /// Parses a Java enum name case-insensitively (`ResourceType.fromString`).
            pub fn from_enum_name(name: &str) -> Option<$name> {
                $name::ALL_VALUES
                    .iter()
                    .copied()
                    .find(|v| v.enum_name().eq_ignore_ascii_case(name))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.pascal_name())
            }
        }
    };
}

kafka_enum! {
    /// A concrete resource type (`org.apache.kafka.common.resource.ResourceType`; codes 0 UNKNOWN
    /// and 1 ANY are filter-only).
    ResourceType {
        /// A topic.
        Topic = 2, "Topic", "TOPIC";
        /// A consumer group.
        Group = 3, "Group", "GROUP";
        /// The cluster (one resource, named [`CLUSTER_RESOURCE_NAME`]).
        Cluster = 4, "Cluster", "CLUSTER";
        /// A transactional id.
        TransactionalId = 5, "TransactionalId", "TRANSACTIONAL_ID";
        /// A delegation token.
        DelegationToken = 6, "DelegationToken", "DELEGATION_TOKEN";
        /// A user (for delegation tokens on behalf of others).
        User = 7, "User", "USER";
    }
}

kafka_enum! {
    /// How a stored pattern's name matches resource names (`PatternType`; codes 0 UNKNOWN, 1 ANY
    /// and 2 MATCH are filter-only).
    PatternType {
        /// The name is the resource name (or `*`, every resource of the type).
        Literal = 3, "Literal", "LITERAL";
        /// The name is a prefix of the resource names it matches.
        Prefixed = 4, "Prefixed", "PREFIXED";
    }
}

kafka_enum! {
    /// A concrete operation (`AclOperation`; codes 0 UNKNOWN and 1 ANY are filter-only).
    AclOperation {
        /// Every operation.
        All = 2, "All", "ALL";
        /// Read.
        Read = 3, "Read", "READ";
        /// Write.
        Write = 4, "Write", "WRITE";
        /// Create.
        Create = 5, "Create", "CREATE";
        /// Delete.
        Delete = 6, "Delete", "DELETE";
        /// Alter.
        Alter = 7, "Alter", "ALTER";
        /// Describe.
        Describe = 8, "Describe", "DESCRIBE";
        /// Inter-broker actions.
        ClusterAction = 9, "ClusterAction", "CLUSTER_ACTION";
        /// Describe configs.
        DescribeConfigs = 10, "DescribeConfigs", "DESCRIBE_CONFIGS";
        /// Alter configs.
        AlterConfigs = 11, "AlterConfigs", "ALTER_CONFIGS";
        /// Idempotent produce.
        IdempotentWrite = 12, "IdempotentWrite", "IDEMPOTENT_WRITE";
        /// Create delegation tokens.
        CreateTokens = 13, "CreateTokens", "CREATE_TOKENS";
        /// Describe delegation tokens.
        DescribeTokens = 14, "DescribeTokens", "DESCRIBE_TOKENS";
    }
}

kafka_enum! {
    /// Allow or deny (`AclPermissionType`; codes 0 UNKNOWN and 1 ANY are filter-only).
    AclPermissionType {
        /// Denies; a matching DENY wins over every ALLOW.
        Deny = 2, "Deny", "DENY";
        /// Allows.
        Allow = 3, "Allow", "ALLOW";
    }
}

/// A stored resource pattern (`ResourcePattern`): type, name and how the name matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePattern {
    /// Resource type.
    pub resource_type: ResourceType,
    /// Name, prefix, or `*`.
    pub name: String,
    /// Literal or prefixed.
    pub pattern_type: PatternType,
}

impl ResourcePattern {
    /// A pattern.
    pub fn new(
        resource_type: ResourceType,
        name: impl Into<String>,
        pattern_type: PatternType,
    ) -> ResourcePattern {
        ResourcePattern {
            resource_type,
            name: name.into(),
            pattern_type,
        }
    }
}

/// One ACL entry on a pattern (`AccessControlEntry`): who, from where, what, allow or deny.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessControlEntry {
    /// `<type>:<name>`, e.g. `User:alice`, or [`WILDCARD_PRINCIPAL`].
    pub principal: String,
    /// A client address as Java's `InetAddress.getHostAddress` writes it, or [`WILDCARD_HOST`].
    pub host: String,
    /// The operation.
    pub operation: AclOperation,
    /// Allow or deny.
    pub permission_type: AclPermissionType,
}

impl AccessControlEntry {
    /// An entry.
    pub fn new(
        principal: impl Into<String>,
        host: impl Into<String>,
        operation: AclOperation,
        permission_type: AclPermissionType,
    ) -> AccessControlEntry {
        AccessControlEntry {
            principal: principal.into(),
            host: host.into(),
            operation,
            permission_type,
        }
    }
}

/// A resource's ACLs and the zkVersion they were read at (`ZkData.VersionedAcls`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionedAcls {
    /// The entries (sorted, without duplicates).
    pub acls: Vec<AccessControlEntry>,
    /// The znode's zkVersion; `None` when the node does not exist.
    pub zk_version: Option<i32>,
}

/// How a conditional ACL write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclWrite {
    /// Written, with its change notification.
    Written,
    /// Someone else changed the node since it was read: re-read and retry (Kafka retries).
    Conflict,
}

/// Conditional writes of one pattern tried before giving up (Kafka's `AclAuthorizer` retries
/// its conditional updates similarly).
pub const MAX_WRITE_ATTEMPTS: usize = 20;

/// What [`modify_resource_acls`] did to one pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclModification {
    /// The ACLs read before the change.
    pub before: Vec<AccessControlEntry>,
    /// The ACLs now stored (sorted, without duplicates).
    pub after: Vec<AccessControlEntry>,
    /// False when the change left the ACLs as they were (nothing written, nothing announced).
    pub written: bool,
}

/// Why a pattern's ACLs could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum AclModifyError {
    /// ZooKeeper failed.
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    /// Every attempt lost the race against another writer.
    #[error("the ACLs of {0} kept changing under us; try again")]
    Contended(String),
}

/// Replaces `pattern`'s ACLs with `change(current)`, conditionally on what was read, re-reading
/// and retrying when another writer got in between (Kafka's `updateResourceAcls` loop). A
/// change that leaves the ACLs as they are writes nothing, so repeating it is harmless.
pub async fn modify_resource_acls(
    zk: &Zk,
    pattern: &ResourcePattern,
    change: impl Fn(&[AccessControlEntry]) -> Vec<AccessControlEntry>,
) -> Result<AclModification, AclModifyError> {
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = read_resource_acls(zk, pattern).await?;
        let mut next = change(&current.acls);
        next.sort();
        next.dedup();
        if next == current.acls {
            return Ok(AclModification {
                before: current.acls,
                after: next,
                written: false,
            });
        }
        match write_resource_acls(zk, pattern, &next, current.zk_version).await? {
            AclWrite::Written => {
                return Ok(AclModification {
                    before: current.acls,
                    after: next,
                    written: true,
                })
            }
            AclWrite::Conflict => continue,
        }
    }
    Err(AclModifyError::Contended(format!(
        "{}:{}:{}",
        pattern.resource_type, pattern.pattern_type, pattern.name
    )))
}

/// Creates the ACL root, per-type and change-notification paths (`KafkaZkClient.createAclPaths`).
pub async fn ensure_acl_paths(zk: &Zk) -> Result<(), ZkError> {
    for pattern_type in PatternType::ALL_VALUES {
        for resource_type in ResourceType::ALL_VALUES {
            zk.ensure_path(&ResourceZNode::type_path(*pattern_type, *resource_type))
                .await?;
        }
        zk.ensure_path(AclChangeZNode::parent_path(*pattern_type))
            .await?;
    }
    Ok(())
}

/// Reads one resource pattern's ACLs with the node's zkVersion.
pub async fn read_resource_acls(
    zk: &Zk,
    pattern: &ResourcePattern,
) -> Result<VersionedAcls, ZkError> {
    let path = ResourceZNode::path(pattern);
    match zk.get(&path).await? {
        None => Ok(VersionedAcls::default()),
        Some((data, stat)) => Ok(VersionedAcls {
            acls: ResourceZNode::decode(&path, &data)?,
            zk_version: Some(stat.version),
        }),
    }
}

/// Reads every stored pattern and its ACLs (`AclAuthorizer.loadAllAcls`). Type folders with
/// names Kafka does not know are skipped, as Kafka skips them.
pub async fn read_all_acls(zk: &Zk) -> Result<Vec<(ResourcePattern, VersionedAcls)>, ZkError> {
    let mut out = Vec::new();
    for pattern_type in PatternType::ALL_VALUES {
        let root = ResourceZNode::root_path(*pattern_type);
        for type_name in zk.children(root).await? {
            let Some(resource_type) = ResourceType::from_pascal_name(&type_name) else {
                continue;
            };
            for name in zk.children(&format!("{root}/{type_name}")).await? {
                let pattern = ResourcePattern::new(resource_type, name, *pattern_type);
                let acls = read_resource_acls(zk, &pattern).await?;
                if acls.zk_version.is_some() {
                    out.push((pattern, acls));
                }
            }
        }
    }
    Ok(out)
}

/// Replaces a pattern's ACLs, conditional on the zkVersion they were read at (`None`: the node
/// must not exist), and announces the change, in one multi. An empty `acls` deletes the node.
pub async fn write_resource_acls(
    zk: &Zk,
    pattern: &ResourcePattern,
    acls: &[AccessControlEntry],
    expected_version: Option<i32>,
) -> Result<AclWrite, ZkError> {
    let ops = resource_write_ops(pattern, acls, expected_version);
    if ops.is_empty() {
        return Ok(AclWrite::Written);
    }
    match zk.multi(&ops).await {
        Ok(_) => Ok(AclWrite::Written),
        Err(e) if e.is_bad_version() || e.is_node_exists() || e.is_no_node() => {
            Ok(AclWrite::Conflict)
        }
        Err(e) => Err(e),
    }
}

/// The multi [`write_resource_acls`] runs: create / conditional set / conditional delete of the
/// resource node, then the sequential change notification. Empty when there is nothing to do
/// (no ACLs and no node).
pub fn resource_write_ops(
    pattern: &ResourcePattern,
    acls: &[AccessControlEntry],
    expected_version: Option<i32>,
) -> Vec<ZkOp> {
    let path = ResourceZNode::path(pattern);
    let write = match (acls.is_empty(), expected_version) {
        (true, None) => return Vec::new(),
        (true, Some(version)) => ZkOp::Delete {
            path,
            version: Some(version),
        },
        (false, None) => ZkOp::create(path, ResourceZNode::encode(acls)),
        (false, Some(version)) => ZkOp::set(path, ResourceZNode::encode(acls), version),
    };
    let change = AclChangeZNode::create_op(pattern);
    vec![write, change]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_kafkas() {
        assert_eq!(ResourceType::Topic.code(), 2);
        assert_eq!(ResourceType::User.code(), 7);
        assert_eq!(
            ResourceType::from_code(5),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(ResourceType::from_code(1), None);
        assert_eq!(AclOperation::All.code(), 2);
        assert_eq!(AclOperation::DescribeTokens.code(), 14);
        assert_eq!(
            AclOperation::from_code(9),
            Some(AclOperation::ClusterAction)
        );
        assert_eq!(AclPermissionType::Deny.code(), 2);
        assert_eq!(AclPermissionType::Allow.code(), 3);
        assert_eq!(PatternType::Literal.code(), 3);
        assert_eq!(PatternType::Prefixed.code(), 4);
        assert_eq!(
            ResourceType::TransactionalId.pascal_name(),
            "TransactionalId"
        );
        assert_eq!(
            ResourceType::TransactionalId.enum_name(),
            "TRANSACTIONAL_ID"
        );
        assert_eq!(
            AclOperation::from_pascal_name("CLUSTERACTION"),
            Some(AclOperation::ClusterAction)
        );
        assert_eq!(AclOperation::from_pascal_name("CLUSTER_ACTION"), None);
        assert_eq!(
            ResourceType::from_enum_name("delegation_token"),
            Some(ResourceType::DelegationToken)
        );
    }

    #[test]
    fn write_ops_follow_the_expected_version() {
        let p = ResourcePattern::new(ResourceType::Topic, "t", PatternType::Literal);
        let acl =
            AccessControlEntry::new("User:a", "*", AclOperation::Read, AclPermissionType::Allow);
        let created = resource_write_ops(&p, std::slice::from_ref(&acl), None);
        assert!(matches!(&created[0], ZkOp::Create { path, .. } if path == "/kafka-acl/Topic/t"));
        assert!(matches!(
            &created[1],
            ZkOp::CreateSequential { path, data } if path == "/kafka-acl-changes/acl_changes_" && data == b"TOPIC:t"
        ));
        let set = resource_write_ops(&p, &[acl], Some(4));
        assert!(matches!(
            &set[0],
            ZkOp::SetData {
                version: Some(4),
                ..
            }
        ));
        let deleted = resource_write_ops(&p, &[], Some(4));
        assert!(matches!(
            &deleted[0],
            ZkOp::Delete {
                version: Some(4),
                ..
            }
        ));
        assert!(resource_write_ops(&p, &[], None).is_empty());
    }
}
