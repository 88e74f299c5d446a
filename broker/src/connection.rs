//! One client connection: the only code that reads and writes frames on a socket.
//!
//! A frame is a 4-byte big-endian size followed by that many bytes. The size is checked
//! against `socket.request.max.bytes` before anything is allocated.
//!
//! Requests on one connection are handled in arrival order, one at a time, but a request that
//! only waits (a long-poll Fetch, an acks=-1 Produce) does not hold up the ones behind it:
//! the reading side hands its [`Reply`] to the writing side and goes on with the next request,
//! up to [`MAX_IN_FLIGHT`] ahead. The writing side answers strictly in request order, as Kafka
//! guarantees. Other connections are separate tasks and never wait on this one.

use std::net::SocketAddr;
use std::sync::Arc;

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::api::{self, Outcome, Part, Reply};

/// Requests read ahead of the one being answered. Bounds the memory a client can pin with
/// pipelined requests (each up to `socket.request.max.bytes`).
const MAX_IN_FLIGHT: usize = 16;
use crate::context::{Broker, RequestContext};

/// Why reading a frame stopped.
enum ReadEnd {
    /// The peer closed the connection between frames.
    Closed,
    /// The connection must be dropped (oversized, negative size, I/O error).
    Fatal(String),
}

async fn read_frame<R: AsyncRead + Unpin>(stream: &mut R, max: usize) -> Result<BytesMut, ReadEnd> {
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

/// Writes `parts` back to back: runs of encoded bytes with vectored writes, log slices (the
/// records of a Fetch response) with `sendfile`, from the page cache straight to the socket.
async fn write_parts(writer: &mut OwnedWriteHalf, parts: &[Part]) -> std::io::Result<()> {
    let mut rest = parts;
    while let Some(first) = rest.first() {
        match first {
            Part::Log(slice) => {
                if let Some((file, pos, len)) = slice.region() {
                    send_file(writer.as_ref(), file, pos, len).await?;
                }
                rest = &rest[1..];
            }
            Part::Bytes(_) => {
                let run = rest
                    .iter()
                    .position(|p| matches!(p, Part::Log(_)))
                    .unwrap_or(rest.len());
                let mut bytes = rest[..run].iter().filter_map(|p| match p {
                    Part::Bytes(b) => Some(b),
                    Part::Log(_) => None,
                });
                if run < rest.len() {
                    // Records follow: MSG_MORE holds these bytes back to go out with them,
                    // instead of as a small segment of their own (with TCP_NODELAY) that
                    // wakes the reader once more per response.
                    for b in bytes {
                        send_more(writer.as_ref(), b).await?;
                    }
                } else {
                    write_vectored_all(writer, &mut bytes).await?;
                }
                rest = &rest[run..];
            }
        }
    }
    Ok(())
}

async fn write_vectored_all<'a>(
    writer: &mut OwnedWriteHalf,
    parts: impl Iterator<Item = &'a Bytes>,
) -> std::io::Result<()> {
    // Empty parts are left out: a write of nothing returns 0, which would read as a failure.
    let mut slices: Vec<IoSlice<'_>> = parts
        .filter(|p| !p.is_empty())
        .map(|p| IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = writer.write_vectored(rest).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

/// Sends all of `buf` flagged MSG_MORE (more data follows at once).
async fn send_more(stream: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            match rustix::net::send(stream, buf, rustix::net::SendFlags::MORE) {
                Err(rustix::io::Errno::INTR) => Ok(0),
                other => other.map_err(std::io::Error::from),
            }
        });
        match sent {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends `len` bytes of `file` from `pos` with `sendfile`, waiting whenever the socket's
/// buffer is full. A file that ends early (truncated since it was read) is an error: the
/// frame's size has been sent already, so the connection must be dropped.
async fn send_file(
    stream: &TcpStream,
    file: &std::fs::File,
    mut pos: u64,
    len: usize,
) -> std::io::Result<()> {
    let end = pos + len as u64;
    while pos < end {
        stream.writable().await?;
        let remaining = (end - pos) as usize;
        let sent = stream.try_io(Interest::WRITABLE, || {
            match rustix::fs::sendfile(stream, file, Some(&mut pos), remaining) {
                Err(rustix::io::Errno::INTR) => Ok(None),
                other => other.map(Some).map_err(std::io::Error::from),
            }
        });
        match sent {
            Ok(Some(0)) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "log segment ended before the fetched slice (truncated meanwhile)",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Serves one connection until the peer closes it, it misbehaves, or shutdown begins. Requests
/// already read when shutdown begins are finished and answered.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    listener: Arc<str>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let max = broker.config.socket_request_max_bytes;
    let client_host = format!("/{}", peer.ip());
    let ctx = RequestContext {
        broker: &broker,
        listener: &listener,
        client_id: "",
        client_host: &client_host,
    };
    let (replies, answers) = mpsc::channel::<Reply<'_>>(MAX_IN_FLIGHT);

    let read_side = async {
        // Owned here so that the writing side sees the end of the stream when reading stops.
        let replies = replies;
        loop {
            let frame = tokio::select! {
                f = read_frame(&mut reader, max) => f,
                _ = shutdown.cancelled() => break,
                // The writing side stopped (peer gone, or a bad request to close on).
                _ = replies.closed() => break,
            };
            let frame = match frame {
                Ok(f) => f.freeze(),
                Err(ReadEnd::Closed) => break,
                Err(ReadEnd::Fatal(reason)) => {
                    info!(%peer, reason, "closing connection");
                    break;
                }
            };
            let reply = api::handle(ctx, frame).await;
            let closing = matches!(reply, Reply::Now(Outcome::Close(_)));
            // Fails only when the writing side has stopped (the peer is gone).
            if replies.send(reply).await.is_err() || closing {
                break;
            }
        }
    };

    let write_side = async {
        // Owned here so that the reading side sees the end when writing stops.
        let mut answers = answers;
        while let Some(reply) = answers.recv().await {
            let outcome = match reply {
                Reply::Now(outcome) => outcome,
                Reply::Later(wait) => wait.await,
            };
            match outcome {
                Outcome::Respond(buf) => {
                    // The frame is complete in one buffer: one write, no extra copy.
                    if let Err(e) = writer.write_all(&buf).await {
                        debug!(%peer, error = %e, "write failed");
                        return;
                    }
                }
                Outcome::RespondParts(parts) => {
                    if let Err(e) = write_parts(&mut writer, &parts).await {
                        debug!(%peer, error = %e, "write failed");
                        return;
                    }
                }
                Outcome::NoResponse => {}
                Outcome::Close(reason) => {
                    info!(%peer, reason, "closing connection after bad request");
                    return;
                }
            }
        }
    };

    // Neither side is cancelled by the other: a request being handled always completes (its
    // effects, e.g. a topic creation, are never cut in half); what is left unanswered when the
    // writing side stops is only waiting.
    tokio::join!(read_side, write_side);
}
