//! The authorization decision, as Kafka's `AclAuthorizer.authorizeAction` makes it, over an
//! index of the ACLs built for per-request lookups.
//!
//! For a principal, client host, operation and resource (type + name):
//! 1. a super user (`super.users`) is allowed;
//! 2. the matching ACLs are those on the literal name, on the literal `*`, and on every prefixed
//!    pattern that is a prefix of the name (the name itself included);
//! 3. none at all: `allow.everyone.if.no.acl.found` decides;
//! 4. a matching DENY of the operation (or of ALL) denies;
//! 5. a matching ALLOW of the operation, of ALL, or of an operation implying it allows
//!    (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS);
//! 6. otherwise denied.
//!
//! An entry matches when its principal is the caller's or `User:*`, and its host is the
//! caller's address or `*`.
//!
//! Lookups cost one hash probe for the literal name, one for `*`, and one per distinct length
//! of the stored prefixes of that resource type: never a scan over all ACLs. Requests read an
//! immutable [`AclIndex`] snapshot (an `Arc` clone under a briefly held read lock); a change
//! builds the next snapshot beside it and swaps it in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::acl::{
    AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType,
    ResourcePattern, ResourceType, WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE,
};

/// A pattern's entries, shared between snapshots.
type Entries = Arc<[AccessControlEntry]>;

/// The outcome of one authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationResult {
    /// The operation may proceed.
    Allowed,
    /// The operation is refused.
    Denied,
}

/// A `super.users` entry that is not `<type>:<name>`.
#[derive(Debug, thiserror::Error)]
#[error("invalid principal {0:?} in super.users: expected <type>:<name>, e.g. User:alice")]
pub struct InvalidPrincipal(pub String);

/// The authorizer's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// `super.users`: principals allowed everything (default none).
    pub super_users: HashSet<String>,
    /// `allow.everyone.if.no.acl.found` (default false): allow on resources without any ACL.
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerConfig {
    /// Parses `super.users`: semicolon-separated principals, each trimmed (`User:a; User:b`).
    /// Empty entries are skipped.
    pub fn parse_super_users(value: &str) -> Result<HashSet<String>, InvalidPrincipal> {
        value
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once(':') {
                Some(_) => Ok(p.to_string()),
                None => Err(InvalidPrincipal(p.to_string())),
            })
            .collect()
    }
}

/// The prefixed patterns of one resource type.
#[derive(Clone, Debug, Default)]
struct PrefixIndex {
    by_prefix: HashMap<String, Entries>,
    /// Byte length of the stored prefixes → how many: the only lengths worth probing.
    lengths: BTreeMap<usize, usize>,
}

impl PrefixIndex {
    fn set(&mut self, prefix: String, entries: Option<Entries>) {
        let len = prefix.len();
        let existed = match entries {
            Some(e) => self.by_prefix.insert(prefix, e).is_some(),
            None => {
                let removed = self.by_prefix.remove(&prefix).is_some();
                if removed {
                    if let Some(count) = self.lengths.get_mut(&len) {
                        *count -= 1;
                        if *count == 0 {
                            self.lengths.remove(&len);
                        }
                    }
                }
                return;
            }
        };
        if !existed {
            *self.lengths.entry(len).or_insert(0) += 1;
        }
    }

    /// Every stored prefix of `name`, shortest first.
    fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entries> + 'a {
        self.lengths
            .keys()
            .take_while(move |len| **len <= name.len())
            .filter_map(move |len| name.get(..*len))
            .filter_map(move |prefix| self.by_prefix.get(prefix))
    }
}

/// The ACLs of one resource type.
#[derive(Clone, Debug, Default)]
struct TypeIndex {
    literal: HashMap<String, Entries>,
    prefixed: PrefixIndex,
}

/// Every known ACL, indexed for [`decide`]. Cheap to clone (entries are shared).
#[derive(Clone, Debug, Default)]
pub struct AclIndex {
    types: [TypeIndex; 6],
    len: usize,
}

fn slot(resource_type: ResourceType) -> usize {
    match resource_type {
        ResourceType::Topic => 0,
        ResourceType::Group => 1,
        ResourceType::Cluster => 2,
        ResourceType::TransactionalId => 3,
        ResourceType::DelegationToken => 4,
        ResourceType::User => 5,
    }
}

impl AclIndex {
    /// An index of these patterns' ACLs (e.g. what `coordinator::acl::read_all_acls` read).
    pub fn from_resources(
        resources: impl IntoIterator<Item = (ResourcePattern, Vec<AccessControlEntry>)>,
    ) -> AclIndex {
        let mut index = AclIndex::default();
        for (pattern, acls) in resources {
            index.set_resource(pattern, acls);
        }
        index
    }

