//! Moving a partition between a broker's two log dirs with AlterReplicaLogDirs (issue 24), as
//! Kafka does it: a future log in the new dir is filled while the partition keeps serving, then
//! swapped in. DescribeLogDirs shows the future replica during the move and the partition in
//! its new dir after it; a kafka-python producer with acks=all goes on producing throughout and
//! every record it had acknowledged is read back once; the old directory leaves the disk. A
//! move asked back to the current dir is cancelled. A broker killed mid-move resumes the move when it starts again and ends with one copy. The
//! copy is throttled (`replica.alter.log.dirs.io.max.bytes.per.second`, a dynamic broker
//! quota set with IncrementalAlterConfigs, as `kafka-configs.sh --entity-type brokers` sets
//! it) so that moves last long enough to be seen and interrupted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tests::multi::produce_direct;
use tests::traffic::{check_acknowledged, consume_all, SteadyProducer};
use tests::wire::WireClient;
use tests::{Cluster, OrPanic};

/// Copy rate of moves: a 400 KB partition takes over a second to move.
const THROTTLE: &str = "300000";
const THROTTLE_KEY: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
/// ConfigResource type BROKER.
const BROKER: i8 = 4;
const LOG_DIR_NOT_FOUND: i16 = 57;
const REPLICA_NOT_AVAILABLE: i16 = 9;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

/// AlterReplicaLogDirs (v2) of `topic`-`partition` to `dir`: the partition's error code.
fn alter(addr: &str, topic: &str, partition: i32, dir: &str) -> i16 {
    let req = AlterReplicaLogDirsRequest::default().with_dirs(vec![AlterReplicaLogDir::default()
        .with_path(StrBytes::from_string(dir.to_owned()))
        .with_topics(vec![AlterReplicaLogDirTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![partition])])]);
    let resp: AlterReplicaLogDirsResponse = WireClient::connect(addr)
        .and_then(|mut c| c.request(2, &req))
        .or_panic("AlterReplicaLogDirs");
    let [topic_result] = &resp.results[..] else {
        panic!("one topic expected: {resp:?}");
    };
    assert_eq!(topic_result.topic_name.0.as_str(), topic);
    topic_result.partitions[0].error_code
}

