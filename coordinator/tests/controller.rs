//! The controller against a real ZooKeeper and a fake broker (a TCP listener that decodes the
//! controller's requests with kafka-protocol and answers them).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use common::registration;
use coordinator::controller::{self, ControllerConfig};
use coordinator::registration::register_broker;
use coordinator::znode::{
    ControllerEpochZNode, ControllerZNode, LeaderIsrAndControllerEpoch, PartitionStateZNode,
};
use coordinator::{admin, bootstrap, Zk};
use kafka_protocol::messages::{
    LeaderAndIsrRequest, LeaderAndIsrResponse, RequestHeader, ResponseHeader,
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use tests::zookeeper::shared;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
enum Received {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
}

/// A fake broker: answers LeaderAndIsr v7 / UpdateMetadata v8 with success, reporting each request.
async fn fake_broker() -> (u16, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, tx.clone()));
        }
    });
    (port, rx)
}

async fn serve(mut stream: TcpStream, tx: mpsc::UnboundedSender<Received>) {
    while let Ok(size) = stream.read_i32().await {
        let mut buf = vec![0; usize::try_from(size).unwrap()];
        stream.read_exact(&mut buf).await.unwrap();
        let mut buf = Bytes::from(buf);
        let api_key = i16::from_be_bytes([buf[0], buf[1]]);
        let version = i16::from_be_bytes([buf[2], buf[3]]);
        let mut out = BytesMut::new();
        match api_key {
            4 => {
                let header =
                    RequestHeader::decode(&mut buf, LeaderAndIsrRequest::header_version(version))
                        .unwrap();
                let client = header.client_id.as_deref().unwrap_or_default();
                assert!(
                    client == "controller-1" || client == "controller-2",
                    "{client}"
                );
                let request = LeaderAndIsrRequest::decode(&mut buf, version).unwrap();
                let rh = ResponseHeader::default().with_correlation_id(header.correlation_id);
                rh.encode(&mut out, LeaderAndIsrResponse::header_version(version))
                    .unwrap();
                LeaderAndIsrResponse::default()
                    .encode(&mut out, version)
                    .unwrap();
                let _ = tx.send(Received::LeaderAndIsr(request));
            }
            6 => {
                let header =
                    RequestHeader::decode(&mut buf, UpdateMetadataRequest::header_version(version))
                        .unwrap();
                let request = UpdateMetadataRequest::decode(&mut buf, version).unwrap();
                let rh = ResponseHeader::default().with_correlation_id(header.correlation_id);
                rh.encode(&mut out, UpdateMetadataResponse::header_version(version))
                    .unwrap();
                UpdateMetadataResponse::default()
                    .encode(&mut out, version)
                    .unwrap();
                let _ = tx.send(Received::UpdateMetadata(request));
            }
            other => panic!("unexpected api key {other}"),
        }
        let mut frame = BytesMut::new();
        frame.put_i32(i32::try_from(out.len()).unwrap());
        frame.put(out);
        stream.write_all(&frame).await.unwrap();
    }
}

async fn connect(server: &str, chroot: &str) -> Zk {
    common::connect(server, chroot, Duration::from_secs(6)).await
}

/// A session under `chroot` with the persistent paths in place and broker `id` registered
/// (its endpoint: the fake broker's `port`); returns the session and the broker epoch.
async fn registered(server: &str, chroot: &str, id: i32, port: u16) -> (Zk, i64) {
    let zk = connect(server, chroot).await;
    bootstrap::ensure_persistent_paths(&zk).await.unwrap();
    let epoch = register_broker(&zk, &registration(id, "127.0.0.1", port), Duration::ZERO)
        .await
        .unwrap();
    (zk, epoch)
}

fn config(id: i32) -> ControllerConfig {
    ControllerConfig::new(id, "PLAINTEXT")
}

/// Polls until `f` returns Some.
async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn state(zk: &Zk, topic: &str, p: i32) -> Option<(LeaderIsrAndControllerEpoch, i32)> {
    let (data, stat) = zk
        .get(&PartitionStateZNode::path(topic, p))
        .await
        .unwrap()?;
    Some((
        PartitionStateZNode::decode(topic, p, &data).unwrap(),
        stat.version,
    ))
}

