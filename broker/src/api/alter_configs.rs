//! AlterConfigs (API 33): replaces a topic's config overrides (`/config/topics/<t>` plus a
//! `/config/changes` notification), as Kafka's ZooKeeper-mode `ZkAdminManager.alterConfigs`.
//! Any broker may serve it. Broker configs are static here: INVALID_REQUEST.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::config_defs::validate_topic_config;
use crate::api::describe_configs::RESOURCE_TOPIC;
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
        let result = if resource.resource_type == RESOURCE_TOPIC {
            let topic = resource.resource_name.to_string();
            replace(ctx, &topic, &configs, req.validate_only).await
        } else {
            Err((
                ResponseError::InvalidRequest,
                "only topic configs can be altered".to_string(),
            ))
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
    let mut new = BTreeMap::new();
    for (name, value) in configs {
        let Some(value) = value else { continue };
        validate_topic_config(name, value).map_err(|m| (ResponseError::InvalidConfig, m))?;
        new.insert(name.clone(), value.clone());
    }
    write(ctx, topic, &new, validate_only).await
}

/// Writes the full override set (or only checks the topic exists when `validate_only`).
pub async fn write(
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
            format!("Topic {topic} does not exist"),
        ));
    }
    if validate_only {
        return Ok(());
    }
    coordinator::admin::set_topic_config(&zk, topic, configs)
        .await
        .map_err(fail)?;
    info!(topic, ?configs, "topic config changed");
    Ok(())
}
