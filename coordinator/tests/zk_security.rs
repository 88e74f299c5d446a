//! `zookeeper.set.acl` against a real ZooKeeper that authenticates with SASL DIGEST-MD5: the
//! ACLs our znodes get, what an unauthenticated session can and cannot do, and refused logins.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use coordinator::jaas_client::DigestLogin;
use coordinator::zk_acl::describe;
use coordinator::zk_ops::ZkOp;
use coordinator::{bootstrap, Zk, ZkConnect, ZkError, ZkOptions, ZnodeAcls};
use tests::zookeeper::ZooKeeper;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const SESSION: Duration = Duration::from_secs(6);

fn login(password: &str) -> Option<DigestLogin> {
    Some(DigestLogin {
        username: "kafka".into(),
        password: password.into(),
    })
}

async fn connect(server: &ZooKeeper, chroot: &str, options: ZkOptions) -> Result<Zk, ZkError> {
    let connect = ZkConnect::parse(&format!("{}{chroot}", server.connect_string())).unwrap();
    Zk::connect_with(&connect, &options).await
}

fn secure() -> ZkOptions {
    ZkOptions::new(SESSION, Duration::from_secs(10))
        .with_sasl(login("kafka-secret"))
        .with_acls(ZnodeAcls::SECURE)
}

fn anonymous() -> ZkOptions {
    ZkOptions::new(SESSION, Duration::from_secs(10))
}

