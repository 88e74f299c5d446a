//! `kafka-leader-election`: preferred or unclean leader elections (Kafka's
//! `LeaderElectionCommand`), for one partition (`--topic` and `--partition`), the partitions of
//! a JSON file (`--path-to-json-file`, `{"partitions":[{"topic":"t","partition":0}]}`) or every
//! partition (`--all-topic-partitions`). One ElectLeaders request to the controller; the
//! partitions are then reported as Kafka's tool reports them (elected, already led by a valid
//! replica, failed), and any failure makes the tool exit 1.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use serde_json::Value;

use super::common::{parse, ConnectArgs};
use crate::client::{Admin, Target};
use crate::error::{KafkaError, Result, ToolError};

/// How long the controller may take to elect and spread the news (the request's `timeout_ms`).
const ELECTION_TIMEOUT_MS: i32 = 15_000;
/// Attempts when the controller moved between Metadata and the request.
const ATTEMPTS: usize = 3;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-leader-election",
    about = "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas."
)]
struct Cli {
    /// A hostname and port for the broker to connect to, in the form host:port. Multiple comma
    /// separated URLs can be given. REQUIRED.
    #[arg(long = "bootstrap-server", value_name = "host:port")]
    bootstrap_server: Option<String>,
    /// Configuration properties files to pass to the admin client.
    #[arg(long = "admin.config", value_name = "config file")]
    admin_config: Option<PathBuf>,
    /// The JSON file with the list of partition for which leader elections should be performed:
    /// {"partitions": [{"topic": "foo", "partition": 1}, {"topic": "foobar", "partition": 2}]}.
    /// Not allowed if --all-topic-partitions or --topic flags are specified.
    #[arg(long = "path-to-json-file", value_name = "Path to JSON file")]
    path_to_json_file: Option<PathBuf>,
    /// Name of topic for which to perform an election. Not allowed if --path-to-json-file or
    /// --all-topic-partitions is specified.
    #[arg(long, value_name = "topic name")]
    topic: Option<String>,
    /// Partition id for which to perform an election. REQUIRED if --topic is specified.
    #[arg(long, value_name = "partition id")]
    partition: Option<i32>,
    /// Perform election on all of the eligible topic partitions based on the type of election
    /// (see the --election-type flag). Not allowed if --topic or --path-to-json-file is
    /// specified.
    #[arg(long = "all-topic-partitions")]
    all_topic_partitions: bool,
    /// Type of election to attempt: "preferred" for preferred leader election or "unclean" for
    /// unclean leader election. A preferred election is only performed if the current leader
    /// is not the preferred leader; an unclean one only if the partition has no leader.
    /// REQUIRED.
    #[arg(
        long = "election-type",
        value_name = "election type",
        ignore_case = true
    )]
    election_type: Option<ElectionType>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
enum ElectionType {
    Preferred,
    Unclean,
}

impl ElectionType {
    fn name(self) -> &'static str {
        match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        }
    }

    fn wire(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }
}

type TopicPartition = (String, i32);

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    let (election, partitions) = validate(&cli)?;
    let connect = ConnectArgs {
        bootstrap_server: cli.bootstrap_server.clone(),
        command_config: cli.admin_config.clone(),
    };
    let mut admin = connect.admin().await?;
    let results = elect(&mut admin, election, partitions.as_ref()).await?;
    report(election, &results)
}

/// Kafka's option checks, with its messages; the partitions to elect (`None`: all).
fn validate(cli: &Cli) -> Result<(ElectionType, Option<BTreeSet<TopicPartition>>)> {
    let mut missing = Vec::new();
    if cli.bootstrap_server.is_none() {
        missing.push("bootstrap-server");
    }
    if cli.election_type.is_none() {
        missing.push("election-type");
    }
    let Some(election) = cli.election_type.filter(|_| missing.is_empty()) else {
        return Err(ToolError::usage(format!(
            "Missing required option(s): {}",
            missing.join(", ")
        )));
    };
    let chosen = [
        cli.topic.is_some(),
        cli.all_topic_partitions,
        cli.path_to_json_file.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(ToolError::usage(
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
        ));
    }
    let partitions = match (&cli.topic, cli.partition, &cli.path_to_json_file) {
        (Some(_), None, _) => {
            return Err(ToolError::usage("Missing required option(s): partition"));
        }
        (None, Some(_), _) => {
            return Err(ToolError::usage(
                "Option partition is only allowed if topic is used",
            ));
        }
        (Some(topic), Some(partition), _) => Some([(topic.clone(), partition)].into()),
        (None, None, Some(path)) => Some(read_json_file(path)?),
        (None, None, None) => None,
    };
    Ok((election, partitions))
}

