//! TLS listeners with real clients: kafka-python, confluent-kafka and kcat produce and consume
//! over SSL beside a PLAINTEXT listener; `ssl.client.auth=required` refuses a client without a
//! certificate at once and serves one with a certificate; a rotated keystore file reaches new
//! connections without a restart; three brokers replicate over an SSL inter-broker listener.
//! Certificates are made with `openssl` at test time (`tests::certs`).

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::broker::BrokerSetup;
use tests::certs::{Certs, Issued};
use tests::multi::MultiCluster;
use tests::ports::free_port;
use tests::{kcat, python, Cluster, OrPanic};

const CLIENT_DEADLINE: Duration = Duration::from_secs(90);

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The overrides that make listener `SSL` serve `keystore`, trusting `certs`' CA.
fn ssl_overrides(certs: &Certs, keystore: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = vec![
        (
            "listener.security.protocol.map".into(),
            "PLAINTEXT:PLAINTEXT,SSL:SSL".into(),
        ),
        ("ssl.keystore.type".into(), "PEM".into()),
        ("ssl.keystore.location".into(), path(keystore)),
        ("ssl.truststore.type".into(), "PEM".into()),
        ("ssl.truststore.location".into(), path(&certs.ca)),
        ("offsets.topic.replication.factor".into(), "1".into()),
    ];
    all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all
}

/// One broker with a PLAINTEXT listener (the harness's) and an SSL one; returns it and the
/// SSL bootstrap address.
fn start_tls_broker(
    name: &str,
    certs: &Certs,
    keystore: &Path,
    extra: &[(&str, &str)],
) -> (Cluster, String) {
    let port = free_port().or_panic("port");
    let ssl_listener = format!("SSL://127.0.0.1:{port}");
    let overrides = ssl_overrides(certs, keystore, extra);
    let overrides: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cluster = Cluster::start_setup(
        name,
        &BrokerSetup {
            overrides: &overrides,
            more_listeners: &[&ssl_listener],
            ..BrokerSetup::default()
        },
    )
    .or_panic("broker with an SSL listener");
    (cluster, format!("127.0.0.1:{port}"))
}

fn client(mode: &str, bootstrap: &str, topic: &str, certs: &Certs, me: Option<&Issued>) -> Value {
    let ca = path(&certs.ca);
    let mut args = vec![
        "--mode",
        mode,
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--cafile",
        &ca,
    ];
    let (cert, key) = me.map_or((String::new(), String::new()), |i| {
        (path(&i.cert), path(&i.key))
    });
    if me.is_some() {
        args.extend(["--certfile", &cert, "--keyfile", &key]);
    }
    let lines = python::run_json("tls_clients.py", &args, CLIENT_DEADLINE)
        .or_panic(&format!("tls_clients.py --mode {mode}"));
    lines.into_iter().next().or_panic("client output")
}

fn assert_round_trip(out: &Value, count: usize) {
    let consumed: Vec<&str> = out["consumed"]
        .as_array()
        .or_panic("consumed")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let want: Vec<String> = (0..count).map(|n| format!("tls-{n}")).collect();
    assert_eq!(consumed, want, "{out}");
}

fn kcat_tls(certs: &Certs) -> Vec<String> {
    vec![
        "security.protocol=ssl".into(),
        format!("ssl.ca.location={}", path(&certs.ca)),
    ]
}

/// Garbage instead of a ClientHello: the broker closes the connection at once.
fn assert_garbage_is_refused(ssl: &str) {
    let mut garbage = TcpStream::connect(ssl).or_panic("connect");
    garbage
        .set_read_timeout(Some(Duration::from_secs(5)))
        .or_panic("timeout");
    garbage
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .or_panic("write");
    // A TLS alert may come first; then the close (or a reset), within the read timeout.
    let mut buf = [0u8; 256];
    loop {
        match garbage.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) => {
                assert!(
                    !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ),
                    "garbage instead of a handshake left the connection open: {e}"
                );
                break;
            }
        }
    }
}

