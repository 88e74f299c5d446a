//! The tool's JSON files, as Kafka's `ReassignPartitionsCommand` reads and writes them: the
//! reassignment (`{"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..],
//! "log_dirs":[..]}]}`) and the topics to move (`{"version":1,"topics":[{"topic":..}]}`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, ToolError};

/// `log_dirs` entry meaning "wherever the broker puts it".
pub(super) const ANY_LOG_DIR: &str = "any";

/// (topic, partition), ordered as Kafka sorts them (topic, then partition).
pub(super) type TopicPartition = (String, i32);

/// `t-0`, as Kafka prints a `TopicPartition`.
pub(super) fn tp_name(tp: &TopicPartition) -> String {
    format!("{}-{}", tp.0, tp.1)
}

/// A reassignment file: each partition's target replicas (in file order), and the log dir
/// wanted for a replica where it is not "any" (keyed by (topic, partition, broker)).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Reassignment {
    pub(super) partitions: Vec<(TopicPartition, Vec<i32>)>,
    pub(super) log_dirs: BTreeMap<(String, i32, i32), String>,
}

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::usage(message)
}

fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| invalid(format!("The input string is not a valid JSON: {e}")))
}

fn version(js: &Value) -> Result<i64> {
    match js.get("version") {
        None => Ok(1),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| invalid(format!("Expected `version` to be an int, found {v}"))),
    }
}

fn field<'a>(obj: &'a Value, name: &str) -> Result<&'a Value> {
    obj.get(name)
        .ok_or_else(|| invalid(format!("No such field exists: `{name}`")))
}

fn int(v: &Value, what: &str) -> Result<i32> {
    v.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| invalid(format!("Expected `{what}` to be an int, found {v}")))
}

fn string(v: &Value, what: &str) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| invalid(format!("Expected `{what}` to be a string, found {v}")))
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| invalid(format!("Expected `{what}` to be an array, found {v}")))
}

/// Parses a reassignment file as Kafka's `parsePartitionReassignmentData` does (duplicates
/// are kept, for [`check_for_execute`] to refuse).
pub(super) fn parse_reassignment(text: &str) -> Result<Reassignment> {
    let js = parse_json(text)?;
    let v = version(&js)?;
    if v != 1 {
        return Err(invalid(format!("Not supported version field value {v}")));
    }
    let mut out = Reassignment::default();
    let Some(partitions) = js.get("partitions") else {
        return Ok(out);
    };
    for p in array(partitions, "partitions")? {
        let topic = string(field(p, "topic")?, "topic")?;
        let partition = int(field(p, "partition")?, "partition")?;
        let replicas = array(field(p, "replicas")?, "replicas")?
            .iter()
            .map(|r| int(r, "replicas"))
            .collect::<Result<Vec<i32>>>()?;
        let dirs = match p.get("log_dirs") {
            Some(d) => array(d, "log_dirs")?
                .iter()
                .map(|d| string(d, "log_dirs"))
                .collect::<Result<Vec<String>>>()?,
            None => vec![ANY_LOG_DIR.to_owned(); replicas.len()],
        };
        if dirs.len() != replicas.len() {
            return Err(invalid(format!(
                "Size of replicas list {} is different from size of log dirs list {} for partition {topic}-{partition}",
                java_list(&replicas),
                java_list(&dirs)
            )));
        }
        for (broker, dir) in replicas.iter().zip(dirs) {
            if dir != ANY_LOG_DIR {
                out.log_dirs
                    .insert((topic.clone(), partition, *broker), dir);
            }
        }
        out.partitions.push(((topic, partition), replicas));
    }
    Ok(out)
}

/// `[1, 2, 3]`, as Java prints a list.
fn java_list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Kafka's checks before executing: something to do, no empty replica list, no partition
/// twice, no broker twice in a partition's list.
pub(super) fn check_for_execute(r: &Reassignment) -> Result<BTreeMap<TopicPartition, Vec<i32>>> {
    if r.partitions.is_empty() {
        return Err(invalid("Partition reassignment list cannot be empty"));
    }
    if r.partitions.iter().any(|(_, replicas)| replicas.is_empty()) {
        return Err(invalid("Partition replica list cannot be empty"));
    }
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<String> = r
        .partitions
        .iter()
        .filter(|(tp, _)| !seen.insert(tp.clone()))
        .map(|(tp, _)| tp_name(tp))
        .collect();
    if !duplicates.is_empty() {
        return Err(invalid(format!(
            "Partition reassignment contains duplicate topic partitions: {}",
            duplicates.into_iter().collect::<Vec<_>>().join(",")
        )));
    }
    let repeated: Vec<String> = r
        .partitions
        .iter()
        .filter_map(|(tp, replicas)| {
            let mut seen = BTreeSet::new();
            let twice: BTreeSet<i32> = replicas
                .iter()
                .filter(|b| !seen.insert(**b))
                .copied()
                .collect();
            (!twice.is_empty()).then(|| {
                let twice: Vec<String> = twice.iter().map(i32::to_string).collect();
                format!(
                    "{} contains multiple entries for {}",
                    tp_name(tp),
                    twice.join(",")
                )
            })
        })
        .collect();
    if !repeated.is_empty() {
        return Err(invalid(format!(
            "Partition replica lists may not contain duplicate entries: {}",
            repeated.join(". ")
        )));
    }
    Ok(r.partitions.iter().cloned().collect())
}

