//! `--execute` and `--cancel` (Kafka's `executeAssignment`, `cancelAssignment`, `executeMoves`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::json::{self, tp_name, TopicPartition};
use super::{ops, plan, status, throttles};
use crate::client::Admin;
use crate::error::{Result, ToolError};

const CANNOT_EXECUTE_BECAUSE_OF_EXISTING: &str = "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.";
const RUN_VERIFY: &str = "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.";
/// Pause between AlterReplicaLogDirs attempts while a new replica does not exist yet.
const MOVE_RETRY: Duration = Duration::from_millis(100);

pub(super) struct ExecuteOptions {
    pub(super) additional: bool,
    /// Bytes/s between brokers; negative: no throttle.
    pub(super) throttle: i64,
    /// Bytes/s between a broker's log dirs; negative: no throttle.
    pub(super) log_dir_throttle: i64,
    /// How long to keep asking for log dir moves of replicas not created yet.
    pub(super) timeout: Duration,
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn names<'a>(parts: impl IntoIterator<Item = &'a TopicPartition>) -> String {
    parts.into_iter().map(tp_name).collect::<Vec<_>>().join(",")
}

pub(super) async fn execute(admin: &mut Admin, text: &str, o: &ExecuteOptions) -> Result<()> {
    let file = json::parse_reassignment(text)?;
    let proposed = json::check_for_execute(&file)?;
    let ongoing = ops::list_reassignments(admin, None).await?;
    if !o.additional && !ongoing.is_empty() {
        return Err(ToolError::usage(CANNOT_EXECUTE_BECAUSE_OF_EXISTING));
    }
    let brokers: BTreeSet<i32> = proposed.values().flatten().copied().collect();
    if let Some(unknown) = brokers.iter().find(|b| !admin.nodes().contains_key(b)) {
        return Err(ToolError::usage(format!("Unknown broker id {unknown}")));
    }
    let current = current_replicas(admin, proposed.keys()).await?;
    println!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
        json::format_reassignment(&current, &BTreeMap::new())
    );
    if o.throttle >= 0 || o.log_dir_throttle >= 0 {
        println!("{RUN_VERIFY}");
        if o.throttle >= 0 {
            let moves = plan::proposed_moves(&ongoing, &proposed, &current)?;
            throttles::set_reassignment_throttle(admin, &moves, o.throttle).await?;
        }
        if o.log_dir_throttle >= 0 {
            let moving: BTreeSet<i32> = file.log_dirs.keys().map(|(_, _, b)| *b).collect();
            throttles::set_log_dir_throttle(admin, &moving, o.log_dir_throttle).await?;
        }
    }
    let targets = proposed
        .iter()
        .map(|(tp, r)| (tp.clone(), Some(r.clone())))
        .collect();
    let errors = ops::alter_reassignments(admin, &targets).await?;
    if !errors.is_empty() {
        let lines: Vec<String> = errors
            .iter()
            .map(|(tp, e)| format!("{}: {e}", tp_name(tp)))
            .collect();
        return Err(ToolError::usage(format!(
            "Error reassigning partition(s):\n{}",
            lines.join("\n")
        )));
    }
    println!(
        "Successfully started partition reassignment{} for {}",
        plural(proposed.len()),
        names(proposed.keys())
    );
    if !file.log_dirs.is_empty() {
        move_log_dirs(admin, &file.log_dirs, o.timeout).await?;
    }
    Ok(())
}

/// The replicas of `parts` now; a partition the cluster does not have is an error.
async fn current_replicas<'a>(
    admin: &mut Admin,
    parts: impl Iterator<Item = &'a TopicPartition> + Clone,
) -> Result<BTreeMap<TopicPartition, Vec<i32>>> {
    let topics: BTreeSet<String> = parts.clone().map(|(t, _)| t.clone()).collect();
    let described = ops::describe_topics(admin, &topics).await?;
    let mut current = BTreeMap::new();
    let mut missing = Vec::new();
    for tp in parts {
        match described.get(tp) {
            Some((replicas, _)) => {
                current.insert(tp.clone(), replicas.clone());
            }
            None => missing.push(tp_name(tp)),
        }
    }
    if !missing.is_empty() {
        return Err(ToolError::usage(format!(
            "Unable to find partition: {}",
            missing.join(", ")
        )));
    }
    Ok(current)
}

/// Asks each broker to move its replicas to the named log dirs, again every 100 ms for the
/// replicas it does not have yet (a reassignment creates them), until `timeout`.
async fn move_log_dirs(
    admin: &mut Admin,
    dirs: &BTreeMap<(String, i32, i32), String>,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    let mut pending = dirs.clone();
    loop {
        let mut by_broker: BTreeMap<i32, BTreeMap<TopicPartition, String>> = BTreeMap::new();
        for ((t, p, b), dir) in &pending {
            by_broker
                .entry(*b)
                .or_default()
                .insert((t.clone(), *p), dir.clone());
        }
        for (broker, wanted) in by_broker {
            for (t, p) in ops::alter_replica_log_dirs(admin, broker, &wanted).await? {
                if let Some(dir) = pending.remove(&(t.clone(), p, broker)) {
                    println!(
                        "Successfully started moving log directory to {dir} for replica {t}-{p} with broker {broker} "
                    );
                }
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            let left: Vec<String> = pending
                .keys()
                .map(|(t, p, b)| format!("{t}-{p}-{b}"))
                .collect();
            return Err(ToolError::usage(format!(
                "Timed out before log directory move{} could be started for: {}",
                plural(left.len()),
                left.join(",")
            )));
        }
        tokio::time::sleep(MOVE_RETRY).await;
    }
}

/// `--cancel`: reverts the file's partitions that are still moving, moves log dirs back, and
/// clears the throttles.
pub(super) async fn cancel(
    admin: &mut Admin,
    text: &str,
    preserve: bool,
    timeout: Duration,
) -> Result<()> {
    let file = json::parse_reassignment(text)?;
    let wanted: BTreeSet<TopicPartition> =
        file.partitions.iter().map(|(tp, _)| tp.clone()).collect();
    let ongoing = ops::list_reassignments(admin, Some(&wanted)).await?;
    // Kafka's condition, kept as it is.
    let cancelling: BTreeSet<TopicPartition> = ongoing
        .iter()
        .filter(|(_, o)| o.adding.is_empty() || !o.removing.is_empty())
        .map(|(tp, _)| tp.clone())
        .collect();
    if cancelling.is_empty() {
        println!("None of the specified partition reassignments are active.");
    } else {
        let targets = cancelling.iter().map(|tp| (tp.clone(), None)).collect();
        let errors = ops::alter_reassignments(admin, &targets).await?;
        if !errors.is_empty() {
            let lines: Vec<String> = errors
                .iter()
                .map(|(tp, e)| format!("{}: {e}", tp_name(tp)))
                .collect();
            return Err(ToolError::usage(format!(
                "Error cancelling partition reassignment{} for:\n{}",
                plural(errors.len()),
                lines.join("\n")
            )));
        }
        println!(
            "Successfully cancelled partition reassignment{} for: {}",
            plural(cancelling.len()),
            names(&cancelling)
        );
    }
    let back = status::active_moves_back(admin, &file.log_dirs).await?;
    if back.is_empty() {
        // Kafka prints this without a line end, running it into the next line.
        println!("None of the specified partition moves are active.");
    } else {
        move_log_dirs(admin, &back, timeout).await?;
    }
    if !preserve {
        throttles::clear_all(admin, &file.partitions).await?;
    }
    Ok(())
}
