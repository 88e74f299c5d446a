//! Bootstrap, registration, topic creation and producer ids against a real ZooKeeper.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{connect, registration};
use coordinator::registration::register_broker;
use coordinator::{admin, bootstrap, producer_ids, ZkError};
use tests::zookeeper::{shared, zk_cli};

const TEST_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_creates_kafka_paths_and_stable_cluster_id() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/bootstrap",
            Duration::from_secs(6),
        )
        .await;
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        let id = bootstrap::get_or_create_cluster_id(&zk).await.unwrap();
        assert_eq!(id.len(), 22);
        assert_eq!(bootstrap::get_or_create_cluster_id(&zk).await.unwrap(), id);
        assert_eq!(bootstrap::generate_broker_id(&zk).await.unwrap(), 1001);
        assert_eq!(bootstrap::generate_broker_id(&zk).await.unwrap(), 1002);
        zk.close().await;

        let cli = format!("{}/bootstrap", server.connect_string());
        let root = zk_cli(&cli, &["ls", "/"]).unwrap();
        for name in [
            "admin",
            "brokers",
            "cluster",
            "config",
            "consumers",
            "isr_change_notification",
            "latest_producer_id_block",
            "log_dir_event_notification",
        ] {
            assert!(root.contains(name), "{name} missing from {root}");
        }
        let config = zk_cli(&cli, &["ls", "/config"]).unwrap();
        assert!(
            config.contains("[brokers, changes, clients, ips, topics, users]"),
            "{config}"
        );
        let cluster = zk_cli(&cli, &["get", "/cluster/id"]).unwrap();
        assert!(
            cluster.contains(&format!(r#""id":"{id}""#)) && cluster.contains(r#""version":"1""#),
            "{cluster}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_kafka_json_version_1_and_exclusive() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/registration",
            Duration::from_secs(6),
        )
        .await;
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        let epoch = register_broker(&zk, &registration(1, "localhost", 9092), Duration::ZERO)
            .await
            .unwrap();
        assert!(epoch > 0);
        // Same session again: fine, same epoch.
        assert_eq!(
            register_broker(&zk, &registration(1, "localhost", 9092), Duration::ZERO)
                .await
                .unwrap(),
            epoch
        );

        let other = connect(
            &server.connect_string(),
            "/registration",
            Duration::from_secs(6),
        )
        .await;
        let started = std::time::Instant::now();
        let err = register_broker(
            &other,
            &registration(1, "localhost", 9093),
            Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ZkError::BrokerAlreadyRegistered { id: 1 }),
            "{err}"
        );
        assert!(started.elapsed() >= Duration::from_millis(1400));
        assert!(
            err.to_string().contains("another broker with this id"),
            "{err}"
        );

        let cli = format!("{}/registration", server.connect_string());
        let out = zk_cli(&cli, &["get", "-s", "/brokers/ids/1"]).unwrap();
        assert!(
            out.contains(r#""endpoints":["PLAINTEXT://localhost:9092"]"#),
            "{out}"
        );
        assert!(
            out.contains(r#""version":5"#) && out.contains(r#""port":9092"#),
            "{out}"
        );
        assert!(out.contains("dataVersion = 1"), "{out}");
        assert!(
            out.contains(&format!("ephemeralOwner = {:#x}", zk.session_id())),
            "{out}"
        );

        // Once the holder closes its session the other one can register.
        zk.close().await;
        let new_epoch =
            register_broker(&other, &registration(1, "localhost", 9093), Duration::ZERO)
                .await
                .unwrap();
        assert!(new_epoch > epoch);
        other.close().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_registration_is_taken_over_after_session_expiry() {
    let server = shared().unwrap();
    let connect_string = server.connect_string();
    // A "crashed" broker: its runtime (and so its connection) dies without closing the session.
    let crashed_epoch = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let zk = connect(&connect_string, "/stale", Duration::from_secs(2)).await;
            bootstrap::ensure_persistent_paths(&zk).await.unwrap();
            register_broker(&zk, &registration(7, "localhost", 9092), Duration::ZERO)
                .await
                .unwrap()
        })
    })
    .join()
    .unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(&server.connect_string(), "/stale", Duration::from_secs(6)).await;
        let started = std::time::Instant::now();
        let epoch = register_broker(
            &zk,
            &registration(7, "localhost", 9092),
            Duration::from_secs(15),
        )
        .await
        .unwrap();
        assert!(epoch > crashed_epoch);
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "should have waited for expiry"
        );
        zk.close().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topic_writes_both_nodes_in_kafka_format() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/admin-test",
            Duration::from_secs(6),
        )
        .await;
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        let other = connect(
            &server.connect_string(),
            "/admin-test",
            Duration::from_secs(6),
        )
        .await;
        register_broker(&zk, &registration(1, "localhost", 9092), Duration::ZERO)
            .await
            .unwrap();
        register_broker(&other, &registration(2, "localhost", 9093), Duration::ZERO)
            .await
            .unwrap();

        let configs: BTreeMap<String, String> =
            [("cleanup.policy".to_string(), "compact".to_string())].into();
        let assignment = admin::create_topic(&zk, "orders", 4, 2, &configs)
            .await
            .unwrap();
        assert_eq!(assignment.len(), 4);
        assert!(admin::topic_exists(&zk, "orders").await.unwrap());
        let node = admin::topic_assignment(&zk, "orders")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(node.partitions, assignment);
        assert!(node.topic_id.is_some());
        assert_eq!(admin::topic_config(&zk, "orders").await.unwrap(), configs);

        let again = admin::create_topic(&zk, "orders", 1, 1, &BTreeMap::new())
            .await
            .unwrap_err();
        assert!(matches!(again, ZkError::TopicExists(_)), "{again}");
        let rf = admin::create_topic(&zk, "wide", 1, 3, &BTreeMap::new())
            .await
            .unwrap_err();
        assert!(
            matches!(
                rf,
                ZkError::InvalidReplicationFactor {
                    requested: 3,
                    available: 2
                }
            ),
            "{rf}"
        );

        let cli = format!("{}/admin-test", server.connect_string());
        let topic = zk_cli(&cli, &["get", "/brokers/topics/orders"]).unwrap();
        assert!(
            topic.contains(r#""version":3"#) && topic.contains(r#""adding_replicas":{}"#),
            "{topic}"
        );
        assert!(topic.contains(r#""topic_id":""#), "{topic}");
        let config = zk_cli(&cli, &["get", "/config/topics/orders"]).unwrap();
        assert!(
            config.contains(r#""config":{"cleanup.policy":"compact"}"#),
            "{config}"
        );
        zk.close().await;
        other.close().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_id_blocks_are_consecutive() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(&server.connect_string(), "/pids", Duration::from_secs(6)).await;
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        let other = connect(&server.connect_string(), "/pids", Duration::from_secs(6)).await;
        let (a, b) = tokio::join!(
            producer_ids::allocate_producer_id_block(&zk, 1),
            producer_ids::allocate_producer_id_block(&other, 2)
        );
        let mut blocks = vec![a.unwrap(), b.unwrap()];
        blocks.sort();
        assert_eq!(blocks, vec![(0, 999), (1000, 1999)]);
        assert_eq!(
            producer_ids::allocate_producer_id_block(&zk, 1)
                .await
                .unwrap(),
            (2000, 2999)
        );
        zk.close().await;
        other.close().await;
    })
    .await
    .unwrap();
}

/// What a broker checks a controller request against: `/controller_epoch`, and `/controller`
/// only when the election that wrote this epoch created it; and a broker's registration epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_controller_is_the_one_the_epoch_was_elected_with() {
    use coordinator::controller::election::{current_controller, try_elect, CurrentController};
    use coordinator::registration::registered_epoch_of;
    use coordinator::znode::ControllerZNode;

    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/current-controller",
            Duration::from_secs(6),
        )
        .await;
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        zk.sync().await.unwrap();
        let none = CurrentController { epoch: 0, id: None };
        assert_eq!(current_controller(&zk).await.unwrap(), none);

        let elected = try_elect(&zk, 1).await.unwrap().unwrap();
        let current = current_controller(&zk).await.unwrap();
        let expected = CurrentController {
            epoch: elected.epoch,
            id: Some(1),
        };
        assert_eq!(current, expected);

        // The controller is gone: its epoch stays, nobody holds it.
        zk.delete(ControllerZNode::PATH).await.unwrap();
        let gone = CurrentController {
            epoch: elected.epoch,
            id: None,
        };
        assert_eq!(current_controller(&zk).await.unwrap(), gone);
        // A /controller not written with the epoch (not by an election) does not count.
        let forged = ControllerZNode {
            broker_id: 2,
            timestamp: 0,
        };
        zk.create(ControllerZNode::PATH, &forged.encode(), true)
            .await
            .unwrap();
        assert_eq!(current_controller(&zk).await.unwrap(), gone);
        zk.delete(ControllerZNode::PATH).await.unwrap();
        let next = try_elect(&zk, 3).await.unwrap().unwrap();
        assert_eq!(next.epoch, elected.epoch + 1);
        let expected = CurrentController {
            epoch: next.epoch,
            id: Some(3),
        };
        assert_eq!(current_controller(&zk).await.unwrap(), expected);

        assert_eq!(registered_epoch_of(&zk, 1).await.unwrap(), None);
        let epoch = register_broker(&zk, &registration(1, "localhost", 9092), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(registered_epoch_of(&zk, 1).await.unwrap(), Some(epoch));
        zk.close().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_delete_removes_partitions_and_the_topic_nodes_it_empties() {
    use coordinator::offsets::{self, CommittedOffset, OffsetCommit};
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/offset-delete",
            Duration::from_secs(6),
        )
        .await;
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        let commit = |topic: &str, partition: i32| OffsetCommit {
            topic: topic.into(),
            partition,
            committed: CommittedOffset {
                offset: 42,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp: 0,
            },
        };
        let commits = [commit("t", 0), commit("t", 1), commit("u", 0)];
        offsets::commit_offsets(&zk, "g", Some("consumer"), &commits)
            .await
            .unwrap();
        let tp = |t: &str, p: i32| (t.to_string(), p);
        // t-0 and a partition never committed: one had an offset.
        let deleted = offsets::delete_partition_offsets(&zk, "g", &[tp("t", 0), tp("t", 7)])
            .await
            .unwrap();
        assert_eq!(deleted, 1);
        let left: Vec<_> = offsets::fetch_all_offsets(&zk, "g")
            .await
            .unwrap()
            .into_keys()
            .collect();
        assert_eq!(left, vec![tp("t", 1), tp("u", 0)]);
        // The last partition of t takes its topic nodes along; the group stays.
        let deleted = offsets::delete_partition_offsets(&zk, "g", &[tp("t", 1)])
            .await
            .unwrap();
        assert_eq!(deleted, 1);
        assert_eq!(zk.children("/consumers/g/offsets").await.unwrap(), ["u"]);
        assert_eq!(
            zk.children("/consumers/g/offset_metadata").await.unwrap(),
            ["u"]
        );
        assert_eq!(
            offsets::read_protocol_type(&zk, "g").await.unwrap(),
            Some("consumer".to_string())
        );
        let none = offsets::delete_partition_offsets(&zk, "g", &[tp("t", 1)])
            .await
            .unwrap();
        assert_eq!(none, 0);
        zk.close().await;
    })
    .await
    .unwrap();
}
