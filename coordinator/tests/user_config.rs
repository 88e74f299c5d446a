//! Users' SCRAM credentials against a real ZooKeeper: Kafka's `/config/users` JSON (other keys
//! kept), the change notification, the watcher reporting the change, and an emptied config
//! removing the node.
#![allow(clippy::unwrap_used)]

// This file uses only `connect`.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::connect;
use coordinator::config_changes::{watch_config_changes, ConfigChange};
use coordinator::user_config::{all_user_configs, scram_credentials, set_user_config, user_config};
use sasl::{Mechanism, ScramCredential};
use tests::zookeeper::shared;
use tokio_util::sync::CancellationToken;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_configs_round_trip_and_notify() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/user-config",
            Duration::from_secs(6),
        )
        .await;
        coordinator::bootstrap::ensure_persistent_paths(&zk)
            .await
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let watched = zk.clone();
        let watcher = tokio::spawn(watch_config_changes(
            move || watched.clone(),
            tx,
            stop.clone(),
        ));

        let credential =
            ScramCredential::from_password(Mechanism::ScramSha256, "pw", 4096).unwrap();
        let config = BTreeMap::from([
            ("SCRAM-SHA-256".to_string(), credential.format()),
            ("producer_byte_rate".to_string(), "1024".to_string()),
        ]);
        set_user_config(&zk, "a user", &config).await.unwrap();

        // Kafka's node name (URL-encoded), JSON and notification.
        let (data, _) = zk.get("/config/users/a%20user").await.unwrap().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["config"]["producer_byte_rate"], "1024");
        let notes = zk.children("/config/changes").await.unwrap();
        let (note, _) = zk
            .get(&format!("/config/changes/{}", notes.last().unwrap()))
            .await
            .unwrap()
            .unwrap();
        let note: serde_json::Value = serde_json::from_slice(&note).unwrap();
        assert_eq!(
            note,
            serde_json::json!({"version": 2, "entity_path": "users/a%20user"})
        );

        match rx.recv().await.unwrap() {
            ConfigChange::User(user, got) => {
                assert_eq!(user, "a user");
                assert_eq!(got, config);
            }
            other => panic!("unexpected {other:?}"),
        }
        let read = user_config(&zk, "a user").await.unwrap();
        assert_eq!(
            scram_credentials("a user", &read).get(&Mechanism::ScramSha256),
            Some(&credential)
        );
        assert_eq!(
            all_user_configs(&zk).await.unwrap(),
            vec![("a user".to_string(), config)]
        );

        // A bad node does not stop a full read.
        zk.create("/config/users/broken", b"not json", false)
            .await
            .unwrap();
        assert_eq!(all_user_configs(&zk).await.unwrap().len(), 1);

        // Emptied: the node goes, the watcher says so.
        set_user_config(&zk, "a user", &BTreeMap::new())
            .await
            .unwrap();
        assert!(zk.get("/config/users/a%20user").await.unwrap().is_none());
        match rx.recv().await.unwrap() {
            ConfigChange::User(user, got) => {
                assert_eq!(user, "a user");
                assert!(got.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        stop.cancel();
        watcher.await.unwrap();
    })
    .await
    .unwrap();
}
