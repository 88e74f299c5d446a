//! A tiny blocking Kafka client over TCP, for tests that need exact control of what is sent:
//! readiness probes, specific API versions, malformed frames.
//!
//! Every request is encoded with `kafka-protocol` (no hand-written codec); framing is Kafka's
//! 4-byte big-endian size prefix. Every read and write has a timeout, so a broker that never
//! answers fails the test instead of hanging it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

/// Default bound on connecting, and on each read or write.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response frame we accept; anything bigger means we are out of sync with the stream.
const MAX_FRAME: usize = 100 * 1024 * 1024;

/// One TCP connection to a broker, speaking the Kafka protocol.
pub struct WireClient {
    stream: TcpStream,
    addr: SocketAddr,
    next_correlation_id: i32,
    client_id: Option<String>,
}

impl WireClient {
    /// Connects to `addr` ("host:port") with [`DEFAULT_TIMEOUT`] on connect, reads and writes.
    pub fn connect(addr: &str) -> io::Result<WireClient> {
        Self::connect_timeout(addr, DEFAULT_TIMEOUT)
    }

    /// Connects with `timeout` on connect and on every later read and write.
    pub fn connect_timeout(addr: &str, timeout: Duration) -> io::Result<WireClient> {
        let resolved = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{addr} resolves to nothing"),
            )
        })?;
        let stream = TcpStream::connect_timeout(&resolved, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(WireClient {
            stream,
            addr: resolved,
            next_correlation_id: 1,
            client_id: Some("wire-test-client".to_owned()),
        })
    }

    /// Sets the client id sent in request headers (`None` sends a null client id).
    pub fn with_client_id(mut self, client_id: Option<&str>) -> WireClient {
        self.client_id = client_id.map(str::to_owned);
        self
    }

    /// The broker address this client is connected to.
    pub fn peer(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `request` as `api_key` at `version` and decodes the response at the same version.
    ///
    /// Header versions come from the message types, so flexible (tagged-field) versions work.
    /// Fails if the response's correlation id does not match, or if bytes are left over after
    /// decoding (both mean the broker and the client disagree about the format).
    pub fn send<Req, Resp>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> io::Result<Resp>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let correlation_id = self.write_request(api_key, version, request)?;
        self.read_response(api_key, version, correlation_id)
    }

    /// Reads the next response frame and decodes it as the answer to the request sent with
    /// `correlation_id`; fails if it answers another one. With [`Self::pipeline`] this checks
    /// that answers come back in request order.
    pub fn read_response<Resp>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
    ) -> io::Result<Resp>
    where
        Resp: Decodable + HeaderVersion,
    {
        let mut frame = self.read_frame()?;
        let header = ResponseHeader::decode(&mut frame, Resp::header_version(version))
            .map_err(|e| invalid(format!("{api_key:?} v{version}: bad response header: {e}")))?;
        if header.correlation_id != correlation_id {
            return Err(invalid(format!(
                "{api_key:?} v{version}: correlation id {} in response, expected {correlation_id}",
                header.correlation_id
            )));
        }
        let response = Resp::decode(&mut frame, version)
            .map_err(|e| invalid(format!("{api_key:?} v{version}: bad response body: {e}")))?;
        if !frame.is_empty() {
            return Err(invalid(format!(
                "{api_key:?} v{version}: {} bytes left after decoding the response",
                frame.len()
            )));
        }
        Ok(response)
    }

    /// Sends `request` without waiting for its answer; returns the correlation id to give
    /// [`Self::answer`] later. Requests sent this way are in flight together.
    pub fn pipeline<R: Request>(&mut self, version: i16, request: &R) -> io::Result<i32> {
        let api_key = ApiKey::try_from(R::KEY)
            .map_err(|()| invalid(format!("unknown api key {}", R::KEY)))?;
        self.write_request(api_key, version, request)
    }

    /// Reads the answer to a request sent with [`Self::pipeline`] (the next frame must be it).
    pub fn answer<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> io::Result<R::Response> {
        let api_key = ApiKey::try_from(R::KEY)
            .map_err(|()| invalid(format!("unknown api key {}", R::KEY)))?;
        self.read_response(api_key, version, correlation_id)
    }

    /// [`send`](Self::send) with the API key and response type taken from the request type.
    pub fn request<R: Request>(&mut self, version: i16, request: &R) -> io::Result<R::Response> {
        let api_key = ApiKey::try_from(R::KEY)
            .map_err(|()| invalid(format!("unknown api key {}", R::KEY)))?;
        self.send(api_key, version, request)
    }

    /// ApiVersions at `version` (0 works on every broker; 3 is what modern clients send first).
    pub fn api_versions(&mut self, version: i16) -> io::Result<ApiVersionsResponse> {
        let mut request = ApiVersionsRequest::default();
        if version >= 3 {
            request = request
                .with_client_software_name(StrBytes::from_static_str("wire-test-client"))
                .with_client_software_version(StrBytes::from_static_str("0.1.0"));
        }
        self.request(version, &request)
    }

    /// Metadata v1 for all topics (v1: `None` topics = all; no auto-creation involved).
    pub fn metadata_all(&mut self) -> io::Result<MetadataResponse> {
        self.request(1, &MetadataRequest::default().with_topics(None))
    }

    /// Writes `bytes` to the socket as they are: no size prefix, no header. For malformed input.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads one size-prefixed frame and returns its body (header included, size excluded).
    pub fn read_frame(&mut self) -> io::Result<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let size = i32::from_be_bytes(size);
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= MAX_FRAME)
            .ok_or_else(|| invalid(format!("response frame size {size} is out of range")))?;
        let mut body = vec![0u8; size];
        self.stream.read_exact(&mut body)?;
        Ok(Bytes::from(body))
    }

    /// True if the broker closed the connection: a read returns end-of-stream within `within`.
    /// Data arriving instead counts as "not closed".
    pub fn is_closed_by_peer(&mut self, within: Duration) -> io::Result<bool> {
        self.stream.set_read_timeout(Some(within))?;
        let mut byte = [0u8; 1];
        let result = match self.stream.read(&mut byte) {
            Ok(0) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        };
        self.stream.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
        result
    }

    /// Encodes header + body into one frame and writes it; returns the correlation id used.
    fn write_request<Req>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> io::Result<i32>
    where
        Req: Encodable + HeaderVersion,
    {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_frame(
            api_key,
            version,
            correlation_id,
            self.client_id.as_deref(),
            request,
        )?;
        self.stream.write_all(&frame)?;
        Ok(correlation_id)
    }
}

