//! `kafka-console-consumer` (Kafka's ConsoleConsumer): records of a topic to stdout through
//! the [`Formatter`], `Processed a total of N messages` on stderr at the end.
//!
//! What it reads: `--partition` (from `--offset`: earliest, latest or a number), or with a
//! group (`--group` / `group.id`) the partitions the group assigns it (joining as a consumer
//! with the range assignor, starting at the group's committed offsets, committing what it
//! printed every `auto.commit.interval.ms` and at the end), or else every partition of the
//! topic, read directly (Kafka's tool joins a throw-away group then; reading directly gives
//! the same records without leaving a group behind). Where there is no committed offset,
//! `auto.offset.reset` (`--from-beginning`: earliest; else latest) decides.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::ResponseError;
use tokio::time::Instant;

use super::formatter::Formatter;
use super::{bootstrap, merged_props};
use crate::client::fetch::{self, FetchLimits};
use crate::client::membership::{Beat, Member, Timeouts};
use crate::client::offsets::{self, Committer, OffsetSpec};
use crate::client::topics::{self, by_leader, Leaders, TopicPartition};
use crate::client::{Admin, Security};
use crate::error::{Result, ToolError};
use crate::tools::common::parse;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-console-consumer",
    about = "This tool helps to read data from Kafka topics and outputs it to standard output."
)]
struct Cli {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// The topic to consume on.
    #[arg(long, value_name = "topic")]
    topic: Option<String>,
    /// Regular expression of the topics to consume (not available here).
    #[arg(long, value_name = "Java regex (String)")]
    include: Option<String>,
    /// The partition to consume from.
    #[arg(long, value_name = "partition")]
    partition: Option<i32>,
    /// The offset to consume from (a non-negative number), or 'earliest' or 'latest'.
    #[arg(long, value_name = "consume offset")]
    offset: Option<String>,
    /// Consumer properties key=value.
    #[arg(long = "consumer-property", value_name = "consumer_prop")]
    consumer_property: Vec<String>,
    /// Consumer properties file (--consumer-property takes precedence).
    #[arg(long = "consumer.config", value_name = "config file")]
    consumer_config: Option<PathBuf>,
    /// Only Kafka's DefaultMessageFormatter is available.
    #[arg(long, value_name = "class")]
    formatter: Option<String>,
    /// Formatter properties key=value: print.timestamp, print.key, print.offset,
    /// print.partition, print.headers, print.value, key.separator, line.separator,
    /// headers.separator, null.literal.
    #[arg(long, value_name = "prop")]
    property: Vec<String>,
    /// Formatter properties file (--property takes precedence).
    #[arg(long = "formatter-config", value_name = "config file")]
    formatter_config: Option<PathBuf>,
    /// Start with the earliest message when there is no committed offset.
    #[arg(long = "from-beginning")]
    from_beginning: bool,
    /// Exit after this many messages.
    #[arg(long = "max-messages", value_name = "num_messages")]
    max_messages: Option<u64>,
    /// Exit when no message arrived for this long (ms).
    #[arg(long = "timeout-ms", value_name = "timeout_ms")]
    timeout_ms: Option<u64>,
    /// Accepted for compatibility (records are bytes, written as they are).
    #[arg(long = "skip-message-on-error")]
    skip_message_on_error: bool,
    /// Accepted for compatibility (records are written as bytes).
    #[arg(long = "key-deserializer", hide = true)]
    key_deserializer: Option<String>,
    /// Accepted for compatibility (records are written as bytes).
    #[arg(long = "value-deserializer", hide = true)]
    value_deserializer: Option<String>,
    /// read_committed or read_uncommitted (the default).
    #[arg(long = "isolation-level")]
    isolation_level: Option<String>,
    /// The consumer group id of the consumer.
    #[arg(long, value_name = "consumer group id")]
    group: Option<String>,
}

/// Where partitions without a committed offset start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reset {
    Earliest,
    Latest,
}

impl Reset {
    fn spec(self) -> OffsetSpec {
        match self {
            Reset::Earliest => OffsetSpec::Earliest,
            Reset::Latest => OffsetSpec::Latest,
        }
    }
}

/// The settings of a run, checked as Kafka's ConsoleConsumerOptions checks them.
struct Settings {
    topic: String,
    group: Option<String>,
    reset: Reset,
    /// `--offset` for `--partition`: a number, or a reset.
    start: Option<std::result::Result<i64, Reset>>,
    isolation: i8,
    client_id: String,
    commit_interval: Duration,
    session_timeout_ms: i32,
    heartbeat_interval: Duration,
    formatter: Formatter,
}

