//! UpdateMetadata (API 6), from the controller: the live brokers and partition states this
//! broker answers Metadata requests from.

use kafka_protocol::messages::{UpdateMetadataRequest, UpdateMetadataResponse};
use kafka_protocol::ResponseError;

use crate::context::RequestContext;
use crate::metadata_cache::UpdateOutcome;

pub fn handle(ctx: RequestContext<'_>, req: UpdateMetadataRequest) -> UpdateMetadataResponse {
    match ctx.broker.metadata.apply(&req) {
        UpdateOutcome::Applied => UpdateMetadataResponse::default(),
        UpdateOutcome::StaleControllerEpoch => UpdateMetadataResponse::default()
            .with_error_code(ResponseError::StaleControllerEpoch.code()),
    }
}
