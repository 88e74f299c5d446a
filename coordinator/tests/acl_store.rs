//! ACL znodes against a real ZooKeeper: Kafka's paths and JSON, conditional writes, and the
//! change notification written with each change.
#![allow(clippy::unwrap_used)]

// This file uses only `connect`.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::connect;
use coordinator::acl::{
    ensure_acl_paths, read_all_acls, read_resource_acls, write_resource_acls, AccessControlEntry,
    AclOperation, AclPermissionType, AclWrite, PatternType, ResourcePattern, ResourceType,
};
use coordinator::acl_changes::watch_acl_changes;
use coordinator::znode::acl::AclChangeZNode;
use tests::zookeeper::shared;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_round_trip_with_conditional_writes_and_notifications() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(&server.connect_string(), "/acl-store", Duration::from_secs(6)).await;
        ensure_acl_paths(&zk).await.unwrap();
        ensure_acl_paths(&zk).await.unwrap();
        assert_eq!(
            zk.children("/kafka-acl").await.unwrap(),
            ["Cluster", "DelegationToken", "Group", "Topic", "TransactionalId", "User"]
        );

        let topic = ResourcePattern::new(ResourceType::Topic, "orders", PatternType::Literal);
        let prefix = ResourcePattern::new(ResourceType::Group, "team-", PatternType::Prefixed);
        let read = AccessControlEntry::new(
            "User:alice",
            "*",
            AclOperation::Read,
            AclPermissionType::Allow,
        );
        let deny = AccessControlEntry::new(
            "User:bob",
            "10.0.0.1",
            AclOperation::All,
            AclPermissionType::Deny,
        );

        let absent = read_resource_acls(&zk, &topic).await.unwrap();
        assert_eq!(absent.zk_version, None);
        let written = write_resource_acls(&zk, &topic, std::slice::from_ref(&read), None);
        assert_eq!(written.await.unwrap(), AclWrite::Written);
        // A second create from the same stale read loses.
        let again = write_resource_acls(&zk, &topic, std::slice::from_ref(&read), None);
        assert_eq!(again.await.unwrap(), AclWrite::Conflict);

        let (data, _) = zk.get("/kafka-acl/Topic/orders").await.unwrap().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]})
        );

        let current = read_resource_acls(&zk, &topic).await.unwrap();
        assert_eq!(current.zk_version, Some(0));
        let both = [read.clone(), deny.clone()];
        let stale = write_resource_acls(&zk, &topic, &both, Some(7)).await.unwrap();
        assert_eq!(stale, AclWrite::Conflict);
        let updated = write_resource_acls(&zk, &topic, &both, Some(0)).await.unwrap();
        assert_eq!(updated, AclWrite::Written);
        let prefixed = write_resource_acls(&zk, &prefix, std::slice::from_ref(&deny), None);
        assert_eq!(prefixed.await.unwrap(), AclWrite::Written);

        let mut all = read_all_acls(&zk).await.unwrap();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0, topic);
        assert_eq!(all[0].1.acls.len(), 2);
        assert_eq!(all[0].1.zk_version, Some(1));
        assert_eq!(all[1].0, prefix);
        assert_eq!(all[1].1.acls, [deny]);

        // One notification per successful write, none for the conflicts.
        let literal = zk.children("/kafka-acl-changes").await.unwrap();
        assert_eq!(literal.len(), 2, "{literal:?}");
        for child in &literal {
            assert!(AclChangeZNode::sequence(child).is_some(), "{child}");
            let path = format!("/kafka-acl-changes/{child}");
            let (data, _) = zk.get(&path).await.unwrap().unwrap();
            assert_eq!(data, b"TOPIC:orders");
        }
        let extended = zk.children("/kafka-acl-extended-changes").await.unwrap();
        assert_eq!(extended.len(), 1);
        let path = format!("/kafka-acl-extended-changes/{}", extended[0]);
        let (data, _) = zk.get(&path).await.unwrap().unwrap();
        let decoded = AclChangeZNode::decode(&path, PatternType::Prefixed, &data).unwrap();
        assert_eq!(decoded, prefix);

        // Removing every ACL deletes the node, conditionally.
        let gone = write_resource_acls(&zk, &topic, &[], Some(1)).await.unwrap();
        assert_eq!(gone, AclWrite::Written);
        assert_eq!(read_resource_acls(&zk, &topic).await.unwrap().zk_version, None);
        zk.close().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_watch_sends_existing_then_new_changes() {
    let server = shared().unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(
            &server.connect_string(),
            "/acl-changes",
            Duration::from_secs(6),
        )
        .await;
        ensure_acl_paths(&zk).await.unwrap();
        let entry =
            AccessControlEntry::new("User:*", "*", AclOperation::Write, AclPermissionType::Allow);
        let before = ResourcePattern::new(ResourceType::Topic, "t1", PatternType::Literal);
        let after =
            ResourcePattern::new(ResourceType::TransactionalId, "tx-", PatternType::Prefixed);
        write_resource_acls(&zk, &before, std::slice::from_ref(&entry), None)
            .await
            .unwrap();

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let session = zk.clone();
        let watch = tokio::spawn(watch_acl_changes(
            move || session.clone(),
            tx,
            shutdown.clone(),
        ));

        let (pattern, acls) = rx.recv().await.unwrap();
        assert_eq!(
            pattern, before,
            "a notification older than the watch is handled"
        );
        assert_eq!(acls.acls, std::slice::from_ref(&entry));

        write_resource_acls(&zk, &after, std::slice::from_ref(&entry), None)
            .await
            .unwrap();
        let (pattern, acls) = rx.recv().await.unwrap();
        assert_eq!(pattern, after);
        assert_eq!(acls.zk_version, Some(0));

        write_resource_acls(&zk, &before, &[], Some(0))
            .await
            .unwrap();
        let (pattern, acls) = rx.recv().await.unwrap();
        assert_eq!(pattern, before);
        assert_eq!(acls.zk_version, None, "removed ACLs arrive as none");

        shutdown.cancel();
        watch.await.unwrap();
        zk.close().await;
    })
    .await
    .unwrap();
}
