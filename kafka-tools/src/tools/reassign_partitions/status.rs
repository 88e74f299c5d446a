//! `--verify` and `--list`: each partition's reassignment status as Kafka's tool words it,
//! and (our addition) under each partition still moving, how much of the leader's log each
//! new replica holds, from DescribeLogDirs on the brokers involved. Log dir moves are reported
//! from DescribeLogDirs too.

use std::collections::{BTreeMap, BTreeSet};

use super::json::{self, tp_name, TopicPartition};
use super::plan::Ongoing;
use super::{ops, throttles};
use crate::client::Admin;
use crate::error::Result;

/// One partition of the file: where it is now and whether it is done.
struct PartitionState {
    current: Vec<i32>,
    target: Vec<i32>,
    done: bool,
}

pub(super) async fn verify(admin: &mut Admin, text: &str, preserve: bool) -> Result<()> {
    let file = json::parse_reassignment(text)?;
    let ongoing = ops::list_reassignments(admin, None).await?;
    let topics: BTreeSet<String> = file
        .partitions
        .iter()
        .map(|((t, _), _)| t.clone())
        .collect();
    let described = ops::describe_topics(admin, &topics).await?;
    let mut states = BTreeMap::new();
    for (tp, target) in &file.partitions {
        let state = match ongoing.get(tp) {
            Some(o) => PartitionState {
                current: o.replicas.clone(),
                target: target.clone(),
                done: false,
            },
            None => PartitionState {
                current: described
                    .get(tp)
                    .map(|(r, _)| r.clone())
                    .unwrap_or_default(),
                target: target.clone(),
                done: true,
            },
        };
        states.insert(tp.clone(), state);
    }
    println!("Status of partition reassignment:");
    for (tp, s) in &states {
        println!("{}", status_line(tp, s));
        if let (false, Some(o)) = (s.done, ongoing.get(tp)) {
            let leader = described.get(tp).map_or(-1, |(_, l)| *l);
            for line in progress(admin, tp, o, leader).await? {
                println!("{line}");
            }
        }
    }
    let moves_ongoing = verify_moves(admin, &file.log_dirs).await?;
    if ongoing.is_empty() && !moves_ongoing && !preserve {
        // Everything done: clear all throttles (Kafka cannot tell which brokers earlier
        // moves throttled, so it clears them on every broker).
        throttles::clear_all(admin, &file.partitions).await?;
    }
    Ok(())
}

fn status_line(tp: &TopicPartition, s: &PartitionState) -> String {
    let list = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    match (s.done, s.current == s.target) {
        (false, _) => format!("Reassignment of partition {} is still in progress.", tp_name(tp)),
        (true, true) => format!("Reassignment of partition {} is completed.", tp_name(tp)),
        (true, false) => format!(
            "There is no active reassignment of partition {}, but replica set is {} rather than {}.",
            tp_name(tp),
            list(&s.current),
            list(&s.target)
        ),
    }
}

/// How much each adding replica of `tp` holds, against its leader's log.
async fn progress(
    admin: &mut Admin,
    tp: &TopicPartition,
    o: &Ongoing,
    leader: i32,
) -> Result<Vec<String>> {
    let one: BTreeSet<TopicPartition> = BTreeSet::from([tp.clone()]);
    let size_on = |replicas: Vec<ops::LogDirReplica>| {
        replicas.into_iter().find(|r| !r.future).map(|r| r.size)
    };
    let leader_size = match leader {
        l if l >= 0 => size_on(ops::log_dir_replicas(admin, l, &one).await?),
        _ => None,
    };
    let mut lines = Vec::new();
    for b in &o.adding {
        let size = size_on(ops::log_dir_replicas(admin, *b, &one).await?).unwrap_or(0);
        lines.push(progress_line(*b, size, leader_size));
    }
    Ok(lines)
}

fn progress_line(broker: i32, size: i64, leader_size: Option<i64>) -> String {
    match leader_size {
        Some(total) if total > 0 => format!(
            "  Replica {broker}: {size} of {total} bytes copied ({:.1}%).",
            (size as f64 * 100.0 / total as f64).min(100.0)
        ),
        Some(_) => format!("  Replica {broker}: {size} bytes copied (the leader's log is empty)."),
        None => format!("  Replica {broker}: {size} bytes copied (the leader's size is unknown)."),
    }
}

/// Where a replica's log is on its broker: its current dir and its future dir, if moving.
#[derive(Debug, Default, Clone)]
struct ReplicaDirs {
    current: Option<String>,
    future: Option<String>,
}

