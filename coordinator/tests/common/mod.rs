//! Set-up shared by the coordinator's integration tests (each test file includes this module).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use coordinator::registration::{BrokerEndpoint, BrokerRegistration};
use coordinator::{Zk, ZkConnect};

/// A session to `server` under `chroot`.
pub(crate) async fn connect(server: &str, chroot: &str, session: Duration) -> Zk {
    let connect = ZkConnect::parse(&format!("{server}{chroot}")).unwrap();
    Zk::connect(&connect, session, Duration::from_secs(10))
        .await
        .unwrap()
}

/// Broker `id` with one PLAINTEXT listener at `host:port`.
pub(crate) fn registration(id: i32, host: &str, port: u16) -> BrokerRegistration {
    let endpoint = BrokerEndpoint {
        listener: "PLAINTEXT".into(),
        host: host.into(),
        port,
        security_protocol: "PLAINTEXT".into(),
    };
    BrokerRegistration {
        id,
        endpoints: vec![endpoint],
        rack: None,
    }
}
