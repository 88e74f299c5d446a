//! `kafka-reassign-partitions`: moves partitions between brokers (Kafka's
//! `ReassignPartitionsCommand`): `--generate` proposes an assignment of some topics over some
//! brokers, `--execute` starts one (optionally throttled), `--verify` reports each
//! partition's status with how far its new replicas have copied and removes the throttles once
//! all is done, `--cancel` reverts, `--list` shows what is moving. Flags, JSON files, messages
//! and exit codes are Kafka's.
//!
//! Layout: [`json`] (the files), [`plan`] (placement and throttled replicas, pure), [`ops`]
//! (the cluster calls), [`status`] (`--verify` and `--list` reports), [`throttles`] (setting and
//! clearing them), [`execute`] (`--execute` and `--cancel`).

mod execute;
mod json;
mod ops;
mod plan;
mod status;
mod throttles;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;

use super::common::{parse, ConnectArgs};
use crate::error::{Result, ToolError};

#[derive(Parser, Debug)]
#[command(
    name = "kafka-reassign-partitions",
    about = "This tool helps to move topic partitions between replicas."
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Verify if the reassignment completed as specified by the --reassignment-json-file
    /// option. If there is a throttle engaged for the replicas specified, and the rebalance has
    /// completed, the throttle will be removed.
    #[arg(long)]
    verify: bool,
    /// Generate a candidate partition reassignment configuration. Note that this only
    /// generates a candidate assignment, it does not execute it.
    #[arg(long)]
    generate: bool,
    /// Kick off the reassignment as specified by the --reassignment-json-file option.
    #[arg(long)]
    execute: bool,
    /// Cancel an active reassignment.
    #[arg(long)]
    cancel: bool,
    /// List all active partition reassignments.
    #[arg(long)]
    list: bool,
    /// The JSON file with the partition reassignment configuration.
    #[arg(
        long = "reassignment-json-file",
        value_name = "manual assignment json file path"
    )]
    reassignment_json_file: Option<PathBuf>,
    /// Generate a reassignment configuration to move the partitions of the specified topics
    /// to the list of brokers specified by the --broker-list option.
    #[arg(
        long = "topics-to-move-json-file",
        value_name = "topics to reassign json file path"
    )]
    topics_to_move_json_file: Option<PathBuf>,
    /// The list of brokers to which the partitions need to be reassigned in the form "0,1,2".
    #[arg(long = "broker-list", value_name = "brokerlist")]
    broker_list: Option<String>,
    /// The controller to use for reassignment (KRaft clusters only).
    #[arg(
        long = "bootstrap-controller",
        value_name = "bootstrap controller to connect to"
    )]
    bootstrap_controller: Option<String>,
    /// Disable rack aware replica assignment.
    #[arg(long = "disable-rack-aware")]
    disable_rack_aware: bool,
    /// The movement of partitions between brokers will be throttled to this value (bytes/sec).
    #[arg(long, value_name = "throttle", allow_negative_numbers = true)]
    throttle: Option<i64>,
    /// The movement of replicas between log directories on the same broker will be throttled
    /// to this value (bytes/sec).
    #[arg(
        long = "replica-alter-log-dirs-throttle",
        value_name = "replicaAlterLogDirsThrottle",
        allow_negative_numbers = true
    )]
    replica_alter_log_dirs_throttle: Option<i64>,
    /// The maximum time in ms to wait for log directory replica assignment to begin.
    #[arg(long, value_name = "timeout")]
    timeout: Option<u64>,
    /// Execute this reassignment in addition to any other ongoing ones. This option can also
    /// be used to change the throttle of an ongoing reassignment.
    #[arg(long)]
    additional: bool,
    /// Do not modify broker or topic throttles.
    #[arg(long = "preserve-throttles")]
    preserve_throttles: bool,
}

/// Kafka's default `--timeout`.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Generate,
    Execute,
    Verify,
    Cancel,
    List,
}

