//! The group state machine driven by hand: requests and a fake clock (plain milliseconds).

use bytes::Bytes;

use super::error::GroupError;
use super::join::JoinRequest;
use super::membership::CommitKind;
use super::state::{Group, GroupConfig, GroupState, JoinResult, Output, Reply};

const CONFIG: GroupConfig = GroupConfig {
    initial_rebalance_delay_ms: 3000,
    min_session_timeout_ms: 6000,
    max_session_timeout_ms: 1_800_000,
};

fn join_req(member_id: &str, fresh: &str, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        require_known_member_id: true,
        supports_skip_assignment: false,
        fresh_id: fresh.into(),
    }
}

/// Runs the MEMBER_ID_REQUIRED round trip and parks the second JoinGroup: the member id.
fn join_new(g: &mut Group, fresh: &str, now: u64, out: &mut Vec<Output>) -> String {
    let first = g.join(join_req("", fresh, &["range"]), now, out);
    let Reply::Now(JoinResult {
        error: Some(GroupError::MemberIdRequired),
        member_id,
        ..
    }) = first
    else {
        panic!("expected MEMBER_ID_REQUIRED, got {first:?}");
    };
    assert_eq!(member_id, format!("c-{fresh}"));
    let second = g.join(join_req(&member_id, "unused", &["range"]), now, out);
    assert_eq!(second, Reply::Parked(member_id.clone()));
    member_id
}

fn joins(out: &[Output]) -> Vec<(String, JoinResult)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Join { member_id, result } => Some((member_id.clone(), result.clone())),
            Output::Sync { .. } => None,
        })
        .collect()
}

/// Two members through the initial delay to Stable; returns (group, leader, follower).
fn stable_pair() -> (Group, String, String) {
    let mut g = Group::new("g", CONFIG, 0);
    let mut out = Vec::new();
    let a = join_new(&mut g, "a", 0, &mut out);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    let b = join_new(&mut g, "b", 1000, &mut out);
    assert!(out.is_empty(), "initial delay holds the join: {out:?}");
    // The delay restarted at 1000 when b arrived.
    g.tick(3500, &mut out);
    assert!(out.is_empty());
    g.tick(4000, &mut out);
    let done = joins(&out);
    assert_eq!(done.len(), 2);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert_eq!(g.generation, 1);
    let leader = g.leader.clone().expect("a leader");
    assert_eq!(leader, a);
    for (id, r) in &done {
        assert_eq!(r.generation, 1);
        assert_eq!(r.leader, a);
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
        assert_eq!(r.members.len(), if *id == a { 2 } else { 0 });
    }
    out.clear();
    let follower_sync = g.sync(&b, None, 1, (None, None), vec![], 4100, &mut out);
    assert_eq!(follower_sync, Reply::Parked(b.clone()));
    let assignments = vec![
        (a.clone(), Bytes::from("pa")),
        (b.clone(), Bytes::from("pb")),
    ];
    let leader_sync = g.sync(&a, None, 1, (None, None), assignments, 4200, &mut out);
    assert_eq!(leader_sync, Reply::Parked(a.clone()));
    assert_eq!(g.state, GroupState::Stable);
    assert!(out.contains(&Output::Sync {
        member_id: b.clone(),
        result: Ok(Bytes::from("pb"))
    }));
    assert!(out.contains(&Output::Sync {
        member_id: a.clone(),
        result: Ok(Bytes::from("pa"))
    }));
    (g, a, b)
}

#[test]
fn join_sync_to_stable_with_initial_delay() {
    let (g, _, _) = stable_pair();
    // The earliest session deadline: the follower's, from its SyncGroup at 4100.
    assert_eq!(g.next_deadline(), Some(4100 + 10_000));
}