fn settings(cli: &Cli, props: &BTreeMap<String, String>) -> Result<Settings> {
    let topic = match (&cli.topic, &cli.include) {
        (Some(t), None) => t.clone(),
        (None, Some(_)) => {
            return Err(ToolError::usage(
                "--include is not available: consume one --topic",
            ))
        }
        _ => {
            return Err(ToolError::usage(
                "Exactly one of --include/--topic is required. ",
            ))
        }
    };
    if cli.partition.is_some() && cli.from_beginning && cli.offset.is_some() {
        return Err(ToolError::usage(
            "Options from-beginning and offset cannot be specified together.",
        ));
    }
    if cli.partition.is_none() && cli.offset.is_some() {
        return Err(ToolError::usage(
            "The partition is required when offset is specified.",
        ));
    }
    let mut groups: Vec<&String> = cli.group.iter().chain(props.get("group.id")).collect();
    groups.dedup();
    if groups.len() > 1 {
        return Err(ToolError::usage("The group ids provided in different places (directly using '--group', using '--consumer-property' or using '--consumer.config') do not match."));
    }
    let group = groups.first().map(|g| (*g).clone());
    if group.is_some() && cli.partition.is_some() {
        return Err(ToolError::usage(
            "Options group and partition cannot be specified together.",
        ));
    }
    let reset = match props.get("auto.offset.reset").map(|v| v.trim()) {
        Some("earliest") => Reset::Earliest,
        Some("latest") if !cli.from_beginning => Reset::Latest,
        Some(other) if cli.from_beginning => {
            return Err(ToolError::usage(format!("Can't simultaneously specify --from-beginning and 'auto.offset.reset={other}', please remove one option")))
        }
        Some(other) => {
            return Err(ToolError::usage(format!(
                "Invalid value {other} for configuration auto.offset.reset"
            )))
        }
        None if cli.from_beginning => Reset::Earliest,
        None => Reset::Latest,
    };
    let start = match cli.offset.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None if cli.partition.is_some() => Some(Err(reset)),
        None => None,
        Some("earliest") => Some(Err(Reset::Earliest)),
        Some("latest") => Some(Err(Reset::Latest)),
        Some(n) => match n.parse::<i64>() {
            Ok(o) if o >= 0 => Some(Ok(o)),
            _ => return Err(ToolError::usage(format!("The provided offset value '{n}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."))),
        },
    };
    let isolation = match cli
        .isolation_level
        .clone()
        .or_else(|| props.get("isolation.level").cloned())
        .as_deref()
    {
        None | Some("read_uncommitted") => 0,
        Some("read_committed") => 1,
        Some(other) => {
            return Err(ToolError::usage(format!(
                "Invalid value {other} for configuration isolation.level: String must be one of: read_committed, read_uncommitted"
            )))
        }
    };
    let ms = |k: &str, default: u64| -> Result<u64> {
        props.get(k).map_or(Ok(default), |v| {
            v.trim()
                .parse()
                .map_err(|_| ToolError::usage(format!("Invalid value {v} for configuration {k}")))
        })
    };
    let formatter_props = merged_props(cli.formatter_config.as_deref(), &cli.property)?;
    Ok(Settings {
        topic,
        group,
        reset,
        start,
        isolation,
        client_id: props
            .get("client.id")
            .cloned()
            .unwrap_or_else(|| "console-consumer".to_owned()),
        commit_interval: Duration::from_millis(ms("auto.commit.interval.ms", 5000)?),
        session_timeout_ms: i32::try_from(ms("session.timeout.ms", 45_000)?).unwrap_or(45_000),
        heartbeat_interval: Duration::from_millis(ms("heartbeat.interval.ms", 3000)?),
        formatter: Formatter::from_props(&formatter_props),
    })
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    if let Some(f) = cli.formatter.as_deref() {
        if !f.ends_with("DefaultMessageFormatter") {
            return Err(ToolError::usage(format!(
                "the formatter {f} is not available: only DefaultMessageFormatter"
            )));
        }
    }
    let props = merged_props(cli.consumer_config.as_deref(), &cli.consumer_property)?;
    let settings = settings(&cli, &props)?;
    let server = bootstrap(cli.bootstrap_server.as_deref(), &props)?;
    let mut admin =
        Admin::connect_as(&server, Security::from_props(&props)?, &settings.client_id).await?;
    let mut consumer = Consumer::start(&mut admin, &cli, &settings).await?;
    let outcome = consumer.consume(&mut admin, &cli, &settings).await;
    let closed = consumer.close(&mut admin).await;
    eprintln!("Processed a total of {} messages", consumer.count);
    outcome.and(closed)
}

