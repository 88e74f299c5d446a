//! DeleteGroups (API 42, v0–2): removes empty groups and their committed offsets from
//! ZooKeeper (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND if there is none).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use crate::context::RequestContext;
use crate::group::error::result_code;
use crate::group::live_ids;

#[tracing::instrument(level = "debug", skip_all)]
pub async fn handle(ctx: RequestContext<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let groups = &ctx.broker.groups;
    let live = live_ids(&ctx.broker.metadata);
    let mut results = Vec::with_capacity(req.groups_names.len());
    for id in req.groups_names {
        let result = match groups.check_owner(&id.0, &live) {
            Ok(()) => groups.delete(&id.0).await,
            Err(e) => Err(e),
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id)
                .with_error_code(result_code(&result)),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}
