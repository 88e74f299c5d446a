//! Produce (API 0): validate each partition's records, append them as leader, and answer
//! per partition. acks=0 gets no response; acks=-1 waits (bounded by the request timeout)
//! until the high watermark covers the appended records.
//!
//! On a compacted topic (`cleanup.policy` includes `compact`) the leader refuses records
//! without a key, as Kafka's `LogValidator.validateKey`: INVALID_RECORD, and from v8 one record
//! error per keyless record of the batch plus Kafka's summary message. Only batches of
//! compacted topics are checked for keys.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::debug;

use crate::api::errors::{partition_error_code, record_error_code};
use crate::api::metadata::auto_create_topic;
use crate::context::RequestContext;
use crate::records::validate::validate_produce;
use crate::records::RecordError;
use crate::replica::partition::Appended;
use crate::replica::Partition;
use crate::topic_config;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What a Produce request left to do once its records are appended.
pub enum Produced {
    /// acks=0: the client expects no answer.
    NoResponse,
    /// The answer is ready (acks=1, or nothing to wait for).
    Done(ProduceResponse),
    /// acks=-1: appended, answered once the high watermarks cover the records.
    Replicating(PendingReplication),
}

/// Validates and appends every partition's records now (so that appends keep the order of
/// the requests on a connection); the acks=-1 wait is left to the caller, which can read the
/// connection's next request meanwhile.
pub async fn handle(ctx: RequestContext<'_>, req: ProduceRequest, version: i16) -> Produced {
    let acks = req.acks;
    let global_error = if !matches!(acks, -1..=1) {
        Some(ResponseError::InvalidRequiredAcks)
    } else if req.transactional_id.is_some() {
        // Transactions are not implemented yet; refuse rather than write half a transaction.
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else {
        None
    };
    // The request timeout counts from the append, however long earlier answers take.
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
    let mut responses = Vec::with_capacity(req.topic_data.len());
    let mut waits = Vec::new();
    for topic in req.topic_data {
        let (resp, topic_waits) = produce_topic(ctx, topic, version, acks, global_error).await;
        let topic_index = responses.len();
        waits.extend(
            topic_waits
                .into_iter()
                .map(|w| PendingAck { topic_index, ..w }),
        );
        responses.push(resp);
    }
    match acks {
        0 => Produced::NoResponse,
        -1 if !waits.is_empty() => Produced::Replicating(PendingReplication {
            responses,
            waits,
            deadline,
        }),
        _ => Produced::Done(ProduceResponse::default().with_responses(responses)),
    }
}

/// An acks=-1 answer waiting for replication.
pub struct PendingReplication {
    responses: Vec<TopicProduceResponse>,
    waits: Vec<PendingAck>,
    deadline: tokio::time::Instant,
}

impl PendingReplication {
    pub async fn wait(mut self) -> ProduceResponse {
        await_replication(&mut self.responses, self.waits, self.deadline).await;
        ProduceResponse::default().with_responses(self.responses)
    }
}

/// A partition whose acks=-1 answer waits for the high watermark.
struct PendingAck {
    topic_index: usize,
    partition_index: usize,
    partition: Arc<Partition>,
    required_hw: i64,
    min_insync_replicas: usize,
}

async fn produce_topic(
    ctx: RequestContext<'_>,
    topic: TopicProduceData,
    version: i16,
    acks: i16,
    global_error: Option<ResponseError>,
) -> (TopicProduceResponse, Vec<PendingAck>) {
    let name = topic.name.0.to_string();
    // Once per topic, not per partition: a request may carry hundreds of its partitions.
    let settings = produce_settings(&name, ctx);
    let mut partitions = Vec::with_capacity(topic.partition_data.len());
    let mut waits = Vec::new();
    for data in topic.partition_data {
        let index = data.index;
        let result = match global_error {
            Some(e) => Err(Refused::code(e.code())),
            None => produce_partition(ctx, &name, &settings, data, version, acks).await,
        };
        let resp = match result {
            Ok((appended, partition)) => {
                if acks == -1 && !appended.duplicate {
                    waits.push(PendingAck {
                        topic_index: 0,
                        partition_index: partitions.len(),
                        partition,
                        required_hw: appended.last_offset + 1,
                        min_insync_replicas: settings.min_insync_replicas,
                    });
                }
                PartitionProduceResponse::default()
                    .with_index(index)
                    .with_base_offset(appended.base_offset)
                    .with_log_append_time_ms(appended.log_append_time)
                    .with_log_start_offset(appended.log_start_offset)
            }
            Err(refused) => refused.response(index, version),
        };
        partitions.push(resp);
    }
    let resp = TopicProduceResponse::default()
        .with_name(kafka_protocol::messages::TopicName(StrBytes::from_string(
            name,
        )))
        .with_partition_responses(partitions);
    (resp, waits)
}

async fn produce_partition(
    ctx: RequestContext<'_>,
    topic: &str,
    settings: &topic_config::ProduceSettings,
    data: PartitionProduceData,
    version: i16,
    acks: i16,
) -> Result<(Appended, Arc<Partition>), Refused> {
    let broker = ctx.broker;
    let Some(partition) = broker.replicas.get(topic, data.index) else {
        return Err(Refused::code(missing_partition(ctx, topic).await));
    };
    let records = data.records.unwrap_or_default();
    // Keys are the leader's check (a follower answers NOT_LEADER_OR_FOLLOWER on append).
    let keys_required = settings.compacted && partition.is_leader();
    let validated = validate_produce(&records, version, settings.max_message_bytes, keys_required)
        .map_err(|e| {
            debug!(topic, partition = data.index, error = %e, "rejected produce");
            match e {
                RecordError::KeysRequired(indexes) => Refused::keyless(
                    &format!("{topic}-{}", data.index),
                    &indexes,
                    partition.log_start_offset(),
                ),
                other => Refused::code(record_error_code(&other)),
            }
        })?;
    let append_time = settings.log_append_time.then(now_ms);
    let appended = partition
        .append_as_leader(validated, acks, settings.min_insync_replicas, append_time)
        .map_err(|e| {
            debug!(topic, partition = data.index, error = %e, "append failed");
            Refused::code(partition_error_code(&e))
        })?;
    if let Some(followers) = partition.followers_yet_to_fetch(now_ms) {
        broker.follower_polls.poke(&followers);
    }
    Ok((appended, partition))
}

/// Why a partition's records were not appended, as its answer says it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refused {
    code: i16,
    /// (batch index, message) per refused record (Produce v8+).
    record_errors: Vec<(i32, String)>,
    /// The summary Kafka sends along with record errors (Produce v8+).
    message: Option<String>,
    /// -1 unless known.
    log_start_offset: i64,
}

