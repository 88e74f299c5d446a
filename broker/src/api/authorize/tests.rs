//! The split / merge functions without a broker: an authorizer with a few ACLs, typed
//! requests in, the handler's part and the merged response out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::*;
use crate::api::fetch::Fetched;
use crate::api::Part;
use crate::auth::acl::{AccessControlEntry, AclPermissionType, PatternType, ResourcePattern};

const ME: &str = "User:ANONYMOUS";

fn authorizer(
    acls: &[(
        ResourceType,
        &str,
        PatternType,
        AclOperation,
        AclPermissionType,
    )],
) -> Authorizer {
    let a = Authorizer::new(AuthorizerConfig::default());
    let mut grouped: std::collections::BTreeMap<ResourcePattern, Vec<AccessControlEntry>> =
        Default::default();
    for (t, n, p, op, perm) in acls {
        grouped
            .entry(ResourcePattern::new(*t, *n, *p))
            .or_default()
            .push(AccessControlEntry::new(ME, "*", *op, *perm));
    }
    a.update_resources(grouped);
    a
}

fn topic_name(n: &str) -> TopicName {
    TopicName(StrBytes::from_string(n.into()))
}

use AclOperation::*;
use AclPermissionType::{Allow, Deny};
use PatternType::{Literal, Prefixed};
use ResourceType::{Cluster, Group, Topic};

#[test]
fn error_constants_are_kafkas() {
    assert_eq!(TOPIC_DENIED, ResponseError::TopicAuthorizationFailed.code());
    assert_eq!(GROUP_DENIED, ResponseError::GroupAuthorizationFailed.code());
    assert_eq!(
        CLUSTER_DENIED,
        ResponseError::ClusterAuthorizationFailed.code()
    );
}

#[test]
fn without_authorizer_everything_passes_untouched() {
    let az = Authz::new(None, ME, "127.0.0.1");
    let req = ProduceRequest::default()
        .with_topic_data(vec![TopicProduceData::default().with_name(topic_name("t"))]);
    match az.gate(req, |az, r| data::produce(az, r, &|_| false)) {
        Split::Handle(r, _) => assert_eq!(r.topic_data.len(), 1),
        Split::Answer(_) => panic!("refused without an authorizer"),
    }
}

#[test]
fn produce_keeps_writable_topics_and_merges_refusals() {
    let a = authorizer(&[(Topic, "ok-", Prefixed, Write, Allow)]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    let topic = |n: &str| {
        TopicProduceData::default()
            .with_name(topic_name(n))
            .with_partition_data(vec![
                PartitionProduceData::default().with_index(0),
                PartitionProduceData::default().with_index(1),
            ])
    };
    let req = ProduceRequest::default().with_topic_data(vec![
        topic("ok-1"),
        topic("no"),
        topic("ok-new"),
    ]);
    let exists = |t: &str| t != "ok-new";
    let Split::Handle(req, merge) = az.gate(req, |az, r| data::produce(az, r, &exists)) else {
        panic!("some topics are allowed");
    };
    let names: Vec<&str> = req.topic_data.iter().map(|t| t.name.0.as_str()).collect();
    assert_eq!(names, ["ok-1"]);
    let resp = merge.apply(ProduceResponse::default());
    let codes: Vec<(String, i16)> = resp
        .responses
        .iter()
        .flat_map(|t| {
            t.partition_responses
                .iter()
                .map(|p| (t.name.0.to_string(), p.error_code))
        })
        .collect();
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(
        codes,
        [
            ("no".into(), TOPIC_DENIED),
            ("no".into(), TOPIC_DENIED),
            ("ok-new".into(), unknown),
            ("ok-new".into(), unknown)
        ]
    );
}

fn fetch_request(replica: i32, topics: &[&str]) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(replica.into())
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    FetchTopic::default()
                        .with_topic(topic_name(t))
                        .with_partitions(vec![FetchPartition::default().with_partition(0)])
                })
                .collect(),
        )
}

