//! CreateTopics (API 19, v0-7): served by the active controller only (others answer
//! NOT_CONTROLLER, as Kafka's ZooKeeper mode does); validates the topic configs as Kafka's
//! `LogConfig.validate` does (INVALID_CONFIG), writes `/config/topics/<t>` and
//! `/brokers/topics/<t>` (the controller's watch does the rest), then waits, bounded by the
//! request's timeout, until every partition has a leader in the metadata cache. From v5 the
//! answer lists the new topic's configs with their sources, as DescribeConfigs would.

use std::collections::BTreeMap;
use std::time::Duration;

use coordinator::admin::NewTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::config_defs::{validate_topic_configs, TopicConfigError};
use crate::api::config_sources;
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;
use crate::metadata_cache::MetadataCache;

/// How often a waiting admin request re-checks the metadata cache.
pub const POLL: Duration = Duration::from_millis(50);

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let is_controller = ctx.broker.controller.is_active();
    let mut results = Vec::new();
    let mut created = Vec::new();
    for topic in &req.topics {
        let name = topic.name.0.to_string();
        let outcome = if is_controller {
            create(ctx, topic, req.validate_only).await
        } else {
            Err((
                ResponseError::NotController,
                "This is not the correct controller for this cluster.".into(),
            ))
        };
        let mut r = CreatableTopicResult::default().with_name(topic.name.clone());
        match outcome {
            Ok(Created {
                partitions,
                replication_factor: rf,
                configs,
            }) => {
                if !req.validate_only {
                    created.push(name);
                }
                if version >= 1 {
                    r = r.with_error_message(None);
                }
                if version >= 5 {
                    r = r
                        .with_num_partitions(partitions)
                        .with_replication_factor(rf)
                        .with_configs(Some(configs));
                }
            }
            Err((code, message)) => {
                r = r.with_error_code(code.code());
                if version >= 1 {
                    r = r.with_error_message(Some(StrBytes::from_string(message)));
                }
                if version >= 5 {
                    r = r.with_configs(None);
                }
            }
        }
        results.push(r);
    }
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    if !created.is_empty() && !timeout.is_zero() {
        let ready = wait_until(timeout, || {
            created.iter().all(|t| has_leaders(&ctx.broker.metadata, t))
        })
        .await;
        if !ready {
            for r in results
                .iter_mut()
                .filter(|r| created.contains(&r.name.0.to_string()))
            {
                if !has_leaders(&ctx.broker.metadata, &r.name.0) {
                    r.error_code = ResponseError::RequestTimedOut.code();
                }
            }
        }
    }
    CreateTopicsResponse::default().with_topics(results)
}

/// What a created (or validated) topic got.
struct Created {
    partitions: i32,
    replication_factor: i16,
    /// Its configs as DescribeConfigs reports them (CreateTopics v5+).
    configs: Vec<CreatableTopicConfigs>,
}

/// Validates and creates one topic.
async fn create(
    ctx: RequestContext<'_>,
    topic: &CreatableTopic,
    validate_only: bool,
) -> Result<Created, (ResponseError, String)> {
    let invalid = |m: &str| Err((ResponseError::InvalidRequest, m.to_string()));
    let nulls: Vec<String> = topic
        .configs
        .iter()
        .filter(|c| c.value.is_none())
        .map(|c| c.name.to_string())
        .collect();
    if !nulls.is_empty() {
        let e = TopicConfigError::NullValues(nulls);
        return Err((ResponseError::InvalidConfig, e.to_string()));
    }
    let cfg = &ctx.broker.config;
    let assignment: Option<BTreeMap<i32, Vec<i32>>> = if topic.assignments.is_empty() {
        None
    } else {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            return invalid("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
        }
        Some(
            topic
                .assignments
                .iter()
                .map(|a| {
                    (
                        a.partition_index,
                        a.broker_ids.iter().map(|b| b.0).collect(),
                    )
                })
                .collect(),
        )
    };
    let partitions = if topic.num_partitions == -1 {
        cfg.num_partitions
    } else {
        topic.num_partitions
    };
    let rf = if topic.replication_factor == -1 {
        cfg.default_replication_factor
    } else {
        topic.replication_factor
    };
    let configs: BTreeMap<String, String> = topic
        .configs
        .iter()
        .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
        .collect();
    let layers = ctx.broker.dynamic.current();
    validate_topic_configs(&layers.config, &configs)
        .map_err(|e| (ResponseError::InvalidConfig, e.to_string()))?;
    let reported = reported_configs(&layers, &configs);
    let new = NewTopic {
        name: topic.name.0.to_string(),
        partitions,
        replication_factor: rf,
        assignment,
        configs,
    };
    let zk = ctx.broker.zk();
    let made = coordinator::admin::create_topic_with(&zk, &new, validate_only)
        .await
        .map_err(|e| (zk_error_code(&e), e.to_string()))?;
    let rf = made
        .values()
        .next()
        .map_or(rf, |r| i16::try_from(r.len()).unwrap_or(rf));
    let count = i32::try_from(made.len()).unwrap_or(partitions);
    if !validate_only {
        info!(topic = new.name, partitions = count, rf, "created topic");
    }
    Ok(Created {
        partitions: count,
        replication_factor: rf,
        configs: reported,
    })
}

/// The new topic's configs as CreateTopics v5+ lists them.
fn reported_configs(
    layers: &crate::dynamic_config::Effective,
    overrides: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    config_sources::topic_entries(layers, overrides)
        .into_iter()
        .map(|e| {
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_string(e.name))
                .with_value(e.value.map(StrBytes::from_string))
                .with_read_only(e.read_only)
                .with_config_source(e.source as i8)
                .with_is_sensitive(false)
        })
        .collect()
}

/// Every partition of `topic` in the cache has a leader.
pub fn has_leaders(cache: &MetadataCache, topic: &str) -> bool {
    cache
        .topic(topic)
        .is_some_and(|t| !t.partitions.is_empty() && t.partitions.values().all(|p| p.leader >= 0))
}

/// Polls `ready` until it holds (true) or `timeout` passes (false).
pub async fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
