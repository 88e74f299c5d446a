//! UpdateMetadata (API 6), from the controller: the live brokers and partition states this
//! broker answers Metadata requests from. Admitted by the controller fence before this runs
//! (see `api::from_controller`).

use kafka_protocol::messages::{UpdateMetadataRequest, UpdateMetadataResponse};

use crate::context::RequestContext;

pub fn handle(ctx: RequestContext<'_>, req: UpdateMetadataRequest) -> UpdateMetadataResponse {
    ctx.broker.metadata.apply(&req);
    UpdateMetadataResponse::default()
}
