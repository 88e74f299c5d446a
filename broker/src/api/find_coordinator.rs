//! FindCoordinator (API 10): which broker coordinates a group. Every broker computes the same
//! answer from the live brokers the controller told it about (rendezvous hashing, see
//! `group::placement`) and answers with that broker's endpoint on the request's listener.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::context::RequestContext;
use crate::group::{live_ids, placement};

/// Key type of a consumer group (1 = transactional id, which we do not coordinate).
const KEY_TYPE_GROUP: i8 = 0;

/// Where one key's coordinator is, or why there is none.
struct Found {
    error: i16,
    node_id: i32,
    host: String,
    port: i32,
}

fn find(ctx: RequestContext<'_>, key: &str, key_type: i8) -> Found {
    let none = |e: ResponseError| Found {
        error: e.code(),
        node_id: -1,
        host: String::new(),
        port: -1,
    };
    if key_type != KEY_TYPE_GROUP {
        return none(ResponseError::CoordinatorNotAvailable);
    }
    if !coordinator::offsets::valid_group_id(key) {
        return none(ResponseError::InvalidGroupId);
    }
    let live = live_ids(&ctx.broker.metadata);
    let Some(id) = placement::coordinator_for(key, &live) else {
        return none(ResponseError::CoordinatorNotAvailable);
    };
    let endpoint = ctx
        .broker
        .metadata
        .broker(id)
        .and_then(|b| b.endpoint(ctx.listener).cloned());
    match endpoint {
        Some(e) => Found {
            error: 0,
            node_id: id,
            host: e.host,
            port: e.port,
        },
        None => none(ResponseError::CoordinatorNotAvailable),
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(v))]
pub fn handle(
    ctx: RequestContext<'_>,
    req: FindCoordinatorRequest,
    v: i16,
) -> FindCoordinatorResponse {
    if v >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|key| {
                let f = find(ctx, key, req.key_type);
                Coordinator::default()
                    .with_key(key.clone())
                    .with_node_id(BrokerId(f.node_id))
                    .with_host(StrBytes::from_string(f.host))
                    .with_port(f.port)
                    .with_error_code(f.error)
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let f = find(ctx, &req.key, req.key_type);
    FindCoordinatorResponse::default()
        .with_error_code(f.error)
        .with_node_id(BrokerId(f.node_id))
        .with_host(StrBytes::from_string(f.host))
        .with_port(f.port)
}
