//! SyncGroup (API 14, v0–5): the leader hands in the assignment; every member waits for it
//! and gets its own share.

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use crate::context::RequestContext;
use crate::group::error::result_code;
use crate::group::live_ids;

#[tracing::instrument(level = "debug", skip_all, fields(group = %req.group_id.0, v))]
pub async fn handle(ctx: RequestContext<'_>, req: SyncGroupRequest, v: i16) -> SyncGroupResponse {
    let group = req.group_id.0.to_string();
    let groups = &ctx.broker.groups;
    let result = match groups.check_owner(&group, &live_ids(&ctx.broker.metadata)) {
        Err(e) => Err(e),
        Ok(()) => {
            let assignments = req
                .assignments
                .into_iter()
                .map(|a| (a.member_id.to_string(), a.assignment))
                .collect();
            groups
                .sync(
                    &group,
                    &req.member_id,
                    req.group_instance_id.as_deref(),
                    req.generation_id,
                    (req.protocol_type.as_deref(), req.protocol_name.as_deref()),
                    assignments,
                )
                .await
        }
    };
    let resp = SyncGroupResponse::default().with_error_code(result_code(&result));
    let resp = match result {
        Ok(assignment) => resp.with_assignment(assignment),
        Err(_) => resp,
    };
    if v >= 5 {
        resp.with_protocol_type(req.protocol_type)
            .with_protocol_name(req.protocol_name)
    } else {
        resp
    }
}
