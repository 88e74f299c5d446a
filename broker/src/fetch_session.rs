//! Incremental fetch sessions (KIP-227, Kafka's `FetchSession.scala`).
//!
//! A fetcher that keeps asking for the same partitions (a follower, a kafka-python consumer)
//! opens a session with a full fetch (`session_epoch` 0); the broker remembers the partitions
//! and what it last told the fetcher about each. Later fetches in the session (epoch 1, 2, ...)
//! carry only the partitions whose fetch parameters changed, plus the ones to forget, and the
//! response carries only the partitions with something new: records, a moved high watermark or
//! log start, or an error. Without sessions every follower fetch names, and every response
//! describes, every partition the follower has on this leader, whether anything happened or not.
//!
//! A session also saves the broker work: it reads only the partitions that changed (by their
//! generation, see [`Partition::generation`]) or whose fetch parameters changed, plus all of
//! them once every [`FULL_VISIT_EVERY`] (a follower's fetch of a partition is also how the
//! leader knows the follower is caught up); and it long-polls on one waker that the session's
//! partitions notify, instead of subscribing to each partition on every fetch.
//!
//! Session epochs in a request: -1 with id 0 is a sessionless fetch; -1 with an id closes that
//! session (the fetch itself is sessionless); 0 opens a new session (closing the one named, if
//! any); N > 0 continues session `id`, whose expected epoch must be N.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::ResponseError;
use tokio::sync::Notify;

use crate::replica::Partition;

/// Kafka's `max.incremental.fetch.session.cache.slots` default.
pub const DEFAULT_MAX_SESSIONS: usize = 1000;
/// A session unused this long may be evicted to make room (Kafka's eviction threshold).
const STALE_AFTER: Duration = Duration::from_secs(120);
/// First Fetch version with session fields.
const FIRST_SESSION_VERSION: i16 = 7;
/// How often a session reads all its partitions, changed or not: far below
/// `replica.lag.time.max.ms`, so a caught-up follower of an idle partition stays in the ISR.
pub const FULL_VISIT_EVERY: Duration = Duration::from_secs(1);

/// What one Fetch request reads, and how its response relates to a session.
#[derive(Debug)]
pub enum SessionFetch {
    /// Read the request's partitions; answer with session id 0.
    Sessionless,
    /// Read the request's partitions; remember them and what was answered as a new session.
    Create { from_follower: bool },
    /// Read what changed in session `id` ([`FetchSessions::to_read`]); answer only what is new.
    Incremental {
        id: i32,
        /// The session's epoch once this request is counted: a concurrent use shows as a
        /// different epoch later on.
        epoch_after: i32,
        /// Notified by the session's partitions when they change: the long poll waits on it.
        waker: Arc<Notify>,
    },
    /// The request names no usable session: answer with this error and no partitions.
    Error(ResponseError),
}

/// What an incremental fetch reads in one round: for each partition, its place in the
/// session, and the same partitions as fetch topics.
#[derive(Debug, Default)]
pub struct ToRead {
    pub slots: Vec<usize>,
    pub topics: Vec<FetchTopic>,
}

/// The partition a fetch read (in response order), and its generation before the read
/// (`u64::MAX`: read it again next time whatever happens, e.g. the throttle held it back).
#[derive(Debug, Clone)]
pub struct Visit {
    pub partition: Option<Arc<Partition>>,
    pub generation: u64,
}

/// A fetch's response as read: its topics, each partition's records and visit, in the order
/// of the partitions in `topics`.
#[derive(Debug)]
pub struct Answer<'a, R> {
    pub topics: &'a mut Vec<FetchableTopicResponse>,
    pub records: &'a mut Vec<R>,
    pub visits: Vec<Visit>,
}

/// This broker's fetch sessions.
#[derive(Debug)]
pub struct FetchSessions {
    max_sessions: usize,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    sessions: HashMap<i32, Session>,
    ids: IdSource,
}

#[derive(Debug)]
struct Session {
    /// The epoch the next request in this session must carry.
    epoch: i32,
    from_follower: bool,
    last_used: Instant,
    last_full_visit: Instant,
    waker: Arc<Notify>,
    partitions: Vec<Cached>,
    index: HashMap<(TopicName, i32), usize>,
    /// Where the next read starts, so that under the response size limit the partitions take
    /// turns (Kafka moves partitions that returned data to the end of the session instead).
    cursor: usize,
}

