//! `/admin/reassign_partitions`: partition reassignments submitted through ZooKeeper (Kafka's
//! `ReassignPartitionsZNode`, the pre-KIP-455 way, still honoured by Kafka 3.x's ZooKeeper-mode
//! controller): `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}`.
//! Kafka's tools also write `log_dirs` per entry; the controller ignores it, and so do we.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::json::Obj;
use crate::error::ZkError;

/// The node: target replicas per (topic, partition).
pub struct ReassignPartitionsZNode;

impl ReassignPartitionsZNode {
    /// The path.
    pub const PATH: &'static str = "/admin/reassign_partitions";

    /// Version 1 JSON, entries in (topic, partition) order.
    pub fn encode(reassignments: &BTreeMap<(String, i32), Vec<i32>>) -> Vec<u8> {
        let partitions: Vec<Value> = reassignments
            .iter()
            .map(|((topic, p), replicas)| {
                json!({"topic": topic, "partition": p, "replicas": replicas})
            })
            .collect();
        json!({"version": 1, "partitions": partitions})
            .to_string()
            .into_bytes()
    }

    /// Parses version 1 (a partition named twice: the last entry wins, as in Kafka's `toMap`).
    pub fn decode(data: &[u8]) -> Result<BTreeMap<(String, i32), Vec<i32>>, ZkError> {
        let obj = Obj::parse(Self::PATH, data)?;
        obj.objects("partitions")?
            .iter()
            .map(|entry| {
                Ok((
                    (entry.string("topic")?, entry.i32("partition")?),
                    entry.i32_array("replicas")?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_kafkas_tools_write_and_encodes_kafkas_form() {
        let data = br#"{"version":1,"partitions":[
            {"topic":"orders","partition":1,"replicas":[2,3],"log_dirs":["any","any"]},
            {"topic":"orders","partition":0,"replicas":[3,1]}]}"#;
        let map = ReassignPartitionsZNode::decode(data).unwrap();
        assert_eq!(map[&("orders".to_string(), 0)], vec![3, 1]);
        assert_eq!(map[&("orders".to_string(), 1)], vec![2, 3]);
        let encoded: Value =
            serde_json::from_slice(&ReassignPartitionsZNode::encode(&map)).unwrap();
        let expected: Value = serde_json::from_str(
            r#"{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[3,1]},
                {"topic":"orders","partition":1,"replicas":[2,3]}]}"#,
        )
        .unwrap();
        assert_eq!(encoded, expected);
    }

    #[test]
    fn refuses_entries_without_replicas() {
        let data = br#"{"version":1,"partitions":[{"topic":"t","partition":0}]}"#;
        assert!(ReassignPartitionsZNode::decode(data).is_err());
        assert!(ReassignPartitionsZNode::decode(b"not json").is_err());
    }
}
