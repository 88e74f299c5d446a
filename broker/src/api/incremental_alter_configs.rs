//! IncrementalAlterConfigs (API 44): SET / DELETE / APPEND / SUBTRACT on a topic's config
//! overrides, then written as AlterConfigs does. Any broker may serve it.

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::ResponseError;
use tracing::instrument;

use crate::api::alter_configs::{self, AlterResult};
use crate::api::config_defs::validate_topic_config;
use crate::api::describe_configs::RESOURCE_TOPIC;
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::new();
    for resource in &req.resources {
        let result = if resource.resource_type == RESOURCE_TOPIC {
            let ops: Vec<(String, i8, Option<String>)> = resource
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.config_operation,
                        c.value.as_ref().map(|v| v.to_string()),
                    )
                })
                .collect();
            alter(
                ctx,
                &resource.resource_name.to_string(),
                &ops,
                req.validate_only,
            )
            .await
        } else {
            Err((
                ResponseError::InvalidRequest,
                "only topic configs can be altered".to_string(),
            ))
        };
        let r = alter_configs::resource_response(
            resource.resource_type,
            &resource.resource_name,
            result,
        );
        responses.push(
            AlterConfigsResourceResponse::default()
                .with_error_code(r.error_code)
                .with_error_message(r.error_message)
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name),
        );
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

async fn alter(
    ctx: RequestContext<'_>,
    topic: &str,
    ops: &[(String, i8, Option<String>)],
    validate_only: bool,
) -> AlterResult {
    let zk = ctx.broker.zk();
    let mut configs = coordinator::admin::topic_config(&zk, topic)
        .await
        .map_err(|e| (zk_error_code(&e), e.to_string()))?;
    for (name, op, value) in ops {
        let value = value.clone().unwrap_or_default();
        match *op {
            OP_SET => {
                validate_topic_config(name, &value)
                    .map_err(|m| (ResponseError::InvalidConfig, m))?;
                configs.insert(name.clone(), value);
            }
            OP_DELETE => {
                configs.remove(name);
            }
            OP_APPEND | OP_SUBTRACT => {
                validate_topic_config(name, &value)
                    .map_err(|m| (ResponseError::InvalidConfig, m))?;
                let mut list: Vec<String> = configs
                    .get(name)
                    .map(|v| {
                        v.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                for item in value.split(',').filter(|s| !s.is_empty()) {
                    if *op == OP_APPEND && !list.iter().any(|l| l == item) {
                        list.push(item.to_string());
                    } else if *op == OP_SUBTRACT {
                        list.retain(|l| l != item);
                    }
                }
                configs.insert(name.clone(), list.join(","));
            }
            other => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("unknown config operation {other}"),
                ))
            }
        }
    }
    alter_configs::write(ctx, topic, &configs, validate_only).await
}
