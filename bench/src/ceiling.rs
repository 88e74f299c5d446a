//! The machine's own ceilings, measured in the same run as the broker: a plain TCP blast over
//! loopback and a sequential file write, each of the same volume and with the same buffer
//! sizes as the client (OS-default socket buffers, 1 MB writes = librdkafka's `batch.size`).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result};

/// Application write size: librdkafka's default `batch.size` (1,000,000 bytes).
pub const CHUNK: usize = 1_000_000;

/// Sends `volume` bytes over one loopback TCP connection to a reader thread that discards
/// them; returns bytes per second (until the reader has seen the last byte).
pub fn tcp_loopback(volume: u64) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding the loopback ceiling")?;
    let addr = listener.local_addr()?;
    let reader = thread::spawn(move || -> std::io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    });
    let buf = vec![0x5au8; CHUNK];
    let mut stream = TcpStream::connect(addr).context("connecting the loopback ceiling")?;
    stream.set_nodelay(true)?;
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < volume {
        let n = (volume - sent).min(CHUNK as u64) as usize;
        stream.write_all(&buf[..n])?;
        sent += n as u64;
    }
    drop(stream);
    let received = reader
        .join()
        .map_err(|_| anyhow::anyhow!("loopback reader panicked"))??;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        received == volume,
        "loopback reader got {received} of {volume} bytes"
    );
    Ok(volume as f64 / secs)
}

/// Writes `volume` bytes sequentially to a new file in `dir` (no fsync: the broker does not
/// fsync either, leaving it to the OS), then deletes it; returns bytes per second.
pub fn file_write(dir: &Path, volume: u64) -> Result<f64> {
    let path = dir.join("ceiling-file-write.bin");
    let buf = vec![0x5au8; CHUNK];
    let start = Instant::now();
    {
        let mut f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut written = 0u64;
        while written < volume {
            let n = (volume - written).min(CHUNK as u64) as usize;
            f.write_all(&buf[..n])?;
            written += n as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    Ok(volume as f64 / secs)
}
