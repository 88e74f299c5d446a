//! `--describe`: per group, its partitions with committed offset, log end offset and lag
//! (`--offsets`, the default), its members (`--members`, `--verbose` adds each one's
//! assignment) or its state (`--state`), printed as Kafka's tool prints them.

use std::collections::{BTreeMap, BTreeSet};

use super::service::{self, GroupDescription};
use super::{pad, print_error, Cli};
use crate::client::offsets::{self, OffsetSpec};
use crate::client::topics::{self, TopicPartition};
use crate::client::Admin;
use crate::error::Result;

/// Kafka's placeholder for a value a row does not have.
const MISSING: &str = "-";

pub(super) async fn run(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let mut groups = service::selected_groups(admin, cli).await?;
    groups.sort();
    groups.dedup();
    for group in groups {
        let description = service::describe(admin, &group).await?;
        if cli.members {
            print_members(&description, cli.verbose);
        } else if cli.state.is_some() {
            print_state(&description);
        } else {
            let rows = offset_rows(admin, &description).await?;
            print_offsets(&description, &rows);
        }
    }
    Ok(())
}

/// Kafka's shouldPrintMemberState: says what the state means; whether rows follow.
fn announce(group: &str, state: &str, rows: usize) -> bool {
    match state {
        "Dead" => print_error(&format!("Consumer group '{group}' does not exist.")),
        "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
        "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => {
            eprintln!("\nWarning: Consumer group '{group}' is rebalancing.")
        }
        _ => {}
    }
    state != "Dead" && rows > 0
}

/// One row of `--offsets`.
#[derive(Debug)]
pub(super) struct OffsetRow {
    pub partition: TopicPartition,
    pub offset: Option<i64>,
    pub log_end: Option<i64>,
    pub consumer_id: String,
    pub host: String,
    pub client_id: String,
}

impl OffsetRow {
    /// Lag: log end minus committed, when both are known.
    pub(super) fn lag(&self) -> Option<i64> {
        Some(self.log_end? - self.offset?)
    }
}

/// The rows of `--offsets`: each assigned partition under its member (members with more
/// partitions first), then partitions with a committed offset that nobody is assigned.
async fn offset_rows(admin: &mut Admin, d: &GroupDescription) -> Result<Vec<OffsetRow>> {
    let committed = offsets::committed(admin, d.coordinator.id, &d.group).await?;
    let mut members: Vec<_> = d
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let mut rows = Vec::new();
    let mut assigned = BTreeSet::new();
    for m in members {
        let mut parts = m.assignment.clone();
        parts.sort();
        for tp in parts {
            assigned.insert(tp.clone());
            rows.push(OffsetRow {
                offset: committed.get(&tp).copied(),
                partition: tp,
                log_end: None,
                consumer_id: m.member_id.clone(),
                host: m.host.clone(),
                client_id: m.client_id.clone(),
            });
        }
    }
    for (tp, offset) in &committed {
        if !assigned.contains(tp) {
            rows.push(OffsetRow {
                partition: tp.clone(),
                offset: Some(*offset),
                log_end: None,
                consumer_id: MISSING.to_owned(),
                host: MISSING.to_owned(),
                client_id: MISSING.to_owned(),
            });
        }
    }
    let ends = log_end_offsets(admin, rows.iter().map(|r| &r.partition)).await?;
    for row in &mut rows {
        row.log_end = ends.get(&row.partition).copied();
    }
    Ok(rows)
}

/// The log end offsets of `partitions` that answer (others are left out: printed as `-`).
pub(super) async fn log_end_offsets<'a>(
    admin: &mut Admin,
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let partitions: Vec<TopicPartition> = partitions.into_iter().cloned().collect();
    let leaders = topics::known_leaders(admin, &topics::topic_names(&partitions)).await?;
    let wanted: Vec<TopicPartition> = partitions
        .into_iter()
        .filter(|tp| leaders.contains_key(tp))
        .collect();
    let ends = offsets::list_offsets(admin, &leaders, &wanted, OffsetSpec::Latest, 0).await?;
    Ok(ends
        .into_iter()
        .filter_map(|(tp, r)| r.ok().map(|o| (tp, o)))
        .collect())
}