#[test]
fn heartbeats_and_generation_fencing() {
    let (mut g, a, b) = stable_pair();
    assert_eq!(g.heartbeat(&a, None, 1, 5000), Ok(()));
    assert_eq!(
        g.heartbeat(&a, None, 0, 5000),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        g.heartbeat("nobody", None, 1, 5000),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(g.validate_commit(&b, None, 1, 5000), Ok(CommitKind::Member));
    assert_eq!(
        g.validate_commit(&b, None, 0, 5000),
        Err(GroupError::IllegalGeneration)
    );
    // A simple commit is refused while the group has members.
    assert_eq!(
        g.validate_commit("", None, -1, 5000),
        Err(GroupError::UnknownMemberId)
    );
    let mut empty = Group::new("e", CONFIG, 0);
    assert_eq!(
        empty.validate_commit("", None, -1, 0),
        Ok(CommitKind::Simple)
    );
}

#[test]
fn session_expiry_rebalances_and_old_generation_is_fenced() {
    let (mut g, a, b) = stable_pair();
    let mut out = Vec::new();
    // a keeps heartbeating; b goes silent.
    for t in (5000..=14_000).step_by(2000) {
        assert_eq!(g.heartbeat(&a, None, 1, t), Ok(()));
        g.tick(t, &mut out);
    }
    g.tick(14_100, &mut out);
    assert!(!g.members.contains_key(&b), "b expired");
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&a, None, 1, 14_200),
        Err(GroupError::RebalanceInProgress)
    );
    // a rejoins: the rebalance completes at once (every remaining member has joined).
    let r = g.join(join_req(&a, "x", &["range"]), 14_300, &mut out);
    assert_eq!(r, Reply::Parked(a.clone()));
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert_eq!(g.generation, 2);
    assert_eq!(
        g.heartbeat(&b, None, 1, 14_400),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        g.validate_commit(&a, None, 1, 14_400),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        g.validate_commit(&a, None, 2, 14_400),
        Err(GroupError::RebalanceInProgress)
    );
}

#[test]
fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let (mut g, a, b) = stable_pair();
    let mut out = Vec::new();
    // A new member forces a rebalance; b never rejoins (but keeps heartbeating).
    let c = join_new(&mut g, "c", 5000, &mut out);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        g.join(join_req(&a, "-", &["range"]), 5100, &mut out),
        Reply::Parked(a.clone())
    );
    for t in [20_000, 30_000] {
        assert_eq!(
            g.heartbeat(&b, None, 1, t),
            Err(GroupError::RebalanceInProgress)
        );
    }
    g.tick(34_999, &mut out);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    g.tick(35_000, &mut out);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert!(!g.members.contains_key(&b));
    let done: Vec<String> = joins(&out).into_iter().map(|(id, _)| id).collect();
    assert!(done.contains(&a) && done.contains(&c));
}

#[test]
fn leave_triggers_rebalance_and_last_leave_empties_group() {
    let (mut g, a, b) = stable_pair();
    let mut out = Vec::new();
    let r = g.leave(&[(b.clone(), None), ("ghost".into(), None)], 5000, &mut out);
    assert_eq!(r, vec![Ok(()), Err(GroupError::UnknownMemberId)]);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(g.leave(&[(a.clone(), None)], 5100, &mut out), vec![Ok(())]);
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(g.generation, 2);
}

#[test]
fn sync_errors() {
    let (mut g, a, _) = stable_pair();
    let mut out = Vec::new();
    assert_eq!(
        g.sync(&a, None, 0, (None, None), vec![], 5000, &mut out),
        Reply::Now(Err(GroupError::IllegalGeneration))
    );
    assert_eq!(
        g.sync(&a, None, 1, (Some("connect"), None), vec![], 5000, &mut out),
        Reply::Now(Err(GroupError::InconsistentGroupProtocol))
    );
    assert_eq!(
        g.sync(&a, None, 1, (None, None), vec![], 5000, &mut out),
        Reply::Now(Ok(Bytes::from("pa")))
    );
}

