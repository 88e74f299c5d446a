//! The decision, case by case, against what `AclAuthorizer` decides.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::auth::acl::{PatternTypeFilter, CLUSTER_RESOURCE_NAME};
use AclOperation::*;
use AclPermissionType::{Allow, Deny};
use AuthorizationResult::{Allowed, Denied};
use ResourceType::{Cluster, Group, Topic};

const ALICE: &str = "User:alice";
const BOB: &str = "User:bob";
const HOST: &str = "10.0.0.1";

fn literal(t: ResourceType, name: &str) -> ResourcePattern {
    ResourcePattern::new(t, name, PatternType::Literal)
}

fn prefixed(t: ResourceType, name: &str) -> ResourcePattern {
    ResourcePattern::new(t, name, PatternType::Prefixed)
}

fn ace(
    principal: &str,
    host: &str,
    op: AclOperation,
    perm: AclPermissionType,
) -> AccessControlEntry {
    AccessControlEntry::new(principal, host, op, perm)
}

fn index(acls: Vec<(ResourcePattern, AccessControlEntry)>) -> AclIndex {
    let mut grouped: BTreeMap<ResourcePattern, Vec<AccessControlEntry>> = BTreeMap::new();
    for (p, e) in acls {
        grouped.entry(p).or_default().push(e);
    }
    AclIndex::from_resources(grouped)
}

fn check(
    acls: &AclIndex,
    principal: &str,
    op: AclOperation,
    t: ResourceType,
    name: &str,
) -> AuthorizationResult {
    decide(
        acls,
        &AuthorizerConfig::default(),
        principal,
        HOST,
        op,
        t,
        name,
    )
}

#[test]
fn deny_beats_allow() {
    let acls = index(vec![
        (literal(Topic, "t"), ace(ALICE, "*", Read, Allow)),
        (literal(Topic, "t"), ace(ALICE, HOST, Read, Deny)),
    ]);
    assert_eq!(check(&acls, ALICE, Read, Topic, "t"), Denied);
    // Deny on a prefix or the wildcard beats an allow on the literal name, and DENY ALL denies
    // every operation.
    let acls = index(vec![
        (literal(Topic, "orders"), ace(ALICE, "*", All, Allow)),
        (prefixed(Topic, "ord"), ace(ALICE, "*", Write, Deny)),
        (literal(Topic, "*"), ace(BOB, "*", All, Deny)),
        (literal(Topic, "orders"), ace(BOB, "*", Read, Allow)),
    ]);
    assert_eq!(check(&acls, ALICE, Read, Topic, "orders"), Allowed);
    assert_eq!(check(&acls, ALICE, Write, Topic, "orders"), Denied);
    assert_eq!(check(&acls, BOB, Read, Topic, "orders"), Denied);
}

#[test]
fn deny_of_an_implying_operation_does_not_deny_describe() {
    let acls = index(vec![
        (literal(Topic, "t"), ace(ALICE, "*", Describe, Allow)),
        (literal(Topic, "t"), ace(ALICE, "*", Read, Deny)),
    ]);
    assert_eq!(check(&acls, ALICE, Describe, Topic, "t"), Allowed);
    assert_eq!(check(&acls, ALICE, Read, Topic, "t"), Denied);
}

#[test]
fn wildcard_principal_host_and_resource() {
    let acls = index(vec![
        (literal(Topic, "*"), ace("User:*", "*", Read, Allow)),
        (literal(Group, "g"), ace(ALICE, "10.0.0.2", Read, Allow)),
    ]);
    assert_eq!(check(&acls, BOB, Read, Topic, "anything"), Allowed);
    assert_eq!(check(&acls, BOB, Write, Topic, "anything"), Denied);
    assert_eq!(check(&acls, BOB, Read, Group, "anything"), Denied);
    // The host must be the caller's when not `*`.
    assert_eq!(check(&acls, ALICE, Read, Group, "g"), Denied);
    let config = AuthorizerConfig::default();
    assert_eq!(
        decide(&acls, &config, ALICE, "10.0.0.2", Read, Group, "g"),
        Allowed
    );
    // `User:*` only wildcards users of type User... and the principal must otherwise be exact.
    assert_eq!(check(&acls, "Group:x", Read, Group, "g"), Denied);
}

#[test]
fn prefixed_patterns_several_and_nested() {
    let acls = index(vec![
        (prefixed(Topic, "a"), ace(ALICE, "*", Read, Allow)),
        (prefixed(Topic, "ab"), ace(BOB, "*", Read, Allow)),
        (prefixed(Topic, "abc-"), ace(BOB, "*", Read, Deny)),
        (prefixed(Topic, "x"), ace(BOB, "*", Write, Allow)),
        (prefixed(Group, "ab"), ace(ALICE, "*", Write, Allow)),
    ]);
    assert_eq!(check(&acls, ALICE, Read, Topic, "abc-1"), Allowed);
    assert_eq!(check(&acls, BOB, Read, Topic, "abd"), Allowed);
    assert_eq!(
        check(&acls, BOB, Read, Topic, "ab"),
        Allowed,
        "a prefix matches itself"
    );
    assert_eq!(check(&acls, BOB, Read, Topic, "abc-1"), Denied);
    assert_eq!(check(&acls, BOB, Read, Topic, "a"), Denied);
    assert_eq!(check(&acls, ALICE, Read, Topic, "ba"), Denied);
    assert_eq!(
        check(&acls, ALICE, Write, Topic, "abc"),
        Denied,
        "types do not mix"
    );
    // Multi-byte names: prefixes that are not char boundaries are never probed.
    let acls = index(vec![(prefixed(Topic, "é"), ace(ALICE, "*", Read, Allow))]);
    assert_eq!(check(&acls, ALICE, Read, Topic, "été"), Allowed);
    assert_eq!(check(&acls, ALICE, Read, Topic, "e"), Denied);
}

