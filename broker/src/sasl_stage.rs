//! The SASL stage of a connection on a SASL_PLAINTEXT / SASL_SSL listener: the client must
//! authenticate before any other request is served (Kafka's `SaslServerAuthenticator`).
//!
//! ```text
//!   AwaitHandshake --SaslHandshake(enabled mechanism)--> Exchange --mechanism done--> authenticated
//!        | ApiVersions: answered, stay                       | SaslAuthenticate (v1 handshake) or
//!        | unknown mechanism: UNSUPPORTED_SASL_MECHANISM,    |   a raw size-prefixed token (v0)
//!        |   then close                                      | failure: SASL_AUTHENTICATION_FAILED
//!        | any other request: close                          |   (v1; v0 has no framing), then close
//! ```
//!
//! Requests here are strictly one at a time (a client waits for each answer), so frames are
//! read exactly (size, then body) and nothing is read ahead of the serving stage. Every frame's
//! size is checked against `sasl.server.max.receive.size` before anything is allocated, and
//! the whole stage must finish within [`AUTHENTICATION_TIMEOUT`]: Kafka only bounds it by
//! `connections.max.idle.ms` (10 minutes), which lets an idle or trickling client hold a
//! connection and its buffers that long without ever authenticating.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::ResponseError;
use sasl::{Mechanism, ServerMechanism, ServerStep};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::api::{encode_response, versions, Outcome};
use crate::config::ListenerSasl;
use crate::context::{Broker, Session};

/// How long a client has from connecting to completing authentication. Generous for any
/// real client (SCRAM's key derivation is milliseconds); a client that has not finished by
/// then is cut off.
pub const AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection leaves the SASL stage without a session.
#[derive(Debug)]
pub enum StageEnd {
    /// The peer closed the connection (or shutdown began): nothing to report.
    Closed,
    /// Refused; the reason is logged with the close.
    Refused(String),
}

/// The authenticated user's session once the exchange succeeds; `None` on a listener without
/// SASL (the transport's session stands).
pub async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    broker: &Broker,
    listener: &str,
    shutdown: &CancellationToken,
) -> Result<Option<Session>, StageEnd> {
    let Some(sasl) = broker.config.sasl.listener(listener) else {
        return Ok(None);
    };
    let mut stage = Stage {
        stream,
        sasl,
        store: broker.credentials.store(listener),
        max_receive: broker.config.sasl.max_receive_size,
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout(AUTHENTICATION_TIMEOUT, stage.run()) => r.unwrap_or_else(|_| {
            Err(StageEnd::Refused(format!(
                "SASL authentication not completed within {AUTHENTICATION_TIMEOUT:?}"
            )))
        }),
        _ = shutdown.cancelled() => return Err(StageEnd::Closed),
    };
    let user = match outcome {
        Ok(user) => user,
        Err(end) => {
            close_gently(stream).await;
            return Err(end);
        }
    };
    tracing::debug!(%peer, user, "SASL authentication succeeded");
    Ok(Some(Session {
        principal: format!("User:{user}"),
        host: crate::auth::java_host_address(peer.ip()),
    }))
}

struct Stage<'a, S> {
    stream: &'a mut S,
    sasl: &'a ListenerSasl,
    store: Arc<dyn sasl::CredentialStore>,
    max_receive: usize,
}

/// A request read in the stage: its header fields and body.
struct Request {
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: Bytes,
}

