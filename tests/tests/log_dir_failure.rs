//! A log dir on a disk that fills up (a small tmpfs), written by confluent-kafka producers of
//! 1 KiB records. As in Kafka: the first write the disk refuses takes the dir offline with one
//! ERROR naming it and the cause; its partitions answer KAFKA_STORAGE_ERROR; the controller
//! moves their leadership to replicas on healthy brokers (an acks=all producer carries on); a
//! broker left without a dir shuts down (exit status 1). Nothing acknowledged is lost, and a
//! broker restarted once there is room again recovers its partitions.
//!
//! Needs root to mount the tmpfs: otherwise each test prints SKIPPED and passes.

use std::time::{Duration, Instant};

use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, CreateTopicsResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tests::broker::BrokerProcess;
use tests::multi::{produce_direct, MultiCluster};
use tests::tmpfs::Tmpfs;
use tests::traffic::{check_acknowledged, consume_all_sized, Ack, Consumed, SteadyProducer};
use tests::wire::WireClient;
use tests::{Cluster, OrPanic};

/// Value size of every record, as in the report.
const RECORD_SIZE: usize = 1024;
const PRODUCER: &str = "ck_steady_produce.py";
/// KAFKA_STORAGE_ERROR.
const STORAGE_ERROR: i16 = 56;

/// A tmpfs of `size`, or None (with SKIPPED printed) where none can be mounted.
fn tmpfs_or_skip(test: &str, size: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(size) {
        Ok(disk) => Some(disk),
        Err(why) => {
            eprintln!("SKIPPED {test}: cannot mount a tmpfs ({why})");
            println!("SKIPPED {test}: cannot mount a tmpfs");
            None
        }
    }
}

fn value_of(seq: i64) -> String {
    format!("value-{seq}")
}

/// The lines of the broker's log holding every one of `words`.
fn log_lines(broker: &BrokerProcess, words: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(broker.log_file()).unwrap_or_default();
    text.lines()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .map(str::to_owned)
        .collect()
}

/// Checks that every acknowledged record is in the topic once, at its offset, whole.
fn assert_nothing_acknowledged_lost(bootstrap: &str, topic: &str, acks: &[Ack]) {
    let consumed = consume_all_sized(bootstrap, topic, Duration::from_secs(3)).or_panic("consume");
    if let Some((c, size)) = consumed.iter().find(|(_, size)| *size != RECORD_SIZE) {
        panic!("{c:?} holds {size} bytes, not {RECORD_SIZE}");
    }
    let records: Vec<Consumed> = consumed.into_iter().map(|(c, _)| c).collect();
    let verdict = check_acknowledged(acks, &records, value_of).or_panic("acknowledged records");
    eprintln!(
        "{topic}: {} acknowledged records all there ({} records in the log)",
        acks.len(),
        records.len()
    );
    assert!(verdict.per_partition.values().sum::<usize>() >= acks.len());
}