async fn controller_and_epoch(zk: &Zk) -> Option<(i32, i32)> {
    let (data, _) = zk.get(ControllerZNode::PATH).await.unwrap()?;
    let (epoch, _) = zk.get(ControllerEpochZNode::PATH).await.unwrap()?;
    Some((
        ControllerZNode::decode(&data).unwrap().broker_id,
        ControllerEpochZNode::decode(&epoch).unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_elects_creates_partition_states_and_fails_over() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let (port, mut received) = fake_broker().await;
        let (zk1, epoch1) = registered(&server.connect_string(), "/controller-test", 1, port).await;
        let stop1 = CancellationToken::new();
        let (c1, _) = controller::start(zk1.clone(), config(1), stop1.clone());

        let observer = connect(&server.connect_string(), "/controller-test").await;
        let elected = eventually(|| controller_and_epoch(&observer)).await;
        assert_eq!(elected, (1, 1));

        admin::create_topic(&zk1, "t", 2, 1, &BTreeMap::new())
            .await
            .unwrap();
        for p in 0..2 {
            let (lic, version) = eventually(|| state(&observer, "t", p)).await;
            assert_eq!(
                lic,
                LeaderIsrAndControllerEpoch {
                    leader: 1,
                    leader_epoch: 0,
                    isr: vec![1],
                    controller_epoch: 1,
                    leader_recovery_state: 0
                }
            );
            assert_eq!(version, 0);
        }
        // The fake broker gets LeaderAndIsr for both new partitions and metadata naming itself.
        let (mut saw_lai, mut saw_um) = (false, false);
        while !(saw_lai && saw_um) {
            match received.recv().await.unwrap() {
                Received::LeaderAndIsr(r) => {
                    assert_eq!(
                        (r.controller_id.0, r.controller_epoch, r.broker_epoch),
                        (1, 1, epoch1)
                    );
                    let parts: Vec<_> = r
                        .topic_states
                        .iter()
                        .flat_map(|t| &t.partition_states)
                        .collect();
                    if parts.len() == 2 {
                        assert!(parts
                            .iter()
                            .all(|p| p.is_new && p.leader.0 == 1 && p.partition_epoch == 0));
                        assert!(!r.topic_states[0].topic_id.is_nil());
                        assert_eq!(r.live_leaders[0].port, i32::from(port));
                        saw_lai = true;
                    }
                }
                Received::UpdateMetadata(r) => {
                    assert_eq!(r.live_brokers.len(), 1);
                    assert_eq!(r.live_brokers[0].endpoints[0].port, i32::from(port));
                    if r.topic_states
                        .iter()
                        .map(|t| t.partition_states.len())
                        .sum::<usize>()
                        == 2
                    {
                        saw_um = true;
                    }
                }
            }
        }

        // A second candidate takes over when the first one's session closes.
        let (zk2, _) = registered(&server.connect_string(), "/controller-test", 2, port).await;
        let stop2 = CancellationToken::new();
        let (c2, _) = controller::start(zk2.clone(), config(2), stop2.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            controller_and_epoch(&observer).await,
            Some((1, 1)),
            "no election while 1 is alive"
        );
        stop1.cancel();
        c1.await.unwrap();
        zk1.close().await;
        let elected =
            eventually(|| async { controller_and_epoch(&observer).await.filter(|c| c.0 == 2) })
                .await;
        assert_eq!(elected, (2, 2));
        // Broker 1 is gone: its partitions go offline, the ISR keeps its last member.
        let (lic, version) = eventually(|| async {
            state(&observer, "t", 0)
                .await
                .filter(|(l, _)| l.leader == -1)
        })
        .await;
        assert_eq!(
            lic,
            LeaderIsrAndControllerEpoch {
                leader: -1,
                leader_epoch: 1,
                isr: vec![1],
                controller_epoch: 2,
                leader_recovery_state: 0
            }
        );
        assert_eq!(version, 1);
        stop2.cancel();
        c2.await.unwrap();
        zk2.close().await;
        observer.close().await;
    })
    .await
    .unwrap();
}

/// A broker learns who the controller is from that controller's UpdateMetadata, and clients
/// learn it from that broker's Metadata: by the time the first UpdateMetadata of a failover
/// arrives, the controller must already accept admin requests (Kafka's `isActive` is true from
/// the election on), even while it is still electing leaders for many partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_is_active_before_it_names_itself_in_metadata() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let (port, mut received) = fake_broker().await;
        let (zk, _) =
            registered(&server.connect_string(), "/controller-active-test", 1, port).await;
        // Partitions without a state: the failover elects (and writes) each of them after it
        // has sent UpdateMetadata.
        admin::create_topic(&zk, "many", 200, 1, &BTreeMap::new())
            .await
            .unwrap();
        let stop = CancellationToken::new();
        let (task, handle) = controller::start(zk.clone(), config(1), stop.clone());
        loop {
            if let Received::UpdateMetadata(r) = received.recv().await.unwrap() {
                assert_eq!(r.controller_id.0, 1);
                assert!(
                    handle.is_active(),
                    "UpdateMetadata names a controller that answers NOT_CONTROLLER"
                );
                break;
            }
        }
        // The failover still completes: every partition gets its leader.
        for p in [0, 199] {
            let (lic, _) = eventually(|| state(&zk, "many", p)).await;
            assert_eq!(lic.leader, 1);
        }
        stop.cancel();
        task.await.unwrap();
        zk.close().await;
    })
    .await
    .unwrap();
}