    /// Replaces one pattern's ACLs (what a change notification's re-read returned); empty
    /// removes the pattern.
    pub fn set_resource(&mut self, pattern: ResourcePattern, mut acls: Vec<AccessControlEntry>) {
        acls.sort();
        acls.dedup();
        let old = self.resource_acls(&pattern).len();
        self.len = self.len - old + acls.len();
        let entries: Option<Entries> = (!acls.is_empty()).then(|| acls.into());
        let index = &mut self.types[slot(pattern.resource_type)];
        match pattern.pattern_type {
            PatternType::Literal => match entries {
                Some(e) => {
                    index.literal.insert(pattern.name, e);
                }
                None => {
                    index.literal.remove(&pattern.name);
                }
            },
            PatternType::Prefixed => index.prefixed.set(pattern.name, entries),
        }
    }

    /// One pattern's ACLs (empty if none).
    pub fn resource_acls(&self, pattern: &ResourcePattern) -> &[AccessControlEntry] {
        let index = &self.types[slot(pattern.resource_type)];
        let found = match pattern.pattern_type {
            PatternType::Literal => index.literal.get(&pattern.name),
            PatternType::Prefixed => index.prefixed.by_prefix.get(&pattern.name),
        };
        found.map(|e| &e[..]).unwrap_or_default()
    }

    /// How many ACLs (bindings) are known.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no ACL is known.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every binding, in no particular order.
    pub fn bindings(&self) -> impl Iterator<Item = AclBinding> + '_ {
        ResourceType::ALL_VALUES.iter().flat_map(move |t| {
            let index = &self.types[slot(*t)];
            let literal = index
                .literal
                .iter()
                .map(move |(n, e)| (ResourcePattern::new(*t, n.clone(), PatternType::Literal), e));
            let prefixed = index.prefixed.by_prefix.iter().map(move |(n, e)| {
                (
                    ResourcePattern::new(*t, n.clone(), PatternType::Prefixed),
                    e,
                )
            });
            literal.chain(prefixed).flat_map(|(pattern, entries)| {
                entries.iter().map(move |entry| AclBinding {
                    pattern: pattern.clone(),
                    entry: entry.clone(),
                })
            })
        })
    }

    /// The bindings a DescribeAcls / DeleteAcls filter selects, sorted.
    pub fn matching_bindings(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        let mut out: Vec<AclBinding> = self.bindings().filter(|b| filter.matches(b)).collect();
        out.sort();
        out
    }

    /// The entry lists that apply to `name`: literal, literal `*`, and every matching prefix.
    fn applicable<'a>(
        &'a self,
        resource_type: ResourceType,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Entries> + 'a {
        let index = &self.types[slot(resource_type)];
        let wildcard = (name != WILDCARD_RESOURCE)
            .then(|| index.literal.get(WILDCARD_RESOURCE))
            .flatten();
        index
            .literal
            .get(name)
            .into_iter()
            .chain(wildcard)
            .chain(index.prefixed.matching(name))
    }
}

/// A client address written as Java's `InetAddress.getHostAddress` writes it, the form ACL
/// hosts are stored in: dotted IPv4 (IPv4-mapped IPv6 addresses included, as Java turns them
/// into IPv4 addresses), and IPv6 as eight uncompressed lower-case hex groups
/// (`0:0:0:0:0:0:0:1`, not `::1`).
pub fn java_host_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6
                .segments()
                .iter()
                .map(|s| format!("{s:x}"))
                .collect::<Vec<_>>()
                .join(":"),
        },
    }
}

/// True if an ALLOW of `granted` also allows `wanted` (Kafka's implied operations).
fn allow_implies(granted: AclOperation, wanted: AclOperation) -> bool {
    use AclOperation::*;
    granted == wanted
        || granted == All
        || (wanted == Describe && matches!(granted, Read | Write | Delete | Alter))
        || (wanted == DescribeConfigs && granted == AlterConfigs)
}

/// The decision for `principal` (`User:alice`) from `host` (the client address as
/// [`java_host_address`] writes it) doing `operation` on the resource `resource_type`/`name`.
pub fn decide(
    acls: &AclIndex,
    config: &AuthorizerConfig,
    principal: &str,
    host: &str,
    operation: AclOperation,
    resource_type: ResourceType,
    name: &str,
) -> AuthorizationResult {
    if config.super_users.contains(principal) {
        return AuthorizationResult::Allowed;
    }
    let applies = |e: &AccessControlEntry| {
        (e.principal == principal || e.principal == WILDCARD_PRINCIPAL)
            && (e.host == host || e.host == WILDCARD_HOST)
    };
    let mut any = false;
    let mut allowed = false;
    for entries in acls.applicable(resource_type, name) {
        any |= !entries.is_empty();
        for e in entries.iter().filter(|e| applies(e)) {
            match e.permission_type {
                AclPermissionType::Deny => {
                    if e.operation == operation || e.operation == AclOperation::All {
                        return AuthorizationResult::Denied;
                    }
                }
                AclPermissionType::Allow => allowed |= allow_implies(e.operation, operation),
            }
        }
    }
    if allowed || (!any && config.allow_everyone_if_no_acl_found) {
        AuthorizationResult::Allowed
    } else {
        AuthorizationResult::Denied
    }
}

