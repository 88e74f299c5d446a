//! The admin APIs: topics (CreateTopics: CREATE on the cluster or the topic; DeleteTopics:
//! DELETE; CreatePartitions: ALTER), configs (DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic,
//! or on the cluster for broker and broker-logger resources), DescribeLogDirs and
//! DescribeCluster (DESCRIBE on the cluster), and the ACL APIs (CreateAcls / DeleteAcls:
//! ALTER on the cluster; DescribeAcls: DESCRIBE on the cluster), and ElectLeaders (ALTER on the
//! cluster).
//!
//! The SCRAM credential APIs: AlterUserScramCredentials needs ALTER on the cluster and
//! DescribeUserScramCredentials DESCRIBE on the cluster; without it the whole request is
//! refused with CLUSTER_AUTHORIZATION_FAILED.

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_acls_response::DeleteAclsFilterResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::DescribeUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, CreateAclsRequest, CreateAclsResponse,
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteAclsRequest, DeleteAclsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeAclsRequest, DescribeAclsResponse, DescribeClusterRequest, DescribeClusterResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};
use kafka_protocol::protocol::StrBytes;

use super::{split_by, Authz, Merge, Split, CLUSTER_DENIED, TOPIC_DENIED};
use crate::auth::acl::{AclOperation, ResourceType, CLUSTER_RESOURCE_NAME};

use AclOperation::{Alter, AlterConfigs, Create, Delete, Describe, DescribeConfigs};

/// Kafka's message for refused resources.
fn denied_message() -> Option<StrBytes> {
    Some(StrBytes::from_static_str("Authorization failed."))
}

/// CreateTopics: CREATE on the cluster, else CREATE on each topic. Created topics whose
/// configs the caller may not DESCRIBE_CONFIGS come back without them (v5+ returns configs).
pub fn create_topics<'a>(
    az: &Authz<'a>,
    mut req: CreateTopicsRequest,
) -> Split<'a, CreateTopicsRequest, CreateTopicsResponse> {
    let on_cluster = az.allowed_quietly(Create, ResourceType::Cluster, CLUSTER_RESOURCE_NAME);
    let (allowed, denied) = split_by(std::mem::take(&mut req.topics), |t| {
        on_cluster || az.topic(Create, &t.name.0)
    });
    req.topics = allowed;
    let entries: Vec<CreatableTopicResult> = denied
        .into_iter()
        .map(|t| {
            CreatableTopicResult::default()
                .with_name(t.name)
                .with_error_code(TOPIC_DENIED)
                .with_error_message(denied_message())
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        })
        .collect();
    let az = az.clone();
    let merge = Merge::with(move |r: &mut CreateTopicsResponse| {
        for t in &mut r.topics {
            if t.error_code == 0 && !az.topic(DescribeConfigs, &t.name.0) {
                t.topic_config_error_code = TOPIC_DENIED;
                t.configs = CreatableTopicResult::default().configs;
            }
        }
        r.topics.extend(entries);
    });
    if req.topics.is_empty() {
        return Split::Answer(merge.apply(CreateTopicsResponse::default()));
    }
    Split::Handle(req, merge)
}

/// DeleteTopics: DELETE on each topic. A v6 entry naming its topic by id only is refused
/// (there is no name to check the ACLs of; Kafka resolves the id first).
pub fn delete_topics<'a>(
    az: &Authz<'a>,
    mut req: DeleteTopicsRequest,
) -> Split<'a, DeleteTopicsRequest, DeleteTopicsResponse> {
    let may_delete = |name: &str| az.topic(Delete, name);
    let (names, denied_names) =
        split_by(std::mem::take(&mut req.topic_names), |n| may_delete(&n.0));
    req.topic_names = names;
    // v6 names topics in `topics`; an id-only entry carries no name to check, and is refused
    // here rather than deleted unchecked.
    let (states, denied_states) = split_by(std::mem::take(&mut req.topics), |t| {
        t.name.as_ref().is_some_and(|n| may_delete(&n.0))
    });
    req.topics = states;
    let entries: Vec<DeletableTopicResult> = denied_names
        .into_iter()
        .map(|n| (Some(n), Default::default()))
        .chain(denied_states.into_iter().map(|t| (t.name, t.topic_id)))
        .map(|(name, id)| {
            DeletableTopicResult::default()
                .with_name(name)
                .with_topic_id(id)
                .with_error_code(TOPIC_DENIED)
                .with_error_message(denied_message())
        })
        .collect();
    if entries.is_empty() {
        return Split::pass(req);
    }
    if req.topic_names.is_empty() && req.topics.is_empty() {
        return Split::Answer(DeleteTopicsResponse::default().with_responses(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut DeleteTopicsResponse| r.responses.extend(entries)),
    )
}

