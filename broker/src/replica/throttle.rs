//! Replication throttles (Kafka's `ReplicationQuotaManager`): a byte rate shared by the
//! throttled replicas of this broker, one quota for the leader side (what this broker serves
//! to followers) and one for the follower side (what its fetchers take from leaders).
//!
//! Which replicas are throttled comes from the topic configs
//! `leader.replication.throttled.replicas` / `follower.replication.throttled.replicas`
//! (`"*"`, or `"partition:broker,..."`, of which only this broker's entries count); the rates
//! from `leader.replication.throttled.rate` / `follower.replication.throttled.rate`. Only
//! throttled replicas are ever held back, and only while they are out of sync (as in Kafka,
//! so a throttle never shrinks the ISR): a producer's partitions are never slowed.
//!
//! The rate is Kafka's `SimpleRate` over `replication.quota.window.num` samples of
//! `replication.quota.window.size.seconds`: bytes in the live samples divided by the time since
//! the oldest began (at least one window). All throttled traffic is recorded, in sync or not;
//! the quota is exceeded while that rate is above the bound.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use thiserror::Error;

/// Kafka's `replication.quota.window.num` default: 10 whole windows and the current one.
pub const DEFAULT_WINDOW_NUM: usize = 11;
/// Kafka's `replication.quota.window.size.seconds` default.
pub const DEFAULT_WINDOW_SIZE: Duration = Duration::from_secs(1);

/// The samples a rate is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    pub samples: usize,
    pub size: Duration,
}

impl Default for QuotaWindow {
    fn default() -> Self {
        QuotaWindow {
            samples: DEFAULT_WINDOW_NUM,
            size: DEFAULT_WINDOW_SIZE,
        }
    }
}

/// Bytes per second over a sliding set of samples (Kafka's `SampledStat` + `SimpleRate`).
#[derive(Debug)]
struct WindowedRate {
    window: QuotaWindow,
    /// Oldest first; each sample covers `[start, start + size)`.
    samples: VecDeque<Sample>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    start: Instant,
    bytes: u64,
}

impl WindowedRate {
    fn new(window: QuotaWindow) -> Self {
        WindowedRate {
            window: QuotaWindow {
                samples: window.samples.max(1),
                size: window.size.max(Duration::from_millis(1)),
            },
            samples: VecDeque::new(),
        }
    }

    fn record(&mut self, bytes: u64, now: Instant) {
        self.purge(now);
        match self.samples.back_mut() {
            Some(s) if now < s.start + self.window.size => s.bytes += bytes,
            _ => {
                self.samples.push_back(Sample { start: now, bytes });
                if self.samples.len() > self.window.samples {
                    self.samples.pop_front();
                }
            }
        }
    }

    /// Drops samples older than the whole window span (Kafka's `purgeObsoleteSamples`).
    fn purge(&mut self, now: Instant) {
        let span = self.window.size * self.window.samples as u32;
        while self
            .samples
            .front()
            .is_some_and(|s| now.saturating_duration_since(s.start) >= span)
        {
            self.samples.pop_front();
        }
    }

    /// (bytes in the live samples, seconds they are spread over).
    fn measure(&mut self, now: Instant) -> (u64, f64) {
        self.purge(now);
        let total = self.samples.iter().map(|s| s.bytes).sum();
        let elapsed = self
            .samples
            .front()
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s.start));
        (total, elapsed.max(self.window.size).as_secs_f64())
    }

    fn rate(&mut self, now: Instant) -> f64 {
        let (bytes, secs) = self.measure(now);
        bytes as f64 / secs
    }

    /// How long until the rate falls to `bound` if nothing more is recorded.
    fn time_to(&mut self, bound: u64, now: Instant) -> Duration {
        let (bytes, secs) = self.measure(now);
        if bound == 0 {
            return self.window.size;
        }
        let needed = bytes as f64 / bound as f64 - secs;
        Duration::from_secs_f64(needed.clamp(0.0, self.window.size.as_secs_f64()))
    }
}

