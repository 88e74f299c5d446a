//! Fetch (API 1): read each partition from the requested offset, up to the high watermark
//! for consumers (the log end for followers), within the request's byte limits; long-poll
//! until `min_bytes` are available or `max_wait_ms` passes. Fetch v0-v3 get v0/v1 message
//! sets converted from the stored v2 batches. A fetch in an incremental session (v7+, see
//! [`crate::fetch_session`]) reads only the session's partitions that may have changed, and
//! answers only those that did.
//!
//! The records are not put in the response: they are handed to the encoder beside it, in
//! partition order, as slices of the log ([`Part::Log`], sent with `sendfile`, for reads over
//! [`LOAD_MAX`]) or as bytes (smaller reads, down-converted message sets, empty records of
//! partitions in error).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::select_all;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;
use tokio::sync::{watch, Notify};

use crate::api::errors::log_error_code;
use crate::api::Part;
use crate::context::RequestContext;
use crate::fetch_session::{Answer, SessionFetch, Visit};
use crate::records::convert::{down_convert, fetch_magic};
use crate::replica::Partition;

/// Records of a partition up to this size are read into memory and written with the rest of
/// the response; larger ones go from the file with `sendfile`. Measured on the 2-core VM of
/// BENCHMARKS.md: for 1 MiB reads (a default consumer's or follower's) `sendfile` cost the
/// three brokers of an RF3 acks=all run ~17% more CPU than a read and one vectored write, while
/// for 16 MiB reads it halved the broker's CPU (no fresh 16 MiB buffer to fault in each time).
const LOAD_MAX: usize = 4 << 20;

/// Upper bound on one long poll, whatever the client asks, so shutdown never waits long.
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

/// A Fetch response whose partitions' records are kept aside, in the order of the partitions
/// in the response (topic by topic).
pub struct Fetched {
    /// Every partition's `records` is None here; see `records`.
    pub response: FetchResponse,
    pub records: Vec<Part>,
}

pub async fn handle(ctx: RequestContext<'_>, req: FetchRequest, version: i16) -> Fetched {
    let sessions = &ctx.broker.fetch_sessions;
    let session = sessions.begin(&req, version, Instant::now());
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP);
    let deadline = tokio::time::Instant::now() + wait;
    let poll = Poll {
        deadline,
        poke: Poke::of(ctx, &req),
    };
    let (mut round, slots) = match &session {
        SessionFetch::Error(e) => return session_error(*e),
        SessionFetch::Incremental { waker, .. } => {
            match incremental(ctx, &req, version, &session, waker, poll).await {
                Ok(read) => read,
                Err(e) => return session_error(e),
            }
        }
        SessionFetch::Sessionless | SessionFetch::Create { .. } => {
            (by_request(ctx, &req, version, poll).await, Vec::new())
        }
    };
    let answer = Answer {
        topics: &mut round.topics,
        records: &mut round.records,
        visits: std::mem::take(&mut round.visits),
    };
    let session_id = sessions.complete(
        &session,
        (&req.topics, &slots),
        answer,
        |r| !r.is_empty(),
        Instant::now(),
    );
    match session_id {
        Ok(id) => round.finish(id),
        Err(e) => session_error(e),
    }
}

/// How long a fetch may long-poll, and what ends its poll early besides new data.
struct Poll {
    deadline: tokio::time::Instant,
    poke: Poke,
}

/// A follower fetch's subscription to [`crate::replica::follower_polls`]: once poked, the
/// fetch answers with what it has, so that the follower's next request can name a partition
/// this one does not.
struct Poke {
    rx: Option<watch::Receiver<u64>>,
    hit: bool,
}

impl Poke {
    /// Subscribed before the first read, so a poke during the read is not missed.
    fn of(ctx: RequestContext<'_>, req: &FetchRequest) -> Self {
        let replica = req.replica_id.0;
        Poke {
            rx: (replica >= 0).then(|| ctx.broker.follower_polls.subscribe(replica)),
            hit: false,
        }
    }

    fn hit(&self) -> bool {
        self.hit
            || self
                .rx
                .as_ref()
                .is_some_and(|rx| rx.has_changed().unwrap_or(false))
    }

    /// Returns once poked; never for a consumer's fetch.
    async fn wait(&mut self) {
        let poked = match self.rx.as_mut() {
            Some(rx) => rx.changed().await.is_ok(),
            None => false,
        };
        if !poked {
            return std::future::pending().await;
        }
        self.hit = true;
    }
}

