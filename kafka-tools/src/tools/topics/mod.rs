//! `kafka-topics`: create, list, describe, alter (add partitions) and delete topics, with
//! Kafka's TopicCommand flags, messages (`Created topic x.`) and failure line (`Error while
//! executing topic command : ...`). `--topic` is a literal name for `--create`, Kafka's
//! include list (a regular expression, [`super::filter`]) everywhere else.

mod describe;

use std::ffi::OsString;

use clap::Parser;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::common::{parse, ConnectArgs};
use super::filter::{self, IncludeList};
use crate::client::Admin;
use crate::error::{Result, ToolError};
use describe::Reports;

const NOT_CONTROLLER: i16 = 41;
const TOPIC_ALREADY_EXISTS: i16 = 36;
/// Bound the controller gets to finish a create, delete or partition change.
const TIMEOUT_MS: i32 = 30_000;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-topics",
    about = "This tool helps to create, delete, describe, or change a topic."
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// List all available topics.
    #[arg(long)]
    list: bool,
    /// List details for the given topics.
    #[arg(long)]
    describe: bool,
    /// Create a new topic.
    #[arg(long)]
    create: bool,
    /// Alter the number of partitions and replica assignment.
    #[arg(long)]
    alter: bool,
    /// Delete a topic.
    #[arg(long)]
    delete: bool,
    /// The topic to create, alter, describe or delete; a regular expression except for --create.
    #[arg(long, value_name = "topic")]
    topic: Option<String>,
    /// The number of partitions for the topic being created or altered.
    #[arg(long, value_name = "# of partitions")]
    partitions: Option<i32>,
    /// The replication factor for each partition in the topic being created.
    #[arg(long = "replication-factor", value_name = "replication factor")]
    replication_factor: Option<i32>,
    /// A list of manual partition-to-broker assignments: broker_id_for_part1_replica1 :
    /// broker_id_for_part1_replica2 , broker_id_for_part2_replica1 : ...
    #[arg(
        long = "replica-assignment",
        value_name = "broker_id_for_part1_replica1 : ..."
    )]
    replica_assignment: Option<String>,
    /// A topic configuration override for the topic being created (repeatable).
    #[arg(long, value_name = "name=value")]
    config: Vec<String>,
    /// If set when altering, deleting or describing topics, the action only runs if the topic
    /// exists.
    #[arg(long = "if-exists")]
    if_exists: bool,
    /// If set when creating topics, the action only runs if the topic does not already exist.
    #[arg(long = "if-not-exists")]
    if_not_exists: bool,
    /// Exclude internal topics when running list or describe command.
    #[arg(long = "exclude-internal")]
    exclude_internal: bool,
    /// If set when describing topics, only show under replicated partitions.
    #[arg(long = "under-replicated-partitions")]
    under_replicated_partitions: bool,
    /// If set when describing topics, only show partitions whose leader is not available.
    #[arg(long = "unavailable-partitions")]
    unavailable_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is less than the
    /// configured minimum.
    #[arg(long = "under-min-isr-partitions")]
    under_min_isr_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is equal to the
    /// configured minimum.
    #[arg(long = "at-min-isr-partitions")]
    at_min_isr_partitions: bool,
    /// If set when describing topics, only show topics that have overridden configs.
    #[arg(long = "topics-with-overrides")]
    topics_with_overrides: bool,
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    check_args(&cli)?;
    execute(&cli).await.map_err(|e| {
        ToolError::Line(format!(
            "Error while executing topic command : {}",
            e.message()
        ))
    })
}

/// Kafka's argument checks, with its messages.
fn check_args(cli: &Cli) -> Result<()> {
    let actions = [cli.create, cli.list, cli.alter, cli.describe, cli.delete];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err(ToolError::usage(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete",
        ));
    }
    if cli.connect.bootstrap_server.is_none() {
        return Err(ToolError::usage("--bootstrap-server must be specified"));
    }
    if !cli.list && !cli.describe && cli.topic.is_none() {
        return Err(ToolError::usage("Missing required argument \"[topic]\""));
    }
    if cli.alter && cli.partitions.is_none() {
        return Err(ToolError::usage(
            "Missing required argument \"[partitions]\"",
        ));
    }
    let invalid = |name: &str, with: &str| {
        Err(ToolError::usage(format!(
            "Option \"[{name}]\" can't be used with option \"[{with}]\""
        )))
    };
    if cli.create && cli.replica_assignment.is_some() {
        if cli.partitions.is_some() {
            return invalid("replica-assignment", "partitions");
        }
        if cli.replication_factor.is_some() {
            return invalid("replica-assignment", "replication-factor");
        }
    }
    if !cli.create && !cli.alter {
        if !cli.config.is_empty() {
            return invalid("config", action(cli));
        }
        if cli.partitions.is_some() {
            return invalid("partitions", action(cli));
        }
        if cli.replica_assignment.is_some() {
            return invalid("replica-assignment", action(cli));
        }
    }
    if cli.alter && !cli.config.is_empty() {
        return Err(ToolError::usage(
            "Option \"[config]\" can't be used with option \"[alter]\" (To alter topic \
             configurations, the kafka-configs tool can be used.)",
        ));
    }
    if !cli.create && cli.replication_factor.is_some() {
        return invalid("replication-factor", action(cli));
    }
    if !cli.create && cli.if_not_exists {
        return invalid("if-not-exists", action(cli));
    }
    if (cli.create || cli.list) && cli.if_exists {
        return invalid("if-exists", action(cli));
    }
    let reports = [
        cli.under_replicated_partitions,
        cli.unavailable_partitions,
        cli.under_min_isr_partitions,
        cli.at_min_isr_partitions,
    ];
    let n = reports.iter().filter(|r| **r).count();
    if (n > 0 || cli.topics_with_overrides) && !cli.describe {
        return Err(ToolError::usage(
            "the partition report options and --topics-with-overrides go with --describe",
        ));
    }
    if n > 1 || (n == 1 && cli.topics_with_overrides) {
        return Err(ToolError::usage(
            "only one of --under-replicated-partitions, --unavailable-partitions, \
             --under-min-isr-partitions, --at-min-isr-partitions, --topics-with-overrides",
        ));
    }
    Ok(())
}