/// kafka-python, confluent-kafka and kcat over SSL, and kcat over PLAINTEXT on the same
/// broker at the same time, while a client that never sends a ClientHello holds a
/// connection open; garbage instead of a handshake is refused at once (~15 s).
#[test]
fn ssl_listener_serves_every_client_beside_plaintext() {
    let certs = Certs::new().or_panic("CA");
    let broker = certs.broker("broker", "1000").or_panic("broker cert");
    let (cluster, ssl) = start_tls_broker("tls-clients", &certs, &broker.keystore, &[]);
    // Its handshake runs in its own task, bounded in time: it holds up no one.
    let _silent = TcpStream::connect(&ssl).or_panic("silent connection");
    assert_garbage_is_refused(&ssl);

    assert_round_trip(&client("kp", &ssl, "tls-kp", &certs, None), 5);
    assert_round_trip(&client("ck", &ssl, "tls-ck", &certs, None), 5);

    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..20)
        .map(|n| (format!("k{n}").into_bytes(), format!("v{n}").into_bytes()))
        .collect();
    let tls = kcat_tls(&certs);
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    for (bootstrap, topic, config) in [
        (ssl.as_str(), "tls-kcat", &tls[..]),
        (&cluster.bootstrap(), "plain-kcat", &[][..]),
    ] {
        kcat::produce_with(bootstrap, topic, "none", &records, config, CLIENT_DEADLINE)
            .or_panic(&format!("kcat produce to {bootstrap}"));
        let got = kcat::consume_with(bootstrap, topic, records.len(), config, CLIENT_DEADLINE)
            .or_panic(&format!("kcat consume from {bootstrap}"));
        let values: Vec<Vec<u8>> = got.into_iter().filter_map(|r| r.value).collect();
        let want: Vec<Vec<u8>> = records.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(values, want, "{bootstrap}");
    }
    // Records produced over TLS are fetched over PLAINTEXT too (sendfile), and vice versa.
    let got = kcat::consume(&cluster.bootstrap(), "tls-kcat", 20, CLIENT_DEADLINE)
        .or_panic("plaintext consume of TLS-produced records");
    assert_eq!(got.len(), 20);

    // Fetches larger than one read of the segment file (the TLS path reads log slices in
    // chunks of 256 KiB): 1.5 MB produced over PLAINTEXT, consumed byte-exact over TLS.
    let big: Vec<(Vec<u8>, Vec<u8>)> = (0..1500)
        .map(|n| {
            let value = format!("{n:05}-{}", "x".repeat(1000));
            (format!("k{n}").into_bytes(), value.into_bytes())
        })
        .collect();
    kcat::produce(&cluster.bootstrap(), "big", "none", &big, CLIENT_DEADLINE)
        .or_panic("plaintext produce of 1.5 MB");
    let got = kcat::consume_with(&ssl, "big", big.len(), &tls, CLIENT_DEADLINE)
        .or_panic("TLS consume of 1.5 MB");
    let values: Vec<Vec<u8>> = got.into_iter().filter_map(|r| r.value).collect();
    assert!(
        values.len() == big.len() && values.iter().zip(&big).all(|(a, (_, b))| a == b),
        "TLS fetch differs from what was produced ({} of {} records)",
        values.len(),
        big.len()
    );
}

fn assert_refused(out: &Value) {
    assert_eq!(out["refused"], true, "{out}");
    let seconds = out["seconds"].as_f64().or_panic("seconds");
    assert!(seconds < 5.0, "refusal took {seconds} s: {out}");
}

/// `ssl.client.auth=required`: no certificate, the connection is refused at once (not left
/// hanging); with one signed by the truststore's CA, clients are served. The principal is
/// the certificate's DN as Java writes it, mapped by `ssl.principal.mapping.rules`: a DN no
/// rule maps is refused (~10 s).
#[test]
fn required_client_auth_refuses_anonymous_clients_and_serves_certified_ones() {
    let certs = Certs::new().or_panic("CA");
    let broker = certs.broker("broker", "1000").or_panic("broker cert");
    let alice = certs
        .client("alice", "/O=corp/OU=eng/CN=alice")
        .or_panic("client cert");
    let mallory = certs
        .client("mallory", "/O=corp/OU=sales/CN=mallory")
        .or_panic("client cert");
    let (cluster, ssl) = start_tls_broker(
        "tls-mtls",
        &certs,
        &broker.keystore,
        &[
            ("listener.name.ssl.ssl.client.auth", "required"),
            // Only DNs of OU=eng map to a principal.
            (
                "listener.name.ssl.ssl.principal.mapping.rules",
                "RULE:^CN=([a-z]+),OU=eng,O=corp$/$1/",
            ),
        ],
    );

    assert_refused(&client("refused", &ssl, "unused", &certs, None));
    assert_refused(&client("refused", &ssl, "unused", &certs, Some(&mallory)));

    assert_round_trip(&client("kp", &ssl, "mtls-kp", &certs, Some(&alice)), 5);
    assert_round_trip(&client("ck", &ssl, "mtls-ck", &certs, Some(&alice)), 5);
    // The refused handshake cost the broker nothing: PLAINTEXT still serves.
    kcat::produce(
        &cluster.bootstrap(),
        "after-refusal",
        "none",
        &[(b"k".to_vec(), b"v".to_vec())],
        CLIENT_DEADLINE,
    )
    .or_panic("plaintext produce after a refused TLS client");
}

