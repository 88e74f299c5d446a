//! LeaveGroup (API 13): v0–2 remove one member; v3+ a batch, each with its own error, and an
//! empty member id with a `group.instance.id` removes that static member.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use crate::context::RequestContext;
use crate::group::error::result_code;
use crate::group::live_ids;

#[tracing::instrument(level = "debug", skip_all, fields(group = %req.group_id.0, v))]
pub fn handle(ctx: RequestContext<'_>, req: LeaveGroupRequest, v: i16) -> LeaveGroupResponse {
    let group = req.group_id.0.to_string();
    let groups = &ctx.broker.groups;
    if let Err(e) = groups.check_owner(&group, &live_ids(&ctx.broker.metadata)) {
        return LeaveGroupResponse::default().with_error_code(e.code());
    }
    if v < 3 {
        let results = groups.leave(&group, &[(req.member_id.to_string(), None)]);
        let code = results.first().map_or(0, result_code);
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let members: Vec<(String, Option<String>)> = req
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.group_instance_id.as_ref().map(|i| i.to_string()),
            )
        })
        .collect();
    let results = groups.leave(&group, &members);
    let responses = req
        .members
        .into_iter()
        .zip(results.iter())
        .map(|(m, r)| {
            MemberResponse::default()
                .with_member_id(m.member_id)
                .with_group_instance_id(m.group_instance_id)
                .with_error_code(result_code(r))
        })
        .collect();
    LeaveGroupResponse::default().with_members(responses)
}
