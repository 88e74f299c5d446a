//! Which partitions a topic has and which broker leads each, from Metadata: where the tools
//! send ListOffsets, Produce and Fetch.

use std::collections::BTreeMap;

use crate::client::Admin;
use crate::error::{Result, ToolError};

/// A topic and one of its partitions.
pub type TopicPartition = (String, i32);

/// The leader of every partition of some topics (-1: no leader right now).
pub type Leaders = BTreeMap<TopicPartition, i32>;

/// The leaders of every partition of `topics`; an unknown topic is an error (as the Java
/// admin's describeTopics makes it).
pub async fn leaders(admin: &mut Admin, topics: &[String]) -> Result<Leaders> {
    let response = admin.metadata(Some(topics)).await?;
    let mut out = Leaders::new();
    for topic in &response.topics {
        let name = topic
            .name
            .as_ref()
            .map(|n| n.0.to_string())
            .unwrap_or_default();
        ToolError::check(format!("describing topic {name}"), topic.error_code, None)?;
        for p in &topic.partitions {
            out.insert((name.clone(), p.partition_index), p.leader_id.0);
        }
    }
    Ok(out)
}

/// The partitions of `topics` in `leaders`, in order.
pub fn partitions_of(leaders: &Leaders, topic: &str) -> Vec<i32> {
    leaders
        .keys()
        .filter(|(t, _)| t == topic)
        .map(|(_, p)| *p)
        .collect()
}

/// `partitions` grouped by their leader; partitions without a known leader under -1.
pub fn by_leader<'a>(
    leaders: &Leaders,
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> BTreeMap<i32, Vec<TopicPartition>> {
    let mut out: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
    for tp in partitions {
        let leader = leaders.get(tp).copied().unwrap_or(-1);
        out.entry(leader).or_default().push(tp.clone());
    }
    out
}

/// `partitions` as (topic, [partition]) in order, the shape of every per-topic request.
pub fn grouped<'a>(
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in partitions {
        out.entry(t.clone()).or_default().push(*p);
    }
    out
}

/// Like [`leaders`], leaving out the topics the cluster does not know (a committed offset can
/// outlive its topic).
pub async fn known_leaders(admin: &mut Admin, topics: &[String]) -> Result<Leaders> {
    if topics.is_empty() {
        return Ok(Leaders::new());
    }
    let response = admin.metadata(Some(topics)).await?;
    let mut out = Leaders::new();
    for topic in response.topics.iter().filter(|t| t.error_code == 0) {
        let name = topic
            .name
            .as_ref()
            .map(|n| n.0.to_string())
            .unwrap_or_default();
        for p in &topic.partitions {
            out.insert((name.clone(), p.partition_index), p.leader_id.0);
        }
    }
    Ok(out)
}

/// The distinct topics of `partitions`.
pub fn topic_names<'a>(partitions: impl IntoIterator<Item = &'a TopicPartition>) -> Vec<String> {
    grouped(partitions).into_keys().collect()
}
