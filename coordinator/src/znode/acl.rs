//! The ACL znodes (`ZkData.scala`: `ZkAclStore`, `ResourceZNode`, `ZkAclChangeStore`; the JSON
//! of `AclEntry.toJsonCompatibleMap` / `AclEntry.fromBytes`).
//!
//! - `/kafka-acl/<ResourceType>/<name>`: a literal pattern's ACLs;
//!   `/kafka-acl-extended/prefixed/<ResourceType>/<name>`: a prefixed pattern's. Data
//!   `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`.
//! - `/kafka-acl-changes/acl_changes_N`: a literal pattern changed; data is the plain string
//!   `TOPIC:orders` (Java's `ResourceType.toString`, the enum name, then `:` and the name).
//! - `/kafka-acl-extended-changes/acl_changes_N`: a prefixed pattern changed; data
//!   `{"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}` (enum names).

use serde_json::{json, Value};

use super::json::Obj;
use crate::acl::{
    AccessControlEntry, AclOperation, AclPermissionType, PatternType, ResourcePattern, ResourceType,
};
use crate::error::ZkError;
use crate::zk_ops::ZkOp;

/// The version of the ACL JSON and of extended change events.
const VERSION: i64 = 1;

/// A resource pattern's ACL node.
pub struct ResourceZNode;

impl ResourceZNode {
    /// The root under which a pattern type's ACLs live.
    pub fn root_path(pattern_type: PatternType) -> &'static str {
        match pattern_type {
            PatternType::Literal => "/kafka-acl",
            PatternType::Prefixed => "/kafka-acl-extended/prefixed",
        }
    }

    /// The folder of one resource type (`ZkAclStore.path(resourceType)`).
    pub fn type_path(pattern_type: PatternType, resource_type: ResourceType) -> String {
        format!(
            "{}/{}",
            Self::root_path(pattern_type),
            resource_type.pascal_name()
        )
    }

    /// The node of one pattern.
    pub fn path(pattern: &ResourcePattern) -> String {
        format!(
            "{}/{}",
            Self::type_path(pattern.pattern_type, pattern.resource_type),
            pattern.name
        )
    }

    /// Kafka's JSON for a set of entries.
    pub fn encode(acls: &[AccessControlEntry]) -> Vec<u8> {
        let entries: Vec<Value> = acls
            .iter()
            .map(|acl| {
                json!({
                    "principal": acl.principal,
                    "permissionType": acl.permission_type.pascal_name(),
                    "operation": acl.operation.pascal_name(),
                    "host": acl.host,
                })
            })
            .collect();
        json!({"version": VERSION, "acls": entries})
            .to_string()
            .into_bytes()
    }

    /// Parses Kafka's JSON into sorted, deduplicated entries (Kafka keeps a set). Empty data
    /// (a node created without ACLs) is no entries, as in `AclEntry.fromBytes`. Names are
    /// read as `SecurityUtils` reads them (PascalCase in any case); an unknown name, a principal
    /// without `:`, or a version other than 1 is an error naming `path`.
    pub fn decode(path: &str, data: &[u8]) -> Result<Vec<AccessControlEntry>, ZkError> {
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let obj = Obj::parse(path, data)?;
        let version = obj.i64("version")?;
        if version != VERSION {
            return Err(ZkError::json(
                path,
                format!("unsupported ACL version {version}"),
            ));
        }
        let mut acls = obj
            .objects("acls")?
            .iter()
            .map(|entry| decode_entry(path, entry))
            .collect::<Result<Vec<_>, _>>()?;
        acls.sort();
        acls.dedup();
        Ok(acls)
    }
}

fn decode_entry(path: &str, entry: &Obj<'_>) -> Result<AccessControlEntry, ZkError> {
    let principal = entry.string("principal")?;
    if principal.split_once(':').is_none() {
        return Err(ZkError::json(
            path,
            format!("principal {principal:?} is not <type>:<name>"),
        ));
    }
    let permission = entry.string("permissionType")?;
    let permission_type = AclPermissionType::from_pascal_name(&permission)
        .ok_or_else(|| ZkError::json(path, format!("unknown permissionType {permission:?}")))?;
    let op = entry.string("operation")?;
    let operation = AclOperation::from_pascal_name(&op)
        .ok_or_else(|| ZkError::json(path, format!("unknown operation {op:?}")))?;
    Ok(AccessControlEntry {
        principal,
        host: entry.string("host")?,
        operation,
        permission_type,
    })
}

/// A sequential ACL change notification.
pub struct AclChangeZNode;

impl AclChangeZNode {
    /// The sequential children's name prefix (`ZkAclChangeStore.SequenceNumberPrefix`).
    pub const PREFIX: &'static str = "acl_changes_";

