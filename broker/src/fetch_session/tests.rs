use super::*;
use kafka_protocol::messages::fetch_request::ForgottenTopic;
use kafka_protocol::messages::BrokerId;
use kafka_protocol::protocol::StrBytes;

fn name(s: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(s))
}

fn part(index: i32, offset: i64) -> FetchPartition {
    FetchPartition::default()
        .with_partition(index)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1 << 20)
}

fn request(id: i32, epoch: i32, topics: Vec<(&'static str, Vec<FetchPartition>)>) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_session_id(id)
        .with_session_epoch(epoch)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    FetchTopic::default()
                        .with_topic(name(t))
                        .with_partitions(ps)
                })
                .collect(),
        )
}

/// The answer a broker would give for `topics`: each partition with the given high
/// watermark, and records (here: their length) as given.
fn answer(topics: &[FetchTopic], hw: impl Fn(i32) -> i64) -> Vec<FetchableTopicResponse> {
    topics
        .iter()
        .map(|t| {
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            PartitionData::default()
                                .with_partition_index(p.partition)
                                .with_high_watermark(hw(p.partition))
                                .with_log_start_offset(0)
                        })
                        .collect(),
                )
        })
        .collect()
}

fn answered(topics: &[FetchableTopicResponse]) -> Vec<(String, i32)> {
    topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.topic.0.to_string(), p.partition_index))
        })
        .collect()
}

/// Runs one fetch through the cache: what was read, and the response's session id and
/// partitions. `records(p)` is the records length partition `p` returns.
fn fetch(
    sessions: &FetchSessions,
    req: &FetchRequest,
    hw: impl Fn(i32) -> i64,
    records: impl Fn(i32) -> usize,
) -> (Tps, Result<i32, ResponseError>, Tps) {
    let now = Instant::now();
    let session = sessions.begin(req, 12, now);
    let (read, slots) = match &session {
        SessionFetch::Incremental { .. } => match sessions.to_read(&session, now) {
            Ok(r) => (r.topics, r.slots),
            Err(e) => return (Vec::new(), Err(e), Vec::new()),
        },
        SessionFetch::Error(_) => (Vec::new(), Vec::new()),
        _ => (req.topics.clone(), Vec::new()),
    };
    let mut topics = answer(&read, hw);
    let mut recs: Vec<usize> = read
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| records(p.partition)))
        .collect();
    let visits = vec![
        Visit {
            partition: None,
            generation: 0,
        };
        recs.len()
    ];
    let id = sessions.complete(
        &session,
        (&req.topics, &slots),
        Answer {
            topics: &mut topics,
            records: &mut recs,
            visits,
        },
        |r| *r > 0,
        now,
    );
    let read_tps = read
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.topic.0.to_string(), p.partition))
        })
        .collect();
    assert_eq!(
        recs.len(),
        answered(&topics).len(),
        "records follow partitions"
    );
    (read_tps, id, answered(&topics))
}

type Tps = Vec<(String, i32)>;

fn no_visit() -> Visit {
    Visit {
        partition: None,
        generation: 0,
    }
}

/// Opens a session of partition a/0 at offset 0; its id.
fn open_a0(sessions: &FetchSessions) -> i32 {
    let full = request(0, 0, vec![("a", vec![part(0, 0)])]);
    let (_, id, _) = fetch(sessions, &full, |_| 0, |_| 0);
    id.expect("session")
}

fn tp(t: &str, i: i32) -> (String, i32) {
    (t.to_string(), i)
}

#[test]
fn a_session_answers_only_partitions_with_news() {
    let sessions = FetchSessions::default();
    let full = request(
        0,
        0,
        vec![("a", vec![part(0, 5), part(1, 7)]), ("b", vec![part(0, 1)])],
    );
    let (_, id, got) = fetch(&sessions, &full, |_| 10, |_| 0);
    let id = id.expect("session created");
    assert_ne!(id, 0);
    assert_eq!(got.len(), 3, "a full fetch answers every partition");

    // Nothing changed: every session partition is read, none is answered.
    let (read, res, got) = fetch(&sessions, &request(id, 1, vec![]), |_| 10, |_| 0);
    assert_eq!(res, Ok(id));
    assert_eq!(read.len(), 3);
    assert!(got.is_empty(), "{got:?}");

    // Records in a/1; the high watermarks of a/0 and b/0 (both index 0) moved.
    let (_, _, got) = fetch(
        &sessions,
        &request(id, 2, vec![]),
        |p| if p == 0 { 11 } else { 10 },
        |p| usize::from(p == 1) * 100,
    );
    assert_eq!(got.len(), 3);
    let (_, _, got) = fetch(
        &sessions,
        &request(id, 3, vec![]),
        |p| if p == 0 { 11 } else { 10 },
        |p| usize::from(p == 1) * 100,
    );
    assert_eq!(got, vec![tp("a", 1)], "only the partition with records");
}