/// Reads the request's partitions until enough is there, long-polling on each partition's
/// high watermark (consumers) or log end (followers).
async fn by_request(
    ctx: RequestContext<'_>,
    req: &FetchRequest,
    version: i16,
    mut poll: Poll,
) -> Round {
    loop {
        let mut round = read_all(ctx, req, &req.topics, version, true);
        propose_isr_expansions(ctx, &mut round);
        if round.enough(req, poll.deadline) || round.watches.is_empty() || poll.poke.hit() {
            return round;
        }
        // Wake up when any fetched partition's high watermark moves, when poked, or at the
        // deadline.
        let changes = std::mem::take(&mut round.watches)
            .into_iter()
            .map(|mut rx| Box::pin(async move { rx.changed().await.is_ok() }));
        let throttled = throttle_wait(ctx, &round);
        tokio::select! {
            _ = select_all(changes) => {}
            _ = poll.poke.wait() => {}
            _ = tokio::time::sleep(throttled.unwrap_or_default()), if throttled.is_some() => {}
            _ = tokio::time::sleep_until(poll.deadline) => {
                return read_all(ctx, req, &req.topics, version, true);
            }
        }
    }
}

/// Reads what changed in the fetch's session until enough is there, long-polling on the
/// session's waker. Returns the last read and where its partitions are in the session.
async fn incremental(
    ctx: RequestContext<'_>,
    req: &FetchRequest,
    version: i16,
    session: &SessionFetch,
    waker: &Notify,
    mut poll: Poll,
) -> Result<(Round, Vec<usize>), ResponseError> {
    let sessions = &ctx.broker.fetch_sessions;
    loop {
        let read = sessions.to_read(session, Instant::now())?;
        let mut round = read_all(ctx, req, &read.topics, version, false);
        sessions.listen(session, &read.slots, &round.visits);
        propose_isr_expansions(ctx, &mut round);
        if round.enough(req, poll.deadline) || sessions.partitions(session) == 0 || poll.poke.hit()
        {
            return Ok((round, read.slots));
        }
        // On a timeout or a poke the next round reads once more and answers; when the
        // throttle lets held-back partitions through, it reads them again.
        let until = match throttle_wait(ctx, &round) {
            Some(wait) => poll.deadline.min(tokio::time::Instant::now() + wait),
            None => poll.deadline,
        };
        tokio::select! {
            _ = tokio::time::timeout_at(until, waker.notified()) => {}
            _ = poll.poke.wait() => {}
        }
    }
}

fn propose_isr_expansions(ctx: RequestContext<'_>, round: &mut Round) {
    for (partition, isr) in std::mem::take(&mut round.isr_expansions) {
        // Detached: an ISR write must run to its end (it holds the partition's
        // one-change-at-a-time flag) even if this fetch is abandoned by its connection.
        let zk = ctx.broker.zk();
        tokio::spawn(async move { crate::replica::isr::propose(&zk, &partition, isr).await });
    }
}

/// How long until partitions the leader throttle held back in `round` may be read again.
fn throttle_wait(ctx: RequestContext<'_>, round: &Round) -> Option<Duration> {
    round.held_back.then(|| {
        let wait = ctx.broker.replicas.quotas().leader.time_until_allowed();
        wait.max(Duration::from_millis(1))
    })
}

/// A response with a top-level session error and no partitions.
fn session_error(e: ResponseError) -> Fetched {
    Fetched {
        response: FetchResponse::default()
            .with_error_code(e.code())
            .with_session_id(0),
        records: Vec::new(),
    }
}

struct Round {
    topics: Vec<FetchableTopicResponse>,
    /// Each partition's records, in response order.
    records: Vec<Part>,
    /// Followers that caught up: (partition, proposed ISR), written after the reads.
    isr_expansions: Vec<(Arc<Partition>, Vec<i32>)>,
    bytes: usize,
    had_error: bool,
    /// The leader throttle held a partition back (answered without records).
    held_back: bool,
    /// Whether to subscribe to each partition read (the long poll of a fetch without a
    /// session), and the subscriptions.
    watch: bool,
    watches: Vec<watch::Receiver<i64>>,
    /// Each partition read and its generation before the read, in response order.
    visits: Vec<Visit>,
}

