//! One client connection: the only code that reads and writes frames on a socket.
//!
//! Frames are read by [`FrameReader`] (see `frame.rs`).
//!
//! Requests on one connection are handled in arrival order, one at a time, but a request that
//! only waits (a long-poll Fetch, an acks=-1 Produce) does not hold up the ones behind it:
//! the reading side hands its [`Reply`] to the writing side and goes on with the next request,
//! up to [`MAX_IN_FLIGHT`] ahead. The writing side answers strictly in request order, as Kafka
//! guarantees. Other connections are separate tasks and never wait on this one.
//!
//! The transport is a [`ReadHalf`] and a [`ResponseWriter`]: plain TCP (vectored writes,
//! `sendfile` for log slices), or TLS on SSL and SASL_SSL listeners, whose handshake runs
//! first, in this connection's task (see `crate::tls`).

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use bytes::Bytes;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::api::{self, Outcome, Part, Reply};
use crate::context::{Broker, RequestContext, Session};
use crate::frame::{FrameReader, ReadEnd, ReadHalf};
use crate::log_throttle::{LogThrottle, DEFAULT_INTERVAL};
use crate::sasl_stage::{self, StageEnd};

/// Connections closed on a bad request or a broken frame: a client can cause one line per
/// request, as fast as it reconnects, so at most one per interval is logged at info (each one
/// at debug).
static CLOSES: LogThrottle = LogThrottle::new(DEFAULT_INTERVAL);

fn log_close(peer: SocketAddr, reason: &str) {
    debug!(%peer, reason, "closing connection");
    if let Some(skipped) = CLOSES.admit() {
        info!(
            %peer,
            reason,
            skipped,
            "closing connection (at most one such line per \
             {DEFAULT_INTERVAL:?}; `skipped` counts those left out before this one)"
        );
    }
}

/// Requests read ahead of the one being answered. Bounds the memory a client can pin with
/// pipelined requests (each up to `socket.request.max.bytes`).
const MAX_IN_FLIGHT: usize = 16;

/// Where a connection's responses go.
pub trait ResponseWriter: Send {
    /// Writes one response held in one buffer.
    fn write_frame(&mut self, buf: &[u8]) -> impl Future<Output = std::io::Result<()>> + Send;
    /// Writes one response made of parts, in order.
    fn write_parts(&mut self, parts: &[Part]) -> impl Future<Output = std::io::Result<()>> + Send;
}

impl ResponseWriter for OwnedWriteHalf {
    async fn write_frame(&mut self, buf: &[u8]) -> std::io::Result<()> {
        // The frame is complete in one buffer: one write, no extra copy.
        self.write_all(buf).await
    }

    async fn write_parts(&mut self, parts: &[Part]) -> std::io::Result<()> {
        write_parts(self, parts).await
    }
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

/// Runs the non-blocking write `op` once the socket is writable: again after EINTR, and
/// again after waiting whenever the socket turns out full. Returns what `op` wrote.
async fn write_when_ready(
    stream: &TcpStream,
    mut op: impl FnMut() -> rustix::io::Result<usize>,
) -> std::io::Result<usize> {
    loop {
        stream.writable().await?;
        let written = stream.try_io(Interest::WRITABLE, || loop {
            match op() {
                Err(rustix::io::Errno::INTR) => continue,
                other => return other.map_err(std::io::Error::from),
            }
        });
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// Sends all of `buf` flagged MSG_MORE (more data follows at once).
async fn send_more(stream: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = write_when_ready(stream, || {
            rustix::net::send(stream, buf, rustix::net::SendFlags::MORE)
        })
        .await?;
        buf = &buf[n..];
    }
    Ok(())
}

/// Sends `len` bytes of `file` from `pos` with `sendfile`. A file that ends early (truncated
/// since it was read) is an error: the frame's size has been sent already, so the connection
/// must be dropped.
async fn send_file(
    stream: &TcpStream,
    file: &std::fs::File,
    mut pos: u64,
    len: usize,
) -> std::io::Result<()> {
    let end = pos + len as u64;
    while pos < end {
        let n = write_when_ready(stream, || {
            let remaining = (end - pos) as usize;
            rustix::fs::sendfile(stream, file, Some(&mut pos), remaining)
        })
        .await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "log segment ended before the fetched slice (truncated meanwhile)",
            ));
        }
    }
    Ok(())
}

/// Serves one connection until the peer closes it, it misbehaves, or shutdown begins. Requests
/// already read when shutdown begins are finished and answered. The connection's life: on a
/// TLS listener the handshake (bounded in time; a failed one just closes the connection), on
/// a SASL listener the authentication ([`sasl_stage`]), then serving.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    listener: Arc<str>,
    tls: Option<Arc<crate::tls::ListenerTls>>,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let Some(tls) = tls else {
        let mut stream = stream;
        let transport = Session::anonymous(peer.ip());
        let Some(session) =
            authenticate(&mut stream, transport, peer, &broker, &listener, &shutdown).await
        else {
            return;
        };
        let (reader, writer) = stream.into_split();
        return serve_on(reader, writer, session, peer, broker, listener, shutdown).await;
    };
    let accepted = tokio::select! {
        a = tls.accept(stream, peer.ip()) => a,
        _ = shutdown.cancelled() => return,
    };
    let (mut stream, transport) = match accepted {
        Ok(accepted) => accepted,
        Err(e) => return log_close(peer, &e.to_string()),
    };
    debug!(%peer, principal = %transport.principal, "TLS handshake done");
    let Some(session) =
        authenticate(&mut stream, transport, peer, &broker, &listener, &shutdown).await
    else {
        return;
    };
    let (reader, writer) = tokio::io::split(stream);
    let writer = crate::tls::write::TlsWriter::new(writer);
    serve_on(reader, writer, session, peer, broker, listener, shutdown).await
}

