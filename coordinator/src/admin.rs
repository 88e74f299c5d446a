//! Topic administration through ZooKeeper (Kafka's `AdminZkClient`): any broker may call these;
//! the controller notices new topics through its watch on `/brokers/topics`.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use crate::connect::Zk;
use crate::error::ZkError;
use crate::registration::live_brokers;
use crate::znode::{random_uuid, DeleteTopicsZNode, TopicConfigZNode, TopicZNode, TopicsZNode};

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

/// Kafka's replica spread (`AdminUtils.assignReplicasToBrokers`): rack-aware when every broker
/// has a rack, rack-unaware when none has; a mix is refused as Kafka does.
///
/// Brokers are sorted by id (rack-aware: alternated across racks); partition p's first replica
/// is broker `(p + start) % n`; followers are shifted by a per-round amount so replicas spread
/// evenly. `start_index` fixes both the start and the shift (tests, partition addition); `None`
/// picks them at random as Kafka does.
pub fn assign_replicas(
    brokers: &[(i32, Option<String>)],
    partitions: i32,
    rf: i16,
    start_index: Option<usize>,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    assign_replicas_from(brokers, partitions, rf, start_index, 0)
}

/// [`assign_replicas`] numbering the new partitions from `first_partition` (partition addition).
pub fn assign_replicas_from(
    brokers: &[(i32, Option<String>)],
    partitions: i32,
    rf: i16,
    start_index: Option<usize>,
    first_partition: i32,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    if partitions <= 0 {
        return Err(ZkError::InvalidPartitions(
            "Number of partitions must be larger than 0.".into(),
        ));
    }
    let racks: BTreeMap<i32, Option<String>> = brokers.iter().cloned().collect();
    let rack_count = racks.values().filter(|r| r.is_some()).count();
    let rack_aware = rack_count > 0;
    if rack_aware && rack_count < racks.len() {
        return Err(ZkError::InvalidReplicaAssignment(
            "Not all brokers have rack information for replica rack aware assignment.".into(),
        ));
    }
    let ids: Vec<i32> = if rack_aware {
        rack_alternated(&racks)
    } else {
        racks.keys().copied().collect()
    };
    let n = ids.len();
    let rf_usize = usize::try_from(rf).unwrap_or(0);
    if rf_usize == 0 || rf_usize > n {
        return Err(ZkError::InvalidReplicationFactor {
            requested: rf,
            available: n,
        });
    }
    let distinct_racks: BTreeSet<&Option<String>> = racks.values().collect();
    let mut rng = rand::thread_rng();
    let start = start_index.unwrap_or_else(|| rng.gen_range(0..n));
    let mut shift = start_index.unwrap_or_else(|| rng.gen_range(0..n));
    let mut assignment = BTreeMap::new();
    let first = usize::try_from(first_partition.max(0)).unwrap_or(0);
    for p_usize in first..first + usize::try_from(partitions).unwrap_or(0) {
        if p_usize > 0 && p_usize % n == 0 {
            shift += 1;
        }
        let first_index = (p_usize + start) % n;
        let replica_at = |shift: usize, k: usize| (first_index + 1 + (shift + k) % (n - 1)) % n;
        let mut replicas = vec![ids[first_index]];
        if rack_aware {
            let mut used_racks = BTreeSet::from([&racks[&ids[first_index]]]);
            let mut k = 0;
            while replicas.len() < rf_usize {
                let broker = ids[replica_at(shift * distinct_racks.len(), k)];
                let rack = &racks[&broker];
                if (!used_racks.contains(rack) || used_racks.len() == distinct_racks.len())
                    && (!replicas.contains(&broker) || replicas.len() == n)
                {
                    replicas.push(broker);
                    used_racks.insert(rack);
                }
                k += 1;
            }
        } else {
            for j in 0..rf_usize - 1 {
                replicas.push(ids[replica_at(shift, j)]);
            }
        }
        let p =
            i32::try_from(p_usize).map_err(|_| ZkError::InvalidPartitions("too many".into()))?;
        assignment.insert(p, replicas);
    }
    Ok(assignment)
}

/// Kafka's `getRackAlternatedBrokerList`: racks sorted, brokers sorted within a rack, taking one
/// broker from each rack in turn.
fn rack_alternated(racks: &BTreeMap<i32, Option<String>>) -> Vec<i32> {
    let mut by_rack: BTreeMap<&Option<String>, std::collections::VecDeque<i32>> = BTreeMap::new();
    for (id, rack) in racks {
        by_rack.entry(rack).or_default().push_back(*id);
    }
    let mut out = Vec::with_capacity(racks.len());
    while out.len() < racks.len() {
        for queue in by_rack.values_mut() {
            if let Some(id) = queue.pop_front() {
                out.push(id);
            }
        }
    }
    out
}