#[test]
fn fetch_refuses_unreadable_topics_and_keeps_records_aligned() {
    let a = authorizer(&[
        (Topic, "r", Literal, Read, Allow),
        (Topic, "s", Literal, Read, Allow),
    ]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    let Split::Handle(req, merge) = az.gate(fetch_request(-1, &["r", "x"]), data::fetch) else {
        panic!("r is readable");
    };
    assert_eq!(req.topics.len(), 1);
    // The handler answered r, and a topic an incremental session carried that the caller may
    // not read (its ACL removed since the session began).
    let handler = Fetched {
        response: FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(topic_name("r"))
                .with_partitions(vec![PartitionData::default()]),
            FetchableTopicResponse::default()
                .with_topic(topic_name("gone"))
                .with_partitions(vec![PartitionData::default().with_high_watermark(9)]),
        ]),
        records: vec![
            Part::Bytes(Bytes::from_static(b"r")),
            Part::Bytes(Bytes::from_static(b"g")),
        ],
    };
    let f = merge.apply(handler);
    let codes: Vec<i16> = f
        .response
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect();
    assert_eq!(codes, [0, TOPIC_DENIED, TOPIC_DENIED]);
    let lens: Vec<usize> = f.records.iter().map(Part::len).collect();
    assert_eq!(
        lens,
        [1, 0, 0],
        "one records part per partition, refused ones empty"
    );

    // A follower without CLUSTER_ACTION gets every partition refused, at once.
    match az.gate(fetch_request(2, &["r"]), data::fetch) {
        Split::Answer(f) => assert_eq!(
            f.response.responses[0].partitions[0].error_code,
            TOPIC_DENIED
        ),
        Split::Handle(..) => panic!("follower without CLUSTER_ACTION"),
    };
}

fn metadata_request(topics: Option<&[&str]>) -> MetadataRequest {
    MetadataRequest::default().with_topics(topics.map(|ts| {
        ts.iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
            .collect()
    }))
}

fn metadata_response(topics: &[&str]) -> MetadataResponse {
    MetadataResponse::default().with_topics(
        topics
            .iter()
            .map(|t| MetadataResponseTopic::default().with_name(Some(topic_name(t))))
            .collect(),
    )
}

fn names(r: &MetadataResponse) -> Vec<(String, i16)> {
    r.topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                t.error_code,
            )
        })
        .collect()
}

#[test]
fn metadata_hides_undescribable_topics_and_needs_create_to_auto_create() {
    let a = authorizer(&[
        (Topic, "seen", Literal, Read, Allow),
        (Topic, "new-", Prefixed, Create, Allow),
        (Topic, "new-", Prefixed, Describe, Allow),
        (Topic, "missing", Literal, Describe, Allow),
    ]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    let Split::Handle(_, merge) = az.gate(metadata_request(None), |az, r| {
        metadata::metadata(az, r, 9, &|_| true)
    }) else {
        panic!("metadata always runs");
    };
    let r = merge.apply(metadata_response(&["seen", "hidden"]));
    assert_eq!(names(&r), [("seen".to_string(), 0)]);

    let exists = |t: &str| t == "seen" || t == "hidden";
    let req = metadata_request(Some(&["seen", "hidden", "new-1", "missing"]));
    let Split::Handle(req, merge) = az.gate(req, |az, r| metadata::metadata(az, r, 9, &exists))
    else {
        panic!("metadata always runs");
    };
    let asked: Vec<String> = req
        .topics
        .unwrap()
        .iter()
        .map(|t| t.name.as_ref().unwrap().0.to_string())
        .collect();
    assert_eq!(asked, ["seen", "new-1"]);
    let r = merge.apply(metadata_response(&["seen", "new-1"]));
    let mut got = names(&r);
    got.sort();
    assert_eq!(
        got,
        [
            ("hidden".to_string(), TOPIC_DENIED),
            ("missing".to_string(), TOPIC_DENIED),
            ("new-1".to_string(), 0),
            ("seen".to_string(), 0)
        ]
    );
}

#[test]
fn group_apis_need_the_group_and_the_topics() {
    let a = authorizer(&[
        (Group, "g", Literal, Read, Allow),
        (Topic, "t", Literal, Read, Allow),
    ]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    let commit = |group: &str| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.into())))
            .with_topics(
                ["t", "u"]
                    .iter()
                    .map(|t| {
                        OffsetCommitRequestTopic::default()
                            .with_name(topic_name(t))
                            .with_partitions(vec![OffsetCommitRequestPartition::default()])
                    })
                    .collect(),
            )
    };
    let Split::Handle(req, merge) = az.gate(commit("g"), groups::offset_commit) else {
        panic!("t may be committed");
    };
    assert_eq!(req.topics.len(), 1);
    let r = merge.apply(OffsetCommitResponse::default());
    assert_eq!(r.topics[0].partitions[0].error_code, TOPIC_DENIED);
    match az.gate(commit("other"), groups::offset_commit) {
        Split::Answer(r) => {
            assert!(r
                .topics
                .iter()
                .all(|t| t.partitions[0].error_code == GROUP_DENIED));
            assert_eq!(r.topics.len(), 2);
        }
        Split::Handle(..) => panic!("group not readable"),
    }
    let hb = HeartbeatRequest::default().with_group_id(GroupId(StrBytes::from_static_str("other")));
    match az.gate(hb, groups::heartbeat) {
        Split::Answer(r) => assert_eq!(r.error_code, GROUP_DENIED),
        Split::Handle(..) => panic!("group not readable"),
    }
    // ListGroups without DESCRIBE on the cluster lists only describable groups (READ implies it).
    let Split::Handle(_, merge) = az.gate(ListGroupsRequest::default(), groups::list_groups) else {
        panic!("list groups always runs");
    };
    let listed =
        |g: &str| ListedGroup::default().with_group_id(GroupId(StrBytes::from_string(g.into())));
    let r = merge.apply(ListGroupsResponse::default().with_groups(vec![listed("g"), listed("x")]));
    assert_eq!(r.groups.len(), 1);
}

