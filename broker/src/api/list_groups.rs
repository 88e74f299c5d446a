//! ListGroups (API 16, v0–4): the groups this broker coordinates (clients ask every broker),
//! optionally filtered by state (v4+).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::context::RequestContext;
use crate::group::live_ids;

#[tracing::instrument(level = "debug", skip_all, fields(v))]
pub async fn handle(ctx: RequestContext<'_>, req: ListGroupsRequest, v: i16) -> ListGroupsResponse {
    let listed = ctx
        .broker
        .groups
        .list(&live_ids(&ctx.broker.metadata))
        .await;
    let groups = match listed {
        Ok(g) => g,
        Err(e) => return ListGroupsResponse::default().with_error_code(e.code()),
    };
    let wanted = |state: &str| {
        req.states_filter.is_empty()
            || req
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(state))
    };
    let groups = groups
        .into_iter()
        .filter(|g| wanted(g.state))
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            if v >= 4 {
                listed.with_group_state(StrBytes::from_static_str(g.state))
            } else {
                listed
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
