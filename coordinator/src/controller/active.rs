//! The active controller: one event loop; ZooKeeper watches only enqueue [`Event`]s.

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use zookeeper_client::{MultiWriteResult, OneshotWatcher};

use super::channel::{ChannelManager, ControllerRequest, StopReplicaReply};
use super::decisions::{self, StateChange, Write};
use super::deletion::Deletions;
use super::election::{self, Elected};
use super::reassignment::ReassignmentEvent;
use super::requests;
use super::view::{ClusterView, PartitionState, TopicInfo, TopicPartition};
use super::{ControllerConfig, ControllerHandle};
use crate::bootstrap;
use crate::connect::Zk;
use crate::error::{ControllerError, ZkError};
use crate::registration::live_brokers;
use crate::zk_ops::ZkOp;
use crate::znode::{
    random_uuid, BrokerIdsZNode, ControllerZNode, PartitionStateZNode, TopicPartitionsZNode,
    TopicZNode, TopicsZNode,
};

/// Rounds of re-read-and-recompute after a state write lost to a concurrent writer.
const WRITE_ROUNDS: usize = 3;
/// Kafka runs the first auto-rebalance check this long after failover (at most).
const FIRST_REBALANCE_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// What a watch, the session or a [`ControllerHandle`] tells the event loop.
#[derive(Debug)]
pub(crate) enum Event {
    /// `/brokers/ids` children changed.
    BrokerChange,
    /// `/brokers/topics` children changed.
    TopicChange,
    /// `/brokers/topics/<t>` data changed (partitions added).
    TopicModified(String),
    /// `/controller` created, deleted or changed.
    ControllerChange,
    /// The ZooKeeper session expired or was closed.
    SessionEnded,
    /// `/admin/delete_topics` children changed.
    TopicDeletion,
    /// `/isr_change_notification` children changed.
    IsrChange,
    /// `/log_dir_event_notification` children changed.
    LogDirFailure,
    /// A broker asks to shut down (ControlledShutdown, through the handle).
    ControlledShutdown {
        broker_id: i32,
        broker_epoch: i64,
        reply: oneshot::Sender<Result<Vec<TopicPartition>, ControllerError>>,
    },
    /// A client asks for leader elections (ElectLeaders, through the handle).
    ElectLeaders(super::elections::ElectLeaders),
    /// `/admin/preferred_replica_election` created or deleted.
    PreferredReplicaElection,
    /// Partition reassignment requests and `/admin/reassign_partitions` changes.
    Reassignment(ReassignmentEvent),
}