#[test]
fn a_full_log_dir_stops_its_broker_and_a_restart_with_room_recovers() {
    let test = "a_full_log_dir_stops_its_broker_and_a_restart_with_room_recovers";
    let Some(disk) = tmpfs_or_skip(test, "12m") else {
        return;
    };
    let ballast = disk.ballast("ballast", 2 << 20).or_panic("ballast");
    let dir = disk.path().display().to_string();
    let mut cluster = Cluster::start_with("disk-full", &[("log.dirs", &dir)]).or_panic("cluster");
    let bootstrap = cluster.bootstrap();
    let args = ["--acks", "1", "--message-timeout-ms", "10000"];
    let mut producer =
        SteadyProducer::start_script(PRODUCER, &bootstrap, "filling", &args).or_panic("producer");

    // ~10 MB of 1 KiB records fill the disk; with its only log dir failed the broker stops.
    let deadline = Instant::now() + Duration::from_secs(120);
    while cluster.broker.is_running() {
        assert!(
            Instant::now() < deadline,
            "the broker still runs after {} acknowledgements:\n{}",
            producer.acks().len(),
            cluster.broker.log_tail()
        );
        let _ = producer.wait_more_acks(1, Duration::from_millis(500));
    }
    let status = cluster
        .broker
        .wait_exit(Duration::from_secs(5))
        .or_panic("exit");
    assert_eq!(status.code(), Some(1), "{}", cluster.broker.log_tail());
    let (acks, errors) = producer
        .finish(Duration::from_secs(60))
        .or_panic("producer");
    assert!(acks.len() > 5000, "only {} acknowledged", acks.len());
    assert!(
        !errors.is_empty(),
        "nothing failed although the disk is full"
    );

    // One ERROR naming the dir and the cause; no panic.
    let failed = log_lines(&cluster.broker, &["ERROR", "log dir failed", &dir]);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].contains("No space left on device"),
        "{}",
        failed[0]
    );
    assert_eq!(
        log_lines(
            &cluster.broker,
            &["ERROR", "every log dir has failed: shutting"]
        )
        .len(),
        1,
        "{}",
        cluster.broker.log_tail()
    );
    assert!(log_lines(&cluster.broker, &["panicked"]).is_empty());

    // Still full: starting again neither hangs nor panics (recovery writes little, so it
    // usually starts; a recovery write the disk refuses stops it with that error).
    match cluster.broker.restart() {
        Ok(()) => cluster.broker.stop().or_panic("stop"),
        Err(e) => assert!(e.to_string().contains("broker failed"), "{e}"),
    }
    assert!(log_lines(&cluster.broker, &["panicked"]).is_empty());

    // Room again: the restarted broker recovers the partition and takes writes.
    std::fs::remove_file(&ballast).or_panic("free the disk");
    cluster.broker.restart().or_panic("restart");
    cluster
        .broker
        .wait_registered(Duration::from_secs(30))
        .or_panic("registered");
    assert_nothing_acknowledged_lost(&bootstrap, "filling", &acks);
    let args = ["--acks", "1", "--count", "100"];
    let mut more =
        SteadyProducer::start_script(PRODUCER, &bootstrap, "filling", &args).or_panic("producer");
    more.wait_more_acks(100, Duration::from_secs(30))
        .or_panic("writes after the restart");
}

/// CreateTopics v5 to the controller: one partition on `replicas` (the first leads).
fn create_topic(cluster: &mut MultiCluster, topic: &str, replicas: &[i32]) {
    let controller = cluster.controller().or_panic("metadata");
    assert!(controller > 0, "no controller");
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(vec![CreatableReplicaAssignment::default()
                .with_partition_index(0)
                .with_broker_ids(
                    replicas.iter().map(|b| BrokerId(*b)).collect(),
                )])])
        .with_timeout_ms(15_000);
    let addr = cluster.broker(controller).bootstrap();
    let response: CreateTopicsResponse = WireClient::connect(&addr)
        .and_then(|mut c| c.request(5, &request))
        .or_panic("CreateTopics");
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
    let isr = replicas.len();
    cluster
        .wait_isr_size(topic, 1, isr, Duration::from_secs(30))
        .or_panic("ISR");
}

