//! ACL bindings and the filters CreateAcls / DescribeAcls / DeleteAcls carry, with Kafka's
//! matching (`AclBindingFilter`, `ResourcePatternFilter.matches`,
//! `AccessControlEntryFilter.matches`). The stored types come from the coordinator, which owns
//! their ZooKeeper format.

pub use coordinator::acl::{
    AccessControlEntry, AclOperation, AclPermissionType, PatternType, ResourcePattern,
    ResourceType, CLUSTER_RESOURCE_NAME, WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE,
};

/// The operations an ACL on this resource type can meaningfully grant
/// (`AclEntry.supportedOperations`; Metadata and DescribeCluster report authorized operations
/// from these).
pub fn supported_operations(resource_type: ResourceType) -> &'static [AclOperation] {
    use AclOperation::*;
    match resource_type {
        ResourceType::Topic => &[
            Read,
            Write,
            Create,
            Describe,
            Delete,
            Alter,
            DescribeConfigs,
            AlterConfigs,
        ],
        ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
        ResourceType::Cluster => &[
            Create,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
            Alter,
            Describe,
        ],
        ResourceType::TransactionalId => &[Describe, Write],
        ResourceType::DelegationToken => &[Describe],
        ResourceType::User => &[CreateTokens, DescribeTokens],
    }
}

/// One ACL: a resource pattern and an entry on it (`AclBinding`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    /// The pattern.
    pub pattern: ResourcePattern,
    /// The entry.
    pub entry: AccessControlEntry,
}

/// A filter's pattern type (`PatternType` with its filter-only values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatternTypeFilter {
    /// Any pattern type; a name must equal the pattern's name.
    Any,
    /// Every pattern that would match the filter's name as a resource name (literal equal or
    /// `*`, prefixed a prefix of it).
    Match,
    /// Exactly this pattern type.
    Specific(PatternType),
}

impl PatternTypeFilter {
    /// From Kafka's wire code (`None` for UNKNOWN and undefined codes).
    pub fn from_code(code: i8) -> Option<PatternTypeFilter> {
        match code {
            1 => Some(PatternTypeFilter::Any),
            2 => Some(PatternTypeFilter::Match),
            _ => PatternType::from_code(code).map(PatternTypeFilter::Specific),
        }
    }
}

/// Which resource patterns a filter selects (`ResourcePatternFilter`); `None` fields are ANY.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourcePatternFilter {
    /// Resource type; `None` is ANY.
    pub resource_type: Option<ResourceType>,
    /// Name; `None` matches every name.
    pub name: Option<String>,
    /// Pattern type.
    pub pattern_type: PatternTypeFilter,
}

impl ResourcePatternFilter {
    /// Kafka's `ResourcePatternFilter.matches`.
    pub fn matches(&self, pattern: &ResourcePattern) -> bool {
        if self
            .resource_type
            .is_some_and(|t| t != pattern.resource_type)
        {
            return false;
        }
        if let PatternTypeFilter::Specific(p) = self.pattern_type {
            if p != pattern.pattern_type {
                return false;
            }
        }
        let Some(name) = &self.name else {
            return true;
        };
        if self.pattern_type != PatternTypeFilter::Match {
            return *name == pattern.name;
        }
        match pattern.pattern_type {
            PatternType::Literal => *name == pattern.name || pattern.name == WILDCARD_RESOURCE,
            PatternType::Prefixed => name.starts_with(pattern.name.as_str()),
        }
    }

    /// Kafka's `matchesAtMostOne`: a resource type, a name, and not MATCH. (Kafka does not
    /// count an ANY pattern type as indefinite, although it can select two patterns.)
    pub fn matches_at_most_one(&self) -> bool {
        self.resource_type.is_some()
            && self.name.is_some()
            && self.pattern_type != PatternTypeFilter::Match
    }
}

/// Which entries a filter selects (`AccessControlEntryFilter`); `None` fields are ANY.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccessControlEntryFilter {
    /// Principal, compared exactly (`User:*` only matches entries for `User:*`).
    pub principal: Option<String>,
    /// Host, compared exactly.
    pub host: Option<String>,
    /// Operation; `None` is ANY.
    pub operation: Option<AclOperation>,
    /// Permission; `None` is ANY.
    pub permission_type: Option<AclPermissionType>,
}

impl AccessControlEntryFilter {
    /// Kafka's `matchesAtMostOne`: every field given.
    pub fn matches_at_most_one(&self) -> bool {
        self.principal.is_some()
            && self.host.is_some()
            && self.operation.is_some()
            && self.permission_type.is_some()
    }

    /// Kafka's `AccessControlEntryFilter.matches`: exact equality on every given field.
    pub fn matches(&self, entry: &AccessControlEntry) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|p| *p == entry.principal)
            && self.host.as_ref().is_none_or(|h| *h == entry.host)
            && self.operation.is_none_or(|o| o == entry.operation)
            && self
                .permission_type
                .is_none_or(|p| p == entry.permission_type)
    }
}

/// A DescribeAcls / DeleteAcls filter (`AclBindingFilter`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclBindingFilter {
    /// Which patterns.
    pub pattern: ResourcePatternFilter,
    /// Which entries.
    pub entry: AccessControlEntryFilter,
}

impl AclBindingFilter {
    /// Selects every ACL.
    pub fn any() -> AclBindingFilter {
        AclBindingFilter {
            pattern: ResourcePatternFilter {
                resource_type: None,
                name: None,
                pattern_type: PatternTypeFilter::Any,
            },
            entry: AccessControlEntryFilter::default(),
        }
    }

