//! `kafka-topics --describe`: one line per topic (`Topic: x\tTopicId: ..\tPartitionCount: ..
//! ReplicationFactor: ..\tConfigs: ..`) and one per partition (`\tTopic: x\tPartition: 0\tLeader: 1
//! Replicas: 1,2\tIsr: 1,2`), or only the partitions a report flag asks for
//! (`--under-replicated-partitions`, ...), as Kafka's TopicCommand prints them.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, ListPartitionReassignmentsRequest, MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::{Admin, Target};
use crate::error::{Result, ToolError};

/// DescribeConfigs' resource type of a topic, and the source of a default value.
const TOPIC_RESOURCE: i8 = 2;
const DEFAULT_CONFIG: i8 = 5;

/// Which partitions to print.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Reports {
    pub(super) under_replicated: bool,
    pub unavailable: bool,
    pub under_min_isr: bool,
    pub at_min_isr: bool,
    pub topics_with_overrides: bool,
}

impl Reports {
    /// No report flag: the topic lines are printed too.
    fn describe_configs(&self) -> bool {
        !(self.under_replicated || self.unavailable || self.under_min_isr || self.at_min_isr)
    }
}

/// A topic's configs as DescribeConfigs gives them: (name, value, is default).
type Configs = Vec<(String, Option<String>, bool)>;

/// An ongoing reassignment of a partition: (replicas, adding, removing).
type Reassignment = (Vec<i32>, Vec<i32>, Vec<i32>);

/// Describes `topics` (already selected, sorted) from `metadata`.
pub(super) async fn describe(
    admin: &mut Admin,
    metadata: &MetadataResponse,
    topics: &[String],
    reports: Reports,
) -> Result<()> {
    if topics.is_empty() {
        return Ok(());
    }
    let configs = topic_configs(admin, topics).await?;
    let reassignments = reassignments(admin, topics).await?;
    let live: BTreeSet<i32> = admin.nodes().keys().copied().collect();
    for name in topics {
        let Some(topic) = metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some(name.as_str()))
        else {
            continue;
        };
        let empty = Vec::new();
        let configs = configs.get(name).unwrap_or(&empty);
        print_topic(topic, name, configs, &reassignments, &live, reports);
    }
    Ok(())
}

fn print_topic(
    topic: &MetadataResponseTopic,
    name: &str,
    configs: &Configs,
    reassignments: &BTreeMap<(String, i32), Reassignment>,
    live: &BTreeSet<i32>,
    reports: Reports,
) {
    let mut partitions: Vec<&MetadataResponsePartition> = topic.partitions.iter().collect();
    partitions.sort_by_key(|p| p.partition_index);
    let reassignment =
        |p: &MetadataResponsePartition| reassignments.get(&(name.to_owned(), p.partition_index));
    let overridden: Vec<String> = configs
        .iter()
        .filter(|(_, _, default)| !default)
        .map(|(k, v, _)| format!("{k}={}", v.as_deref().unwrap_or("null")))
        .collect();
    if reports.describe_configs() && (!reports.topics_with_overrides || !overridden.is_empty()) {
        let rf = partitions
            .first()
            .map(|p| replication_factor(p, reassignment(p)))
            .unwrap_or(0);
        let mut line = format!("Topic: {name}");
        if !topic.topic_id.is_nil() {
            line.push_str(&format!("\tTopicId: {}", topic_id(&topic.topic_id)));
        }
        line.push_str(&format!(
            "\tPartitionCount: {}\tReplicationFactor: {rf}\tConfigs: {}",
            partitions.len(),
            overridden.join(",")
        ));
        println!("{line}");
    }
    if reports.topics_with_overrides {
        return;
    }
    let min_isr = configs
        .iter()
        .find(|(k, _, _)| k == "min.insync.replicas")
        .and_then(|(_, v, _)| v.as_deref())
        .and_then(|v| v.parse::<usize>().ok());
    for p in partitions {
        let reassignment = reassignment(p);
        let has_leader = p.leader_id.0 >= 0;
        let isr = p.isr_nodes.len();
        let print = reports.describe_configs()
            || (reports.under_replicated && replication_factor(p, reassignment) > isr)
            || (reports.unavailable && (!has_leader || !live.contains(&p.leader_id.0)))
            || (reports.under_min_isr && (!has_leader || min_isr.is_some_and(|m| isr < m)))
            || (reports.at_min_isr && min_isr == Some(isr));
        if print {
            println!("{}", partition_line(name, p, reassignment));
        }
    }
}

