//! Topic administration through ZooKeeper (Kafka's `AdminZkClient`): any broker may call these;
//! the controller notices new topics through its watch on `/brokers/topics`.

use std::collections::BTreeMap;

use rand::Rng;

use crate::connect::Zk;
use crate::error::ZkError;
use crate::registration::live_brokers;
use crate::znode::{random_uuid, TopicConfigZNode, TopicZNode, TopicsZNode};

/// Longest legal topic name (`Topic.MAX_NAME_LENGTH`).
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// Kafka's topic name rules: non-empty, ≤ 249 chars, only `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), ZkError> {
    if name.is_empty() {
        return Err(ZkError::InvalidTopic(
            "Topic name is illegal, it can't be empty".into(),
        ));
    }
    if name == "." || name == ".." {
        return Err(ZkError::InvalidTopic(
            "Topic name cannot be \".\" or \"..\"".into(),
        ));
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(ZkError::InvalidTopic(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {name}"
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    {
        return Err(ZkError::InvalidTopic(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Kafka's rack-unaware replica spread (`AdminUtils.assignReplicasToBrokersRackUnaware`).
///
/// Brokers are sorted by id; partition p's first replica is broker `(p + start) % n`; followers
/// are shifted by a per-round amount so replicas spread evenly. `start_index` fixes both the start
/// and the shift (tests); `None` picks them at random as Kafka does. Racks are ignored for now.
pub fn assign_replicas(
    brokers: &[(i32, Option<String>)],
    partitions: i32,
    rf: i16,
    start_index: Option<usize>,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    if partitions <= 0 {
        return Err(ZkError::InvalidPartitions(
            "Number of partitions must be larger than 0.".into(),
        ));
    }
    let mut ids: Vec<i32> = brokers.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let n = ids.len();
    let rf_usize = usize::try_from(rf).unwrap_or(0);
    if rf_usize == 0 || rf_usize > n {
        return Err(ZkError::InvalidReplicationFactor {
            requested: rf,
            available: n,
        });
    }
    let mut rng = rand::thread_rng();
    let start = start_index.unwrap_or_else(|| rng.gen_range(0..n));
    let mut shift = start_index.unwrap_or_else(|| rng.gen_range(0..n));
    let mut assignment = BTreeMap::new();
    for p in 0..partitions {
        let p_usize = usize::try_from(p).unwrap_or(0);
        if p_usize > 0 && p_usize % n == 0 {
            shift += 1;
        }
        let first = (p_usize + start) % n;
        let mut replicas = vec![ids[first]];
        for j in 0..rf_usize - 1 {
            let follower_shift = 1 + (shift + j) % (n - 1);
            replicas.push(ids[(first + follower_shift) % n]);
        }
        assignment.insert(p, replicas);
    }
    Ok(assignment)
}

/// Creates a topic: validates, assigns replicas over the live brokers, writes
/// `/config/topics/<t>` first and then `/brokers/topics/<t>` (v3, with a fresh topic id).
/// Returns the assignment. The controller does the rest (partition states, LeaderAndIsr).
pub async fn create_topic(
    zk: &Zk,
    name: &str,
    partitions: i32,
    rf: i16,
    configs: &BTreeMap<String, String>,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    validate_topic_name(name)?;
    check_collisions(zk, name).await?;
    let brokers: Vec<(i32, Option<String>)> = live_brokers(zk)
        .await?
        .into_iter()
        .map(|b| (b.info.id, b.info.rack))
        .collect();
    let assignment = assign_replicas(&brokers, partitions, rf, None)?;
    // Kafka writes the config first (not atomically) so the topic never exists without it.
    write_topic_config(zk, name, configs).await?;
    let node = TopicZNode {
        partitions: assignment.clone(),
        topic_id: Some(random_uuid()),
        ..TopicZNode::default()
    };
    zk.ensure_path(TopicsZNode::PATH).await?;
    match zk
        .create(&TopicZNode::path(name), &node.encode(), false)
        .await
    {
        Ok(_) => {
            tracing::info!(topic = name, partitions, rf, "created topic");
            Ok(assignment)
        }
        Err(e) if e.is_node_exists() => Err(ZkError::TopicExists(name.to_string())),
        Err(e) => Err(e),
    }
}

/// Topic exists, or collides with an existing one once `.` and `_` are equated (Kafka refuses
/// both because metric names would clash).
async fn check_collisions(zk: &Zk, name: &str) -> Result<(), ZkError> {
    let normalized = name.replace('.', "_");
    for existing in zk.children(TopicsZNode::PATH).await? {
        if existing == name {
            return Err(ZkError::TopicExists(name.to_string()));
        }
        if existing.replace('.', "_") == normalized {
            return Err(ZkError::InvalidTopic(format!(
                "Topic '{name}' collides with existing topic: {existing}"
            )));
        }
    }
    Ok(())
}

/// setData-or-create `/config/topics/<t>` (Kafka's `setOrCreateEntityConfigs`).
async fn write_topic_config(
    zk: &Zk,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Result<(), ZkError> {
    let path = TopicConfigZNode::path(name);
    let data = TopicConfigZNode::encode(configs);
    match zk.set(&path, &data, None).await {
        Err(e) if e.is_no_node() => {
            zk.ensure_path("/config/topics").await?;
            match zk.create(&path, &data, false).await {
                Err(e) if e.is_node_exists() => zk.set(&path, &data, None).await.map(|_| ()),
                other => other.map(|_| ()),
            }
        }
        other => other.map(|_| ()),
    }
}

/// Whether `/brokers/topics/<t>` exists.
pub async fn topic_exists(zk: &Zk, name: &str) -> Result<bool, ZkError> {
    Ok(zk.stat(&TopicZNode::path(name)).await?.is_some())
}

/// The topic's assignment node, if the topic exists.
pub async fn topic_assignment(zk: &Zk, name: &str) -> Result<Option<TopicZNode>, ZkError> {
    match zk.get(&TopicZNode::path(name)).await? {
        Some((data, _)) => Ok(Some(TopicZNode::decode(name, &data)?)),
        None => Ok(None),
    }
}

/// All topic names (sorted).
pub async fn list_topics(zk: &Zk) -> Result<Vec<String>, ZkError> {
    zk.children(TopicsZNode::PATH).await
}

/// A topic's config overrides (`/config/topics/<t>`), empty if none.
pub async fn topic_config(zk: &Zk, name: &str) -> Result<BTreeMap<String, String>, ZkError> {
    match zk.get(&TopicConfigZNode::path(name)).await? {
        Some((data, _)) if !data.is_empty() => TopicConfigZNode::decode(name, &data),
        _ => Ok(BTreeMap::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(ids: &[i32]) -> Vec<(i32, Option<String>)> {
        ids.iter().map(|&id| (id, None)).collect()
    }

    #[test]
    fn topic_name_rules() {
        for ok in ["a", "my-topic_1.x", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"x".repeat(250)] {
            assert!(
                matches!(validate_topic_name(bad), Err(ZkError::InvalidTopic(_))),
                "{bad}"
            );
        }
    }

    /// Kafka's AdminUtilsTest.testReplicaAssignment (5 brokers, 10 partitions, rf 3, start 0).
    #[test]
    fn matches_kafka_reference_assignment() {
        let got = assign_replicas(&brokers(&[0, 1, 2, 3, 4]), 10, 3, Some(0)).unwrap();
        let expected: BTreeMap<i32, Vec<i32>> = [
            (0, vec![0, 1, 2]),
            (1, vec![1, 2, 3]),
            (2, vec![2, 3, 4]),
            (3, vec![3, 4, 0]),
            (4, vec![4, 0, 1]),
            (5, vec![0, 2, 3]),
            (6, vec![1, 3, 4]),
            (7, vec![2, 4, 0]),
            (8, vec![3, 0, 1]),
            (9, vec![4, 1, 2]),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn replicas_are_distinct_and_spread() {
        for _ in 0..50 {
            let got = assign_replicas(&brokers(&[3, 1, 2]), 6, 2, None).unwrap();
            let mut leaders = [0; 4];
            for replicas in got.values() {
                assert_eq!(replicas.len(), 2);
                assert_ne!(replicas[0], replicas[1]);
                leaders[usize::try_from(replicas[0]).unwrap()] += 1;
            }
            assert_eq!(&leaders[1..], &[2, 2, 2]);
        }
    }

    #[test]
    fn rejects_bad_factor_and_partitions() {
        assert!(matches!(
            assign_replicas(&brokers(&[1, 2]), 1, 3, None),
            Err(ZkError::InvalidReplicationFactor {
                requested: 3,
                available: 2
            })
        ));
        assert!(matches!(
            assign_replicas(&brokers(&[1]), 1, 0, None),
            Err(ZkError::InvalidReplicationFactor { .. })
        ));
        assert!(matches!(
            assign_replicas(&brokers(&[]), 1, 1, None),
            Err(ZkError::InvalidReplicationFactor { .. })
        ));
        assert!(matches!(
            assign_replicas(&brokers(&[1]), 0, 1, None),
            Err(ZkError::InvalidPartitions(_))
        ));
        assert_eq!(
            assign_replicas(&brokers(&[7]), 2, 1, None).unwrap()[&1],
            vec![7]
        );
    }
}
