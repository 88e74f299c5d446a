//! Static membership and group listing on a 3-broker cluster, with librdkafka's own APIs and
//! raw ListGroups / DescribeGroups from every broker:
//! - a newer instance with the same `group.instance.id` takes over the old one's member id and
//!   partitions without a rebalance, and the old instance gets the fatal FENCED_INSTANCE_ID
//!   (before, it heard UNKNOWN_MEMBER_ID, rejoined, and two processes owned the partitions);
//! - each broker lists only the groups it coordinates, with their protocol type (`consumer`,
//!   not the empty one that makes clients call a group "simple") and state, also once a group
//!   has emptied and after its coordinator stopped (the protocol type is kept in ZooKeeper).

use std::time::{Duration, Instant};

use kafka_protocol::messages::{
    DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest, GroupId,
    ListGroupsRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use tests::multi::MultiCluster;
use tests::python::{self, Spawned};
use tests::wire::WireClient;
use tests::OrPanic;

const TOPIC: &str = "members";
const GROUP: &str = "static-group";
const SIMPLE: &str = "simple-group";
const TIMEOUT: Duration = Duration::from_secs(60);

/// A group as one ListGroups answer showed it: (protocol type, state or "" before v4).
type Listed = Vec<(String, String, String)>;

fn list_groups(addr: &str, version: i16, states: &[&str]) -> Listed {
    let req = ListGroupsRequest::default().with_states_filter(
        states
            .iter()
            .map(|s| StrBytes::from_string((*s).to_string()))
            .collect(),
    );
    let resp = WireClient::connect(addr)
        .and_then(|mut c| c.request(version, &req))
        .or_panic("ListGroups");
    assert_eq!(resp.error_code, 0, "ListGroups v{version} from {addr}");
    let mut groups: Listed = resp
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.0.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect();
    groups.sort();
    groups
}

fn describe(addr: &str, group: &str) -> DescribeGroupsResponse {
    let req = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    WireClient::connect(addr)
        .and_then(|mut c| c.request(5, &req))
        .or_panic("DescribeGroups")
}

fn coordinator(c: &mut MultiCluster, group: &str) -> i32 {
    let req = FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.into()));
    let addr = c.bootstrap();
    let first = addr
        .split(',')
        .next()
        .or_panic("a running broker")
        .to_string();
    let resp = WireClient::connect(&first)
        .and_then(|mut c| c.request(2, &req))
        .or_panic("FindCoordinator");
    assert_eq!(resp.error_code, 0, "FindCoordinator {group}");
    resp.node_id.0
}

fn next_event(script: &mut Spawned, event: &str) -> Value {
    loop {
        match script.next_json(TIMEOUT).or_panic("script output") {
            Some(line) if line["event"] == event => return line,
            Some(_) => continue,
            None => panic!("script ended before {event:?}\n{}", script.stderr()),
        }
    }
}

/// What each broker lists at `version`, by broker id.
fn listed_everywhere(c: &mut MultiCluster, version: i16) -> Vec<(i32, Listed)> {
    let ids: Vec<i32> = c.brokers.iter().map(|b| b.id()).collect();
    let mut out = Vec::new();
    for id in ids {
        if c.broker(id).is_running() {
            let addr = c.broker(id).bootstrap();
            out.push((id, list_groups(&addr, version, &[])));
        }
    }
    out
}

/// Every running broker lists `group` at most once, and only its coordinator does, as
/// (protocol type, state).
fn check_listing(c: &mut MultiCluster, group: &str, protocol_type: &str, state: &str) {
    let owner = coordinator(c, group);
    for version in 0..=4 {
        for (id, listed) in listed_everywhere(c, version) {
            let mine: Vec<_> = listed.iter().filter(|g| g.0 == group).collect();
            if id != owner {
                assert!(
                    mine.is_empty(),
                    "broker {id} (not {group}'s coordinator) lists it"
                );
                continue;
            }
            let want_state = if version >= 4 { state } else { "" };
            assert_eq!(
                mine,
                vec![&(group.to_string(), protocol_type.into(), want_state.into())],
                "ListGroups v{version} from broker {id}"
            );
        }
    }
}