impl Refused {
    fn code(code: i16) -> Refused {
        Refused {
            code,
            record_errors: Vec::new(),
            message: None,
            log_start_offset: -1,
        }
    }

    /// Records `indexes` of a batch for compacted `topic_partition` ("t-0") had no key: one
    /// record error each, and the summary naming at most three, worded as Kafka words them.
    fn keyless(topic_partition: &str, indexes: &[i32], log_start_offset: i64) -> Refused {
        let record_errors: Vec<(i32, String)> = indexes
            .iter()
            .map(|&i| {
                let message = format!(
                    "Compacted topic cannot accept message without key in topic partition \
                     {topic_partition}"
                );
                (i, message)
            })
            .collect();
        let shown: Vec<String> = record_errors
            .iter()
            .take(3)
            .map(|(i, m)| format!("RecordError(batchIndex={i}, message='{m}')"))
            .collect();
        let message = format!(
            "One or more records have been rejected due to {} record errors in total, and only \
             showing the first three errors at most: [{}]",
            record_errors.len(),
            shown.join(", ")
        );
        Refused {
            code: ResponseError::InvalidRecord.code(),
            record_errors,
            message: Some(message),
            log_start_offset,
        }
    }

    fn response(self, index: i32, version: i16) -> PartitionProduceResponse {
        let mut r = PartitionProduceResponse::default()
            .with_index(index)
            .with_error_code(self.code)
            .with_base_offset(-1)
            .with_log_start_offset(self.log_start_offset);
        if version >= 8 {
            r = r
                .with_record_errors(
                    self.record_errors
                        .into_iter()
                        .map(|(i, m)| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(i)
                                .with_batch_index_error_message(Some(StrBytes::from_string(m)))
                        })
                        .collect(),
                )
                .with_error_message(self.message.map(StrBytes::from_string));
        }
        r
    }
}