#[test]
fn implied_operations() {
    for granted in [Read, Write, Delete, Alter, Describe, All] {
        let acls = index(vec![(literal(Topic, "t"), ace(ALICE, "*", granted, Allow))]);
        assert_eq!(
            check(&acls, ALICE, Describe, Topic, "t"),
            Allowed,
            "{granted:?}"
        );
    }
    for granted in [
        Create,
        ClusterAction,
        DescribeConfigs,
        AlterConfigs,
        IdempotentWrite,
    ] {
        let acls = index(vec![(literal(Topic, "t"), ace(ALICE, "*", granted, Allow))]);
        assert_eq!(
            check(&acls, ALICE, Describe, Topic, "t"),
            Denied,
            "{granted:?}"
        );
    }
    let acls = index(vec![(
        literal(Topic, "t"),
        ace(ALICE, "*", AlterConfigs, Allow),
    )]);
    assert_eq!(check(&acls, ALICE, DescribeConfigs, Topic, "t"), Allowed);
    assert_eq!(check(&acls, ALICE, Alter, Topic, "t"), Denied);
    let acls = index(vec![(literal(Topic, "t"), ace(ALICE, "*", Read, Allow))]);
    assert_eq!(
        check(&acls, ALICE, Write, Topic, "t"),
        Denied,
        "nothing implies more"
    );
}

#[test]
fn super_users_are_always_allowed() {
    let config = AuthorizerConfig {
        super_users: AuthorizerConfig::parse_super_users(" User:admin ;User:ops;").unwrap(),
        allow_everyone_if_no_acl_found: false,
    };
    let acls = index(vec![(
        literal(Cluster, CLUSTER_RESOURCE_NAME),
        ace("User:*", "*", All, Deny),
    )]);
    let cluster = CLUSTER_RESOURCE_NAME;
    assert_eq!(
        decide(
            &acls,
            &config,
            "User:admin",
            HOST,
            ClusterAction,
            Cluster,
            cluster
        ),
        Allowed
    );
    assert_eq!(
        decide(&acls, &config, "User:ops", HOST, Alter, Cluster, cluster),
        Allowed
    );
    assert_eq!(
        decide(&acls, &config, ALICE, HOST, Alter, Cluster, cluster),
        Denied
    );
    assert!(AuthorizerConfig::parse_super_users("User:a;admin").is_err());
    assert!(AuthorizerConfig::parse_super_users("").unwrap().is_empty());
}

#[test]
fn allow_everyone_if_no_acl_found_both_ways() {
    let acls = index(vec![(
        literal(Topic, "guarded"),
        ace(BOB, "*", Read, Allow),
    )]);
    let open = AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..AuthorizerConfig::default()
    };
    let closed = AuthorizerConfig::default();
    assert_eq!(
        decide(&acls, &open, ALICE, HOST, Write, Topic, "free"),
        Allowed
    );
    assert_eq!(
        decide(&acls, &closed, ALICE, HOST, Write, Topic, "free"),
        Denied
    );
    // Any ACL on the resource, even for someone else, takes the resource out of the default.
    assert_eq!(
        decide(&acls, &open, ALICE, HOST, Read, Topic, "guarded"),
        Denied
    );
    assert_eq!(
        decide(&AclIndex::default(), &open, ALICE, HOST, Read, Group, "g"),
        Allowed
    );
}

#[test]
fn filters_select_bindings_for_describe_and_delete() {
    let acls = index(vec![
        (literal(Topic, "orders"), ace(ALICE, "*", Read, Allow)),
        (literal(Topic, "*"), ace(BOB, "*", Read, Allow)),
        (prefixed(Topic, "ord"), ace(BOB, "*", Write, Deny)),
        (literal(Group, "orders"), ace(ALICE, "*", Read, Allow)),
    ]);
    assert_eq!(acls.len(), 4);
    assert_eq!(acls.matching_bindings(&AclBindingFilter::any()).len(), 4);
    let mut f = AclBindingFilter::any();
    f.pattern.resource_type = Some(Topic);
    f.pattern.name = Some("orders".into());
    f.pattern.pattern_type = PatternTypeFilter::Match;
    assert_eq!(acls.matching_bindings(&f).len(), 3);
    f.pattern.pattern_type = PatternTypeFilter::Any;
    assert_eq!(acls.matching_bindings(&f).len(), 1);
    f.pattern.name = None;
    f.entry.principal = Some(BOB.into());
    let bob: Vec<_> = acls.matching_bindings(&f);
    assert_eq!(bob.len(), 2);
    assert!(bob.iter().all(|b| b.entry.principal == BOB));
}