/// Checks an explicit assignment (CreateTopics / CreatePartitions): partitions numbered from
/// `first`, all with the same non-zero replica count, no duplicate broker, every broker live.
pub fn validate_assignment(
    assignment: &BTreeMap<i32, Vec<i32>>,
    first: i32,
    live: &BTreeSet<i32>,
) -> Result<(), ZkError> {
    let bad = |m: String| Err(ZkError::InvalidReplicaAssignment(m));
    let expected: Vec<i32> =
        (first..first + i32::try_from(assignment.len()).unwrap_or(0)).collect();
    if assignment.keys().copied().collect::<Vec<_>>() != expected {
        return bad(format!("partitions must be consecutive from {first}"));
    }
    let rf = assignment.values().next().map_or(0, Vec::len);
    for (p, replicas) in assignment {
        if replicas.is_empty() || replicas.len() != rf {
            return bad(format!(
                "partition {p} has {} replicas, expected {rf} (and at least 1)",
                replicas.len()
            ));
        }
        if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
            return bad(format!(
                "duplicate brokers in the replicas of partition {p}: {replicas:?}"
            ));
        }
        if let Some(b) = replicas.iter().find(|b| !live.contains(b)) {
            return bad(format!(
                "Unknown broker {b} in the replicas of partition {p}"
            ));
        }
    }
    Ok(())
}

/// What CreateTopics asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partition count (ignored when `assignment` is given).
    pub partitions: i32,
    /// Replication factor (ignored when `assignment` is given).
    pub replication_factor: i16,
    /// Explicit partition → replicas.
    pub assignment: Option<BTreeMap<i32, Vec<i32>>>,
    /// Topic config overrides.
    pub configs: BTreeMap<String, String>,
}

/// Creates (or with `validate_only` just checks) a topic as Kafka's `AdminZkClient` does;
/// returns its assignment.
pub async fn create_topic_with(
    zk: &Zk,
    topic: &NewTopic,
    validate_only: bool,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    validate_topic_name(&topic.name)?;
    check_collisions(zk, &topic.name).await?;
    let brokers: Vec<(i32, Option<String>)> = live_brokers(zk)
        .await?
        .into_iter()
        .map(|b| (b.info.id, b.info.rack))
        .collect();
    let assignment = match &topic.assignment {
        Some(a) => {
            let live = brokers.iter().map(|(id, _)| *id).collect();
            validate_assignment(a, 0, &live)?;
            a.clone()
        }
        None => assign_replicas(&brokers, topic.partitions, topic.replication_factor, None)?,
    };
    if validate_only {
        return Ok(assignment);
    }
    write_topic_config(zk, &topic.name, &topic.configs).await?;
    let node = TopicZNode {
        partitions: assignment.clone(),
        topic_id: Some(random_uuid()),
        ..TopicZNode::default()
    };
    zk.ensure_path(TopicsZNode::PATH).await?;
    match zk
        .create(&TopicZNode::path(&topic.name), &node.encode(), false)
        .await
    {
        Ok(_) => {
            tracing::info!(
                topic = topic.name,
                partitions = assignment.len(),
                "created topic"
            );
            Ok(assignment)
        }
        Err(e) if e.is_node_exists() => Err(ZkError::TopicExists(topic.name.clone())),
        Err(e) => Err(e),
    }
}

/// Grows `topic` to `total` partitions (Kafka's `AdminZkClient.addPartitions`): the new ones get
/// `assignment` (one replica list per new partition) or Kafka's spread continuing from the
/// existing partition 0 leader; written with setData on the node's zkVersion; the controller's
/// data watch does the rest. Returns the new partitions' assignment.
pub async fn create_partitions(
    zk: &Zk,
    topic: &str,
    total: i32,
    assignment: Option<Vec<Vec<i32>>>,
    validate_only: bool,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    let path = TopicZNode::path(topic);
    let Some((data, stat)) = zk.get(&path).await? else {
        return Err(ZkError::UnknownTopic(topic.to_string()));
    };
    if zk.stat(&DeleteTopicsZNode::path(topic)).await?.is_some() {
        return Err(ZkError::InvalidTopic(format!(
            "The topic {topic} is queued for deletion."
        )));
    }
    let mut node = TopicZNode::decode(topic, &data)?;
    let current = i32::try_from(node.partitions.len()).unwrap_or(i32::MAX);
    if total <= current {
        return Err(ZkError::InvalidPartitions(format!(
            "Topic currently has {current} partitions, {total} would not be an increase."
        )));
    }
    let brokers: Vec<(i32, Option<String>)> = live_brokers(zk)
        .await?
        .into_iter()
        .map(|b| (b.info.id, b.info.rack))
        .collect();
    let rf = node.partitions.get(&0).map_or(0, Vec::len);
    let added = match assignment {
        Some(lists) => {
            let a: BTreeMap<i32, Vec<i32>> = (current..).zip(lists).collect();
            if i32::try_from(a.len()).ok() != Some(total - current) {
                return Err(ZkError::InvalidReplicaAssignment(format!(
                    "Increasing the number of partitions by {} but {} assignments provided.",
                    total - current,
                    a.len()
                )));
            }
            let live = brokers.iter().map(|(id, _)| *id).collect();
            validate_assignment(&a, current, &live)?;
            if a.values().any(|r| r.len() != rf) {
                return Err(ZkError::InvalidReplicaAssignment(format!(
                    "Inconsistent replication factor between partitions, partition 0 has {rf}"
                )));
            }
            a
        }
        None => {
            let mut ids: Vec<i32> = brokers.iter().map(|(id, _)| *id).collect();
            ids.sort_unstable();
            let start = node
                .partitions
                .get(&0)
                .and_then(|r| r.first())
                .and_then(|leader| ids.iter().position(|b| b == leader));
            let rf = i16::try_from(rf).unwrap_or(i16::MAX);
            assign_replicas_from(&brokers, total - current, rf, start, current)?
        }
    };
    if validate_only {
        return Ok(added);
    }
    node.partitions.extend(added.clone());
    zk.set(&path, &node.encode(), Some(stat.version)).await?;
    tracing::info!(topic, total, "added partitions");
    Ok(added)
}

