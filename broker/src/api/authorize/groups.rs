//! The group APIs, refused with GROUP_AUTHORIZATION_FAILED: FindCoordinator (DESCRIBE on the
//! group; DESCRIBE on a transactional id), JoinGroup / SyncGroup / Heartbeat / LeaveGroup
//! (READ), OffsetCommit (READ on the group, READ on each topic), OffsetFetch (DESCRIBE on the
//! group, DESCRIBE on each topic), ListGroups (every group with DESCRIBE on the cluster, else
//! the groups the caller may DESCRIBE), DescribeGroups (DESCRIBE), DeleteGroups (DELETE) and
//! OffsetDelete (DELETE on the group, READ on each topic).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest,
    ListGroupsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest,
    OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{split_by, Authz, Merge, Split, GROUP_DENIED, TOPIC_DENIED};
use crate::auth::acl::{AclOperation, ResourceType};

use AclOperation::{Delete, Describe, Read};

/// FindCoordinator key types.
const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;

/// The refusal of one coordinator key, or `None` if allowed.
fn coordinator_refusal(az: &Authz<'_>, key_type: i8, key: &str) -> Option<i16> {
    match key_type {
        GROUP_KEY => (!az.group(Describe, key)).then_some(GROUP_DENIED),
        TRANSACTION_KEY => (!az.allowed(Describe, ResourceType::TransactionalId, key))
            .then_some(ResponseError::TransactionalIdAuthorizationFailed.code()),
        _ => None,
    }
}

/// FindCoordinator: v0-3 ask for one key, v4 for several (each refused on its own).
pub fn find_coordinator<'a>(
    az: &Authz<'a>,
    mut req: FindCoordinatorRequest,
    version: i16,
) -> Split<'a, FindCoordinatorRequest, FindCoordinatorResponse> {
    if version < 4 {
        return match coordinator_refusal(az, req.key_type, &req.key) {
            None => Split::pass(req),
            Some(code) => Split::Answer(
                FindCoordinatorResponse::default()
                    .with_error_code(code)
                    .with_node_id((-1).into())
                    .with_port(-1),
            ),
        };
    }
    let key_type = req.key_type;
    let mut entries = Vec::new();
    req.coordinator_keys
        .retain(|key| match coordinator_refusal(az, key_type, key) {
            None => true,
            Some(code) => {
                entries.push(
                    Coordinator::default()
                        .with_key(key.clone())
                        .with_node_id((-1).into())
                        .with_port(-1)
                        .with_error_code(code),
                );
                false
            }
        });
    if entries.is_empty() {
        return Split::pass(req);
    }
    if req.coordinator_keys.is_empty() {
        return Split::Answer(FindCoordinatorResponse::default().with_coordinators(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut FindCoordinatorResponse| r.coordinators.extend(entries)),
    )
}

/// JoinGroup: READ on the group.
pub fn join_group<'a>(
    az: &Authz<'a>,
    req: JoinGroupRequest,
    version: i16,
) -> Split<'a, JoinGroupRequest, JoinGroupResponse> {
    if az.group(Read, &req.group_id.0) {
        return Split::pass(req);
    }
    let resp = JoinGroupResponse::default().with_error_code(GROUP_DENIED);
    // Nullable from v7, where Kafka sends null on errors.
    let resp = if version >= 7 {
        resp.with_protocol_name(None)
    } else {
        resp
    };
    Split::Answer(resp)
}

/// SyncGroup: READ on the group.
pub fn sync_group<'a>(
    az: &Authz<'a>,
    req: SyncGroupRequest,
) -> Split<'a, SyncGroupRequest, SyncGroupResponse> {
    if az.group(Read, &req.group_id.0) {
        return Split::pass(req);
    }
    Split::Answer(SyncGroupResponse::default().with_error_code(GROUP_DENIED))
}

/// Heartbeat: READ on the group.
pub fn heartbeat<'a>(
    az: &Authz<'a>,
    req: HeartbeatRequest,
) -> Split<'a, HeartbeatRequest, HeartbeatResponse> {
    if az.group(Read, &req.group_id.0) {
        return Split::pass(req);
    }
    Split::Answer(HeartbeatResponse::default().with_error_code(GROUP_DENIED))
}

/// LeaveGroup: READ on the group.
pub fn leave_group<'a>(
    az: &Authz<'a>,
    req: LeaveGroupRequest,
) -> Split<'a, LeaveGroupRequest, LeaveGroupResponse> {
    if az.group(Read, &req.group_id.0) {
        return Split::pass(req);
    }
    Split::Answer(LeaveGroupResponse::default().with_error_code(GROUP_DENIED))
}

