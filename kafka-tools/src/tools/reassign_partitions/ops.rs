//! The cluster calls of the tool: ListPartitionReassignments and AlterPartitionReassignments
//! (served by the active controller in ZooKeeper mode), replica sets from Metadata, throttle
//! configs through IncrementalAlterConfigs, log dir sizes through DescribeLogDirs, log dir
//! moves through AlterReplicaLogDirs.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterReplicaLogDirsRequest, BrokerId,
    DescribeLogDirsRequest, IncrementalAlterConfigsRequest, ListPartitionReassignmentsRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::json::TopicPartition;
use super::plan::Ongoing;
use crate::client::{Admin, Target};
use crate::error::{KafkaError, Result, ToolError};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
/// The controller's deadline for a reassignment request (the Admin client's default).
const TIMEOUT_MS: i32 = 30_000;
/// NOT_CONTROLLER answers tolerated (the controller moved) before giving up.
const CONTROLLER_RETRIES: usize = 3;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// What one partition's request came back with.
pub(super) type PartitionErrors = BTreeMap<TopicPartition, KafkaError>;

/// Ongoing reassignments (of `only`'s partitions, or all).
pub(super) async fn list_reassignments(
    admin: &mut Admin,
    only: Option<&BTreeSet<TopicPartition>>,
) -> Result<BTreeMap<TopicPartition, Ongoing>> {
    let topics = only.map(|parts| {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in parts {
            by_topic.entry(t).or_default().push(*p);
        }
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                ListPartitionReassignmentsTopics::default()
                    .with_name(name(t))
                    .with_partition_indexes(ps)
            })
            .collect()
    });
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(topics);
    let mut attempt = 0;
    let response = loop {
        let r = admin.send(Target::Controller, &request).await?;
        if r.error_code == ResponseError::NotController.code() && attempt < CONTROLLER_RETRIES {
            attempt += 1;
            admin.refresh().await?;
            continue;
        }
        break r;
    };
    ToolError::check(
        "listing partition reassignments",
        response.error_code,
        response.error_message.as_deref(),
    )?;
    let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<i32>>();
    Ok(response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    (t.name.0.to_string(), p.partition_index),
                    Ongoing {
                        replicas: ids(&p.replicas),
                        adding: ids(&p.adding_replicas),
                        removing: ids(&p.removing_replicas),
                    },
                )
            })
        })
        .collect())
}

/// Starts (`Some(replicas)`) or cancels (`None`) reassignments; the partitions refused.
pub(super) async fn alter_reassignments(
    admin: &mut Admin,
    targets: &BTreeMap<TopicPartition, Option<Vec<i32>>>,
) -> Result<PartitionErrors> {
    let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
    for ((t, p), replicas) in targets {
        by_topic.entry(t).or_default().push(
            ReassignablePartition::default()
                .with_partition_index(*p)
                .with_replicas(
                    replicas
                        .as_ref()
                        .map(|r| r.iter().map(|b| BrokerId(*b)).collect()),
                ),
        );
    }
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, parts)| {
                    ReassignableTopic::default()
                        .with_name(name(t))
                        .with_partitions(parts)
                })
                .collect(),
        );
    let mut attempt = 0;
    let response = loop {
        let r = admin.send(Target::Controller, &request).await?;
        if r.error_code == ResponseError::NotController.code() && attempt < CONTROLLER_RETRIES {
            attempt += 1;
            admin.refresh().await?;
            continue;
        }
        break r;
    };
    ToolError::check(
        "altering partition reassignments",
        response.error_code,
        response.error_message.as_deref(),
    )?;
    let mut errors = PartitionErrors::new();
    for t in &response.responses {
        for p in &t.partitions {
            if let Some(e) = KafkaError::from_code(p.error_code, p.error_message.as_deref()) {
                errors.insert((t.name.0.to_string(), p.partition_index), e);
            }
        }
    }
    Ok(errors)
}

/// Each partition's replicas and leader (-1: none) of `topics`, from Metadata; a topic the
/// cluster does not know is an error, as in Kafka.
pub(super) async fn describe_topics(
    admin: &mut Admin,
    topics: &BTreeSet<String>,
) -> Result<BTreeMap<TopicPartition, (Vec<i32>, i32)>> {
    let names: Vec<String> = topics.iter().cloned().collect();
    let response = admin.metadata(Some(&names)).await?;
    let mut out = BTreeMap::new();
    for t in &response.topics {
        let topic = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        if t.error_code == ResponseError::UnknownTopicOrPartition.code() {
            return Err(ToolError::usage(format!("Topic {topic} not found.")));
        }
        ToolError::check(format!("describing topic {topic}"), t.error_code, None)?;
        for p in &t.partitions {
            let replicas = p.replica_nodes.iter().map(|b| b.0).collect();
            out.insert(
                (topic.clone(), p.partition_index),
                (replicas, p.leader_id.0),
            );
        }
    }
    Ok(out)
}