/// The replicas of one topic a quota throttles on this broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottledReplicas {
    /// `*`: every partition of the topic.
    All,
    /// The partitions listed for this broker.
    Partitions(BTreeSet<i32>),
}

impl ThrottledReplicas {
    fn contains(&self, partition: i32) -> bool {
        match self {
            ThrottledReplicas::All => true,
            ThrottledReplicas::Partitions(p) => p.contains(&partition),
        }
    }
}

/// A throttled-replicas value that is neither `*` nor a list of `partition:broker`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...")]
pub struct InvalidReplicaList;

/// Parses a `*.replication.throttled.replicas` value for broker `broker_id` (Kafka's
/// `parseThrottledPartitions`): `None` when it throttles nothing here (empty, or no entry for
/// this broker).
pub fn parse_throttled_replicas(
    value: &str,
    broker_id: i32,
) -> Result<Option<ThrottledReplicas>, InvalidReplicaList> {
    let items: Vec<&str> = value.split(',').map(str::trim).collect();
    if items.concat() == "*" {
        return Ok(Some(ThrottledReplicas::All));
    }
    let mut partitions = BTreeSet::new();
    for item in items.into_iter().filter(|i| !i.is_empty()) {
        let (partition, broker) = item.split_once(':').ok_or(InvalidReplicaList)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(partition) || !digits(broker) {
            return Err(InvalidReplicaList);
        }
        // Numbers too large for an id are valid text but name no replica here.
        if broker.parse::<i32>() == Ok(broker_id) {
            if let Ok(partition) = partition.parse::<i32>() {
                partitions.insert(partition);
            }
        }
    }
    Ok((!partitions.is_empty()).then_some(ThrottledReplicas::Partitions(partitions)))
}

/// One side's quota: its bound, its measured rate and the replicas it throttles.
#[derive(Debug)]
pub struct ReplicationQuota {
    state: Mutex<QuotaState>,
    /// Whether any topic is throttled: the fetch paths skip the lock otherwise.
    any_throttled: AtomicBool,
    /// "leader" or "follower", for the logs.
    side: &'static str,
}

#[derive(Debug)]
struct QuotaState {
    /// Bytes per second; `None`: unlimited.
    bound: Option<u64>,
    rate: WindowedRate,
    throttled: HashMap<String, ThrottledReplicas>,
}