fn print_offsets(d: &GroupDescription, rows: &[OffsetRow]) {
    if !announce(&d.group, &d.state, rows.len()) {
        return;
    }
    let width = |f: &dyn Fn(&OffsetRow) -> usize| rows.iter().map(f).max().unwrap_or(0).max(15);
    let group_w = d.group.chars().count().max(15);
    let topic_w = width(&|r| r.partition.0.chars().count());
    let consumer_w = width(&|r| r.consumer_id.chars().count());
    let host_w = width(&|r| r.host.chars().count());
    let line = |cols: [&str; 9]| {
        print!(
            "\n{} {} {} {} {} {} {} {} {}",
            pad(cols[0], group_w),
            pad(cols[1], topic_w),
            pad(cols[2], 10),
            pad(cols[3], 15),
            pad(cols[4], 15),
            pad(cols[5], 15),
            pad(cols[6], consumer_w),
            pad(cols[7], host_w),
            cols[8]
        )
    };
    line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    let show = |v: Option<i64>| v.map_or_else(|| MISSING.to_owned(), |v| v.to_string());
    for r in rows {
        line([
            &d.group,
            &r.partition.0,
            &r.partition.1.to_string(),
            &show(r.offset),
            &show(r.log_end),
            &show(r.lag()),
            &r.consumer_id,
            &r.host,
            &r.client_id,
        ]);
    }
    println!();
}

fn print_members(d: &GroupDescription, verbose: bool) {
    let mut group_w = 15;
    let mut consumer_w = 15;
    let mut instance_w = 17;
    let mut host_w = 15;
    let mut client_w = 15;
    let mut with_instance = false;
    if announce(&d.group, &d.state, d.members.len()) {
        for m in &d.members {
            let instance = m.instance_id.as_deref().unwrap_or("");
            group_w = group_w.max(d.group.chars().count());
            consumer_w = consumer_w.max(m.member_id.chars().count());
            instance_w = instance_w.max(instance.chars().count());
            host_w = host_w.max(m.host.chars().count());
            client_w = client_w.max(m.client_id.chars().count());
            with_instance |= !instance.is_empty();
        }
    }
    let line = |cols: [&str; 6]| {
        let mut s = format!("{} {} ", pad(cols[0], group_w), pad(cols[1], consumer_w));
        if with_instance {
            s.push_str(&format!("{} ", pad(cols[2], instance_w)));
        }
        s.push_str(&format!(
            "{} {} {} ",
            pad(cols[3], host_w),
            pad(cols[4], client_w),
            pad(cols[5], 15)
        ));
        s
    };
    let mut header = line([
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
    ]);
    if verbose {
        header.push_str("ASSIGNMENT");
    }
    println!("\n{header}");
    for m in &d.members {
        let mut row = line([
            &d.group,
            &m.member_id,
            m.instance_id.as_deref().unwrap_or(""),
            &m.host,
            &m.client_id,
            &m.assignment.len().to_string(),
        ]);
        if verbose {
            row.push_str(&assignment_text(&m.assignment));
        }
        println!("{row}");
    }
}

/// `topic1(0,1), topic2(0)`, topics in order, or `-` for none.
fn assignment_text(assignment: &[TopicPartition]) -> String {
    if assignment.is_empty() {
        return MISSING.to_owned();
    }
    topics::grouped(assignment)
        .into_iter()
        .map(|(topic, mut parts)| {
            parts.sort_unstable();
            let parts: Vec<String> = parts.iter().map(i32::to_string).collect();
            format!("{topic}({})", parts.join(","))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_state(d: &GroupDescription) {
    if !announce(&d.group, &d.state, 1) {
        return;
    }
    let coordinator = format!(
        "{}:{}  ({})",
        d.coordinator.host, d.coordinator.port, d.coordinator.id
    );
    let width = coordinator.chars().count().max(25);
    let line = |cols: [&str; 5]| {
        print!(
            "\n{} {} {} {} {}",
            pad(cols[0], width),
            pad(cols[1], 25),
            pad(cols[2], 20),
            pad(cols[3], 15),
            cols[4]
        )
    };
    line([
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "#MEMBERS",
    ]);
    line([
        &d.group,
        &coordinator,
        &d.assignor,
        &d.state,
        &d.members.len().to_string(),
    ]);
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_read_as_kafka_prints_them() {
        let a = vec![
            ("topic2".to_owned(), 0),
            ("topic1".to_owned(), 1),
            ("topic1".to_owned(), 0),
        ];
        assert_eq!(assignment_text(&a), "topic1(0,1), topic2(0)");
        assert_eq!(assignment_text(&[]), "-");
    }
}
