//! Offsets: the log's (ListOffsets, asked of each partition's leader) and a group's committed
//! ones (OffsetFetch and OffsetCommit, asked of the group's coordinator).

use std::collections::BTreeMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    BrokerId, GroupId, ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::topics::{by_leader, grouped, Leaders, TopicPartition};
use crate::client::{Admin, Target};
use crate::error::{KafkaError, Result, ToolError};

/// Which offset of a partition's log ListOffsets asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the high watermark, or the last stable offset for read_committed).
    Latest,
    /// The first offset whose timestamp is at least this (ms); -1 when there is none.
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// A partition's answer: its offset, or the error its leader gave.
pub type OffsetResult = std::result::Result<i64, KafkaError>;

/// ListOffsets for `partitions`, each asked of its leader in `leaders`. A partition without a
/// leader answers LEADER_NOT_AVAILABLE.
pub async fn list_offsets(
    admin: &mut Admin,
    leaders: &Leaders,
    partitions: &[TopicPartition],
    spec: OffsetSpec,
    isolation_level: i8,
) -> Result<BTreeMap<TopicPartition, OffsetResult>> {
    let mut out = BTreeMap::new();
    for (leader, tps) in by_leader(leaders, partitions) {
        if leader < 0 {
            for tp in tps {
                out.insert(tp, Err(code_error(5)));
            }
            continue;
        }
        let topics = grouped(&tps)
            .into_iter()
            .map(|(topic, parts)| {
                ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic)))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_timestamp(spec.timestamp())
                            })
                            .collect(),
                    )
            })
            .collect();
        let version = admin.version::<ListOffsetsRequest>()?;
        if version < 1 {
            return Err(ToolError::usage("the brokers serve only ListOffsets v0"));
        }
        let mut request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(topics);
        if version >= 2 {
            request = request.with_isolation_level(isolation_level);
        }
        let response = admin
            .send_at(Target::Node(leader), &request, version)
            .await?;
        for t in response.topics {
            for p in t.partitions {
                let tp = (t.name.0.to_string(), p.partition_index);
                let result = match KafkaError::from_code(p.error_code, None) {
                    Some(e) => Err(e),
                    None => Ok(p.offset),
                };
                out.insert(tp, result);
            }
        }
    }
    Ok(out)
}

fn code_error(code: i16) -> KafkaError {
    KafkaError {
        code,
        message: None,
    }
}

/// The offsets `group` has committed (every partition it has one for), from its coordinator.
pub async fn committed(
    admin: &mut Admin,
    coordinator: i32,
    group: &str,
) -> Result<BTreeMap<TopicPartition, i64>> {
    // v7 is the last with the single-group shape; every broker that serves v8 serves v7.
    let version = admin.version::<OffsetFetchRequest>()?.min(7);
    if version < 2 {
        return Err(ToolError::usage(
            "the brokers cannot list all of a group's offsets (OffsetFetch v2)",
        ));
    }
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(None);
    let response = admin
        .send_at(Target::Node(coordinator), &request, version)
        .await?;
    ToolError::check(
        format!("fetching the offsets of group {group}"),
        response.error_code,
        None,
    )?;
    let mut out = BTreeMap::new();
    for t in response.topics {
        for p in t.partitions {
            if p.error_code == 0 && p.committed_offset >= 0 {
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    p.committed_offset,
                );
            }
        }
    }
    Ok(out)
}

/// Who commits: a member of the group's current generation, or nobody (generation -1, empty
/// member id: only accepted while the group has no members).
#[derive(Clone, Debug)]
pub struct Committer {
    pub generation: i32,
    pub member_id: String,
}

impl Committer {
    /// A commit from outside the group (the tools' offset resets).
    pub fn outsider() -> Committer {
        Committer {
            generation: -1,
            member_id: String::new(),
        }
    }
}

/// Commits `offsets` for `group`; the per-partition errors the coordinator answered.
pub async fn commit(
    admin: &mut Admin,
    coordinator: i32,
    group: &str,
    committer: &Committer,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<BTreeMap<TopicPartition, i16>> {
    let version = admin.version::<OffsetCommitRequest>()?;
    let topics = grouped(offsets.keys())
        .into_iter()
        .map(|(topic, parts)| {
            let partitions = parts
                .into_iter()
                .map(|p| {
                    let offset = offsets.get(&(topic.clone(), p)).copied().unwrap_or(-1);
                    OffsetCommitRequestPartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(offset)
                        .with_committed_metadata(Some(StrBytes::from_static_str("")))
                })
                .collect();
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(partitions)
        })
        .collect();
    let mut request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(topics);
    if version >= 1 {
        request = request
            .with_generation_id_or_member_epoch(committer.generation)
            .with_member_id(StrBytes::from_string(committer.member_id.clone()));
    }
    let response = admin
        .send_at(Target::Node(coordinator), &request, version)
        .await?;
    let mut out = BTreeMap::new();
    for t in response.topics {
        for p in t.partitions {
            out.insert((t.name.0.to_string(), p.partition_index), p.error_code);
        }
    }
    Ok(out)
}

/// The first error of a commit's per-partition answers, as an error.
pub fn check_commit(group: &str, results: &BTreeMap<TopicPartition, i16>) -> Result<()> {
    for ((topic, partition), code) in results {
        ToolError::check(
            format!("committing the offset of {topic}-{partition} for group {group}"),
            *code,
            None,
        )?;
    }
    Ok(())
}
