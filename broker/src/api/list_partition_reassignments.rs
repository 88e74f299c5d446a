//! ListPartitionReassignments (API 46): the partitions being reassigned (all, or those asked
//! for) with their full replica set and the replicas being added and removed. Served by the
//! active controller only (NOT_CONTROLLER elsewhere), as in Kafka's ZooKeeper mode.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::instrument;

use crate::api::errors::controller_error_code;
use crate::context::RequestContext;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let controller = &ctx.broker.controller;
    if !controller.is_active() {
        return top_level_error(ResponseError::NotController);
    }
    let asked = req.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partition_indexes
                    .iter()
                    .map(|p| (t.name.0.to_string(), *p))
            })
            .collect()
    });
    let ongoing = match controller.list_partition_reassignments(asked).await {
        Ok(ongoing) => ongoing,
        Err(e) => return top_level_error(controller_error_code(&e)),
    };
    let ids = |list: &[i32]| list.iter().map(|b| BrokerId(*b)).collect::<Vec<_>>();
    let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
    for ((topic, partition), assignment) in ongoing {
        by_topic.entry(topic).or_default().push(
            OngoingPartitionReassignment::default()
                .with_partition_index(partition)
                .with_replicas(ids(&assignment.replicas))
                .with_adding_replicas(ids(&assignment.adding))
                .with_removing_replicas(ids(&assignment.removing)),
        );
    }
    let topics = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            OngoingTopicReassignment::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}

fn top_level_error(error: ResponseError) -> ListPartitionReassignmentsResponse {
    ListPartitionReassignmentsResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(error.to_string())))
}
