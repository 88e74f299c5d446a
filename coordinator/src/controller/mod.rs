//! Kafka's ZooKeeper-mode controller (`KafkaController`).
//!
//! Every broker runs [`start`]: it watches `/controller` and, when it is absent, tries to win the
//! election ([`election`]). The winner runs [`active`]'s single event loop: watches on
//! `/brokers/ids`, `/brokers/topics`, each topic, `/admin/delete_topics`,
//! `/isr_change_notification`, `/log_dir_event_notification`, `/admin/preferred_replica_election`
//! and `/controller` only enqueue events, as do brokers' LeaderAndIsr answers and requests
//! arriving through a [`ControllerHandle`] (ControlledShutdown, ElectLeaders) and the
//! auto-rebalance timer. Decisions are
//! pure functions in [`decisions`] and [`deletion`] over a [`view::ClusterView`]; every ZooKeeper
//! write is a multi fenced by `/controller_epoch`'s zkVersion; brokers are told through
//! [`channel`] (LeaderAndIsr, UpdateMetadata, StopReplica, per broker in FIFO order). On
//! `/controller` change, a failed epoch check or session loss the controller resigns and goes
//! back to watching `/controller`.
//!
//! Handlers of the event loop, by duty: [`active`] (failover, brokers, topics, state writes),
//! `shutdown` (ControlledShutdown), `topic_deletion`, `isr_changes` (ISR change notifications
//! and preferred-leader rebalance), `log_dir_events` (replicas on failed log dirs), `elections`
//! (ElectLeaders and the preferred replica election znode, choices in [`replica_election`]),
//! `reassignment` (partition reassignments; its pure steps in `reassign_steps`).
//!
//! After the session expires this module stops: the broker must open a new session, re-register
//! and call [`start`] again (Kafka's `RegisterBrokerAndReelect`).

mod active;
pub mod channel;
pub mod decisions;
pub mod deletion;
pub mod election;
mod elections;
mod isr_changes;
mod log_dir_events;
pub mod reassign_steps;
mod reassignment;
pub mod replica_election;
pub mod requests;
mod shutdown;
mod topic_deletion;
pub mod view;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::connect::Zk;
use crate::error::ControllerError;
use crate::znode::ControllerZNode;
use active::Event;
pub use elections::ElectionResults;
use kafka_client::SaslCredentials;
pub use reassignment::{AlterResults, ReassignmentRequest};

/// Pause after an unexpected ZooKeeper error before trying again.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// Bound on a request through [`ControllerHandle`].
const HANDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the controller module needs to know about its broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// This broker's id.
    pub broker_id: i32,
    /// Listener name used to reach brokers (`inter.broker.listener.name`).
    pub inter_broker_listener: String,
    /// `delete.topic.enable`: if false, deletion markers are just removed.
    pub delete_topic_enable: bool,
    /// `auto.leader.rebalance.enable`.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds` (tests use a short one).
    pub leader_imbalance_check_interval: Duration,
    /// `leader.imbalance.per.broker.percentage` (10).
    pub leader_imbalance_per_broker_percentage: u32,
    /// `unclean.leader.election.enable` (false): the default for topics without an override.
    pub unclean_leader_election_enable: bool,
    /// TLS for the channel to brokers, when the inter-broker listener uses it.
    pub inter_broker_tls: Option<kafka_client::ClientTls>,
    /// How to authenticate to the brokers' inter-broker listener when it is SASL.
    pub inter_broker_sasl: Option<SaslCredentials>,
}

impl ControllerConfig {
    /// Kafka's defaults for everything but the identity.
    pub fn new(broker_id: i32, inter_broker_listener: &str) -> Self {
        ControllerConfig {
            broker_id,
            inter_broker_listener: inter_broker_listener.to_string(),
            delete_topic_enable: true,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval: Duration::from_secs(300),
            leader_imbalance_per_broker_percentage: 10,
            unclean_leader_election_enable: false,
            inter_broker_tls: None,
            inter_broker_sasl: None,
        }
    }
}

