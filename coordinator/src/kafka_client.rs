//! A minimal async Kafka-protocol client for broker-to-broker requests (follower fetches,
//! OffsetForLeaderEpoch, controlled shutdown): one TCP connection, one request at a time,
//! every step bounded by a timeout. Codecs come from kafka-protocol.

use std::io;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::frame::{read_room, split_frame, Split};

/// Responses larger than this mean we lost track of the stream.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

fn protocol_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// One connection to a broker.
#[derive(Debug)]
pub struct KafkaConnection {
    stream: TcpStream,
    client_id: String,
    next_correlation_id: i32,
    timeout: Duration,
    /// Bytes read but not yet returned as a response.
    pending: BytesMut,
}

impl KafkaConnection {
    /// Connects to `host:port`; `timeout` bounds the connect and every later request.
    pub async fn connect(
        host: &str,
        port: u16,
        client_id: &str,
        timeout: Duration,
    ) -> io::Result<Self> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {host}:{port}"),
                )
            })??;
        stream.set_nodelay(true)?;
        Ok(KafkaConnection {
            stream,
            client_id: client_id.to_string(),
            next_correlation_id: 0,
            timeout,
            pending: BytesMut::new(),
        })
    }

    /// Replaces the bound on each request (the connect timeout by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `request` at `version` and waits (bounded) for its response.
    pub async fn request<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> io::Result<R::Response> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.round_trip(request, version))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out"))?
    }

    async fn round_trip<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> io::Result<R::Response> {
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let correlation_id = self.next_correlation_id;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        header
            .encode(&mut frame, R::header_version(version))
            .map_err(protocol_error)?;
        request
            .encode(&mut frame, version)
            .map_err(protocol_error)?;
        let size = i32::try_from(frame.len() - 4).map_err(protocol_error)?;
        frame[0..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&frame).await?;

        let mut buf = self.read_frame().await?;
        let response_header =
            ResponseHeader::decode(&mut buf, R::Response::header_version(version))
                .map_err(protocol_error)?;
        if response_header.correlation_id != correlation_id {
            return Err(protocol_error(format!(
                "correlation id {} for request {correlation_id}",
                response_header.correlation_id
            )));
        }
        let response = R::Response::decode(&mut buf, version).map_err(protocol_error)?;
        if buf.has_remaining() {
            tracing::debug!(remaining = buf.remaining(), "trailing bytes in response");
        }
        Ok(response)
    }

    /// The next response frame. What the socket holds is read in one go into `pending` (not
    /// a zero-filled buffer of the announced size, then exactly that), so a small response
    /// costs one `recv`.
    async fn read_frame(&mut self) -> io::Result<Bytes> {
        loop {
            let want = match split_frame(&mut self.pending, MAX_RESPONSE_BYTES) {
                Ok(Split::Frame(frame)) => return Ok(frame),
                Ok(Split::Need(n)) => read_room(n, self.pending.len()),
                Err(e) => return Err(protocol_error(e)),
            };
            self.pending.reserve(want);
            if self.stream.read_buf(&mut self.pending).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before the whole response",
                ));
            }
        }
    }
}
