//! AlterPartitionReassignments (API 45): start or cancel (null replicas) the reassignment of
//! partitions, served by the active controller only, as Kafka's ZooKeeper mode does
//! (`KafkaApis.handleAlterPartitionReassignmentsRequest`); other brokers answer NOT_CONTROLLER.
//! The answer says each partition's reassignment was taken in, not that it completed:
//! ListPartitionReassignments shows it until then.

use std::collections::BTreeMap;

use coordinator::controller::ReassignmentRequest;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::errors::{controller_error_code, reassignment_error_code};
use crate::context::RequestContext;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let controller = &ctx.broker.controller;
    if !controller.is_active() {
        return top_level_error(ResponseError::NotController);
    }
    let reassignments: Vec<ReassignmentRequest> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                let target = p
                    .replicas
                    .as_ref()
                    .map(|rs| rs.iter().map(|b| b.0).collect());
                ((t.name.0.to_string(), p.partition_index), target)
            })
        })
        .collect();
    info!(?reassignments, "partition reassignment requested");
    let results = match controller
        .alter_partition_reassignments(reassignments)
        .await
    {
        Ok(results) => results,
        Err(e) => return top_level_error(controller_error_code(&e)),
    };
    let mut by_topic: BTreeMap<String, Vec<ReassignablePartitionResponse>> = BTreeMap::new();
    for ((topic, partition), result) in results {
        let (code, message) = match result {
            Ok(()) => (0, None),
            Err(e) => (
                reassignment_error_code(&e).code(),
                Some(StrBytes::from_string(e.to_string())),
            ),
        };
        by_topic.entry(topic).or_default().push(
            ReassignablePartitionResponse::default()
                .with_partition_index(partition)
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    let responses = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            ReassignableTopicResponse::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default().with_responses(responses)
}

fn top_level_error(error: ResponseError) -> AlterPartitionReassignmentsResponse {
    AlterPartitionReassignmentsResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(error.to_string())))
}
