//! Follower side of replication (Kafka's `ReplicaFetcherThread`): one task per leader broker
//! fetches, with this broker's id as replica id, every partition this broker follows on that
//! leader, appends what it gets with the leader's offsets, and takes the leader's high
//! watermark. Before fetching, a partition that just became a follower finds where its log
//! diverged from the leader's through OffsetForLeaderEpoch and truncates there, so a record
//! that was never committed is never served.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kafka_client::KafkaConnection;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::fetch_delays::FetchDelays;
use super::throttle::{ReplicationQuota, ReplicationQuotas};
use crate::replica::Partition;

const FETCH_VERSION: i16 = 12;
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 3;
/// Bound on one request; above `replica.fetch.wait.max.ms` so long polls are not cut short.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Kafka's `replica.fetch.response.max.bytes`.
const RESPONSE_MAX_BYTES: i32 = 10 * 1024 * 1024;
/// Rounds of OffsetForLeaderEpoch before giving up on finding the divergence point.
const MAX_TRUNCATION_ROUNDS: usize = 16;
/// The least a throttled partition asks for in one fetch, whatever its throttle's rate.
const THROTTLED_MIN_BYTES: i32 = 16 * 1024;

type TopicPartition = (String, i32);

/// Settings for follower fetches.
#[derive(Debug, Clone)]
pub struct FetcherConfig {
    pub broker_id: i32,
    pub partition_max_bytes: i32,
    pub wait_max_ms: i32,
    /// `replica.fetch.backoff.ms`: how long a failed partition is left out, and the wait
    /// before reconnecting to a leader.
    pub backoff: Duration,
    /// TLS to leaders, when the inter-broker listener uses it.
    pub tls: Option<kafka_client::ClientTls>,
    /// How to authenticate to leaders when the inter-broker listener is SASL.
    pub sasl: Option<kafka_client::SaslCredentials>,
    /// The replication throttles; fetchers obey the follower side's.
    pub quotas: Arc<ReplicationQuotas>,
}

#[derive(Clone)]
struct Assigned {
    partition: Arc<Partition>,
    leader_epoch: i32,
    truncating: bool,
}

/// The partitions a fetch task follows; `version` moves with every change, so that the task
/// rebuilds its own copy ([`View`]) only then.
#[derive(Default)]
struct Assignments {
    map: HashMap<TopicPartition, Assigned>,
    version: u64,
}

impl Assignments {
    fn insert(&mut self, tp: TopicPartition, a: Assigned) {
        self.map.insert(tp, a);
        self.version += 1;
    }

    fn remove(&mut self, tp: &TopicPartition) {
        if self.map.remove(tp).is_some() {
            self.version += 1;
        }
    }

    fn update(&mut self, tp: &TopicPartition, f: impl FnOnce(&mut Assigned)) {
        if let Some(a) = self.map.get_mut(tp) {
            f(a);
            self.version += 1;
        }
    }
}

type SharedAssignments = Arc<Mutex<Assignments>>;

/// A fetch task's copy of its assignments, split by state and indexed for responses.
#[derive(Default)]
struct View {
    version: Option<u64>,
    truncating: Vec<Assigned>,
    fetching: Vec<Slot>,
    /// Topic → partition index → place in `fetching`.
    index: HashMap<String, HashMap<i32, usize>>,
    /// Partitions that failed since their last success, left out for a while; kept across
    /// rebuilds while the partition is followed at the same epoch.
    delays: FetchDelays,
}

struct Slot {
    assigned: Assigned,
    /// The fetch parameters last put in a request of the leader's session, with the
    /// partition's generation when they were read: while it stays, they still hold.
    sent: Option<(u64, FetchPartition)>,
    /// Caught up with the leader's high watermark at the last response (Kafka's
    /// `isReplicaInSync`): the follower throttle never holds such a replica back.
    in_sync: bool,
}

impl Slot {
    /// Whether the follower throttle holds this partition back now (Kafka's
    /// `shouldFollowerThrottle`); `exceeded` caches the quota's state for one pass.
    fn held_back(&self, quota: &ReplicationQuota, exceeded: &mut Option<bool>) -> bool {
        let p = &self.assigned.partition;
        if self.in_sync || !quota.is_throttled(&p.topic, p.index) {
            return false;
        }
        *exceeded.get_or_insert_with(|| quota.is_exceeded())
    }

