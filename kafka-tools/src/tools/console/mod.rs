//! The console clients: `kafka-console-producer` (stdin lines → records) and
//! `kafka-console-consumer` (records → stdout lines), with Kafka's flags and formats.
//!
//! - [`producer`] and its [`line_reader`] (Kafka's LineMessageReader).
//! - [`consumer`] and its [`formatter`] (Kafka's DefaultMessageFormatter).
//! - Here: what both take, client properties from a file and `key=value` flags.

pub mod consumer;
pub mod formatter;
pub mod line_reader;
pub mod producer;

use std::collections::BTreeMap;
use std::path::Path;

use crate::client::props;
use crate::error::{Result, ToolError};

/// Properties from an optional file, then `key=value` arguments over them (Kafka's
/// precedence: `--producer-property` over `--producer.config`, and the like).
pub(crate) fn merged_props(
    file: Option<&Path>,
    pairs: &[String],
) -> Result<BTreeMap<String, String>> {
    let mut out = match file {
        Some(path) => props::read(path)?,
        None => BTreeMap::new(),
    };
    out.extend(parse_key_values(pairs)?);
    Ok(out)
}

/// `key=value` arguments (Kafka's CommandLineUtils.parseKeyValueArgs: split at the first `=`;
/// `key=` is an empty value).
pub(crate) fn parse_key_values(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    ToolError::usage(format!(
                        "Invalid command line properties: {pair} (expected key=value)"
                    ))
                })
        })
        .collect()
}

/// A Java boolean property: "true" in any case, spaces around allowed.
pub(crate) fn is_true(props: &BTreeMap<String, String>, key: &str) -> bool {
    props
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The bootstrap servers: the flag, else `bootstrap.servers` of the client properties.
pub(crate) fn bootstrap(flag: Option<&str>, props: &BTreeMap<String, String>) -> Result<String> {
    flag.map(str::to_owned)
        .or_else(|| props.get("bootstrap.servers").cloned())
        .ok_or_else(|| ToolError::usage("Missing required argument \"[bootstrap-server]\""))
}
