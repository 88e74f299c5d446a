//! CreatePartitions (API 37, v0-3): served by the active controller only; extends
//! `/brokers/topics/<t>` (the controller's data watch elects leaders for the new partitions) and
//! waits, bounded by the request's timeout, until they have leaders.

use std::time::Duration;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::create_topics::wait_until;
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let is_controller = ctx.broker.controller.is_active();
    let mut results = Vec::new();
    let mut grown = Vec::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        let outcome = if !is_controller {
            Err((
                ResponseError::NotController,
                "This is not the correct controller for this cluster.".to_string(),
            ))
        } else {
            let assignment = t.assignments.as_ref().map(|list| {
                list.iter()
                    .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            let zk = ctx.broker.zk();
            coordinator::admin::create_partitions(
                &zk,
                &name,
                t.count,
                assignment,
                req.validate_only,
            )
            .await
            .map_err(|e| (zk_error_code(&e), e.to_string()))
        };
        let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
        results.push(match outcome {
            Ok(_) => {
                if !req.validate_only {
                    info!(topic = name, count = t.count, "partitions added");
                    grown.push((name, t.count));
                }
                r.with_error_message(None)
            }
            Err((code, message)) => r
                .with_error_code(code.code())
                .with_error_message(Some(StrBytes::from_string(message))),
        });
    }
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    if !grown.is_empty() && !timeout.is_zero() {
        let cache = &ctx.broker.metadata;
        let ready = |(t, count): &(String, i32)| {
            cache.topic(t).is_some_and(|info| {
                i32::try_from(info.partitions.len()).unwrap_or(0) >= *count
                    && info.partitions.values().all(|p| p.leader >= 0)
            })
        };
        if !wait_until(timeout, || grown.iter().all(ready)).await {
            for r in &mut results {
                if let Some(g) = grown.iter().find(|(t, _)| *t == r.name.0.to_string()) {
                    if !ready(g) {
                        r.error_code = ResponseError::RequestTimedOut.code();
                    }
                }
            }
        }
    }
    CreatePartitionsResponse::default().with_results(results)
}
