//! Ends a follower's long-polling fetch early when that follower is needed on a partition its
//! fetch does not name.
//!
//! A follower fetches all the partitions it follows on a leader in one request, which
//! long-polls up to `replica.fetch.wait.max.ms` when nothing is new. A partition that it starts
//! following on that leader meanwhile (a new topic, a leader moved here) can only be sent in
//! its next request, so the first records appended there wait for the old poll to run out
//! before any follower fetches them, and an acks=all produce waits with them (half a second
//! with Kafka's default). The leader knows which followers have not fetched a partition yet
//! ([`super::Partition::followers_yet_to_fetch`]); an append there pokes them, and their
//! polls answer at once, so the next request carries the new partition.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// One poke counter per follower broker id.
#[derive(Debug, Default)]
pub struct FollowerPolls {
    pokes: Mutex<HashMap<i32, watch::Sender<u64>>>,
}

impl FollowerPolls {
    /// Taken by a follower's fetch before it reads: a poke from then on shows as a change.
    pub fn subscribe(&self, replica: i32) -> watch::Receiver<u64> {
        let mut pokes = self.pokes.lock().unwrap_or_else(|e| e.into_inner());
        pokes
            .entry(replica)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Ends the current long polls of these followers.
    pub fn poke(&self, replicas: &[i32]) {
        let pokes = self.pokes.lock().unwrap_or_else(|e| e.into_inner());
        for r in replicas {
            if let Some(tx) = pokes.get(r) {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_poke_reaches_only_the_follower_named_and_only_later_subscribers_miss_it() {
        let polls = FollowerPolls::default();
        let mut two = polls.subscribe(2);
        let mut three = polls.subscribe(3);
        polls.poke(&[2]);
        assert!(two.has_changed().unwrap_or(false));
        assert!(!three.has_changed().unwrap_or(true));
        two.borrow_and_update();
        let late = polls.subscribe(2);
        assert!(!late.has_changed().unwrap_or(true));
        polls.poke(&[3, 9]);
        assert!(three.changed().await.is_ok());
        assert!(!two.has_changed().unwrap_or(true));
    }
}