/// Marks `topic` for deletion (`/admin/delete_topics/<t>`); the controller does the rest.
/// Already marked is fine (Kafka swallows `TopicAlreadyMarkedForDeletionException`).
pub async fn mark_topic_for_deletion(zk: &Zk, topic: &str) -> Result<(), ZkError> {
    if !topic_exists(zk, topic).await? {
        return Err(ZkError::UnknownTopic(topic.to_string()));
    }
    zk.ensure_path(DeleteTopicsZNode::PATH).await?;
    match zk.create(&DeleteTopicsZNode::path(topic), &[], false).await {
        Err(e) if !e.is_node_exists() => Err(e),
        _ => Ok(()),
    }
}

/// Replaces a topic's config overrides (`/config/topics/<t>`) and announces the change with a
/// `/config/changes/config_change_N` notification (Kafka's `changeTopicConfig`).
pub async fn set_topic_config(
    zk: &Zk,
    topic: &str,
    configs: &BTreeMap<String, String>,
) -> Result<(), ZkError> {
    if !topic_exists(zk, topic).await? {
        return Err(ZkError::UnknownTopic(topic.to_string()));
    }
    write_topic_config(zk, topic, configs).await?;
    crate::config_changes::announce(zk, &format!("topics/{topic}")).await
}

/// Creates a topic with `partitions` × `rf` spread over the live brokers (auto-creation).
pub async fn create_topic(
    zk: &Zk,
    name: &str,
    partitions: i32,
    rf: i16,
    configs: &BTreeMap<String, String>,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    let topic = NewTopic {
        name: name.to_string(),
        partitions,
        replication_factor: rf,
        assignment: None,
        configs: configs.clone(),
    };
    create_topic_with(zk, &topic, false).await
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
    crate::config_changes::write_entity(zk, "/config/topics", &path, &data).await
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

    /// Kafka's AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
    #[test]
    fn rack_aware_matches_kafka_reference() {
        let racks = [
            (0, "rack1"),
            (1, "rack3"),
            (2, "rack3"),
            (3, "rack2"),
            (4, "rack2"),
            (5, "rack1"),
        ];
        let brokers: Vec<(i32, Option<String>)> = racks
            .iter()
            .map(|(id, r)| (*id, Some(r.to_string())))
            .collect();
        let map: BTreeMap<i32, Option<String>> = brokers.iter().cloned().collect();
        assert_eq!(rack_alternated(&map), vec![0, 3, 1, 5, 4, 2]);
        let got = assign_replicas(&brokers, 7, 3, Some(0)).unwrap();
        let expected: BTreeMap<i32, Vec<i32>> = [
            (0, vec![0, 3, 1]),
            (1, vec![3, 1, 5]),
            (2, vec![1, 5, 4]),
            (3, vec![5, 4, 2]),
            (4, vec![4, 2, 0]),
            (5, vec![2, 0, 3]),
            (6, vec![0, 4, 2]),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, expected);
        // Every partition spans three racks.
        for replicas in got.values() {
            let used: BTreeSet<_> = replicas.iter().map(|b| &map[b]).collect();
            assert_eq!(used.len(), 3);
        }
        let mixed = vec![(1, Some("a".to_string())), (2, None)];
        assert!(matches!(
            assign_replicas(&mixed, 1, 1, None),
            Err(ZkError::InvalidReplicaAssignment(_))
        ));
    }

    #[test]
    fn explicit_assignments_are_checked() {
        let live: BTreeSet<i32> = [1, 2, 3].into();
        let ok: BTreeMap<i32, Vec<i32>> = [(0, vec![1, 2]), (1, vec![2, 3])].into();
        assert!(validate_assignment(&ok, 0, &live).is_ok());
        for bad in [
            BTreeMap::from([(0, vec![1, 1])]),
            BTreeMap::from([(0, vec![1, 9])]),
            BTreeMap::from([(0, vec![1]), (1, vec![1, 2])]),
            BTreeMap::from([(1, vec![1])]),
            BTreeMap::from([(0, vec![])]),
        ] {
            assert!(validate_assignment(&bad, 0, &live).is_err(), "{bad:?}");
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
