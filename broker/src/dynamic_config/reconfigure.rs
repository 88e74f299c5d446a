//! What changes in the running broker when the effective config does (Kafka's
//! `BrokerReconfigurable`s): every partition's log defaults, the log cleaner, the TLS
//! listeners' key material and the replication throttles' rates. `message.max.bytes`, `min.insync.replicas` and
//! `log.message.timestamp.type` need nothing here: the produce path reads the current config
//! on every request. The replication throttles get their new rates here.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::DynamicConfigError;
use crate::cleaner::{CleanerConfig, CleanerSlot};
use crate::config::BrokerConfig;
use crate::context::Broker;
use crate::server::log_config;

/// The checks components make of a new config before it is stored (Kafka's
/// `validateReconfiguration`): the cleaner's thread count may at most halve or double, and a
/// listener's new TLS material must load.
pub fn validate(old: &BrokerConfig, new: &BrokerConfig) -> Result<(), DynamicConfigError> {
    if new.log_cleaner_enable && new.log_cleaner_threads != old.log_cleaner_threads {
        let (now, next) = (old.log_cleaner_threads, new.log_cleaner_threads);
        let refused = if next < 1 {
            Some("Log cleaner threads should be at least 1".to_string())
        } else if next < now / 2 {
            Some(format!(
                "Log cleaner threads cannot be reduced to less than half the current value {now}"
            ))
        } else if next > now.saturating_mul(2) {
            Some(format!("Log cleaner threads cannot be increased to more than double the current value {now}"))
        } else {
            None
        };
        if let Some(why) = refused {
            return Err(DynamicConfigError::Reconfiguration(why));
        }
    }
    for (name, settings) in &new.ssl {
        if old.ssl.get(name) != Some(settings) {
            crate::tls::material::server_config(settings)
                .map_err(|e| DynamicConfigError::Reconfiguration(e.to_string()))?;
        }
    }
    Ok(())
}

/// Applies every change of the effective config to the components until `shutdown`.
pub async fn follow(broker: Arc<Broker>, cleaner: Arc<CleanerSlot>, shutdown: CancellationToken) {
    let mut changes = broker.dynamic.subscribe();
    let mut applied = changes.borrow_and_update().config.clone();
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = shutdown.cancelled() => return,
        }
        let next = changes.borrow_and_update().config.clone();
        apply(&broker, &cleaner, &applied, &next).await;
        applied = next;
    }
}

async fn apply(
    broker: &Arc<Broker>,
    cleaner: &Arc<CleanerSlot>,
    old: &BrokerConfig,
    new: &BrokerConfig,
) {
    let defaults = log_config(new);
    if log_config(old) != defaults {
        info!(
            ?defaults,
            "log defaults changed: applied to every partition without a topic override of them"
        );
        let b = broker.clone();
        let _ = tokio::task::spawn_blocking(move || b.replicas.set_log_defaults(defaults)).await;
    }
    let cleaning = CleanerConfig::of(new);
    if CleanerConfig::of(old) != cleaning {
        info!(
            ?cleaning,
            "log cleaner settings changed: restarting the cleaner"
        );
        let (b, slot) = (broker.clone(), cleaner.clone());
        let _ = tokio::task::spawn_blocking(move || slot.set(&b, cleaning)).await;
    }
    // The replication throttles' rates (each quota logs its own change).
    let quotas = broker.replicas.quotas();
    quotas
        .leader
        .set_rate(new.leader_replication_throttled_rate);
    quotas
        .follower
        .set_rate(new.follower_replication_throttled_rate);
    for (name, settings) in &new.ssl {
        if old.ssl.get(name) == Some(settings) {
            continue;
        }
        let inter_broker = *name == new.inter_broker_listener_name;
        match broker.tls.reconfigure(settings, inter_broker) {
            Ok(()) => {
                info!(listener = %name, "TLS material changed dynamically: new connections use it")
            }
            Err(e) => {
                error!(listener = %name, error = %e, "dynamic TLS material cannot be used; keeping the previous one")
            }
        }
    }
}