    /// Where changes to patterns of this type are announced.
    pub fn parent_path(pattern_type: PatternType) -> &'static str {
        match pattern_type {
            PatternType::Literal => "/kafka-acl-changes",
            PatternType::Prefixed => "/kafka-acl-extended-changes",
        }
    }

    /// The multi op creating the notification for `pattern`.
    pub fn create_op(pattern: &ResourcePattern) -> ZkOp {
        ZkOp::CreateSequential {
            path: format!(
                "{}/{}",
                Self::parent_path(pattern.pattern_type),
                Self::PREFIX
            ),
            data: Self::encode(pattern),
        }
    }

    /// The sequence number of a child named `acl_changes_NNNNNNNNNN`.
    pub fn sequence(child: &str) -> Option<u64> {
        child.strip_prefix(Self::PREFIX)?.parse().ok()
    }

    /// The notification's data: `TOPIC:name` for literal patterns, the extended JSON otherwise.
    pub fn encode(pattern: &ResourcePattern) -> Vec<u8> {
        match pattern.pattern_type {
            PatternType::Literal => {
                format!("{}:{}", pattern.resource_type.enum_name(), pattern.name).into_bytes()
            }
            PatternType::Prefixed => json!({
                "version": VERSION,
                "resourceType": pattern.resource_type.enum_name(),
                "name": pattern.name,
                "patternType": pattern.pattern_type.enum_name(),
            })
            .to_string()
            .into_bytes(),
        }
    }

    /// Parses a notification read from `path` under the change folder of `pattern_type`.
    /// Resource types are read as `ResourceType.fromString` reads them (enum name, any case);
    /// extended pattern types must be the exact enum name (`PatternType.fromString`).
    pub fn decode(
        path: &str,
        pattern_type: PatternType,
        data: &[u8],
    ) -> Result<ResourcePattern, ZkError> {
        match pattern_type {
            PatternType::Literal => decode_literal(path, data),
            PatternType::Prefixed => decode_extended(path, data),
        }
    }
}

fn decode_literal(path: &str, data: &[u8]) -> Result<ResourcePattern, ZkError> {
    let text = std::str::from_utf8(data).map_err(|e| ZkError::json(path, e))?;
    let (type_name, name) = text.split_once(':').ok_or_else(|| {
        ZkError::json(
            path,
            format!("expected <ResourceType>:<name>, got {text:?}"),
        )
    })?;
    let resource_type = ResourceType::from_enum_name(type_name)
        .ok_or_else(|| ZkError::json(path, format!("unknown resource type {type_name:?}")))?;
    Ok(ResourcePattern::new(
        resource_type,
        name,
        PatternType::Literal,
    ))
}