impl Round {
    /// Whether to answer now rather than wait for more.
    fn enough(&self, req: &FetchRequest, deadline: tokio::time::Instant) -> bool {
        self.bytes >= req.min_bytes.max(0) as usize
            || self.had_error
            || tokio::time::Instant::now() >= deadline
    }

    fn finish(self, session_id: i32) -> Fetched {
        Fetched {
            response: FetchResponse::default()
                .with_session_id(session_id)
                .with_responses(self.topics),
            records: self.records,
        }
    }
}

/// Reads `topics`: the request's own, or its session's.
fn read_all(
    ctx: RequestContext<'_>,
    req: &FetchRequest,
    topics: &[FetchTopic],
    version: i16,
    watch: bool,
) -> Round {
    let mut round = Round {
        topics: Vec::with_capacity(topics.len()),
        records: Vec::new(),
        isr_expansions: Vec::new(),
        bytes: 0,
        had_error: false,
        held_back: false,
        watch,
        watches: Vec::new(),
        visits: Vec::new(),
    };
    let response_limit = if version >= 3 {
        req.max_bytes.max(0) as usize
    } else {
        usize::MAX
    };
    let replica_id = req.replica_id.0;
    let now_ms = crate::api::produce::now_ms();
    for topic in topics {
        let resp = read_topic(
            ctx,
            topic,
            version,
            (replica_id, now_ms),
            response_limit,
            &mut round,
        );
        round.topics.push(resp);
    }
    round
}

fn read_topic(
    ctx: RequestContext<'_>,
    topic: &FetchTopic,
    version: i16,
    (replica_id, now_ms): (i32, i64),
    response_limit: usize,
    round: &mut Round,
) -> FetchableTopicResponse {
    let name = topic.topic.0.to_string();
    let mut partitions = Vec::with_capacity(topic.partitions.len());
    for p in &topic.partitions {
        let remaining = response_limit.saturating_sub(round.bytes);
        let (data, records) = match ctx.broker.replicas.get(&name, p.partition) {
            None => {
                round.visits.push(Visit {
                    partition: None,
                    generation: 0,
                });
                round.had_error = true;
                no_records(error_partition(
                    p.partition,
                    unknown_partition_code(ctx, &name),
                ))
            }
            Some(partition) => {
                round.visits.push(Visit {
                    partition: Some(partition.clone()),
                    generation: partition.generation(),
                });
                let leading_epoch = partition.leading_epoch();
                // A follower's fetch offset is its log end: the leader's view of its progress,
                // but only at this leader's epoch. A follower that has not seen the new epoch
                // may hold records that diverge from this leader's at that offset; counting
                // them would commit records it lacks, or put a leaving broker back in the ISR.
                let fenced = leading_epoch
                    .is_some_and(|ours| check_leader_epoch(ours, p.current_leader_epoch).is_some());
                if replica_id >= 0 && leading_epoch.is_some() && !fenced {
                    if let Some(isr) = partition.update_follower(
                        replica_id,
                        (p.fetch_offset, p.log_start_offset),
                        now_ms,
                    ) {
                        round.isr_expansions.push((partition.clone(), isr));
                    }
                }
                // Subscribe before reading: an append between the read and the subscription
                // would otherwise go unnoticed and the long poll would sleep to its deadline.
                // Followers wait for new data, consumers for newly committed data.
                let watch = match (round.watch, replica_id >= 0) {
                    (false, _) => None,
                    (true, true) => Some(partition.subscribe_log_end()),
                    (true, false) => Some(partition.subscribe()),
                };
                let quota = &ctx.broker.replicas.quotas().leader;
                let throttled = replica_id >= 0 && quota.is_throttled(&name, p.partition);
                let (data, records, ok) = if throttled
                    && leading_epoch.is_some()
                    && !fenced
                    && !partition.isr_contains(replica_id)
                    && quota.is_exceeded()
                {
                    // Kafka's shouldLeaderThrottle: an out-of-sync follower of a throttled
                    // replica gets no records while the quota is exceeded; read it again next
                    // time whether or not it changes.
                    round.held_back = true;
                    if let Some(visit) = round.visits.last_mut() {
                        visit.generation = u64::MAX;
                    }
                    held_back(&partition, p)
                } else {
                    read_partition(
                        &partition,
                        leading_epoch,
                        p,
                        version,
                        replica_id,
                        remaining,
                        round.bytes == 0,
                    )
                };
                if throttled {
                    // All throttled traffic counts, to followers in sync or not, as in Kafka.
                    quota.record(records.len());
                }
                if !ok {
                    round.had_error = true;
                } else if let Some(watch) = watch {
                    round.watches.push(watch);
                }
                (data, records)
            }
        };
        round.bytes += records.len();
        round.records.push(records);
        partitions.push(version_fields(data, version));
    }
    FetchableTopicResponse::default()
        .with_topic(topic.topic.clone())
        .with_partitions(partitions)
}