/// Sets the moves' I/O limit of broker 1 (IncrementalAlterConfigs SET) and waits until
/// DescribeConfigs shows it applied.
fn throttle_moves(addr: &str, rate: &str) {
    let key = || StrBytes::from_static_str(THROTTLE_KEY);
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configs(vec![AlterableConfig::default()
                .with_name(key())
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_string(rate.to_owned())))]),
    ]);
    let resp: IncrementalAlterConfigsResponse = WireClient::connect(addr)
        .and_then(|mut c| c.request(1, &req))
        .or_panic("IncrementalAlterConfigs");
    assert_eq!(resp.responses[0].error_code, 0, "{resp:?}");
    let describe =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(BROKER)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(Some(vec![key()]))]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp: DescribeConfigsResponse = WireClient::connect(addr)
            .and_then(|mut c| c.request(4, &describe))
            .or_panic("DescribeConfigs");
        let applied = resp.results[0]
            .configs
            .iter()
            .any(|c| c.name.as_str() == THROTTLE_KEY && c.value.as_deref() == Some(rate));
        if applied {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{THROTTLE_KEY} never applied: {resp:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where DescribeLogDirs (v4) puts partition 0 of `topic`: (dir, is_future, size, offset_lag)
/// for each copy.
fn copies(addr: &str, topic: &str) -> Vec<(String, bool, i64, i64)> {
    let req =
        DescribeLogDirsRequest::default()
            .with_topics(Some(vec![DescribableLogDirTopic::default()
                .with_topic(name(topic))
                .with_partitions(vec![0])]));
    let resp: DescribeLogDirsResponse = WireClient::connect(addr)
        .and_then(|mut c| c.request(4, &req))
        .or_panic("DescribeLogDirs");
    let mut found = Vec::new();
    for dir in &resp.results {
        assert_eq!(dir.error_code, 0, "{resp:?}");
        for t in dir.topics.iter().filter(|t| t.name.0.as_str() == topic) {
            for p in &t.partitions {
                found.push((
                    dir.log_dir.to_string(),
                    p.is_future_key,
                    p.partition_size,
                    p.offset_lag,
                ));
            }
        }
    }
    found
}

/// The log dir holding partition 0 of `topic` (not moving).
fn home(addr: &str, topic: &str) -> String {
    match &copies(addr, topic)[..] {
        [(dir, false, _, _)] => dir.clone(),
        other => panic!("{topic}-0 should be in one dir: {other:?}"),
    }
}

/// Polls DescribeLogDirs until `topic`-0 is only in `dir`; returns the future copies seen on
/// the way (dir, size, lag).
fn wait_moved(addr: &str, topic: &str, dir: &str, timeout: Duration) -> Vec<(String, i64, i64)> {
    let deadline = Instant::now() + timeout;
    let mut futures = Vec::new();
    loop {
        let now = copies(addr, topic);
        futures.extend(now.iter().filter(|c| c.1).map(|c| (c.0.clone(), c.2, c.3)));
        if matches!(&now[..], [(d, false, _, _)] if d == dir) {
            return futures;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}-0 never moved to {dir}: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Names in `dir` starting with `<topic>-0` (current, future or doomed copies).
fn on_disk(dir: &Path, topic: &str) -> Vec<String> {
    let prefix = format!("{topic}-0");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .or_panic("read log dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    names
}

/// Waits until `topic`-0 is on disk only as `<topic>-0` in `dir` and nowhere in `other`.
fn wait_one_copy_on_disk(dir: &Path, other: &Path, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let only = vec![format!("{topic}-0")];
    while on_disk(dir, topic) != only || !on_disk(other, topic).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{topic}-0 on disk: {:?} in the new dir, {:?} in the old",
            on_disk(dir, topic),
            on_disk(other, topic)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `batches` batches of 20 records of 1 KB to `topic`-0 (acks=all); returns how many.
fn fill(addr: &str, topic: &str, batches: usize) -> usize {
    let pad = "x".repeat(1000);
    for b in 0..batches {
        let values: Vec<String> = (0..20).map(|i| format!("fill-{b}-{i}-{pad}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let (code, _) =
            produce_direct(addr, topic, 0, -1, Duration::from_secs(10), &refs).or_panic("fill");
        assert_eq!(code, 0, "fill {topic}");
    }
    batches * 20
}

/// The other log dir.
fn other<'a>(dirs: &'a [PathBuf; 2], dir: &str) -> &'a PathBuf {
    if dirs[0] == Path::new(dir) {
        &dirs[1]
    } else {
        &dirs[0]
    }
}

#[test]
fn partitions_move_between_log_dirs_under_traffic_and_across_a_restart() {
    let root = tempfile::tempdir().or_panic("tempdir");
    let dirs = [root.path().join("a"), root.path().join("b")];
    let log_dirs = format!("{},{}", dirs[0].display(), dirs[1].display());
    let mut cluster = Cluster::start_with(
        "log-dir-moves",
        &[("log.dirs", &log_dirs), ("num.partitions", "1")],
    )
    .or_panic("cluster");
    let addr = cluster.bootstrap();
    throttle_moves(&addr, THROTTLE);

    // Errors: a dir the broker does not have; a replica it does not host.
    let a = dirs[0].display().to_string();
    assert_eq!(
        alter(&addr, "nowhere", 0, "/no/such/dir"),
        LOG_DIR_NOT_FOUND
    );
    assert_eq!(alter(&addr, "nowhere", 0, &a), REPLICA_NOT_AVAILABLE);

    // A move under an acks=all producer.
    let topic = "moving";
    WireClient::connect(&addr)
        .and_then(|mut c| c.wait_for_leader(topic, Duration::from_secs(30)))
        .or_panic("topic");
    let filled = fill(&addr, topic, 20);
    let mut producer = SteadyProducer::start(&addr, topic, "all", 5).or_panic("producer");
    producer
        .wait_more_acks(50, Duration::from_secs(30))
        .or_panic("acks before the move");
    let from = home(&addr, topic);
    let to = other(&dirs, &from).display().to_string();
    let started = Instant::now();
    assert_eq!(alter(&addr, topic, 0, &to), 0);
    let futures = wait_moved(&addr, topic, &to, Duration::from_secs(30));
    eprintln!("{topic}-0 moved in {:?}", started.elapsed());
    assert!(
        futures.iter().any(|(d, _, lag)| *d == to && *lag > 0),
        "the future replica, behind the current one, was never listed: {futures:?}"
    );
    assert!(futures.iter().all(|(d, _, _)| *d == to));
    wait_one_copy_on_disk(Path::new(&to), Path::new(&from), topic);
    producer
        .wait_more_acks(50, Duration::from_secs(30))
        .or_panic("acks after the move");
    let (acks, errors) = producer
        .finish(Duration::from_secs(30))
        .or_panic("producer");
    assert!(errors.is_empty(), "failed sends: {errors:?}");
    let consumed = consume_all(&addr, topic, Duration::from_secs(2)).or_panic("consume");
    let verdict = check_acknowledged(&acks, &consumed, |seq| format!("value-{seq}"))
        .or_panic("acknowledged records");
    assert_eq!(consumed.len(), filled + acks.len(), "{verdict:?}");

    // Cancelled: asked back to its current dir before the copy is done, it stays there and
    // the future log goes.
    let back = from;
    assert_eq!(alter(&addr, topic, 0, &back), 0);
    assert!(copies(&addr, topic).iter().any(|c| c.1 && c.0 == back));
    assert_eq!(alter(&addr, topic, 0, &to), 0);
    assert_eq!(home(&addr, topic), to);
    assert!(on_disk(Path::new(&back), topic).is_empty());

    // Killed mid-move: the restarted broker resumes the move and keeps one copy.
    let topic = "interrupted";
    WireClient::connect(&addr)
        .and_then(|mut c| c.wait_for_leader(topic, Duration::from_secs(30)))
        .or_panic("topic");
    let filled = fill(&addr, topic, 60);
    let from = home(&addr, topic);
    let to = other(&dirs, &from).display().to_string();
    assert_eq!(alter(&addr, topic, 0, &to), 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !copies(&addr, topic).iter().any(|c| c.1 && c.2 > 0) {
        assert!(Instant::now() < deadline, "the move never started copying");
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.broker.kill().or_panic("kill");
    assert_eq!(on_disk(Path::new(&from), topic).len(), 1, "current log");
    let future = on_disk(Path::new(&to), topic);
    assert!(
        matches!(&future[..], [f] if f.ends_with("-future")),
        "future log: {future:?}"
    );
    cluster.broker.restart().or_panic("restart");
    cluster
        .broker
        .wait_registered(Duration::from_secs(30))
        .or_panic("registered");
    wait_moved(&addr, topic, &to, Duration::from_secs(30));
    wait_one_copy_on_disk(Path::new(&to), Path::new(&from), topic);
    let consumed = consume_all(&addr, topic, Duration::from_secs(2)).or_panic("consume");
    assert_eq!(consumed.len(), filled);
    let offsets: Vec<i64> = consumed.iter().map(|c| c.offset).collect();
    assert_eq!(offsets, (0..filled as i64).collect::<Vec<_>>());
}