/// Runs as active controller until shutdown (`Ok`) or resignation (`Err`).
pub(super) async fn run(
    zk: Zk,
    config: &ControllerConfig,
    elected: Elected,
    handle: &ControllerHandle,
    shutdown: &CancellationToken,
) -> Result<(), ZkError> {
    let watches = shutdown.child_token();
    // Dropping the guard on return cancels watch tasks and broker senders: that is resigning.
    let _guard = watches.clone().drop_guard();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_replica_tx, mut stop_replica_rx) = mpsc::unbounded_channel();
    let (leader_and_isr_tx, mut leader_and_isr_rx) = mpsc::unbounded_channel();
    let view = ClusterView {
        controller_id: config.broker_id,
        epoch: elected.epoch,
        unclean_default: config.unclean_leader_election_enable,
        ..ClusterView::default()
    };
    let channels = ChannelManager::new(
        config.broker_id,
        &config.inter_broker_listener,
        &watches,
        leader_and_isr_tx,
    )
    .with_tls(config.inter_broker_tls.clone())
    .with_sasl(config.inter_broker_sasl.clone());
    let mut active = Active {
        zk,
        config: config.clone(),
        epoch_zk_version: elected.epoch_zk_version,
        view,
        channels,
        tx: tx.clone(),
        watches,
        deletions: Deletions::default(),
        stop_replica_tx,
    };
    // Active from the moment of election, as Kafka's `activeControllerId` is: the failover's
    // own UpdateMetadata names this broker, and a client that reads it and sends CreateTopics
    // must not get NOT_CONTROLLER. Requests through the handle queue behind the failover.
    handle.attach(Some(tx));
    active.failover().await?;
    let period = config
        .leader_imbalance_check_interval
        .max(std::time::Duration::from_millis(100));
    let first = tokio::time::Instant::now() + period.min(FIRST_REBALANCE_DELAY);
    let mut rebalance = tokio::time::interval_at(first, period);
    rebalance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            e = rx.recv() => e,
            Some(reply) = stop_replica_rx.recv() => {
                active.on_stop_replica_reply(reply).await?;
                continue;
            }
            Some(reply) = leader_and_isr_rx.recv() => {
                active.on_leader_and_isr_reply(reply).await?;
                continue;
            }
            _ = rebalance.tick(), if config.auto_leader_rebalance_enable => {
                active.auto_rebalance().await?;
                continue;
            }
            _ = shutdown.cancelled() => return Ok(()),
        };
        let Some(event) = event else { return Ok(()) };
        tracing::debug!(?event, "controller event");
        match event {
            Event::BrokerChange => active.on_broker_change().await?,
            Event::TopicChange => active.on_topic_change().await?,
            Event::TopicModified(topic) => active.on_topic_modified(&topic).await?,
            Event::ControllerChange => active.on_controller_change().await?,
            Event::SessionEnded => return Err(ZkError::Closed),
            Event::TopicDeletion => active.on_topic_deletion().await?,
            Event::IsrChange => active.on_isr_change().await?,
            Event::LogDirFailure => active.on_log_dir_event().await?,
            Event::Reassignment(event) => active.on_reassignment_event(event).await?,
            Event::ControlledShutdown {
                broker_id,
                broker_epoch,
                reply,
            } => {
                let result = active.on_controlled_shutdown(broker_id, broker_epoch).await;
                let (answer, outcome) = match result {
                    Ok(remaining) => (Ok(remaining), Ok(())),
                    Err(ControllerError::Zk(e)) => (Err(ControllerError::NotController), Err(e)),
                    Err(e) => (Err(e), Ok(())),
                };
                let _ = reply.send(answer);
                outcome?;
            }
            Event::ElectLeaders(request) => active.on_elect_leaders(request).await?,
            Event::PreferredReplicaElection => active.on_preferred_replica_election().await?,
        }
    }
}

/// The active controller's state; its handlers live in this module and its siblings
/// (`shutdown`, `topic_deletion`, `isr_changes`, `log_dir_events`).
pub(super) struct Active {
    pub(super) zk: Zk,
    pub(super) config: ControllerConfig,
    pub(super) epoch_zk_version: i32,
    pub(super) view: ClusterView,
    pub(super) channels: ChannelManager,
    pub(super) tx: mpsc::UnboundedSender<Event>,
    pub(super) watches: CancellationToken,
    pub(super) deletions: Deletions,
    pub(super) stop_replica_tx: mpsc::UnboundedSender<StopReplicaReply>,
}

