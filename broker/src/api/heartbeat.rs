//! Heartbeat (API 12, v0–4): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it
//! to rejoin.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use crate::context::RequestContext;
use crate::group::error::result_code;
use crate::group::live_ids;

#[tracing::instrument(level = "trace", skip_all, fields(group = %req.group_id.0))]
pub fn handle(ctx: RequestContext<'_>, req: HeartbeatRequest) -> HeartbeatResponse {
    let group = req.group_id.0.to_string();
    let groups = &ctx.broker.groups;
    let result = groups
        .check_owner(&group, &live_ids(&ctx.broker.metadata))
        .and_then(|()| {
            groups.heartbeat(
                &group,
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
            )
        });
    HeartbeatResponse::default().with_error_code(result_code(&result))
}
