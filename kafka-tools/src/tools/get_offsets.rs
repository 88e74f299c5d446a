//! `kafka-get-offsets`: the earliest, latest, max-timestamp or by-time offset of topic
//! partitions (ListOffsets to each partition's leader), printed as Kafka's GetOffsetShell
//! prints them: `topic:partition:offset`, sorted.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::Parser;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest};
use kafka_protocol::protocol::StrBytes;

use super::common::{parse, ConnectArgs};
use super::filter::{self, IncludeList};
use crate::client::Target;
use crate::error::{Result, ToolError};

#[derive(Parser, Debug)]
#[command(
    name = "kafka-get-offsets",
    about = "An interactive shell for getting topic-partition offsets."
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The topic to get the offsets for; a regular expression. All topics without it.
    #[arg(long, value_name = "topic")]
    topic: Option<String>,
    /// Comma separated list of partition ids to get the offsets for (all without it).
    #[arg(long, value_name = "partition ids")]
    partitions: Option<String>,
    /// -1 or latest, -2 or earliest, -3 or max-timestamp, or a timestamp in milliseconds.
    #[arg(
        long,
        value_name = "<timestamp> / -1 or latest / -2 or earliest / -3 or max-timestamp",
        default_value = "latest",
        allow_hyphen_values = true
    )]
    time: String,
    /// Exclude internal topics.
    #[arg(long = "exclude-internal-topics")]
    exclude_internal_topics: bool,
}

fn parse_time(time: &str) -> Result<i64> {
    match time.trim().to_ascii_lowercase().as_str() {
        "latest" => Ok(-1),
        "earliest" => Ok(-2),
        "max-timestamp" => Ok(-3),
        other => other.parse().map_err(|_| {
            ToolError::usage(format!(
                "Malformed time argument {time}, please use -1 or latest / -2 or earliest / -3 \
                 or max-timestamp, or a specified long format timestamp"
            ))
        }),
    }
}

fn parse_partitions(text: &str) -> Result<Vec<i32>> {
    text.split(',')
        .map(|p| {
            p.trim().parse::<i32>().map_err(|_| {
                ToolError::usage(format!(
                    "--partitions expects a comma separated list of numeric partition ids, but \
                     received: {text}"
                ))
            })
        })
        .collect()
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    execute(&cli)
        .await
        .map_err(|e| ToolError::Line(format!("Error occurred: {}", e.message())))
}

async fn execute(cli: &Cli) -> Result<()> {
    let timestamp = parse_time(&cli.time)?;
    let wanted = cli
        .partitions
        .as_deref()
        .map(parse_partitions)
        .transpose()?;
    let include = cli.topic.as_deref().map(IncludeList::new).transpose()?;
    let mut admin = cli.connect.admin().await?;
    let metadata = admin.metadata(None).await?;
    let all: Vec<String> = metadata
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    let topics = filter::select(&all, include.as_ref(), cli.exclude_internal_topics);
    // leader → topic → partitions
    let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    let mut matched = 0;
    for t in &metadata.topics {
        let Some(name) = t.name.as_ref().map(|n| n.to_string()) else {
            continue;
        };
        if !topics.contains(&name) {
            continue;
        }
        for p in &t.partitions {
            if wanted
                .as_ref()
                .is_some_and(|w| !w.contains(&p.partition_index))
            {
                continue;
            }
            matched += 1;
            if p.leader_id.0 < 0 {
                eprintln!(
                    "Skip getting offsets for topic-partition {name}:{} due to error: no leader",
                    p.partition_index
                );
                continue;
            }
            by_leader
                .entry(p.leader_id.0)
                .or_default()
                .entry(name.clone())
                .or_default()
                .push(p.partition_index);
        }
    }
    if matched == 0 {
        return Err(ToolError::usage(
            "Could not match any topic-partitions with the specified filters",
        ));
    }
    let mut offsets: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (leader, topics) in by_leader {
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        ListOffsetsTopic::default()
                            .with_name(StrBytes::from_string(name).into())
                            .with_partitions(
                                partitions
                                    .into_iter()
                                    .map(|p| {
                                        ListOffsetsPartition::default()
                                            .with_partition_index(p)
                                            .with_timestamp(timestamp)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let response = admin.send(Target::Node(leader), &request).await?;
        for t in response.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    let e = crate::error::KafkaError::from_code(p.error_code, None);
                    eprintln!(
                        "Skip getting offsets for topic-partition {}:{} due to error: {}",
                        t.name.as_str(),
                        p.partition_index,
                        e.map(|e| e.to_string()).unwrap_or_default()
                    );
                    continue;
                }
                offsets.insert((t.name.to_string(), p.partition_index), p.offset);
            }
        }
    }
    for ((topic, partition), offset) in offsets {
        println!("{topic}:{partition}:{offset}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_partitions() {
        assert_eq!(parse_time("-1").ok(), Some(-1));
        assert_eq!(parse_time("earliest").ok(), Some(-2));
        assert_eq!(parse_time("max-timestamp").ok(), Some(-3));
        assert_eq!(parse_time("1700000000000").ok(), Some(1_700_000_000_000));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_partitions("0, 2").ok(), Some(vec![0, 2]));
        assert!(parse_partitions("0-2").is_err());
    }
}