    /// What to ask for: a throttled partition out of sync asks for no more than a second of
    /// its throttle's rate, so one fetch cannot overshoot it by much.
    fn max_bytes(&self, config: &FetcherConfig) -> i32 {
        let p = &self.assigned.partition;
        let quota = &config.quotas.follower;
        match quota.rate_limit() {
            Some(rate) if !self.in_sync && quota.is_throttled(&p.topic, p.index) => {
                let rate = i32::try_from(rate).unwrap_or(i32::MAX);
                config
                    .partition_max_bytes
                    .min(rate.max(THROTTLED_MIN_BYTES))
            }
            _ => config.partition_max_bytes,
        }
    }
}

impl View {
    /// Takes in changed assignments; what the session held and no longer fetches is to be
    /// forgotten.
    fn rebuild(&mut self, assignments: &Assignments, session: &mut FollowerSession) {
        let mut old: HashMap<TopicPartition, Slot> = std::mem::take(&mut self.fetching)
            .into_iter()
            .map(|s| {
                (
                    (
                        s.assigned.partition.topic.clone(),
                        s.assigned.partition.index,
                    ),
                    s,
                )
            })
            .collect();
        self.truncating.clear();
        self.index.clear();
        for (tp, a) in &assignments.map {
            if a.truncating {
                self.truncating.push(a.clone());
                continue;
            }
            // Parameters sent for the same replica and epoch still hold.
            let (sent, in_sync) = old.remove(tp).map_or((None, false), |s| {
                let same = Arc::ptr_eq(&s.assigned.partition, &a.partition)
                    && s.assigned.leader_epoch == a.leader_epoch;
                if same {
                    (s.sent, s.in_sync)
                } else {
                    (None, false)
                }
            });
            if !session.forget.is_empty() {
                // Back before its forgetting was sent: a request must not both send and
                // forget it.
                session.forget.retain(|f| f != tp);
            }
            self.index
                .entry(tp.0.clone())
                .or_default()
                .insert(tp.1, self.fetching.len());
            self.fetching.push(Slot {
                assigned: a.clone(),
                sent,
                in_sync,
            });
        }
        for (tp, slot) in old {
            if slot.sent.is_some() {
                session.forget.push(tp);
            }
        }
        if !self.delays.is_empty() {
            self.delays.retain(|topic, index, epoch| {
                assignments
                    .map
                    .get(&(topic.to_owned(), index))
                    .is_some_and(|a| a.leader_epoch == epoch)
            });
        }
        self.version = Some(assignments.version);
    }

    fn is_empty(&self) -> bool {
        self.truncating.is_empty() && self.fetching.is_empty()
    }

    fn slot_mut(&mut self, topic: &str, index: i32) -> Option<&mut Slot> {
        let i = *self.index.get(topic)?.get(&index)?;
        self.fetching.get_mut(i)
    }

