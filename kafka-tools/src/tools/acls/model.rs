//! ACL vocabulary as Kafka's wire protocol numbers it and as Kafka's `toString` prints it:
//! resource types, pattern types, operations, permissions; `ResourcePattern(...)` and
//! `(principal=..., host=..., operation=..., permissionType=...)`.

use std::fmt;

use crate::error::{Result, ToolError};

pub(super) const TOPIC: i8 = 2;
pub(super) const GROUP: i8 = 3;
pub(super) const CLUSTER: i8 = 4;
pub(super) const TRANSACTIONAL_ID: i8 = 5;
pub(super) const DELEGATION_TOKEN: i8 = 6;
pub(super) const USER: i8 = 7;

pub(super) const ANY: i8 = 1;
pub(super) const DENY: i8 = 2;
pub(super) const ALLOW: i8 = 3;

/// The cluster resource's only name.
pub(super) const CLUSTER_NAME: &str = "kafka-cluster";

const RESOURCE_TYPES: [&str; 8] = [
    "UNKNOWN",
    "ANY",
    "TOPIC",
    "GROUP",
    "CLUSTER",
    "TRANSACTIONAL_ID",
    "DELEGATION_TOKEN",
    "USER",
];
const PATTERN_TYPES: [&str; 5] = ["UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"];
const OPERATIONS: [&str; 15] = [
    "UNKNOWN",
    "ANY",
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "CREATE_TOKENS",
    "DESCRIBE_TOKENS",
];
const PERMISSIONS: [&str; 4] = ["UNKNOWN", "ANY", "DENY", "ALLOW"];

fn name(table: &[&'static str], code: i8) -> &'static str {
    usize::try_from(code)
        .ok()
        .and_then(|i| table.get(i).copied())
        .unwrap_or("UNKNOWN")
}

/// `Read`, `read`, `DescribeConfigs`, `describe_configs`: the form Kafka's
/// `SecurityUtils.operation` and friends accept, normalised to `DESCRIBECONFIGS`.
fn normalise(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn code_of(table: &[&str], value: &str) -> Option<i8> {
    let wanted = normalise(value);
    table
        .iter()
        .position(|n| normalise(n) == wanted)
        .and_then(|i| i8::try_from(i).ok())
}

/// `--operation` (Kafka's names, any case, with or without underscores).
pub(super) fn operation(value: &str) -> Result<i8> {
    code_of(&OPERATIONS, value)
        .filter(|c| *c >= 2)
        .ok_or_else(|| ToolError::usage(format!("Unknown operation: {value}")))
}

/// `--resource-pattern-type`.
pub(super) fn pattern_type(value: &str) -> Result<i8> {
    code_of(&PATTERN_TYPES, value)
        .filter(|c| *c >= 1)
        .ok_or_else(|| ToolError::usage(format!("Unknown resource pattern type: {value}")))
}

/// Operations each resource type supports (Kafka's `AclEntry.supportedOperations`), plus ALL.
pub(super) fn supported_operations(resource_type: i8) -> &'static [i8] {
    match resource_type {
        TOPIC => &[2, 3, 4, 5, 8, 6, 7, 10, 11],
        GROUP => &[2, 3, 8, 6],
        CLUSTER => &[2, 5, 9, 10, 11, 12, 7, 8],
        TRANSACTIONAL_ID => &[2, 8, 4],
        DELEGATION_TOKEN => &[2, 8],
        USER => &[2, 13, 14],
        _ => &[],
    }
}

pub(super) fn operation_name(code: i8) -> &'static str {
    name(&OPERATIONS, code)
}

pub(super) fn resource_type_name(code: i8) -> &'static str {
    name(&RESOURCE_TYPES, code)
}

/// A resource pattern: (type, name, pattern type).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pattern {
    pub(super) resource_type: i8,
    pub(super) name: String,
    pub(super) pattern_type: i8,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            name(&RESOURCE_TYPES, self.resource_type),
            self.name,
            name(&PATTERN_TYPES, self.pattern_type)
        )
    }
}

/// An access control entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Entry {
    pub(super) principal: String,
    pub(super) host: String,
    pub(super) operation: i8,
    pub(super) permission: i8,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(principal={}, host={}, operation={}, permissionType={})",
            self.principal,
            self.host,
            name(&OPERATIONS, self.operation),
            name(&PERMISSIONS, self.permission)
        )
    }
}

/// Kafka's block for a resource and its entries: `<title> `resource`: ` then the entries,
/// tab-indented, then a blank line.
pub(super) fn block(title: &str, pattern: &Pattern, entries: &[Entry]) -> String {
    let lines: Vec<String> = entries.iter().map(|e| format!("\t{e}")).collect();
    format!("{title} `{pattern}`: \n {} \n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_and_strings() {
        assert_eq!(operation("Read").ok(), Some(3));
        assert_eq!(operation("DescribeConfigs").ok(), Some(10));
        assert_eq!(operation("IDEMPOTENT_WRITE").ok(), Some(12));
        assert!(operation("Any").is_err());
        assert!(operation("Fly").is_err());
        assert_eq!(pattern_type("prefixed").ok(), Some(4));
        let p = Pattern {
            resource_type: TOPIC,
            name: "t".into(),
            pattern_type: 3,
        };
        let e = Entry {
            principal: "User:alice".into(),
            host: "*".into(),
            operation: 3,
            permission: ALLOW,
        };
        assert_eq!(
            block("Current ACLs for resource", &p, &[e]),
            "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, \
             patternType=LITERAL)`: \n \t(principal=User:alice, host=*, operation=READ, \
             permissionType=ALLOW) \n"
        );
    }
}