/// OffsetCommit: READ on the group (else every partition is refused GROUP_AUTHORIZATION_FAILED)
/// and READ on each topic.
pub fn offset_commit<'a>(
    az: &Authz<'a>,
    mut req: OffsetCommitRequest,
) -> Split<'a, OffsetCommitRequest, OffsetCommitResponse> {
    let group_ok = az.group(Read, &req.group_id.0);
    let topics = std::mem::take(&mut req.topics);
    let (allowed, denied) = if group_ok {
        split_by(topics, |t| az.topic(Read, &t.name.0))
    } else {
        (Vec::new(), topics)
    };
    let code = if group_ok { TOPIC_DENIED } else { GROUP_DENIED };
    req.topics = allowed;
    let entries: Vec<OffsetCommitResponseTopic> = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    if !group_ok || (req.topics.is_empty() && !entries.is_empty()) {
        return Split::Answer(OffsetCommitResponse::default().with_topics(entries));
    }
    if entries.is_empty() {
        return Split::pass(req);
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut OffsetCommitResponse| r.topics.extend(entries)),
    )
}

fn fetch_partition_v0(index: i32, code: i16) -> OffsetFetchResponsePartition {
    OffsetFetchResponsePartition::default()
        .with_partition_index(index)
        .with_committed_offset(-1)
        .with_committed_leader_epoch(-1)
        .with_metadata(Some(StrBytes::default()))
        .with_error_code(code)
}

fn fetch_partition_v8(index: i32, code: i16) -> OffsetFetchResponsePartitions {
    OffsetFetchResponsePartitions::default()
        .with_partition_index(index)
        .with_committed_offset(-1)
        .with_committed_leader_epoch(-1)
        .with_metadata(Some(StrBytes::default()))
        .with_error_code(code)
}

/// OffsetFetch: DESCRIBE on the group (else GROUP_AUTHORIZATION_FAILED) and DESCRIBE on each
/// topic: named topics are refused TOPIC_AUTHORIZATION_FAILED, and a request for all of the
/// group's offsets only gets the topics the caller may DESCRIBE.
pub fn offset_fetch<'a>(
    az: &Authz<'a>,
    req: OffsetFetchRequest,
    version: i16,
) -> Split<'a, OffsetFetchRequest, OffsetFetchResponse> {
    if version >= 8 {
        return offset_fetch_groups(az, req);
    }
    let mut req = req;
    if !az.group(Describe, &req.group_id.0) {
        let topics = req
            .topics
            .iter()
            .flatten()
            .map(|t| {
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|p| fetch_partition_v0(*p, GROUP_DENIED))
                    .collect();
                OffsetFetchResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        return Split::Answer(
            OffsetFetchResponse::default()
                .with_error_code(GROUP_DENIED)
                .with_topics(topics),
        );
    }
    let mut entries = Vec::new();
    if let Some(topics) = req.topics.as_mut() {
        topics.retain(|t| {
            let ok = az.topic(Describe, &t.name.0);
            if !ok {
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|p| fetch_partition_v0(*p, TOPIC_DENIED))
                    .collect();
                entries.push(
                    OffsetFetchResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions),
                );
            }
            ok
        });
    }
    let all = req.topics.is_none();
    if !all && entries.is_empty() {
        return Split::pass(req);
    }
    if req.topics.as_ref().is_some_and(|t| t.is_empty()) {
        return Split::Answer(OffsetFetchResponse::default().with_topics(entries));
    }
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |r: &mut OffsetFetchResponse| {
            if all {
                r.topics
                    .retain(|t| az.allowed_quietly(Describe, ResourceType::Topic, &t.name.0));
            }
            r.topics.extend(entries);
        }),
    )
}

/// OffsetFetch v8+: several groups, each checked as in v0-7.
fn offset_fetch_groups<'a>(
    az: &Authz<'a>,
    mut req: OffsetFetchRequest,
) -> Split<'a, OffsetFetchRequest, OffsetFetchResponse> {
    let mut denied_groups = Vec::new();
    // Per allowed group: its refused topics, and whether it asked for all of its topics.
    let mut per_group = Vec::new();
    req.groups.retain_mut(|g| {
        if !az.group(Describe, &g.group_id.0) {
            denied_groups.push(
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(GROUP_DENIED),
            );
            return false;
        }
        let mut refused = Vec::new();
        if let Some(topics) = g.topics.as_mut() {
            topics.retain(|t| {
                let ok = az.topic(Describe, &t.name.0);
                if !ok {
                    let partitions = t
                        .partition_indexes
                        .iter()
                        .map(|p| fetch_partition_v8(*p, TOPIC_DENIED))
                        .collect();
                    refused.push(
                        OffsetFetchResponseTopics::default()
                            .with_name(t.name.clone())
                            .with_partitions(partitions),
                    );
                }
                ok
            });
        }
        per_group.push((g.group_id.clone(), refused, g.topics.is_none()));
        true
    });
    if req.groups.is_empty() {
        return Split::Answer(OffsetFetchResponse::default().with_groups(denied_groups));
    }
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |r: &mut OffsetFetchResponse| {
            for (group_id, refused, all) in per_group {
                let Some(g) = r.groups.iter_mut().find(|g| g.group_id == group_id) else {
                    continue;
                };
                if all {
                    g.topics
                        .retain(|t| az.allowed_quietly(Describe, ResourceType::Topic, &t.name.0));
                }
                g.topics.extend(refused);
            }
            r.groups.extend(denied_groups);
        }),
    )
}