#[derive(Debug)]
struct Cached {
    topic: TopicName,
    /// The fetch parameters last given for this partition.
    request: FetchPartition,
    /// What the fetcher was last told; -1 until told anything, or after an error, so that the
    /// next answer includes the partition.
    high_watermark: i64,
    log_start_offset: i64,
    /// The last answer carried an error (answered again every time, as Kafka does).
    failing: bool,
    /// New or changed fetch parameters not yet read with.
    dirty: bool,
    /// The partition as last read (the session listens to it), and its generation then. Weak:
    /// a session must not keep a deleted partition's log open.
    partition: Option<Weak<Partition>>,
    seen: u64,
}

impl FetchSessions {
    pub fn new(max_sessions: usize) -> Self {
        FetchSessions {
            max_sessions,
            cache: Mutex::new(Cache::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sessions held now.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Classifies a request and, for an incremental one, applies its changes to the session
    /// (what to read then comes from [`Self::to_read`]).
    pub fn begin(&self, req: &FetchRequest, version: i16, now: Instant) -> SessionFetch {
        if version < FIRST_SESSION_VERSION {
            return SessionFetch::Sessionless;
        }
        let mut cache = self.lock();
        if req.session_epoch == 0 || req.session_epoch == -1 {
            if req.session_id != 0 {
                cache.sessions.remove(&req.session_id);
            }
            return if req.session_epoch == 0 {
                SessionFetch::Create {
                    from_follower: req.replica_id.0 >= 0,
                }
            } else {
                SessionFetch::Sessionless
            };
        }
        let Some(session) = cache.sessions.get_mut(&req.session_id) else {
            return SessionFetch::Error(ResponseError::FetchSessionIdNotFound);
        };
        if session.epoch != req.session_epoch {
            return SessionFetch::Error(ResponseError::InvalidFetchSessionEpoch);
        }
        session.apply(req);
        session.epoch = next_epoch(session.epoch);
        session.last_used = now;
        SessionFetch::Incremental {
            id: req.session_id,
            epoch_after: session.epoch,
            waker: session.waker.clone(),
        }
    }

    /// What an incremental fetch reads next: the partitions that changed or have new fetch
    /// parameters since they were last answered, or all of them when a full visit is due.
    pub fn to_read(&self, fetch: &SessionFetch, now: Instant) -> Result<ToRead, ResponseError> {
        let SessionFetch::Incremental {
            id, epoch_after, ..
        } = fetch
        else {
            return Ok(ToRead::default());
        };
        let mut cache = self.lock();
        let session = cache.current(*id, *epoch_after)?;
        let all = now.duration_since(session.last_full_visit) >= FULL_VISIT_EVERY;
        if all {
            session.last_full_visit = now;
        }
        Ok(session.to_read(all))
    }

    /// The number of partitions in an incremental fetch's session.
    pub fn partitions(&self, fetch: &SessionFetch) -> usize {
        match fetch {
            SessionFetch::Incremental { id, .. } => self
                .lock()
                .sessions
                .get(id)
                .map_or(0, |s| s.partitions.len()),
            _ => 0,
        }
    }

    /// After each read of an incremental fetch: the session listens to the partitions it read
    /// (so that their next change wakes its long poll).
    pub fn listen(&self, fetch: &SessionFetch, slots: &[usize], visits: &[Visit]) {
        let SessionFetch::Incremental {
            id, epoch_after, ..
        } = fetch
        else {
            return;
        };
        let mut cache = self.lock();
        if let Ok(session) = cache.current(*id, *epoch_after) {
            for (&slot, visit) in slots.iter().zip(visits) {
                session.listen(slot, visit);
            }
        }
    }

    /// Finishes a fetch's response: for an incremental fetch, drops from `topics` (and from
    /// `records`, kept in the same order) the partitions with nothing new and remembers what
    /// the rest say (the session already listens to them: [`Self::listen`] after each read);
    /// for a new session, creates it. Returns the session id to answer with.
    pub fn complete<R>(
        &self,
        fetch: &SessionFetch,
        read: (&[FetchTopic], &[usize]),
        answer: Answer<'_, R>,
        has_records: impl Fn(&R) -> bool,
        now: Instant,
    ) -> Result<i32, ResponseError> {
        let (request_topics, slots) = read;
        match fetch {
            SessionFetch::Sessionless => Ok(0),
            SessionFetch::Error(e) => Err(*e),
            SessionFetch::Create { from_follower } => {
                let mut partitions = Vec::new();
                let answered = answer.topics.iter().flat_map(|t| t.partitions.iter());
                let requested = request_topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(move |p| (&t.topic, p)));
                for (((topic, request), data), visit) in requested.zip(answered).zip(answer.visits)
                {
                    let mut cached = Cached::new(topic.clone(), request.clone());
                    cached.remember(data);
                    cached.partition = visit.partition.as_ref().map(Arc::downgrade);
                    cached.seen = visit.generation;
                    cached.dirty = false;
                    partitions.push(cached);
                }
                Ok(self.create(partitions, *from_follower, now))
            }
            SessionFetch::Incremental {
                id, epoch_after, ..
            } => {
                let mut cache = self.lock();
                // Used by another request meanwhile, or evicted: what this one read may be
                // out of date for the session.
                let session = cache.current(*id, *epoch_after)?;
                session.keep_changed(slots, answer, has_records);
                Ok(*id)
            }
        }
    }

    fn create(&self, partitions: Vec<Cached>, from_follower: bool, now: Instant) -> i32 {
        if self.max_sessions == 0 {
            return 0;
        }
        let mut cache = self.lock();
        if cache.sessions.len() >= self.max_sessions && !cache.evict_one(from_follower, now) {
            // Full of sessions in use: the fetcher goes on with full fetches.
            return 0;
        }
        let Cache { sessions, ids } = &mut *cache;
        let id = ids.fresh(sessions);
        let waker = Arc::new(Notify::new());
        for cached in &partitions {
            if let Some(p) = cached.partition.as_ref().and_then(Weak::upgrade) {
                p.listen(&waker);
            }
        }
        let index = partitions
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.topic.clone(), c.request.partition), i))
            .collect();
        sessions.insert(
            id,
            Session {
                epoch: 1,
                from_follower,
                last_used: now,
                last_full_visit: now,
                waker,
                partitions,
                index,
                cursor: 0,
            },
        );
        id
    }
}

