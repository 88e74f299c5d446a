//! Fetching: one Fetch (no fetch session) to a partition's leader for several partitions, the
//! record batches decoded with kafka-protocol's RecordBatchDecoder. A batch cut short at the
//! end of a response (the broker stops at max bytes) is left for the next fetch.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{RecordBatchDecoder, TimestampType};

use crate::client::topics::{grouped, TopicPartition};
use crate::client::{Admin, Target};
use crate::error::{KafkaError, Result, ToolError};

/// One record read from a partition.
#[derive(Clone, Debug)]
pub struct InRecord {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// What a fetch returned for one partition.
#[derive(Debug)]
pub struct Fetched {
    pub partition: TopicPartition,
    /// The partition's error (NOT_LEADER_OR_FOLLOWER, OFFSET_OUT_OF_RANGE, ...).
    pub error: Option<KafkaError>,
    /// Data records at or after the fetch offset, in offset order (control records left out).
    pub records: Vec<InRecord>,
    /// Where the next fetch starts: after the last batch read, else the fetch offset.
    pub next_offset: i64,
}

/// Bounds of one fetch.
#[derive(Clone, Copy, Debug)]
pub struct FetchLimits {
    pub max_wait_ms: i32,
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
    pub isolation_level: i8,
}

/// Fetches `partitions` (each from its offset) from `leader`.
pub async fn fetch(
    admin: &mut Admin,
    leader: i32,
    partitions: &[(TopicPartition, i64)],
    limits: FetchLimits,
) -> Result<Vec<Fetched>> {
    let version = admin.version::<FetchRequest>()?.min(12);
    let offset_of = |tp: &TopicPartition| {
        partitions
            .iter()
            .find(|(p, _)| p == tp)
            .map_or(0, |(_, o)| *o)
    };
    let topics = grouped(partitions.iter().map(|(tp, _)| tp))
        .into_iter()
        .map(|(topic, parts)| {
            let fetch_partitions = parts
                .iter()
                .map(|p| {
                    FetchPartition::default()
                        .with_partition(*p)
                        .with_fetch_offset(offset_of(&(topic.clone(), *p)))
                        .with_partition_max_bytes(limits.partition_max_bytes)
                })
                .collect();
            FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partitions(fetch_partitions)
        })
        .collect();
    let mut request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(limits.max_wait_ms)
        .with_min_bytes(1)
        .with_topics(topics);
    if version >= 3 {
        request = request.with_max_bytes(limits.max_bytes);
    }
    if version >= 4 {
        request = request.with_isolation_level(limits.isolation_level);
    }
    if version >= 7 {
        // No fetch session: every fetch names all its partitions.
        request = request.with_session_id(0).with_session_epoch(-1);
    }
    let response = admin
        .send_at(Target::Node(leader), &request, version)
        .await?;
    ToolError::check("fetching", response.error_code, None)?;
    let mut out = Vec::new();
    for t in response.responses {
        let topic = t.topic.0.to_string();
        for p in t.partitions {
            let tp = (topic.clone(), p.partition_index);
            let from = offset_of(&tp);
            let mut fetched = Fetched {
                partition: tp,
                error: KafkaError::from_code(p.error_code, None),
                records: Vec::new(),
                next_offset: from,
            };
            if let Some(bytes) = p.records {
                decode(bytes, from, p.partition_index, &mut fetched)?;
            }
            out.push(fetched);
        }
    }
    Ok(out)
}

/// Decodes whole batches of `bytes` into `into`, keeping records at or after `from`.
fn decode(mut bytes: Bytes, from: i64, partition: i32, into: &mut Fetched) -> Result<()> {
    // Batch framing: base offset (8), length (4), then `length` bytes.
    while bytes.remaining() >= 12 {
        let length = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let total = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .saturating_add(12);
        if bytes.remaining() < total {
            break;
        }
        let mut batch = bytes.split_to(total);
        let set = RecordBatchDecoder::decode(&mut batch)
            .map_err(|e| ToolError::usage(format!("decoding a record batch: {e}")))?;
        for r in set.records {
            into.next_offset = into.next_offset.max(r.offset + 1);
            if r.control || r.offset < from {
                continue;
            }
            into.records.push(InRecord {
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                timestamp_type: r.timestamp_type,
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            });
        }
    }
    Ok(())
}
