//! `kafka-delete-records --offset-json-file FILE`: moves partitions' log start offsets
//! (DeleteRecords to each partition's leader), with Kafka's DeleteRecordsCommand input
//! (`{"partitions":[{"topic":"t","partition":0,"offset":5}],"version":1}`) and output
//! (`partition: t-0\tlow_watermark: 5`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::DeleteRecordsRequest;
use kafka_protocol::protocol::StrBytes;
use serde::Deserialize;

use super::common::{parse, ConnectArgs};
use crate::client::Target;
use crate::error::{KafkaError, Result, ToolError};

const TIMEOUT_MS: i32 = 30_000;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-delete-records",
    about = "This tool helps to delete records of the given partitions down to the specified offset."
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The JSON file with offset per partition.
    #[arg(long = "offset-json-file", value_name = "Offset json file path")]
    offset_json_file: PathBuf,
}

#[derive(Deserialize)]
struct OffsetFile {
    version: Option<i64>,
    partitions: Option<Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    topic: String,
    partition: i32,
    offset: i64,
}

/// (topic, partition) → offset, refusing duplicates as Kafka does.
fn parse_offsets(text: &str) -> Result<BTreeMap<(String, i32), i64>> {
    let file: OffsetFile = serde_json::from_str(text)
        .map_err(|_| ToolError::usage("The input string is not a valid JSON"))?;
    match file.version {
        Some(1) | None => {}
        Some(v) => {
            return Err(ToolError::usage(format!(
                "Not supported version field value {v}"
            )))
        }
    }
    let entries = file
        .partitions
        .ok_or_else(|| ToolError::usage("Missing partitions field"))?;
    let mut out = BTreeMap::new();
    let mut duplicates = Vec::new();
    for e in entries {
        if out
            .insert((e.topic.clone(), e.partition), e.offset)
            .is_some()
        {
            duplicates.push(format!("{}-{}", e.topic, e.partition));
        }
    }
    if !duplicates.is_empty() {
        return Err(ToolError::usage(format!(
            "Offset json file contains duplicate topic partitions: {}",
            duplicates.join(",")
        )));
    }
    Ok(out)
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    let text = std::fs::read_to_string(&cli.offset_json_file)
        .map_err(|e| ToolError::io(format!("reading {}", cli.offset_json_file.display()), e))?;
    let offsets = parse_offsets(&text)?;
    let mut admin = cli.connect.admin().await?;
    let topics: Vec<String> = offsets.keys().map(|(t, _)| t.clone()).collect();
    let metadata = admin.metadata(Some(&topics)).await?;
    let leader = |topic: &str, partition: i32| {
        metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some(topic))
            .and_then(|t| t.partitions.iter().find(|p| p.partition_index == partition))
            .map(|p| p.leader_id.0)
            .filter(|l| *l >= 0)
    };
    println!("Executing records delete operation");
    let mut results: BTreeMap<(String, i32), String> = BTreeMap::new();
    let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<(i32, i64)>>> = BTreeMap::new();
    for ((topic, partition), offset) in &offsets {
        match leader(topic, *partition) {
            Some(l) => by_leader
                .entry(l)
                .or_default()
                .entry(topic.clone())
                .or_default()
                .push((*partition, *offset)),
            None => {
                results.insert(
                    (topic.clone(), *partition),
                    "error: This server does not host this topic-partition.".to_owned(),
                );
            }
        }
    }
    for (leader, topics) in by_leader {
        let request = DeleteRecordsRequest::default()
            .with_timeout_ms(TIMEOUT_MS)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, parts)| {
                        DeleteRecordsTopic::default()
                            .with_name(StrBytes::from_string(name).into())
                            .with_partitions(
                                parts
                                    .into_iter()
                                    .map(|(p, o)| {
                                        DeleteRecordsPartition::default()
                                            .with_partition_index(p)
                                            .with_offset(o)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let response = admin.send(Target::Node(leader), &request).await?;
        for t in response.topics {
            for p in t.partitions {
                let text = match KafkaError::from_code(p.error_code, None) {
                    Some(e) => format!("error: {e}"),
                    None => format!("low_watermark: {}", p.low_watermark),
                };
                results.insert((t.name.to_string(), p.partition_index), text);
            }
        }
    }
    println!("Records delete operation completed:");
    for ((topic, partition), text) in results {
        println!("partition: {topic}-{partition}\t{text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_files_as_kafka_reads_them() {
        let m = parse_offsets(
            r#"{"partitions":[{"topic":"t","partition":0,"offset":5},{"topic":"t","partition":1,"offset":-1}],"version":1}"#,
        )
        .expect("parses");
        assert_eq!(m.get(&("t".to_owned(), 0)), Some(&5));
        assert_eq!(m.len(), 2);
        let dup = r#"{"partitions":[{"topic":"t","partition":0,"offset":5},{"topic":"t","partition":0,"offset":6}],"version":1}"#;
        assert!(parse_offsets(dup).is_err());
        assert!(parse_offsets("{").is_err());
        assert!(parse_offsets(r#"{"version":1}"#).is_err());
    }
}