#[test]
fn incremental_requests_update_add_and_forget_partitions() {
    let sessions = FetchSessions::default();
    let (_, id, _) = fetch(
        &sessions,
        &request(0, 0, vec![("a", vec![part(0, 0), part(1, 0)])]),
        |_| 0,
        |_| 0,
    );
    let id = id.expect("session");
    let mut req = request(
        id,
        1,
        vec![("a", vec![part(1, 42)]), ("c", vec![part(3, 0)])],
    );
    req.forgotten_topics_data = vec![ForgottenTopic::default()
        .with_topic(name("a"))
        .with_partitions(vec![0])];
    let now = Instant::now();
    let session = sessions.begin(&req, 12, now);
    let topics = sessions.to_read(&session, now).expect("to read").topics;
    let mut read: Vec<(String, i32, i64)> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.topic.0.to_string(), p.partition, p.fetch_offset))
        })
        .collect();
    read.sort();
    assert_eq!(
        read,
        vec![("a".to_string(), 1, 42), ("c".to_string(), 3, 0)],
        "a/0 forgotten, a/1 at its new offset, c/3 added"
    );
}

#[test]
fn a_new_partition_is_answered_even_without_news() {
    let sessions = FetchSessions::default();
    let id = open_a0(&sessions);
    let (_, _, got) = fetch(
        &sessions,
        &request(id, 1, vec![("a", vec![part(1, 0)])]),
        |_| 0,
        |_| 0,
    );
    assert_eq!(got, vec![tp("a", 1)]);
}