/// How the broker's API handlers reach this broker's controller while it is the active one.
/// Cheap to clone; survives controller restarts (session expiry) when passed to [`start_with`].
#[derive(Clone, Debug, Default)]
pub struct ControllerHandle {
    events: Arc<Mutex<Option<mpsc::UnboundedSender<Event>>>>,
}

impl ControllerHandle {
    /// A handle not attached to any active controller yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether this broker is currently the active controller.
    pub fn is_active(&self) -> bool {
        self.lock().as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Kafka's `doControlledShutdown`: moves leadership away from `broker_id` and removes it
    /// from ISRs; returns the partitions (with more than one replica) it still leads.
    pub async fn controlled_shutdown(
        &self,
        broker_id: i32,
        broker_epoch: i64,
    ) -> Result<Vec<(String, i32)>, ControllerError> {
        self.ask(|reply| Event::ControlledShutdown {
            broker_id,
            broker_epoch,
            reply,
        })
        .await
    }

    /// Sends the event `make` builds around a reply channel; awaits the answer, bounded.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ControllerError>>) -> Event,
    ) -> Result<T, ControllerError> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply))?;
        match tokio::time::timeout(HANDLE_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ControllerError::NotController),
            Err(_) => Err(ControllerError::Timeout(HANDLE_TIMEOUT)),
        }
    }

    fn send(&self, event: Event) -> Result<(), ControllerError> {
        match self.lock().as_ref() {
            Some(tx) => tx.send(event).map_err(|_| ControllerError::NotController),
            None => Err(ControllerError::NotController),
        }
    }

    fn attach(&self, tx: Option<mpsc::UnboundedSender<Event>>) {
        *self.lock() = tx;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<Event>>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts the controller module; it runs until `shutdown` is cancelled or the session ends.
/// The returned handle reaches it while it is the active controller.
pub fn start(
    zk: Zk,
    config: ControllerConfig,
    shutdown: CancellationToken,
) -> (JoinHandle<()>, ControllerHandle) {
    let handle = ControllerHandle::new();
    let task = start_with(zk, config, handle.clone(), shutdown);
    (task, handle)
}

/// [`start`] with a handle that outlives this module (a broker restarting its controller after
/// a session expiry keeps the handle its API handlers hold).
pub fn start_with(
    zk: Zk,
    config: ControllerConfig,
    handle: ControllerHandle,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move { run(zk, config, handle, shutdown).await })
}

async fn run(
    zk: Zk,
    config: ControllerConfig,
    handle: ControllerHandle,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() && !zk.state().is_terminated() {
        match election::try_elect(&zk, config.broker_id).await {
            Ok(Some(elected)) => {
                let result = active::run(zk.clone(), &config, elected, &handle, &shutdown).await;
                handle.attach(None);
                match result {
                    Ok(()) => tracing::info!("controller stopped"),
                    Err(e) => tracing::warn!(%e, "resigning as controller"),
                }
                continue;
            }
            Ok(None) => {}
            Err(e) if e.is_session_terminal() => break,
            Err(e) => {
                tracing::warn!(%e, "controller election failed");
                sleep_or_shutdown(RETRY_DELAY, &shutdown).await;
                continue;
            }
        }
        wait_for_controller_change(&zk, &shutdown).await;
    }
    tracing::info!(broker = config.broker_id, "controller module stopped");
}

/// Waits until `/controller` changes (or is absent already), or shutdown.
async fn wait_for_controller_change(zk: &Zk, shutdown: &CancellationToken) {
    match zk.watch_exists(ControllerZNode::PATH).await {
        Ok((None, _)) => {}
        Ok((Some(_), watcher)) => {
            tokio::select! {
                _ = watcher.changed() => {}
                _ = shutdown.cancelled() => {}
            }
        }
        Err(e) => {
            if !e.is_session_terminal() {
                tracing::warn!(%e, "cannot watch /controller");
            }
            sleep_or_shutdown(RETRY_DELAY, shutdown).await;
        }
    }
}

async fn sleep_or_shutdown(delay: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = shutdown.cancelled() => {}
    }
}
