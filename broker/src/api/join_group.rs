//! JoinGroup (API 11, v0–9): joins a member to a group and waits for the rebalance to form
//! the next generation. v4+ sends a new dynamic member away once with MEMBER_ID_REQUIRED.

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use crate::context::RequestContext;
use crate::group::join::JoinRequest;
use crate::group::live_ids;
use crate::group::state::JoinResult;

fn response(r: JoinResult, v: i16) -> JoinGroupResponse {
    let members = r
        .members
        .into_iter()
        .map(|m| {
            let member = JoinGroupResponseMember::default()
                .with_member_id(StrBytes::from_string(m.member_id))
                .with_metadata(m.metadata);
            if v >= 5 {
                member.with_group_instance_id(m.instance_id.map(StrBytes::from_string))
            } else {
                member
            }
        })
        .collect();
    let name = r.protocol_name.map(StrBytes::from_string);
    let resp = JoinGroupResponse::default()
        .with_error_code(crate::group::error::code_of(r.error))
        .with_generation_id(r.generation)
        .with_leader(StrBytes::from_string(r.leader))
        .with_member_id(StrBytes::from_string(r.member_id))
        .with_members(members)
        .with_skip_assignment(v >= 9 && r.skip_assignment);
    if v >= 7 {
        resp.with_protocol_type(r.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(name)
    } else {
        // Not nullable before v7.
        resp.with_protocol_name(Some(name.unwrap_or_default()))
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(group = %req.group_id.0, v))]
pub async fn handle(ctx: RequestContext<'_>, req: JoinGroupRequest, v: i16) -> JoinGroupResponse {
    let group = req.group_id.0.to_string();
    let groups = &ctx.broker.groups;
    if let Err(e) = groups.check_owner(&group, &live_ids(&ctx.broker.metadata)) {
        return response(JoinResult::error(e, &req.member_id), v);
    }
    let join = JoinRequest {
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|i| i.to_string()),
        client_id: ctx.client_id.to_string(),
        client_host: ctx.client_host.to_string(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if v >= 1 { req.rebalance_timeout_ms } else { -1 },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: v >= 4,
        supports_skip_assignment: v >= 9,
        fresh_id: uuid::Uuid::new_v4().to_string(),
    };
    response(groups.join(&group, join).await, v)
}