fn wait_listed(c: &mut MultiCluster, group: &str, protocol_type: &str, state: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let owner = coordinator(c, group);
        let addr = c.broker(owner).bootstrap();
        let listed = list_groups(&addr, 4, &[]);
        let want = (group.to_string(), protocol_type.into(), state.into());
        if listed.contains(&want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{group} not listed as {want:?} by broker {owner}: {listed:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_newer_static_instance_fences_the_old_one_and_groups_list_as_what_they_are() {
    let mut c = MultiCluster::start("members", 3, &[("group.initial.rebalance.delay.ms", "300")])
        .or_panic("cluster");
    c.create_topic(TOPIC, 3, 3, &[]).or_panic("topic");
    let dir = tempfile::tempdir().or_panic("tempdir");
    let release = dir.path().join("release");
    let bootstrap = c.bootstrap();
    let release_arg = release.display().to_string();
    let mut script = python::spawn(
        "ck_static_members.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            TOPIC,
            "--group",
            GROUP,
            "--simple-group",
            SIMPLE,
            "--partitions",
            "3",
            "--release",
            &release_arg,
        ],
    )
    .or_panic("spawn");

    let stable = next_event(&mut script, "stable");
    let fenced = next_event(&mut script, "fenced");
    let error = fenced["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Static consumer fenced"),
        "the replaced instance's fatal error: {fenced}"
    );
    let after = next_event(&mut script, "after");
    assert_eq!(after["newcomer"], stable["consumer2"], "{after}");
    assert_eq!(after["consumer1"], stable["consumer1"], "{after}");
    assert_eq!(
        after["revoked"],
        serde_json::json!({"consumer1": 0, "newcomer": 0}),
        "no rebalance: {after}"
    );
    let listed = next_event(&mut script, "listed");
    assert_eq!(
        listed["groups"][GROUP],
        serde_json::json!({"simple": false, "state": "STABLE"}),
        "{listed}"
    );
    assert_eq!(
        listed["groups"][SIMPLE],
        serde_json::json!({"simple": true, "state": "EMPTY"}),
        "{listed}"
    );
    let described = next_event(&mut script, "described");
    assert_eq!(described["state"], "STABLE", "{described}");
    assert_eq!(described["simple"], false, "{described}");
    assert_eq!(
        described["instances"],
        serde_json::json!(["consumer1", "consumer2"])
    );

    // Raw ListGroups v0-v4 from every broker while the group is active.
    check_listing(&mut c, GROUP, "consumer", "Stable");
    check_listing(&mut c, SIMPLE, "", "Empty");
    let owner = coordinator(&mut c, GROUP);
    let owner_addr = c.broker(owner).bootstrap();
    let stable_only = list_groups(&owner_addr, 4, &["stable"]);
    assert!(
        stable_only.iter().all(|g| g.2 == "Stable"),
        "{stable_only:?}"
    );
    assert!(stable_only.iter().any(|g| g.0 == GROUP), "{stable_only:?}");
    let empty_only = list_groups(&owner_addr, 4, &["Empty"]);
    assert!(empty_only.iter().all(|g| g.0 != GROUP), "{empty_only:?}");
    let d = describe(&owner_addr, GROUP);
    assert_eq!(d.groups[0].protocol_type.as_str(), "consumer");
    assert_eq!(d.groups[0].members.len(), 2);
    let other = c.brokers.iter().map(|b| b.id()).find(|id| *id != owner);
    let other_addr = c.broker(other.or_panic("another broker")).bootstrap();
    assert_eq!(
        describe(&other_addr, GROUP).groups[0].error_code,
        16,
        "NOT_COORDINATOR"
    );

    // The consumers close (static members do not leave): the group empties when their
    // sessions end, and stays a consumer group.
    std::fs::write(&release, b"").or_panic("release");
    script.wait(TIMEOUT).or_panic("script exit");
    wait_listed(&mut c, GROUP, "consumer", "Empty");
    check_listing(&mut c, GROUP, "consumer", "Empty");

    // Its coordinator stops: the next one knows it only by its offsets, still as a consumer
    // group; the simple group stays simple.
    c.broker(owner).stop().or_panic("stop the coordinator");
    c.wait_for(
        TIMEOUT,
        "the stopped coordinator gone from metadata",
        |_| {
            let metadata = MultiCluster::metadata_from(&other_addr)?;
            Ok(metadata.brokers.iter().all(|b| b.node_id.0 != owner))
        },
    )
    .or_panic("coordinator moved");
    wait_listed(&mut c, GROUP, "consumer", "Empty");
    check_listing(&mut c, GROUP, "consumer", "Empty");
    check_listing(&mut c, SIMPLE, "", "Empty");
    let new_owner = coordinator(&mut c, GROUP);
    assert_ne!(new_owner, owner);
    let d = describe(&c.broker(new_owner).bootstrap(), GROUP);
    assert_eq!(
        (
            d.groups[0].group_state.as_str(),
            d.groups[0].protocol_type.as_str()
        ),
        ("Empty", "consumer")
    );
}