/// A running consumer: its positions, its group membership if any, what it has printed.
struct Consumer {
    leaders: Leaders,
    positions: BTreeMap<TopicPartition, i64>,
    member: Option<Member>,
    /// Positions last committed.
    committed: BTreeMap<TopicPartition, i64>,
    count: u64,
}

impl Consumer {
    async fn start(admin: &mut Admin, cli: &Cli, s: &Settings) -> Result<Consumer> {
        let topic_list = std::slice::from_ref(&s.topic);
        let leaders = topics::leaders(admin, topic_list).await?;
        let mut consumer = Consumer {
            leaders,
            positions: BTreeMap::new(),
            member: None,
            committed: BTreeMap::new(),
            count: 0,
        };
        if let Some(partition) = cli.partition {
            let tp = (s.topic.clone(), partition);
            if !consumer.leaders.contains_key(&tp) {
                return Err(ToolError::usage(format!(
                    "partition {partition} of topic {} does not exist",
                    s.topic
                )));
            }
            match s.start {
                Some(Ok(offset)) => {
                    consumer.positions.insert(tp, offset);
                }
                Some(Err(reset)) => consumer.seek(admin, &[tp], reset, s.isolation).await?,
                None => consumer.seek(admin, &[tp], s.reset, s.isolation).await?,
            }
        } else if let Some(group) = &s.group {
            let timeouts = Timeouts {
                session_ms: s.session_timeout_ms,
                rebalance_ms: 60_000,
            };
            let member = Member::join(admin, group, topic_list, timeouts).await?;
            consumer.member = Some(member);
            consumer.take_assignment(admin, s).await?;
        } else {
            let all: Vec<TopicPartition> = consumer.leaders.keys().cloned().collect();
            consumer.seek(admin, &all, s.reset, s.isolation).await?;
        }
        Ok(consumer)
    }

    /// Positions for the member's assignment: the group's committed offsets, else the reset.
    async fn take_assignment(&mut self, admin: &mut Admin, s: &Settings) -> Result<()> {
        let Some(member) = &self.member else {
            return Ok(());
        };
        let assignment = member.assignment.clone();
        let committed = offsets::committed(admin, member.coordinator, &member.group).await?;
        self.positions.clear();
        let mut unset = Vec::new();
        for tp in assignment {
            match committed.get(&tp) {
                Some(o) => {
                    self.positions.insert(tp, *o);
                }
                None => unset.push(tp),
            }
        }
        self.committed = self.positions.clone();
        self.seek(admin, &unset, s.reset, s.isolation).await
    }

