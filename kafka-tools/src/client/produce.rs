//! Producing: records for some partitions encoded as one v2 batch per partition
//! (kafka-protocol's RecordBatchEncoder), sent to each partition's leader; a partition whose
//! leader moved (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, ...) is retried after a
//! Metadata refresh, a bounded number of times.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafka_protocol::ResponseError;

use crate::client::topics::{self, by_leader, Leaders, TopicPartition};
use crate::client::{Admin, Target};
use crate::error::{KafkaError, Result, ToolError};

/// One record to send.
#[derive(Clone, Debug, Default)]
pub struct OutRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// How records are sent (the producer properties that matter here).
#[derive(Clone, Debug)]
pub struct ProduceConfig {
    pub acks: i16,
    pub timeout_ms: i32,
    pub compression: Compression,
    pub retries: u32,
    pub retry_backoff: Duration,
}

/// A producer of one topic.
pub struct Producer<'a> {
    admin: &'a mut Admin,
    topic: String,
    leaders: Leaders,
    config: ProduceConfig,
}

impl<'a> Producer<'a> {
    /// Learns the topic's partitions and leaders.
    pub async fn new(admin: &'a mut Admin, topic: &str, config: ProduceConfig) -> Result<Self> {
        let leaders = topics::leaders(admin, &[topic.to_owned()]).await?;
        if leaders.is_empty() {
            return Err(ToolError::usage(format!("topic {topic} has no partitions")));
        }
        Ok(Producer {
            admin,
            topic: topic.to_owned(),
            leaders,
            config,
        })
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> i32 {
        i32::try_from(self.leaders.len()).unwrap_or(i32::MAX)
    }

    /// Sends `records` (partition, record) and waits for every acknowledgement (none with
    /// acks=0); the base offset of each partition's batch (-1 with acks=0).
    pub async fn send(&mut self, records: Vec<(i32, OutRecord)>) -> Result<BTreeMap<i32, i64>> {
        let mut pending: BTreeMap<i32, Vec<OutRecord>> = BTreeMap::new();
        for (partition, record) in records {
            pending.entry(partition).or_default().push(record);
        }
        let mut done = BTreeMap::new();
        let mut attempt = 0;
        loop {
            let failed = self.send_once(&mut pending, &mut done).await?;
            let Some(error) = failed else {
                return Ok(done);
            };
            attempt += 1;
            if attempt > self.config.retries {
                return Err(ToolError::Kafka {
                    context: format!("producing to {}", self.topic),
                    error,
                });
            }
            tokio::time::sleep(self.config.retry_backoff).await;
            self.leaders = topics::leaders(self.admin, std::slice::from_ref(&self.topic)).await?;
        }
    }

    /// One round: every pending partition's batch to its leader. Acknowledged partitions move
    /// from `pending` to `done`; a retriable error leaves its partition pending and is
    /// returned; any other error fails.
    async fn send_once(
        &mut self,
        pending: &mut BTreeMap<i32, Vec<OutRecord>>,
        done: &mut BTreeMap<i32, i64>,
    ) -> Result<Option<KafkaError>> {
        let tps: Vec<TopicPartition> = pending.keys().map(|p| (self.topic.clone(), *p)).collect();
        let mut retry = None;
        for (leader, tps) in by_leader(&self.leaders, &tps) {
            if leader < 0 {
                retry = Some(KafkaError::from_code(5, None).unwrap_or(KafkaError {
                    code: 5,
                    message: None,
                }));
                continue;
            }
            let mut partition_data = Vec::new();
            for (_, p) in &tps {
                let batch =
                    encode_batch(pending.get(p).map_or(&[][..], Vec::as_slice), &self.config)?;
                partition_data.push(
                    PartitionProduceData::default()
                        .with_index(*p)
                        .with_records(Some(batch)),
                );
            }
            let request = ProduceRequest::default()
                .with_acks(self.config.acks)
                .with_timeout_ms(self.config.timeout_ms)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(self.topic.clone())))
                    .with_partition_data(partition_data)]);
            if self.config.acks == 0 {
                self.admin
                    .send_no_response(Target::Node(leader), &request)
                    .await?;
                for (_, p) in tps {
                    pending.remove(&p);
                    done.insert(p, -1);
                }
                continue;
            }
            let response = self.admin.send(Target::Node(leader), &request).await?;
            for t in response.responses {
                for p in t.partition_responses {
                    match KafkaError::from_code(p.error_code, p.error_message.as_deref()) {
                        None => {
                            pending.remove(&p.index);
                            done.insert(p.index, p.base_offset);
                        }
                        Some(e) if retriable(e.code) => retry = Some(e),
                        Some(error) => {
                            return Err(ToolError::Kafka {
                                context: format!("producing to {}-{}", self.topic, p.index),
                                error,
                            })
                        }
                    }
                }
            }
        }
        Ok(retry)
    }
}

/// Errors after which the leader (or its ISR) may be elsewhere or back soon.
fn retriable(code: i16) -> bool {
    matches!(
        ResponseError::try_from_code(code),
        Some(
            ResponseError::NotLeaderOrFollower
                | ResponseError::LeaderNotAvailable
                | ResponseError::UnknownTopicOrPartition
                | ResponseError::NotEnoughReplicas
                | ResponseError::NotEnoughReplicasAfterAppend
                | ResponseError::RequestTimedOut
                | ResponseError::KafkaStorageError
                | ResponseError::FencedLeaderEpoch
        )
    )
}

/// `records` as one v2 batch, without a producer id, timestamped now (CreateTime).
fn encode_batch(records: &[OutRecord], config: &ProduceConfig) -> Result<Bytes> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let i = i64::try_from(i).unwrap_or(0);
            Record {
                transactional: false,
                control: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i,
                // The encoder keeps records in one batch while offset - sequence is constant;
                // without a producer id the batch's base sequence is -1.
                sequence: i32::try_from(i - 1).unwrap_or(-1),
                timestamp: now,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone()))
                    .collect::<IndexMap<_, _>>(),
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: config.compression,
        },
    )
    .map_err(|e| ToolError::usage(format!("encoding a record batch: {e}")))?;
    Ok(buf.freeze())
}
