//! The controller's channel to brokers (Kafka's `ControllerChannelManager`): per live broker one
//! task with a FIFO queue and one TCP connection to the broker's inter-broker listener. Requests are
//! retried in order, with backoff, until they get a response or the broker is removed: a broker
//! whose listener is not up yet (including this very broker) receives them once it is. Every
//! LeaderAndIsr answer goes back to the event loop: a replica answering KAFKA_STORAGE_ERROR is
//! on a failed log dir.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use kafka_protocol::messages::{
    LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse,
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::requests::{LEADER_AND_ISR_VERSION, STOP_REPLICA_VERSION, UPDATE_METADATA_VERSION};
use crate::znode::BrokerInfo;
use kafka_client::{authenticate_if, SaslCredentials};
use kafka_client::{ClientTls, KafkaConnection};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A request queued for one broker.
#[derive(Clone, Debug)]
pub enum ControllerRequest {
    /// LeaderAndIsr (v7).
    LeaderAndIsr(LeaderAndIsrRequest),
    /// UpdateMetadata (v8).
    UpdateMetadata(UpdateMetadataRequest),
    /// StopReplica (v3); the response goes to `reply` if given (topic deletion tracks them).
    StopReplica {
        /// The request.
        request: StopReplicaRequest,
        /// Where to deliver the broker's answer.
        reply: Option<mpsc::UnboundedSender<StopReplicaReply>>,
    },
}

/// A broker's answer to a LeaderAndIsr.
#[derive(Clone, Debug)]
pub struct LeaderAndIsrReply {
    /// Which broker answered.
    pub broker: i32,
    /// The broker epoch the request named: an answer from before a restart is stale.
    pub broker_epoch: i64,
    /// Its response (partitions named by topic id).
    pub response: LeaderAndIsrResponse,
}

/// A broker's answer to a StopReplica.
#[derive(Clone, Debug)]
pub struct StopReplicaReply {
    /// Which broker answered.
    pub broker: i32,
    /// Its response.
    pub response: StopReplicaResponse,
}

struct BrokerChannel {
    queue: mpsc::UnboundedSender<ControllerRequest>,
    cancel: CancellationToken,
}

/// One sender task per live broker.
pub struct ChannelManager {
    client_id: String,
    listener: String,
    cancel: CancellationToken,
    brokers: BTreeMap<i32, BrokerChannel>,
    leader_and_isr_replies: mpsc::UnboundedSender<LeaderAndIsrReply>,
    tls: Option<ClientTls>,
    sasl: Option<SaslCredentials>,
}

impl ChannelManager {
    /// A manager whose tasks stop when `parent` is cancelled; LeaderAndIsr answers go to
    /// `leader_and_isr_replies`.
    pub fn new(
        controller_id: i32,
        inter_broker_listener: &str,
        parent: &CancellationToken,
        leader_and_isr_replies: mpsc::UnboundedSender<LeaderAndIsrReply>,
    ) -> Self {
        ChannelManager {
            client_id: format!("controller-{controller_id}"),
            listener: inter_broker_listener.to_string(),
            cancel: parent.child_token(),
            brokers: BTreeMap::new(),
            leader_and_isr_replies,
            tls: None,
            sasl: None,
        }
    }

    /// Connects to brokers over TLS (the inter-broker listener's protocol uses it).
    pub fn with_tls(mut self, tls: Option<ClientTls>) -> Self {
        self.tls = tls;
        self
    }

    /// Authenticate every connection with `sasl` (a SASL inter-broker listener).
    pub fn with_sasl(mut self, sasl: Option<SaslCredentials>) -> Self {
        self.sasl = sasl;
        self
    }

    /// Starts a sender to `broker` (replacing any previous one).
    pub fn add_broker(&mut self, broker: &BrokerInfo) {
        self.remove_broker(broker.id);
        let Some(endpoint) = broker.endpoint(&self.listener) else {
            tracing::error!(broker = broker.id, listener = %self.listener, "broker has no endpoint for the inter-broker listener");
            return;
        };
        let (queue, rx) = mpsc::unbounded_channel();
        let cancel = self.cancel.child_token();
        let target = Target {
            id: broker.id,
            host: endpoint.host.clone(),
            port: endpoint.port,
            client_id: self.client_id.clone(),
            leader_and_isr_replies: self.leader_and_isr_replies.clone(),
            tls: self.tls.clone(),
            sasl: self.sasl.clone(),
        };
        tokio::spawn(send_loop(target, rx, cancel.clone()));
        self.brokers
            .insert(broker.id, BrokerChannel { queue, cancel });
    }

