//! OffsetDelete (API 47, v0): removes a group's committed offsets of some partitions from
//! ZooKeeper (Kafka's `handleOffsetDeleteRequest` and `handleDeleteOffsets`). Partitions of
//! unknown topics get UNKNOWN_TOPIC_OR_PARTITION; those of topics the group's active members
//! consume get GROUP_SUBSCRIBED_TO_TOPIC; a group with members of another protocol type is
//! refused as a whole (NON_EMPTY_GROUP), an unknown one with GROUP_ID_NOT_FOUND.

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use crate::context::RequestContext;
use crate::group::error::result_code;
use crate::group::{live_ids, GroupError};

#[tracing::instrument(level = "debug", skip_all, fields(group = %req.group_id.0))]
pub async fn handle(ctx: RequestContext<'_>, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group = req.group_id.0.as_str();
    let metadata = &ctx.broker.metadata;
    // (topic index in the request, partition, code): partitions known to the cluster go to
    // the coordinator, the others are answered here.
    let mut answered: Vec<(usize, i32, Result<(), GroupError>)> = Vec::new();
    let mut known: Vec<(usize, (String, i32))> = Vec::new();
    for (i, topic) in req.topics.iter().enumerate() {
        let name = topic.name.0.as_str();
        for p in &topic.partitions {
            if metadata.partition(name, p.partition_index).is_some() {
                known.push((i, (name.to_string(), p.partition_index)));
            } else {
                let unknown = Err(GroupError::UnknownTopicOrPartition);
                answered.push((i, p.partition_index, unknown));
            }
        }
    }
    let groups = &ctx.broker.groups;
    let partitions: Vec<(String, i32)> = known.iter().map(|(_, tp)| tp.clone()).collect();
    let decided = match groups.check_owner(group, &live_ids(metadata)) {
        Ok(()) => groups.delete_offsets(group, &partitions).await,
        Err(e) => Err(e),
    };
    let error_code = match decided {
        Ok(results) => {
            let decided = known.into_iter().zip(results);
            answered.extend(decided.map(|((i, (_, p)), r)| (i, p, r)));
            0
        }
        // A group error answers for the whole request; partitions known to be unknown still
        // say so, as in Kafka.
        Err(e) => e.code(),
    };
    let mut topics: Vec<OffsetDeleteResponseTopic> = req
        .topics
        .iter()
        .map(|t| OffsetDeleteResponseTopic::default().with_name(t.name.clone()))
        .collect();
    answered.sort_by_key(|(i, _, _)| *i);
    for (i, partition, result) in answered {
        if let Some(t) = topics.get_mut(i) {
            t.partitions.push(
                OffsetDeleteResponsePartition::default()
                    .with_partition_index(partition)
                    .with_error_code(result_code(&result)),
            );
        }
    }
    topics.retain(|t| !t.partitions.is_empty());
    if error_code != 0 {
        tracing::debug!(group, error_code, "offset delete refused");
    }
    OffsetDeleteResponse::default()
        .with_error_code(error_code)
        .with_topics(topics)
}
