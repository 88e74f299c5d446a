//! ListOffsets (API 2): earliest (-2), latest (-1), max timestamp (-3) or the first offset
//! whose record timestamp is at or after a given time. v0 answers with a list of offsets.

use std::collections::HashSet;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use crate::api::errors::log_error_code;
use crate::context::RequestContext;
use crate::replica::Partition;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub fn handle(
    ctx: RequestContext<'_>,
    req: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let duplicates = duplicate_partitions(&req, version);
    let topics = req
        .topics
        .iter()
        .map(|t| list_topic(ctx, t, version, req.replica_id.0, &duplicates))
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// Partitions named more than once (v1+): Kafka answers each of them INVALID_REQUEST, since
/// a client could not tell the answers apart.
fn duplicate_partitions(req: &ListOffsetsRequest, version: i16) -> HashSet<(&str, i32)> {
    let mut seen = HashSet::new();
    let mut duplicates = HashSet::new();
    if version == 0 {
        return duplicates;
    }
    for t in &req.topics {
        for p in &t.partitions {
            let key = (t.name.0.as_str(), p.partition_index);
            if !seen.insert(key) {
                duplicates.insert(key);
            }
        }
    }
    duplicates
}

fn list_topic(
    ctx: RequestContext<'_>,
    topic: &ListOffsetsTopic,
    version: i16,
    replica_id: i32,
    duplicates: &HashSet<(&str, i32)>,
) -> ListOffsetsTopicResponse {
    let name = topic.name.0.to_string();
    let partitions = topic
        .partitions
        .iter()
        .map(|p| {
            let result = match ctx.broker.replicas.get(&name, p.partition_index) {
                _ if duplicates.contains(&(name.as_str(), p.partition_index)) => {
                    Err(ResponseError::InvalidRequest.code())
                }
                None if ctx.broker.metadata.topic(&name).is_some() => {
                    Err(ResponseError::NotLeaderOrFollower.code())
                }
                None => Err(ResponseError::UnknownTopicOrPartition.code()),
                Some(partition) => lookup(&partition, p, replica_id),
            };
            partition_response(p.partition_index, result, version)
        })
        .collect();
    ListOffsetsTopicResponse::default()
        .with_name(topic.name.clone())
        .with_partitions(partitions)
}

/// (timestamp, offset, leader epoch) for one partition.
fn lookup(
    partition: &Partition,
    p: &ListOffsetsPartition,
    replica_id: i32,
) -> Result<(i64, i64, i32), i16> {
    // A replica in a failed log dir answers nothing, even what it knows from memory.
    partition.check_online().map_err(|e| log_error_code(&e))?;
    // Replicas and debugging tools (replica id -2) may ask a non-leader; consumers may not.
    if replica_id == -1 && !partition.is_leader() {
        return Err(ResponseError::NotLeaderOrFollower.code());
    }
    let epoch = partition.leader_epoch();
    if p.current_leader_epoch >= 0 && p.current_leader_epoch != epoch {
        return Err(if p.current_leader_epoch < epoch {
            ResponseError::FencedLeaderEpoch.code()
        } else {
            ResponseError::UnknownLeaderEpoch.code()
        });
    }
    match p.timestamp {
        LATEST => Ok((-1, partition.high_watermark(), epoch)),
        EARLIEST => Ok((-1, partition.log_start_offset(), epoch)),
        MAX_TIMESTAMP => match partition.max_timestamp_and_offset() {
            Ok(Some((ts, offset))) => Ok((ts, offset, epoch)),
            Ok(None) => Ok((-1, -1, -1)),
            Err(e) => Err(log_error_code(&e)),
        },
        ts => match partition.offset_for_timestamp(ts) {
            Ok(Some((offset, found_ts))) if offset < partition.high_watermark() => {
                Ok((found_ts, offset, epoch))
            }
            Ok(_) => Ok((-1, -1, -1)),
            Err(e) => Err(log_error_code(&e)),
        },
    }
}

fn partition_response(
    index: i32,
    result: Result<(i64, i64, i32), i16>,
    version: i16,
) -> ListOffsetsPartitionResponse {
    let r = ListOffsetsPartitionResponse::default().with_partition_index(index);
    match result {
        Err(code) => r.with_error_code(code),
        Ok((_, offset, _)) if version == 0 => {
            let offsets = if offset >= 0 { vec![offset] } else { vec![] };
            r.with_old_style_offsets(offsets)
        }
        Ok((ts, offset, epoch)) => {
            let r = r.with_timestamp(ts).with_offset(offset);
            if version >= 4 {
                r.with_leader_epoch(epoch)
            } else {
                r
            }
        }
    }
}
