//! DeleteTopics (API 20, v0-6): served by the active controller only (NOT_CONTROLLER
//! elsewhere); creates `/admin/delete_topics/<t>` and waits, bounded by the request's timeout,
//! until the topic is gone from the metadata cache (REQUEST_TIMED_OUT otherwise; the deletion
//! still completes later).

use std::time::Duration;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::create_topics::wait_until;
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    // (name if known, topic id as sent)
    let targets: Vec<(Option<String>, uuid::Uuid)> = if version >= 6 {
        req.topics
            .iter()
            .map(|t| {
                let name = t
                    .name
                    .as_ref()
                    .map(|n| n.0.to_string())
                    .or_else(|| name_of(ctx, t.topic_id));
                (name, t.topic_id)
            })
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), uuid::Uuid::nil()))
            .collect()
    };
    let is_controller = ctx.broker.controller.is_active();
    let mut results = Vec::new();
    let mut pending = Vec::new();
    for (name, id) in targets {
        let outcome = match (&name, is_controller) {
            (_, false) => Err((
                ResponseError::NotController,
                "This is not the correct controller for this cluster.".to_string(),
            )),
            (None, true) => Err((
                ResponseError::UnknownTopicId,
                format!("Topic id {id} not found"),
            )),
            (Some(n), true) => {
                let zk = ctx.broker.zk();
                coordinator::admin::mark_topic_for_deletion(&zk, n)
                    .await
                    .map_err(|e| (zk_error_code(&e), e.to_string()))
            }
        };
        if outcome.is_ok() {
            if let Some(n) = &name {
                info!(topic = n, "topic marked for deletion");
                pending.push(n.clone());
            }
        }
        let mut r = DeletableTopicResult::default()
            .with_name(name.map(|n| TopicName(StrBytes::from_string(n))));
        if version >= 6 {
            r = r.with_topic_id(id);
        }
        if let Err((code, message)) = outcome {
            r = r.with_error_code(code.code());
            if version >= 5 {
                r = r.with_error_message(Some(StrBytes::from_string(message)));
            }
        }
        results.push(r);
    }
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    if !pending.is_empty() && !timeout.is_zero() {
        let cache = &ctx.broker.metadata;
        let gone = wait_until(timeout, || pending.iter().all(|t| cache.topic(t).is_none())).await;
        if !gone {
            for r in &mut results {
                let still_there = r.name.as_ref().is_some_and(|n| cache.topic(&n.0).is_some());
                if r.error_code == 0 && still_there {
                    r.error_code = ResponseError::RequestTimedOut.code();
                }
            }
        }
    }
    DeleteTopicsResponse::default().with_responses(results)
}

fn name_of(ctx: RequestContext<'_>, id: uuid::Uuid) -> Option<String> {
    let cache = &ctx.broker.metadata;
    cache.topic_names().into_iter().find(|n| {
        cache
            .topic(n)
            .is_some_and(|t| t.topic_id == id && !id.is_nil())
    })
}