fn action(cli: &Cli) -> &'static str {
    match (cli.list, cli.describe, cli.delete, cli.alter) {
        (true, ..) => "list",
        (_, true, ..) => "describe",
        (_, _, true, _) => "delete",
        (_, _, _, true) => "alter",
        _ => "create",
    }
}

async fn execute(cli: &Cli) -> Result<()> {
    let mut admin = cli.connect.admin().await?;
    if cli.create {
        return create(&mut admin, cli).await;
    }
    let metadata = admin.metadata(None).await?;
    let topics = selected(&metadata, cli)?;
    if cli.list {
        println!("{}", topics.join("\n"));
        return Ok(());
    }
    // --describe, --alter and --delete name topics that must exist, unless --if-exists.
    if let Some(requested) = &cli.topic {
        if topics.is_empty() && !cli.if_exists && !requested.is_empty() {
            return Err(ToolError::usage(format!(
                "Topic '{requested}' does not exist as expected"
            )));
        }
    }
    if cli.describe {
        let reports = Reports {
            under_replicated: cli.under_replicated_partitions,
            unavailable: cli.unavailable_partitions,
            under_min_isr: cli.under_min_isr_partitions,
            at_min_isr: cli.at_min_isr_partitions,
            topics_with_overrides: cli.topics_with_overrides,
        };
        return describe::describe(&mut admin, &metadata, &topics, reports).await;
    }
    if topics.is_empty() {
        return Ok(());
    }
    if cli.alter {
        return alter(&mut admin, cli, &metadata, &topics).await;
    }
    delete(&mut admin, &topics).await
}

/// The topics `--topic` (and `--exclude-internal`) select, sorted.
fn selected(metadata: &MetadataResponse, cli: &Cli) -> Result<Vec<String>> {
    let all: Vec<String> = metadata
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    let include = cli.topic.as_deref().map(IncludeList::new).transpose()?;
    Ok(filter::select(&all, include.as_ref(), cli.exclude_internal))
}

/// `--replica-assignment 1:2,2:3`: one replica list per partition, in order.
fn parse_assignment(text: &str) -> Result<Vec<Vec<i32>>> {
    let mut out: Vec<Vec<i32>> = Vec::new();
    for (i, part) in text.split(',').enumerate() {
        let brokers = part
            .split(':')
            .map(|b| {
                b.trim()
                    .parse::<i32>()
                    .map_err(|_| ToolError::usage(format!("For input string: \"{}\"", b.trim())))
            })
            .collect::<Result<Vec<i32>>>()?;
        let mut seen = std::collections::BTreeSet::new();
        let duplicates: Vec<String> = brokers
            .iter()
            .filter(|b| !seen.insert(**b))
            .map(|b| b.to_string())
            .collect();
        if !duplicates.is_empty() {
            return Err(ToolError::usage(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                duplicates.join(",")
            )));
        }
        if let Some(first) = out.first() {
            if first.len() != brokers.len() {
                return Err(ToolError::usage(format!(
                    "Partition {i} has different replication factor: {brokers:?}"
                )));
            }
        }
        out.push(brokers);
    }
    Ok(out)
}

/// `--config k=v`, as Kafka splits them (exactly one `=`, spaces around it dropped).
fn parse_configs(configs: &[String]) -> Result<Vec<(String, String)>> {
    configs
        .iter()
        .map(|c| {
            let parts: Vec<&str> = c.split('=').collect();
            match parts.as_slice() {
                [k, v] => Ok((k.trim().to_owned(), v.trim().to_owned())),
                _ => Err(ToolError::usage(
                    "Invalid topic config: all configs to be added must be in the format \"key=val\".",
                )),
            }
        })
        .collect()
}

fn name(topic: &str) -> TopicName {
    StrBytes::from_string(topic.to_owned()).into()
}

fn brokers(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|b| BrokerId(*b)).collect()
}

