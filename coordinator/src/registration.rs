//! The broker's ephemeral registration `/brokers/ids/<id>` (Kafka's `KafkaZkClient.registerBroker`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use zookeeper_client::MultiWriteResult;

use crate::connect::Zk;
use crate::error::ZkError;
use crate::zk_ops::ZkOp;
pub use crate::znode::BrokerEndpoint;
use crate::znode::{BrokerIdZNode, BrokerIdsZNode, BrokerInfo};

/// What a broker advertises about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    /// `broker.id`.
    pub id: i32,
    /// Advertised listeners, in configuration order.
    pub endpoints: Vec<BrokerEndpoint>,
    /// `broker.rack`.
    pub rack: Option<String>,
}

/// A registered broker as the controller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveBroker {
    /// Its registration data.
    pub info: BrokerInfo,
    /// Broker epoch: the registration node's czxid.
    pub epoch: i64,
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Registers the broker; returns its broker epoch (the node's czxid).
///
/// As Kafka: multi[create EPHEMERAL with empty data, setData json @version 0], so the node ends at
/// version 1. If the node exists and is ours (a retried request that landed) that is success. If
/// another session holds it, usually our own previous incarnation that crashed and whose session
/// has not expired yet, we watch it and wait up to `wait_for_stale` for it to vanish; if it is
/// still there, [`ZkError::BrokerAlreadyRegistered`].
pub async fn register_broker(
    zk: &Zk,
    reg: &BrokerRegistration,
    wait_for_stale: Duration,
) -> Result<i64, ZkError> {
    let path = BrokerIdZNode::path(reg.id);
    let info = BrokerInfo {
        id: reg.id,
        endpoints: reg.endpoints.clone(),
        rack: reg.rack.clone(),
        timestamp: now_ms(),
    };
    let data = BrokerIdZNode::encode(&info);
    let ops = [
        ZkOp::Create {
            path: path.clone(),
            data: Vec::new(),
            ephemeral: true,
        },
        ZkOp::SetData {
            path: path.clone(),
            data,
            version: Some(0),
        },
    ];
    let deadline = Instant::now() + wait_for_stale;
    zk.ensure_path(BrokerIdsZNode::PATH).await?;
    loop {
        let err = match zk.multi(&ops).await {
            Ok(results) => return registered_epoch(zk, &path, &results).await,
            Err(e) if e.is_node_exists() => e,
            Err(e) => return Err(e),
        };
        let (stat, watcher) = zk.watch_exists(&path).await?;
        let Some(stat) = stat else { continue };
        if stat.ephemeral_owner == zk.session_id() {
            return Ok(stat.czxid);
        }
        let now = Instant::now();
        if now >= deadline {
            tracing::error!(%err, owner = format!("{:#x}", stat.ephemeral_owner), "{path} is held by another session");
            return Err(ZkError::BrokerAlreadyRegistered { id: reg.id });
        }
        tracing::warn!(
            owner = format!("{:#x}", stat.ephemeral_owner),
            "{path} exists from another session (a previous incarnation not yet expired?); waiting up to {:?}",
            deadline - now
        );
        // Any change (deletion included) wakes us; a timeout just leads to the final check.
        let _ = tokio::time::timeout_at(deadline, watcher.changed()).await;
    }
}

/// The czxid of the node just created; the setData result carries the full stat.
async fn registered_epoch(
    zk: &Zk,
    path: &str,
    results: &[MultiWriteResult],
) -> Result<i64, ZkError> {
    let epoch = results.iter().find_map(|r| match r {
        MultiWriteResult::SetData { stat } if !stat.is_invalid() => Some(stat.czxid),
        _ => None,
    });
    let epoch = match epoch {
        Some(epoch) => epoch,
        None => zk
            .stat(path)
            .await?
            .map(|s| s.czxid)
            .ok_or_else(|| ZkError::json(path, "vanished after registration"))?,
    };
    tracing::info!(broker_epoch = epoch, "registered {path}");
    Ok(epoch)
}

/// The broker epoch (czxid) of broker `id`'s current registration; `None` if it has none.
pub async fn registered_epoch_of(zk: &Zk, id: i32) -> Result<Option<i64>, ZkError> {
    Ok(zk.stat(&BrokerIdZNode::path(id)).await?.map(|s| s.czxid))
}

/// Every registered broker (sorted by id) with its epoch. Brokers whose node vanishes between
/// listing and reading are skipped; undecodable registrations are logged and skipped.
pub async fn live_brokers(zk: &Zk) -> Result<Vec<LiveBroker>, ZkError> {
    let mut ids: Vec<i32> = zk
        .children(BrokerIdsZNode::PATH)
        .await?
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    ids.sort_unstable();
    let mut brokers = Vec::with_capacity(ids.len());
    for id in ids {
        let Some((data, stat)) = zk.get(&BrokerIdZNode::path(id)).await? else {
            continue;
        };
        match BrokerIdZNode::decode(id, &data) {
            Ok(info) => brokers.push(LiveBroker {
                info,
                epoch: stat.czxid,
            }),
            Err(e) => tracing::warn!(%e, "skipping broker {id}"),
        }
    }
    Ok(brokers)
}
