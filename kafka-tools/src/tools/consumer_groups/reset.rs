//! `--reset-offsets`: for each group that is inactive (Empty, or Dead: not existing yet), the
//! new offset of each partition in scope under the one scenario given, shown (`--dry-run`, the
//! default), committed (`--execute`, as a commit from outside the group: generation -1, which
//! the coordinator refuses with UNKNOWN_MEMBER_ID once the group has members) and/or exported
//! as CSV (`--export`). A group with members is refused with Kafka's message.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::service;
use super::time::{parse_datetime, parse_duration};
use super::{pad, print_error, Cli};
use crate::client::offsets::{self, Committer, OffsetSpec};
use crate::client::topics::{self, Leaders, TopicPartition};
use crate::client::Admin;
use crate::error::{Result, ToolError};

/// New offsets, by group.
type Plan = BTreeMap<String, BTreeMap<TopicPartition, i64>>;

pub(super) async fn run(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let file_plan = match &cli.from_file {
        Some(path) => Some(read_plan(path, cli)?),
        None => None,
    };
    let mut plan = Plan::new();
    for group in service::selected_groups(admin, cli).await? {
        let description = service::describe(admin, &group).await?;
        if description.state != "Empty" && description.state != "Dead" {
            print_error(&format!(
                "Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
                description.state
            ));
            plan.insert(group, BTreeMap::new());
            continue;
        }
        let coordinator = description.coordinator.id;
        let offsets = match &file_plan {
            Some(file) => match file.get(&group) {
                Some(wanted) => {
                    let leaders = leaders_of(admin, wanted.keys()).await?;
                    clamp(admin, &leaders, wanted.clone()).await?
                }
                None => {
                    print_error(&format!("No reset plan for group {group} found"));
                    BTreeMap::new()
                }
            },
            None => {
                let scope = scope(admin, cli, coordinator, &group).await?;
                prepare(admin, cli, coordinator, &group, &scope).await?
            }
        };
        if !cli.dry_run() && !offsets.is_empty() {
            let results =
                offsets::commit(admin, coordinator, &group, &Committer::outsider(), &offsets)
                    .await?;
            offsets::check_commit(&group, &results)?;
        }
        plan.insert(group, offsets);
    }
    if cli.export {
        println!("{}", export_csv(&plan, cli.group.len() == 1));
    } else {
        print_plan(&plan);
    }
    Ok(())
}

/// The partitions in scope: `--all-topics` (every partition the group has an offset for) or
/// the `--topic`s (`t`: all of t's partitions; `t:0,2`: those).
async fn scope(
    admin: &mut Admin,
    cli: &Cli,
    coordinator: i32,
    group: &str,
) -> Result<Vec<TopicPartition>> {
    if cli.all_topics {
        return Ok(offsets::committed(admin, coordinator, group)
            .await?
            .into_keys()
            .collect());
    }
    let mut out = Vec::new();
    let mut whole = Vec::new();
    for arg in &cli.topic {
        match parse_topic_partitions(arg)? {
            (topic, None) => whole.push(topic),
            (topic, Some(parts)) => out.extend(parts.into_iter().map(|p| (topic.clone(), p))),
        }
    }
    if !whole.is_empty() {
        out.extend(topics::leaders(admin, &whole).await?.into_keys());
    }
    Ok(out)
}

/// `topic` or `topic:0,1,2`.
pub(super) fn parse_topic_partitions(arg: &str) -> Result<(String, Option<Vec<i32>>)> {
    let Some((topic, parts)) = arg.split_once(':') else {
        return Ok((arg.to_owned(), None));
    };
    if parts.contains(':') {
        return Err(ToolError::usage(format!(
            "Invalid topic arg '{arg}', expected topic name and partitions"
        )));
    }
    let parts = parts
        .split(',')
        .map(|p| {
            p.trim().parse::<i32>().map_err(|_| {
                ToolError::usage(format!(
                    "Invalid partition '{p}' specified in topic arg '{arg}''"
                ))
            })
        })
        .collect::<Result<Vec<i32>>>()?;
    Ok((topic.to_owned(), Some(parts)))
}

