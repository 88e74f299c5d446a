//! ControlledShutdown (API 7), controller side: a stopping broker asks the active controller to
//! move leadership away (Kafka's `KafkaApis.handleControlledShutdownRequest`). Brokers that are
//! not the active controller answer NOT_CONTROLLER. The request must carry the broker's current
//! broker epoch (STALE_BROKER_EPOCH otherwise): v1, which has none, is refused, unlike in Kafka,
//! since without it any client could have a broker taken out of leadership and every ISR.

use kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
use kafka_protocol::messages::{ControlledShutdownRequest, ControlledShutdownResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::errors::controller_error_code;
use crate::context::RequestContext;

#[instrument(skip_all, fields(broker = req.broker_id.0))]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: ControlledShutdownRequest,
    version: i16,
) -> ControlledShutdownResponse {
    let controller = &ctx.broker.controller;
    if !controller.is_active() {
        return ControlledShutdownResponse::default()
            .with_error_code(ResponseError::NotController.code());
    }
    // v0-1 carry no broker epoch: -1, "unknown", which the controller refuses.
    let epoch = if version >= 2 { req.broker_epoch } else { -1 };
    match controller.controlled_shutdown(req.broker_id.0, epoch).await {
        Ok(remaining) => {
            info!(remaining = remaining.len(), "controlled shutdown answered");
            let remaining = remaining
                .into_iter()
                .map(|(topic, p)| {
                    RemainingPartition::default()
                        .with_topic_name(TopicName(StrBytes::from_string(topic)))
                        .with_partition_index(p)
                })
                .collect();
            ControlledShutdownResponse::default().with_remaining_partitions(remaining)
        }
        Err(e) => {
            ControlledShutdownResponse::default().with_error_code(controller_error_code(&e).code())
        }
    }
}