#[test]
fn a_failed_log_dir_moves_leadership_away_and_an_acks_all_producer_carries_on() {
    let test = "a_failed_log_dir_moves_leadership_away_and_an_acks_all_producer_carries_on";
    let Some(disk) = tmpfs_or_skip(test, "8m") else {
        return;
    };
    let healthy = tempfile::tempdir().or_panic("tempdir");
    let failing = disk.path().display().to_string();
    let dirs = format!("{failing},{}", healthy.path().display());
    let mut cluster =
        MultiCluster::start_each("log-dir-failure", &[&[("log.dirs", &dirs)], &[], &[]])
            .or_panic("cluster");
    // Broker 1 leads both; it puts each new partition in its dir holding fewest: the first
    // goes to the tmpfs, the second to the healthy dir.
    create_topic(&mut cluster, "filling", &[1, 2, 3]);
    create_topic(&mut cluster, "healthy", &[1, 2, 3]);
    assert!(disk.path().join("filling-0").is_dir());
    assert!(healthy.path().join("healthy-0").is_dir());

    let bootstrap = cluster.bootstrap();
    let args = ["--acks", "all", "--idempotence"];
    let mut producer =
        SteadyProducer::start_script(PRODUCER, &bootstrap, "filling", &args).or_panic("producer");
    let deadline = Instant::now() + Duration::from_secs(120);
    while log_lines(cluster.broker(1), &["log dir failed"]).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no log dir failure after {} acknowledgements",
            producer.acks().len()
        );
        let _ = producer.wait_more_acks(1, Duration::from_millis(200));
    }
    let failed_at = Instant::now();
    let acked_before = producer.acks().len();

    // Within seconds the controller moves leadership to an in-sync replica on a healthy broker
    // and takes broker 1's replica out of the ISR.
    cluster
        .wait_for(
            Duration::from_secs(10),
            "leadership moved off broker 1",
            |c| {
                let (leader, isr) = c.leader_and_isr("filling", 0)?.unwrap_or((-1, vec![]));
                Ok(leader > 1 && !isr.contains(&1))
            },
        )
        .or_panic("failover");
    eprintln!(
        "leadership moved within {:?} of the failure showing in the log ({acked_before} acknowledged before)",
        failed_at.elapsed()
    );
    producer
        .wait_more_acks(2000, Duration::from_secs(60))
        .or_panic("the producer carries on");
    let (acks, errors) = producer
        .finish(Duration::from_secs(60))
        .or_panic("producer");
    assert!(
        errors.is_empty(),
        "acks=all records failed: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert_nothing_acknowledged_lost(&cluster.bootstrap(), "filling", &acks);

    // Broker 1 keeps serving its other dir, and shows which one failed.
    assert!(cluster.broker(1).is_running());
    let b1 = cluster.broker(1).bootstrap();
    let (code, _) = produce_direct(
        &b1,
        "healthy",
        0,
        1,
        Duration::from_secs(10),
        &["still here"],
    )
    .or_panic("produce to the healthy dir");
    assert_eq!(code, 0);
    let (code, _) = produce_direct(&b1, "filling", 0, 1, Duration::from_secs(10), &["lost"])
        .or_panic("produce to the failed dir");
    assert_eq!(
        code, STORAGE_ERROR,
        "an offline replica answers nothing else"
    );
    let described: DescribeLogDirsResponse = WireClient::connect(&b1)
        .and_then(|mut c| c.request(1, &DescribeLogDirsRequest::default().with_topics(None)))
        .or_panic("DescribeLogDirs");
    let result = |dir: &str| {
        described
            .results
            .iter()
            .find(|r| r.log_dir.as_str() == dir)
            .or_panic(dir)
    };
    let offline = result(&failing);
    assert_eq!(offline.error_code, STORAGE_ERROR);
    assert!(offline.topics.is_empty());
    let online = result(&healthy.path().display().to_string());
    assert_eq!(online.error_code, 0);
    assert!(online.topics.iter().any(|t| t.name.0.as_str() == "healthy"));
    // Metadata (v5+) names the offline replica, as the controller's UpdateMetadata did.
    let metadata: MetadataResponse = WireClient::connect(&b1)
        .and_then(|mut c| c.request(9, &MetadataRequest::default().with_topics(None)))
        .or_panic("Metadata");
    let offline_replicas: Vec<i32> = metadata
        .topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "filling"))
        .flat_map(|t| &t.partitions)
        .flat_map(|p| p.offline_replicas.iter().map(|b| b.0))
        .collect();
    assert_eq!(offline_replicas, vec![1]);

    // The controller deleted the notification it handled; the broker logged one ERROR.
    cluster
        .wait_for(Duration::from_secs(10), "notification handled", |c| {
            Ok(c.zk_ls("/log_dir_event_notification")?.is_empty())
        })
        .or_panic("notification");
    let failed = log_lines(cluster.broker(1), &["ERROR", "log dir failed", &failing]);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].contains("No space left on device"),
        "{}",
        failed[0]
    );
}
