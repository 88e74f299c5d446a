//! DeleteRecords and OffsetDelete with real admin clients.
//!
//! DeleteRecords, from kafka-python's and confluent-kafka's admin clients, on a 3-broker RF 3
//! partition of many small segments: the low watermark answered is the offset asked (every
//! replica followed before the answer), ListOffsets earliest returns it, a consumer from the
//! beginning starts there, one that may not reset its offset gets OFFSET_OUT_OF_RANGE below
//! it, and on every replica the segments wholly below it are gone. All of it holds after every
//! broker restarted (the start inside a segment comes back from `log-start-offset-checkpoint`)
//! and after leadership moved; -1 deletes up to the high watermark, an offset past it is
//! OFFSET_OUT_OF_RANGE, an unknown topic UNKNOWN_TOPIC_OR_PARTITION and a follower answers
//! NOT_LEADER_OR_FOLLOWER.
//!
//! OffsetDelete, from kafka-python's admin client and from librdkafka's (the one confluent-kafka
//! bundles, called through ctypes: confluent-kafka 2.16 has no Python method for it): an empty
//! group's offsets are removed from `/consumers` (the topic node too once its last partition
//! went), a topic an active member consumes is refused with GROUP_SUBSCRIBED_TO_TOPIC until the
//! member left, unknown groups and topics are errors.

use std::fs;
use std::path::Path;
use std::time::Duration;

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    BrokerId, DeleteRecordsRequest, DeleteRecordsResponse, ListOffsetsRequest, ListOffsetsResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use tests::check::int;
use tests::multi::{produce_direct, MultiCluster};
use tests::python;
use tests::wire::WireClient;
use tests::OrPanic;

const TOPIC: &str = "purge";
const TIMEOUT: Duration = Duration::from_secs(60);
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// Base offsets of the segments in a partition directory, ascending.
fn segment_bases(dir: &Path) -> Vec<i64> {
    let mut bases: Vec<i64> = fs::read_dir(dir)
        .or_panic("partition dir")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    bases.sort_unstable();
    bases
}

/// The log start of the replica on `addr`: ListOffsets earliest as a debugging client
/// (replica id -2), which any replica answers.
fn replica_log_start(addr: &str) -> std::io::Result<i64> {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-2))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(TOPIC))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-2)])]);
    let response: ListOffsetsResponse = WireClient::connect(addr)?.request(4, &request)?;
    let p = response
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| std::io::Error::other("empty ListOffsets response"))?;
    if p.error_code != 0 {
        return Err(std::io::Error::other(format!("error {}", p.error_code)));
    }
    Ok(p.offset)
}

/// DeleteRecords v2 straight to `addr`: (error code, low watermark).
fn delete_records_wire(addr: &str, topic: &str, offset: i64) -> (i16, i64) {
    let request = DeleteRecordsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(offset)])]);
    let response: DeleteRecordsResponse = WireClient::connect(addr)
        .and_then(|mut c| c.request(2, &request))
        .or_panic("DeleteRecords");
    let p = response
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .or_panic("DeleteRecords partition");
    (p.error_code, p.low_watermark)
}

/// Runs a `*_delete_records.py` script: delete below `offset` (if any), then, with `check`,
/// look at what consumers see. Returns the output lines by event.
fn client(c: &mut MultiCluster, script: &str, offset: Option<i64>, check: bool) -> Value {
    let bootstrap = c.bootstrap();
    let offset = offset.map(|o| o.to_string());
    let mut args = vec!["--bootstrap", &bootstrap, "--topic", TOPIC];
    if let Some(o) = &offset {
        args.extend(["--offset", o]);
    }
    if check {
        args.push("--check");
    }
    let lines = python::run_json(script, &args, TIMEOUT).or_panic(script);
    let mut by_event = serde_json::Map::new();
    for line in lines {
        if let Some(event) = line["event"].as_str() {
            by_event.insert(event.to_owned(), line.clone());
        }
    }
    Value::Object(by_event)
}

/// What consumers see once the log starts at `start`, and the error a consumer that may not
/// reset gets below it, as `script` reports them.
fn assert_starts_at(seen: &Value, start: i64, below_error: &str, when: &str) {
    assert_eq!(int(&seen["earliest"], "offset"), start, "{when}: {seen}");
    assert_eq!(int(&seen["first"], "offset"), start, "{when}: {seen}");
    assert_eq!(seen["below"]["error"], below_error, "{when}: {seen}");
}

