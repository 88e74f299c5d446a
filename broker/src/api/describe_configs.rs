//! DescribeConfigs (API 32): a topic's configs (its overrides from `/config/topics/<t>` over
//! the broker's values) and this broker's own, each with the source, synonyms, type and
//! documentation Kafka reports (see `config_sources`). Fields are set only in the versions
//! that have them (kafka-protocol refuses to encode others): `is_default` in v0,
//! `config_source` and `synonyms` from v1, `config_type` and `documentation` from v3.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::warn;

use crate::api::config_sources::{self, ConfigEntry, ConfigSource};
use crate::context::RequestContext;

/// ConfigResource types.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// What a request asks to see of each entry.
#[derive(Debug, Clone, Copy)]
struct Detail {
    version: i16,
    synonyms: bool,
    documentation: bool,
}

pub async fn handle(
    ctx: RequestContext<'_>,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let detail = Detail {
        version,
        synonyms: req.include_synonyms,
        documentation: req.include_documentation,
    };
    let mut results = Vec::new();
    for resource in &req.resources {
        let name = resource.resource_name.to_string();
        let entries = match resource.resource_type {
            RESOURCE_TOPIC => topic(ctx, &name).await,
            RESOURCE_BROKER => broker(ctx, &name),
            other => Err((
                ResponseError::InvalidRequest,
                format!("Unsupported resource type: {other}"),
            )),
        };
        // Kafka: no key list, or an empty one, means every key.
        let wanted: Option<Vec<String>> = resource
            .configuration_keys
            .as_ref()
            .filter(|keys| !keys.is_empty())
            .map(|keys| keys.iter().map(|k| k.to_string()).collect());
        let mut result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        match entries {
            Ok(entries) => {
                let configs = entries
                    .into_iter()
                    .filter(|e| wanted.as_ref().is_none_or(|w| w.contains(&e.name)))
                    .map(|e| encode(e, detail))
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

type Described = Result<Vec<ConfigEntry>, (ResponseError, String)>;

/// This broker's configs. The empty name stands for the cluster-wide dynamic defaults
/// (`/config/brokers/<default>`), answered alone, as Kafka does.
fn broker(ctx: RequestContext<'_>, name: &str) -> Described {
    let layers = ctx.broker.dynamic.current();
    if name.is_empty() {
        return Ok(config_sources::default_entries(&layers));
    }
    let id = ctx.broker.broker_id;
    match name.parse::<i32>() {
        Ok(n) if n == id => Ok(config_sources::broker_entries(&layers)),
        Ok(_) => Err((
            ResponseError::InvalidRequest,
            format!("Unexpected broker id, expected {id} or empty string, but received {name}"),
        )),
        Err(_) => Err((
            ResponseError::InvalidRequest,
            format!("Broker id must be an integer, but it is: {name}"),
        )),
    }
}

async fn topic(ctx: RequestContext<'_>, name: &str) -> Described {
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
    Ok(config_sources::topic_entries(
        &ctx.broker.dynamic.current(),
        &overrides,
    ))
}

fn encode(e: ConfigEntry, detail: Detail) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(e.value.map(StrBytes::from_string))
        .with_read_only(e.read_only)
        .with_is_sensitive(e.sensitive);
    if detail.version == 0 {
        r = r.with_is_default(e.source == ConfigSource::Default);
    } else {
        r = r.with_config_source(e.source as i8);
        if detail.synonyms {
            r = r.with_synonyms(
                e.synonyms
                    .into_iter()
                    .map(|s| {
                        DescribeConfigsSynonym::default()
                            .with_name(StrBytes::from_string(s.name))
                            .with_value(s.value.map(StrBytes::from_string))
                            .with_source(s.source as i8)
                    })
                    .collect(),
            );
        }
    }
    if detail.version >= 3 {
        r = r.with_config_type(e.kind as i8).with_documentation(
            detail
                .documentation
                .then(|| StrBytes::from_static_str(e.doc)),
        );
    }
    r
}
