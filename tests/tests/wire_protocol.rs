//! Requests sent byte for byte with our own small client: ApiVersions at old and flexible
//! versions, and garbage that must close one connection without hurting the broker.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use tests::wire::WireClient;
use tests::Cluster;
use tests::OrPanic;

#[test]
fn api_versions_v0_and_v3_list_the_core_apis() {
    let cluster = Cluster::start("wire-apiversions").or_panic("start cluster");
    for version in [0, 3] {
        let mut client = WireClient::connect(&cluster.bootstrap()).or_panic("connect");
        let response = client.api_versions(version).or_panic("ApiVersions");
        assert_eq!(response.error_code, 0, "v{version}");
        for key in [
            ApiKey::Produce,
            ApiKey::Fetch,
            ApiKey::ListOffsets,
            ApiKey::Metadata,
            ApiKey::ApiVersions,
        ] {
            assert!(
                response.api_keys.iter().any(|k| k.api_key == key as i16),
                "v{version}: {key:?} missing from {:?}",
                response.api_keys
            );
        }
    }
}

#[test]
fn garbage_closes_the_connection_and_the_broker_keeps_serving() {
    let mut cluster = Cluster::start("wire-garbage").or_panic("start cluster");
    let mut bad = WireClient::connect(&cluster.bootstrap()).or_panic("connect");
    // A frame claiming 8 bytes that hold an unknown API key and nonsense.
    bad.send_raw(&[0, 0, 0, 8, 0x7f, 0x7f, 0, 0, 0xde, 0xad, 0xbe, 0xef])
        .or_panic("write");
    assert!(
        bad.is_closed_by_peer(Duration::from_secs(10))
            .or_panic("read"),
        "the broker should drop a connection speaking nonsense"
    );
    // A negative frame size.
    let mut bad = WireClient::connect(&cluster.bootstrap()).or_panic("connect");
    bad.send_raw(&[0xff, 0xff, 0xff, 0xf0]).or_panic("write");
    assert!(bad
        .is_closed_by_peer(Duration::from_secs(10))
        .or_panic("read"));

    assert!(cluster.broker.is_running(), "broker died on bad input");
    let mut good = WireClient::connect(&cluster.bootstrap()).or_panic("connect");
    assert_eq!(good.api_versions(3).or_panic("ApiVersions").error_code, 0);
}
