//! What every broker does against ZooKeeper before anything else (Kafka's `KafkaServer.startup`):
//! create the persistent top-level paths, get or create the cluster id, maybe generate a broker id.

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::{
    topic_id_string, BrokerSequenceIdZNode, ClusterIdZNode, FeatureZNode, PERSISTENT_ZK_PATHS,
};

/// First generated broker id is `reserved.broker.max.id` (1000) + 1.
const RESERVED_BROKER_MAX_ID: i32 = 1000;

/// Creates Kafka's `PersistentZkPaths` (and their parents) with empty data; existing ones are fine.
pub async fn ensure_persistent_paths(zk: &Zk) -> Result<(), ZkError> {
    for path in PERSISTENT_ZK_PATHS {
        zk.ensure_path(path).await?;
    }
    Ok(())
}

/// Reads `/cluster/id`, creating it with a fresh 22-char base64 id if absent. If another broker
/// wins the creation race, its id is used (Kafka's `createOrGetClusterId`).
pub async fn get_or_create_cluster_id(zk: &Zk) -> Result<String, ZkError> {
    if let Some((data, _)) = zk.get(ClusterIdZNode::PATH).await? {
        return Ok(ClusterIdZNode::decode(&data)?.id);
    }
    let node = ClusterIdZNode {
        id: topic_id_string(uuid::Uuid::new_v4()),
    };
    zk.ensure_path("/cluster").await?;
    match zk.create(ClusterIdZNode::PATH, &node.encode(), false).await {
        Ok(_) => {
            tracing::info!(cluster_id = %node.id, "created /cluster/id");
            Ok(node.id)
        }
        Err(e) if e.is_node_exists() => {
            let (data, _) = zk.get(ClusterIdZNode::PATH).await?.ok_or_else(|| {
                ZkError::json(ClusterIdZNode::PATH, "vanished right after a NODEEXISTS")
            })?;
            Ok(ClusterIdZNode::decode(&data)?.id)
        }
        Err(e) => Err(e),
    }
}

/// A new broker id: bumps `/brokers/seqid`'s data version and adds 1000, so ids start at 1001
/// (Kafka's `generateBrokerSequenceId`, used when `broker.id` is unset).
pub async fn generate_broker_id(zk: &Zk) -> Result<i32, ZkError> {
    zk.ensure_path(BrokerSequenceIdZNode::PATH).await?;
    let stat = zk.set(BrokerSequenceIdZNode::PATH, b"", None).await?;
    Ok(stat.version + RESERVED_BROKER_MAX_ID)
}

/// Creates `/feature` (2.8-style empty, enabled) if missing. The controller does this on failover.
pub async fn ensure_feature_node(zk: &Zk) -> Result<(), ZkError> {
    if zk.stat(FeatureZNode::PATH).await?.is_some() {
        return Ok(());
    }
    match zk
        .create(FeatureZNode::PATH, &FeatureZNode::encode_default(), false)
        .await
    {
        Err(e) if !e.is_node_exists() => Err(e),
        _ => Ok(()),
    }
}