/// The log dirs of the file's replicas that name one, by (topic, partition, broker).
async fn replica_dirs(
    admin: &mut Admin,
    wanted: &BTreeMap<(String, i32, i32), String>,
) -> Result<BTreeMap<(String, i32, i32), ReplicaDirs>> {
    let mut by_broker: BTreeMap<i32, BTreeSet<TopicPartition>> = BTreeMap::new();
    for (t, p, b) in wanted.keys() {
        by_broker.entry(*b).or_default().insert((t.clone(), *p));
    }
    let mut out = BTreeMap::new();
    for (broker, partitions) in by_broker {
        for r in ops::log_dir_replicas(admin, broker, &partitions).await? {
            let (t, p) = r.partition;
            let entry: &mut ReplicaDirs = out.entry((t, p, broker)).or_default();
            if r.future {
                entry.future = Some(r.dir);
            } else {
                entry.current = Some(r.dir);
            }
        }
    }
    Ok(out)
}

/// Prints each log dir move's state as Kafka does; true while any is still moving.
async fn verify_moves(
    admin: &mut Admin,
    wanted: &BTreeMap<(String, i32, i32), String>,
) -> Result<bool> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let dirs = replica_dirs(admin, wanted).await?;
    let mut moving = false;
    // Kafka sorts replicas by broker, then topic and partition.
    let mut order: Vec<&(String, i32, i32)> = wanted.keys().collect();
    order.sort_by_key(|(t, p, b)| (*b, t.clone(), *p));
    for key @ (t, p, b) in order {
        let target = &wanted[key];
        let line = match dirs.get(key) {
            None => format!("Partition {t}-{p} cannot be found in any live log directory on broker {b}."),
            Some(ReplicaDirs { current: None, .. }) => format!(
                "Partition {t}-{p} is not found in any live log dir on broker {b}. There is likely an offline log directory on the broker."
            ),
            Some(ReplicaDirs { future: Some(future), .. }) => {
                moving = true;
                if future == target {
                    format!("Reassignment of replica {t}-{p}-{b} is still in progress.")
                } else {
                    format!("Partition {t}-{p} on broker {b} is being moved to log dir {future} instead of {target}.")
                }
            }
            Some(ReplicaDirs { current: Some(current), future: None }) if current == target => {
                format!("Reassignment of replica {t}-{p}-{b} completed successfully.")
            }
            Some(ReplicaDirs { current: Some(current), .. }) => format!(
                "Partition {t}-{p} on broker {b} is not being moved from log dir {current} to {target}."
            ),
        };
        println!("{line}");
    }
    // A missing replica counts as not done too, as in Kafka.
    Ok(moving
        || wanted
            .keys()
            .any(|k| dirs.get(k).is_none_or(|d| d.current.is_none())))
}

/// The file's replicas still moving between log dirs, with the dir each is in now: where
/// `--cancel` moves them back to.
pub(super) async fn active_moves_back(
    admin: &mut Admin,
    wanted: &BTreeMap<(String, i32, i32), String>,
) -> Result<BTreeMap<(String, i32, i32), String>> {
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(replica_dirs(admin, wanted)
        .await?
        .into_iter()
        .filter_map(|(k, d)| match d {
            ReplicaDirs {
                current: Some(c),
                future: Some(_),
            } => Some((k, c)),
            _ => None,
        })
        .collect())
}

/// `--list`: every ongoing reassignment.
pub(super) async fn list(admin: &mut Admin) -> Result<()> {
    let ongoing = ops::list_reassignments(admin, None).await?;
    if ongoing.is_empty() {
        println!("No partition reassignments found.");
        return Ok(());
    }
    let list = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    println!("Current partition reassignments:");
    for (tp, o) in &ongoing {
        let mut line = format!("{}: replicas: {}.", tp_name(tp), list(&o.replicas));
        if !o.adding.is_empty() {
            line.push_str(&format!(" adding: {}.", list(&o.adding)));
        }
        if !o.removing.is_empty() {
            line.push_str(&format!(" removing: {}.", list(&o.removing)));
        }
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_kafkas() {
        let tp = ("t".to_string(), 0);
        let s = |current: &[i32], target: &[i32], done| PartitionState {
            current: current.to_vec(),
            target: target.to_vec(),
            done,
        };
        assert_eq!(
            status_line(&tp, &s(&[1, 2], &[2, 3], false)),
            "Reassignment of partition t-0 is still in progress."
        );
        assert_eq!(
            status_line(&tp, &s(&[2, 3], &[2, 3], true)),
            "Reassignment of partition t-0 is completed."
        );
        assert_eq!(
            status_line(&tp, &s(&[1, 2], &[2, 3], true)),
            "There is no active reassignment of partition t-0, but replica set is 1,2 rather than 2,3."
        );
        assert_eq!(
            progress_line(3, 50, Some(200)),
            "  Replica 3: 50 of 200 bytes copied (25.0%)."
        );
    }
}
