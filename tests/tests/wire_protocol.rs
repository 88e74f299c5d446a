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

/// A frame of `key`, `version` (header with a null client id) and `body`, size prefix included.
fn raw_request(key: ApiKey, version: i16, flexible_header: bool, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&(key as i16).to_be_bytes());
    frame.extend_from_slice(&version.to_be_bytes());
    frame.extend_from_slice(&7i32.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes());
    if flexible_header {
        frame.push(0); // no tagged fields
    }
    frame.extend_from_slice(body);
    let mut out = (frame.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&frame);
    out
}

#[test]
fn an_element_count_the_frame_cannot_hold_closes_only_that_connection() {
    let mut cluster = Cluster::start("wire-counts").or_panic("start cluster");
    // Each claims about two billion (four for the varint) elements in a frame of a few bytes.
    // Decoding reserved room for all of them before reading one: tens to hundreds of GiB,
    // which the allocator refused, and the broker aborted.
    let frames = [
        // Metadata v0: topics.
        raw_request(ApiKey::Metadata, 0, false, &[0x7f, 0xff, 0xff, 0xff]),
        // Metadata v9 (flexible): topics as a compact array, length u32::MAX.
        raw_request(ApiKey::Metadata, 9, true, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        // Produce v3: null transactional id, acks 1, timeout 1000 ms, then topic_data.
        raw_request(
            ApiKey::Produce,
            3,
            false,
            &[0xff, 0xff, 0, 1, 0, 0, 0x03, 0xe8, 0x7f, 0xff, 0xff, 0xff],
        ),
        // OffsetCommit v2: group "g", generation 1, member "m", retention -1, then topics.
        raw_request(
            ApiKey::OffsetCommit,
            2,
            false,
            &[
                0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0x7f, 0xff, 0xff, 0xf0,
            ],
        ),
    ];
    for (i, frame) in frames.iter().enumerate() {
        let mut bad = WireClient::connect(&cluster.bootstrap()).or_panic("connect");
        bad.send_raw(frame).or_panic("write");
        assert!(
            bad.is_closed_by_peer(Duration::from_secs(10))
                .or_panic("read"),
            "frame {i}: the broker should drop a connection that sent a malformed request"
        );
        assert!(
            cluster.broker.is_running(),
            "frame {i} killed the broker:\n{}",
            cluster.broker.log_tail()
        );
        let mut good = WireClient::connect(&cluster.bootstrap()).or_panic("connect");
        assert_eq!(good.api_versions(3).or_panic("ApiVersions").error_code, 0);
    }
}