/// Every replica's log starts at `start`, and its segments wholly below it are gone.
fn assert_replicas_start_at(c: &mut MultiCluster, start: i64, when: &str) {
    c.wait_for(
        TIMEOUT,
        &format!("{when}: every replica starts at {start}"),
        |c| {
            Ok(c.brokers
                .iter()
                .all(|b| replica_log_start(&b.bootstrap()).is_ok_and(|s| s == start)))
        },
    )
    .or_panic(when);
    for b in &c.brokers {
        let bases = segment_bases(&b.partition_dir(TOPIC, 0));
        assert!(
            bases.first().is_some_and(|&first| first <= start)
                && bases.get(1).is_none_or(|&second| second > start),
            "{when}: broker {} keeps segments {bases:?} for a log starting at {start}",
            b.id()
        );
    }
}

fn leader(c: &MultiCluster) -> i32 {
    c.partitions(TOPIC).or_panic("leaders")[&0].0
}

fn produce(c: &mut MultiCluster, batches: usize) {
    let addr = c.broker(leader(c)).bootstrap();
    let values: Vec<String> = (0..5).map(|i| format!("{i:0>100}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    for _ in 0..batches {
        let (code, _) = produce_direct(&addr, TOPIC, 0, -1, Duration::from_secs(10), &values)
            .or_panic("produce");
        assert_eq!(code, 0, "produce");
    }
}

#[test]
fn delete_records_from_admin_clients_survives_restarts_and_leader_changes() {
    let mut c = MultiCluster::start("delete-records", 3, &[]).or_panic("cluster");
    c.create_topic(TOPIC, 1, 3, &[("segment.bytes", "1024")])
        .or_panic("topic");
    c.wait_isr_size(TOPIC, 1, 3, TIMEOUT).or_panic("ISR");
    // 40 batches of 5 records of ~100 bytes: one batch per 1 KiB segment on the leader.
    produce(&mut c, 40);
    let bases = segment_bases(&c.broker(leader(&c)).partition_dir(TOPIC, 0));
    assert!(bases.len() >= 20, "segments {bases:?}");

    // kafka-python, inside the third segment.
    let first = bases[2] + 2;
    let seen = client(&mut c, "kp_delete_records.py", Some(first), true);
    assert_eq!(int(&seen["deleted"], "low_watermark"), first, "{seen}");
    assert_starts_at(&seen, first, "OffsetOutOfRangeError", "kafka-python");
    assert_replicas_start_at(&mut c, first, "kafka-python");

    // confluent-kafka, further on; then an offset past the high watermark (200).
    let second = bases[9] + 3;
    let seen = client(&mut c, "ck_delete_records.py", Some(second), true);
    assert_eq!(int(&seen["deleted"], "low_watermark"), second, "{seen}");
    assert_starts_at(&seen, second, "_AUTO_OFFSET_RESET", "confluent-kafka");
    assert_replicas_start_at(&mut c, second, "confluent-kafka");
    for (script, error) in [
        ("kp_delete_records.py", "OffsetOutOfRangeError"),
        ("ck_delete_records.py", "OFFSET_OUT_OF_RANGE"),
    ] {
        let seen = client(&mut c, script, Some(201), false);
        assert_eq!(seen["deleted"]["error"], error, "{script}: {seen}");
    }
    // The answers clients never get to see: they check the topic and the leader first.
    let lead = leader(&c);
    let follower = if lead == 1 { 2 } else { 1 };
    let (leader_addr, follower_addr) = (c.broker(lead).bootstrap(), c.broker(follower).bootstrap());
    assert_eq!(
        delete_records_wire(&leader_addr, "no-such-topic", 1).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        delete_records_wire(&follower_addr, TOPIC, second).0,
        NOT_LEADER_OR_FOLLOWER
    );
    // A lower offset changes nothing and answers the low watermark.
    assert_eq!(delete_records_wire(&leader_addr, TOPIC, 1), (0, second));

    // Every broker restarted: the start, inside a segment, comes back from the checkpoint.
    for b in &mut c.brokers {
        b.stop().or_panic("stop");
    }
    for b in &mut c.brokers {
        b.restart().or_panic("restart");
    }
    c.wait_isr_size(TOPIC, 1, 3, TIMEOUT)
        .or_panic("ISR after restart");
    assert_replicas_start_at(&mut c, second, "after a restart");
    let seen = client(&mut c, "kp_delete_records.py", None, true);
    assert_starts_at(&seen, second, "OffsetOutOfRangeError", "after a restart");

    // Leadership moves (controlled shutdown of the leader): the new leader starts there too,
    // and -1 deletes up to its high watermark without waiting for the broker that is down.
    let old = leader(&c);
    c.broker(old).stop().or_panic("stop the leader");
    c.wait_for(TIMEOUT, "a new leader", |c| {
        Ok(c.partitions(TOPIC)?
            .get(&0)
            .is_some_and(|(l, _)| *l >= 0 && *l != old))
    })
    .or_panic("leadership moved");
    let seen = client(&mut c, "ck_delete_records.py", None, true);
    assert_starts_at(&seen, second, "_AUTO_OFFSET_RESET", "new leader");
    produce(&mut c, 2);
    // The leader must know the stopped broker is gone, or it would wait for it.
    let new_leader = c.broker(leader(&c)).bootstrap();
    c.wait_for(TIMEOUT, "the stopped broker unlisted", |_| {
        Ok(MultiCluster::metadata_from(&new_leader)?.brokers.len() == 2)
    })
    .or_panic("metadata");
    let seen = client(&mut c, "ck_delete_records.py", Some(-1), false);
    assert_eq!(int(&seen["deleted"], "low_watermark"), 210, "{seen}");
    c.broker(old).restart().or_panic("restart the old leader");
    c.wait_isr_size(TOPIC, 1, 3, TIMEOUT).or_panic("ISR again");
    assert_replicas_start_at(&mut c, 210, "the old leader caught up");

    // -1 again from kafka-python, after more records: everything up to the high watermark.
    produce(&mut c, 1);
    let seen = client(&mut c, "kp_delete_records.py", Some(-1), false);
    assert_eq!(int(&seen["deleted"], "low_watermark"), 215, "{seen}");
    assert_replicas_start_at(&mut c, 215, "-1 from kafka-python");
}

#[test]
fn offset_delete_removes_an_empty_groups_offsets_but_not_those_members_consume() {
    let mut c = MultiCluster::start("offset-delete", 1, &[]).or_panic("cluster");
    c.create_topic("od-consumed", 2, 1, &[]).or_panic("topic");
    c.create_topic("od-other", 1, 1, &[]).or_panic("topic");
    let bootstrap = c.bootstrap();
    let args = [
        "--bootstrap",
        &bootstrap,
        "--topic",
        "od-consumed",
        "--other",
        "od-other",
    ];
    let lines = python::run_json("kp_offset_delete.py", &args, TIMEOUT).or_panic("script");
    let step = |event: &str| {
        lines
            .iter()
            .find(|l| l["event"] == event)
            .or_panic(event)
            .clone()
    };
    let results = |event: &str| step(event)["results"].clone();
    assert_eq!(
        results("empty"),
        serde_json::json!({"od-consumed/0": "NoError", "od-other/0": "NoError"})
    );
    assert_eq!(
        results("active"),
        serde_json::json!({
            "od-consumed/0": "GroupSubscribedToTopicError",
            "od-other/0": "NoError",
        })
    );
    assert_eq!(
        results("left"),
        serde_json::json!({"od-consumed/0": "NoError"})
    );
    assert_eq!(
        results("unknown_topic"),
        serde_json::json!({"od-no-such-topic/0": "UnknownTopicOrPartitionError"})
    );
    assert_eq!(step("unknown_group")["error"], "GroupIdNotFoundError");
    let left = |group: &str| {
        lines
            .iter()
            .find(|l| l["event"] == "offsets" && l["group"] == group)
            .or_panic(group)["partitions"]
            .clone()
    };
    assert_eq!(left("od-empty"), serde_json::json!(["od-consumed/1"]));
    assert_eq!(left("od-active"), serde_json::json!(["od-consumed/1"]));

    // The same through librdkafka (confluent-kafka's), whose request is its own encoding.
    let lines = python::run_json("ck_offset_delete.py", &args, TIMEOUT).or_panic("librdkafka");
    let step = |event: &str| {
        let line = lines.iter().find(|l| l["event"] == event).or_panic(event);
        (line["error"].clone(), line["results"].clone())
    };
    let ok = Value::Null;
    assert_eq!(
        step("empty"),
        (
            ok.clone(),
            serde_json::json!({"od-consumed/0": "NO_ERROR", "od-other/0": "NO_ERROR"})
        )
    );
    assert_eq!(
        step("active"),
        (
            ok.clone(),
            serde_json::json!({
                "od-consumed/0": "GROUP_SUBSCRIBED_TO_TOPIC",
                "od-other/0": "NO_ERROR",
            })
        )
    );
    assert_eq!(
        step("left"),
        (ok, serde_json::json!({"od-consumed/0": "NO_ERROR"}))
    );
    assert_eq!(step("unknown_group").0, "GROUP_ID_NOT_FOUND", "{lines:?}");

    // In ZooKeeper: the deleted partitions' nodes are gone, and od-other's topic nodes with
    // its last partition.
    for group in ["od-empty", "od-active", "ck-empty", "ck-active"] {
        for subtree in ["offsets", "offset_metadata"] {
            let path = format!("/consumers/{group}/{subtree}");
            assert_eq!(
                c.zk_ls(&path).or_panic(&path),
                vec!["od-consumed".to_string()],
                "{path}"
            );
            let path = format!("{path}/od-consumed");
            assert_eq!(
                c.zk_ls(&path).or_panic(&path),
                vec!["1".to_string()],
                "{path}"
            );
        }
    }
}