impl Cli {
    /// The one action, and Kafka's checks of which options go with it.
    fn action(&self) -> Result<Action> {
        let chosen: Vec<Action> = [
            (self.generate, Action::Generate),
            (self.execute, Action::Execute),
            (self.verify, Action::Verify),
            (self.cancel, Action::Cancel),
            (self.list, Action::List),
        ]
        .into_iter()
        .filter_map(|(on, a)| on.then_some(a))
        .collect();
        let [action] = chosen[..] else {
            return Err(ToolError::usage(
                "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list",
            ));
        };
        if self.bootstrap_controller.is_some() {
            return Err(ToolError::usage(
                "--bootstrap-controller is for KRaft clusters; use --bootstrap-server",
            ));
        }
        if self.connect.bootstrap_server.is_none() {
            return Err(ToolError::usage(
                "Please specify either --bootstrap-server or --bootstrap-controller",
            ));
        }
        let required: &[(&str, bool)] = match action {
            Action::Generate => &[
                (
                    "topics-to-move-json-file",
                    self.topics_to_move_json_file.is_some(),
                ),
                ("broker-list", self.broker_list.is_some()),
            ],
            Action::Execute | Action::Verify | Action::Cancel => &[(
                "reassignment-json-file",
                self.reassignment_json_file.is_some(),
            )],
            Action::List => &[],
        };
        if let Some((name, _)) = required.iter().find(|(_, given)| !given) {
            return Err(ToolError::usage(format!(
                "Missing required argument \"[{name}]\""
            )));
        }
        let given: [(&str, bool, &[Action]); 9] = [
            (
                "reassignment-json-file",
                self.reassignment_json_file.is_some(),
                &[Action::Execute, Action::Verify, Action::Cancel],
            ),
            (
                "topics-to-move-json-file",
                self.topics_to_move_json_file.is_some(),
                &[Action::Generate],
            ),
            (
                "broker-list",
                self.broker_list.is_some(),
                &[Action::Generate],
            ),
            (
                "disable-rack-aware",
                self.disable_rack_aware,
                &[Action::Generate],
            ),
            ("throttle", self.throttle.is_some(), &[Action::Execute]),
            (
                "replica-alter-log-dirs-throttle",
                self.replica_alter_log_dirs_throttle.is_some(),
                &[Action::Execute],
            ),
            (
                "timeout",
                self.timeout.is_some(),
                &[Action::Execute, Action::Cancel],
            ),
            ("additional", self.additional, &[Action::Execute]),
            (
                "preserve-throttles",
                self.preserve_throttles,
                &[Action::Verify, Action::Cancel],
            ),
        ];
        if let Some((name, _, _)) = given
            .iter()
            .find(|(_, on, allowed)| *on && !allowed.contains(&action))
        {
            return Err(ToolError::usage(format!(
                "Option \"[{name}]\" can't be used with action \"[{}]\"",
                action_name(action)
            )));
        }
        Ok(action)
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Generate => "generate",
        Action::Execute => "execute",
        Action::Verify => "verify",
        Action::Cancel => "cancel",
        Action::List => "list",
    }
}

fn read(path: &Option<PathBuf>) -> Result<String> {
    let path: &Path = path
        .as_deref()
        .ok_or_else(|| ToolError::usage("no file given"))?;
    std::fs::read_to_string(path)
        .map_err(|e| ToolError::io(format!("reading {}", path.display()), e))
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    let action = cli.action()?;
    let mut admin = cli.connect.admin().await?;
    let timeout = std::time::Duration::from_millis(cli.timeout.unwrap_or(DEFAULT_TIMEOUT_MS));
    match action {
        Action::Generate => {
            let brokers = cli.broker_list.as_deref().unwrap_or_default();
            generate(
                &mut admin,
                &read(&cli.topics_to_move_json_file)?,
                brokers,
                !cli.disable_rack_aware,
            )
            .await
        }
        Action::Execute => {
            let options = execute::ExecuteOptions {
                additional: cli.additional,
                throttle: cli.throttle.unwrap_or(-1),
                log_dir_throttle: cli.replica_alter_log_dirs_throttle.unwrap_or(-1),
                timeout,
            };
            execute::execute(&mut admin, &read(&cli.reassignment_json_file)?, &options).await
        }
        Action::Verify => {
            status::verify(
                &mut admin,
                &read(&cli.reassignment_json_file)?,
                cli.preserve_throttles,
            )
            .await
        }
        Action::Cancel => {
            let text = read(&cli.reassignment_json_file)?;
            execute::cancel(&mut admin, &text, cli.preserve_throttles, timeout).await
        }
        Action::List => status::list(&mut admin).await,
    }
}

/// The brokers of `--broker-list`, refusing repeats as Kafka does.
fn parse_broker_list(list: &str) -> Result<Vec<i32>> {
    let brokers = list
        .split(',')
        .map(|b| {
            b.trim()
                .parse::<i32>()
                .map_err(|_| ToolError::usage(format!("For input string: \"{}\"", b.trim())))
        })
        .collect::<Result<Vec<i32>>>()?;
    let mut seen = BTreeSet::new();
    let twice: BTreeSet<i32> = brokers
        .iter()
        .filter(|b| !seen.insert(**b))
        .copied()
        .collect();
    if !twice.is_empty() {
        let twice: Vec<String> = twice.iter().map(i32::to_string).collect();
        return Err(ToolError::usage(format!(
            "Broker list contains duplicate entries: [{}]",
            twice.join(", ")
        )));
    }
    Ok(brokers)
}

