//! Metadata (API 3): brokers on the caller's listener, the controller, the cluster id and
//! topic/partition leadership, all from the cache the controller feeds. Unknown topics are
//! created through Kafka's admin path when auto-creation is on; the first answer then says
//! LEADER_NOT_AVAILABLE while the controller elects leaders.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, warn};

use crate::context::RequestContext;
use crate::metadata_cache::{PartitionInfo, TopicInfo};

/// Topics whose names start with this are Kafka-internal.
const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

pub async fn handle(
    ctx: RequestContext<'_>,
    req: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let cache = &ctx.broker.metadata;
    let requested: Option<Vec<String>> = match &req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(
            t.iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                .collect(),
        ),
    };
    let auto_create = ctx.broker.config.auto_create_topics_enable
        && (version < 4 || req.allow_auto_topic_creation);
    let mut topics = Vec::new();
    match requested {
        None => {
            for name in cache.topic_names() {
                if let Some(info) = cache.topic(&name) {
                    topics.push(topic_response(ctx, &name, &info, version));
                }
            }
        }
        Some(names) => {
            for name in names {
                let t = match cache.topic(&name) {
                    Some(info) => topic_response(ctx, &name, &info, version),
                    None => missing_topic(ctx, &name, auto_create).await,
                };
                topics.push(t);
            }
        }
    }
    let brokers = cache
        .brokers()
        .into_iter()
        .filter_map(|b| {
            let e = b.endpoint(ctx.listener)?;
            let mut r = MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.id))
                .with_host(StrBytes::from_string(e.host.clone()))
                .with_port(e.port);
            if version >= 1 {
                r = r.with_rack(b.rack.clone().map(StrBytes::from_string));
            }
            Some(r)
        })
        .collect();
    let mut resp = MetadataResponse::default()
        .with_brokers(brokers)
        .with_topics(topics)
        .with_controller_id(BrokerId(cache.controller_id()));
    if version >= 2 {
        resp = resp.with_cluster_id(Some(StrBytes::from_string(ctx.broker.cluster_id.clone())));
    }
    resp
}

fn error_topic(name: &str, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
        .with_error_code(error.code())
}

/// A topic not in the cache: invalid, being created, or created now.
async fn missing_topic(
    ctx: RequestContext<'_>,
    name: &str,
    auto_create: bool,
) -> MetadataResponseTopic {
    if coordinator::admin::validate_topic_name(name).is_err() {
        return error_topic(name, ResponseError::InvalidTopicException);
    }
    if !auto_create {
        return error_topic(name, ResponseError::UnknownTopicOrPartition);
    }
    error_topic(name, auto_create_topic(ctx, name).await)
}

/// Creates a topic with the broker defaults; returns the error code the client should see.
pub async fn auto_create_topic(ctx: RequestContext<'_>, name: &str) -> ResponseError {
    let cfg = &ctx.broker.config;
    let result = coordinator::admin::create_topic(
        &ctx.broker.zk(),
        name,
        cfg.num_partitions,
        cfg.default_replication_factor,
        &Default::default(),
    )
    .await;
    match result {
        Ok(assignment) => {
            info!(
                topic = name,
                partitions = assignment.len(),
                "auto-created topic"
            );
            ResponseError::LeaderNotAvailable
        }
        Err(coordinator::ZkError::TopicExists(_)) => ResponseError::LeaderNotAvailable,
        Err(coordinator::ZkError::InvalidReplicationFactor { .. }) => {
            ResponseError::InvalidReplicationFactor
        }
        Err(coordinator::ZkError::InvalidTopic(_)) => ResponseError::InvalidTopicException,
        Err(e) => {
            warn!(topic = name, error = %e, "auto-creating topic failed");
            ResponseError::LeaderNotAvailable
        }
    }
}

fn topic_response(
    ctx: RequestContext<'_>,
    name: &str,
    info: &TopicInfo,
    version: i16,
) -> MetadataResponseTopic {
    let partitions = info
        .partitions
        .iter()
        .map(|(&index, p)| partition_response(ctx, index, p, version))
        .collect();
    let mut t = MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
        .with_partitions(partitions);
    if version >= 1 {
        t = t.with_is_internal(INTERNAL_TOPICS.contains(&name));
    }
    if version >= 10 {
        t = t.with_topic_id(info.topic_id);
    }
    t
}

fn partition_response(
    ctx: RequestContext<'_>,
    index: i32,
    p: &PartitionInfo,
    version: i16,
) -> MetadataResponsePartition {
    let cache = &ctx.broker.metadata;
    let leader_reachable = cache
        .broker(p.leader)
        .map(|b| b.endpoint(ctx.listener).is_some());
    let (error, leader) = match leader_reachable {
        Some(true) => (None, p.leader),
        Some(false) if version >= 6 => (Some(ResponseError::ListenerNotFound), -1),
        _ => (Some(ResponseError::LeaderNotAvailable), -1),
    };
    let mut r = MetadataResponsePartition::default()
        .with_partition_index(index)
        .with_error_code(error.map(|e| e.code()).unwrap_or(0))
        .with_leader_id(BrokerId(leader))
        .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
        .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect());
    if version >= 5 {
        r = r.with_offline_replicas(p.offline_replicas.iter().copied().map(BrokerId).collect());
    }
    if version >= 7 {
        r = r.with_leader_epoch(p.leader_epoch);
    }
    r
}
