//! Kafka's ZooKeeper-mode controller (`KafkaController`).
//!
//! Every broker runs [`start`]: it watches `/controller` and, when it is absent, tries to win the
//! election ([`election`]). The winner runs [`active`]'s single event loop: watches on
//! `/brokers/ids`, `/brokers/topics`, each topic and `/controller` only enqueue events; decisions
//! are pure functions in [`decisions`] over a [`view::ClusterView`]; every ZooKeeper write is a
//! multi fenced by `/controller_epoch`'s zkVersion; brokers are told through [`channel`]
//! (LeaderAndIsr, then UpdateMetadata, per broker in FIFO order). On `/controller` change, a failed
//! epoch check or session loss the controller resigns and goes back to watching `/controller`.
//!
//! After the session expires this module stops: the broker must open a new session, re-register
//! and call [`start`] again (Kafka's `RegisterBrokerAndReelect`).

mod active;
pub mod channel;
pub mod decisions;
pub mod election;
pub mod requests;
pub mod view;

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::connect::Zk;
use crate::znode::ControllerZNode;

/// Pause after an unexpected ZooKeeper error before trying again.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// What the controller module needs to know about its broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// This broker's id.
    pub broker_id: i32,
    /// Listener name used to reach brokers (`inter.broker.listener.name`).
    pub inter_broker_listener: String,
}

/// Starts the controller module; it runs until `shutdown` is cancelled or the session ends.
pub fn start(zk: Zk, config: ControllerConfig, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move { run(zk, config, shutdown).await })
}

async fn run(zk: Zk, config: ControllerConfig, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() && !zk.state().is_terminated() {
        match election::try_elect(&zk, config.broker_id).await {
            Ok(Some(elected)) => {
                match active::run(zk.clone(), &config, elected, &shutdown).await {
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