/// On a SASL listener, the SASL exchange, whose user becomes the principal; elsewhere the
/// transport's session (ANONYMOUS, or a TLS client certificate's name) stays. `None`: the
/// connection ends here (refused, closed, or shutdown).
async fn authenticate<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    transport: Session,
    peer: SocketAddr,
    broker: &Broker,
    listener: &str,
    shutdown: &CancellationToken,
) -> Option<Session> {
    match sasl_stage::session(stream, peer, broker, listener, shutdown).await {
        Ok(Some(session)) => Some(session),
        Ok(None) => Some(transport),
        Err(StageEnd::Closed) => None,
        Err(StageEnd::Refused(reason)) => {
            log_close(peer, &reason);
            None
        }
    }
}

/// Serves requests over an established, authenticated transport, as `session`.
async fn serve_on<R: ReadHalf, W: ResponseWriter>(
    reader: R,
    mut writer: W,
    session: Session,
    peer: SocketAddr,
    broker: Arc<Broker>,
    listener: Arc<str>,
    shutdown: CancellationToken,
) {
    let mut reader = FrameReader::new(reader, broker.config.socket_request_max_bytes);
    let client_host = format!("/{}", peer.ip());
    let ctx = RequestContext {
        broker: &broker,
        listener: &listener,
        session: &session,
        client_id: "",
        client_host: &client_host,
    };
    let queue = Handoff::default();
    // Cancelled when shutdown begins or when the writing side stops (peer gone, or a bad
    // request to close on): the reading side then reads no more.
    let stop_reading = shutdown.child_token();

    let read_side = async {
        'reading: loop {
            while queue.is_full() {
                tokio::select! {
                    biased;
                    _ = stop_reading.cancelled() => break 'reading,
                    _ = queue.room.notified() => {}
                }
            }
            let frame = tokio::select! {
                biased;
                _ = stop_reading.cancelled() => break,
                f = reader.next() => f,
            };
            let frame = match frame {
                Ok(f) => f,
                Err(ReadEnd::Closed) => break,
                Err(ReadEnd::Fatal(reason)) => {
                    log_close(peer, &reason);
                    break;
                }
            };
            let reply = api::handle(ctx, frame).await;
            let closing = matches!(reply, Reply::Now(Outcome::Close(_)));
            queue.push(reply);
            if closing || stop_reading.is_cancelled() {
                break;
            }
        }
        queue.reading_done.store(true, Ordering::Relaxed);
    };

    let write_side = async {
        loop {
            let Some(reply) = queue.pop() else {
                if queue.reading_done() {
                    break;
                }
                // Nothing to answer yet. No waker is needed: whatever puts a reply in the
                // queue is the reading side, which is polled before this side (see below).
                yield_once().await;
                continue;
            };
            let outcome = match reply {
                Reply::Now(outcome) => outcome,
                Reply::Later(wait) => wait.await,
            };
            let written = match outcome {
                Outcome::Respond(buf) => writer.write_frame(&buf).await,
                Outcome::RespondParts(parts) => writer.write_parts(&parts).await,
                Outcome::NoResponse => Ok(()),
                Outcome::Close(reason) => {
                    log_close(peer, &reason);
                    break;
                }
            };
            if let Err(e) = written {
                debug!(%peer, error = %e, "write failed");
                break;
            }
        }
        stop_reading.cancel();
    };

    // Both sides in this one task, polled in a fixed order: reading first, then writing. A
    // reply the reading side queues is thus picked up by the writing side in the same poll,
    // without waking the task. (Waking a task from inside its own poll reschedules it as a
    // yield, which wakes an idle runtime worker to steal it: a futex wake-up and back to
    // sleep per request, the largest CPU cost at a few thousand requests per second.)
    // Neither side is cancelled by the other: a request being handled always completes (its
    // effects, e.g. a topic creation, are never cut in half); what is left unanswered when the
    // writing side stops is only waiting.
    let mut read_side = pin!(read_side);
    let mut write_side = pin!(write_side);
    let (mut read_done, mut write_done) = (false, false);
    poll_fn(|cx| {
        if !read_done {
            read_done = read_side.as_mut().poll(cx).is_ready();
        }
        if !write_done {
            write_done = write_side.as_mut().poll(cx).is_ready();
        }
        if read_done && write_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Replies from the reading side to the writing side, in request order. Both sides run in
/// the connection's task, so the lock is never contended; it is there because the task may
/// move between runtime threads.
#[derive(Default)]
struct Handoff<'a> {
    replies: Mutex<VecDeque<Reply<'a>>>,
    /// Signalled by the writing side when it takes a reply from a full queue.
    room: Notify,
    reading_done: AtomicBool,
}

impl<'a> Handoff<'a> {
    fn replies(&self) -> MutexGuard<'_, VecDeque<Reply<'a>>> {
        self.replies.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_full(&self) -> bool {
        self.replies().len() >= MAX_IN_FLIGHT
    }

    fn push(&self, reply: Reply<'a>) {
        self.replies().push_back(reply);
    }

    fn pop(&self) -> Option<Reply<'a>> {
        let mut replies = self.replies();
        let was_full = replies.len() >= MAX_IN_FLIGHT;
        let reply = replies.pop_front();
        drop(replies);
        if was_full {
            self.room.notify_one();
        }
        reply
    }

    fn reading_done(&self) -> bool {
        self.reading_done.load(Ordering::Relaxed)
    }
}

/// Pending once, then ready: lets the other side of the connection run.
async fn yield_once() {
    let mut yielded = false;
    poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await
}