    /// Kafka's `matchesAtMostOne`: both halves can select at most one value.
    pub fn matches_at_most_one(&self) -> bool {
        self.pattern.matches_at_most_one() && self.entry.matches_at_most_one()
    }

    /// True if both the pattern and the entry match.
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.pattern.matches(&binding.pattern) && self.entry.matches(&binding.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(t: ResourceType, name: &str, p: PatternType) -> ResourcePattern {
        ResourcePattern::new(t, name, p)
    }

    fn filter(
        t: Option<ResourceType>,
        name: Option<&str>,
        p: PatternTypeFilter,
    ) -> ResourcePatternFilter {
        ResourcePatternFilter {
            resource_type: t,
            name: name.map(String::from),
            pattern_type: p,
        }
    }

    const TOPIC: Option<ResourceType> = Some(ResourceType::Topic);
    const LIT: PatternType = PatternType::Literal;
    const PRE: PatternType = PatternType::Prefixed;

    #[test]
    fn any_and_specific_pattern_filters_compare_names_exactly() {
        let f = filter(TOPIC, Some("orders"), PatternTypeFilter::Any);
        assert!(f.matches(&pattern(ResourceType::Topic, "orders", LIT)));
        assert!(f.matches(&pattern(ResourceType::Topic, "orders", PRE)));
        assert!(!f.matches(&pattern(ResourceType::Topic, "*", LIT)));
        assert!(!f.matches(&pattern(ResourceType::Topic, "ord", PRE)));
        assert!(!f.matches(&pattern(ResourceType::Group, "orders", LIT)));

        let f = filter(TOPIC, Some("ord"), PatternTypeFilter::Specific(PRE));
        assert!(f.matches(&pattern(ResourceType::Topic, "ord", PRE)));
        assert!(!f.matches(&pattern(ResourceType::Topic, "ord", LIT)));

        let f = filter(None, None, PatternTypeFilter::Any);
        assert!(f.matches(&pattern(ResourceType::Cluster, CLUSTER_RESOURCE_NAME, LIT)));
    }

    #[test]
    fn match_pattern_filter_finds_what_would_apply() {
        let f = filter(TOPIC, Some("orders-eu"), PatternTypeFilter::Match);
        assert!(f.matches(&pattern(ResourceType::Topic, "orders-eu", LIT)));
        assert!(f.matches(&pattern(ResourceType::Topic, "*", LIT)));
        assert!(f.matches(&pattern(ResourceType::Topic, "orders-", PRE)));
        assert!(f.matches(&pattern(ResourceType::Topic, "orders-eu", PRE)));
        assert!(!f.matches(&pattern(ResourceType::Topic, "orders", LIT)));
        assert!(!f.matches(&pattern(ResourceType::Topic, "orders-eu-1", PRE)));
        assert!(!f.matches(&pattern(ResourceType::Group, "*", LIT)));
        // Without a name, MATCH selects every pattern of the type.
        let f = filter(TOPIC, None, PatternTypeFilter::Match);
        assert!(f.matches(&pattern(ResourceType::Topic, "x", PRE)));
    }

    #[test]
    fn entry_filters_compare_exactly() {
        let e =
            AccessControlEntry::new("User:*", "*", AclOperation::Read, AclPermissionType::Allow);
        let mut f = AccessControlEntryFilter::default();
        assert!(f.matches(&e));
        f.principal = Some("User:alice".into());
        assert!(
            !f.matches(&e),
            "a filter for alice does not select the wildcard entry"
        );
        f.principal = Some("User:*".into());
        f.operation = Some(AclOperation::Read);
        f.permission_type = Some(AclPermissionType::Allow);
        f.host = Some("*".into());
        assert!(f.matches(&e));
        f.operation = Some(AclOperation::All);
        assert!(
            !f.matches(&e),
            "ALL in a filter is the ALL operation, not ANY"
        );
    }

    #[test]
    fn binding_filters_need_both_halves() {
        let b = AclBinding {
            pattern: pattern(ResourceType::Group, "g", LIT),
            entry: AccessControlEntry::new(
                "User:a",
                "*",
                AclOperation::Read,
                AclPermissionType::Deny,
            ),
        };
        assert!(AclBindingFilter::any().matches(&b));
        let mut f = AclBindingFilter::any();
        f.entry.permission_type = Some(AclPermissionType::Allow);
        assert!(!f.matches(&b));
        assert!(!AclBindingFilter::any().matches_at_most_one());
        let mut one = AclBindingFilter {
            pattern: filter(TOPIC, Some("t"), PatternTypeFilter::Specific(LIT)),
            entry: AccessControlEntryFilter {
                principal: Some("User:a".into()),
                host: Some("*".into()),
                operation: Some(AclOperation::Read),
                permission_type: Some(AclPermissionType::Allow),
            },
        };
        assert!(one.matches_at_most_one());
        one.entry.host = None;
        assert!(!one.matches_at_most_one());
        assert_eq!(
            supported_operations(ResourceType::DelegationToken),
            [AclOperation::Describe]
        );
        assert!(filter(TOPIC, Some("t"), PatternTypeFilter::Specific(LIT)).matches_at_most_one());
        assert_eq!(
            PatternTypeFilter::from_code(2),
            Some(PatternTypeFilter::Match)
        );
        assert_eq!(
            PatternTypeFilter::from_code(4),
            Some(PatternTypeFilter::Specific(PRE))
        );
        assert_eq!(PatternTypeFilter::from_code(0), None);
    }
}
