//! Free loopback ports for the servers a test starts.

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

/// Every port this process has handed out. A port is free when probed but may only be bound
/// later, or only sometimes: a ZooKeeper node binds its quorum port only while it leads. Once
/// a broker took a follower's quorum port, and when that follower was elected after the leader
/// was killed it could not bind it, so the ensemble found no quorum (and the other follower
/// sent ZooKeeper's quorum protocol to the broker). So no port is handed out twice.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// How many probes one call may spend on ports handed out before.
const MAX_PROBES: usize = 1000;

/// Returns a TCP port on 127.0.0.1 that was free a moment ago and that this process has not
/// handed out before.
///
/// The kernel picks it (bind to port 0), then the listener is closed so the server under test can
/// bind it. Another process could grab it in between; that race is rare on a test machine, and the
/// server's start-up then fails loudly rather than silently talking to the wrong peer.
pub fn free_port() -> io::Result<u16> {
    free_ports(1).map(|ports| ports[0])
}

/// `n` distinct ports, as [`free_port`].
pub fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    // Held open until the end, so that the kernel does not offer the same port twice.
    let mut probes = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        if probes.len() >= n + MAX_PROBES {
            return Err(io::Error::other(format!(
                "no {n} unused loopback ports after {} probes",
                probes.len()
            )));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        if !handed_out.contains(&port) {
            ports.push(port);
        }
        probes.push(listener);
    }
    handed_out.extend(ports.iter().copied());
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_port_is_handed_out_twice() {
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            for port in free_ports(5).expect("ports") {
                assert!(seen.insert(port), "port {port} handed out twice");
            }
            assert!(seen.insert(free_port().expect("port")));
        }
    }
}