/// The topic's limits: broker defaults with its `/config/topics` overrides.
fn produce_settings(topic: &str, ctx: RequestContext<'_>) -> topic_config::ProduceSettings {
    let overrides = ctx.broker.replicas.topic_overrides(topic);
    topic_config::produce_settings(&ctx.broker.dynamic.config(), overrides.as_ref())
}

/// The error for a partition this broker does not host.
async fn missing_partition(ctx: RequestContext<'_>, topic: &str) -> i16 {
    let broker = ctx.broker;
    if broker.metadata.topic(topic).is_some() {
        return ResponseError::NotLeaderOrFollower.code();
    }
    if coordinator::admin::validate_topic_name(topic).is_err() {
        return ResponseError::InvalidTopicException.code();
    }
    if broker.config.auto_create_topics_enable {
        let _ = auto_create_topic(ctx, topic).await;
    }
    ResponseError::UnknownTopicOrPartition.code()
}

/// Waits until each partition's high watermark reaches its last appended offset + 1, or the
/// request times out (REQUEST_TIMED_OUT for the ones still short).
async fn await_replication(
    responses: &mut [TopicProduceResponse],
    waits: Vec<PendingAck>,
    deadline: tokio::time::Instant,
) {
    for w in waits {
        let mut rx = w.partition.subscribe();
        let reached = tokio::time::timeout_at(deadline, async {
            loop {
                // A deposed leader's high watermark (it follows the new leader's) says nothing
                // about the records appended here, which may have been truncated away.
                if !w.partition.is_leader() {
                    return false;
                }
                if *rx.borrow_and_update() >= w.required_hw
                    || w.partition.high_watermark() >= w.required_hw
                {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await
        .unwrap_or(false);
        // Written but the ISR shrank below min.insync.replicas before it was committed.
        let code = if !reached && w.partition.check_online().is_err() {
            // Its log dir failed: nothing more can be committed here (clients retry on the
            // leader the controller elects instead).
            Some(ResponseError::KafkaStorageError)
        } else if !reached && !w.partition.is_leader() {
            // Leadership moved while waiting: as Kafka's DelayedProduce, so that clients
            // refresh their metadata and retry on the new leader.
            Some(ResponseError::NotLeaderOrFollower)
        } else if !reached {
            Some(ResponseError::RequestTimedOut)
        } else if w.partition.role().isr.len() < w.min_insync_replicas {
            Some(ResponseError::NotEnoughReplicasAfterAppend)
        } else {
            None
        };
        if let Some(code) = code {
            if let Some(p) = responses
                .get_mut(w.topic_index)
                .and_then(|t| t.partition_responses.get_mut(w.partition_index))
            {
                p.error_code = code.code();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyless_records_get_kafkas_record_errors_and_summary() {
        let r = Refused::keyless("t-0", &[0, 2, 3, 5], 7).response(0, 8);
        assert_eq!(r.error_code, 87);
        assert_eq!(r.base_offset, -1);
        assert_eq!(r.log_start_offset, 7);
        let indexes: Vec<i32> = r.record_errors.iter().map(|e| e.batch_index).collect();
        assert_eq!(indexes, [0, 2, 3, 5]);
        let one = "Compacted topic cannot accept message without key in topic partition t-0";
        assert_eq!(
            r.record_errors[1].batch_index_error_message.as_deref(),
            Some(one)
        );
        assert_eq!(
            r.error_message.as_deref(),
            Some(
                format!(
                    "One or more records have been rejected due to 4 record errors in total, \
                     and only showing the first three errors at most: [RecordError(batchIndex=0, \
                     message='{one}'), RecordError(batchIndex=2, message='{one}'), \
                     RecordError(batchIndex=3, message='{one}')]"
                )
                .as_str()
            )
        );
        // Before v8 the answer has no room for them.
        let old = Refused::keyless("t-0", &[0], -1).response(0, 7);
        assert_eq!(old.error_code, 87);
        assert!(old.record_errors.is_empty() && old.error_message.is_none());
    }
}