/// SETs (`Some`) or DELETEs (`None`) configs of topics and brokers: topic resources go to any
/// broker, a broker's to that broker (as Kafka's Admin client routes them).
pub(super) async fn alter_configs(
    admin: &mut Admin,
    topics: &BTreeMap<String, Vec<(&str, Option<String>)>>,
    brokers: &BTreeMap<i32, Vec<(&str, Option<String>)>>,
) -> Result<()> {
    let resource = |kind: i8, name: String, ops: &[(&str, Option<String>)]| {
        AlterConfigsResource::default()
            .with_resource_type(kind)
            .with_resource_name(text(&name))
            .with_configs(
                ops.iter()
                    .map(|(key, value)| {
                        AlterableConfig::default()
                            .with_name(text(key))
                            .with_config_operation(if value.is_some() { OP_SET } else { OP_DELETE })
                            .with_value(value.as_deref().map(text))
                    })
                    .collect(),
            )
    };
    let mut requests: Vec<(Target, AlterConfigsResource)> = topics
        .iter()
        .map(|(t, ops)| (Target::Any, resource(RESOURCE_TOPIC, t.clone(), ops)))
        .collect();
    requests.extend(brokers.iter().map(|(b, ops)| {
        (
            Target::Node(*b),
            resource(RESOURCE_BROKER, b.to_string(), ops),
        )
    }));
    for (target, r) in requests {
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![r]);
        let response = admin.send(target, &request).await?;
        for r in &response.responses {
            let kind = if r.resource_type == RESOURCE_BROKER {
                "broker"
            } else {
                "topic"
            };
            ToolError::check(
                format!("altering the configs of {kind} {}", r.resource_name),
                r.error_code,
                r.error_message.as_deref(),
            )?;
        }
    }
    Ok(())
}

/// One replica's log in a log dir of a broker, as DescribeLogDirs reports it.
#[derive(Debug, Clone)]
pub(super) struct LogDirReplica {
    pub(super) partition: TopicPartition,
    pub(super) dir: String,
    pub(super) size: i64,
    /// The copy a log dir move is filling (not yet the replica's log).
    pub(super) future: bool,
}

/// The logs `broker` holds of `partitions`, in its live log dirs.
pub(super) async fn log_dir_replicas(
    admin: &mut Admin,
    broker: i32,
    partitions: &BTreeSet<TopicPartition>,
) -> Result<Vec<LogDirReplica>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in partitions {
        by_topic.entry(t).or_default().push(*p);
    }
    let request = DescribeLogDirsRequest::default().with_topics(Some(
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                DescribableLogDirTopic::default()
                    .with_topic(name(t))
                    .with_partitions(ps)
            })
            .collect(),
    ));
    let response = admin.send(Target::Node(broker), &request).await?;
    let mut out = Vec::new();
    for dir in response.results.iter().filter(|d| d.error_code == 0) {
        for t in &dir.topics {
            for p in &t.partitions {
                out.push(LogDirReplica {
                    partition: (t.name.0.to_string(), p.partition_index),
                    dir: dir.log_dir.to_string(),
                    size: p.partition_size,
                    future: p.is_future_key,
                });
            }
        }
    }
    Ok(out)
}

/// Asks `broker` to put its replicas of the partitions in `dirs` (partition → dir); returns
/// the partitions it took, leaving out those it does not hold yet (REPLICA_NOT_AVAILABLE).
pub(super) async fn alter_replica_log_dirs(
    admin: &mut Admin,
    broker: i32,
    dirs: &BTreeMap<TopicPartition, String>,
) -> Result<BTreeSet<TopicPartition>> {
    let mut by_dir: BTreeMap<&str, BTreeMap<&str, Vec<i32>>> = BTreeMap::new();
    for ((t, p), dir) in dirs {
        by_dir
            .entry(dir)
            .or_default()
            .entry(t)
            .or_default()
            .push(*p);
    }
    let request = AlterReplicaLogDirsRequest::default().with_dirs(
        by_dir
            .into_iter()
            .map(|(dir, topics)| {
                AlterReplicaLogDir::default()
                    .with_path(text(dir))
                    .with_topics(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                AlterReplicaLogDirTopic::default()
                                    .with_name(name(t))
                                    .with_partitions(ps)
                            })
                            .collect(),
                    )
            })
            .collect(),
    );
    let response = admin.send(Target::Node(broker), &request).await?;
    let mut taken = BTreeSet::new();
    for t in &response.results {
        for p in &t.partitions {
            let tp = (t.topic_name.0.to_string(), p.partition_index);
            if p.error_code == ResponseError::ReplicaNotAvailable.code() {
                continue;
            }
            ToolError::check(
                format!(
                    "Failed to alter dir for {}-{} on broker {broker}",
                    tp.0, tp.1
                ),
                p.error_code,
                None,
            )?;
            taken.insert(tp);
        }
    }
    Ok(taken)
}