#[test]
fn updates_swap_snapshots() {
    let authorizer = Authorizer::new(AuthorizerConfig::default());
    let t = literal(Topic, "t");
    assert_eq!(authorizer.authorize(ALICE, HOST, Read, Topic, "t"), Denied);
    let before = authorizer.snapshot();
    authorizer.update_resources([(t.clone(), vec![ace(ALICE, "*", Read, Allow)])]);
    assert_eq!(authorizer.authorize(ALICE, HOST, Read, Topic, "t"), Allowed);
    assert!(before.is_empty(), "an earlier snapshot is unchanged");
    authorizer.update_resources([(prefixed(Topic, "t"), vec![ace(ALICE, "*", Read, Deny)])]);
    assert_eq!(authorizer.authorize(ALICE, HOST, Read, Topic, "t"), Denied);
    authorizer.update_resources([(prefixed(Topic, "t"), vec![]), (t.clone(), vec![])]);
    assert!(authorizer.snapshot().is_empty());
    assert_eq!(
        authorizer.snapshot().resource_acls(&t),
        &[] as &[AccessControlEntry]
    );
    authorizer.replace_all(index(vec![(t, ace(ALICE, "*", Write, Allow))]));
    assert_eq!(
        authorizer.authorize(ALICE, HOST, Write, Topic, "t"),
        Allowed
    );
    assert_eq!(authorizer.snapshot().len(), 1);
}

#[test]
fn ten_thousand_acls() {
    let mut acls = Vec::new();
    for i in 0..5_000 {
        acls.push((
            literal(Topic, &format!("topic-{i}")),
            ace(&format!("User:u{i}"), "*", Write, Allow),
        ));
        acls.push((
            prefixed(Group, &format!("g{i}-")),
            ace(&format!("User:u{i}"), "*", Read, Allow),
        ));
    }
    let index = index(acls);
    assert_eq!(index.len(), 10_000);
    for i in (0..5_000).step_by(97) {
        let user = format!("User:u{i}");
        assert_eq!(
            check(&index, &user, Write, Topic, &format!("topic-{i}")),
            Allowed
        );
        assert_eq!(
            check(&index, &user, Describe, Topic, &format!("topic-{i}")),
            Allowed
        );
        assert_eq!(
            check(&index, &user, Write, Topic, &format!("topic-{}", i + 1)),
            Denied
        );
        assert_eq!(
            check(&index, &user, Read, Group, &format!("g{i}-consumers")),
            Allowed
        );
        assert_eq!(
            check(&index, &user, Read, Group, &format!("g{}-x", i + 1)),
            Denied
        );
    }
}

#[test]
fn hosts_are_written_as_java_writes_them() {
    let host = |s: &str| java_host_address(s.parse().unwrap());
    assert_eq!(host("10.0.0.1"), "10.0.0.1");
    assert_eq!(host("::1"), "0:0:0:0:0:0:0:1");
    assert_eq!(host("fe80::a:0bc"), "fe80:0:0:0:0:0:a:bc");
    assert_eq!(host("::ffff:192.168.1.2"), "192.168.1.2");
}

#[test]
fn by_resource_type_needs_an_allow_not_dominated_by_a_deny() {
    let by_type = |acls: &AclIndex| {
        decide_by_resource_type(
            acls,
            &AuthorizerConfig::default(),
            ALICE,
            HOST,
            Write,
            Topic,
        )
    };
    assert_eq!(by_type(&AclIndex::default()), Denied);
    let allow = |p: ResourcePattern| (p, ace(ALICE, "*", Write, Allow));
    let deny = |p: ResourcePattern| (p, ace(ALICE, "*", Write, Deny));
    assert_eq!(by_type(&index(vec![allow(literal(Topic, "t"))])), Allowed);
    assert_eq!(
        by_type(&index(vec![(
            literal(Topic, "t"),
            ace(BOB, "*", Write, Allow)
        )])),
        Denied
    );
    assert_eq!(
        by_type(&index(vec![
            allow(literal(Topic, "t")),
            deny(literal(Topic, "t"))
        ])),
        Denied
    );
    assert_eq!(
        by_type(&index(vec![
            allow(prefixed(Topic, "orders-eu")),
            deny(prefixed(Topic, "orders"))
        ])),
        Denied
    );
    assert_eq!(
        by_type(&index(vec![
            allow(prefixed(Topic, "orders")),
            deny(prefixed(Topic, "orders-eu"))
        ])),
        Allowed
    );
    assert_eq!(
        by_type(&index(vec![
            allow(literal(Topic, "t")),
            deny(literal(Topic, "*"))
        ])),
        Denied
    );
    assert_eq!(
        by_type(&index(vec![(
            literal(Topic, "t"),
            ace(ALICE, "*", Read, Allow)
        )])),
        Denied,
        "only the operation itself or ALL count"
    );
}