fn refused(reason: impl Into<String>) -> StageEnd {
    StageEnd::Refused(reason.into())
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stage<'_, S> {
    /// Runs the stage to the authenticated user name.
    async fn run(&mut self) -> Result<String, StageEnd> {
        let (mechanism, framed) = self.handshake().await?;
        let mut server = sasl::server(mechanism, self.store.clone());
        if framed {
            self.framed_exchange(server.as_mut()).await
        } else {
            self.raw_exchange(server.as_mut()).await
        }
    }

    /// Answers ApiVersions until a SaslHandshake names an enabled mechanism; returns it and
    /// whether the exchange is framed in SaslAuthenticate (handshake v1) or raw (v0).
    async fn handshake(&mut self) -> Result<(Mechanism, bool), StageEnd> {
        loop {
            let request = self.read_request().await?;
            match request.api_key {
                ApiKey::ApiVersions => self.api_versions(request).await?,
                ApiKey::SaslHandshake => return self.sasl_handshake(request).await,
                other => {
                    return Err(refused(format!(
                        "unexpected {other:?} request during SASL handshake"
                    )))
                }
            }
        }
    }

    async fn api_versions(&mut self, mut r: Request) -> Result<(), StageEnd> {
        let outcome = if versions::is_supported(ApiKey::ApiVersions, r.version) {
            ApiVersionsRequest::decode(&mut r.body, r.version)
                .map_err(|e| refused(format!("malformed ApiVersions request: {e}")))?;
            encode_response(
                ApiKey::ApiVersions,
                r.version,
                r.correlation_id,
                &versions::handle(),
            )
        } else {
            versions::unsupported_version_response(r.correlation_id)
        };
        self.send(outcome).await
    }

    async fn sasl_handshake(&mut self, mut r: Request) -> Result<(Mechanism, bool), StageEnd> {
        let request = SaslHandshakeRequest::decode(&mut r.body, r.version)
            .map_err(|e| refused(format!("malformed SaslHandshake request: {e}")))?;
        let enabled: Vec<StrBytes> = self
            .sasl
            .mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.name()))
            .collect();
        let chosen = Mechanism::from_name(request.mechanism.as_str())
            .filter(|m| self.sasl.mechanisms.contains(m));
        let code = match chosen {
            Some(_) => 0,
            None => ResponseError::UnsupportedSaslMechanism.code(),
        };
        let response = SaslHandshakeResponse::default()
            .with_error_code(code)
            .with_mechanisms(enabled);
        self.send(encode_response(
            ApiKey::SaslHandshake,
            r.version,
            r.correlation_id,
            &response,
        ))
        .await?;
        match chosen {
            Some(m) => Ok((m, r.version >= 1)),
            None => Err(refused(format!(
                "unsupported SASL mechanism {:?}",
                request.mechanism.as_str()
            ))),
        }
    }

    /// Handshake v1: each token in a SaslAuthenticate request; a failure is answered with
    /// SASL_AUTHENTICATION_FAILED and its message before the close.
    async fn framed_exchange(
        &mut self,
        server: &mut dyn ServerMechanism,
    ) -> Result<String, StageEnd> {
        loop {
            let mut r = self.read_request().await?;
            if r.api_key != ApiKey::SaslAuthenticate {
                return Err(refused(format!(
                    "unexpected {:?} request during SASL authentication",
                    r.api_key
                )));
            }
            let request = SaslAuthenticateRequest::decode(&mut r.body, r.version)
                .map_err(|e| refused(format!("malformed SaslAuthenticate request: {e}")))?;
            let (response, result) = match server.step(&request.auth_bytes) {
                Ok(ServerStep::Challenge(c)) => (authenticate_response(c), None),
                Ok(ServerStep::Done {
                    final_message,
                    user,
                }) => (authenticate_response(final_message), Some(Ok(user))),
                Err(e) => (
                    SaslAuthenticateResponse::default()
                        .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                        .with_error_message(Some(StrBytes::from_string(e.to_string()))),
                    Some(Err(refused(e.to_string()))),
                ),
            };
            let outcome = encode_response(
                ApiKey::SaslAuthenticate,
                r.version,
                r.correlation_id,
                &response,
            );
            self.send(outcome).await?;
            if let Some(result) = result {
                return result;
            }
        }
    }

    /// Handshake v0: raw size-prefixed tokens both ways; a failure just closes.
    async fn raw_exchange(&mut self, server: &mut dyn ServerMechanism) -> Result<String, StageEnd> {
        loop {
            let token = self.read_frame().await?;
            let (reply, user) = match server.step(&token) {
                Ok(ServerStep::Challenge(c)) => (c, None),
                Ok(ServerStep::Done {
                    final_message,
                    user,
                }) => (final_message, Some(user)),
                Err(e) => return Err(refused(e.to_string())),
            };
            let mut frame = BytesMut::with_capacity(4 + reply.len());
            let size = i32::try_from(reply.len()).map_err(|_| refused("oversized token"))?;
            frame.extend_from_slice(&size.to_be_bytes());
            frame.extend_from_slice(&reply);
            self.send(Outcome::Respond(frame)).await?;
            if let Some(user) = user {
                return Ok(user);
            }
        }
    }

    /// One size-prefixed frame, its size checked before the body is allocated.
    async fn read_frame(&mut self) -> Result<Bytes, StageEnd> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(StageEnd::Closed)
            }
            Err(e) => return Err(refused(format!("read failed: {e}"))),
        }
        let size = i32::from_be_bytes(size);
        let len = usize::try_from(size)
            .ok()
            .filter(|&n| n <= self.max_receive)
            .ok_or_else(|| {
                refused(format!(
                    "SASL frame of {size} bytes (sasl.server.max.receive.size is {})",
                    self.max_receive
                ))
            })?;
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .await
            .map_err(|e| refused(format!("truncated SASL frame: {e}")))?;
        Ok(Bytes::from(body))
    }

    /// A Kafka request: a frame whose header parses; its body is left to the caller.
    async fn read_request(&mut self) -> Result<Request, StageEnd> {
        let mut frame = self.read_frame().await?;
        if frame.len() < 8 {
            return Err(refused("request too short for a header"));
        }
        let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        let api_key = ApiKey::try_from(raw_key)
            .map_err(|_| refused(format!("not a Kafka request (API key {raw_key})")))?;
        if !versions::is_supported(api_key, version) {
            if api_key == ApiKey::ApiVersions {
                // Answered in v0 by `api_versions`, without reading its newer header.
                return Ok(Request {
                    api_key,
                    version,
                    correlation_id,
                    body: Bytes::new(),
                });
            }
            return Err(refused(format!(
                "unsupported {api_key:?} version {version} during SASL authentication"
            )));
        }
        let header_version = api_key.request_header_version(version);
        RequestHeader::decode(&mut frame, header_version)
            .map_err(|e| refused(format!("malformed request header: {e}")))?;
        Ok(Request {
            api_key,
            version,
            correlation_id,
            body: frame,
        })
    }

    async fn send(&mut self, outcome: Outcome) -> Result<(), StageEnd> {
        let Outcome::Respond(buf) = outcome else {
            return Err(refused("cannot encode a SASL response"));
        };
        self.stream
            .write_all(&buf)
            .await
            .map_err(|e| refused(format!("write failed: {e}")))
    }
}