#[test]
fn protocol_checks_and_selection() {
    let mut g = Group::new("g", CONFIG, 0);
    let mut out = Vec::new();
    let mut bad = join_req("", "x", &["range"]);
    bad.session_timeout_ms = 1000;
    assert_eq!(
        g.join(bad, 0, &mut out),
        Reply::Now(JoinResult::error(GroupError::InvalidSessionTimeout, ""))
    );
    let mut v3 = join_req("", "a", &["roundrobin", "range"]);
    v3.require_known_member_id = false;
    assert!(matches!(g.join(v3, 0, &mut out), Reply::Parked(_)));
    let mut v3b = join_req("", "b", &["range", "roundrobin"]);
    v3b.require_known_member_id = false;
    assert!(matches!(g.join(v3b, 0, &mut out), Reply::Parked(_)));
    let mut other = join_req("", "z", &["sticky"]);
    other.require_known_member_id = false;
    assert_eq!(
        g.join(other, 0, &mut out),
        Reply::Now(JoinResult::error(GroupError::InconsistentGroupProtocol, ""))
    );
    g.tick(3000, &mut out);
    // One vote each: the leader's (first member's) preference wins.
    assert_eq!(g.protocol.as_deref(), Some("roundrobin"));
}

#[test]
fn static_member_rejoin_keeps_generation() {
    let mut g = Group::new("g", CONFIG, 0);
    let mut out = Vec::new();
    let mut s = join_req("", "s1", &["range"]);
    s.instance_id = Some("inst-1".into());
    assert_eq!(
        g.join(s.clone(), 0, &mut out),
        Reply::Parked("inst-1-s1".into())
    );
    g.tick(3000, &mut out);
    g.sync(
        "inst-1-s1",
        Some("inst-1"),
        1,
        (None, None),
        vec![("inst-1-s1".into(), Bytes::from("x"))],
        3100,
        &mut out,
    );
    assert_eq!(g.state, GroupState::Stable);
    // Restarted with an unknown member id: replaced, no rebalance, same generation.
    s.fresh_id = "s2".into();
    let Reply::Now(r) = g.join(s, 5000, &mut out) else {
        panic!("expected an immediate answer");
    };
    assert_eq!(r.error, None);
    assert_eq!(r.member_id, "inst-1-s2");
    assert_eq!(r.generation, 1);
    assert_eq!(
        r.leader, "inst-1-s1",
        "told the old leader id so it does not reassign"
    );
    assert_eq!(g.state, GroupState::Stable);
    // The replaced instance is fenced on every API that names its instance id.
    let fenced = GroupError::FencedInstanceId;
    assert_eq!(
        g.heartbeat("inst-1-s1", Some("inst-1"), 1, 5100),
        Err(fenced)
    );
    assert_eq!(
        g.validate_commit("inst-1-s1", Some("inst-1"), 1, 5100),
        Err(fenced)
    );
    assert_eq!(
        g.sync(
            "inst-1-s1",
            Some("inst-1"),
            1,
            (None, None),
            vec![],
            5100,
            &mut out
        ),
        Reply::Now(Err(fenced))
    );
    let mut old = join_req("inst-1-s1", "", &["range"]);
    old.instance_id = Some("inst-1".into());
    let Reply::Now(r) = g.join(old, 5100, &mut out) else {
        panic!("expected an immediate answer");
    };
    assert_eq!(r.error, Some(GroupError::FencedInstanceId));
    assert_eq!(
        g.leave(
            &[("inst-1-s1".into(), Some("inst-1".into()))],
            5100,
            &mut out
        ),
        vec![Err(fenced)]
    );
    // Without its instance id the old member id is merely unknown.
    assert_eq!(
        g.heartbeat("inst-1-s1", None, 1, 5100),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(g.state, GroupState::Stable, "none of that rebalanced");
    assert_eq!(g.heartbeat("inst-1-s2", Some("inst-1"), 1, 5100), Ok(()));
    // LeaveGroup by instance id alone (admin use).
    assert_eq!(
        g.leave(&[(String::new(), Some("inst-1".into()))], 5200, &mut out),
        vec![Ok(())]
    );
    assert_eq!(g.state, GroupState::Empty);
}

#[test]
fn pending_member_expires() {
    let mut g = Group::new("g", CONFIG, 0);
    let mut out = Vec::new();
    let r = g.join(join_req("", "p", &["range"]), 0, &mut out);
    assert!(matches!(
        r,
        Reply::Now(JoinResult {
            error: Some(GroupError::MemberIdRequired),
            ..
        })
    ));
    assert_eq!(g.next_deadline(), Some(10_000));
    g.tick(10_000, &mut out);
    assert!(g.pending.is_empty());
    assert_eq!(
        g.join(join_req("c-p", "q", &["range"]), 10_001, &mut out),
        Reply::Now(JoinResult::error(GroupError::UnknownMemberId, "c-p"))
    );
}

#[test]
fn unsynced_members_are_removed() {
    let mut g = Group::new("g", CONFIG, 0);
    let mut out = Vec::new();
    let a = join_new(&mut g, "a", 0, &mut out);
    g.tick(3000, &mut out);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    // The leader never syncs: after the rebalance timeout it is removed; the group empties.
    g.tick(33_000, &mut out);
    assert!(!g.members.contains_key(&a));
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(g.generation, 2);
}

#[test]
fn offsets_expire_after_retention_counted_from_last_event() {
    use super::offsets_expired;
    let day = 86_400_000;
    assert!(!offsets_expired(10 * day, 7 * day, None, None));
    assert!(offsets_expired(10 * day, 7 * day, Some(2 * day), None));
    assert!(!offsets_expired(
        10 * day,
        7 * day,
        Some(2 * day),
        Some(4 * day)
    ));
    assert!(!offsets_expired(10 * day, 7 * day, Some(5 * day), None));
}

/// A Stable group of one static member ("inst-1"), generation 1.
fn stable_static_group(out: &mut Vec<Output>) -> (Group, JoinRequest) {
    let mut g = Group::new("g", CONFIG, 0);
    let mut s = join_req("", "s1", &["range"]);
    s.instance_id = Some("inst-1".into());
    g.join(s.clone(), 0, out);
    g.tick(3000, out);
    g.sync(
        "inst-1-s1",
        Some("inst-1"),
        1,
        (None, None),
        vec![("inst-1-s1".into(), Bytes::from("x"))],
        3100,
        out,
    );
    assert_eq!(g.state, GroupState::Stable);
    (g, s)
}

#[test]
fn a_replaced_static_leader_on_join_group_v9_leads_without_assigning() {
    let mut out = Vec::new();
    let (mut g, mut s) = stable_static_group(&mut out);
    s.fresh_id = "s2".into();
    s.supports_skip_assignment = true;
    // New metadata, same protocol: the group's choice is unchanged, so no rebalance.
    s.protocols = vec![("range".into(), Bytes::from("other-metadata"))];
    let Reply::Now(r) = g.join(s, 5000, &mut out) else {
        panic!("expected an immediate answer");
    };
    assert_eq!((r.error, r.generation), (None, 1));
    assert_eq!(r.leader, "inst-1-s2");
    assert!(r.skip_assignment);
    assert_eq!(r.members.len(), 1, "the leader still sees the members");
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(
        g.sync(
            "inst-1-s2",
            Some("inst-1"),
            1,
            (None, None),
            vec![],
            5100,
            &mut out
        ),
        Reply::Now(Ok(Bytes::from("x"))),
        "the old instance's assignment carries over"
    );
}

#[test]
fn a_replaced_static_member_whose_protocol_changes_rebalances() {
    let mut out = Vec::new();
    let (mut g, mut s) = stable_static_group(&mut out);
    s.fresh_id = "s2".into();
    s.protocols = vec![
        ("roundrobin".into(), Bytes::new()),
        ("range".into(), Bytes::new()),
    ];
    assert_eq!(g.join(s, 5000, &mut out), Reply::Parked("inst-1-s2".into()));
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert_eq!(g.generation, 2);
    assert_eq!(g.protocol.as_deref(), Some("roundrobin"));
}