    /// Moves `partitions` to the log's start or end.
    async fn seek(
        &mut self,
        admin: &mut Admin,
        partitions: &[TopicPartition],
        reset: Reset,
        isolation: i8,
    ) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let found =
            offsets::list_offsets(admin, &self.leaders, partitions, reset.spec(), isolation)
                .await?;
        for tp in partitions {
            match found.get(tp) {
                Some(Ok(offset)) => {
                    self.positions.insert(tp.clone(), *offset);
                }
                Some(Err(e)) => {
                    return Err(ToolError::Kafka {
                        context: format!("finding the offsets of {}-{}", tp.0, tp.1),
                        error: crate::error::KafkaError {
                            code: e.code,
                            message: e.message.clone(),
                        },
                    })
                }
                None => {
                    return Err(ToolError::usage(format!(
                        "no offset for {}-{} from its leader",
                        tp.0, tp.1
                    )))
                }
            }
        }
        Ok(())
    }

    /// Fetches and prints until `--max-messages`, `--timeout-ms` without a message, or
    /// Ctrl-C.
    async fn consume(&mut self, admin: &mut Admin, cli: &Cli, s: &Settings) -> Result<()> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let idle_limit = cli.timeout_ms.map(Duration::from_millis);
        let mut last_record = Instant::now();
        let mut last_beat = Instant::now();
        let mut last_commit = Instant::now();
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        loop {
            if cli.max_messages.is_some_and(|max| self.count >= max) {
                return Ok(());
            }
            if let Some(limit) = idle_limit {
                if last_record.elapsed() >= limit {
                    eprintln!("ERROR Error processing message, terminating consumer process: org.apache.kafka.common.errors.TimeoutException");
                    return Ok(());
                }
            }
            let round = self.fetch_round(admin, cli, s, &mut out);
            let printed = tokio::select! {
                printed = round => printed?,
                _ = &mut interrupted => return Ok(()),
            };
            out.flush()
                .map_err(|e| ToolError::io("writing to standard output", e))?;
            if printed > 0 {
                last_record = Instant::now();
            }
            if self.member.is_some() {
                if last_commit.elapsed() >= s.commit_interval {
                    self.commit(admin).await?;
                    last_commit = Instant::now();
                }
                if last_beat.elapsed() >= s.heartbeat_interval {
                    self.heartbeat(admin, s).await?;
                    last_beat = Instant::now();
                }
            }
        }
    }

    /// One fetch from each leader of the partitions read; how many records it printed.
    async fn fetch_round(
        &mut self,
        admin: &mut Admin,
        cli: &Cli,
        s: &Settings,
        out: &mut impl Write,
    ) -> Result<u64> {
        let groups = by_leader(&self.leaders, self.positions.keys());
        if groups.is_empty() {
            // Nothing assigned (more members than partitions): wait like an empty fetch would.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Ok(0);
        }
        let max_wait_ms = if groups.len() > 1 { 100 } else { 500 };
        let mut printed = 0;
        let mut refresh = false;
        for (leader, tps) in groups {
            if leader < 0 {
                refresh = true;
                continue;
            }
            let wanted: Vec<(TopicPartition, i64)> = tps
                .iter()
                .filter_map(|tp| self.positions.get(tp).map(|o| (tp.clone(), *o)))
                .collect();
            let limits = FetchLimits {
                max_wait_ms,
                max_bytes: 50 * 1024 * 1024,
                partition_max_bytes: 1024 * 1024,
                isolation_level: s.isolation,
            };
            for fetched in fetch::fetch(admin, leader, &wanted, limits).await? {
                if let Some(error) = &fetched.error {
                    match ResponseError::try_from_code(error.code) {
                        Some(ResponseError::OffsetOutOfRange) => {
                            self.seek(
                                admin,
                                std::slice::from_ref(&fetched.partition),
                                s.reset,
                                s.isolation,
                            )
                            .await?;
                        }
                        _ => refresh = true,
                    }
                    continue;
                }
                for record in &fetched.records {
                    if cli.max_messages.is_some_and(|max| self.count >= max) {
                        break;
                    }
                    s.formatter
                        .write(record, out)
                        .map_err(|e| ToolError::io("writing to standard output", e))?;
                    self.count += 1;
                    printed += 1;
                    self.positions
                        .insert(fetched.partition.clone(), record.offset + 1);
                }
                if fetched.records.is_empty() || cli.max_messages.is_none_or(|max| self.count < max)
                {
                    // Past control records and records before the position too.
                    let next = self.positions.entry(fetched.partition.clone()).or_default();
                    *next = (*next).max(fetched.next_offset);
                }
            }
        }
        if refresh {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let topic_list: Vec<String> = topics::topic_names(self.positions.keys());
            self.leaders = topics::leaders(admin, &topic_list).await?;
        }
        Ok(printed)
    }

    async fn heartbeat(&mut self, admin: &mut Admin, s: &Settings) -> Result<()> {
        let Some(member) = self.member.as_mut() else {
            return Ok(());
        };
        if member.heartbeat(admin).await? == Beat::Rejoin {
            self.commit(admin).await?;
            if let Some(member) = self.member.as_mut() {
                member.rejoin(admin).await?;
            }
            self.take_assignment(admin, s).await?;
        }
        Ok(())
    }

    /// Commits the positions that moved since the last commit (group members only).
    async fn commit(&mut self, admin: &mut Admin) -> Result<()> {
        let Some(member) = &self.member else {
            return Ok(());
        };
        let moved: BTreeMap<TopicPartition, i64> = self
            .positions
            .iter()
            .filter(|(tp, o)| self.committed.get(*tp) != Some(*o))
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        if moved.is_empty() {
            return Ok(());
        }
        let committer = Committer {
            generation: member.generation,
            member_id: member.member_id.clone(),
        };
        let results =
            offsets::commit(admin, member.coordinator, &member.group, &committer, &moved).await?;
        // A rebalance under way refuses the commit; the next generation starts from the last
        // committed offsets (Kafka's consumer loses such a commit the same way).
        let refused = results.values().any(|c| {
            matches!(
                ResponseError::try_from_code(*c),
                Some(
                    ResponseError::RebalanceInProgress
                        | ResponseError::IllegalGeneration
                        | ResponseError::UnknownMemberId
                )
            )
        });
        if !refused {
            offsets::check_commit(&member.group, &results)?;
            self.committed.extend(moved);
        }
        Ok(())
    }

    /// The final commit and leaving the group.
    async fn close(&mut self, admin: &mut Admin) -> Result<()> {
        if self.member.is_none() {
            return Ok(());
        }
        self.commit(admin).await?;
        if let Some(member) = &self.member {
            member.leave(admin).await?;
        }
        Ok(())
    }
}
