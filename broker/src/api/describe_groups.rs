//! DescribeGroups (API 15, v0–5): state, protocol and members of groups this broker
//! coordinates (metadata and assignments only while Stable, as Kafka reports them).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::context::RequestContext;
use crate::group::live_ids;

/// Without an authorizer every operation a group supports is allowed: READ (3), DELETE (6)
/// and DESCRIBE (8), as a bit field of ACL operation codes.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

#[tracing::instrument(level = "debug", skip_all, fields(v))]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: DescribeGroupsRequest,
    v: i16,
) -> DescribeGroupsResponse {
    let groups = &ctx.broker.groups;
    let live = live_ids(&ctx.broker.metadata);
    let mut described = Vec::with_capacity(req.groups.len());
    for id in req.groups {
        let result = match groups.check_owner(&id.0, &live) {
            Ok(()) => groups.describe(&id.0).await,
            Err(e) => Err(e),
        };
        let d = DescribedGroup::default().with_group_id(id);
        let d = if v >= 3 && req.include_authorized_operations {
            d.with_authorized_operations(GROUP_OPERATIONS)
        } else {
            d
        };
        let d = match result {
            Err(e) => d.with_error_code(e.code()),
            Ok(s) => {
                let members = s
                    .members
                    .into_iter()
                    .map(|m| {
                        let member = DescribedGroupMember::default()
                            .with_member_id(StrBytes::from_string(m.member_id))
                            .with_client_id(StrBytes::from_string(m.client_id))
                            .with_client_host(StrBytes::from_string(m.client_host))
                            .with_member_metadata(m.metadata)
                            .with_member_assignment(m.assignment);
                        if v >= 4 {
                            member.with_group_instance_id(m.instance_id.map(StrBytes::from_string))
                        } else {
                            member
                        }
                    })
                    .collect();
                d.with_group_state(StrBytes::from_static_str(s.state))
                    .with_protocol_type(StrBytes::from_string(s.protocol_type))
                    .with_protocol_data(StrBytes::from_string(s.protocol))
                    .with_members(members)
            }
        };
        described.push(d);
    }
    DescribeGroupsResponse::default().with_groups(described)
}
