//! What CreateAcls, DescribeAcls and DeleteAcls share: their wire fields (codes, nullable
//! strings) turned into bindings and filters, with Kafka's validation, and the change of one
//! pattern's ACLs that Create and Delete both make (the conditional ZooKeeper write is
//! `coordinator::acl`'s, shared with `broker admin`).

use coordinator::acl::AclModifyError;
use kafka_protocol::protocol::StrBytes;

use crate::auth::acl::{
    AccessControlEntry, AccessControlEntryFilter, AclBinding, AclBindingFilter, AclOperation,
    AclPermissionType, PatternType, PatternTypeFilter, ResourcePattern, ResourcePatternFilter,
    ResourceType, CLUSTER_RESOURCE_NAME,
};
use crate::context::Broker;

/// The ANY code of every ACL enum on the wire.
const ANY: i8 = 1;

/// A binding or filter Kafka would refuse with INVALID_REQUEST; the message says why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAcl(pub String);

/// The wire fields of one ACL creation.
pub struct WireBinding<'r> {
    pub resource_type: i8,
    pub name: &'r str,
    pub pattern_type: i8,
    pub principal: &'r str,
    pub host: &'r str,
    pub operation: i8,
    pub permission_type: i8,
}

/// A CreateAcls creation as a binding, validated as Kafka's `AclApis` and `AclAuthorizer` do.
pub fn binding(w: &WireBinding<'_>) -> Result<AclBinding, InvalidAcl> {
    let resource_type = ResourceType::from_code(w.resource_type)
        .ok_or_else(|| invalid(format!("invalid resource type code {}", w.resource_type)))?;
    let pattern_type = PatternType::from_code(w.pattern_type).ok_or_else(|| {
        invalid(format!(
            "invalid pattern type code {}: ACLs are LITERAL (3) or PREFIXED (4)",
            w.pattern_type
        ))
    })?;
    let operation = AclOperation::from_code(w.operation)
        .ok_or_else(|| invalid(format!("invalid operation code {}", w.operation)))?;
    let permission_type = AclPermissionType::from_code(w.permission_type).ok_or_else(|| {
        invalid(format!(
            "invalid permission type code {}",
            w.permission_type
        ))
    })?;
    if w.name.is_empty() {
        return Err(invalid("Invalid empty resource name specified".into()));
    }
    if resource_type == ResourceType::Cluster && w.name != CLUSTER_RESOURCE_NAME {
        return Err(invalid(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_RESOURCE_NAME}"
        )));
    }
    check_principal(w.principal)?;
    if w.host.is_empty() {
        return Err(invalid("empty host: use * for every host".into()));
    }
    Ok(AclBinding {
        pattern: ResourcePattern::new(resource_type, w.name, pattern_type),
        entry: AccessControlEntry::new(w.principal, w.host, operation, permission_type),
    })
}

fn check_principal(principal: &str) -> Result<(), InvalidAcl> {
    match principal.split_once(':') {
        Some((kind, _)) if !kind.is_empty() => Ok(()),
        _ => Err(invalid(format!(
            "invalid principal {principal:?}: expected <type>:<name>, e.g. User:alice"
        ))),
    }
}

fn invalid(message: String) -> InvalidAcl {
    InvalidAcl(message)
}

/// The wire fields of a DescribeAcls / DeleteAcls filter.
pub struct WireFilter<'r> {
    pub resource_type: i8,
    pub name: Option<&'r StrBytes>,
    pub pattern_type: i8,
    pub principal: Option<&'r StrBytes>,
    pub host: Option<&'r StrBytes>,
    pub operation: i8,
    pub permission_type: i8,
}

/// A filter; UNKNOWN (0) and undefined codes are INVALID_REQUEST, ANY (1) matches all.
pub fn filter(w: &WireFilter<'_>) -> Result<AclBindingFilter, InvalidAcl> {
    let resource_type = any_or(w.resource_type, ResourceType::from_code, "resource type")?;
    let pattern_type = PatternTypeFilter::from_code(w.pattern_type)
        .ok_or_else(|| invalid(format!("invalid pattern type filter {}", w.pattern_type)))?;
    let operation = any_or(w.operation, AclOperation::from_code, "operation")?;
    let permission_type = any_or(
        w.permission_type,
        AclPermissionType::from_code,
        "permission type",
    )?;
    let text = |s: Option<&StrBytes>| s.map(|s| s.to_string());
    Ok(AclBindingFilter {
        pattern: ResourcePatternFilter {
            resource_type,
            name: text(w.name),
            pattern_type,
        },
        entry: AccessControlEntryFilter {
            principal: text(w.principal),
            host: text(w.host),
            operation,
            permission_type,
        },
    })
}

fn any_or<T>(code: i8, parse: fn(i8) -> Option<T>, what: &str) -> Result<Option<T>, InvalidAcl> {
    if code == ANY {
        return Ok(None);
    }
    parse(code)
        .map(Some)
        .ok_or_else(|| invalid(format!("invalid {what} code {code}")))
}

/// Changes `pattern`'s ACLs in ZooKeeper (the conditional read-modify-write of
/// [`coordinator::acl::modify_resource_acls`]), then applies the result to this broker's
/// authorizer at once (the others follow through the change notification). Returns the ACLs
/// before and after.
pub async fn modify_resource_acls(
    broker: &Broker,
    pattern: &ResourcePattern,
    change: impl Fn(&[AccessControlEntry]) -> Vec<AccessControlEntry>,
) -> Result<(Vec<AccessControlEntry>, Vec<AccessControlEntry>), AclModifyError> {
    let done = coordinator::acl::modify_resource_acls(&broker.zk(), pattern, change).await?;
    if done.written {
        if let Some(authorizer) = &broker.authorizer {
            authorizer.update_resources([(pattern.clone(), done.after.clone())]);
        }
    }
    Ok((done.before, done.after))
}
