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
//! Session epochs in a request: -1 with id 0 is a sessionless fetch; -1 with an id closes that
//! session (the fetch itself is sessionless); 0 opens a new session (closing the one named, if
//! any); N > 0 continues session `id`, whose expected epoch must be N.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::ResponseError;

/// Kafka's `max.incremental.fetch.session.cache.slots` default.
pub const DEFAULT_MAX_SESSIONS: usize = 1000;
/// A session unused this long may be evicted to make room (Kafka's eviction threshold).
const STALE_AFTER: Duration = Duration::from_secs(120);
/// First Fetch version with session fields.
const FIRST_SESSION_VERSION: i16 = 7;

/// What one Fetch request reads, and how its response relates to a session.
#[derive(Debug)]
pub enum SessionFetch {
    /// Read the request's partitions; answer with session id 0.
    Sessionless,
    /// Read the request's partitions; remember them and what was answered as a new session.
    Create { from_follower: bool },
    /// Read every partition of session `id` (`topics`, in this order); answer only what
    /// changed.
    Incremental {
        id: i32,
        /// The session's epoch once this request is counted: a concurrent use shows as a
        /// different epoch when the response is built.
        epoch_after: i32,
        /// For each partition read, in order, its place in the session.
        slots: Vec<usize>,
        topics: Vec<FetchTopic>,
    },
    /// The request names no usable session: answer with this error and no partitions.
    Error(ResponseError),
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
    partitions: Vec<Cached>,
    index: HashMap<(TopicName, i32), usize>,
    /// Where the next read starts, so that under the response size limit the partitions take
    /// turns (Kafka moves partitions that returned data to the end of the session instead).
    cursor: usize,
}

#[derive(Debug, Clone)]
struct Cached {
    topic: TopicName,
    /// The fetch parameters last given for this partition.
    request: FetchPartition,
    /// What the fetcher was last told; -1 until told anything, or after an error, so that the
    /// next answer includes the partition.
    high_watermark: i64,
    log_start_offset: i64,
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
    /// and lists what to read.
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
        let (slots, topics) = session.to_read();
        SessionFetch::Incremental {
            id: req.session_id,
            epoch_after: session.epoch,
            slots,
            topics,
        }
    }

    /// Finishes a fetch's response: for an incremental fetch, drops from `topics` (and from
    /// `records`, kept in the same order) the partitions with nothing new and remembers what
    /// the rest say; for a new session, creates it. Returns the session id to answer with.
    pub fn complete<R>(
        &self,
        fetch: &SessionFetch,
        request_topics: &[FetchTopic],
        topics: &mut Vec<FetchableTopicResponse>,
        records: &mut Vec<R>,
        has_records: impl Fn(&R) -> bool,
        now: Instant,
    ) -> Result<i32, ResponseError> {
        match fetch {
            SessionFetch::Sessionless => Ok(0),
            SessionFetch::Error(e) => Err(*e),
            SessionFetch::Create { from_follower } => {
                let mut partitions = Vec::new();
                let answered = topics.iter().flat_map(|t| t.partitions.iter());
                let requested = request_topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(move |p| (&t.topic, p)));
                for ((topic, request), data) in requested.zip(answered) {
                    let mut cached = Cached {
                        topic: topic.clone(),
                        request: request.clone(),
                        high_watermark: -1,
                        log_start_offset: -1,
                    };
                    cached.remember(data);
                    partitions.push(cached);
                }
                Ok(self.create(partitions, *from_follower, now))
            }
            SessionFetch::Incremental {
                id,
                epoch_after,
                slots,
                ..
            } => {
                let mut cache = self.lock();
                let session = match cache.sessions.get_mut(id) {
                    Some(s) if s.epoch == *epoch_after => s,
                    // Used by another request meanwhile, or evicted: what this one read may
                    // be out of date for the session.
                    _ => return Err(ResponseError::InvalidFetchSessionEpoch),
                };
                session.keep_changed(slots, topics, records, has_records);
                Ok(*id)
            }
        }
    }

    fn create(&self, partitions: Vec<Cached>, from_follower: bool, now: Instant) -> i32 {
        let mut cache = self.lock();
        if cache.sessions.len() >= self.max_sessions
            && !cache.evict_one(from_follower, now, self.max_sessions)
        {
            // Full of sessions in use: the fetcher goes on with full fetches.
            return 0;
        }
        let Cache { sessions, ids } = &mut *cache;
        let id = ids.fresh(sessions);
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
    /// Makes room for one session: a stale one goes first; a follower's new session may also
    /// push out the least recently used consumer session (replication matters more).
    fn evict_one(&mut self, for_follower: bool, now: Instant, max: usize) -> bool {
        if max == 0 {
            return false;
        }
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
                    Some(&i) => self.partitions[i].request = p.clone(),
                    None => {
                        self.index.insert(key, self.partitions.len());
                        self.partitions.push(Cached {
                            topic: topic.topic.clone(),
                            request: p.clone(),
                            high_watermark: -1,
                            log_start_offset: -1,
                        });
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
        self.partitions.swap_remove(i);
        if let Some(moved) = self.partitions.get(i) {
            self.index
                .insert((moved.topic.clone(), moved.request.partition), i);
        }
    }

    /// Every partition of the session, from the cursor on, as fetch topics (a topic whose
    /// partitions are not next to each other appears more than once, as in Kafka's responses).
    fn to_read(&self) -> (Vec<usize>, Vec<FetchTopic>) {
        let n = self.partitions.len();
        let slots: Vec<usize> = (0..n).map(|i| (self.cursor + i) % n).collect();
        let mut topics: Vec<FetchTopic> = Vec::new();
        for &slot in &slots {
            let cached = &self.partitions[slot];
            match topics.last_mut() {
                Some(t) if t.topic == cached.topic => t.partitions.push(cached.request.clone()),
                _ => topics.push(
                    FetchTopic::default()
                        .with_topic(cached.topic.clone())
                        .with_partitions(vec![cached.request.clone()]),
                ),
            }
        }
        (slots, topics)
    }

    /// Keeps in the response only the partitions with something new, remembering what they
    /// say; the next read starts after the last partition that returned records.
    fn keep_changed<R>(
        &mut self,
        slots: &[usize],
        topics: &mut Vec<FetchableTopicResponse>,
        records: &mut Vec<R>,
        has_records: impl Fn(&R) -> bool,
    ) {
        let mut kept_records = Vec::new();
        let mut all_records = std::mem::take(records).into_iter();
        let mut slots = slots.iter();
        let mut last_with_data = None;
        for topic in topics.iter_mut() {
            let partitions = std::mem::take(&mut topic.partitions);
            for data in partitions {
                let (Some(&slot), Some(r)) = (slots.next(), all_records.next()) else {
                    continue;
                };
                let Some(cached) = self.partitions.get_mut(slot) else {
                    continue;
                };
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
        if data.error_code != 0 {
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
#[derive(Debug)]
struct IdSource {
    hasher: RandomState,
    counter: u64,
}

impl Default for IdSource {
    fn default() -> Self {
        IdSource {
            hasher: RandomState::new(),
            counter: 0,
        }
    }
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
