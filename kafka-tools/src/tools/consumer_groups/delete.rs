//! `--delete` (DeleteGroups, each group at its coordinator) and `--delete-offsets`
//! (OffsetDelete for some topics or partitions of one group), with Kafka's messages.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{DeleteGroupsRequest, GroupId, OffsetDeleteRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::reset::parse_topic_partitions;
use super::{pad, print_error, service, Cli};
use crate::client::topics::{self, TopicPartition};
use crate::client::{Admin, Target};
use crate::error::{KafkaError, Result};

pub(super) async fn delete_groups(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let groups = service::selected_groups(admin, cli).await?;
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for group in groups {
        let coordinator = admin.find_coordinator(&group, 0).await?;
        let request = DeleteGroupsRequest::default()
            .with_groups_names(vec![GroupId(StrBytes::from_string(group.clone()))]);
        let response = admin.send(Target::Node(coordinator), &request).await?;
        let code = response
            .results
            .iter()
            .find(|r| r.group_id.0.as_str() == group)
            .map_or(0, |r| r.error_code);
        match KafkaError::from_code(code, None) {
            None => deleted.push(group),
            Some(e) => failed.push((group, e)),
        }
    }
    let quoted = |groups: &[String]| format!("'{}'", groups.join(", "));
    if failed.is_empty() {
        println!(
            "Deletion of requested consumer groups ({}) was successful.",
            quoted(&deleted)
        );
        return Ok(());
    }
    print_error("Deletion of some consumer groups failed:");
    for (group, error) in &failed {
        println!(
            "* Group '{group}' could not be deleted due to: {}",
            java_exception(error)
        );
    }
    if !deleted.is_empty() {
        println!(
            "\nThese consumer groups were deleted successfully: {}",
            quoted(&deleted)
        );
    }
    Ok(())
}

pub(super) async fn delete_offsets(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let group = cli.group.first().cloned().unwrap_or_default();
    // Per partition: None (deleted) or the error; partition -1 for a topic that is unknown.
    let mut results: BTreeMap<TopicPartition, Option<String>> = BTreeMap::new();
    let mut partitions = Vec::new();
    for arg in &cli.topic {
        match parse_topic_partitions(arg)? {
            (topic, Some(parts)) => {
                partitions.extend(parts.into_iter().map(|p| (topic.clone(), p)))
            }
            (topic, None) => match topics::leaders(admin, std::slice::from_ref(&topic)).await {
                Ok(leaders) => partitions.extend(leaders.into_keys()),
                Err(e) => {
                    results.insert((topic, -1), Some(e.to_string()));
                }
            },
        }
    }
    partitions.sort();
    partitions.dedup();
    let coordinator = admin.find_coordinator(&group, 0).await?;
    let request = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.clone())))
        .with_topics(
            topics::grouped(&partitions)
                .into_iter()
                .map(|(topic, parts)| {
                    OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(
                            parts
                                .into_iter()
                                .map(|p| {
                                    OffsetDeleteRequestPartition::default().with_partition_index(p)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    let response = admin.send(Target::Node(coordinator), &request).await?;
    let mut top = response.error_code;
    for t in &response.topics {
        for p in &t.partitions {
            let error = KafkaError::from_code(p.error_code, None);
            if top == 0 {
                if let Some(e) = &error {
                    top = e.code;
                }
            }
            results.insert(
                (t.name.0.to_string(), p.partition_index),
                error.map(|e| e.to_string()),
            );
        }
    }
    if response.error_code != 0 {
        let error = KafkaError::from_code(response.error_code, None).map(|e| e.to_string());
        for tp in &partitions {
            results.insert(tp.clone(), error.clone());
        }
    }
    if top == 0 && results.values().any(Option::is_some) {
        top = ResponseError::UnknownTopicOrPartition.code();
    }
    report_top(&group, &cli.topic, top);
    let line = |cols: [&str; 3]| {
        print!(
            "\n{} {} {}",
            pad(cols[0], 30),
            pad(cols[1], 15),
            pad(cols[2], 15)
        )
    };
    line(["TOPIC", "PARTITION", "STATUS"]);
    let mut rows: Vec<_> = results.into_iter().collect();
    rows.sort_by_key(|((t, p), _)| format!("{t}{p}"));
    for ((topic, partition), error) in rows {
        let partition = if partition >= 0 {
            partition.to_string()
        } else {
            "Not Provided".to_owned()
        };
        let status = match error {
            Some(e) => format!("Error: :{e}"),
            None => "Successful".to_owned(),
        };
        line([&topic, &partition, &status]);
    }
    println!();
    Ok(())
}

/// How Kafka's tool names a group error: the Java exception it stands for.
fn java_exception(error: &KafkaError) -> String {
    let known = match ResponseError::try_from_code(error.code) {
        Some(ResponseError::NonEmptyGroup) => "GroupNotEmptyException: The group is not empty.",
        Some(ResponseError::GroupIdNotFound) => {
            "GroupIdNotFoundException: The group id does not exist."
        }
        Some(ResponseError::InvalidGroupId) => {
            "InvalidGroupIdException: The configured groupId is invalid."
        }
        Some(ResponseError::GroupAuthorizationFailed) => {
            "GroupAuthorizationException: Group authorization failed."
        }
        _ => return error.to_string(),
    };
    format!("org.apache.kafka.common.errors.{known}")
}

/// Kafka's message for the request's outcome as a whole.
fn report_top(group: &str, topics: &[String], code: i16) {
    match ResponseError::try_from_code(code) {
        None => println!(
            "Request succeed for deleting offsets with topic {} group {group}",
            topics.join(", ")
        ),
        Some(ResponseError::InvalidGroupId) => print_error(&format!("'{group}' is not valid.")),
        Some(ResponseError::GroupIdNotFound) => print_error(&format!("'{group}' does not exist.")),
        Some(ResponseError::GroupAuthorizationFailed) => {
            print_error(&format!("Access to '{group}' is not authorized."))
        }
        Some(ResponseError::NonEmptyGroup) => print_error(&format!(
            "Deleting offsets of a consumer group '{group}' is forbidden if the group is not empty."
        )),
        Some(
            ResponseError::GroupSubscribedToTopic
            | ResponseError::TopicAuthorizationFailed
            | ResponseError::UnknownTopicOrPartition,
        ) => print_error("Encounter some partition level error, see the follow-up details:"),
        Some(other) => print_error(&format!("Encounter some unknown error: {other}")),
    }
}