fn unknown_partition_code(ctx: RequestContext<'_>, topic: &str) -> i16 {
    if ctx.broker.metadata.topic(topic).is_some() {
        ResponseError::NotLeaderOrFollower.code()
    } else {
        ResponseError::UnknownTopicOrPartition.code()
    }
}

/// A partition held back by the leader throttle: its offsets, no records.
fn held_back(partition: &Partition, p: &FetchPartition) -> (PartitionData, Part, bool) {
    let hw = partition.high_watermark();
    let data = PartitionData::default()
        .with_partition_index(p.partition)
        .with_high_watermark(hw)
        .with_last_stable_offset(hw)
        .with_log_start_offset(partition.log_start_offset());
    let (data, records) = no_records(data);
    (data, records, true)
}

fn error_partition(index: i32, code: i16) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(code)
        .with_high_watermark(-1)
}

fn no_records(data: PartitionData) -> (PartitionData, Part) {
    (data, Part::Bytes(Bytes::new()))
}

/// Reads one partition: its response fields and records; the bool says whether it succeeded
/// (errors end a long poll).
fn read_partition(
    partition: &Arc<Partition>,
    leading_epoch: Option<i32>,
    p: &FetchPartition,
    version: i16,
    replica_id: i32,
    remaining: usize,
    first: bool,
) -> (PartitionData, Part, bool) {
    let failed = |data| {
        let (data, records) = no_records(data);
        (data, records, false)
    };
    let is_follower = replica_id >= 0;
    let Some(ours) = leading_epoch else {
        return failed(error_partition(
            p.partition,
            ResponseError::NotLeaderOrFollower.code(),
        ));
    };
    if let Some(code) = check_leader_epoch(ours, p.current_leader_epoch) {
        return failed(error_partition(p.partition, code));
    }
    let max_bytes = (p.partition_max_bytes.max(0) as usize).min(remaining);
    // KIP-74: from v3 the first partition returns at least one whole batch so that a batch
    // larger than the limits cannot stall a consumer.
    let min_one = version >= 3 && first;
    match partition.read(p.fetch_offset, max_bytes, min_one, is_follower) {
        Ok(read) => {
            let magic = fetch_magic(version);
            let records = if magic == 2 && read.records.len() > LOAD_MAX {
                Part::Log(read.records)
            } else {
                let v2 = match read.records.load() {
                    Ok(v2) => v2,
                    Err(e) => return failed(error_partition(p.partition, log_error_code(&e))),
                };
                if magic == 2 {
                    Part::Bytes(v2)
                } else {
                    match down_convert(&v2, magic, p.fetch_offset) {
                        Ok(converted) => Part::Bytes(converted),
                        Err(e) => {
                            tracing::warn!(error = %e, "down-conversion failed");
                            return failed(error_partition(
                                p.partition,
                                ResponseError::CorruptMessage.code(),
                            ));
                        }
                    }
                }
            };
            let data = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(read.high_watermark)
                .with_last_stable_offset(read.high_watermark)
                .with_log_start_offset(read.log_start_offset);
            (data, records, true)
        }
        Err(e) => {
            let mut data = error_partition(p.partition, log_error_code(&e));
            data.high_watermark = partition.high_watermark();
            data.log_start_offset = partition.log_start_offset();
            failed(data)
        }
    }
}

/// Fetch v9+ carries the leader epoch the client believes in (KIP-320).
fn check_leader_epoch(ours: i32, requested: i32) -> Option<i16> {
    if requested < 0 {
        return None;
    }
    if requested < ours {
        Some(ResponseError::FencedLeaderEpoch.code())
    } else if requested > ours {
        Some(ResponseError::UnknownLeaderEpoch.code())
    } else {
        None
    }
}

/// Clears fields that the response version cannot carry.
fn version_fields(mut data: PartitionData, version: i16) -> PartitionData {
    if version < 4 {
        data.last_stable_offset = -1;
        data.aborted_transactions = None;
    } else {
        data.aborted_transactions = None;
    }
    if version < 5 {
        data.log_start_offset = -1;
    }
    data
}