async fn create(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let topic = cli.topic.clone().unwrap_or_default();
    if topic.contains('.') || topic.contains('_') {
        println!(
            "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore \
             ('_') could collide. To avoid issues it is best to use either, but not both."
        );
    }
    if cli
        .replication_factor
        .is_some_and(|rf| !(1..=i32::from(i16::MAX)).contains(&rf))
    {
        return Err(ToolError::usage(format!(
            "The replication factor must be between 1 and {} inclusive",
            i16::MAX
        )));
    }
    if cli.partitions.is_some_and(|p| p < 1) {
        return Err(ToolError::usage("The partitions must be greater than 0"));
    }
    let configs = parse_configs(&cli.config)?;
    let mut creatable = CreatableTopic::default()
        .with_name(name(&topic))
        .with_num_partitions(cli.partitions.unwrap_or(-1))
        .with_replication_factor(cli.replication_factor.map_or(-1, |rf| rf as i16))
        .with_configs(
            configs
                .into_iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k))
                        .with_value(Some(StrBytes::from_string(v)))
                })
                .collect(),
        );
    if let Some(text) = &cli.replica_assignment {
        let assignment = parse_assignment(text)?;
        creatable = creatable
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(
                assignment
                    .iter()
                    .enumerate()
                    .map(|(i, replicas)| {
                        CreatableReplicaAssignment::default()
                            .with_partition_index(i as i32)
                            .with_broker_ids(brokers(replicas))
                    })
                    .collect(),
            );
    }
    let request = CreateTopicsRequest::default()
        .with_topics(vec![creatable])
        .with_timeout_ms(TIMEOUT_MS);
    let response = admin
        .send_controller(&request, |r| {
            r.topics.iter().any(|t| t.error_code == NOT_CONTROLLER)
        })
        .await?;
    for result in &response.topics {
        if result.error_code == TOPIC_ALREADY_EXISTS && cli.if_not_exists {
            return Ok(());
        }
        ToolError::check(
            format!("creating topic {topic}"),
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    println!("Created topic {topic}.");
    Ok(())
}

async fn alter(
    admin: &mut Admin,
    cli: &Cli,
    metadata: &MetadataResponse,
    topics: &[String],
) -> Result<()> {
    let count = cli.partitions.unwrap_or_default();
    let assignment = cli
        .replica_assignment
        .as_deref()
        .map(parse_assignment)
        .transpose()?;
    let request = CreatePartitionsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    let current = metadata
                        .topics
                        .iter()
                        .find(|m| m.name.as_ref().map(|n| n.as_str()) == Some(t.as_str()))
                        .map_or(0, |m| m.partitions.len());
                    // The list names every partition; only the new ones are sent.
                    let new = assignment.as_ref().map(|a| {
                        a.iter()
                            .skip(current)
                            .map(|r| {
                                CreatePartitionsAssignment::default().with_broker_ids(brokers(r))
                            })
                            .collect()
                    });
                    CreatePartitionsTopic::default()
                        .with_name(name(t))
                        .with_count(count)
                        .with_assignments(new)
                })
                .collect(),
        );
    let response = admin
        .send_controller(&request, |r| {
            r.results.iter().any(|t| t.error_code == NOT_CONTROLLER)
        })
        .await?;
    for result in &response.results {
        ToolError::check(
            format!("adding partitions to {}", result.name.as_str()),
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    Ok(())
}

async fn delete(admin: &mut Admin, topics: &[String]) -> Result<()> {
    let version = admin.version::<DeleteTopicsRequest>()?;
    let mut request = DeleteTopicsRequest::default().with_timeout_ms(TIMEOUT_MS);
    if version >= 6 {
        request = request.with_topics(
            topics
                .iter()
                .map(|t| {
                    kafka_protocol::messages::delete_topics_request::DeleteTopicState::default()
                        .with_name(Some(name(t)))
                })
                .collect(),
        );
    } else {
        request = request.with_topic_names(topics.iter().map(|t| name(t)).collect());
    }
    let response = admin
        .send_controller(&request, |r| {
            r.responses.iter().any(|t| t.error_code == NOT_CONTROLLER)
        })
        .await?;
    for result in &response.responses {
        ToolError::check(
            format!(
                "deleting topic {}",
                result.name.as_ref().map(|n| n.as_str()).unwrap_or("")
            ),
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_assignments_as_kafka_parses_them() {
        assert_eq!(
            parse_assignment("1:2, 2:3,3:1").ok(),
            Some(vec![vec![1, 2], vec![2, 3], vec![3, 1]])
        );
        let e = parse_assignment("1:1").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("Partition replica lists may not contain duplicate entries: 1")
        );
        assert!(parse_assignment("1:2,3").is_err());
        assert!(parse_assignment("a").is_err());
    }

    #[test]
    fn configs_need_exactly_one_equals() {
        assert_eq!(
            parse_configs(&["retention.ms = 100".into()]).ok(),
            Some(vec![("retention.ms".into(), "100".into())])
        );
        assert!(parse_configs(&["a=b=c".into()]).is_err());
        assert!(parse_configs(&["a".into()]).is_err());
    }
}