/// Kafka's `authorizeByResourceType`: may `principal` do `operation` on *some* resource of the
/// type? (InitProducerId without a transactional id asks it for WRITE on topics.) A DENY of
/// the literal `*` refuses; otherwise an ALLOW (of the operation or ALL) on a literal name or a
/// prefix not covered by a matching DENY literal or prefix allows. Only the exact operation
/// and ALL count, as in Kafka (no implied operations).
pub fn decide_by_resource_type(
    acls: &AclIndex,
    config: &AuthorizerConfig,
    principal: &str,
    host: &str,
    operation: AclOperation,
    resource_type: ResourceType,
) -> AuthorizationResult {
    if config.super_users.contains(principal) {
        return AuthorizationResult::Allowed;
    }
    let index = &acls.types[slot(resource_type)];
    let matching = |entries: &Entries, permission: AclPermissionType| {
        entries.iter().any(|e| {
            e.permission_type == permission
                && (e.principal == principal || e.principal == WILDCARD_PRINCIPAL)
                && (e.host == host || e.host == WILDCARD_HOST)
                && (e.operation == operation || e.operation == AclOperation::All)
        })
    };
    let names = |map: &'_ HashMap<String, Entries>, permission| -> HashSet<String> {
        map.iter()
            .filter(|(_, e)| matching(e, permission))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let deny_literals = names(&index.literal, AclPermissionType::Deny);
    if deny_literals.contains(WILDCARD_RESOURCE) {
        return AuthorizationResult::Denied;
    }
    if config.allow_everyone_if_no_acl_found {
        return AuthorizationResult::Allowed;
    }
    let deny_prefixes = names(&index.prefixed.by_prefix, AclPermissionType::Deny);
    // A DENY prefix that is a prefix of `name` (Kafka's "dominant prefixed deny").
    let dominated = |name: &str| {
        (1..=name.len())
            .filter_map(|i| name.get(..i))
            .any(|p| deny_prefixes.contains(p))
    };
    let allow_prefix = names(&index.prefixed.by_prefix, AclPermissionType::Allow)
        .iter()
        .any(|p| !dominated(p));
    let allow_literal = names(&index.literal, AclPermissionType::Allow)
        .iter()
        .any(|l| l == WILDCARD_RESOURCE || (!deny_literals.contains(l) && !dominated(l)));
    if allow_prefix || allow_literal {
        AuthorizationResult::Allowed
    } else {
        AuthorizationResult::Denied
    }
}

/// The broker's authorizer: its config and the current ACL snapshot, shared by every request.
#[derive(Debug, Default)]
pub struct Authorizer {
    config: AuthorizerConfig,
    current: RwLock<Arc<AclIndex>>,
    /// Serializes updates (read, copy, modify, swap) so none is lost.
    writer: Mutex<()>,
}

impl Authorizer {
    /// An authorizer with no ACLs yet.
    pub fn new(config: AuthorizerConfig) -> Authorizer {
        Authorizer {
            config,
            ..Authorizer::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &AuthorizerConfig {
        &self.config
    }

    /// The current ACLs; a request that authorizes several resources should take one snapshot.
    pub fn snapshot(&self) -> Arc<AclIndex> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces every ACL (the initial load, or a reload after a ZooKeeper session expiry).
    pub fn replace_all(&self, index: AclIndex) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.swap(Arc::new(index));
    }

    /// Replaces the ACLs of the given patterns (after change notifications); an empty list
    /// removes a pattern. Readers keep their snapshot; the next ones see all the changes at once.
    pub fn update_resources(
        &self,
        changes: impl IntoIterator<Item = (ResourcePattern, Vec<AccessControlEntry>)>,
    ) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = AclIndex::clone(&self.snapshot());
        for (pattern, acls) in changes {
            next.set_resource(pattern, acls);
        }
        self.swap(Arc::new(next));
    }

    fn swap(&self, next: Arc<AclIndex>) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = next;
    }

    /// [`decide`] over the current snapshot.
    pub fn authorize(
        &self,
        principal: &str,
        host: &str,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> AuthorizationResult {
        let acls = self.snapshot();
        decide(
            &acls,
            &self.config,
            principal,
            host,
            operation,
            resource_type,
            name,
        )
    }
}

#[cfg(test)]
mod tests;