/// `--generate`: the current assignment of the topics, and Kafka's placement of them over
/// the listed brokers that exist.
async fn generate(
    admin: &mut crate::client::Admin,
    topics_json: &str,
    broker_list: &str,
    rack_aware: bool,
) -> Result<()> {
    let brokers = parse_broker_list(broker_list)?;
    let topics = json::parse_topics(topics_json)?;
    let mut seen = BTreeSet::new();
    let twice: BTreeSet<&String> = topics.iter().filter(|t| !seen.insert(*t)).collect();
    if !twice.is_empty() {
        let twice: Vec<&str> = twice.iter().map(|t| t.as_str()).collect();
        return Err(ToolError::usage(format!(
            "List of topics to reassign contains duplicate entries: [{}]",
            twice.join(", ")
        )));
    }
    let described = ops::describe_topics(admin, &topics.iter().cloned().collect()).await?;
    let current: BTreeMap<json::TopicPartition, Vec<i32>> =
        described.into_iter().map(|(tp, (r, _))| (tp, r)).collect();
    let known: Vec<&crate::client::Node> = admin
        .nodes()
        .values()
        .filter(|n| brokers.contains(&n.id))
        .collect();
    let racks = known.iter().filter(|n| n.rack.is_some()).count();
    if rack_aware && racks != 0 && racks != known.len() {
        return Err(ToolError::usage(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.",
        ));
    }
    let ids: Vec<i32> = known.iter().map(|n| n.id).collect();
    let proposed = propose(&current, &ids)?;
    println!(
        "Current partition replica assignment\n{}\n",
        json::format_reassignment(&current, &BTreeMap::new())
    );
    println!(
        "Proposed partition reassignment configuration\n{}",
        json::format_reassignment(&proposed, &BTreeMap::new())
    );
    Ok(())
}

/// Each topic placed anew over `brokers` with its partition count and replication factor
/// (Kafka's `calculateAssignment`; racks are not used).
fn propose(
    current: &BTreeMap<json::TopicPartition, Vec<i32>>,
    brokers: &[i32],
) -> Result<BTreeMap<json::TopicPartition, Vec<i32>>> {
    let mut by_topic: BTreeMap<&str, Vec<&Vec<i32>>> = BTreeMap::new();
    for ((t, _), replicas) in current {
        by_topic.entry(t).or_default().push(replicas);
    }
    // Kafka starts at random places in the broker list.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize);
    let n = brokers.len().max(1);
    let mut proposed = BTreeMap::new();
    for (topic, parts) in by_topic {
        let rf = parts.first().map_or(0, |r| r.len());
        let placed = plan::assign_rack_unaware(brokers, parts.len(), rf, seed % n, (seed / n) % n)?;
        for (p, replicas) in placed {
            proposed.insert((topic.to_owned(), p), replicas);
        }
    }
    Ok(proposed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["kafka-reassign-partitions", "--bootstrap-server", "h:9092"];
        argv.extend(args);
        Cli::try_parse_from(argv).expect("parse")
    }

    fn refusal(args: &[&str]) -> String {
        cli(args)
            .action()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn actions_take_kafkas_options_only() {
        assert_eq!(cli(&["--list"]).action().ok(), Some(Action::List));
        assert_eq!(
            refusal(&["--list", "--verify"]),
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
        );
        assert_eq!(
            refusal(&["--execute"]),
            "Missing required argument \"[reassignment-json-file]\""
        );
        assert_eq!(
            refusal(&[
                "--verify",
                "--reassignment-json-file",
                "f",
                "--throttle",
                "10"
            ]),
            "Option \"[throttle]\" can't be used with action \"[verify]\""
        );
        assert_eq!(
            refusal(&["--generate", "--topics-to-move-json-file", "f"]),
            "Missing required argument \"[broker-list]\""
        );
        let ok = cli(&[
            "--execute",
            "--reassignment-json-file",
            "f",
            "--throttle",
            "-1",
            "--additional",
        ]);
        assert_eq!(ok.action().ok(), Some(Action::Execute));
    }

    #[test]
    fn broker_lists_refuse_repeats() {
        assert_eq!(parse_broker_list("1, 2,3").ok(), Some(vec![1, 2, 3]));
        assert_eq!(
            parse_broker_list("1,2,1").err().map(|e| e.to_string()),
            Some("Broker list contains duplicate entries: [1]".into())
        );
    }
}
