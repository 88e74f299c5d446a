//! Leader elections on demand (Kafka's `processReplicaLeaderElection`): ElectLeaders through
//! the [`ControllerHandle`], and the `/admin/preferred_replica_election` znode, which the
//! controller watches, acts on, then deletes. The choices are [`super::replica_election`]'s.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::oneshot;

use super::active::{Active, Event};
use super::replica_election::{self, ElectionOutcome, ElectionType};
use super::view::TopicPartition;
use super::ControllerHandle;
use crate::error::{ControllerError, ZkError};
use crate::zk_ops::ZkOp;
use crate::znode::PreferredReplicaElectionZNode;

/// Each requested partition's outcome.
pub type ElectionResults = BTreeMap<TopicPartition, ElectionOutcome>;

/// An ElectLeaders request on its way to the event loop.
#[derive(Debug)]
pub(crate) struct ElectLeaders {
    election: ElectionType,
    /// `None`: every partition.
    partitions: Option<BTreeSet<TopicPartition>>,
    reply: oneshot::Sender<Result<ElectionResults, ControllerError>>,
}

impl ControllerHandle {
    /// Kafka's `KafkaController.electLeaders`: elects leaders of `partitions` (`None`: all) as
    /// `election` says and returns each one's outcome, once written to ZooKeeper and sent to
    /// the brokers.
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<BTreeSet<TopicPartition>>,
    ) -> Result<ElectionResults, ControllerError> {
        self.ask(|reply| {
            Event::ElectLeaders(ElectLeaders {
                election,
                partitions,
                reply,
            })
        })
        .await
    }
}

impl Active {
    /// ElectLeaders from a client (through the handle).
    pub(super) async fn on_elect_leaders(&mut self, request: ElectLeaders) -> Result<(), ZkError> {
        let ElectLeaders {
            election,
            partitions,
            reply,
        } = request;
        let partitions = partitions.unwrap_or_else(|| self.view.all_partitions().collect());
        match self.elect(election, &partitions, "an admin client").await {
            Ok(results) => {
                let _ = reply.send(Ok(results));
                Ok(())
            }
            Err(e) => {
                // The write failed: this controller resigns, the client asks the next one.
                let _ = reply.send(Err(ControllerError::NotController));
                Err(e)
            }
        }
    }

    /// `/admin/preferred_replica_election` created (or present at failover): preferred
    /// elections for the partitions it names, then it is deleted. The watch is set again
    /// first, so that the next one is seen.
    pub(super) async fn on_preferred_replica_election(&mut self) -> Result<(), ZkError> {
        let path = PreferredReplicaElectionZNode::PATH;
        let (stat, watcher) = self.zk.watch_exists(path).await?;
        self.forward(watcher, Event::PreferredReplicaElection);
        if stat.is_none() {
            return Ok(());
        }
        let Some((data, _)) = self.zk.get(path).await? else {
            return Ok(());
        };
        match PreferredReplicaElectionZNode::decode(&data) {
            Ok(partitions) => {
                let results = self
                    .elect(ElectionType::Preferred, &partitions, path)
                    .await?;
                for (tp, outcome) in results {
                    match outcome {
                        ElectionOutcome::Elected(_) | ElectionOutcome::NotNeeded => {}
                        other => tracing::warn!(
                            topic = tp.0,
                            partition = tp.1,
                            ?other,
                            "preferred replica election failed"
                        ),
                    }
                }
            }
            Err(e) => tracing::warn!(%e, "ignoring {path}"),
        }
        let delete = ZkOp::Delete {
            path: path.to_string(),
            version: None,
        };
        match self
            .zk
            .fenced_multi(self.epoch_zk_version, vec![delete])
            .await
        {
            Err(e) if e.is_no_node() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Elects `partitions` as `election` says (`trigger` names who asked, for the log).
    async fn elect(
        &mut self,
        election: ElectionType,
        partitions: &BTreeSet<TopicPartition>,
        trigger: &str,
    ) -> Result<ElectionResults, ZkError> {
        let (electable, mut results) = replica_election::classify(&self.view, election, partitions);
        if electable.is_empty() {
            return Ok(results);
        }
        tracing::info!(%election, partitions = ?electable, trigger, "replica leader election");
        let changes = replica_election::elections(&self.view, election, &electable);
        let again = electable.clone();
        self.apply_retrying(changes, move |v| {
            replica_election::elections(v, election, &again)
        })
        .await?;
        results.extend(replica_election::outcomes(&self.view, election, &electable));
        Ok(results)
    }
}
