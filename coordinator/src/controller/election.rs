//! Controller election through `/controller` and `/controller_epoch` (Kafka's
//! `registerControllerAndIncrementControllerEpoch`).

use zookeeper_client::MultiWriteResult;

use crate::connect::Zk;
use crate::error::ZkError;
use crate::registration::now_ms;
use crate::zk_ops::ZkOp;
use crate::znode::{ControllerEpochZNode, ControllerZNode};

/// What winning an election gives: the epoch and the zkVersion that fences all later writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elected {
    /// The new controller epoch.
    pub epoch: i32,
    /// `/controller_epoch`'s zkVersion after our write.
    pub epoch_zk_version: i32,
}

/// The active controller's id, if any.
pub async fn controller_id(zk: &Zk) -> Result<Option<i32>, ZkError> {
    match zk.get(ControllerZNode::PATH).await? {
        Some((data, _)) => Ok(Some(ControllerZNode::decode(&data)?.broker_id)),
        None => Ok(None),
    }
}

/// The controller as ZooKeeper names it now: the epoch in `/controller_epoch`, and the broker
/// in `/controller` if that node belongs to the election that wrote this epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentController {
    /// `/controller_epoch` (0 before the first election).
    pub epoch: i32,
    /// The controller holding `epoch`; `None` when it is gone (its session ended) or when the
    /// two nodes were read across another election.
    pub id: Option<i32>,
}

/// Reads `/controller` and `/controller_epoch` (call [`Zk::sync`] first to see the latest
/// election). An election creates the one and sets the other in one multi, so they belong
/// together exactly when `/controller`'s czxid is `/controller_epoch`'s mzxid.
pub async fn current_controller(zk: &Zk) -> Result<CurrentController, ZkError> {
    let (controller, epoch) = futures::try_join!(
        zk.get(ControllerZNode::PATH),
        zk.get(ControllerEpochZNode::PATH)
    )?;
    let Some((data, epoch_stat)) = epoch else {
        return Ok(CurrentController { epoch: 0, id: None });
    };
    let epoch = ControllerEpochZNode::decode(&data)?;
    let id = match controller {
        Some((data, stat)) if stat.czxid == epoch_stat.mzxid => {
            Some(ControllerZNode::decode(&data)?.broker_id)
        }
        _ => None,
    };
    Ok(CurrentController { epoch, id })
}

/// Reads `/controller_epoch` → (epoch, zkVersion), creating it with `0` if missing.
async fn read_or_create_epoch(zk: &Zk) -> Result<(i32, i32), ZkError> {
    loop {
        if let Some((data, stat)) = zk.get(ControllerEpochZNode::PATH).await? {
            return Ok((ControllerEpochZNode::decode(&data)?, stat.version));
        }
        match zk
            .create(
                ControllerEpochZNode::PATH,
                &ControllerEpochZNode::encode(0),
                false,
            )
            .await
        {
            Ok(stat) => return Ok((0, stat.version)),
            Err(e) if e.is_node_exists() => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Tries to become controller. `None` if a controller exists or another broker won the race.
///
/// One multi: create `/controller` (ephemeral) + setData `/controller_epoch` E+1 @V. If it fails
/// with NODEEXISTS/BADVERSION we re-read: a retried write of ours that landed still counts.
pub async fn try_elect(zk: &Zk, broker_id: i32) -> Result<Option<Elected>, ZkError> {
    if controller_id(zk).await?.is_some() {
        return Ok(None);
    }
    let (epoch, version) = read_or_create_epoch(zk).await?;
    let new_epoch = epoch + 1;
    let node = ControllerZNode {
        broker_id,
        timestamp: now_ms(),
    };
    let ops = [
        ZkOp::Create {
            path: ControllerZNode::PATH.into(),
            data: node.encode(),
            ephemeral: true,
        },
        ZkOp::set(
            ControllerEpochZNode::PATH,
            ControllerEpochZNode::encode(new_epoch),
            version,
        ),
    ];
    match zk.multi(&ops).await {
        Ok(results) => {
            let epoch_zk_version = results
                .iter()
                .find_map(|r| match r {
                    MultiWriteResult::SetData { stat } => Some(stat.version),
                    _ => None,
                })
                .unwrap_or(version + 1);
            Ok(Some(Elected {
                epoch: new_epoch,
                epoch_zk_version,
            }))
        }
        Err(e) if e.is_node_exists() || e.is_bad_version() => {
            let current = controller_id(zk).await?;
            let (epoch_now, version_now) = read_or_create_epoch(zk).await?;
            if current == Some(broker_id) && epoch_now == new_epoch {
                Ok(Some(Elected {
                    epoch: new_epoch,
                    epoch_zk_version: version_now,
                }))
            } else {
                Ok(None)
            }
        }
        Err(e) => Err(e),
    }
}