#[test]
fn errors_are_answered_every_time() {
    let sessions = FetchSessions::default();
    let id = open_a0(&sessions);
    for epoch in 1..4 {
        let now = Instant::now();
        let req = request(id, epoch, vec![]);
        let session = sessions.begin(&req, 12, now);
        let mut topics = vec![FetchableTopicResponse::default()
            .with_topic(name("a"))
            .with_partitions(vec![PartitionData::default()
                .with_partition_index(0)
                .with_high_watermark(-1)
                .with_error_code(ResponseError::NotLeaderOrFollower.code())])];
        let slots = sessions.to_read(&session, now).expect("to read").slots;
        let mut recs = vec![0usize];
        let res = sessions.complete(
            &session,
            (&req.topics, &slots),
            Answer {
                topics: &mut topics,
                records: &mut recs,
                visits: vec![no_visit()],
            },
            |r| *r > 0,
            now,
        );
        assert_eq!(res, Ok(id));
        assert_eq!(answered(&topics), vec![tp("a", 0)], "epoch {epoch}");
    }
    // Once the error clears, the partition is answered again with its high watermark.
    let (_, _, got) = fetch(&sessions, &request(id, 4, vec![]), |_| 5, |_| 0);
    assert_eq!(got, vec![tp("a", 0)]);
    let (_, _, got) = fetch(&sessions, &request(id, 5, vec![]), |_| 5, |_| 0);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn wrong_epochs_and_unknown_sessions_are_refused() {
    let sessions = FetchSessions::default();
    let id = open_a0(&sessions);
    let (_, res, _) = fetch(&sessions, &request(id, 2, vec![]), |_| 0, |_| 0);
    assert_eq!(res, Err(ResponseError::InvalidFetchSessionEpoch));
    let (_, res, _) = fetch(
        &sessions,
        &request(id.wrapping_add(1), 1, vec![]),
        |_| 0,
        |_| 0,
    );
    assert_eq!(res, Err(ResponseError::FetchSessionIdNotFound));
    // A refused epoch does not consume the session's.
    let (_, res, _) = fetch(&sessions, &request(id, 1, vec![]), |_| 0, |_| 0);
    assert_eq!(res, Ok(id));
    // Epoch -1 closes the session; the fetch itself is sessionless.
    let (_, res, got) = fetch(
        &sessions,
        &request(id, -1, vec![("a", vec![part(0, 0)])]),
        |_| 0,
        |_| 0,
    );
    assert_eq!(res, Ok(0));
    assert_eq!(got.len(), 1);
    assert!(sessions.is_empty());
    let (_, res, _) = fetch(&sessions, &request(id, 2, vec![]), |_| 0, |_| 0);
    assert_eq!(res, Err(ResponseError::FetchSessionIdNotFound));
}

#[test]
fn old_versions_and_epoch_minus_one_are_sessionless() {
    let sessions = FetchSessions::default();
    let req = request(0, 0, vec![("a", vec![part(0, 0)])]);
    assert!(matches!(
        sessions.begin(&req, 6, Instant::now()),
        SessionFetch::Sessionless
    ));
    let (_, res, _) = fetch(&sessions, &request(0, -1, vec![]), |_| 0, |_| 0);
    assert_eq!(res, Ok(0));
    assert!(sessions.is_empty());
}

#[test]
fn a_full_cache_evicts_stale_sessions_and_favours_followers() {
    let sessions = FetchSessions::new(2);
    let t0 = Instant::now();
    let create = |replica: i32, at: Instant| {
        let req = request(0, 0, vec![("a", vec![part(0, 0)])]).with_replica_id(BrokerId(replica));
        let session = sessions.begin(&req, 12, at);
        let mut topics = answer(&req.topics, |_| 0);
        let mut recs = vec![0usize];
        let answer = Answer {
            topics: &mut topics,
            records: &mut recs,
            visits: vec![no_visit()],
        };
        sessions
            .complete(&session, (&req.topics, &[]), answer, |r| *r > 0, at)
            .expect("full fetches do not fail")
    };
    let a = create(-1, t0);
    let b = create(-1, t0 + Duration::from_secs(1));
    assert!(a != 0 && b != 0 && a != b);
    // Full, nothing stale: a consumer gets no session...
    assert_eq!(create(-1, t0 + Duration::from_secs(2)), 0);
    // ...a follower pushes out the least recently used consumer session...
    let f = create(1, t0 + Duration::from_secs(3));
    assert_ne!(f, 0);
    let (_, res, _) = fetch(&sessions, &request(a, 1, vec![]), |_| 0, |_| 0);
    assert_eq!(res, Err(ResponseError::FetchSessionIdNotFound));
    // ...and once a session has been idle long enough, anyone may replace it.
    let late = t0 + STALE_AFTER + Duration::from_secs(5);
    assert_ne!(create(-1, late), 0);
    assert_eq!(sessions.len(), 2);
}

#[test]
fn epochs_wrap_past_the_maximum_to_one() {
    assert_eq!(next_epoch(1), 2);
    assert_eq!(next_epoch(i32::MAX), 1);
}

#[test]
fn reads_take_turns_after_the_last_partition_with_records() {
    let sessions = FetchSessions::default();
    let parts = (0..4).map(|i| part(i, 0)).collect();
    let (_, id, _) = fetch(&sessions, &request(0, 0, vec![("a", parts)]), |_| 0, |_| 0);
    let id = id.expect("session");
    // Partition 1 returns records: the next read starts at partition 2.
    let (read, _, _) = fetch(
        &sessions,
        &request(id, 1, vec![]),
        |_| 0,
        |p| usize::from(p == 1),
    );
    assert_eq!(read.first(), Some(&tp("a", 0)));
    let (read, _, _) = fetch(&sessions, &request(id, 2, vec![]), |_| 0, |_| 0);
    assert_eq!(
        read,
        vec![tp("a", 2), tp("a", 3), tp("a", 0), tp("a", 1)],
        "started after a/1"
    );
}

#[tokio::test]
async fn unchanged_partitions_are_skipped_and_changes_wake_the_session() {
    use crate::log::{Log, LogConfig};
    let dir = tempfile::tempdir().expect("tempdir");
    let open = |index: i32| {
        let log =
            Log::open(&dir.path().join(format!("a-{index}")), LogConfig::default()).expect("log");
        let in_dir = crate::replica::log_dirs::LogDir::standalone(dir.path());
        Arc::new(Partition::new("a".into(), index, 1, log, in_dir).expect("partition"))
    };
    let partitions = [open(0), open(1)];
    let sessions = FetchSessions::default();
    let t0 = Instant::now();
    let req = request(0, 0, vec![("a", vec![part(0, 0), part(1, 0)])]);
    let session = sessions.begin(&req, 12, t0);
    let mut topics = answer(&req.topics, |_| 0);
    let mut recs = vec![0usize, 0];
    let visits = partitions
        .iter()
        .map(|p| Visit {
            partition: Some(p.clone()),
            generation: p.generation(),
        })
        .collect();
    let answer = Answer {
        topics: &mut topics,
        records: &mut recs,
        visits,
    };
    let id = sessions
        .complete(&session, (&req.topics, &[]), answer, |r| *r > 0, t0)
        .expect("created");

    let next = request(id, 1, vec![]);
    let session = sessions.begin(&next, 12, t0);
    let SessionFetch::Incremental { waker, .. } = &session else {
        panic!("incremental");
    };
    let read = sessions.to_read(&session, t0).expect("to read");
    assert!(read.slots.is_empty(), "nothing changed: nothing to read");

    partitions[1].changed();
    tokio::time::timeout(Duration::from_secs(5), waker.notified())
        .await
        .expect("the change woke the session");
    let read = sessions.to_read(&session, t0).expect("to read");
    let names: Vec<i32> = read
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.partition))
        .collect();
    assert_eq!(names, vec![1], "only the changed partition");

    // Once a second has passed, every partition is read (followers' progress is noted).
    let later = t0 + FULL_VISIT_EVERY;
    assert_eq!(
        sessions
            .to_read(&session, later)
            .expect("to read")
            .slots
            .len(),
        2
    );

    // The session does not keep a partition (and its open log) alive once it is deleted.
    let gone = Arc::downgrade(&partitions[0]);
    drop(partitions);
    assert!(gone.upgrade().is_none());
    assert_eq!(
        sessions
            .to_read(&session, later)
            .expect("to read")
            .slots
            .len(),
        2,
        "a partition that is gone is looked up again"
    );
}

#[test]
fn no_slots_means_no_sessions() {
    let sessions = FetchSessions::new(0);
    let (_, res, got) = fetch(
        &sessions,
        &request(0, 0, vec![("a", vec![part(0, 0)])]),
        |_| 0,
        |_| 0,
    );
    assert_eq!(res, Ok(0), "answered without a session");
    assert_eq!(got.len(), 1);
    assert!(sessions.is_empty());
}