/// CreatePartitions: ALTER on each topic.
pub fn create_partitions<'a>(
    az: &Authz<'a>,
    mut req: CreatePartitionsRequest,
) -> Split<'a, CreatePartitionsRequest, CreatePartitionsResponse> {
    let (allowed, denied) = split_by(std::mem::take(&mut req.topics), |t| {
        az.topic(Alter, &t.name.0)
    });
    req.topics = allowed;
    let entries: Vec<CreatePartitionsTopicResult> = denied
        .into_iter()
        .map(|t| {
            CreatePartitionsTopicResult::default()
                .with_name(t.name)
                .with_error_code(TOPIC_DENIED)
                .with_error_message(denied_message())
        })
        .collect();
    if entries.is_empty() {
        return Split::pass(req);
    }
    if req.topics.is_empty() {
        return Split::Answer(CreatePartitionsResponse::default().with_results(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut CreatePartitionsResponse| r.results.extend(entries)),
    )
}

/// Config resource type codes (`ConfigResource.Type`).
const TOPIC_RESOURCE: i8 = 2;
const BROKER_RESOURCE: i8 = 4;
const BROKER_LOGGER_RESOURCE: i8 = 8;

/// `op` on a config resource: the topic, or the cluster for brokers and broker loggers.
/// Other types pass: the handler answers them INVALID_REQUEST. The error is the refusal's.
fn config_refusal(az: &Authz<'_>, op: AclOperation, resource_type: i8, name: &str) -> Option<i16> {
    match resource_type {
        TOPIC_RESOURCE => (!az.topic(op, name)).then_some(TOPIC_DENIED),
        BROKER_RESOURCE | BROKER_LOGGER_RESOURCE => (!az.cluster(op)).then_some(CLUSTER_DENIED),
        _ => None,
    }
}

/// DescribeConfigs: DESCRIBE_CONFIGS on each resource.
pub fn describe_configs<'a>(
    az: &Authz<'a>,
    mut req: DescribeConfigsRequest,
) -> Split<'a, DescribeConfigsRequest, DescribeConfigsResponse> {
    let mut entries = Vec::new();
    req.resources.retain(|r| {
        match config_refusal(az, DescribeConfigs, r.resource_type, &r.resource_name) {
            None => true,
            Some(code) => {
                entries.push(
                    DescribeConfigsResult::default()
                        .with_error_code(code)
                        .with_error_message(denied_message())
                        .with_resource_type(r.resource_type)
                        .with_resource_name(r.resource_name.clone()),
                );
                false
            }
        }
    });
    if entries.is_empty() {
        return Split::pass(req);
    }
    if req.resources.is_empty() {
        return Split::Answer(DescribeConfigsResponse::default().with_results(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut DescribeConfigsResponse| r.results.extend(entries)),
    )
}

/// Defines the ALTER_CONFIGS gate of AlterConfigs and IncrementalAlterConfigs (same shapes,
/// different modules).
macro_rules! alter_configs_gate {
    ($(#[$doc:meta])* $name:ident, $req:ty, $resp:ty, $entry:ty) => {
        $(#[$doc])*
        pub fn $name<'a>(az: &Authz<'a>, mut req: $req) -> Split<'a, $req, $resp> {
            let mut entries = Vec::new();
            req.resources.retain(|r| {
                match config_refusal(az, AlterConfigs, r.resource_type, &r.resource_name) {
                    None => true,
                    Some(code) => {
                        entries.push(
                            <$entry>::default()
                                .with_error_code(code)
                                .with_error_message(denied_message())
                                .with_resource_type(r.resource_type)
                                .with_resource_name(r.resource_name.clone()),
                        );
                        false
                    }
                }
            });
            if entries.is_empty() {
                return Split::pass(req);
            }
            if req.resources.is_empty() {
                return Split::Answer(<$resp>::default().with_responses(entries));
            }
            Split::Handle(req, Merge::with(move |r: &mut $resp| r.responses.extend(entries)))
        }
    };
}

alter_configs_gate!(
    /// AlterConfigs: ALTER_CONFIGS on each resource.
    alter_configs,
    AlterConfigsRequest,
    AlterConfigsResponse,
    kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse
);

alter_configs_gate!(
    /// IncrementalAlterConfigs: ALTER_CONFIGS on each resource.
    incremental_alter_configs,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
    kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse
);

/// DescribeLogDirs: DESCRIBE on the cluster, else an empty answer with
/// CLUSTER_AUTHORIZATION_FAILED (the top-level error exists from v3).
pub fn describe_log_dirs<'a>(
    az: &Authz<'a>,
    req: DescribeLogDirsRequest,
) -> Split<'a, DescribeLogDirsRequest, DescribeLogDirsResponse> {
    if az.cluster(Describe) {
        return Split::pass(req);
    }
    Split::Answer(DescribeLogDirsResponse::default().with_error_code(CLUSTER_DENIED))
}