    /// Stops the sender to `id`, dropping its queued requests.
    pub fn remove_broker(&mut self, id: i32) {
        if let Some(channel) = self.brokers.remove(&id) {
            channel.cancel.cancel();
        }
    }

    /// Queues a request for `id` (dropped if it has no channel: it is not live).
    pub fn send(&self, id: i32, request: ControllerRequest) {
        if let Some(channel) = self.brokers.get(&id) {
            let _ = channel.queue.send(request);
        }
    }

    /// Stops every sender.
    pub fn shutdown(&mut self) {
        self.cancel.cancel();
        self.brokers.clear();
    }
}

impl Drop for ChannelManager {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Target {
    id: i32,
    host: String,
    port: u16,
    client_id: String,
    leader_and_isr_replies: mpsc::UnboundedSender<LeaderAndIsrReply>,
    tls: Option<ClientTls>,
    sasl: Option<SaslCredentials>,
}

async fn send_loop(
    target: Target,
    mut rx: mpsc::UnboundedReceiver<ControllerRequest>,
    cancel: CancellationToken,
) {
    let mut conn: Option<KafkaConnection> = None;
    loop {
        let request = tokio::select! {
            r = rx.recv() => match r { Some(r) => r, None => return },
            _ = cancel.cancelled() => return,
        };
        let mut backoff = Duration::from_millis(50);
        loop {
            let attempt = send_once(&target, &mut conn, &request);
            let result = tokio::select! {
                r = tokio::time::timeout(REQUEST_TIMEOUT, attempt) => r.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
                _ = cancel.cancelled() => return,
            };
            match result {
                Ok(()) => break,
                Err(e) => {
                    tracing::debug!(broker = target.id, %e, "controller request failed; retrying in {backoff:?}");
                    conn = None;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = cancel.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

async fn send_once(
    target: &Target,
    conn: &mut Option<KafkaConnection>,
    request: &ControllerRequest,
) -> io::Result<()> {
    if conn.is_none() {
        let mut c = KafkaConnection::connect_with(
            &target.host,
            target.port,
            &target.client_id,
            CONNECT_TIMEOUT,
            target.tls.as_ref(),
        )
        .await?;
        authenticate_if(&mut c, target.sasl.as_ref()).await?;
        *conn = Some(c.with_timeout(REQUEST_TIMEOUT));
    }
    let Some(stream) = conn.as_mut() else {
        return Err(io::ErrorKind::NotConnected.into());
    };
    match request {
        ControllerRequest::LeaderAndIsr(req) => {
            let resp: LeaderAndIsrResponse = stream.request(req, LEADER_AND_ISR_VERSION).await?;
            let failed: Vec<_> = resp
                .topics
                .iter()
                .flat_map(|t| &t.partition_errors)
                .filter(|p| p.error_code != 0)
                .collect();
            if resp.error_code != 0 || !failed.is_empty() {
                tracing::warn!(broker = target.id, error = resp.error_code, partitions = ?failed, "LeaderAndIsr errors");
            }
            let _ = target.leader_and_isr_replies.send(LeaderAndIsrReply {
                broker: target.id,
                broker_epoch: req.broker_epoch,
                response: resp,
            });
        }
        ControllerRequest::UpdateMetadata(req) => {
            let resp: UpdateMetadataResponse = stream.request(req, UPDATE_METADATA_VERSION).await?;
            if resp.error_code != 0 {
                tracing::warn!(
                    broker = target.id,
                    error = resp.error_code,
                    "UpdateMetadata error"
                );
            }
        }
        ControllerRequest::StopReplica { request, reply } => {
            let resp: StopReplicaResponse = stream.request(request, STOP_REPLICA_VERSION).await?;
            if resp.error_code != 0 {
                tracing::warn!(
                    broker = target.id,
                    error = resp.error_code,
                    "StopReplica error"
                );
            }
            if let Some(reply) = reply {
                let _ = reply.send(StopReplicaReply {
                    broker: target.id,
                    response: resp,
                });
            }
        }
    }
    Ok(())
}