impl Active {
    /// Kafka's `onControllerFailover`: watches, load everything, tell every broker, elect.
    async fn failover(&mut self) -> Result<(), ZkError> {
        tracing::info!(epoch = self.view.epoch, "became the active controller");
        bootstrap::ensure_feature_node(&self.zk).await?;
        self.watch_session()?;
        self.on_controller_change().await?;
        let (_, watcher) = self.zk.watch_children(BrokerIdsZNode::PATH).await?;
        self.forward(watcher, Event::BrokerChange);
        for broker in live_brokers(&self.zk).await? {
            self.channels.add_broker(&broker.info);
            self.view.live.insert(broker.info.id, broker);
        }
        let (topics, watcher) = self.zk.watch_children(TopicsZNode::PATH).await?;
        self.forward(watcher, Event::TopicChange);
        for topic in topics {
            self.load_topic(&topic).await?;
        }
        self.clear_isr_change_notifications().await?;
        self.clear_log_dir_event_notifications().await?;
        self.send_update_metadata_to_all();
        let brokers: Vec<i32> = self.view.live.keys().copied().collect();
        for broker in brokers {
            self.send_current_state(broker);
        }
        // Replicas on brokers that died while there was no controller go offline (Kafka's
        // replica state machine startup): shrink ISRs, leader -1 where nobody is eligible.
        let gone: BTreeSet<i32> = self
            .view
            .states
            .values()
            .flat_map(|s| s.lic.isr.iter().copied().chain([s.lic.leader]))
            .filter(|b| *b >= 0 && !self.view.is_live(*b))
            .collect();
        let mut changes = decisions::on_brokers_failed(&self.view, &gone);
        let changed: BTreeSet<TopicPartition> =
            changes.iter().map(|c| c.partition.clone()).collect();
        changes.extend(
            decisions::elect_offline_and_new(&self.view)
                .into_iter()
                .filter(|c| !changed.contains(&c.partition)),
        );
        self.apply(changes).await?;
        self.on_preferred_replica_election().await?;
        self.resume_all_reassignments().await?;
        // Pending deletions are resumed (Kafka's TopicDeletionManager.init + resume).
        self.on_topic_deletion().await
    }