/// The topics of a `--topics-to-move-json-file`.
pub(super) fn parse_topics(text: &str) -> Result<Vec<String>> {
    let js = parse_json(text)?;
    let v = version(&js)?;
    if v != 1 {
        return Err(invalid(format!("Not supported version field value {v}")));
    }
    let Some(topics) = js.get("topics") else {
        return Ok(Vec::new());
    };
    array(topics, "topics")?
        .iter()
        .map(|t| string(field(t, "topic")?, "topic"))
        .collect()
}

#[derive(Serialize)]
struct FileOut<'a> {
    version: i32,
    partitions: Vec<PartitionOut<'a>>,
}

#[derive(Serialize)]
struct PartitionOut<'a> {
    topic: &'a str,
    partition: i32,
    replicas: &'a [i32],
    log_dirs: Vec<&'a str>,
}

/// Kafka's `formatAsReassignmentJson`: compact, partitions sorted, `log_dirs` "any" unless
/// `log_dirs` names one.
pub(super) fn format_reassignment(
    partitions: &BTreeMap<TopicPartition, Vec<i32>>,
    log_dirs: &BTreeMap<(String, i32, i32), String>,
) -> String {
    let out = FileOut {
        version: 1,
        partitions: partitions
            .iter()
            .map(|((topic, partition), replicas)| PartitionOut {
                topic,
                partition: *partition,
                replicas,
                log_dirs: replicas
                    .iter()
                    .map(|b| {
                        log_dirs
                            .get(&(topic.clone(), *partition, *b))
                            .map_or(ANY_LOG_DIR, String::as_str)
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reassignment_file_round_trips_in_kafkas_format() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[3,1],
            "log_dirs":["any","/data/a"]},{"topic":"a","partition":0,"replicas":[2]}]}"#;
        let r = parse_reassignment(text).expect("parse");
        assert_eq!(r.partitions.len(), 2);
        assert_eq!(
            r.log_dirs.get(&("t".into(), 1, 1)).map(String::as_str),
            Some("/data/a")
        );
        let parts = check_for_execute(&r).expect("valid");
        assert_eq!(
            format_reassignment(&parts, &r.log_dirs),
            r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[2],"log_dirs":["any"]},{"topic":"t","partition":1,"replicas":[3,1],"log_dirs":["any","/data/a"]}]}"#
        );
        assert_eq!(
            parse_reassignment("{}").expect("empty"),
            Reassignment::default()
        );
    }

    #[test]
    fn bad_files_are_refused_with_kafkas_messages() {
        let err = |text: &str| match parse_reassignment(text).and_then(|r| check_for_execute(&r)) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        assert!(err("nope").starts_with("The input string is not a valid JSON"));
        assert_eq!(
            err(r#"{"version":2}"#),
            "Not supported version field value 2"
        );
        assert_eq!(
            err(r#"{"version":1,"partitions":[]}"#),
            "Partition reassignment list cannot be empty"
        );
        assert_eq!(
            err(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#),
            "Size of replicas list [1, 2] is different from size of log dirs list [any] for partition t-0"
        );
        assert_eq!(
            err(
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}"#
            ),
            "Partition reassignment contains duplicate topic partitions: t-0"
        );
        assert_eq!(
            err(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2,1,2]}]}"#),
            "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1,2"
        );
        assert_eq!(
            err(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}"#),
            "Partition replica list cannot be empty"
        );
    }

    #[test]
    fn topics_to_move_are_read_from_their_file() {
        let topics = parse_topics(r#"{"topics":[{"topic":"foo"},{"topic":"foo1"}],"version":1}"#);
        assert_eq!(
            topics.expect("parse"),
            vec!["foo".to_string(), "foo1".to_string()]
        );
        assert!(parse_topics(r#"{"topics":[{"name":"foo"}]}"#).is_err());
    }
}