/// DescribeCluster: DESCRIBE on the cluster; the cluster's authorized operations when asked.
pub fn describe_cluster<'a>(
    az: &Authz<'a>,
    req: DescribeClusterRequest,
) -> Split<'a, DescribeClusterRequest, DescribeClusterResponse> {
    if !az.cluster(Describe) {
        return Split::Answer(
            DescribeClusterResponse::default()
                .with_error_code(CLUSTER_DENIED)
                .with_error_message(denied_message()),
        );
    }
    if !req.include_cluster_authorized_operations {
        return Split::pass(req);
    }
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |r: &mut DescribeClusterResponse| {
            r.cluster_authorized_operations =
                az.authorized_operations(ResourceType::Cluster, CLUSTER_RESOURCE_NAME);
        }),
    )
}

/// CreateAcls: ALTER on the cluster, else every creation is refused.
pub fn create_acls<'a>(
    az: &Authz<'a>,
    req: CreateAclsRequest,
) -> Split<'a, CreateAclsRequest, CreateAclsResponse> {
    if az.cluster(Alter) {
        return Split::pass(req);
    }
    let results = req
        .creations
        .iter()
        .map(|_| {
            AclCreationResult::default()
                .with_error_code(CLUSTER_DENIED)
                .with_error_message(denied_message())
        })
        .collect();
    Split::Answer(CreateAclsResponse::default().with_results(results))
}

/// DescribeAcls: DESCRIBE on the cluster.
pub fn describe_acls<'a>(
    az: &Authz<'a>,
    req: DescribeAclsRequest,
) -> Split<'a, DescribeAclsRequest, DescribeAclsResponse> {
    if az.cluster(Describe) {
        return Split::pass(req);
    }
    Split::Answer(
        DescribeAclsResponse::default()
            .with_error_code(CLUSTER_DENIED)
            .with_error_message(denied_message()),
    )
}

/// DeleteAcls: ALTER on the cluster, else every filter is refused.
pub fn delete_acls<'a>(
    az: &Authz<'a>,
    req: DeleteAclsRequest,
) -> Split<'a, DeleteAclsRequest, DeleteAclsResponse> {
    if az.cluster(Alter) {
        return Split::pass(req);
    }
    let results = req
        .filters
        .iter()
        .map(|_| {
            DeleteAclsFilterResult::default()
                .with_error_code(CLUSTER_DENIED)
                .with_error_message(denied_message())
        })
        .collect();
    Split::Answer(DeleteAclsResponse::default().with_filter_results(results))
}

/// ElectLeaders: ALTER on the cluster, else the request is refused CLUSTER_AUTHORIZATION_FAILED
/// (top-level from v1, and for each partition named).
pub fn elect_leaders<'a>(
    az: &Authz<'a>,
    req: ElectLeadersRequest,
    version: i16,
) -> Split<'a, ElectLeadersRequest, ElectLeadersResponse> {
    if az.cluster(Alter) {
        return Split::pass(req);
    }
    let error = kafka_protocol::ResponseError::ClusterAuthorizationFailed;
    Split::Answer(crate::api::elect_leaders::refused(
        &req, version, error, None,
    ))
}

// ---------------------------------------------------------------- SCRAM credentials

/// AlterUserScramCredentials: ALTER on the cluster, else every user's result is refused (as
/// Kafka's `handleAlterUserScramCredentialsRequest`).
pub fn alter_user_scram_credentials<'a>(
    az: &Authz<'a>,
    req: AlterUserScramCredentialsRequest,
) -> Split<'a, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> {
    if az.cluster(Alter) {
        return Split::pass(req);
    }
    let mut users: Vec<&StrBytes> = req.deletions.iter().map(|d| &d.name).collect();
    users.extend(req.upsertions.iter().map(|u| &u.name));
    users.sort();
    users.dedup();
    let results = users
        .into_iter()
        .map(|user| {
            AlterUserScramCredentialsResult::default()
                .with_user(user.clone())
                .with_error_code(CLUSTER_DENIED)
                .with_error_message(denied_message())
        })
        .collect();
    Split::Answer(AlterUserScramCredentialsResponse::default().with_results(results))
}

/// DescribeUserScramCredentials: DESCRIBE on the cluster.
pub fn describe_user_scram_credentials<'a>(
    az: &Authz<'a>,
    req: DescribeUserScramCredentialsRequest,
) -> Split<'a, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> {
    if az.cluster(Describe) {
        return Split::pass(req);
    }
    // Kafka answers each named user too, with the same error.
    let results = req
        .users
        .iter()
        .flatten()
        .map(|u| {
            DescribeUserScramCredentialsResult::default()
                .with_user(u.name.clone())
                .with_error_code(CLUSTER_DENIED)
                .with_error_message(denied_message())
        })
        .collect();
    Split::Answer(
        DescribeUserScramCredentialsResponse::default()
            .with_error_code(CLUSTER_DENIED)
            .with_error_message(denied_message())
            .with_results(results),
    )
}