impl Default for FetchSessions {
    fn default() -> Self {
        FetchSessions::new(DEFAULT_MAX_SESSIONS)
    }
}

impl Cache {
    /// Session `id`, if it is still at the epoch this request left it at.
    fn current(&mut self, id: i32, epoch_after: i32) -> Result<&mut Session, ResponseError> {
        match self.sessions.get_mut(&id) {
            Some(s) if s.epoch == epoch_after => Ok(s),
            _ => Err(ResponseError::InvalidFetchSessionEpoch),
        }
    }

    /// Makes room for one session: a stale one goes first; a follower's new session may also
    /// push out the least recently used consumer session (replication matters more).
    fn evict_one(&mut self, for_follower: bool, now: Instant) -> bool {
        let lru = |only_consumers: bool| {
            self.sessions
                .iter()
                .filter(|(_, s)| !only_consumers || !s.from_follower)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, s)| (*id, s.last_used))
        };
        let victim = match lru(false) {
            Some((id, used)) if now.duration_since(used) >= STALE_AFTER => Some(id),
            _ if for_follower => lru(true).map(|(id, _)| id),
            _ => None,
        };
        match victim {
            Some(id) => self.sessions.remove(&id).is_some(),
            None => false,
        }
    }
}

impl Session {
    /// Takes in an incremental request's new and changed partitions and drops the forgotten.
    fn apply(&mut self, req: &FetchRequest) {
        for topic in &req.topics {
            for p in &topic.partitions {
                let key = (topic.topic.clone(), p.partition);
                match self.index.get(&key) {
                    Some(&i) => {
                        let cached = &mut self.partitions[i];
                        cached.request = p.clone();
                        cached.dirty = true;
                    }
                    None => {
                        self.index.insert(key, self.partitions.len());
                        self.partitions
                            .push(Cached::new(topic.topic.clone(), p.clone()));
                    }
                }
            }
        }
        for forgotten in &req.forgotten_topics_data {
            for &index in &forgotten.partitions {
                self.remove(&(forgotten.topic.clone(), index));
            }
        }
        if self.cursor >= self.partitions.len() {
            self.cursor = 0;
        }
    }

    fn remove(&mut self, key: &(TopicName, i32)) {
        let Some(i) = self.index.remove(key) else {
            return;
        };
        let gone = self.partitions.swap_remove(i);
        if let Some(p) = gone.partition.as_ref().and_then(Weak::upgrade) {
            p.unlisten(&self.waker);
        }
        if let Some(moved) = self.partitions.get(i) {
            self.index
                .insert((moved.topic.clone(), moved.request.partition), i);
        }
    }

