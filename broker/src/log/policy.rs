//! The values of Kafka's log-cleanup settings: `cleanup.policy` and the dirty ratio that makes
//! a compacted log worth cleaning.

use std::fmt;

/// `cleanup.policy` (`log.cleanup.policy` for the broker default): what keeps a log bounded.
/// `delete` trims whole segments by time and size; `compact` keeps the latest record of every
/// key; both may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

impl CleanupPolicy {
    /// Kafka's default.
    pub const DELETE: CleanupPolicy = CleanupPolicy {
        delete: true,
        compact: false,
    };
    pub const COMPACT: CleanupPolicy = CleanupPolicy {
        delete: false,
        compact: true,
    };

    /// Parses Kafka's list form: `delete`, `compact`, or both comma-separated in any order
    /// (case-insensitive, spaces allowed). `None` for anything else, the empty list included.
    pub fn parse(value: &str) -> Option<CleanupPolicy> {
        let mut policy = CleanupPolicy {
            delete: false,
            compact: false,
        };
        for item in value.split(',').map(str::trim) {
            match item.to_ascii_lowercase().as_str() {
                "delete" => policy.delete = true,
                "compact" => policy.compact = true,
                _ => return None,
            }
        }
        (policy.delete || policy.compact).then_some(policy)
    }
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        CleanupPolicy::DELETE
    }
}

impl fmt::Display for CleanupPolicy {
    /// Kafka's spelling (`compact,delete` when both).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.compact, self.delete) {
            (true, true) => f.write_str("compact,delete"),
            (true, false) => f.write_str("compact"),
            (false, true) => f.write_str("delete"),
            // Kafka's empty list: neither trimmed nor compacted.
            (false, false) => Ok(()),
        }
    }
}

/// A ratio in [0, 1] (`min.cleanable.dirty.ratio`), kept in millionths so that configs stay
/// comparable with `==`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio(u32);

impl Ratio {
    const SCALE: f64 = 1_000_000.0;

    /// Parses a decimal between 0 and 1 inclusive.
    pub fn parse(value: &str) -> Option<Ratio> {
        let v: f64 = value.trim().parse().ok()?;
        (0.0..=1.0)
            .contains(&v)
            .then(|| Ratio((v * Self::SCALE).round() as u32))
    }

    pub fn get(self) -> f64 {
        f64::from(self.0) / Self::SCALE
    }
}

impl Default for Ratio {
    /// Kafka's `min.cleanable.dirty.ratio` default, 0.5.
    fn default() -> Self {
        Ratio(500_000)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_kafka_lists_them() {
        assert_eq!(CleanupPolicy::parse("delete"), Some(CleanupPolicy::DELETE));
        assert_eq!(
            CleanupPolicy::parse(" Compact "),
            Some(CleanupPolicy::COMPACT)
        );
        let both = CleanupPolicy {
            delete: true,
            compact: true,
        };
        assert_eq!(CleanupPolicy::parse("delete,compact"), Some(both));
        assert_eq!(CleanupPolicy::parse("compact, delete"), Some(both));
        assert_eq!(both.to_string(), "compact,delete");
        for bad in ["", "compacted", "delete,,compact", "none"] {
            assert_eq!(CleanupPolicy::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ratios_stay_between_zero_and_one() {
        assert_eq!(Ratio::parse("0.5"), Some(Ratio::default()));
        assert_eq!(Ratio::parse("0.01").map(Ratio::get), Some(0.01));
        assert_eq!(Ratio::parse("1").map(Ratio::get), Some(1.0));
        for bad in ["-0.1", "1.5", "x", "NaN"] {
            assert_eq!(Ratio::parse(bad), None, "{bad:?}");
        }
    }
}
