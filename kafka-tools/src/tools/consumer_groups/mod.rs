//! `kafka-consumer-groups` (Kafka's ConsumerGroupCommand): list, describe, delete consumer
//! groups, reset and delete their committed offsets. Flags, checks, output formats and
//! messages are Kafka's; like Kafka's tool, a group-level problem (a group that does not
//! exist, a reset refused for an active group) is reported on stdout as `Error: ...` and the
//! tool goes on (exit 0), while a failure to reach the cluster ends it with exit 1.
//!
//! - [`service`]: what the cluster says about groups (ListGroups, DescribeGroups, offsets).
//! - [`describe`]: `--describe` (`--offsets`, `--members [--verbose]`, `--state`).
//! - [`reset`]: `--reset-offsets` (its scenarios, scopes, CSV in and out).
//! - [`delete`]: `--delete` and `--delete-offsets`.
//! - [`time`]: `--to-datetime` and `--by-duration` values.

mod delete;
mod describe;
mod reset;
mod service;
mod time;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use super::common::{parse, ConnectArgs};
use crate::error::{Result, ToolError};

#[derive(Parser, Debug)]
#[command(
    name = "kafka-consumer-groups",
    about = "This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The consumer group we wish to act on.
    #[arg(long = "group", value_name = "consumer group")]
    group: Vec<String>,
    /// The topic whose consumer group information should be deleted or included in the reset
    /// offset process (`topic1:0,1,2` names partitions).
    #[arg(long = "topic", value_name = "topic")]
    topic: Vec<String>,
    /// Consider all topics assigned to a group in the `reset-offsets` process.
    #[arg(long = "all-topics")]
    all_topics: bool,
    /// List all consumer groups.
    #[arg(long)]
    list: bool,
    /// Describe consumer group and list offset lag (number of messages not yet processed).
    #[arg(long)]
    describe: bool,
    /// Apply to all consumer groups.
    #[arg(long = "all-groups")]
    all_groups: bool,
    /// Pass in groups to delete topic partition offsets and ownership information over the
    /// entire consumer group.
    #[arg(long)]
    delete: bool,
    /// The timeout (ms) for describing groups and the like.
    #[arg(long, value_name = "timeout (ms)", default_value_t = 5000)]
    timeout: u64,
    /// Reset offsets of consumer group (one scenario, a scope, --dry-run or --execute).
    #[arg(long = "reset-offsets")]
    reset_offsets: bool,
    /// Delete offsets of consumer group. Supports one consumer group at the time, and multiple
    /// topics.
    #[arg(long = "delete-offsets")]
    delete_offsets: bool,
    /// Only show results without executing changes on Consumer Groups.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Execute operation. Supported operations: reset-offsets.
    #[arg(long)]
    execute: bool,
    /// Export operation execution to a CSV file. Supported operations: reset-offsets.
    #[arg(long)]
    export: bool,
    /// Reset offsets to a specific offset.
    #[arg(
        long = "to-offset",
        value_name = "offset",
        allow_negative_numbers = true
    )]
    to_offset: Option<i64>,
    /// Reset offsets to values defined in CSV file.
    #[arg(long = "from-file", value_name = "path to CSV file")]
    from_file: Option<PathBuf>,
    /// Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'
    #[arg(long = "to-datetime", value_name = "datetime")]
    to_datetime: Option<String>,
    /// Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'
    #[arg(long = "by-duration", value_name = "duration")]
    by_duration: Option<String>,
    /// Reset offsets to earliest offset.
    #[arg(long = "to-earliest")]
    to_earliest: bool,
    /// Reset offsets to latest offset.
    #[arg(long = "to-latest")]
    to_latest: bool,
    /// Reset offsets to current offset.
    #[arg(long = "to-current")]
    to_current: bool,
    /// Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.
    #[arg(
        long = "shift-by",
        value_name = "number-of-offsets",
        allow_negative_numbers = true
    )]
    shift_by: Option<i64>,
    /// Describe members of the group.
    #[arg(long)]
    members: bool,
    /// Provide additional information, if any, when describing the group.
    #[arg(long)]
    verbose: bool,
    /// Describe the group and list all topic partitions in the group along with their offset
    /// lag (the default of --describe).
    #[arg(long)]
    offsets: bool,
    /// With --describe: the group's state. With --list: each group's state, or only groups in
    /// these states (comma-separated).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "state")]
    state: Option<String>,
}

impl Cli {
    /// Dry-run is the default when --execute is not given.
    fn dry_run(&self) -> bool {
        self.dry_run || !self.execute
    }