fn peer_serial(ssl: &str, certs: &Certs) -> String {
    let out = client("serial", ssl, "unused", certs, None);
    out["serial"].as_str().or_panic("serial").to_owned()
}

/// Replace `target` atomically (rename), as certificate tooling does.
fn replace(target: &Path, contents: &[u8]) {
    let tmp = target.with_extension("new");
    fs::write(&tmp, contents).or_panic("write new keystore");
    fs::rename(&tmp, target).or_panic("rename new keystore");
}

/// The keystore file is replaced while the broker runs: new connections get the new
/// certificate within seconds; a broken file is logged and the certificate in use kept
/// (~10 s).
#[test]
fn a_rotated_keystore_reaches_new_connections_without_a_restart() {
    let certs = Certs::new().or_panic("CA");
    let first = certs.broker("first", "1000").or_panic("first cert");
    let second = certs.broker("second", "2000").or_panic("second cert");
    let live = certs.dir().join("live.keystore.pem");
    fs::copy(&first.keystore, &live).or_panic("copy keystore");
    let (cluster, ssl) = start_tls_broker("tls-rotate", &certs, &live, &[]);
    assert_eq!(peer_serial(&ssl, &certs), "1000");

    replace(&live, &fs::read(&second.keystore).or_panic("read"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let serial = peer_serial(&ssl, &certs);
        if serial == "2000" {
            break;
        }
        assert!(Instant::now() < deadline, "still serving serial {serial}");
        std::thread::sleep(Duration::from_millis(200));
    }

    replace(&live, b"not a PEM file\n");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !fs::read_to_string(cluster.broker.log_file())
        .unwrap_or_default()
        .contains("keeping the previous certificates")
    {
        assert!(
            Instant::now() < deadline,
            "no error logged for a broken keystore"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        peer_serial(&ssl, &certs),
        "2000",
        "the broken file replaced a good one"
    );
}

/// Three brokers whose inter-broker listener is SSL with required client certificates (each
/// broker presents its keystore): the controller's requests, follower fetches and acks=all
/// with three in-sync replicas all go over TLS (~20 s).
#[test]
fn three_brokers_replicate_over_an_ssl_inter_broker_listener() {
    let certs = Certs::new().or_panic("CA");
    let keystores: Vec<Issued> = (1..=3)
        .map(|i| {
            certs
                .broker(&format!("b{i}"), &format!("{i}00"))
                .or_panic("cert")
        })
        .collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port().or_panic("port")).collect();
    let listeners: Vec<String> = ports
        .iter()
        .map(|p| format!("INTERNAL://127.0.0.1:{p}"))
        .collect();
    let overrides: Vec<Vec<(String, String)>> = keystores
        .iter()
        .map(|k| {
            vec![
                (
                    "listener.security.protocol.map".into(),
                    "PLAINTEXT:PLAINTEXT,INTERNAL:SSL".into(),
                ),
                ("inter.broker.listener.name".into(), "INTERNAL".into()),
                ("ssl.keystore.type".into(), "PEM".into()),
                ("ssl.keystore.location".into(), path(&k.keystore)),
                ("ssl.truststore.type".into(), "PEM".into()),
                ("ssl.truststore.location".into(), path(&certs.ca)),
                (
                    "listener.name.internal.ssl.client.auth".into(),
                    "required".into(),
                ),
                ("offsets.topic.replication.factor".into(), "1".into()),
            ]
        })
        .collect();
    let borrowed: Vec<Vec<(&str, &str)>> = overrides
        .iter()
        .map(|o| o.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .collect();
    let more: Vec<[&str; 1]> = listeners.iter().map(|l| [l.as_str()]).collect();
    let setups: Vec<BrokerSetup<'_>> = (0..3)
        .map(|i| BrokerSetup {
            overrides: &borrowed[i],
            more_listeners: &more[i],
            ..BrokerSetup::default()
        })
        .collect();
    let mut cluster = MultiCluster::start_setups("tls-replicas", &setups).or_panic("cluster");

    cluster
        .create_topic("replicated", 1, 3, &[("min.insync.replicas", "3")])
        .or_panic("create topic");
    cluster
        .wait_isr_size("replicated", 1, 3, Duration::from_secs(30))
        .or_panic("ISR of 3");
    let bootstrap = cluster.bootstrap();
    let acks = python::run_json(
        "kp_produce.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "replicated",
            "--count",
            "10",
            "--acks",
            "all",
        ],
        CLIENT_DEADLINE,
    )
    .or_panic("acks=all produce with min.insync.replicas=3");
    assert_eq!(acks.len(), 10);
    cluster
        .wait_isr_size("replicated", 1, 3, Duration::from_secs(30))
        .or_panic("ISR still 3 after the produce");
}