/// ListGroups: all groups with DESCRIBE on the cluster, else only those the caller may
/// DESCRIBE.
pub fn list_groups<'a>(
    az: &Authz<'a>,
    req: ListGroupsRequest,
) -> Split<'a, ListGroupsRequest, ListGroupsResponse> {
    if az.allowed_quietly(
        Describe,
        ResourceType::Cluster,
        crate::auth::acl::CLUSTER_RESOURCE_NAME,
    ) {
        return Split::pass(req);
    }
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |r: &mut ListGroupsResponse| {
            r.groups
                .retain(|g| az.allowed_quietly(Describe, ResourceType::Group, &g.group_id.0));
        }),
    )
}

/// DescribeGroups: DESCRIBE on each group; authorized operations when asked (v3+).
pub fn describe_groups<'a>(
    az: &Authz<'a>,
    mut req: DescribeGroupsRequest,
    version: i16,
) -> Split<'a, DescribeGroupsRequest, DescribeGroupsResponse> {
    let (allowed, denied) = split_by(std::mem::take(&mut req.groups), |g| {
        az.group(Describe, &g.0)
    });
    req.groups = allowed;
    let entries: Vec<DescribedGroup> = denied
        .into_iter()
        .map(|g| {
            DescribedGroup::default()
                .with_group_id(g)
                .with_error_code(GROUP_DENIED)
        })
        .collect();
    let with_operations = version >= 3 && req.include_authorized_operations;
    if req.groups.is_empty() && !entries.is_empty() {
        return Split::Answer(DescribeGroupsResponse::default().with_groups(entries));
    }
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |r: &mut DescribeGroupsResponse| {
            if with_operations {
                for g in &mut r.groups {
                    g.authorized_operations =
                        az.authorized_operations(ResourceType::Group, &g.group_id.0);
                }
            }
            r.groups.extend(entries);
        }),
    )
}

/// DeleteGroups: DELETE on each group.
pub fn delete_groups<'a>(
    az: &Authz<'a>,
    mut req: DeleteGroupsRequest,
) -> Split<'a, DeleteGroupsRequest, DeleteGroupsResponse> {
    let (allowed, denied) = split_by(std::mem::take(&mut req.groups_names), |g| {
        az.group(Delete, &g.0)
    });
    req.groups_names = allowed;
    let entries: Vec<DeletableGroupResult> = denied
        .into_iter()
        .map(|g| {
            DeletableGroupResult::default()
                .with_group_id(g)
                .with_error_code(GROUP_DENIED)
        })
        .collect();
    if entries.is_empty() {
        return Split::pass(req);
    }
    if req.groups_names.is_empty() {
        return Split::Answer(DeleteGroupsResponse::default().with_results(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut DeleteGroupsResponse| r.results.extend(entries)),
    )
}

/// OffsetDelete: DELETE on the group (else GROUP_AUTHORIZATION_FAILED for the request) and
/// READ on each topic.
pub fn offset_delete<'a>(
    az: &Authz<'a>,
    mut req: OffsetDeleteRequest,
) -> Split<'a, OffsetDeleteRequest, OffsetDeleteResponse> {
    if !az.group(Delete, &req.group_id.0) {
        return Split::Answer(OffsetDeleteResponse::default().with_error_code(GROUP_DENIED));
    }
    let (allowed, denied) = split_by(std::mem::take(&mut req.topics), |t| {
        az.topic(Read, &t.name.0)
    });
    req.topics = allowed;
    let entries: Vec<OffsetDeleteResponseTopic> = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(TOPIC_DENIED)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    if entries.is_empty() {
        return Split::pass(req);
    }
    if req.topics.is_empty() {
        return Split::Answer(OffsetDeleteResponse::default().with_topics(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut OffsetDeleteResponse| r.topics.extend(entries)),
    )
}