    /// The one reset scenario given, by its flag name.
    fn scenarios(&self) -> Vec<&'static str> {
        [
            ("--to-offset", self.to_offset.is_some()),
            ("--shift-by", self.shift_by.is_some()),
            ("--to-datetime", self.to_datetime.is_some()),
            ("--by-duration", self.by_duration.is_some()),
            ("--to-earliest", self.to_earliest),
            ("--to-latest", self.to_latest),
            ("--to-current", self.to_current),
            ("--from-file", self.from_file.is_some()),
        ]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| name)
        .collect()
    }

    /// Kafka's checkArgs: the combinations the tool refuses before touching the cluster.
    fn check(&self) -> Result<()> {
        let actions = [
            self.list,
            self.describe,
            self.delete,
            self.reset_offsets,
            self.delete_offsets,
        ]
        .iter()
        .filter(|a| **a)
        .count();
        if actions != 1 {
            return Err(ToolError::usage("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"));
        }
        if self.connect.bootstrap_server.is_none() {
            return Err(ToolError::usage(
                "Missing required argument \"[bootstrap-server]\"",
            ));
        }
        let scope = self.group.is_empty() && !self.all_groups;
        if self.describe {
            if scope {
                return Err(ToolError::usage(
                    "Option [describe] takes one of these options: [all-groups], [group]",
                ));
            }
            let subs = [self.members, self.offsets, self.state.is_some()];
            if subs.iter().filter(|s| **s).count() > 1 {
                return Err(ToolError::usage(
                    "Option [describe] takes at most one of these options: [members], [offsets], [state]",
                ));
            }
            if self.state.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(ToolError::usage(
                    "Option [describe] does not take a value for [state]",
                ));
            }
        } else if self.members || self.offsets || self.verbose {
            return Err(ToolError::usage(
                "Option [members], [offsets] and [verbose] can only be used with [describe]",
            ));
        }
        if self.state.is_some() && !self.describe && !self.list {
            return Err(ToolError::usage(
                "Option [state] can only be used with [describe] or [list]",
            ));
        }
        if self.delete {
            if scope {
                return Err(ToolError::usage(
                    "Option [delete] takes one of these options: [all-groups], [group]",
                ));
            }
            if !self.topic.is_empty() {
                return Err(ToolError::usage("The consumer does not support topic-specific offset deletion from a consumer group."));
            }
        }
        if self.delete_offsets && (self.group.len() != 1 || self.topic.is_empty()) {
            return Err(ToolError::usage(
                "Option [delete-offsets] takes the following options: [group], [topic]",
            ));
        }
        if self.reset_offsets {
            self.check_reset()?;
        }
        if !self.group.is_empty() && self.all_groups {
            return Err(ToolError::usage(
                "Option \"[group]\" can't be used with option \"[all-groups]\"",
            ));
        }
        if !self.group.is_empty() && self.list {
            return Err(ToolError::usage(
                "Option \"[group]\" can't be used with option \"[list]\"",
            ));
        }
        if !self.topic.is_empty() && (self.list || self.describe) {
            return Err(ToolError::usage(
                "Option \"[topic]\" can only be used with [delete-offsets] or [reset-offsets]",
            ));
        }
        Ok(())
    }

    fn check_reset(&self) -> Result<()> {
        if self.dry_run && self.execute {
            return Err(ToolError::usage(
                "Option [reset-offsets] only accepts one of [execute] and [dry-run]",
            ));
        }
        if !self.dry_run && !self.execute {
            eprintln!("WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.");
        }
        if self.group.is_empty() && !self.all_groups {
            return Err(ToolError::usage(
                "Option [reset-offsets] takes one of these options: [all-groups], [group]",
            ));
        }
        let scenarios = self.scenarios();
        if scenarios.len() > 1 {
            return Err(ToolError::usage(format!(
                "Option \"{}\" can't be used with option \"{}\"",
                scenarios[0], scenarios[1]
            )));
        }
        if scenarios.is_empty() {
            return Err(ToolError::usage("Option '[reset-offsets]' requires one of the following scenarios: [to-offset], [shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file]"));
        }
        if self.from_file.is_none() && !self.all_topics && self.topic.is_empty() {
            return Err(ToolError::usage(
                "One of the reset scopes should be defined: --all-topics, --topic.",
            ));
        }
        Ok(())
    }
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    cli.check()?;
    let mut admin = cli.connect.admin().await?;
    if cli.list {
        service::print_list(&mut admin, cli.state.as_deref()).await
    } else if cli.describe {
        describe::run(&mut admin, &cli).await
    } else if cli.delete {
        delete::delete_groups(&mut admin, &cli).await
    } else if cli.reset_offsets {
        reset::run(&mut admin, &cli).await
    } else {
        delete::delete_offsets(&mut admin, &cli).await
    }
}

/// Kafka's printError: a blank line, then `Error: <message>`, on stdout.
fn print_error(message: &str) {
    println!("\nError: {message}");
}

/// Java's `%-Ns`: `s` left-justified in at least `width` columns.
fn pad(s: &str, width: usize) -> String {
    format!("{s:<width$}")
}
