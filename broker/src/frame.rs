//! Reading request frames off a client connection.
//!
//! A frame is a 4-byte big-endian size followed by that many bytes (`kafka_client::frame`).
//! The size is checked against `socket.request.max.bytes` before anything is allocated for
//! the body.
//!
//! Whatever the socket holds is read in one `recv` (the rest of a frame, and the start of the
//! next when a client pipelines), into a buffer that a large frame is then split from without
//! a copy (a small one is copied out, to its own size).
//! A small request thus costs one `recv`: reading the size and then the body exactly took two,
//! and as both filled their buffers the socket still looked readable, so a third `recv`
//! found it empty. (A read that comes back short tells the runtime the socket is drained.)
//! An idle connection holds no buffer: one is reserved only once the socket is readable.
//! (On TLS that cannot be known without reading: the TLS stream holds buffers of its own
//! anyway, so an idle TLS connection holds one read buffer too.)

use std::future::Future;

use bytes::{Bytes, BytesMut};
use kafka_client::frame::{read_room, split_frame, FrameError, Split, READ_CHUNK};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::tcp::OwnedReadHalf;

/// The reading half of a connection: plain TCP, or the plaintext side of a TLS stream.
pub trait ReadHalf: AsyncRead + Unpin + Send {
    /// Waits until a read would find bytes, where the transport can tell without reading
    /// (so an idle connection need not hold a buffer); at once otherwise.
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send {
        std::future::ready(Ok(()))
    }
}

impl ReadHalf for OwnedReadHalf {
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send {
        OwnedReadHalf::readable(self)
    }
}

impl<S: AsyncRead + tokio::io::AsyncWrite + Send + Unpin> ReadHalf
    for tokio::io::ReadHalf<tokio_rustls::server::TlsStream<S>>
{
}

/// Why reading a frame stopped.
#[derive(Debug)]
pub enum ReadEnd {
    /// The peer closed the connection between frames.
    Closed,
    /// The connection must be dropped (oversized, negative size, truncated, I/O error).
    Fatal(String),
}

pub struct FrameReader<R = OwnedReadHalf> {
    half: R,
    /// Bytes read but not yet returned: the start of the next frame, if any.
    pending: BytesMut,
    max: usize,
}

impl<R: ReadHalf> FrameReader<R> {
    pub fn new(half: R, max: usize) -> FrameReader<R> {
        FrameReader {
            half,
            pending: BytesMut::new(),
            max,
        }
    }