    pub(super) fn forward(&self, watcher: OneshotWatcher, event: Event) {
        let (tx, cancel) = (self.tx.clone(), self.watches.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = watcher.changed() => { let _ = tx.send(event); }
                _ = cancel.cancelled() => {}
            }
        });
    }

    fn watch_session(&self) -> Result<(), ZkError> {
        let mut state = self.zk.state_watcher()?;
        let (tx, cancel) = (self.tx.clone(), self.watches.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    s = state.changed() => if s.is_terminated() { let _ = tx.send(Event::SessionEnded); return },
                    _ = cancel.cancelled() => return,
                }
            }
        });
        Ok(())
    }

    /// Resign unless `/controller` still names us.
    async fn on_controller_change(&mut self) -> Result<(), ZkError> {
        let (_, watcher) = self.zk.watch_exists(ControllerZNode::PATH).await?;
        self.forward(watcher, Event::ControllerChange);
        match election::controller_id(&self.zk).await? {
            Some(id) if id == self.config.broker_id => Ok(()),
            _ => Err(ZkError::ControllerMoved),
        }
    }

    /// Reads (and data-watches) `/brokers/topics/<t>`, assigning a topic id if it lacks one.
    /// Returns the partitions not known before.
    async fn load_topic(&mut self, topic: &str) -> Result<Vec<TopicPartition>, ZkError> {
        let path = TopicZNode::path(topic);
        let (data, stat, watcher) = match self.zk.watch_data(&path).await {
            Ok(found) => found,
            Err(e) if e.is_no_node() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        self.forward(watcher, Event::TopicModified(topic.to_string()));
        let mut node = TopicZNode::decode(topic, &data)?;
        if node.topic_id.is_none() {
            node.topic_id = Some(random_uuid());
            self.zk
                .fenced_multi(
                    self.epoch_zk_version,
                    vec![ZkOp::set(&path, node.encode(), stat.version)],
                )
                .await?;
        }
        let known = self
            .view
            .topics
            .get(topic)
            .map(|t| t.assignment.clone())
            .unwrap_or_default();
        let added: Vec<TopicPartition> = node
            .partitions
            .keys()
            .filter(|p| !known.contains_key(p))
            .map(|p| (topic.to_string(), *p))
            .collect();
        for (_, p) in &added {
            if let Some((data, stat)) = self.zk.get(&PartitionStateZNode::path(topic, *p)).await? {
                let lic = PartitionStateZNode::decode(topic, *p, &data)?;
                self.view.states.insert(
                    (topic.to_string(), *p),
                    PartitionState {
                        lic,
                        zk_version: stat.version,
                    },
                );
            }
        }
        let topic_id = node.topic_id.unwrap_or_default();
        let overrides = crate::admin::topic_config(&self.zk, topic).await?;
        match overrides
            .get("unclean.leader.election.enable")
            .and_then(|v| v.parse::<bool>().ok())
        {
            Some(allowed) => self.view.unclean_topics.insert(topic.to_string(), allowed),
            None => self.view.unclean_topics.remove(topic),
        };
        self.view.topics.insert(
            topic.to_string(),
            TopicInfo {
                assignment: node.partitions,
                adding: node.adding_replicas,
                removing: node.removing_replicas,
                topic_id,
            },
        );
        Ok(added)
    }

    async fn on_topic_change(&mut self) -> Result<(), ZkError> {
        let (topics, watcher) = self.zk.watch_children(TopicsZNode::PATH).await?;
        self.forward(watcher, Event::TopicChange);
        let present: BTreeSet<&String> = topics.iter().collect();
        // Real deletion goes through /admin/delete_topics; a vanished node is just forgotten.
        self.view.topics.retain(|t, _| present.contains(t));
        self.view.states.retain(|(t, _), _| present.contains(t));
        self.view.deleting.retain(|t| present.contains(t));
        let mut added = Vec::new();
        let new_topics: Vec<&String> = topics
            .iter()
            .filter(|t| !self.view.topics.contains_key(*t))
            .collect();
        for topic in new_topics {
            added.extend(self.load_topic(topic).await?);
        }
        let changes = decisions::elect_new_partitions(&self.view, &added);
        self.apply(changes).await
    }

    async fn on_topic_modified(&mut self, topic: &str) -> Result<(), ZkError> {
        if self.deletions.contains(topic) {
            return Ok(());
        }
        let added = self.load_topic(topic).await?;
        let changes = decisions::elect_new_partitions(&self.view, &added);
        self.apply(changes).await
    }

    /// Kafka's `processBrokerChange`: dead, new and bounced (same id, larger czxid) brokers.
    async fn on_broker_change(&mut self) -> Result<(), ZkError> {
        let (_, watcher) = self.zk.watch_children(BrokerIdsZNode::PATH).await?;
        self.forward(watcher, Event::BrokerChange);
        let current: BTreeMap<i32, _> = live_brokers(&self.zk)
            .await?
            .into_iter()
            .map(|b| (b.info.id, b))
            .collect();
        let dead: BTreeSet<i32> = self
            .view
            .live
            .iter()
            .filter(|(id, b)| !matches!(current.get(*id), Some(c) if c.epoch == b.epoch))
            .map(|(id, _)| *id)
            .collect();
        let joined: Vec<_> = current
            .into_values()
            .filter(|c| !matches!(self.view.live.get(&c.info.id), Some(b) if b.epoch == c.epoch))
            .collect();
        if !dead.is_empty() {
            tracing::info!(?dead, "brokers failed");
            for id in &dead {
                self.view.live.remove(id);
                self.view.offline_replicas.remove(id);
                self.view.shutting_down.remove(id);
                self.channels.remove_broker(*id);
            }
            let changes = decisions::on_brokers_failed(&self.view, &dead);
            if changes.is_empty() {
                self.send_update_metadata_to_all();
            }
            self.apply_retrying(changes, |v| decisions::on_brokers_failed(v, &dead))
                .await?;
        }
        if !joined.is_empty() {
            tracing::info!(joined = ?joined.iter().map(|b| b.info.id).collect::<Vec<_>>(), "brokers joined");
            for broker in &joined {
                self.channels.add_broker(&broker.info);
                // A restarted broker's log dirs are tried afresh (Kafka's `onBrokerStartup`).
                self.view.offline_replicas.remove(&broker.info.id);
                self.view.live.insert(broker.info.id, broker.clone());
            }
            self.send_update_metadata_to_all();
            for broker in &joined {
                self.send_current_state(broker.info.id);
                self.resume_deletion_on(broker.info.id);
            }
            let changes = decisions::elect_offline_and_new(&self.view);
            self.apply_retrying(changes, decisions::elect_offline_and_new)
                .await?;
            let ids = joined.iter().map(|b| b.info.id).collect();
            self.resume_reassignments_on(&ids).await?;
        }
        Ok(())
    }

    /// Writes state changes (epoch-fenced), then LeaderAndIsr to each partition's live replicas
    /// and UpdateMetadata to every live broker. A write that loses to a concurrent writer (a
    /// leader changing its ISR) is dropped; see [`Active::apply_retrying`].
    pub(super) async fn apply(&mut self, changes: Vec<StateChange>) -> Result<(), ZkError> {
        self.apply_retrying(changes, |_| Vec::new()).await
    }

    /// [`Active::apply`], and for partitions whose write lost to a concurrent writer: re-read
    /// (done by the write), recompute with `decide` on the refreshed view, write again; a few
    /// rounds at most (Kafka's BADVERSION handling in `PartitionStateMachine`).
    pub(super) async fn apply_retrying(
        &mut self,
        mut changes: Vec<StateChange>,
        decide: impl Fn(&ClusterView) -> Vec<StateChange>,
    ) -> Result<(), ZkError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut per_broker: BTreeMap<i32, Vec<(TopicPartition, bool)>> = BTreeMap::new();
        for round in 0..WRITE_ROUNDS {
            let lost = self.write_all(changes, &mut per_broker).await?;
            if lost.is_empty() || round + 1 == WRITE_ROUNDS {
                break;
            }
            changes = decide(&self.view)
                .into_iter()
                .filter(|c| lost.contains(&c.partition))
                .collect();
            if changes.is_empty() {
                break;
            }
        }
        for (broker, partitions) in per_broker {
            self.send_leader_and_isr(broker, &partitions);
        }
        self.send_update_metadata_to_all();
        Ok(())
    }

    /// Writes each change; collects LeaderAndIsr recipients; returns the partitions that lost.
    ///
    /// The writes go to ZooKeeper [`WRITES_IN_FLIGHT`] at a time (each is its own epoch-fenced
    /// multi, independent of the others), so that creating a topic of a thousand partitions
    /// costs a few round trips' worth of time, not a thousand. Their results are applied to
    /// the view one by one, in order.
    async fn write_all(
        &mut self,
        changes: Vec<StateChange>,
        per_broker: &mut BTreeMap<i32, Vec<(TopicPartition, bool)>>,
    ) -> Result<BTreeSet<TopicPartition>, ZkError> {
        // A new topic's `partitions` node once, before its partitions' writes race to make it.
        let new_topics: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.write == Write::Create)
            .map(|c| c.partition.0.as_str())
            .collect();
        for topic in new_topics {
            self.zk
                .ensure_path(&TopicPartitionsZNode::path(topic))
                .await?;
        }
        let (zk, epoch_zk_version, epoch) = (&self.zk, self.epoch_zk_version, self.view.epoch);
        let mut outcomes: Vec<Result<WriteOutcome, ZkError>> = Vec::with_capacity(changes.len());
        for chunk in changes.chunks(WRITES_IN_FLIGHT) {
            // Built before awaiting (not in an iterator adapter held across the await), which
            // keeps the controller's future `Send`.
            let writes: Vec<_> = chunk
                .iter()
                .map(|change| Box::pin(write_state(zk, epoch_zk_version, epoch, change)))
                .collect();
            outcomes.extend(futures::future::join_all(writes).await);
        }
        let mut lost = BTreeSet::new();
        for (change, outcome) in changes.into_iter().zip(outcomes) {
            match outcome? {
                WriteOutcome::Written { zk_version } => {
                    self.view.states.insert(
                        change.partition.clone(),
                        PartitionState {
                            lic: change.lic.clone(),
                            zk_version,
                        },
                    );
                }
                WriteOutcome::Lost { current } => {
                    if let Some(state) = current {
                        self.view.states.insert(change.partition.clone(), state);
                    }
                    lost.insert(change.partition);
                    continue;
                }
            }
            let is_new = change.write == Write::Create;
            for broker in decisions::leader_and_isr_recipients(&self.view, &change.partition) {
                per_broker
                    .entry(broker)
                    .or_default()
                    .push((change.partition.clone(), is_new));
            }
        }
        Ok(lost)
    }

    pub(super) fn send_leader_and_isr(&self, broker: i32, partitions: &[(TopicPartition, bool)]) {
        let Some(epoch) = self.view.live.get(&broker).map(|b| b.epoch) else {
            return;
        };
        let request = requests::leader_and_isr(
            &self.view,
            epoch,
            partitions,
            &self.config.inter_broker_listener,
        );
        self.channels
            .send(broker, ControllerRequest::LeaderAndIsr(request));
    }

    /// LeaderAndIsr with the current state of every partition `broker` hosts that has a state.
    pub(super) fn send_current_state(&self, broker: i32) {
        let partitions: Vec<(TopicPartition, bool)> = self
            .view
            .partitions_on(broker)
            .into_iter()
            .filter(|tp| self.view.states.contains_key(tp))
            .map(|tp| (tp, false))
            .collect();
        if !partitions.is_empty() {
            self.send_leader_and_isr(broker, &partitions);
        }
    }

    pub(super) fn send_update_metadata_to_all(&self) {
        for (id, broker) in &self.view.live {
            let request = requests::update_metadata(&self.view, broker.epoch);
            self.channels
                .send(*id, ControllerRequest::UpdateMetadata(request));
        }
    }
}