fn read_json_file(path: &PathBuf) -> Result<BTreeSet<TopicPartition>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ToolError::io(format!("reading {}", path.display()), e))?;
    parse_election_data(&text)
}

/// `{"partitions":[{"topic":..,"partition":..},..]}`, refused as Kafka refuses it: empty,
/// without `partitions`, malformed entries, duplicates.
fn parse_election_data(text: &str) -> Result<BTreeSet<TopicPartition>> {
    if text.trim().is_empty() {
        return Err(ToolError::usage("Replica election data is empty"));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ToolError::usage(format!("Replica election data is not valid JSON: {e}")))?;
    let list = value
        .get("partitions")
        .ok_or_else(|| ToolError::usage("Replica election data is missing \"partitions\" field"))?
        .as_array()
        .ok_or_else(|| ToolError::usage("Replica election data: \"partitions\" is not an array"))?;
    let mut seen = BTreeSet::new();
    let mut duplicates = BTreeSet::new();
    for entry in list {
        let topic = entry.get("topic").and_then(Value::as_str);
        let partition = entry
            .get("partition")
            .and_then(Value::as_i64)
            .and_then(|p| i32::try_from(p).ok());
        let (Some(topic), Some(partition)) = (topic, partition) else {
            return Err(ToolError::usage(format!(
                "Replica election data has a bad entry: {entry}"
            )));
        };
        let tp = (topic.to_owned(), partition);
        if !seen.insert(tp.clone()) {
            duplicates.insert(tp);
        }
    }
    if !duplicates.is_empty() {
        return Err(ToolError::usage(format!(
            "Replica election data contains duplicate partitions: [{}]",
            names(&duplicates)
        )));
    }
    Ok(seen)
}

/// Sends ElectLeaders to the controller (again after a refresh when it moved); returns each
/// partition's error.
async fn elect(
    admin: &mut Admin,
    election: ElectionType,
    partitions: Option<&BTreeSet<TopicPartition>>,
) -> Result<BTreeMap<TopicPartition, Option<KafkaError>>> {
    let version = admin.version::<ElectLeadersRequest>()?;
    if version == 0 && election == ElectionType::Unclean {
        return Err(ToolError::usage(
            "the cluster's brokers only know preferred leader elections (ElectLeaders v0)",
        ));
    }
    let mut request = ElectLeadersRequest::default()
        .with_topic_partitions(partitions.map(request_topics))
        .with_timeout_ms(ELECTION_TIMEOUT_MS);
    if version >= 1 {
        request = request.with_election_type(election.wire());
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response = admin.send_at(Target::Controller, &request, version).await?;
        let results = results(&response);
        let moved = response.error_code == ResponseError::NotController.code()
            || !results.is_empty()
                && results.values().all(|e| {
                    e.as_ref().map(|e| e.code) == Some(ResponseError::NotController.code())
                });
        if moved && attempt < ATTEMPTS {
            admin.refresh().await?;
            continue;
        }
        check_top_level(&response)?;
        return Ok(results);
    }
}

fn request_topics(partitions: &BTreeSet<TopicPartition>) -> Vec<TopicPartitions> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        by_topic.entry(topic).or_default().push(*partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            TopicPartitions::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partitions(partitions)
        })
        .collect()
}

fn results(response: &ElectLeadersResponse) -> BTreeMap<TopicPartition, Option<KafkaError>> {
    response
        .replica_election_results
        .iter()
        .flat_map(|t| {
            t.partition_result.iter().map(|p| {
                let error = KafkaError::from_code(
                    p.error_code,
                    p.error_message.as_ref().map(|m| m.as_str()),
                );
                ((t.topic.0.to_string(), p.partition_id), error)
            })
        })
        .collect()
}

/// A top-level error fails the whole command, as the admin client fails every partition's
/// future with it; Kafka's tool says so on stdout for the two it expects.
fn check_top_level(response: &ElectLeadersResponse) -> Result<()> {
    let code = response.error_code;
    let said = if code == ResponseError::ClusterAuthorizationFailed.code() {
        "Not authorized to perform leader election"
    } else if code == ResponseError::RequestTimedOut.code() {
        "Timeout waiting for election results"
    } else {
        return ToolError::check("Leader election", code, None);
    };
    println!("{said}");
    Err(ToolError::usage(said))
}