    /// The next frame's body. Cancel-safe: what was read stays buffered for the next call.
    pub async fn next(&mut self) -> Result<Bytes, ReadEnd> {
        loop {
            let want = match split_frame(&mut self.pending, self.max) {
                Ok(Split::Frame(frame)) => {
                    // A small frame gets an allocation of its own size: one split off the
                    // read buffer would keep all READ_CHUNK bytes alive for as long as its
                    // request is handled (an acks=-1 Produce waits for replication).
                    let frame = if frame.len() < READ_CHUNK / 2 {
                        Bytes::copy_from_slice(&frame)
                    } else {
                        frame
                    };
                    if self.pending.is_empty() {
                        // Nothing of the next frame yet: hold no buffer while idle.
                        self.pending = BytesMut::new();
                    }
                    return Ok(frame);
                }
                Ok(Split::Need(n)) => read_room(n, self.pending.len()),
                Err(FrameError::TooLarge { size, max }) => {
                    return Err(ReadEnd::Fatal(format!(
                        "frame of {size} bytes exceeds socket.request.max.bytes ({max})"
                    )))
                }
                Err(e) => return Err(ReadEnd::Fatal(e.to_string())),
            };
            if self.pending.is_empty() {
                self.half.readable().await.map_err(|e| self.read_error(e))?;
            }
            self.pending.reserve(want);
            match self.half.read_buf(&mut self.pending).await {
                Ok(0) if self.pending.is_empty() => return Err(ReadEnd::Closed),
                Ok(0) => return Err(ReadEnd::Fatal("truncated frame: peer closed".into())),
                Ok(_) => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    fn read_error(&self, e: std::io::Error) -> ReadEnd {
        // A peer that goes away between requests is the normal end of a connection.
        let between_frames = self.pending.is_empty();
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                if between_frames =>
            {
                ReadEnd::Closed
            }
            _ if between_frames => ReadEnd::Fatal(format!("read error: {e}")),
            _ => ReadEnd::Fatal(format!("truncated frame: {e}")),
        }
    }

    /// Bytes of buffer held between calls (for tests: none while idle).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.pending.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::tcp::OwnedWriteHalf;
    use tokio::net::{TcpListener, TcpStream};

    /// A reader on the server side of a loopback connection, the client side to write to, and
    /// the server's write half (dropping it would shut the socket down).
    async fn pair(max: usize) -> (FrameReader, TcpStream, OwnedWriteHalf) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let (read, write) = server.into_split();
        (FrameReader::new(read, max), client, write)
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    #[tokio::test]
    async fn pipelined_frames_written_at_once_come_out_one_by_one() {
        let (mut reader, mut client, _w) = pair(1 << 20).await;
        let mut bytes = frame(b"first");
        bytes.extend(frame(b""));
        bytes.extend(frame(b"third one"));
        client.write_all(&bytes).await.expect("write");
        assert_eq!(&reader.next().await.expect("1")[..], b"first");
        assert_eq!(&reader.next().await.expect("2")[..], b"");
        assert_eq!(&reader.next().await.expect("3")[..], b"third one");
        assert_eq!(reader.held(), 0, "nothing pending, so no buffer held");
    }

    #[tokio::test]
    async fn a_frame_dribbled_a_byte_at_a_time_comes_out_whole() {
        let (mut reader, mut client, _w) = pair(1 << 20).await;
        let body: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let writer = tokio::spawn(async move {
            for b in frame(&body) {
                client.write_all(&[b]).await.expect("write");
                client.flush().await.expect("flush");
                tokio::task::yield_now().await;
            }
            client
        });
        let got = reader.next().await.expect("frame");
        let expected: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        assert_eq!(&got[..], &expected[..]);
        drop(writer.await.expect("writer"));
        assert!(matches!(reader.next().await, Err(ReadEnd::Closed)));
    }

    #[tokio::test]
    async fn a_frame_larger_than_a_read_is_returned_byte_for_byte() {
        let (mut reader, mut client, _w) = pair(8 << 20).await;
        let body: Vec<u8> = (0..(3 << 20) as u32)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        let mut bytes = frame(&body);
        bytes.extend(frame(b"after"));
        let writer = tokio::spawn(async move { client.write_all(&bytes).await.map(|_| client) });
        let got = reader.next().await.expect("large frame");
        assert!(got[..] == body[..], "large frame differs");
        assert_eq!(&reader.next().await.expect("next")[..], b"after");
        writer.await.expect("writer").expect("write");
    }

    #[tokio::test]
    async fn an_oversized_or_negative_size_is_refused_before_the_body() {
        let (mut reader, mut client, _w) = pair(1000).await;
        client
            .write_all(&1001i32.to_be_bytes())
            .await
            .expect("write");
        match reader.next().await {
            Err(ReadEnd::Fatal(reason)) => assert!(reason.contains("exceeds"), "{reason}"),
            other => panic!("expected a fatal end, got {other:?}"),
        }
        let (mut reader, mut client, _w) = pair(1000).await;
        client
            .write_all(&(-1i32).to_be_bytes())
            .await
            .expect("write");
        match reader.next().await {
            Err(ReadEnd::Fatal(reason)) => assert!(reason.contains("negative"), "{reason}"),
            other => panic!("expected a fatal end, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_peer_closing_mid_frame_is_a_truncated_frame() {
        let (mut reader, mut client, _w) = pair(1000).await;
        let mut bytes = frame(b"whole");
        bytes.extend(&frame(b"cut short")[..7]);
        client.write_all(&bytes).await.expect("write");
        drop(client);
        assert_eq!(&reader.next().await.expect("whole")[..], b"whole");
        match reader.next().await {
            Err(ReadEnd::Fatal(reason)) => assert!(reason.contains("truncated"), "{reason}"),
            other => panic!("expected a truncated frame, got {other:?}"),
        }
    }
}
