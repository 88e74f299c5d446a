//! Free loopback ports for the servers a test starts.

use std::io;
use std::net::{Ipv4Addr, TcpListener};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The kernel picks it (bind to port 0), then the listener is closed so the server under test can
/// bind it. Another process could grab it in between; that race is rare on a test machine, and the
/// server's start-up then fails loudly rather than silently talking to the wrong peer.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