async fn leaders_of<'a>(
    admin: &mut Admin,
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> Result<Leaders> {
    let names = topics::topic_names(partitions);
    topics::leaders(admin, &names).await
}

/// The new offsets of `scope` under the scenario given.
async fn prepare(
    admin: &mut Admin,
    cli: &Cli,
    coordinator: i32,
    group: &str,
    scope: &[TopicPartition],
) -> Result<BTreeMap<TopicPartition, i64>> {
    let leaders = leaders_of(admin, scope).await?;
    if let Some(offset) = cli.to_offset {
        let wanted = scope.iter().map(|tp| (tp.clone(), offset)).collect();
        return clamp(admin, &leaders, wanted).await;
    }
    if cli.to_earliest {
        return log_offsets(admin, &leaders, scope, OffsetSpec::Earliest, "starting").await;
    }
    if cli.to_latest {
        return log_offsets(admin, &leaders, scope, OffsetSpec::Latest, "ending").await;
    }
    if let Some(shift) = cli.shift_by {
        let current = offsets::committed(admin, coordinator, group).await?;
        let mut wanted = BTreeMap::new();
        for tp in scope {
            let offset = current.get(tp).ok_or_else(|| {
                ToolError::usage(format!(
                    "Cannot shift offset for partition {}-{} since there is no current committed offset",
                    tp.0, tp.1
                ))
            })?;
            wanted.insert(tp.clone(), offset.saturating_add(shift));
        }
        return clamp(admin, &leaders, wanted).await;
    }
    if let Some(datetime) = &cli.to_datetime {
        let timestamp = parse_datetime(datetime)?;
        return by_timestamp(admin, &leaders, scope, timestamp).await;
    }
    if let Some(duration) = &cli.by_duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let timestamp = now - parse_duration(duration)?;
        return by_timestamp(admin, &leaders, scope, timestamp).await;
    }
    // --to-current: the committed offset, or the log end where there is none.
    let current = offsets::committed(admin, coordinator, group).await?;
    let (with, without): (Vec<TopicPartition>, Vec<TopicPartition>) = scope
        .iter()
        .cloned()
        .partition(|tp| current.contains_key(tp));
    let mut out: BTreeMap<TopicPartition, i64> = with
        .into_iter()
        .filter_map(|tp| current.get(&tp).map(|o| (tp, *o)))
        .collect();
    out.extend(log_offsets(admin, &leaders, &without, OffsetSpec::Latest, "ending").await?);
    Ok(out)
}

/// The log's start or end offset of every partition; one that does not answer is an error.
async fn log_offsets(
    admin: &mut Admin,
    leaders: &Leaders,
    scope: &[TopicPartition],
    spec: OffsetSpec,
    which: &str,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let found = offsets::list_offsets(admin, leaders, scope, spec, 0).await?;
    scope
        .iter()
        .map(|tp| match found.get(tp) {
            Some(Ok(offset)) => Ok((tp.clone(), *offset)),
            _ => Err(ToolError::usage(format!(
                "Error getting {which} offset of topic partition: {}-{}",
                tp.0, tp.1
            ))),
        })
        .collect()
}

/// The first offset at or after `timestamp`; a partition without one falls back to its end.
async fn by_timestamp(
    admin: &mut Admin,
    leaders: &Leaders,
    scope: &[TopicPartition],
    timestamp: i64,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let found =
        offsets::list_offsets(admin, leaders, scope, OffsetSpec::Timestamp(timestamp), 0).await?;
    let mut out = BTreeMap::new();
    let mut fallback = Vec::new();
    for tp in scope {
        match found.get(tp) {
            Some(Ok(offset)) if *offset >= 0 => {
                out.insert(tp.clone(), *offset);
            }
            Some(Ok(_)) => {
                println!(
                    "\nWarn: Partition {} from topic {} is empty. Falling back to latest known offset.",
                    tp.1, tp.0
                );
                fallback.push(tp.clone());
            }
            _ => {
                return Err(ToolError::usage(format!(
                    "Error getting offset by timestamp of topic partition: {}-{}",
                    tp.0, tp.1
                )))
            }
        }
    }
    out.extend(log_offsets(admin, leaders, &fallback, OffsetSpec::Latest, "ending").await?);
    Ok(out)
}

