//! Committed consumer-group offsets under `/consumers`, in the layout of Kafka's old
//! ZooKeeper consumer (reference §1.19), so `zkCli.sh get` shows what a person expects.
//!
//! # Layout
//! - `/consumers/<group>`: the group. Kafka's old consumer left its data empty; we keep the
//!   protocol type the group last had there, as `{"version":1,"protocol_type":"consumer"}`
//!   (Kafka keeps it in `__consumer_offsets`), so that a group with only offsets is listed
//!   as a consumer group, not a simple one, by whichever broker coordinates it next.
//! - `/consumers/<group>/offsets/<topic>/<partition>`: the next offset to consume, as a bare
//!   decimal (`ConsumerOffset.encode` = `offset.toString`), exactly as Kafka 0.8–1.x wrote it.
//! - `/consumers/<group>/offset_metadata/<topic>/<partition>`: what the decimal cannot hold, as
//!   JSON: `{"version":1,"offset":42,"leader_epoch":-1,"metadata":"...","commit_timestamp":ms}`.
//!   It lives in its own subtree so tools that list `offsets/<topic>` still see only partition
//!   numbers. Written in the same multi as the offset; a missing or older one (a tool wrote only
//!   the decimal) reads as no metadata, leader epoch -1 and the offset node's mtime.
//!
//! A commit of many partitions is one ZooKeeper multi: all offsets become visible together or
//! none does. Only the group's coordinator writes here; this module knows nothing of groups'
//! membership, only of their offsets.

use std::collections::BTreeMap;

use crate::connect::Zk;
use crate::error::ZkError;
use crate::zk_ops::ZkOp;
use crate::znode::ConsumerOffsetZNode;
use serde::{Deserialize, Serialize};

/// The parent of every group.
pub const CONSUMERS_PATH: &str = "/consumers";

/// How often a commit is retried when a concurrent writer created or deleted a node between
/// our existence check and our multi.
const COMMIT_ATTEMPTS: usize = 3;

/// One committed offset with what Kafka keeps beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The next offset the group will consume.
    pub offset: i64,
    /// Leader epoch of the record before `offset` (-1 if unknown).
    pub leader_epoch: i32,
    /// The client's free-form metadata string.
    pub metadata: String,
    /// When the commit was made (ms since the epoch).
    pub commit_timestamp: i64,
}

/// One partition's commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommit {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// What to store.
    pub committed: CommittedOffset,
}

/// Committed offsets by (topic, partition).
pub type GroupOffsets = BTreeMap<(String, i32), CommittedOffset>;

/// `/consumers/<group>/offset_metadata/<topic>/<partition>` (our addition to Kafka's layout).
pub struct OffsetMetadataZNode;

#[derive(Serialize, Deserialize)]
struct MetadataJson {
    version: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: String,
    commit_timestamp: i64,
}

impl OffsetMetadataZNode {
    /// The path.
    pub fn path(group: &str, topic: &str, partition: i32) -> String {
        format!("/consumers/{group}/offset_metadata/{topic}/{partition}")
    }

    /// The JSON form.
    pub fn encode(c: &CommittedOffset) -> Vec<u8> {
        let json = MetadataJson {
            version: 1,
            offset: c.offset,
            leader_epoch: c.leader_epoch,
            metadata: c.metadata.clone(),
            commit_timestamp: c.commit_timestamp,
        };
        serde_json::to_vec(&json).unwrap_or_default()
    }

    /// Parses the JSON form: (offset it describes, epoch, metadata, timestamp).
    pub fn decode(path: &str, data: &[u8]) -> Result<CommittedOffset, ZkError> {
        let json: MetadataJson =
            serde_json::from_slice(data).map_err(|e| ZkError::json(path, e))?;
        Ok(CommittedOffset {
            offset: json.offset,
            leader_epoch: json.leader_epoch,
            metadata: json.metadata,
            commit_timestamp: json.commit_timestamp,
        })
    }
}

/// The group's node.
pub fn group_path(group: &str) -> String {
    format!("{CONSUMERS_PATH}/{group}")
}

/// The data of `/consumers/<group>`: the protocol type the group last had.
pub struct GroupZNode;

#[derive(Serialize, Deserialize)]
struct GroupJson {
    version: i32,
    protocol_type: String,
}

