//! The partitions a follower's fetch task leaves out for a while after an error (Kafka's
//! delayed `PartitionFetchState`), so that one failing partition holds back only itself.
//!
//! The usual error is a leader a few milliseconds behind on the controller's LeaderAndIsr (a
//! new topic, a moved leader), so the first retry comes after [`FIRST_RETRY`] and each further
//! failure doubles the wait, up to `replica.fetch.backoff.ms` (Kafka waits the whole backoff
//! every time). Before, the whole fetcher slept, and acks=all on every other partition of that
//! leader waited with it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The wait after a partition's first failure.
pub(super) const FIRST_RETRY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy)]
struct Delay {
    /// The leader epoch the failures came at: a new epoch starts over.
    leader_epoch: i32,
    failures: u32,
    until: Instant,
}

#[derive(Debug, Default)]
pub(super) struct FetchDelays {
    /// Topic → partition index → its failures since its last success.
    by_topic: HashMap<String, HashMap<i32, Delay>>,
}

impl FetchDelays {
    /// No partition has failed since its last success (the fast path skips all lookups).
    pub(super) fn is_empty(&self) -> bool {
        self.by_topic.is_empty()
    }

    /// The partition failed at `leader_epoch`: left out for twice as long as the last time
    /// (from [`FIRST_RETRY`]), at most `max`.
    pub(super) fn failed(
        &mut self,
        topic: &str,
        index: i32,
        leader_epoch: i32,
        now: Instant,
        max: Duration,
    ) {
        let slot = self.by_topic.entry(topic.to_owned()).or_default();
        let failures = match slot.get(&index) {
            Some(d) if d.leader_epoch == leader_epoch => d.failures.saturating_add(1),
            _ => 1,
        };
        let wait = FIRST_RETRY
            .saturating_mul(1u32 << (failures - 1).min(20))
            .min(max);
        slot.insert(
            index,
            Delay {
                leader_epoch,
                failures,
                until: now + wait,
            },
        );
    }

    /// The partition was fetched (or checked) without an error.
    pub(super) fn succeeded(&mut self, topic: &str, index: i32) {
        if let Some(t) = self.by_topic.get_mut(topic) {
            t.remove(&index);
            if t.is_empty() {
                self.by_topic.remove(topic);
            }
        }
    }

    /// Whether the partition is left out at `leader_epoch` and `now`. A new epoch (a new
    /// LeaderAndIsr) ends the delay: the error was about the state it replaces.
    pub(super) fn holds(&self, topic: &str, index: i32, leader_epoch: i32, now: Instant) -> bool {
        self.by_topic
            .get(topic)
            .and_then(|t| t.get(&index))
            .is_some_and(|d| d.leader_epoch == leader_epoch && d.until > now)
    }

    /// When the first delay still running at `now` ends.
    pub(super) fn next_end(&self, now: Instant) -> Option<Instant> {
        self.by_topic
            .values()
            .flat_map(|t| t.values().map(|d| d.until))
            .filter(|until| *until > now)
            .min()
    }

    /// Keeps only partitions `still(topic, index, leader_epoch)` says are followed at that
    /// epoch (the others are no longer fetched, or start over at a new epoch).
    pub(super) fn retain(&mut self, mut still: impl FnMut(&str, i32, i32) -> bool) {
        self.by_topic.retain(|topic, t| {
            t.retain(|index, d| still(topic, *index, d.leader_epoch));
            !t.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_millis(200);

    #[test]
    fn each_failure_doubles_the_wait_up_to_the_backoff() {
        let now = Instant::now();
        let mut d = FetchDelays::default();
        assert!(d.is_empty() && d.next_end(now).is_none());
        let mut waits = Vec::new();
        for _ in 0..7 {
            d.failed("t", 0, 3, now, MAX);
            waits.push(d.next_end(now).map(|e| e - now));
        }
        let ms = |m| Some(Duration::from_millis(m));
        assert_eq!(
            waits,
            vec![ms(10), ms(20), ms(40), ms(80), ms(160), ms(200), ms(200)]
        );
        assert!(d.holds("t", 0, 3, now + Duration::from_millis(199)));
        assert!(!d.holds("t", 0, 3, now + MAX), "over once its time is up");
        assert!(
            !d.holds("t", 0, 4, now),
            "a new leader epoch is not delayed"
        );
        assert!(!d.holds("t", 1, 3, now) && !d.holds("u", 0, 3, now));

        // A new epoch starts over; a success forgets the failures.
        d.failed("t", 0, 4, now, MAX);
        assert_eq!(d.next_end(now), Some(now + FIRST_RETRY));
        d.failed("t", 0, 4, now, MAX);
        d.succeeded("t", 0);
        assert!(d.is_empty());
        d.failed("t", 0, 4, now, MAX);
        assert_eq!(d.next_end(now), Some(now + FIRST_RETRY));
    }

    #[test]
    fn the_next_end_is_the_first_running_delay() {
        let now = Instant::now();
        let mut d = FetchDelays::default();
        d.failed("t", 0, 0, now, MAX);
        d.failed("t", 1, 0, now, MAX);
        d.failed("t", 1, 0, now, MAX);
        assert_eq!(d.next_end(now), Some(now + FIRST_RETRY));
        let later = now + FIRST_RETRY;
        assert_eq!(d.next_end(later), Some(now + 2 * FIRST_RETRY));
        assert_eq!(d.next_end(now + MAX), None);
        assert!(!d.is_empty(), "failures are kept until a success");
    }

    #[test]
    fn retain_drops_what_is_no_longer_followed_at_that_epoch() {
        let now = Instant::now();
        let mut d = FetchDelays::default();
        d.failed("t", 0, 1, now, MAX);
        d.failed("t", 1, 1, now, MAX);
        d.failed("u", 0, 1, now, MAX);
        d.retain(|topic, index, epoch| topic == "t" && index == 0 && epoch == 1);
        assert!(d.holds("t", 0, 1, now));
        assert!(!d.holds("t", 1, 1, now) && !d.holds("u", 0, 1, now));
        d.retain(|_, _, _| false);
        assert!(d.is_empty());
    }
}