/// Kafka's three kinds of lines; exit 1 (an error naming the count) when any partition failed.
fn report(
    election: ElectionType,
    results: &BTreeMap<TopicPartition, Option<KafkaError>>,
) -> Result<()> {
    let not_needed = ResponseError::ElectionNotNeeded.code();
    let succeeded: BTreeSet<TopicPartition> = results
        .iter()
        .filter(|(_, e)| e.is_none())
        .map(|(tp, _)| tp.clone())
        .collect();
    let noop: BTreeSet<TopicPartition> = results
        .iter()
        .filter(|(_, e)| e.as_ref().is_some_and(|e| e.code == not_needed))
        .map(|(tp, _)| tp.clone())
        .collect();
    let failed: Vec<(&TopicPartition, &KafkaError)> = results
        .iter()
        .filter_map(|(tp, e)| Some((tp, e.as_ref().filter(|e| e.code != not_needed)?)))
        .collect();
    if !succeeded.is_empty() {
        println!(
            "Successfully completed leader election ({}) for partitions {}",
            election.name(),
            names(&succeeded)
        );
    }
    if !noop.is_empty() {
        println!(
            "Valid replica already elected for partitions {}",
            names(&noop)
        );
    }
    for ((topic, partition), error) in &failed {
        println!(
            "Error completing leader election ({}) for partition: {topic}-{partition}: {}",
            election.name(),
            error.java_exception()
        );
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ToolError::usage(format!(
            "{} replica(s) could not be elected",
            failed.len()
        )))
    }
}

/// `t-0, t-1`.
fn names(partitions: &BTreeSet<TopicPartition>) -> String {
    partitions
        .iter()
        .map(|(t, p)| format!("{t}-{p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("kafka-leader-election").chain(args.iter().copied()))
            .expect("accepted")
    }

    fn error(args: &[&str]) -> String {
        validate(&cli(args)).expect_err("refused").to_string()
    }

    #[test]
    fn options_are_checked_as_kafka_checks_them() {
        let base = [
            "--bootstrap-server",
            "b:9092",
            "--election-type",
            "preferred",
        ];
        assert_eq!(
            error(&["--topic", "t"]),
            "Missing required option(s): bootstrap-server, election-type"
        );
        assert_eq!(
            error(&base),
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"
        );
        let both = [&base[..], &["--topic", "t", "--all-topic-partitions"]].concat();
        assert!(error(&both).starts_with("One and only one"));
        let no_partition = [&base[..], &["--topic", "t"]].concat();
        assert_eq!(
            error(&no_partition),
            "Missing required option(s): partition"
        );
        let lone = [&base[..], &["--all-topic-partitions", "--partition", "1"]].concat();
        assert_eq!(
            error(&lone),
            "Option partition is only allowed if topic is used"
        );
        let one = [&base[..], &["--topic", "t", "--partition", "2"]].concat();
        let (election, partitions) = validate(&cli(&one)).expect("accepted");
        assert_eq!(election, ElectionType::Preferred);
        assert_eq!(partitions, Some([("t".to_string(), 2)].into()));
        let all = cli(&[
            "--bootstrap-server",
            "b:9092",
            "--election-type",
            "UNCLEAN",
            "--all-topic-partitions",
        ]);
        assert_eq!(
            validate(&all).expect("accepted"),
            (ElectionType::Unclean, None)
        );
    }

    #[test]
    fn json_file_format_and_refusals() {
        let ok = r#"{"partitions": [{"topic": "foo", "partition": 1}, {"topic": "foobar", "partition": 2}]}"#;
        assert_eq!(
            parse_election_data(ok).expect("accepted"),
            [("foo".to_string(), 1), ("foobar".to_string(), 2)].into()
        );
        assert_eq!(
            parse_election_data("").expect_err("refused").to_string(),
            "Replica election data is empty"
        );
        assert_eq!(
            parse_election_data(r#"{"version":1}"#)
                .expect_err("refused")
                .to_string(),
            "Replica election data is missing \"partitions\" field"
        );
        let dup = r#"{"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":0}]}"#;
        assert_eq!(
            parse_election_data(dup).expect_err("refused").to_string(),
            "Replica election data contains duplicate partitions: [t-0]"
        );
        assert!(parse_election_data(r#"{"partitions":[{"topic":"t"}]}"#).is_err());
    }
}