impl GroupZNode {
    /// The JSON form.
    pub fn encode(protocol_type: &str) -> Vec<u8> {
        let json = GroupJson {
            version: 1,
            protocol_type: protocol_type.to_string(),
        };
        serde_json::to_vec(&json).unwrap_or_default()
    }

    /// The protocol type; "" for the empty data Kafka's old consumer (and a group that never
    /// had members) leaves, or for data this format does not describe.
    pub fn decode(data: &[u8]) -> String {
        serde_json::from_slice::<GroupJson>(data)
            .map(|j| j.protocol_type)
            .unwrap_or_default()
    }
}

/// The protocol type `group` last had ("" if none was recorded); `None` if the group has no
/// node.
pub async fn read_protocol_type(zk: &Zk, group: &str) -> Result<Option<String>, ZkError> {
    Ok(zk
        .get(&group_path(group))
        .await?
        .map(|(data, _)| GroupZNode::decode(&data)))
}

fn offsets_dir(group: &str) -> String {
    format!("{CONSUMERS_PATH}/{group}/offsets")
}

/// True if `group` can name a znode: non-empty, no `/`, not `.`/`..`, no NUL. (Kafka allows
/// any non-empty string; a group id that is not a path component would scatter its offsets.)
pub fn valid_group_id(group: &str) -> bool {
    !group.is_empty() && group != "." && group != ".." && !group.contains(['/', '\0'])
}