    fn is_delayed(&self, a: &Assigned, now: Instant) -> bool {
        !self.delays.is_empty()
            && self
                .delays
                .holds(&a.partition.topic, a.partition.index, a.leader_epoch, now)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct LeaderFetcher {
    endpoint: (String, u16),
    partitions: SharedAssignments,
    changed: Arc<Notify>,
    stop: CancellationToken,
}

/// All follower fetchers of this broker.
pub struct FetcherManager {
    config: FetcherConfig,
    fetchers: Mutex<HashMap<i32, LeaderFetcher>>,
    shutdown: CancellationToken,
    /// Set once the broker is leaving: no partition is followed any more.
    closed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for FetcherManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetcherManager")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl FetcherManager {
    pub fn new(config: FetcherConfig, shutdown: CancellationToken) -> Self {
        FetcherManager {
            config,
            fetchers: Mutex::new(HashMap::new()),
            shutdown,
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Starts (or moves) fetching of `partition` from `leader` at `host:port`.
    pub fn follow(
        &self,
        partition: Arc<Partition>,
        leader: i32,
        host: String,
        port: u16,
        leader_epoch: i32,
    ) {
        let tp = (partition.topic.clone(), partition.index);
        self.unfollow(&tp.0, tp.1);
        let mut fetchers = lock(&self.fetchers);
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let endpoint = (host, port);
        if fetchers
            .get(&leader)
            .is_some_and(|f| f.endpoint != endpoint)
        {
            if let Some(old) = fetchers.remove(&leader) {
                old.stop.cancel();
            }
        }
        let fetcher = fetchers
            .entry(leader)
            .or_insert_with(|| self.spawn(leader, endpoint));
        lock(&fetcher.partitions).insert(
            tp,
            Assigned {
                partition,
                leader_epoch,
                truncating: true,
            },
        );
        fetcher.changed.notify_one();
    }

    /// Stops every fetcher for good (controlled shutdown has begun).
    pub fn close(&self) {
        let mut fetchers = lock(&self.fetchers);
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        for (_, f) in fetchers.drain() {
            f.stop.cancel();
        }
    }

    /// Stops fetching `topic`/`index` (it became leader, or was stopped).
    pub fn unfollow(&self, topic: &str, index: i32) {
        let tp = (topic.to_string(), index);
        let fetchers = lock(&self.fetchers);
        for f in fetchers.values() {
            lock(&f.partitions).remove(&tp);
        }
    }

    fn spawn(&self, leader: i32, endpoint: (String, u16)) -> LeaderFetcher {
        let fetcher = LeaderFetcher {
            endpoint: endpoint.clone(),
            partitions: Arc::new(Mutex::new(Assignments::default())),
            changed: Arc::new(Notify::new()),
            stop: self.shutdown.child_token(),
        };
        let task = FetchTask {
            config: self.config.clone(),
            leader,
            endpoint,
            partitions: fetcher.partitions.clone(),
            changed: fetcher.changed.clone(),
            stop: fetcher.stop.clone(),
        };
        tokio::spawn(task.run());
        fetcher
    }
}

struct FetchTask {
    config: FetcherConfig,
    leader: i32,
    endpoint: (String, u16),
    partitions: SharedAssignments,
    changed: Arc<Notify>,
    stop: CancellationToken,
}

impl FetchTask {
    async fn run(self) {
        info!(leader = self.leader, host = %self.endpoint.0, port = self.endpoint.1, "replica fetcher started");
        let mut conn: Option<KafkaConnection> = None;
        let mut session = FollowerSession::default();
        let mut view = View::default();
        while !self.stop.is_cancelled() {
            {
                let assignments = lock(&self.partitions);
                if view.version != Some(assignments.version) {
                    view.rebuild(&assignments, &mut session);
                }
            }
            if view.is_empty() {
                tokio::select! {
                    _ = self.changed.notified() => {}
                    _ = self.stop.cancelled() => break,
                }
                continue;
            }
            let ok = match conn.as_mut() {
                None => {
                    conn = self.connect().await;
                    conn.is_some()
                }
                Some(c) => self.round(c, &mut view, &mut session).await,
            };
            if !ok {
                conn = None;
                session.restart();
                tokio::select! {
                    _ = tokio::time::sleep(self.config.backoff) => {}
                    _ = self.stop.cancelled() => break,
                }
            }
        }
        debug!(leader = self.leader, "replica fetcher stopped");
    }

    async fn connect(&self) -> Option<KafkaConnection> {
        let client_id = format!("replica-fetcher-{}", self.config.broker_id);
        let connected = async {
            let mut c = KafkaConnection::connect_with(
                &self.endpoint.0,
                self.endpoint.1,
                &client_id,
                REQUEST_TIMEOUT,
                self.config.tls.as_ref(),
            )
            .await?;
            kafka_client::authenticate_if(&mut c, self.config.sasl.as_ref()).await?;
            Ok::<_, std::io::Error>(c)
        };
        match connected.await {
            Ok(c) => Some(c),
            Err(e) => {
                debug!(leader = self.leader, error = %e, "cannot reach leader");
                None
            }
        }
    }

    /// One truncation-or-fetch round; false means the connection should be dropped.
    async fn round(
        &self,
        conn: &mut KafkaConnection,
        view: &mut View,
        session: &mut FollowerSession,
    ) -> bool {
        let now = Instant::now();
        let mut truncated = false;
        for a in &view.truncating {
            if view.is_delayed(a, now) {
                continue;
            }
            tracing::trace!(leader = self.leader, topic = %a.partition.topic, partition = a.partition.index, "checking divergence");
            match truncate(conn, &self.config, a).await {
                Ok(true) => {
                    self.mark_truncated(a);
                    view.delays.succeeded(&a.partition.topic, a.partition.index);
                    truncated = true;
                }
                Ok(false) => {
                    let (p, backoff) = (&a.partition, self.config.backoff);
                    view.delays
                        .failed(&p.topic, p.index, a.leader_epoch, now, backoff);
                }
                Err(e) => {
                    debug!(leader = self.leader, error = %e, "OffsetForLeaderEpoch failed");
                    return false;
                }
            }
        }
        if truncated {
            // Fetch them in this round: the fetch below may long-poll for the whole
            // `replica.fetch.wait.max.ms` on the other partitions before they would be sent.
            view.rebuild(&lock(&self.partitions), session);
        }
        let now = Instant::now();
        let quota = &self.config.quotas.follower;
        let mut exceeded = None;
        let ready = view
            .fetching
            .iter()
            .any(|s| !view.is_delayed(&s.assigned, now) && !s.held_back(quota, &mut exceeded));
        if !ready && session.forget.is_empty() {
            // Nothing to send until a delay ends, the throttle lets a partition through, or
            // the assignments change.
            let mut until = view
                .delays
                .next_end(now)
                .unwrap_or(now + self.config.backoff);
            if exceeded == Some(true) {
                let wait = quota.time_until_allowed().max(Duration::from_millis(1));
                until = until.min(now + wait);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                _ = self.changed.notified() => {}
                _ = self.stop.cancelled() => {}
            }
            return true;
        }
        self.fetch(conn, view, session).await
    }

    fn mark_truncated(&self, a: &Assigned) {
        let tp = (a.partition.topic.clone(), a.partition.index);
        lock(&self.partitions).update(&tp, |cur| {
            if cur.leader_epoch == a.leader_epoch {
                cur.truncating = false;
            }
        });
    }

    fn still_assigned(&self, a: &Assigned) -> bool {
        let tp = (a.partition.topic.clone(), a.partition.index);
        lock(&self.partitions)
            .map
            .get(&tp)
            .is_some_and(|cur| cur.leader_epoch == a.leader_epoch && !cur.truncating)
    }

    async fn fetch(
        &self,
        conn: &mut KafkaConnection,
        view: &mut View,
        session: &mut FollowerSession,
    ) -> bool {
        let now = Instant::now();
        let mut req = session.build(&self.config, &mut view.fetching, &view.delays, now);
        let mut back_in = view.delays.next_end(now).map(|end| end - now);
        let quota = &self.config.quotas.follower;
        let throttled_for = quota.time_until_allowed();
        // A wait means the quota is exceeded: no need to ask it again for each partition.
        let mut exceeded = Some(true);
        if !throttled_for.is_zero()
            && view
                .fetching
                .iter()
                .any(|s| s.held_back(quota, &mut exceeded))
        {
            back_in = Some(back_in.map_or(throttled_for, |d| d.min(throttled_for)));
        }
        if let Some(wait) = back_in {
            // Back in time to send the delayed or throttled partitions again.
            let ms = wait.as_millis();
            req.max_wait_ms = req.max_wait_ms.min(i32::try_from(ms).unwrap_or(i32::MAX));
        }
        tracing::trace!(
            leader = self.leader,
            partitions = view.fetching.len(),
            sent = req.topics.iter().map(|t| t.partitions.len()).sum::<usize>(),
            session = req.session_id,
            epoch = req.session_epoch,
            "replica fetch"
        );
        let resp = match conn.request(&req, FETCH_VERSION).await {
            Ok(r) => r,
            Err(e) => {
                debug!(leader = self.leader, error = %e, "replica fetch failed");
                return false;
            }
        };
        if resp.error_code != 0 {
            // The session is gone or out of step: the next fetch is a full one.
            debug!(
                leader = self.leader,
                error = resp.error_code,
                "fetch session reset"
            );
            session.failed(resp.error_code);
            return true;
        }
        session.answered(req.session_epoch, resp.session_id);
        let mut failed = Vec::new();
        let mut recovered = Vec::new();
        let any_delayed = !view.delays.is_empty();
        for topic in &resp.responses {
            for pd in &topic.partitions {
                let Some(slot) = view.slot_mut(topic.topic.0.as_str(), pd.partition_index) else {
                    continue;
                };
                if !self.still_assigned(&slot.assigned) {
                    continue;
                }
                match self.apply(slot, pd) {
                    Ok(()) if any_delayed => recovered.push(slot.assigned.clone()),
                    Ok(()) => {}
                    Err(reason) => {
                        debug!(topic = %topic.topic.0, partition = pd.partition_index, reason, "fetch error");
                        failed.push(slot.assigned.clone());
                    }
                }
            }
        }
        // Only the failed partitions wait; the next fetch leaves them out.
        let now = Instant::now();
        for a in recovered {
            view.delays.succeeded(&a.partition.topic, a.partition.index);
        }
        for a in failed {
            let (p, backoff) = (&a.partition, self.config.backoff);
            view.delays
                .failed(&p.topic, p.index, a.leader_epoch, now, backoff);
        }
        true
    }

    fn apply(
        &self,
        slot: &mut Slot,
        pd: &kafka_protocol::messages::fetch_response::PartitionData,
    ) -> Result<(), String> {
        let a = &slot.assigned;
        let p = &a.partition;
        match pd.error_code {
            0 => {
                let records = pd.records.clone().unwrap_or_default();
                if !records.is_empty() {
                    p.append_as_follower(&records).map_err(|e| e.to_string())?;
                    // All throttled traffic counts, in sync or not, as in Kafka.
                    let quota = &self.config.quotas.follower;
                    if quota.is_throttled(&p.topic, p.index) {
                        quota.record(records.len());
                    }
                }
                slot.in_sync = p.log_end_offset() >= pd.high_watermark;
                p.update_follower_high_watermark(pd.high_watermark);
                // Records the leader deleted (DeleteRecords, retention) go here too.
                p.follow_leader_log_start(pd.log_start_offset)
                    .map_err(|e| e.to_string())
            }
            code if code == ResponseError::OffsetOutOfRange.code() => {
                let leo = p.log_end_offset();
                if pd.log_start_offset > leo {
                    // The leader deleted what we miss: start over at its log start.
                    info!(topic = %p.topic, partition = p.index, start = pd.log_start_offset, "follower restarts its log at the leader's start");
                    p.truncate_fully_and_start_at(pd.log_start_offset)
                        .map_err(|e| e.to_string())
                } else {
                    // Not an error to wait out: the divergence check comes next round.
                    debug!(topic = %p.topic, partition = p.index, "offset out of range; re-checking divergence");
                    self.set_truncating(a);
                    Ok(())
                }
            }
            code => Err(format!("error code {code}")),
        }
    }

    fn set_truncating(&self, a: &Assigned) {
        let tp = (a.partition.topic.clone(), a.partition.index);
        lock(&self.partitions).update(&tp, |cur| cur.truncating = true);
    }
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// This fetcher's incremental fetch session with its leader (see [`crate::fetch_session`]):
/// after a full fetch opens it, each fetch names only the partitions whose fetch parameters
/// changed since they were last sent, and the ones no longer followed. (What was sent for
/// each partition is kept in its [`Slot`].)
#[derive(Debug, Default)]
struct FollowerSession {
    /// 0 until the leader opens a session; after a failure, the session to close.
    id: i32,
    /// The next fetch's epoch; 0 asks for a full fetch that opens a new session.
    epoch: i32,
    /// Partitions the leader's session holds that are no longer fetched.
    forget: Vec<TopicPartition>,
}

impl FollowerSession {
    /// The next fetch: full, or the partitions whose parameters changed plus the forgotten.
    /// Delayed partitions are left out, and forgotten by the leader's session: it would
    /// answer their error on every fetch and so end every long poll at once. So are the
    /// partitions the follower throttle holds back (as Kafka's fetcher leaves them out).
    fn build(
        &mut self,
        config: &FetcherConfig,
        fetching: &mut [Slot],
        delays: &FetchDelays,
        now: Instant,
    ) -> FetchRequest {
        let full = self.epoch == 0;
        let mut topics: Vec<FetchTopic> = Vec::new();
        let mut exceeded = None;
        for slot in fetching.iter_mut() {
            let p = &slot.assigned.partition;
            let epoch = slot.assigned.leader_epoch;
            let delayed = !delays.is_empty() && delays.holds(&p.topic, p.index, epoch, now);
            if delayed || slot.held_back(&config.quotas.follower, &mut exceeded) {
                if slot.sent.take().is_some() && !full {
                    self.forget.push((p.topic.clone(), p.index));
                }
                continue;
            }
            // Read before the offsets: a change in between shows as a newer generation.
            let generation = p.generation();
            if !full && slot.sent.as_ref().is_some_and(|(g, _)| *g == generation) {
                continue;
            }
            let part = FetchPartition::default()
                .with_partition(p.index)
                .with_current_leader_epoch(slot.assigned.leader_epoch)
                .with_fetch_offset(p.log_end_offset())
                .with_log_start_offset(p.log_start_offset())
                .with_partition_max_bytes(slot.max_bytes(config));
            let changed = full || slot.sent.as_ref().is_none_or(|(_, sent)| *sent != part);
            slot.sent = Some((generation, part.clone()));
            if !changed {
                continue;
            }
            match topics.iter_mut().find(|t| t.topic.0.as_str() == p.topic) {
                Some(t) => t.partitions.push(part),
                None => topics.push(
                    FetchTopic::default()
                        .with_topic(topic_name(&p.topic))
                        .with_partitions(vec![part]),
                ),
            }
        }
        let mut forgotten: Vec<ForgottenTopic> = Vec::new();
        for (topic, index) in std::mem::take(&mut self.forget) {
            if full {
                continue;
            }
            match forgotten.iter_mut().find(|f| f.topic.0.as_str() == topic) {
                Some(f) => f.partitions.push(index),
                None => forgotten.push(
                    ForgottenTopic::default()
                        .with_topic(topic_name(&topic))
                        .with_partitions(vec![index]),
                ),
            }
        }
        FetchRequest::default()
            .with_replica_id(BrokerId(config.broker_id))
            .with_max_wait_ms(config.wait_max_ms)
            .with_min_bytes(1)
            .with_max_bytes(RESPONSE_MAX_BYTES)
            .with_session_id(self.id)
            .with_session_epoch(self.epoch)
            .with_topics(topics)
            .with_forgotten_topics_data(forgotten)
    }

    /// A fetch sent with `epoch` was answered without a top-level error.
    fn answered(&mut self, epoch: i32, session_id: i32) {
        if session_id == 0 {
            // No session (the leader has no room, or closed it): full fetches from here on.
            self.id = 0;
            self.epoch = 0;
        } else if epoch == 0 {
            self.id = session_id;
            self.epoch = 1;
        } else {
            self.epoch = crate::fetch_session::next_epoch(epoch);
        }
    }

    /// The leader refused the session: start a new one (closing the old, unless the leader
    /// no longer knows it).
    fn failed(&mut self, error_code: i16) {
        if error_code == ResponseError::FetchSessionIdNotFound.code() {
            self.id = 0;
        }
        self.epoch = 0;
    }

    /// The connection was lost: the next fetch, on a new connection, opens a new session and
    /// closes the old one.
    fn restart(&mut self) {
        self.epoch = 0;
    }
}

/// Finds where this replica's log diverges from the leader's and truncates there (Kafka's
/// `getOffsetTruncationState`). Ok(false) = the leader could not answer yet; try later.
async fn truncate(
    conn: &mut KafkaConnection,
    config: &FetcherConfig,
    a: &Assigned,
) -> std::io::Result<bool> {
    let p = &a.partition;
    let Some(mut epoch) = p.latest_epoch() else {
        // No epochs recorded: nothing can have diverged within an epoch we know of; keep only
        // what was committed.
        let hw = p.high_watermark();
        if p.log_end_offset() > hw {
            truncate_logged(p, hw);
        }
        return Ok(true);
    };
    for _ in 0..MAX_TRUNCATION_ROUNDS {
        let req = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(config.broker_id))
            .with_topics(vec![OffsetForLeaderTopic::default()
                .with_topic(topic_name(&p.topic))
                .with_partitions(vec![OffsetForLeaderPartition::default()
                    .with_partition(p.index)
                    .with_current_leader_epoch(a.leader_epoch)
                    .with_leader_epoch(epoch)])]);
        let resp = conn.request(&req, OFFSET_FOR_LEADER_EPOCH_VERSION).await?;
        let Some(answer) = resp.topics.first().and_then(|t| t.partitions.first()) else {
            return Ok(false);
        };
        if answer.error_code != 0 {
            debug!(topic = %p.topic, partition = p.index, error = answer.error_code, "leader cannot answer OffsetForLeaderEpoch yet");
            return Ok(false);
        }
        let leo = p.log_end_offset();
        if answer.end_offset < 0 {
            truncate_logged(p, p.high_watermark());
            return Ok(true);
        }
        let (local_epoch, local_end) = p.end_offset_for_epoch(answer.leader_epoch);
        if answer.leader_epoch < 0 || local_epoch < 0 {
            truncate_logged(p, answer.end_offset.min(leo));
            return Ok(true);
        }
        if local_epoch == answer.leader_epoch {
            truncate_logged(p, answer.end_offset.min(local_end).min(leo));
            return Ok(true);
        }
        // The leader's epoch is unknown here: cut to where our own older epoch ends and ask
        // again about that epoch.
        truncate_logged(p, local_end.min(leo));
        epoch = local_epoch;
    }
    warn!(topic = %p.topic, partition = p.index, "could not find the divergence point; truncating to the high watermark");
    truncate_logged(p, p.high_watermark());
    Ok(true)
}

fn truncate_logged(p: &Partition, offset: i64) {
    let leo = p.log_end_offset();
    if offset >= leo {
        return;
    }
    info!(topic = %p.topic, partition = p.index, from = leo, to = offset, "truncating diverged log tail");
    if let Err(e) = p.truncate_to(offset) {
        warn!(topic = %p.topic, partition = p.index, error = %e, "truncation failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Log, LogConfig};
    use crate::replica::log_dirs::LogDir;

    fn assigned(dir: &std::path::Path, topic: &str, index: i32) -> Assigned {
        let log =
            Log::open(&dir.join(format!("{topic}-{index}")), LogConfig::default()).expect("log");
        Assigned {
            partition: Arc::new(
                Partition::new(topic.into(), index, 2, log, LogDir::standalone(dir))
                    .expect("partition"),
            ),
            leader_epoch: 0,
            truncating: false,
        }
    }

    fn sent(req: &FetchRequest) -> Vec<(String, i32)> {
        let mut v: Vec<_> = req
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.topic.0.to_string(), p.partition))
            })
            .collect();
        v.sort();
        v
    }

    fn forgotten(req: &FetchRequest) -> Vec<(String, Vec<i32>)> {
        req.forgotten_topics_data
            .iter()
            .map(|f| (f.topic.0.to_string(), f.partitions.clone()))
            .collect()
    }

    #[test]
    fn the_session_sends_only_what_changed_and_starts_over_after_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = FetcherConfig {
            broker_id: 2,
            partition_max_bytes: 1 << 20,
            wait_max_ms: 500,
            backoff: Duration::from_millis(200),
            tls: None,
            sasl: None,
            quotas: Arc::new(ReplicationQuotas::unlimited()),
        };
        let mut assignments = Assignments::default();
        for (t, i) in [("a", 0), ("a", 1), ("b", 0)] {
            assignments.insert((t.into(), i), assigned(dir.path(), t, i));
        }
        let mut session = FollowerSession::default();
        let mut view = View::default();
        view.rebuild(&assignments, &mut session);
        let full = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!((full.session_id, full.session_epoch), (0, 0));
        assert_eq!(sent(&full).len(), 3);
        session.answered(0, 77);

        let next = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!((next.session_id, next.session_epoch), (77, 1));
        assert!(next.topics.is_empty() && next.forgotten_topics_data.is_empty());
        session.answered(1, 77);

        // a/1 has a new leader epoch; b/0 is no longer followed.
        assignments.update(&("a".into(), 1), |a| a.leader_epoch = 1);
        assignments.remove(&("b".into(), 0));
        view.rebuild(&assignments, &mut session);
        let next = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!(next.session_epoch, 2);
        assert_eq!(sent(&next), vec![("a".to_string(), 1)]);
        assert_eq!(forgotten(&next), vec![("b".to_string(), vec![0])]);
        session.answered(2, 77);

        // A change to a partition's log (its generation moves) without a change to its
        // fetch parameters sends nothing.
        view.fetching[0].assigned.partition.changed();
        let next = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert!(next.topics.is_empty(), "{:?}", sent(&next));
        session.answered(3, 77);

        // Following b/0 again sends it again; dropped and back before the next fetch, it is
        // sent and not forgotten.
        assignments.insert(("b".into(), 0), assigned(dir.path(), "b", 0));
        view.rebuild(&assignments, &mut session);
        assignments.remove(&("a".into(), 0));
        view.rebuild(&assignments, &mut session);
        let a0 = assigned(dir.path(), "a", 0);
        assignments.insert(("a".into(), 0), a0);
        view.rebuild(&assignments, &mut session);
        let next = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!(
            sent(&next),
            vec![("a".to_string(), 0), ("b".to_string(), 0)]
        );
        assert!(forgotten(&next).is_empty(), "{:?}", forgotten(&next));
        session.answered(4, 77);

        // The leader lost the session: a full fetch opening a new one.
        session.failed(ResponseError::FetchSessionIdNotFound.code());
        let full = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!((full.session_id, full.session_epoch), (0, 0));
        assert_eq!(sent(&full).len(), 3);
        session.answered(0, 78);
        // Out of step: close session 78 while opening the next.
        session.failed(ResponseError::InvalidFetchSessionEpoch.code());
        let full = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!((full.session_id, full.session_epoch), (78, 0));
        assert_eq!(sent(&full).len(), 3);
        // No room on the leader: full fetches go on.
        session.answered(0, 0);
        let again = session.build(&config, &mut view.fetching, &view.delays, Instant::now());
        assert_eq!((again.session_id, again.session_epoch), (0, 0));
        assert_eq!(sent(&again).len(), 3);
    }

    #[test]
    fn a_delayed_partition_is_left_out_and_forgotten_until_its_delay_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backoff = Duration::from_millis(200);
        let config = FetcherConfig {
            broker_id: 2,
            partition_max_bytes: 1 << 20,
            wait_max_ms: 500,
            backoff,
            tls: None,
            sasl: None,
            quotas: Arc::new(ReplicationQuotas::unlimited()),
        };
        let mut assignments = Assignments::default();
        for (t, i) in [("a", 0), ("a", 1)] {
            assignments.insert((t.into(), i), assigned(dir.path(), t, i));
        }
        let mut session = FollowerSession::default();
        let mut view = View::default();
        view.rebuild(&assignments, &mut session);
        let now = Instant::now();
        let later = now + backoff;

        // Failed before the session opens: the full fetch leaves it out.
        view.delays.failed("a", 1, 0, now, backoff);
        let full = session.build(&config, &mut view.fetching, &view.delays, now);
        assert_eq!(sent(&full), vec![("a".to_string(), 0)]);
        session.answered(0, 9);

        // Its delay over, it joins the session.
        let next = session.build(&config, &mut view.fetching, &view.delays, later);
        assert_eq!(sent(&next), vec![("a".to_string(), 1)]);
        session.answered(1, 9);

        // Failed while in the session: forgotten once, then neither sent nor forgotten.
        view.delays.failed("a", 1, 0, later, backoff);
        let next = session.build(&config, &mut view.fetching, &view.delays, later);
        assert!(next.topics.is_empty(), "{:?}", sent(&next));
        assert_eq!(forgotten(&next), vec![("a".to_string(), vec![1])]);
        session.answered(2, 9);
        let next = session.build(&config, &mut view.fetching, &view.delays, later);
        assert!(next.topics.is_empty() && next.forgotten_topics_data.is_empty());
        session.answered(3, 9);

        // A new leader epoch is not delayed (the error was about the state it replaces), and
        // the rebuild drops the old epoch's failures.
        assignments.update(&("a".into(), 1), |a| a.leader_epoch = 1);
        view.rebuild(&assignments, &mut session);
        assert!(view.delays.is_empty());
        let next = session.build(&config, &mut view.fetching, &view.delays, later);
        assert_eq!(sent(&next), vec![("a".to_string(), 1)]);
        assert!(next.forgotten_topics_data.is_empty());
    }
}
