//! DeleteRecords (API 21, v0-2): the leader raises each partition's log start offset (its
//! low watermark) to the requested offset, or to the high watermark for -1, deleting the
//! segments wholly below it; followers follow through their fetches. The answer waits, bounded
//! by the request's timeout, until every replica on a live broker has followed, and reports
//! the partition's low watermark (Kafka's `handleDeleteRecordsRequest`, `deleteRecords` and
//! `DelayedDeleteRecords`). A partition whose followers are still behind at the timeout gets
//! REQUEST_TIMED_OUT with the low watermark it had when its start was raised.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::delete_records_request::DeleteRecordsPartition;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;

use crate::api::errors::{log_error_code, partition_error_code};
use crate::context::RequestContext;
use crate::metadata_cache::MetadataCache;
use crate::replica::Partition;

/// A partition whose answer waits for its followers' log starts.
struct PendingStart {
    topic_index: usize,
    partition_index: usize,
    partition: Arc<Partition>,
    /// The offset the low watermark has to reach.
    required: i64,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn handle(ctx: RequestContext<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
    let mut topics = Vec::with_capacity(req.topics.len());
    let mut pending = Vec::new();
    for topic in req.topics {
        let name = topic.name.0.as_str();
        let mut results = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let result = match delete_partition(ctx, name, p) {
                Ok((partition, required, low_watermark)) => {
                    if low_watermark < required {
                        pending.push(PendingStart {
                            topic_index: topics.len(),
                            partition_index: results.len(),
                            partition,
                            required,
                        });
                    }
                    Ok(low_watermark)
                }
                Err(code) => {
                    tracing::debug!(
                        topic = name,
                        partition = p.partition_index,
                        code,
                        "delete records refused"
                    );
                    Err(code)
                }
            };
            results.push(partition_result(p.partition_index, result));
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(topic.name)
                .with_partitions(results),
        );
    }
    for w in pending {
        let result = await_low_watermark(&ctx.broker.metadata, &w, deadline).await;
        if let Some(slot) = topics
            .get_mut(w.topic_index)
            .and_then(|t| t.partitions.get_mut(w.partition_index))
        {
            match result {
                Ok(low_watermark) => slot.low_watermark = low_watermark,
                Err(code) => slot.error_code = code,
            }
        }
    }
    DeleteRecordsResponse::default().with_topics(topics)
}

/// Raises one partition's log start on this leader: (partition, offset its low watermark must
/// reach, its low watermark now), or the partition's error code.
fn delete_partition(
    ctx: RequestContext<'_>,
    topic: &str,
    p: &DeleteRecordsPartition,
) -> Result<(Arc<Partition>, i64, i64), i16> {
    let broker = ctx.broker;
    if broker
        .metadata
        .partition(topic, p.partition_index)
        .is_none()
    {
        return Err(ResponseError::UnknownTopicOrPartition.code());
    }
    let Some(partition) = broker.replicas.get(topic, p.partition_index) else {
        return Err(ResponseError::NotLeaderOrFollower.code());
    };
    let required = partition
        .delete_records(p.offset)
        .map_err(|e| partition_error_code(&e))?;
    let low_watermark = partition
        .low_watermark(alive_in(&broker.metadata))
        .ok_or(ResponseError::NotLeaderOrFollower.code())?;
    Ok((partition, required, low_watermark))
}

/// Whether a broker is alive, as the controller last said.
fn alive_in(metadata: &MetadataCache) -> impl Fn(i32) -> bool {
    let live: Vec<i32> = metadata.brokers().iter().map(|b| b.id).collect();
    move |id| live.contains(&id)
}

/// Waits until the partition's low watermark reaches the required offset: the low watermark
/// then, or the error code that ends the wait (REQUEST_TIMED_OUT at the deadline).
async fn await_low_watermark(
    metadata: &MetadataCache,
    w: &PendingStart,
    deadline: tokio::time::Instant,
) -> Result<i64, i16> {
    let partition = &w.partition;
    let mut log_starts = partition.subscribe_log_starts();
    let reached = tokio::time::timeout_at(deadline, async {
        loop {
            // Read before the check: a move in between wakes the next `changed`.
            log_starts.borrow_and_update();
            match partition.low_watermark(alive_in(metadata)) {
                None => return None,
                Some(lw) if lw >= w.required => return Some(lw),
                Some(_) => {}
            }
            // Closed when leadership moves or the log dir fails.
            if log_starts.changed().await.is_err() {
                return None;
            }
        }
    })
    .await;
    match reached {
        Ok(Some(lw)) => Ok(lw),
        _ => Err(if let Err(e) = partition.check_online() {
            log_error_code(&e)
        } else if !partition.is_leader() {
            ResponseError::NotLeaderOrFollower.code()
        } else {
            ResponseError::RequestTimedOut.code()
        }),
    }
}

fn partition_result(index: i32, result: Result<i64, i16>) -> DeleteRecordsPartitionResult {
    let r = DeleteRecordsPartitionResult::default().with_partition_index(index);
    match result {
        Ok(low_watermark) => r.with_low_watermark(low_watermark),
        Err(code) => r.with_low_watermark(-1).with_error_code(code),
    }
}