/// Writes `commits` for `group` atomically (one multi), creating parents as needed; with
/// `protocol_type`, the group node records it in the same multi.
pub async fn commit_offsets(
    zk: &Zk,
    group: &str,
    protocol_type: Option<&str>,
    commits: &[OffsetCommit],
) -> Result<(), ZkError> {
    if commits.is_empty() {
        return Ok(());
    }
    let mut topics: Vec<&str> = commits.iter().map(|c| c.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    for topic in &topics {
        zk.ensure_path(&format!("{}/{topic}", offsets_dir(group)))
            .await?;
        zk.ensure_path(&format!("{CONSUMERS_PATH}/{group}/offset_metadata/{topic}"))
            .await?;
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut ops = commit_ops(zk, group, commits).await?;
        if let Some(protocol_type) = protocol_type {
            ops.push(ZkOp::SetData {
                path: group_path(group),
                data: GroupZNode::encode(protocol_type),
                version: None,
            });
        }
        match zk.multi(&ops).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < COMMIT_ATTEMPTS && (e.is_node_exists() || e.is_no_node()) => {
                tracing::debug!(group, error = %e, "offset commit raced another writer; retrying");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Create-or-set ops for every commit, choosing by what exists now.
async fn commit_ops(zk: &Zk, group: &str, commits: &[OffsetCommit]) -> Result<Vec<ZkOp>, ZkError> {
    let mut ops = Vec::with_capacity(commits.len() * 2);
    for c in commits {
        let offset_path = ConsumerOffsetZNode::path(group, &c.topic, c.partition);
        let meta_path = OffsetMetadataZNode::path(group, &c.topic, c.partition);
        let offset_data = ConsumerOffsetZNode::encode(c.committed.offset);
        let meta_data = OffsetMetadataZNode::encode(&c.committed);
        for (path, data) in [(offset_path, offset_data), (meta_path, meta_data)] {
            let op = if zk.stat(&path).await?.is_some() {
                ZkOp::SetData {
                    path,
                    data,
                    version: None,
                }
            } else {
                ZkOp::create(path, data)
            };
            ops.push(op);
        }
    }
    Ok(ops)
}

/// Reads one partition's committed offset; `None` if never committed.
pub async fn fetch_offset(
    zk: &Zk,
    group: &str,
    topic: &str,
    partition: i32,
) -> Result<Option<CommittedOffset>, ZkError> {
    let path = ConsumerOffsetZNode::path(group, topic, partition);
    let Some((data, stat)) = zk.get(&path).await? else {
        return Ok(None);
    };
    let offset = ConsumerOffsetZNode::decode(&path, &data)?;
    let meta_path = OffsetMetadataZNode::path(group, topic, partition);
    let meta = match zk.get(&meta_path).await? {
        Some((data, _)) => OffsetMetadataZNode::decode(&meta_path, &data).ok(),
        None => None,
    };
    Ok(Some(merge(offset, stat.mtime, meta)))
}

/// The offset node is the truth; the metadata applies only if it describes the same offset.
fn merge(offset: i64, mtime: i64, meta: Option<CommittedOffset>) -> CommittedOffset {
    match meta {
        Some(m) if m.offset == offset => m,
        _ => CommittedOffset {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: mtime,
        },
    }
}

/// Every committed offset of `group` (empty if the group has none).
pub async fn fetch_all_offsets(zk: &Zk, group: &str) -> Result<GroupOffsets, ZkError> {
    let mut out = GroupOffsets::new();
    let dir = offsets_dir(group);
    for topic in zk.children(&dir).await? {
        for child in zk.children(&format!("{dir}/{topic}")).await? {
            let Ok(partition) = child.parse::<i32>() else {
                continue;
            };
            if let Some(c) = fetch_offset(zk, group, &topic, partition).await? {
                out.insert((topic.clone(), partition), c);
            }
        }
    }
    Ok(out)
}

/// The groups that have a node under `/consumers`.
pub async fn list_groups(zk: &Zk) -> Result<Vec<String>, ZkError> {
    zk.children(CONSUMERS_PATH).await
}

/// Deletes `/consumers/<group>` and everything under it in one multi; false if it was absent.
pub async fn delete_group(zk: &Zk, group: &str) -> Result<bool, ZkError> {
    delete_subtrees(zk, &[group_path(group)]).await
}

/// Deletes only the group's committed offsets (expiry), keeping the group node.
pub async fn delete_all_offsets(zk: &Zk, group: &str) -> Result<(), ZkError> {
    let dirs = [
        offsets_dir(group),
        format!("{CONSUMERS_PATH}/{group}/offset_metadata"),
    ];
    delete_subtrees(zk, &dirs).await.map(|_| ())
}

/// How many groups' offsets of a deleted topic are removed at once.
const TOPIC_OFFSETS_PARALLELISM: usize = 32;

/// Removes every group's committed offsets of `topic`, which was deleted: Kafka's group
/// coordinators drop them too, so a topic created again under that name starts from
/// `auto.offset.reset`, not from the old topic's positions. Returns the groups that had some;
/// a group that cannot be cleaned is logged and skipped.
pub async fn delete_topic_offsets(zk: &Zk, topic: &str) -> Result<usize, ZkError> {
    use futures::StreamExt;
    let groups = list_groups(zk).await?;
    let cleaned: Vec<bool> = futures::stream::iter(groups)
        .map(|group| async move {
            match delete_group_topic_offsets(zk, &group, topic).await {
                Ok(had) => had,
                Err(e) => {
                    tracing::warn!(group, topic, error = %e, "removing a deleted topic's offsets failed");
                    false
                }
            }
        })
        .buffer_unordered(TOPIC_OFFSETS_PARALLELISM)
        .collect()
        .await;
    Ok(cleaned.into_iter().filter(|had| *had).count())
}

/// Removes `group`'s committed offsets of `topic`; false if it had none.
pub async fn delete_group_topic_offsets(
    zk: &Zk,
    group: &str,
    topic: &str,
) -> Result<bool, ZkError> {
    let dirs = [
        format!("{}/{topic}", offsets_dir(group)),
        format!("{CONSUMERS_PATH}/{group}/offset_metadata/{topic}"),
    ];
    delete_subtrees(zk, &dirs).await
}

/// Removes `group`'s committed offsets of `partitions` (OffsetDelete), with the topic nodes
/// this leaves empty, in one multi; returns how many of the partitions had one.
pub async fn delete_partition_offsets(
    zk: &Zk,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<usize, ZkError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (ops, count) = partition_delete_ops(zk, group, partitions).await?;
        if ops.is_empty() {
            return Ok(0);
        }
        match zk.multi(&ops).await {
            Ok(_) => return Ok(count),
            // A commit or another deletion changed the nodes since we listed them.
            Err(e) if attempt < COMMIT_ATTEMPTS && (e.is_no_node() || e.is_not_empty()) => {
                tracing::debug!(group, error = %e, "offset deletion raced another writer; retrying");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Delete ops for the offset and metadata nodes of `partitions` that exist, then for the
/// topic nodes (under `offsets` and `offset_metadata`) left without children; and how many
/// partitions had an offset node.
async fn partition_delete_ops(
    zk: &Zk,
    group: &str,
    partitions: &[(String, i32)],
) -> Result<(Vec<ZkOp>, usize), ZkError> {
    let delete = |path: String| ZkOp::Delete {
        path,
        version: None,
    };
    let mut ops = Vec::new();
    let mut count = 0;
    let mut topics: Vec<&str> = partitions.iter().map(|(t, _)| t.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    for topic in topics {
        let doomed: Vec<String> = partitions
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, p)| p.to_string())
            .collect();
        for (dir, counted) in [
            (format!("{}/{topic}", offsets_dir(group)), true),
            (
                format!("{CONSUMERS_PATH}/{group}/offset_metadata/{topic}"),
                false,
            ),
        ] {
            let children = zk.children(&dir).await?;
            let gone: Vec<&String> = children.iter().filter(|c| doomed.contains(c)).collect();
            if counted {
                count += gone.len();
            }
            ops.extend(gone.iter().map(|c| delete(format!("{dir}/{c}"))));
            if !children.is_empty() && gone.len() == children.len() {
                ops.push(delete(dir));
            }
        }
    }
    Ok((ops, count))
}

/// Deletes each of `roots` that exists with everything under it, in one multi; false if none
/// existed.
async fn delete_subtrees(zk: &Zk, roots: &[String]) -> Result<bool, ZkError> {
    let mut nodes = Vec::new();
    for root in roots {
        collect_subtree(zk, root, &mut nodes).await?;
    }
    if nodes.is_empty() {
        return Ok(false);
    }
    // Children were pushed after their parents: delete in reverse.
    let ops: Vec<ZkOp> = nodes
        .into_iter()
        .rev()
        .map(|path| ZkOp::Delete {
            path,
            version: None,
        })
        .collect();
    zk.multi(&ops).await?;
    Ok(true)
}

/// Pushes `path` (if it exists) and then all its descendants, parents before children.
async fn collect_subtree(zk: &Zk, path: &str, out: &mut Vec<String>) -> Result<(), ZkError> {
    if zk.stat(path).await?.is_none() {
        return Ok(());
    }
    let mut stack = vec![path.to_string()];
    while let Some(node) = stack.pop() {
        for child in zk.children(&node).await? {
            stack.push(format!("{node}/{child}"));
        }
        out.push(node);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(offset: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: 3,
            metadata: "m \"quoted\"".into(),
            commit_timestamp: 1_700_000_000_000,
        }
    }

    #[test]
    fn offset_is_a_bare_decimal_and_metadata_round_trips() {
        assert_eq!(
            ConsumerOffsetZNode::path("grp1", "chatting", 0),
            "/consumers/grp1/offsets/chatting/0"
        );
        assert_eq!(ConsumerOffsetZNode::encode(1234), b"1234".to_vec());
        let path = OffsetMetadataZNode::path("grp1", "chatting", 0);
        assert_eq!(path, "/consumers/grp1/offset_metadata/chatting/0");
        let data = OffsetMetadataZNode::encode(&committed(1234));
        let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["offset"], 1234);
        assert_eq!(
            OffsetMetadataZNode::decode(&path, &data).unwrap(),
            committed(1234)
        );
        assert!(OffsetMetadataZNode::decode(&path, b"12").is_err());
    }

    #[test]
    fn stale_metadata_is_ignored() {
        assert_eq!(merge(5, 77, Some(committed(5))), committed(5));
        let fallback = merge(6, 77, Some(committed(5)));
        assert_eq!(fallback.offset, 6);
        assert_eq!(fallback.commit_timestamp, 77);
        assert_eq!(fallback.leader_epoch, -1);
    }

    #[test]
    fn the_group_node_holds_the_protocol_type() {
        let data = GroupZNode::encode("consumer");
        let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"version": 1, "protocol_type": "consumer"})
        );
        assert_eq!(GroupZNode::decode(&data), "consumer");
        assert_eq!(GroupZNode::decode(b""), "", "the old consumer's empty node");
        assert_eq!(GroupZNode::decode(b"junk"), "");
    }

    #[test]
    fn group_ids_must_be_path_components() {
        assert!(valid_group_id("grp1"));
        assert!(valid_group_id("my group.1"));
        for bad in ["", ".", "..", "a/b", "a\0"] {
            assert!(!valid_group_id(bad), "{bad:?}");
        }
    }
}
