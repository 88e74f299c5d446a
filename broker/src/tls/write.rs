//! Writing responses through TLS. Encryption happens in userspace, so `sendfile` cannot be
//! used: the records of a Fetch response are read from their segment file (`pread`) into a
//! buffer and encrypted from there. A response's parts go to rustls in one vectored write,
//! which fills whole TLS records across part boundaries (rustls copies the plaintext into
//! the record it encrypts in place: no copy beyond the encryption itself), and the response
//! is flushed once, at its end.

use std::io::{self, IoSlice};
use std::os::unix::fs::FileExt;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::api::Part;
use crate::connection::ResponseWriter;

/// Records read from a segment file per write: large enough for full TLS records and few
/// writes, small enough that a big fetch does not double its memory.
const LOG_CHUNK: usize = 256 * 1024;

/// The writing half of a TLS connection.
pub struct TlsWriter<W> {
    inner: W,
    /// Reused for log slices read from segment files (at most [`LOG_CHUNK`] bytes).
    scratch: Vec<u8>,
}

impl<W> TlsWriter<W> {
    pub fn new(inner: W) -> TlsWriter<W> {
        TlsWriter {
            inner,
            scratch: Vec::new(),
        }
    }
}

impl<W: AsyncWrite + Unpin + Send> ResponseWriter for TlsWriter<W> {
    async fn write_frame(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).await?;
        self.inner.flush().await
    }

    async fn write_parts(&mut self, parts: &[Part]) -> io::Result<()> {
        write_parts(&mut self.inner, &mut self.scratch, parts).await?;
        self.inner.flush().await
    }
}

/// Reads `len` bytes of `file` at `pos` into `buf` (resized to `len`). A file that ends early
/// was truncated since the fetch read it: the frame's size is on its way, so that is fatal.
fn read_at(file: &std::fs::File, pos: u64, len: usize, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.resize(len, 0);
    file.read_exact_at(buf, pos).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "log segment ended before the fetched slice (truncated meanwhile)",
            )
        } else {
            e
        }
    })
}

async fn write_parts<W: AsyncWrite + Unpin>(
    w: &mut W,
    scratch: &mut Vec<u8>,
    parts: &[Part],
) -> io::Result<()> {
    let mut rest = parts;
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|p| matches!(p, Part::Log(_)))
            .unwrap_or(rest.len());
        let (bytes, after) = rest.split_at(run);
        // The first chunk of the records that follow goes out in the same write as the
        // bytes before it (the partition's header), so they share TLS records.
        scratch.clear();
        let mut log_rest = None;
        if let Some((file, pos, len)) = after.first().and_then(|p| match p {
            Part::Log(slice) => slice.region(),
            Part::Bytes(_) => None,
        }) {
            let n = len.min(LOG_CHUNK);
            read_at(file, pos, n, scratch)?;
            log_rest = Some((file, pos + n as u64, len - n));
        }
        let mut slices: Vec<IoSlice<'_>> = bytes
            .iter()
            .filter_map(|p| match p {
                Part::Bytes(b) if !b.is_empty() => Some(IoSlice::new(b)),
                _ => None,
            })
            .collect();
        if !scratch.is_empty() {
            slices.push(IoSlice::new(scratch));
        }
        write_vectored_all(w, &mut slices).await?;
        drop(slices);
        if let Some((file, mut pos, mut left)) = log_rest {
            while left > 0 {
                let n = left.min(LOG_CHUNK);
                read_at(file, pos, n, scratch)?;
                w.write_all(scratch).await?;
                pos += n as u64;
                left -= n;
            }
        }
        rest = after.get(1..).unwrap_or(&[]);
    }
    Ok(())
}

async fn write_vectored_all<W: AsyncWrite + Unpin>(
    w: &mut W,
    slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    let mut rest = slices;
    while !rest.is_empty() {
        let n = w.write_vectored(rest).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}