async fn acls(zk: &Zk, path: &str) -> Vec<String> {
    let mut list: Vec<String> = zk
        .acl(path)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{path} missing"))
        .iter()
        .map(describe)
        .collect();
    list.sort();
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_znodes_are_readable_but_not_writable_by_others() {
    let server = ZooKeeper::start_sasl(&[("kafka", "kafka-secret")]).unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let zk = connect(&server, "/secure/cluster", secure()).await.unwrap();
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        zk.ensure_path("/config/users").await.unwrap();
        zk.create(
            "/config/users/alice",
            b"{\"version\":1,\"config\":{}}",
            false,
        )
        .await
        .unwrap();
        zk.multi(&[ZkOp::create("/brokers/topics/t", b"{}".to_vec())])
            .await
            .unwrap();
        let change = zk
            .create_sequential("/config/changes/config_change_", b"{}")
            .await
            .unwrap();

        let kafka = ["sasl:kafka:ALL", "world:anyone:READ"];
        for path in ["/brokers/ids", "/brokers/topics/t", "/config", &change] {
            assert_eq!(acls(&zk, path).await, kafka, "{path}");
        }
        assert_eq!(acls(&zk, "/config/users").await, ["sasl:kafka:ALL"]);
        assert_eq!(acls(&zk, "/config/users/alice").await, ["sasl:kafka:ALL"]);
        assert_eq!(acls(&zk, "/consumers").await, ["world:anyone:ALL"]);
        let root = connect(&server, "", anonymous()).await.unwrap();
        // The chroot and its ancestors are secured too, each as its own path says.
        assert_eq!(acls(&root, "/secure").await, kafka);
        assert_eq!(acls(&root, "/secure/cluster").await, kafka);

        // Without authentication: reads of ordinary nodes work, every write and the sensitive
        // subtree are refused.
        let other = connect(&server, "/secure/cluster", anonymous())
            .await
            .unwrap();
        assert!(other.get("/brokers/topics/t").await.unwrap().is_some());
        assert!(other
            .children("/brokers")
            .await
            .unwrap()
            .contains(&"ids".to_string()));
        let denied = other
            .set("/brokers/topics/t", b"{}", None)
            .await
            .unwrap_err();
        assert!(denied.is_no_auth(), "{denied}");
        let denied = other
            .create("/brokers/ids/1", b"{}", true)
            .await
            .unwrap_err();
        assert!(denied.is_no_auth(), "{denied}");
        let denied = other.get("/config/users/alice").await.unwrap_err();
        assert!(denied.is_no_auth(), "{denied}");
        let denied = other.delete("/brokers/topics/t").await.unwrap_err();
        assert!(denied.is_no_auth(), "{denied}");

        // A second broker with the same identity may write what the first created.
        let peer = connect(&server, "/secure/cluster", secure()).await.unwrap();
        peer.set("/brokers/topics/t", b"{\"v\":2}", None)
            .await
            .unwrap();
        assert!(peer.get("/config/users/alice").await.unwrap().is_some());
        for zk in [zk, root, other, peer] {
            zk.close().await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_missing_login_are_refused() {
    let server = ZooKeeper::start_sasl(&[("kafka", "kafka-secret")]).unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let wrong = secure().with_sasl(login("not-the-password"));
        let e = connect(&server, "/x", wrong).await.err().unwrap();
        assert!(matches!(e, ZkError::AuthFailed { .. }), "{e}");
        let no_login = secure().with_sasl(None);
        let e = connect(&server, "/x", no_login).await.err().unwrap();
        assert!(matches!(e, ZkError::SecureAclsWithoutAuthentication), "{e}");
        assert!(e.to_string().contains("java.security.auth.login.config"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_open_znodes_keep_their_acls() {
    let server = ZooKeeper::start_sasl(&[("kafka", "kafka-secret")]).unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        // A cluster that ran without zookeeper.set.acl...
        let open = connect(&server, "/upgraded", anonymous()).await.unwrap();
        bootstrap::ensure_persistent_paths(&open).await.unwrap();
        open.close().await;
        // ...restarted with it: old znodes stay open (Kafka's migration tool changes them),
        // new ones are secure.
        let zk = connect(&server, "/upgraded", secure()).await.unwrap();
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        zk.create("/brokers/topics/new", b"{}", false)
            .await
            .unwrap();
        assert_eq!(acls(&zk, "/brokers/topics").await, ["world:anyone:ALL"]);
        assert_eq!(acls(&zk, "/config/users").await, ["world:anyone:ALL"]);
        assert_eq!(
            acls(&zk, "/brokers/topics/new").await,
            ["sasl:kafka:ALL", "world:anyone:READ"]
        );
        zk.close().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_login_to_a_server_without_sasl_fails_promptly() {
    let server = ZooKeeper::start().unwrap();
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(TEST_TIMEOUT, connect(&server, "/x", secure()))
        .await
        .unwrap();
    let e = result.err().unwrap();
    assert!(
        matches!(
            e,
            ZkError::NotAuthenticated { .. } | ZkError::AuthFailed { .. }
        ),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{e}");
    println!("{e} after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate_secures_znodes_for_its_subject() {
    use coordinator::{ZkTls, ZkTlsIdentity};
    use tests::zk_certs::{ZkCerts, CLIENT_SUBJECT};

    let certs = ZkCerts::generate().unwrap();
    let server = ZooKeeper::start_tls(&certs).unwrap();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let keystore = std::fs::read_to_string(&certs.client_keystore).unwrap();
        let tls = ZkTls {
            trust_pem: std::fs::read_to_string(&certs.ca).unwrap(),
            identity: Some(ZkTlsIdentity {
                chain_pem: keystore.clone(),
                key_pem: keystore,
            }),
        };
        // No SASL: the certificate is the identity (Kafka accepts set.acl with TLS client auth).
        let options = ZkOptions::new(SESSION, Duration::from_secs(10))
            .with_tls(Some(tls))
            .with_acls(ZnodeAcls::SECURE);
        let connect = format!("{}/tls", server.secure_connect_string().unwrap());
        let zk = Zk::connect_with(&ZkConnect::parse(&connect).unwrap(), &options)
            .await
            .unwrap();
        bootstrap::ensure_persistent_paths(&zk).await.unwrap();
        let owner = format!("x509:{CLIENT_SUBJECT}:ALL");
        assert_eq!(
            acls(&zk, "/brokers/ids").await,
            ["world:anyone:READ", owner.as_str()]
        );
        assert_eq!(acls(&zk, "/config/users").await, [owner.as_str()]);
        zk.close().await;
    })
    .await
    .unwrap();
}
