//! `/admin/preferred_replica_election`: partitions an operator (or an old tool) asks the
//! controller to hand back to their preferred replica:
//! `{"version":1,"partitions":[{"topic":"t","partition":0}]}`. The controller watches for it,
//! elects, then deletes it (Kafka's `PreferredReplicaElectionZNode`).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::error::ZkError;

/// `/admin/preferred_replica_election`.
pub struct PreferredReplicaElectionZNode;

impl PreferredReplicaElectionZNode {
    /// The path.
    pub const PATH: &'static str = "/admin/preferred_replica_election";

    /// Version 1 JSON.
    pub fn encode(partitions: &BTreeSet<(String, i32)>) -> Vec<u8> {
        partition_list(1, partitions.iter())
    }

    /// The partitions it names; duplicates collapse, as in Kafka's set.
    pub fn decode(data: &[u8]) -> Result<BTreeSet<(String, i32)>, ZkError> {
        Ok(decode_partition_list(Self::PATH, data)?
            .into_iter()
            .collect())
    }
}

/// `{"version":<version>,"partitions":[{"topic":..,"partition":..},..]}`: the shape of this
/// znode and of the ISR change notifications.
pub(super) fn partition_list<'a>(
    version: i32,
    partitions: impl Iterator<Item = &'a (String, i32)>,
) -> Vec<u8> {
    let list: Vec<Value> = partitions
        .map(|(t, p)| json!({"topic": t, "partition": p}))
        .collect();
    json!({"version": version, "partitions": list})
        .to_string()
        .into_bytes()
}

/// Reads the `partitions` array of [`partition_list`]'s shape (`path` names the znode in errors).
pub(super) fn decode_partition_list(
    path: &str,
    data: &[u8],
) -> Result<Vec<(String, i32)>, ZkError> {
    let value: Value = serde_json::from_slice(data).map_err(|e| ZkError::json(path, e))?;
    let list = value
        .get("partitions")
        .and_then(Value::as_array)
        .ok_or_else(|| ZkError::json(path, "missing partitions array"))?;
    list.iter()
        .map(|entry| {
            let topic = entry.get("topic").and_then(Value::as_str);
            let partition = entry
                .get("partition")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok());
            match (topic, partition) {
                (Some(t), Some(p)) => Ok((t.to_string(), p)),
                _ => Err(ZkError::json(path, format!("bad entry {entry}"))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_format_round_trip() {
        // What Kafka's PreferredReplicaLeaderElectionCommand (and an operator with zkCli) wrote.
        let data = br#"{"version":1,"partitions":[{"topic":"t","partition":1},{"partition":0,"topic":"t"},{"topic":"t","partition":1}]}"#;
        let partitions = PreferredReplicaElectionZNode::decode(data).unwrap();
        assert_eq!(
            partitions,
            [("t".to_string(), 0), ("t".to_string(), 1)].into()
        );
        let encoded: Value =
            serde_json::from_slice(&PreferredReplicaElectionZNode::encode(&partitions)).unwrap();
        assert_eq!(
            encoded,
            json!({"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1}]})
        );
    }

    #[test]
    fn malformed_data_is_an_error() {
        for data in [
            &b"{}"[..],
            b"not json",
            br#"{"partitions":[{"topic":"t"}]}"#,
        ] {
            assert!(PreferredReplicaElectionZNode::decode(data).is_err());
        }
    }
}
