//! The ZooKeeper session supervisor (Kafka's `KafkaServer` session-expiry handling and the
//! controller module's `RegisterBrokerAndReelect`).
//!
//! It owns the controller module: starts it, and when the session expires (the controller
//! stops by itself then, and our ephemeral registration is gone) opens a new session,
//! re-registers `/brokers/ids/<id>` (new broker epoch), installs the session in the [`Broker`]
//! and starts the controller module again with the same [`ControllerHandle`]. On shutdown it
//! stops the controller and returns; closing the session is the drain's job.
//!
//! [`ControllerHandle`]: coordinator::controller::ControllerHandle

use std::sync::Arc;
use std::time::Duration;

use coordinator::connect::SessionState;
use coordinator::controller::{self, ControllerConfig};
use coordinator::registration::{register_broker, BrokerRegistration};
use coordinator::{Zk, ZkConnect, ZkError, ZkOptions, ZkTls, ZkTlsIdentity, ZnodeAcls};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{BrokerConfig, ZkTlsConfig};
use crate::context::Broker;

/// Pause between attempts to re-establish a session.
const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// What reconnecting needs.
#[derive(Debug, Clone)]
pub struct SessionParams {
    pub connect: ZkConnect,
    /// Timeouts, SASL login and znode ACLs: the same for every session of this broker.
    pub options: ZkOptions,
    pub registration: BrokerRegistration,
    pub controller: ControllerConfig,
}

/// The ZooKeeper session options from the broker config: timeouts, the SASL login read from
/// the JAAS file (once, at start-up, as Kafka reads it), and `zookeeper.set.acl`.
pub fn zk_options(config: &BrokerConfig) -> Result<ZkOptions, ZkError> {
    let options = ZkOptions::new(
        Duration::from_millis(config.zookeeper_session_timeout_ms),
        Duration::from_millis(config.zookeeper_connection_timeout_ms),
    )
    .with_sasl(config.zookeeper_sasl.login()?)
    .with_tls(config.zookeeper_tls.as_ref().map(read_tls).transpose()?)
    .with_acls(ZnodeAcls::new(config.zookeeper_set_acl));
    options.validate()?;
    Ok(options)
}

/// Reads the PEM files of `zookeeper.ssl.*`.
fn read_tls(tls: &ZkTlsConfig) -> Result<ZkTls, ZkError> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| ZkError::Tls {
            message: format!("cannot read {}: {e}", path.display()),
        })
    };
    let identity = match &tls.keystore {
        Some(path) => {
            // One file holds key and chain (ZooKeeper's and Kafka's PEM keystore layout).
            let pem = read(path)?;
            Some(ZkTlsIdentity {
                chain_pem: pem.clone(),
                key_pem: pem,
            })
        }
        None => None,
    };
    Ok(ZkTls {
        trust_pem: read(&tls.truststore)?,
        identity,
    })
}

/// The controller config from the broker config.
pub fn controller_config(broker: &Broker) -> ControllerConfig {
    let c = &broker.config;
    ControllerConfig {
        delete_topic_enable: c.delete_topic_enable,
        auto_leader_rebalance_enable: c.auto_leader_rebalance_enable,
        unclean_leader_election_enable: c.unclean_leader_election_enable,
        leader_imbalance_check_interval: Duration::from_secs(
            c.leader_imbalance_check_interval_seconds,
        ),
        inter_broker_tls: broker.tls.inter_broker().cloned(),
        inter_broker_sasl: c.sasl.inter_broker.clone(),
        ..ControllerConfig::new(broker.broker_id, &c.inter_broker_listener_name)
    }
}

/// Runs the controller module and re-creates session, registration and controller after an
/// expiry, until `stop` is cancelled.
pub async fn supervise(broker: Arc<Broker>, params: SessionParams, stop: CancellationToken) {
    loop {
        let zk = broker.zk();
        let controller_stop = stop.child_token();
        let task = controller::start_with(
            zk.clone(),
            params.controller.clone(),
            broker.controller.clone(),
            controller_stop.clone(),
        );
        let expired = wait_for_expiry(&zk, &stop).await;
        controller_stop.cancel();
        stop_controller(task).await;
        if !expired {
            return;
        }
        warn!("ZooKeeper session expired: reconnecting and re-registering");
        match reconnect(&params, &stop).await {
            Some((zk, epoch)) => {
                broker.replace_zk(zk, epoch);
                info!(broker_epoch = epoch, "re-registered after session expiry");
            }
            None => return,
        }
    }
}

/// True when the session ended on its own (expired, auth failed); false on `stop` or when we
/// closed it.
async fn wait_for_expiry(zk: &Zk, stop: &CancellationToken) -> bool {
    let mut watcher = match zk.state_watcher() {
        Ok(w) => w,
        Err(_) => return false,
    };
    loop {
        tokio::select! {
            state = watcher.changed() => {
                if state.is_terminated() {
                    return state != SessionState::Closed;
                }
            }
            _ = stop.cancelled() => return false,
        }
    }
}

async fn stop_controller(task: JoinHandle<()>) {
    if let Err(e) = task.await {
        warn!(error = %e, "controller task ended abnormally");
    }
}

/// New session + registration, retried until it works or `stop`.
async fn reconnect(params: &SessionParams, stop: &CancellationToken) -> Option<(Zk, i64)> {
    while !stop.is_cancelled() {
        match try_reconnect(params).await {
            Ok(done) => return Some(done),
            Err(e) => error!(error = %e, "re-registration failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT_BACKOFF) => {}
            _ = stop.cancelled() => {}
        }
    }
    None
}

async fn try_reconnect(params: &SessionParams) -> Result<(Zk, i64), ZkError> {
    let zk = Zk::connect_with(&params.connect, &params.options).await?;
    coordinator::bootstrap::ensure_persistent_paths(&zk).await?;
    // Our old registration belonged to the expired session and is gone already.
    let epoch = register_broker(&zk, &params.registration, params.options.session_timeout).await?;
    Ok((zk, epoch))
}
