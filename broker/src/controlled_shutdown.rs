//! The stopping broker's side of controlled shutdown (Kafka's `KafkaServer.controlledShutdown`):
//! before closing its connections the broker asks the controller (found in its metadata cache)
//! to move leadership away, retrying a bounded number of times, then shuts down regardless.

use std::time::Duration;

use coordinator::ControllerError;
use kafka_client::KafkaConnection;
use kafka_protocol::messages::{BrokerId, ControlledShutdownRequest};
use thiserror::Error;
use tracing::{info, warn};

use crate::context::Broker;

/// `controlled.shutdown.max.retries` (Kafka's default).
const MAX_RETRIES: u32 = 3;
/// Pause between attempts (Kafka's `controlled.shutdown.retry.backoff.ms` is 5 s; shorter here
/// so that three attempts fit well within a supervisor's stop timeout).
const RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Bound on one attempt (connect + request + response).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
/// ControlledShutdown version sent (IBP ≥ 2.4-IV1).
const VERSION: i16 = 3;

/// Why one attempt failed.
#[derive(Debug, Error)]
enum AttemptError {
    #[error("no controller known")]
    NoController,
    #[error("controller {0} has no endpoint on the inter-broker listener")]
    NoEndpoint(i32),
    #[error("talking to the controller: {0}")]
    Io(#[from] std::io::Error),
    #[error("controller answered error code {0}")]
    ErrorCode(i16),
    #[error(transparent)]
    Local(#[from] ControllerError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Asks the controller to let this broker go; returns once it has (or after the retries).
pub async fn run(broker: &Broker) {
    if !broker.config.controlled_shutdown_enable {
        return;
    }
    if broker
        .metadata
        .brokers()
        .iter()
        .all(|b| b.id == broker.broker_id)
    {
        info!("only live broker: skipping controlled shutdown");
        return;
    }
    // A leaving broker must not fetch any more: a fetch reaching a partition's new leader
    // after the controller took us out of its ISR would put us straight back in.
    broker.fetchers.close();
    for attempt in 1..=MAX_RETRIES {
        let result = tokio::time::timeout(ATTEMPT_TIMEOUT, attempt_once(broker))
            .await
            .unwrap_or(Err(AttemptError::Timeout(ATTEMPT_TIMEOUT)));
        match result {
            Ok(remaining) if remaining.is_empty() => {
                info!(attempt, "controlled shutdown succeeded");
                return;
            }
            Ok(remaining) => {
                warn!(attempt, remaining = ?remaining, "controlled shutdown: partitions still led here")
            }
            Err(e) => warn!(attempt, error = %e, "controlled shutdown attempt failed"),
        }
        if attempt < MAX_RETRIES {
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
    }
    warn!(
        "controlled shutdown did not complete after {MAX_RETRIES} attempts; shutting down anyway"
    );
}

async fn attempt_once(broker: &Broker) -> Result<Vec<(String, i32)>, AttemptError> {
    let controller = broker.metadata.controller_id();
    let epoch = broker.broker_epoch();
    if controller < 0 {
        return Err(AttemptError::NoController);
    }
    if controller == broker.broker_id {
        return Ok(broker
            .controller
            .controlled_shutdown(broker.broker_id, epoch)
            .await?);
    }
    let listener = &broker.config.inter_broker_listener_name;
    let endpoint = broker
        .metadata
        .broker(controller)
        .and_then(|b| b.endpoint(listener).cloned())
        .ok_or(AttemptError::NoEndpoint(controller))?;
    let port = u16::try_from(endpoint.port).map_err(|_| AttemptError::NoEndpoint(controller))?;
    let request = ControlledShutdownRequest::default()
        .with_broker_id(BrokerId(broker.broker_id))
        .with_broker_epoch(epoch);
    let client_id = format!("broker-{}-controlled-shutdown", broker.broker_id);
    let mut conn = KafkaConnection::connect_with(
        &endpoint.host,
        port,
        &client_id,
        ATTEMPT_TIMEOUT,
        broker.tls.inter_broker(),
    )
    .await?;
    let sasl = broker.config.sasl.inter_broker.as_ref();
    kafka_client::authenticate_if(&mut conn, sasl).await?;
    let response = conn.request(&request, VERSION).await?;
    if response.error_code != 0 {
        return Err(AttemptError::ErrorCode(response.error_code));
    }
    Ok(response
        .remaining_partitions
        .iter()
        .map(|p| (p.topic_name.0.to_string(), p.partition_index))
        .collect())
}