fn ids(ids: impl IntoIterator<Item = i32>) -> String {
    ids.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One partition's line.
fn partition_line(
    topic: &str,
    p: &MetadataResponsePartition,
    reassignment: Option<&Reassignment>,
) -> String {
    let leader = if p.leader_id.0 >= 0 {
        p.leader_id.0.to_string()
    } else {
        "none".to_owned()
    };
    let mut line = format!(
        "\tTopic: {topic}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}",
        p.partition_index,
        ids(p.replica_nodes.iter().map(|b| b.0)),
        ids(p.isr_nodes.iter().map(|b| b.0)),
    );
    if let Some((_, adding, removing)) = reassignment {
        line.push_str(&format!(
            "\tAdding Replicas: {}\tRemoving Replicas: {}",
            ids(adding.iter().copied()),
            ids(removing.iter().copied())
        ));
    }
    if !p.offline_replicas.is_empty() {
        line.push_str(&format!(
            "\tOffline: {}",
            ids(p.offline_replicas.iter().map(|b| b.0))
        ));
    }
    line
}

/// The replication factor: while a reassignment is under way, the target's size.
fn replication_factor(p: &MetadataResponsePartition, reassignment: Option<&Reassignment>) -> usize {
    if let Some((replicas, adding, removing)) = reassignment {
        let changing = p
            .replica_nodes
            .iter()
            .any(|r| adding.contains(&r.0) || removing.contains(&r.0));
        if changing {
            return replicas.len().saturating_sub(adding.len());
        }
    }
    p.replica_nodes.len()
}

/// A topic id as Kafka prints it: URL-safe base64 of its 16 bytes, unpadded.
fn topic_id(id: &uuid::Uuid) -> String {
    base64url(id.as_bytes())
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Every topic's configs (one DescribeConfigs for all).
async fn topic_configs(admin: &mut Admin, topics: &[String]) -> Result<BTreeMap<String, Configs>> {
    let request = DescribeConfigsRequest::default().with_resources(
        topics
            .iter()
            .map(|t| {
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(t.clone()))
                    .with_configuration_keys(None)
            })
            .collect(),
    );
    let version = admin.version::<DescribeConfigsRequest>()?;
    let response = admin.send_at(Target::Any, &request, version).await?;
    let mut out = BTreeMap::new();
    for result in response.results {
        let name = result.resource_name.to_string();
        ToolError::check(
            format!("describing the configs of topic {name}"),
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
        let configs = result
            .configs
            .into_iter()
            .map(|c| {
                let default = if version >= 1 {
                    c.config_source == DEFAULT_CONFIG
                } else {
                    c.is_default
                };
                (c.name.to_string(), c.value.map(|v| v.to_string()), default)
            })
            .collect();
        out.insert(name, configs);
    }
    Ok(out)
}

/// Ongoing reassignments, when the cluster can list them (as Kafka, nothing when it cannot).
async fn reassignments(
    admin: &mut Admin,
    topics: &[String],
) -> Result<BTreeMap<(String, i32), Reassignment>> {
    if admin.served(ApiKey::ListPartitionReassignments).is_none() {
        return Ok(BTreeMap::new());
    }
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(None);
    let response = admin.send(Target::Controller, &request).await?;
    if response.error_code != 0 {
        return Ok(BTreeMap::new());
    }
    let mut out = BTreeMap::new();
    for t in response.topics {
        if !topics.iter().any(|n| n.as_str() == t.name.as_str()) {
            continue;
        }
        for p in t.partitions {
            let list =
                |v: Vec<kafka_protocol::messages::BrokerId>| v.into_iter().map(|b| b.0).collect();
            out.insert(
                (t.name.to_string(), p.partition_index),
                (
                    list(p.replicas),
                    list(p.adding_replicas),
                    list(p.removing_replicas),
                ),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_print_as_kafka_does() {
        // Kafka's Uuid.toString: URL-safe base64 without padding (22 characters).
        let bytes = [0u8; 16];
        assert_eq!(base64url(&bytes), "AAAAAAAAAAAAAAAAAAAAAA");
        let bytes: Vec<u8> = (0..16).map(|i| i * 16 + 15).collect();
        assert_eq!(base64url(&bytes).len(), 22);
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