/// Kafka's checkOffsetsRange: an offset past the log end becomes the end, one before the log
/// start becomes the start.
async fn clamp(
    admin: &mut Admin,
    leaders: &Leaders,
    wanted: BTreeMap<TopicPartition, i64>,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let scope: Vec<TopicPartition> = wanted.keys().cloned().collect();
    let starts = log_offsets(admin, leaders, &scope, OffsetSpec::Earliest, "starting").await?;
    let ends = log_offsets(admin, leaders, &scope, OffsetSpec::Latest, "ending").await?;
    Ok(wanted
        .into_iter()
        .map(|(tp, offset)| {
            let end = ends.get(&tp).copied().unwrap_or(offset);
            let start = starts.get(&tp).copied().unwrap_or(offset);
            let clamped = if offset > end {
                end
            } else if offset < start {
                start
            } else {
                offset
            };
            (tp, clamped)
        })
        .collect())
}

/// A `--from-file` plan: `topic,partition,offset` lines (for the one `--group`) or
/// `group,topic,partition,offset` lines.
fn read_plan(path: &std::path::Path, cli: &Cli) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ToolError::io(format!("reading {}", path.display()), e))?;
    let single = cli.group.first().filter(|_| cli.group.len() == 1);
    let mut plan = Plan::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = || ToolError::usage(format!("Invalid line in the reset plan: '{line}'"));
        let (group, topic, partition, offset) = match (fields.as_slice(), single) {
            ([t, p, o], Some(g)) => (g.as_str(), *t, *p, *o),
            ([g, t, p, o], _) => (*g, *t, *p, *o),
            _ => return Err(bad()),
        };
        let partition = partition.parse::<i32>().map_err(|_| bad())?;
        let offset = offset.parse::<i64>().map_err(|_| bad())?;
        plan.entry(group.to_owned())
            .or_default()
            .insert((topic.to_owned(), partition), offset);
    }
    Ok(plan)
}

/// The plan as CSV: `topic,partition,offset` for one group, else with the group first.
fn export_csv(plan: &Plan, single_group: bool) -> String {
    let mut out = String::new();
    for (group, offsets) in plan {
        for ((topic, partition), offset) in offsets {
            if single_group {
                out.push_str(&format!("{topic},{partition},{offset}\n"));
            } else {
                out.push_str(&format!("{group},{topic},{partition},{offset}\n"));
            }
        }
    }
    out
}

/// Kafka's printOffsetsToReset.
fn print_plan(plan: &Plan) {
    let line = |cols: [&str; 4]| {
        print!(
            "\n{} {} {} {}",
            pad(cols[0], 30),
            pad(cols[1], 30),
            pad(cols[2], 10),
            pad(cols[3], 15)
        )
    };
    if !plan.is_empty() {
        line(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]);
    }
    for (group, offsets) in plan {
        for ((topic, partition), offset) in offsets {
            line([group, topic, &partition.to_string(), &offset.to_string()]);
        }
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arguments() {
        assert_eq!(
            parse_topic_partitions("t").ok(),
            Some(("t".to_owned(), None))
        );
        assert_eq!(
            parse_topic_partitions("t:0,2").ok(),
            Some(("t".to_owned(), Some(vec![0, 2])))
        );
        assert!(parse_topic_partitions("t:x").is_err());
    }

    #[test]
    fn csv_export_shapes() {
        let mut plan = Plan::new();
        plan.entry("g".to_owned())
            .or_default()
            .insert(("t".to_owned(), 1), 5);
        assert_eq!(export_csv(&plan, true), "t,1,5\n");
        assert_eq!(export_csv(&plan, false), "g,t,1,5\n");
    }
}
