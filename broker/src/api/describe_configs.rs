//! DescribeConfigs (API 32): topic configs (overrides from `/config/topics/<t>` over Kafka's
//! defaults) and this broker's static configs. Fields are set only in the versions that have
//! them (kafka-protocol refuses to encode others).

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::warn;

use crate::api::config_defs::{self, ConfigEntry, SOURCE_DEFAULT};
use crate::context::RequestContext;

/// ConfigResource types.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

pub async fn handle(
    ctx: RequestContext<'_>,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let mut results = Vec::new();
    for resource in &req.resources {
        let name = resource.resource_name.to_string();
        let entries = match resource.resource_type {
            RESOURCE_TOPIC => topic(ctx, &name).await,
            RESOURCE_BROKER => {
                if name.is_empty() || name == ctx.broker.broker_id.to_string() {
                    Ok(config_defs::broker_entries(&ctx.broker.config))
                } else {
                    Err((ResponseError::InvalidRequest, format!("Unexpected broker id, expected {} or empty string, but received {name}", ctx.broker.broker_id)))
                }
            }
            other => Err((
                ResponseError::InvalidRequest,
                format!("Unsupported resource type {other}"),
            )),
        };
        let wanted = resource
            .configuration_keys
            .as_ref()
            .map(|keys| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>());
        let mut result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        match entries {
            Ok(entries) => {
                let configs = entries
                    .into_iter()
                    .filter(|e| match &wanted {
                        Some(w) => w.contains(&e.name),
                        None => true,
                    })
                    .map(|e| encode(e, version, req.include_synonyms))
                    .collect();
                result = result.with_configs(configs).with_error_message(None);
            }
            Err((code, message)) => {
                result = result
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(message)));
            }
        }
        results.push(result);
    }
    DescribeConfigsResponse::default().with_results(results)
}

async fn topic(
    ctx: RequestContext<'_>,
    name: &str,
) -> Result<Vec<ConfigEntry>, (ResponseError, String)> {
    let zk = ctx.broker.zk();
    match coordinator::admin::topic_exists(&zk, name).await {
        Ok(true) => {}
        Ok(false) => {
            return Err((
                ResponseError::UnknownTopicOrPartition,
                format!("Topic {name} does not exist"),
            ))
        }
        Err(e) => return Err((ResponseError::UnknownServerError, e.to_string())),
    }
    let overrides: BTreeMap<String, String> = coordinator::admin::topic_config(&zk, name)
        .await
        .map_err(|e| {
            warn!(topic = name, error = %e, "reading topic config");
            (ResponseError::UnknownServerError, e.to_string())
        })?;
    Ok(config_defs::topic_entries(&ctx.broker.config, &overrides))
}

fn encode(e: ConfigEntry, version: i16, include_synonyms: bool) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name.clone()))
        .with_value(Some(StrBytes::from_string(e.value.clone())))
        .with_read_only(e.read_only);
    if version == 0 {
        r = r.with_is_default(e.source == SOURCE_DEFAULT);
    } else {
        r = r.with_config_source(e.source);
        if include_synonyms {
            r = r.with_synonyms(vec![DescribeConfigsSynonym::default()
                .with_name(StrBytes::from_string(e.name))
                .with_value(Some(StrBytes::from_string(e.value)))
                .with_source(e.source)]);
        }
    }
    if version >= 3 {
        r = r
            .with_config_type(e.config_type as i8)
            .with_documentation(None);
    }
    r
}
