//! Kafka's topic include list (`--topic` of kafka-topics and kafka-get-offsets): a Java regular
//! expression matched against the whole topic name, where `,` also separates alternatives and
//! spaces and surrounding quotes are dropped (property files may bring quotes).

use regex::Regex;

use crate::error::{Result, ToolError};

/// Kafka's internal topics (`Topic.isInternal`).
pub const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

pub fn is_internal(topic: &str) -> bool {
    INTERNAL_TOPICS.contains(&topic)
}

/// A compiled include list.
#[derive(Debug, Clone)]
pub struct IncludeList {
    raw: String,
    pattern: Regex,
}

impl IncludeList {
    pub fn new(raw: &str) -> Result<IncludeList> {
        let cleaned = raw.trim().replace(',', "|").replace(' ', "");
        let cleaned = cleaned
            .trim_start_matches(['"', '\''])
            .trim_end_matches(['"', '\''])
            .to_owned();
        // Java's `String.matches`: the whole name.
        let pattern = Regex::new(&format!("^(?:{cleaned})$"))
            .map_err(|_| ToolError::usage(format!("{cleaned} is an invalid regex.")))?;
        Ok(IncludeList {
            raw: cleaned,
            pattern,
        })
    }

    /// Whether `topic` is listed (and not an internal topic when those are excluded).
    pub fn allows(&self, topic: &str, exclude_internal: bool) -> bool {
        self.pattern.is_match(topic) && !(exclude_internal && is_internal(topic))
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// The topics of `all` that `include` (or, without one, everything) allows, sorted.
pub fn select(
    all: &[String],
    include: Option<&IncludeList>,
    exclude_internal: bool,
) -> Vec<String> {
    let mut out: Vec<String> = all
        .iter()
        .filter(|t| match include {
            Some(list) => list.allows(t, exclude_internal),
            None => !(exclude_internal && is_internal(t)),
        })
        .cloned()
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names_commas_and_quotes() {
        let l = IncludeList::new("'orders.*, payments'").expect("regex");
        assert!(l.allows("orders-eu", false));
        assert!(l.allows("payments", false));
        assert!(!l.allows("old-payments", false));
        assert!(!l.allows("payments2", false));
        let all = IncludeList::new(".*").expect("regex");
        assert!(all.allows("__consumer_offsets", false));
        assert!(!all.allows("__consumer_offsets", true));
        assert!(IncludeList::new("(").is_err());
    }
}