/// How long a refused connection stays open after its refusal, as Kafka delays the close of a
/// failed authentication (`connection.failed.authentication.delay.ms`, 100 ms by default).
const CLOSE_LINGER: Duration = Duration::from_millis(100);

/// Lets the client read the refusal before the close: a client reading the response and the
/// end of the stream in one wake-up may drop the response (kafka-python does), and closing
/// with unread bytes would reset the connection. What it still sends is discarded; the close
/// comes when it hangs up or after [`CLOSE_LINGER`]. This also slows down password guessing.
async fn close_gently<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let drain = async {
        let mut buf = [0u8; 4096];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
    let _ = stream.shutdown().await;
}

fn authenticate_response(token: Vec<u8>) -> SaslAuthenticateResponse {
    // Session lifetime 0: no re-authentication (KIP-368) is asked for.
    SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(token))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use bytes::{Buf, BufMut};
    use kafka_protocol::messages::{ProduceRequest, ResponseHeader};
    use kafka_protocol::protocol::{Encodable, HeaderVersion};
    use sasl::{CredentialStore, ScramCredential};
    use tokio::io::DuplexStream;

    use super::*;

    struct Alice;

    impl CredentialStore for Alice {
        fn plain_password(&self, user: &str) -> Option<String> {
            (user == "alice").then(|| "pw".to_string())
        }
        fn scram_credential(&self, _: Mechanism, _: &str) -> Option<ScramCredential> {
            None
        }
    }

    fn listener() -> ListenerSasl {
        ListenerSasl {
            mechanisms: vec![Mechanism::Plain, Mechanism::ScramSha256],
            plain_users: BTreeMap::new(),
        }
    }

    /// Runs the stage on one end of a pipe while `client` drives the other.
    async fn run_with<F, Fut>(client: F) -> Result<String, StageEnd>
    where
        F: FnOnce(DuplexStream) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let (mut server, peer) = tokio::io::duplex(1 << 16);
        let sasl = listener();
        let mut stage = Stage {
            stream: &mut server,
            sasl: &sasl,
            store: Arc::new(Alice),
            max_receive: 1024,
        };
        let (result, ()) = tokio::join!(stage.run(), client(peer));
        result
    }

    fn frame<R: Encodable + HeaderVersion>(key: ApiKey, version: i16, req: &R) -> Vec<u8> {
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(7);
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header.encode(&mut buf, R::header_version(version)).unwrap();
        req.encode(&mut buf, version).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        buf.to_vec()
    }

    async fn response<R: Decodable + HeaderVersion>(peer: &mut DuplexStream, version: i16) -> R {
        let size = peer.read_i32().await.unwrap();
        let mut body = vec![0u8; size as usize];
        peer.read_exact(&mut body).await.unwrap();
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, R::header_version(version)).unwrap();
        assert_eq!(header.correlation_id, 7);
        let r = R::decode(&mut body, version).unwrap();
        assert!(!body.has_remaining());
        r
    }

    fn handshake(mechanism: &'static str) -> SaslHandshakeRequest {
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism))
    }

    #[tokio::test]
    async fn versions_then_handshake_then_plain() {
        let result = run_with(|mut peer| async move {
            let versions = ApiVersionsRequest::default();
            peer.write_all(&frame(ApiKey::ApiVersions, 0, &versions))
                .await
                .unwrap();
            let _: kafka_protocol::messages::ApiVersionsResponse = response(&mut peer, 0).await;
            peer.write_all(&frame(ApiKey::SaslHandshake, 1, &handshake("PLAIN")))
                .await
                .unwrap();
            let hs: SaslHandshakeResponse = response(&mut peer, 1).await;
            assert_eq!(hs.error_code, 0);
            let auth = SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from_static(b"\0alice\0pw"));
            peer.write_all(&frame(ApiKey::SaslAuthenticate, 2, &auth))
                .await
                .unwrap();
            let r: SaslAuthenticateResponse = response(&mut peer, 2).await;
            assert_eq!(r.error_code, 0);
        })
        .await;
        assert_eq!(result.ok().as_deref(), Some("alice"));
    }

    #[tokio::test]
    async fn v0_exchange_is_raw_tokens() {
        let result = run_with(|mut peer| async move {
            peer.write_all(&frame(ApiKey::SaslHandshake, 0, &handshake("PLAIN")))
                .await
                .unwrap();
            let _: SaslHandshakeResponse = response(&mut peer, 0).await;
            let token = b"\0alice\0pw";
            peer.write_i32(token.len() as i32).await.unwrap();
            peer.write_all(token).await.unwrap();
            assert_eq!(peer.read_i32().await.unwrap(), 0);
        })
        .await;
        assert_eq!(result.ok().as_deref(), Some("alice"));
    }

    #[tokio::test]
    async fn refusals() {
        // Another request before authenticating.
        let r = run_with(|mut peer| async move {
            let produce = ProduceRequest::default();
            peer.write_all(&frame(ApiKey::Produce, 3, &produce))
                .await
                .unwrap();
        })
        .await;
        assert!(
            matches!(r, Err(StageEnd::Refused(ref m)) if m.contains("Produce")),
            "{r:?}"
        );
        // A disabled mechanism: answered with the enabled ones, then refused.
        let r = run_with(|mut peer| async move {
            peer.write_all(&frame(
                ApiKey::SaslHandshake,
                1,
                &handshake("SCRAM-SHA-512"),
            ))
            .await
            .unwrap();
            let hs: SaslHandshakeResponse = response(&mut peer, 1).await;
            assert_eq!(
                hs.error_code,
                ResponseError::UnsupportedSaslMechanism.code()
            );
            assert_eq!(hs.mechanisms.len(), 2);
        })
        .await;
        assert!(matches!(r, Err(StageEnd::Refused(_))), "{r:?}");
        // A wrong password: SASL_AUTHENTICATION_FAILED with the reason.
        let r = run_with(|mut peer| async move {
            peer.write_all(&frame(ApiKey::SaslHandshake, 1, &handshake("PLAIN")))
                .await
                .unwrap();
            let _: SaslHandshakeResponse = response(&mut peer, 1).await;
            let auth = SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from_static(b"\0alice\0nope"));
            peer.write_all(&frame(ApiKey::SaslAuthenticate, 1, &auth))
                .await
                .unwrap();
            let r: SaslAuthenticateResponse = response(&mut peer, 1).await;
            assert_eq!(r.error_code, ResponseError::SaslAuthenticationFailed.code());
            assert!(r.error_message.is_some());
        })
        .await;
        assert!(matches!(r, Err(StageEnd::Refused(_))), "{r:?}");
        // A frame over the limit: refused from its size alone.
        let r = run_with(|mut peer| async move {
            peer.write_i32(1 << 30).await.unwrap();
        })
        .await;
        assert!(
            matches!(r, Err(StageEnd::Refused(ref m)) if m.contains("max.receive")),
            "{r:?}"
        );
        // The peer hanging up.
        let r = run_with(|peer| async move { drop(peer) }).await;
        assert!(matches!(r, Err(StageEnd::Closed)), "{r:?}");
    }
}