/// One request frame as a client sends it: size prefix, header, body.
pub fn encode_frame<Req>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    request: &Req,
) -> io::Result<BytesMut>
where
    Req: Encodable + HeaderVersion,
{
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(client_id.map(|c| StrBytes::from_string(c.to_owned())));

    let mut buf = BytesMut::new();
    // Placeholder for the size, patched once the frame is encoded.
    buf.extend_from_slice(&[0; 4]);
    header
        .encode(&mut buf, Req::header_version(version))
        .map_err(|e| invalid(format!("{api_key:?} v{version}: cannot encode header: {e}")))?;
    request.encode(&mut buf, version).map_err(|e| {
        invalid(format!(
            "{api_key:?} v{version}: cannot encode request: {e}"
        ))
    })?;
    let size = i32::try_from(buf.len() - 4)
        .map_err(|_| invalid(format!("{api_key:?} request too large")))?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl WireClient {
    /// Asks for `topic` (auto-creating it) until every partition has a leader, or `timeout`
    /// passes. Auto-creation goes through ZooKeeper and the controller, so the first answers
    /// say LEADER_NOT_AVAILABLE.
    pub fn wait_for_leader(&mut self, topic: &str, timeout: Duration) -> io::Result<()> {
        use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
        use kafka_protocol::messages::TopicName;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let req = MetadataRequest::default()
                .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                    TopicName(StrBytes::from_string(topic.to_string())),
                ))]))
                .with_allow_auto_topic_creation(true);
            let resp = self.request(9, &req)?;
            let ready = resp.topics.iter().any(|t| {
                t.error_code == 0
                    && !t.partitions.is_empty()
                    && t.partitions
                        .iter()
                        .all(|p| p.error_code == 0 && p.leader_id.0 >= 0)
            });
            if ready {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("topic {topic} never got a leader: {resp:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
