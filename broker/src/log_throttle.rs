//! Rate limits for log lines a peer can cause once per request.
//!
//! A client sending bad requests as fast as it can must not fill the broker's log: such a line
//! goes through a [`LogThrottle`], which lets the first one through, then at most one per
//! interval, and has each line that gets through say how many were left out before it. (The
//! lines left out can still be seen one by one at debug level, where the callers log them.)

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Interval most throttled lines use: a flood shows up as one line per ten seconds.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Lets one log line through per interval and counts the others.
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When the next line may be logged; `None` until the first.
    next: Option<Instant>,
    /// Lines left out since the last one logged.
    skipped: u64,
}

impl LogThrottle {
    /// A throttle letting one line through per `interval` (usable in a `static`).
    pub const fn new(interval: Duration) -> Self {
        LogThrottle {
            interval,
            state: Mutex::new(State {
                next: None,
                skipped: 0,
            }),
        }
    }

    /// Whether a line may be logged now: `Some(skipped)` (how many were left out since the
    /// last line logged) if so, `None` if it is only counted.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.next.is_some_and(|next| now < next) {
            state.skipped += 1;
            return None;
        }
        state.next = Some(now + self.interval);
        Some(std::mem::take(&mut state.skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_left_out() {
        let throttle = LogThrottle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.admit_at(start), Some(0));
        for i in 1..=1000 {
            assert_eq!(throttle.admit_at(start + Duration::from_millis(i)), None);
        }
        assert_eq!(
            throttle.admit_at(start + Duration::from_secs(10)),
            Some(1000)
        );
        assert_eq!(throttle.admit_at(start + Duration::from_secs(11)), None);
        assert_eq!(throttle.admit_at(start + Duration::from_secs(25)), Some(1));
    }
}
