//! OffsetForLeaderEpoch (API 23): for a requested leader epoch, the largest epoch the leader
//! knows at or below it and the offset where the next epoch starts (the leader's log end for
//! its current epoch). Followers use it to find and truncate a diverged tail.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use crate::context::RequestContext;

pub fn handle(
    ctx: RequestContext<'_>,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let base = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let Some(partition) = ctx.broker.replicas.get(&name, p.partition) else {
                        return base.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if partition.check_online().is_err() {
                        return base.with_error_code(ResponseError::KafkaStorageError.code());
                    }
                    if !partition.is_leader() {
                        return base.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    }
                    let ours = partition.leader_epoch();
                    if p.current_leader_epoch >= 0 && p.current_leader_epoch < ours {
                        return base.with_error_code(ResponseError::FencedLeaderEpoch.code());
                    }
                    if p.current_leader_epoch > ours {
                        return base.with_error_code(ResponseError::UnknownLeaderEpoch.code());
                    }
                    let (epoch, end) = partition.end_offset_for_epoch(p.leader_epoch);
                    base.with_leader_epoch(epoch).with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
