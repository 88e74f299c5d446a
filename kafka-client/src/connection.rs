//! A minimal async Kafka-protocol client for broker-to-broker requests (follower fetches,
//! OffsetForLeaderEpoch, controlled shutdown): one TCP connection, plain or TLS, one request
//! at a time, every step bounded by a timeout. Codecs come from kafka-protocol.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::frame::{read_room, split_frame, Split};

/// Responses larger than this mean we lost track of the stream.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

fn protocol_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The TLS side of the inter-broker client: the current client configuration, which the
/// broker replaces when its certificate files change (new connections use the new one).
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<RwLock<Arc<rustls::ClientConfig>>>,
}

impl ClientTls {
    pub fn new(config: Arc<rustls::ClientConfig>) -> ClientTls {
        ClientTls {
            config: Arc::new(RwLock::new(config)),
        }
    }

    /// Makes new connections use `config`.
    pub fn replace(&self, config: Arc<rustls::ClientConfig>) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    fn current(&self) -> Arc<rustls::ClientConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The same handle (the same reloadable configuration).
impl PartialEq for ClientTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for ClientTls {}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

/// What the bytes go over.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// One connection to a broker.
#[derive(Debug)]
pub struct KafkaConnection {
    stream: Stream,
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
        Self::connect_with(host, port, client_id, timeout, None).await
    }

    /// Like [`KafkaConnection::connect`], over TLS when `tls` is given (the handshake bounded
    /// by the same timeout; the certificate is checked against `host` as the TLS
    /// configuration says).
    pub async fn connect_with(
        host: &str,
        port: u16,
        client_id: &str,
        timeout: Duration,
        tls: Option<&ClientTls>,
    ) -> io::Result<Self> {
        let connecting = async {
            let tcp = TcpStream::connect((host, port)).await?;
            tcp.set_nodelay(true)?;
            let Some(tls) = tls else {
                return Ok(Stream::Plain(tcp));
            };
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let connector = tokio_rustls::TlsConnector::from(tls.current());
            let stream = connector.connect(name, tcp).await?;
            Ok::<_, io::Error>(Stream::Tls(Box::new(stream)))
        };
        let stream = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {host}:{port}"),
                )
            })??;
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

    /// Sends `request` at `version` without reading an answer: for a request the broker does
    /// not answer (Produce with acks=0).
    pub async fn send_only<R: Request>(&mut self, request: &R, version: i16) -> io::Result<()> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.write_request(request, version))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out"))?
            .map(|_| ())
    }

    /// Frames and writes `request`; its correlation id.
    async fn write_request<R: Request>(&mut self, request: &R, version: i16) -> io::Result<i32> {
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
        // TLS may hold back what it encrypted until flushed; a no-op on plain TCP.
        self.stream.flush().await?;
        Ok(correlation_id)
    }

    async fn round_trip<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> io::Result<R::Response> {
        let correlation_id = self.write_request(request, version).await?;
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