impl ReplicationQuota {
    pub fn new(side: &'static str, window: QuotaWindow, bound: Option<u64>) -> Self {
        ReplicationQuota {
            side,
            state: Mutex::new(QuotaState {
                bound,
                rate: WindowedRate::new(window),
                throttled: HashMap::new(),
            }),
            any_throttled: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QuotaState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the bound in bytes per second (`None`: unlimited); the rate measured so far stays.
    pub fn set_rate(&self, bound: Option<u64>) {
        let mut state = self.lock();
        if state.bound != bound {
            tracing::info!(side = self.side, rate = ?bound, "replication throttle rate set");
            state.bound = bound;
        }
    }

    /// The bound in bytes per second, if any.
    pub fn rate_limit(&self) -> Option<u64> {
        self.lock().bound
    }

    /// The rate of throttled traffic measured now, in bytes per second.
    pub fn measured_rate(&self) -> f64 {
        self.lock().rate.rate(Instant::now())
    }

    /// Replaces the throttled replicas of `topic` (`None`: none).
    pub fn set_throttled(&self, topic: &str, replicas: Option<ThrottledReplicas>) {
        let mut state = self.lock();
        match replicas {
            Some(r) => {
                state.throttled.insert(topic.to_string(), r);
            }
            None => {
                state.throttled.remove(topic);
            }
        }
        self.any_throttled
            .store(!state.throttled.is_empty(), Ordering::Release);
    }

    /// Whether `topic`/`partition` is a throttled replica on this broker.
    pub fn is_throttled(&self, topic: &str, partition: i32) -> bool {
        self.any_throttled.load(Ordering::Acquire)
            && self
                .lock()
                .throttled
                .get(topic)
                .is_some_and(|r| r.contains(partition))
    }

    /// Counts `bytes` of throttled traffic.
    pub fn record(&self, bytes: usize) {
        if bytes > 0 {
            self.lock().rate.record(bytes as u64, Instant::now());
        }
    }

    /// Whether throttled traffic is above the bound now.
    pub fn is_exceeded(&self) -> bool {
        self.exceeded_at(Instant::now())
    }

    fn exceeded_at(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match state.bound {
            Some(bound) => state.rate.rate(now) > bound as f64,
            None => false,
        }
    }

    /// How long until throttled traffic may flow again (zero when it may now).
    pub fn time_until_allowed(&self) -> Duration {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(bound) = state.bound else {
            return Duration::ZERO;
        };
        if state.rate.rate(now) > bound as f64 {
            state.rate.time_to(bound, now)
        } else {
            Duration::ZERO
        }
    }
}

/// The two quotas of a broker: what it serves to followers as a leader, and what its fetchers
/// take as a follower.
#[derive(Debug)]
pub struct ReplicationQuotas {
    pub leader: ReplicationQuota,
    pub follower: ReplicationQuota,
}

impl ReplicationQuotas {
    pub fn new(window: QuotaWindow, leader: Option<u64>, follower: Option<u64>) -> Self {
        ReplicationQuotas {
            leader: ReplicationQuota::new("leader", window, leader),
            follower: ReplicationQuota::new("follower", window, follower),
        }
    }

    /// No bounds, nothing throttled.
    pub fn unlimited() -> Self {
        ReplicationQuotas::new(QuotaWindow::default(), None, None)
    }

    /// Takes in a topic's configs: its two throttled-replicas lists, for broker `broker_id`. A
    /// value that does not parse (written by another tool) throttles nothing.
    pub fn apply_topic_configs(
        &self,
        topic: &str,
        configs: &std::collections::BTreeMap<String, String>,
        broker_id: i32,
    ) {
        for (key, quota) in [
            ("leader.replication.throttled.replicas", &self.leader),
            ("follower.replication.throttled.replicas", &self.follower),
        ] {
            let replicas = match configs.get(key) {
                None => None,
                Some(v) => parse_throttled_replicas(v, broker_id).unwrap_or_else(|e| {
                    tracing::warn!(topic, key, value = v.as_str(), error = %e, "ignoring throttled replicas");
                    None
                }),
            };
            quota.set_throttled(topic, replicas);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn the_rate_is_bytes_over_the_time_since_the_oldest_sample_and_at_least_one_window() {
        let t0 = Instant::now();
        let mut r = WindowedRate::new(QuotaWindow::default());
        assert_eq!(r.rate(t0), 0.0);
        // Within the first window the divisor is the window itself, not the short elapsed time.
        r.record(1000, t0);
        assert_eq!(r.rate(t0 + secs(0.1)), 1000.0);
        // Then the whole time since the oldest sample began.
        r.record(1000, t0 + secs(1.5));
        r.record(2000, t0 + secs(3.0));
        assert!((r.rate(t0 + secs(4.0)) - 1000.0).abs() < 1e-6);
        assert_eq!(r.samples.len(), 3);
        // Samples older than num * size fall out.
        r.record(500, t0 + secs(11.2));
        let rate = r.rate(t0 + secs(12.0));
        // Left: 1.5 s (1000), 3.0 s (2000), 11.2 s (500) over 12.0 - 1.5 s.
        assert!((rate - 3500.0 / 10.5).abs() < 1e-6, "{rate}");
    }

    #[test]
    fn a_sample_holds_what_arrives_within_its_window_and_the_ring_keeps_num_samples() {
        let t0 = Instant::now();
        let mut r = WindowedRate::new(QuotaWindow {
            samples: 3,
            size: secs(1.0),
        });
        for i in 0..10 {
            r.record(10, t0 + secs(i as f64 * 0.25));
        }
        // 0..2.25 s: samples at 0, 1.0 and 2.0.
        assert_eq!(r.samples.len(), 3);
        assert_eq!(r.samples.iter().map(|s| s.bytes).sum::<u64>(), 100);
        r.record(10, t0 + secs(2.9));
        r.record(10, t0 + secs(3.0));
        assert_eq!(r.samples.len(), 3);
        assert_eq!(r.samples.front().map(|s| s.start), Some(t0 + secs(1.0)));
    }

    #[test]
    fn the_quota_is_exceeded_above_its_bound_only_and_says_when_it_frees() {
        let q = ReplicationQuota::new("leader", QuotaWindow::default(), Some(1000));
        let t0 = Instant::now();
        q.lock().rate.record(3000, t0);
        assert!(q.exceeded_at(t0 + secs(0.5)));
        // 3000 bytes over 3 s is the bound itself: not above it.
        assert!(!q.exceeded_at(t0 + secs(3.0)));
        let wait = q.lock().rate.time_to(1000, t0 + secs(2.0));
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        q.set_rate(None);
        assert!(!q.exceeded_at(t0 + secs(0.5)));
        assert_eq!(q.time_until_allowed(), Duration::ZERO);
        q.set_rate(Some(10));
        assert_eq!(q.rate_limit(), Some(10));
    }

    #[test]
    fn throttled_replicas_parse_as_kafka_does_keeping_this_brokers_entries() {
        let parts = |v: &[i32]| Some(ThrottledReplicas::Partitions(v.iter().copied().collect()));
        assert_eq!(
            parse_throttled_replicas("*", 1),
            Ok(Some(ThrottledReplicas::All))
        );
        assert_eq!(
            parse_throttled_replicas(" * ", 1),
            Ok(Some(ThrottledReplicas::All))
        );
        assert_eq!(parse_throttled_replicas("", 1), Ok(None));
        assert_eq!(
            parse_throttled_replicas("0:1,1:2, 2:1 ,3:3", 1),
            Ok(parts(&[0, 2]))
        );
        assert_eq!(parse_throttled_replicas("0:2", 1), Ok(None));
        assert_eq!(parse_throttled_replicas("0:1,,1:1", 1), Ok(parts(&[0, 1])));
        for bad in ["x", "0:", ":1", "0:1:2", "-1:1", "0;1", "*,0:1", "0:1,*"] {
            assert_eq!(
                parse_throttled_replicas(bad, 1),
                Err(InvalidReplicaList),
                "{bad}"
            );
        }
    }

    #[test]
    fn topic_configs_set_and_clear_each_sides_throttled_replicas() {
        let quotas = ReplicationQuotas::unlimited();
        let configs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        quotas.apply_topic_configs(
            "t",
            &configs(&[
                ("leader.replication.throttled.replicas", "0:1,1:2"),
                ("follower.replication.throttled.replicas", "0:3"),
            ]),
            1,
        );
        assert!(quotas.leader.is_throttled("t", 0));
        assert!(!quotas.leader.is_throttled("t", 1));
        assert!(!quotas.follower.is_throttled("t", 0));
        assert!(!quotas.leader.is_throttled("u", 0));
        quotas.apply_topic_configs(
            "t",
            &configs(&[("follower.replication.throttled.replicas", "*")]),
            1,
        );
        assert!(!quotas.leader.is_throttled("t", 0));
        assert!(quotas.follower.is_throttled("t", 7));
        quotas.apply_topic_configs("t", &configs(&[]), 1);
        assert!(!quotas.follower.is_throttled("t", 7));
        assert!(!quotas.follower.any_throttled.load(Ordering::Acquire));
    }
}
