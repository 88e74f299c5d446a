//! OffsetCommit (API 8, v0–8): validates the committer (member of the current generation, or a
//! simple commit with generation -1 on a group without members) and writes every offset of
//! the request to ZooKeeper in one multi.

use coordinator::offsets::{CommittedOffset, OffsetCommit};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use crate::context::RequestContext;
use crate::group::coordinator::{wall_ms, OFFSET_METADATA_MAX_BYTES};
use crate::group::{live_ids, GroupError};

/// Per-partition checks that do not involve the group.
fn check_partition(
    ctx: RequestContext<'_>,
    topic: &str,
    partition: i32,
    metadata: Option<&str>,
) -> Result<(), GroupError> {
    if ctx.broker.metadata.partition(topic, partition).is_none() {
        return Err(GroupError::UnknownTopicOrPartition);
    }
    if metadata.is_some_and(|m| m.len() > OFFSET_METADATA_MAX_BYTES) {
        return Err(GroupError::OffsetMetadataTooLarge);
    }
    Ok(())
}

/// A topic deleted while its commit was being written: the controller removed the topic's
/// offsets when the deletion completed, possibly before this write landed, so they are removed
/// again here rather than left for a topic created later under the same name.
async fn forget_deleted_topics(ctx: RequestContext<'_>, group: &str, commits: &[OffsetCommit]) {
    let mut topics: Vec<&str> = commits.iter().map(|c| c.topic.as_str()).collect();
    topics.dedup();
    for topic in topics {
        if ctx.broker.metadata.topic(topic).is_some() {
            continue;
        }
        let zk = ctx.broker.zk();
        if let Err(e) = coordinator::offsets::delete_group_topic_offsets(&zk, group, topic).await {
            tracing::warn!(group, topic, error = %e, "removing a deleted topic's offsets failed");
        }
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(group = %req.group_id.0, v))]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: OffsetCommitRequest,
    v: i16,
) -> OffsetCommitResponse {
    let group = req.group_id.0.to_string();
    let groups = &ctx.broker.groups;
    let now = wall_ms();
    // (topic, partition, per-partition error) in request order.
    let mut results: Vec<(String, i32, Result<(), GroupError>)> = Vec::new();
    let mut commits = Vec::new();
    for t in &req.topics {
        for p in &t.partitions {
            let topic = t.name.0.to_string();
            let check = check_partition(
                ctx,
                &topic,
                p.partition_index,
                p.committed_metadata.as_deref(),
            );
            if check.is_ok() {
                let timestamp = if v == 1 && p.commit_timestamp >= 0 {
                    p.commit_timestamp
                } else {
                    now
                };
                commits.push(OffsetCommit {
                    topic: topic.clone(),
                    partition: p.partition_index,
                    committed: CommittedOffset {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p
                            .committed_metadata
                            .as_deref()
                            .unwrap_or_default()
                            .to_string(),
                        commit_timestamp: timestamp,
                    },
                });
            }
            results.push((topic, p.partition_index, check));
        }
    }
    let group_result = match groups.check_owner(&group, &live_ids(&ctx.broker.metadata)) {
        Err(e) => Err(e),
        Ok(()) if commits.is_empty() => Ok(()),
        Ok(()) => {
            groups
                .commit(
                    &group,
                    &req.member_id,
                    req.group_instance_id.as_deref(),
                    req.generation_id_or_member_epoch,
                    &commits,
                )
                .await
        }
    };
    if group_result.is_ok() {
        forget_deleted_topics(ctx, &group, &commits).await;
    }
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
    for (topic, partition, check) in results {
        let error = check.and(group_result);
        let p = OffsetCommitResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(crate::group::error::result_code(&error));
        match topics.last_mut() {
            Some(last) if last.name.0.as_str() == topic => last.partitions.push(p),
            _ => topics.push(
                OffsetCommitResponseTopic::default()
                    .with_name(kafka_protocol::messages::TopicName(topic.into()))
                    .with_partitions(vec![p]),
            ),
        }
    }
    OffsetCommitResponse::default().with_topics(topics)
}