/// State writes sent to ZooKeeper at once by [`Active::write_all`].
const WRITES_IN_FLIGHT: usize = 64;

/// How one partition state write ended.
enum WriteOutcome {
    /// Written; the znode's new data version.
    Written { zk_version: i32 },
    /// Lost to a concurrent writer (a leader changing its ISR); `current` is what is there now.
    Lost { current: Option<PartitionState> },
}

/// Writes one change, fenced by the controller epoch (`epoch_zk_version` of
/// `/controller_epoch`); a new partition's own znode is created with it (the topic's
/// `partitions` node must exist).
async fn write_state(
    zk: &Zk,
    epoch_zk_version: i32,
    controller_epoch: i32,
    change: &StateChange,
) -> Result<WriteOutcome, ZkError> {
    let (topic, p) = &change.partition;
    let path = PartitionStateZNode::path(topic, *p);
    let data = PartitionStateZNode::encode(&change.lic);
    let mut ops = Vec::new();
    if change.write == Write::Create {
        let parent = TopicPartitionsZNode::partition_path(topic, *p);
        if zk.stat(&parent).await?.is_none() {
            ops.push(ZkOp::create(parent, Vec::new()));
        }
    }
    ops.push(match change.write {
        Write::Create => ZkOp::create(&path, data),
        Write::Update { zk_version } => ZkOp::set(&path, data, zk_version),
    });
    match zk.fenced_multi(epoch_zk_version, ops).await {
        Ok(results) => {
            let zk_version = match results.last() {
                Some(MultiWriteResult::SetData { stat }) => stat.version,
                _ => 0,
            };
            Ok(WriteOutcome::Written { zk_version })
        }
        Err(e) if e.is_bad_version() || e.is_node_exists() => {
            tracing::warn!(%e, "partition state changed underneath the controller; re-reading {path}");
            let Some((data, stat)) = zk.get(&path).await? else {
                return Ok(WriteOutcome::Lost { current: None });
            };
            let lic = PartitionStateZNode::decode(topic, *p, &data)?;
            if lic.controller_epoch > controller_epoch {
                // A newer controller wrote it: we are deposed.
                return Err(ZkError::ControllerMoved);
            }
            Ok(WriteOutcome::Lost {
                current: Some(PartitionState {
                    lic,
                    zk_version: stat.version,
                }),
            })
        }
        Err(e) => Err(e),
    }
}
