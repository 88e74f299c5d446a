//! One client connection: the only code that reads and writes frames on a socket.
//!
//! A frame is a 4-byte big-endian size followed by that many bytes. The size is checked
//! against `socket.request.max.bytes` before anything is allocated. Requests on one
//! connection are handled one at a time, so responses go out in request order, as Kafka
//! guarantees; other connections are separate tasks and never wait on this one.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::api::{self, Outcome};
use crate::context::{Broker, RequestContext};

/// Why reading a frame stopped.
enum ReadEnd {
    /// The peer closed the connection between frames.
    Closed,
    /// The connection must be dropped (oversized, negative size, I/O error).
    Fatal(String),
}

async fn read_frame(stream: &mut TcpStream, max: usize) -> Result<BytesMut, ReadEnd> {
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size).await {
        Ok(_) => {}
        // A peer that goes away between requests is the normal end of a connection.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            return Err(ReadEnd::Closed)
        }
        Err(e) => return Err(ReadEnd::Fatal(format!("read error: {e}"))),
    }
    let size = i32::from_be_bytes(size);
    if size < 0 {
        return Err(ReadEnd::Fatal(format!("negative frame size {size}")));
    }
    let size = size as usize;
    if size > max {
        return Err(ReadEnd::Fatal(format!(
            "frame of {size} bytes exceeds socket.request.max.bytes ({max})"
        )));
    }
    // Read straight into spare capacity: zero-filling the buffer first would touch every
    // byte of every request twice.
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let mut limited = (&mut *stream).take((size - buf.len()) as u64);
        match limited.read_buf(&mut buf).await {
            Ok(0) => return Err(ReadEnd::Fatal("truncated frame: peer closed".into())),
            Ok(_) => {}
            Err(e) => return Err(ReadEnd::Fatal(format!("truncated frame: {e}"))),
        }
    }
    Ok(buf)
}

/// Serves one connection until the peer closes it, it misbehaves, or shutdown begins. A
/// request already being handled when shutdown begins is finished and answered.
pub async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    listener: Arc<str>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let max = broker.config.socket_request_max_bytes;
    let client_host = format!("/{}", peer.ip());
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut stream, max) => f,
            _ = shutdown.cancelled() => break,
        };
        let frame = match frame {
            Ok(f) => f.freeze(),
            Err(ReadEnd::Closed) => break,
            Err(ReadEnd::Fatal(reason)) => {
                info!(%peer, reason, "closing connection");
                break;
            }
        };
        let ctx = RequestContext {
            broker: &broker,
            listener: &listener,
            client_id: "",
            client_host: &client_host,
        };
        match api::handle(ctx, frame).await {
            Outcome::Respond(buf) => {
                // The frame is complete in one buffer: one write, no extra copy.
                if let Err(e) = stream.write_all(&buf).await {
                    debug!(%peer, error = %e, "write failed");
                    break;
                }
            }
            Outcome::NoResponse => {}
            Outcome::Close(reason) => {
                info!(%peer, reason, "closing connection after bad request");
                break;
            }
        }
    }
}