fn decode_extended(path: &str, data: &[u8]) -> Result<ResourcePattern, ZkError> {
    let obj = Obj::parse(path, data)?;
    let version = obj.i64("version")?;
    if version > VERSION {
        return Err(ZkError::json(
            path,
            format!("unsupported ACL change version {version}"),
        ));
    }
    let type_name = obj.string("resourceType")?;
    let resource_type = ResourceType::from_enum_name(&type_name)
        .ok_or_else(|| ZkError::json(path, format!("unknown resource type {type_name:?}")))?;
    let pattern_name = obj.string("patternType")?;
    let pattern_type = PatternType::ALL_VALUES
        .iter()
        .copied()
        .find(|p| p.enum_name() == pattern_name)
        .ok_or_else(|| ZkError::json(path, format!("unknown pattern type {pattern_name:?}")))?;
    Ok(ResourcePattern::new(
        resource_type,
        obj.string("name")?,
        pattern_type,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/kafka-acl/Topic/t";

    fn entry(principal: &str, op: AclOperation, perm: AclPermissionType) -> AccessControlEntry {
        AccessControlEntry::new(principal, "*", op, perm)
    }

    #[test]
    fn paths_are_kafkas() {
        let literal = ResourcePattern::new(ResourceType::Topic, "orders", PatternType::Literal);
        let prefixed =
            ResourcePattern::new(ResourceType::TransactionalId, "tx-", PatternType::Prefixed);
        assert_eq!(ResourceZNode::path(&literal), "/kafka-acl/Topic/orders");
        assert_eq!(
            ResourceZNode::path(&prefixed),
            "/kafka-acl-extended/prefixed/TransactionalId/tx-"
        );
        assert_eq!(
            ResourceZNode::type_path(PatternType::Literal, ResourceType::Cluster),
            "/kafka-acl/Cluster"
        );
        assert_eq!(AclChangeZNode::sequence("acl_changes_0000000007"), Some(7));
        assert_eq!(AclChangeZNode::sequence("config_change_1"), None);
    }

    #[test]
    fn encodes_kafkas_json() {
        let acls = [entry(
            "User:alice",
            AclOperation::Read,
            AclPermissionType::Allow,
        )];
        let text = String::from_utf8(ResourceZNode::encode(&acls)).unwrap();
        let got: Value = serde_json::from_str(&text).unwrap();
        let want: Value = serde_json::from_str(
            r#"{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}"#,
        )
        .unwrap();
        assert_eq!(got, want);
        assert_eq!(ResourceZNode::decode(PATH, text.as_bytes()).unwrap(), acls);
    }

    #[test]
    fn decodes_kafkas_json_in_any_key_order_and_name_case() {
        let data = br#"{"version": 1, "acls": [
            {"host":"10.0.0.1","permissionType":"DENY","operation":"ClusterAction","principal":"User:bob"},
            {"host":"*","permissionType":"Allow","operation":"IDEMPOTENTWRITE","principal":"User:*"},
            {"host":"*","permissionType":"Allow","operation":"IdempotentWrite","principal":"User:*"}]}"#;
        let acls = ResourceZNode::decode(PATH, data).unwrap();
        assert_eq!(acls.len(), 2, "duplicates collapse, as in Kafka's set");
        assert!(acls.contains(&AccessControlEntry::new(
            "User:bob",
            "10.0.0.1",
            AclOperation::ClusterAction,
            AclPermissionType::Deny
        )));
        assert!(ResourceZNode::decode(PATH, b"").unwrap().is_empty());
    }

    #[test]
    fn bad_json_is_a_typed_error() {
        let bad: [&[u8]; 9] = [
            b"not json",
            b"[]",
            br#"{"version":2,"acls":[]}"#,
            br#"{"acls":[]}"#,
            br#"{"version":1,"acls":{}}"#,
            br#"{"version":1,"acls":[{"principal":"alice","permissionType":"Allow","operation":"Read","host":"*"}]}"#,
            br#"{"version":1,"acls":[{"principal":"User:a","permissionType":"Maybe","operation":"Read","host":"*"}]}"#,
            br#"{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"CLUSTER_ACTION","host":"*"}]}"#,
            br#"{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read"}]}"#,
        ];
        for data in bad {
            let err = ResourceZNode::decode(PATH, data).unwrap_err();
            assert!(matches!(err, ZkError::Json { .. }), "{err}");
        }
    }

    #[test]
    fn literal_change_notifications() {
        let p = ResourcePattern::new(ResourceType::TransactionalId, "a:b", PatternType::Literal);
        assert_eq!(AclChangeZNode::encode(&p), b"TRANSACTIONAL_ID:a:b");
        let path = "/kafka-acl-changes/acl_changes_0000000001";
        assert_eq!(
            AclChangeZNode::decode(path, PatternType::Literal, b"TRANSACTIONAL_ID:a:b").unwrap(),
            p
        );
        let topic = AclChangeZNode::decode(path, PatternType::Literal, b"Topic:orders").unwrap();
        assert_eq!(topic.resource_type, ResourceType::Topic);
        for bad in [&b"no-separator"[..], b"Nothing:x", b"\xff:x"] {
            assert!(AclChangeZNode::decode(path, PatternType::Literal, bad).is_err());
        }
    }

    #[test]
    fn extended_change_notifications() {
        let p = ResourcePattern::new(ResourceType::Topic, "orders-", PatternType::Prefixed);
        let got: Value = serde_json::from_slice(&AclChangeZNode::encode(&p)).unwrap();
        let want: Value = serde_json::from_str(
            r#"{"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}"#,
        )
        .unwrap();
        assert_eq!(got, want);
        let path = "/kafka-acl-extended-changes/acl_changes_0000000001";
        let data =
            br#"{"version":1,"resourceType":"Topic","name":"orders-","patternType":"PREFIXED"}"#;
        assert_eq!(
            AclChangeZNode::decode(path, PatternType::Prefixed, data).unwrap(),
            p
        );
        for bad in [
            &br#"{"version":2,"resourceType":"TOPIC","name":"x","patternType":"PREFIXED"}"#[..],
            br#"{"version":1,"resourceType":"TOPIC","name":"x","patternType":"prefixed"}"#,
            br#"{"version":1,"resourceType":"TOPIC","patternType":"PREFIXED"}"#,
            b"TOPIC:x",
        ] {
            assert!(AclChangeZNode::decode(path, PatternType::Prefixed, bad).is_err());
        }
    }
}