    /// The partitions to read, from the cursor on, as fetch topics (a topic whose partitions
    /// are not next to each other appears more than once, as in Kafka's responses): all, or
    /// those that may have something new.
    fn to_read(&self, all: bool) -> ToRead {
        let n = self.partitions.len();
        let mut read = ToRead::default();
        for slot in (0..n).map(|i| (self.cursor + i) % n) {
            let cached = &self.partitions[slot];
            if !all && !cached.may_have_news() {
                continue;
            }
            read.slots.push(slot);
            match read.topics.last_mut() {
                Some(t) if t.topic == cached.topic => t.partitions.push(cached.request.clone()),
                _ => read.topics.push(
                    FetchTopic::default()
                        .with_topic(cached.topic.clone())
                        .with_partitions(vec![cached.request.clone()]),
                ),
            }
        }
        read
    }

    /// Listens to the partition read for `slot`, if it is not the one listened to already.
    fn listen(&mut self, slot: usize, visit: &Visit) {
        let Some(cached) = self.partitions.get_mut(slot) else {
            return;
        };
        let same = match (&cached.partition, &visit.partition) {
            (Some(a), Some(b)) => std::ptr::eq(a.as_ptr(), Arc::as_ptr(b)),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        if let Some(old) = cached.partition.as_ref().and_then(Weak::upgrade) {
            old.unlisten(&self.waker);
        }
        if let Some(new) = &visit.partition {
            new.listen(&self.waker);
        }
        cached.partition = visit.partition.as_ref().map(Arc::downgrade);
        // Not yet answered with this partition: read it again until then.
        cached.seen = u64::MAX;
    }

    /// Keeps in the response only the partitions with something new, remembering what they
    /// say; the next read starts after the last partition that returned records.
    fn keep_changed<R>(
        &mut self,
        slots: &[usize],
        answer: Answer<'_, R>,
        has_records: impl Fn(&R) -> bool,
    ) {
        let Answer {
            topics,
            records,
            visits,
        } = answer;
        let mut kept_records = Vec::new();
        let mut all_records = std::mem::take(records).into_iter();
        let mut read = slots.iter().zip(visits);
        let mut last_with_data = None;
        for topic in topics.iter_mut() {
            let partitions = std::mem::take(&mut topic.partitions);
            for data in partitions {
                let (Some((&slot, visit)), Some(r)) = (read.next(), all_records.next()) else {
                    continue;
                };
                let Some(cached) = self.partitions.get_mut(slot) else {
                    continue;
                };
                cached.seen = visit.generation;
                cached.dirty = false;
                let with_records = has_records(&r);
                if with_records {
                    last_with_data = Some(slot);
                }
                if cached.remember(&data) || with_records {
                    topic.partitions.push(data);
                    kept_records.push(r);
                }
            }
        }
        topics.retain(|t| !t.partitions.is_empty());
        *records = kept_records;
        if let Some(slot) = last_with_data {
            self.cursor = (slot + 1) % self.partitions.len().max(1);
        }
    }
}

impl Cached {
    fn new(topic: TopicName, request: FetchPartition) -> Self {
        Cached {
            topic,
            request,
            high_watermark: -1,
            log_start_offset: -1,
            failing: false,
            dirty: true,
            partition: None,
            seen: u64::MAX,
        }
    }

    /// Whether reading this partition could give the fetcher anything new: it changed since
    /// it was last answered, has new fetch parameters, or is failing.
    fn may_have_news(&self) -> bool {
        self.dirty
            || self.failing
            || match self.partition.as_ref().and_then(Weak::upgrade) {
                Some(p) => p.generation() != self.seen,
                // Never read, or gone (deleted): look it up again.
                None => true,
            }
    }

    /// Takes what a response says about this partition; true if that is news to the fetcher
    /// (records aside, which the caller checks).
    fn remember(&mut self, data: &PartitionData) -> bool {
        let mut changed = false;
        if data.high_watermark != self.high_watermark {
            self.high_watermark = data.high_watermark;
            changed = true;
        }
        if data.log_start_offset != self.log_start_offset {
            self.log_start_offset = data.log_start_offset;
            changed = true;
        }
        self.failing = data.error_code != 0;
        if self.failing {
            // Errors are always answered; -1 makes the partition be answered again once the
            // error clears.
            self.high_watermark = -1;
            changed = true;
        }
        changed
    }
}

/// The epoch after `epoch`; wraps to 1, since 0 and -1 mean "open" and "close".
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// Session ids: random, positive, and not in use.
#[derive(Debug, Default)]
struct IdSource {
    hasher: RandomState,
    counter: u64,
}

impl IdSource {
    fn fresh(&mut self, in_use: &HashMap<i32, Session>) -> i32 {
        loop {
            self.counter += 1;
            let mut h = self.hasher.build_hasher();
            h.write_u64(self.counter);
            let id = (h.finish() & 0x7fff_ffff) as i32;
            if id != 0 && !in_use.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests;
