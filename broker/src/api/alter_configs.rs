//! AlterConfigs (API 33): replaces a topic's config overrides (`/config/topics/<t>` plus a
//! `/config/changes` notification), as Kafka's ZooKeeper-mode `ZkAdminManager.alterConfigs`:
//! the new set is validated whole, against the broker's values for the keys it leaves out,
//! and refused with INVALID_CONFIG as Kafka words it. Any broker may serve it. Broker resources
//! go to `broker_configs` (dynamic broker configs).

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::broker_configs;
use crate::api::config_defs::validate_topic_configs;
use crate::api::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

#[instrument(skip_all)]
pub async fn handle(ctx: RequestContext<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::new();
    for resource in &req.resources {
        let configs: Vec<(String, Option<String>)> = resource
            .configs
            .iter()
            .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
            .collect();
        let name = resource.resource_name.to_string();
        let result = match resource.resource_type {
            RESOURCE_TOPIC => replace(ctx, &name, &configs, req.validate_only).await,
            RESOURCE_BROKER => {
                broker_configs::replace(ctx, &name, &configs, req.validate_only).await
            }
            other => Err((
                ResponseError::InvalidRequest,
                format!("AlterConfigs is only supported for topics and brokers, but resource type is {other}"),
            )),
        };
        responses.push(resource_response(
            resource.resource_type,
            &resource.resource_name,
            result,
        ));
    }
    AlterConfigsResponse::default().with_responses(responses)
}

/// `Ok` or (code, message) as the alter-config responses carry them.
pub type AlterResult = Result<(), (ResponseError, String)>;

pub fn resource_response(
    resource_type: i8,
    name: &StrBytes,
    result: AlterResult,
) -> AlterConfigsResourceResponse {
    let r = AlterConfigsResourceResponse::default()
        .with_resource_type(resource_type)
        .with_resource_name(name.clone());
    match result {
        Ok(()) => r.with_error_message(None),
        Err((code, message)) => r
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_string(message))),
    }
}

async fn replace(
    ctx: RequestContext<'_>,
    topic: &str,
    configs: &[(String, Option<String>)],
    validate_only: bool,
) -> AlterResult {
    // A null value removes the key, as every key left out does.
    let new: BTreeMap<String, String> = configs
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.clone()?)))
        .collect();
    apply(ctx, topic, &new, validate_only).await
}

/// Replaces the topic's whole override set with `configs` once the topic exists and the set
/// passes Kafka's checks; with `validate_only`, only checks.
pub async fn apply(
    ctx: RequestContext<'_>,
    topic: &str,
    configs: &BTreeMap<String, String>,
    validate_only: bool,
) -> AlterResult {
    let zk = ctx.broker.zk();
    let fail = |e: coordinator::ZkError| (zk_error_code(&e), e.to_string());
    if !coordinator::admin::topic_exists(&zk, topic)
        .await
        .map_err(fail)?
    {
        return Err((
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{topic}' does not exist."),
        ));
    }
    validate_topic_configs(&ctx.broker.dynamic.config(), configs)
        .map_err(|e| (ResponseError::InvalidConfig, e.alter_message(topic)))?;
    if validate_only {
        return Ok(());
    }
    coordinator::admin::set_topic_config(&zk, topic, configs)
        .await
        .map_err(fail)?;
    info!(topic, ?configs, "topic config changed");
    Ok(())
}