#[test]
fn idempotent_producers_need_idempotent_write_or_some_topic_write() {
    let none = authorizer(&[]);
    let az = Authz::new(Some(&none), ME, "127.0.0.1");
    match az.gate(
        InitProducerIdRequest::default().with_transactional_id(None),
        data::init_producer_id,
    ) {
        Split::Answer(r) => assert_eq!(r.error_code, CLUSTER_DENIED),
        Split::Handle(..) => panic!("no rights"),
    }
    for acl in [
        (Cluster, "kafka-cluster", Literal, IdempotentWrite, Allow),
        (Topic, "x-", Prefixed, Write, Allow),
    ] {
        let a = authorizer(&[acl]);
        let az = Authz::new(Some(&a), ME, "127.0.0.1");
        assert!(matches!(
            az.gate(
                InitProducerIdRequest::default().with_transactional_id(None),
                data::init_producer_id
            ),
            Split::Handle(..)
        ));
    }
}

#[test]
fn deny_wins_and_inter_broker_apis_need_cluster_action() {
    let a = authorizer(&[
        (Topic, "*", Literal, All, Allow),
        (Cluster, "kafka-cluster", Literal, Describe, Allow),
    ]);
    a.update_resources([(
        ResourcePattern::new(Topic, "t", Literal),
        vec![AccessControlEntry::new("User:*", "*", Read, Deny)],
    )]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    assert!(!az.topic(Read, "t"));
    assert!(az.topic(Read, "u"));
    match az.gate(StopReplicaRequest::default(), cluster::from_controller) {
        Split::Answer(r) => assert_eq!(r.error_code, CLUSTER_DENIED),
        Split::Handle(..) => panic!("no CLUSTER_ACTION"),
    }
    assert_eq!(
        az.authorized_operations(Cluster, "kafka-cluster"),
        1 << Describe.code()
    );
}

#[test]
fn elect_leaders_needs_alter_on_the_cluster() {
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::protocol::Encodable;
    let request =
        ElectLeadersRequest::default()
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic(topic_name("t"))
                .with_partitions(vec![0, 1])]));
    let a = authorizer(&[(Cluster, "kafka-cluster", Literal, Describe, Allow)]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    for version in [0, 2] {
        let response = match az.gate(request.clone(), |az, r| {
            admin::elect_leaders(az, r, version)
        }) {
            Split::Answer(r) => r,
            Split::Handle(..) => panic!("no ALTER on the cluster"),
        };
        // v0 has no top-level error code (encoding one would fail).
        let top = if version == 0 { 0 } else { CLUSTER_DENIED };
        assert_eq!(response.error_code, top);
        let partitions = &response.replica_election_results[0].partition_result;
        assert_eq!(partitions.len(), 2);
        assert!(partitions.iter().all(|p| p.error_code == CLUSTER_DENIED));
        let mut buf = bytes::BytesMut::new();
        response.encode(&mut buf, version).expect("encodes");
    }
    let a = authorizer(&[(Cluster, "kafka-cluster", Literal, Alter, Allow)]);
    let az = Authz::new(Some(&a), ME, "127.0.0.1");
    assert!(matches!(
        az.gate(request, |az, r| admin::elect_leaders(az, r, 2)),
        Split::Handle(..)
    ));
}
