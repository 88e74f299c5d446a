//! The controller's channel to brokers (Kafka's `ControllerChannelManager`): per live broker one
//! task with a FIFO queue and one TCP connection to the broker's inter-broker listener. Requests are
//! retried in order, with backoff, until they get a response or the broker is removed: a broker
//! whose listener is not up yet (including this very broker) receives them once it is.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    LeaderAndIsrRequest, LeaderAndIsrResponse, RequestHeader, ResponseHeader, StopReplicaRequest,
    StopReplicaResponse, UpdateMetadataRequest, UpdateMetadataResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::requests::{LEADER_AND_ISR_VERSION, STOP_REPLICA_VERSION, UPDATE_METADATA_VERSION};
use crate::znode::BrokerInfo;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Refuse absurd response sizes rather than allocating them.
const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

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
}

impl ChannelManager {
    /// A manager whose tasks stop when `parent` is cancelled.
    pub fn new(
        controller_id: i32,
        inter_broker_listener: &str,
        parent: &CancellationToken,
    ) -> Self {
        ChannelManager {
            client_id: format!("controller-{controller_id}"),
            listener: inter_broker_listener.to_string(),
            cancel: parent.child_token(),
            brokers: BTreeMap::new(),
        }
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
}

async fn send_loop(
    target: Target,
    mut rx: mpsc::UnboundedReceiver<ControllerRequest>,
    cancel: CancellationToken,
) {
    let mut conn: Option<TcpStream> = None;
    let mut correlation_id = 0;
    loop {
        let request = tokio::select! {
            r = rx.recv() => match r { Some(r) => r, None => return },
            _ = cancel.cancelled() => return,
        };
        let mut backoff = Duration::from_millis(50);
        loop {
            correlation_id += 1;
            let attempt = send_once(&target, &mut conn, &request, correlation_id);
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
    conn: &mut Option<TcpStream>,
    request: &ControllerRequest,
    correlation_id: i32,
) -> io::Result<()> {
    if conn.is_none() {
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        stream.set_nodelay(true)?;
        *conn = Some(stream);
    }
    let Some(stream) = conn.as_mut() else {
        return Err(io::ErrorKind::NotConnected.into());
    };
    match request {
        ControllerRequest::LeaderAndIsr(req) => {
            let resp: LeaderAndIsrResponse = round_trip(
                stream,
                req,
                LEADER_AND_ISR_VERSION,
                correlation_id,
                &target.client_id,
            )
            .await?;
            let failed: Vec<_> = resp
                .topics
                .iter()
                .flat_map(|t| &t.partition_errors)
                .filter(|p| p.error_code != 0)
                .collect();
            if resp.error_code != 0 || !failed.is_empty() {
                tracing::warn!(broker = target.id, error = resp.error_code, partitions = ?failed, "LeaderAndIsr errors");
            }
        }
        ControllerRequest::UpdateMetadata(req) => {
            let resp: UpdateMetadataResponse = round_trip(
                stream,
                req,
                UPDATE_METADATA_VERSION,
                correlation_id,
                &target.client_id,
            )
            .await?;
            if resp.error_code != 0 {
                tracing::warn!(
                    broker = target.id,
                    error = resp.error_code,
                    "UpdateMetadata error"
                );
            }
        }
        ControllerRequest::StopReplica { request, reply } => {
            let resp: StopReplicaResponse = round_trip(
                stream,
                request,
                STOP_REPLICA_VERSION,
                correlation_id,
                &target.client_id,
            )
            .await?;
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

fn protocol_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Writes one framed request (size, RequestHeader, body) and reads and decodes its response
/// (also used by brokers for their own controller-bound requests, e.g. ControlledShutdown).
pub async fn round_trip<R: Request>(
    stream: &mut TcpStream,
    request: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> io::Result<R::Response> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, R::header_version(version))
        .map_err(protocol_error)?;
    request.encode(&mut body, version).map_err(protocol_error)?;
    let mut frame = BytesMut::with_capacity(body.len() + 4);
    frame.put_i32(i32::try_from(body.len()).map_err(protocol_error)?);
    frame.put(body);
    stream.write_all(&frame).await?;

    let size = usize::try_from(stream.read_i32().await?).map_err(protocol_error)?;
    if size > MAX_RESPONSE_BYTES {
        return Err(protocol_error(format!("response of {size} bytes")));
    }
    let mut buf = vec![0; size];
    stream.read_exact(&mut buf).await?;
    let mut buf = Bytes::from(buf);
    let response_header = ResponseHeader::decode(&mut buf, R::Response::header_version(version))
        .map_err(protocol_error)?;
    if response_header.correlation_id != correlation_id {
        return Err(protocol_error(format!(
            "correlation id {} for request {correlation_id}",
            response_header.correlation_id
        )));
    }
    let response = R::Response::decode(&mut buf, version).map_err(protocol_error)?;
    if buf.has_remaining() {
        tracing::debug!(
            remaining = buf.remaining(),
            "trailing bytes in controller response"
        );
    }
    Ok(response)
}
