//! OffsetFetch (API 9, v0–8): committed offsets from ZooKeeper, -1 where none was committed;
//! `topics = null` (v2+) asks for every partition the group has committed; v8 batches groups.

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::context::RequestContext;
use crate::group::{live_ids, GroupError};

/// One partition's answer: (offset, leader epoch, metadata).
type Fetched = Vec<((String, i32), (i64, i32, String))>;

async fn fetch(
    ctx: RequestContext<'_>,
    group: &str,
    wanted: Option<Vec<(String, i32)>>,
) -> Result<Fetched, GroupError> {
    let groups = &ctx.broker.groups;
    groups.check_owner(group, &live_ids(&ctx.broker.metadata))?;
    let found = groups.fetch_offsets(group, wanted.as_deref()).await?;
    Ok(found
        .into_iter()
        .map(|(tp, c)| {
            let v = match c {
                Some(c) => (c.offset, c.leader_epoch, c.metadata),
                None => (-1, -1, String::new()),
            };
            (tp, v)
        })
        .collect())
}

/// Groups consecutive (topic, partition) entries by topic.
fn by_topic<P>(
    fetched: Fetched,
    mut make: impl FnMut(i32, i64, i32, String) -> P,
) -> Vec<(String, Vec<P>)> {
    let mut topics: Vec<(String, Vec<P>)> = Vec::new();
    for ((topic, partition), (offset, epoch, metadata)) in fetched {
        let p = make(partition, offset, epoch, metadata);
        match topics.last_mut() {
            Some((name, parts)) if *name == topic => parts.push(p),
            _ => topics.push((topic, vec![p])),
        }
    }
    topics
}

fn wanted_of<'a>(
    topics: impl Iterator<Item = (&'a TopicName, &'a Vec<i32>)>,
) -> Vec<(String, i32)> {
    topics
        .flat_map(|(name, parts)| parts.iter().map(move |p| (name.0.to_string(), *p)))
        .collect()
}

#[tracing::instrument(level = "debug", skip_all, fields(v))]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: OffsetFetchRequest,
    v: i16,
) -> OffsetFetchResponse {
    if v >= 8 {
        let mut groups = Vec::new();
        for g in req.groups {
            let wanted = g
                .topics
                .as_ref()
                .map(|ts| wanted_of(ts.iter().map(|t| (&t.name, &t.partition_indexes))));
            let result = fetch(ctx, &g.group_id.0, wanted).await;
            let (code, fetched) = match result {
                Ok(f) => (0, f),
                Err(e) => (e.code(), Vec::new()),
            };
            let topics = by_topic(fetched, |partition, offset, epoch, metadata| {
                OffsetFetchResponsePartitions::default()
                    .with_partition_index(partition)
                    .with_committed_offset(offset)
                    .with_committed_leader_epoch(epoch)
                    .with_metadata(Some(StrBytes::from_string(metadata)))
            })
            .into_iter()
            .map(|(name, parts)| {
                OffsetFetchResponseTopics::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(parts)
            })
            .collect();
            groups.push(
                OffsetFetchResponseGroup::default()
                    .with_group_id(GroupId(g.group_id.0))
                    .with_error_code(code)
                    .with_topics(topics),
            );
        }
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = req
        .topics
        .as_ref()
        .map(|ts| wanted_of(ts.iter().map(|t| (&t.name, &t.partition_indexes))));
    let result = fetch(ctx, &req.group_id.0, wanted.clone()).await;
    let (group_error, fetched) = match result {
        Ok(f) => (0, f),
        // v0/v1 have no top-level error: every asked-for partition carries it.
        Err(e) => (
            e.code(),
            wanted
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, (-1, -1, String::new())))
                .collect(),
        ),
    };
    let partition_error = if v < 2 { group_error } else { 0 };
    let topics = by_topic(fetched, |partition, offset, epoch, metadata| {
        let p = OffsetFetchResponsePartition::default()
            .with_partition_index(partition)
            .with_committed_offset(offset)
            .with_metadata(Some(StrBytes::from_string(metadata)))
            .with_error_code(partition_error);
        if v >= 5 {
            p.with_committed_leader_epoch(epoch)
        } else {
            p
        }
    })
    .into_iter()
    .map(|(name, parts)| {
        OffsetFetchResponseTopic::default()
            .with_name(TopicName(StrBytes::from_string(name)))
            .with_partitions(parts)
    })
    .collect();
    let resp = OffsetFetchResponse::default().with_topics(topics);
    if v >= 2 {
        resp.with_error_code(group_error)
    } else {
        resp
    }
}
