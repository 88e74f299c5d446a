//! One module per tool. Each parses its own arguments (Kafka's flags, with clap) and runs
//! against the cluster through [`crate::client::Admin`]. [`TOOLS`] is the registry: the names a
//! tool answers to (with or without `.sh`) and its entry point.

pub mod cluster;
pub mod common;
pub mod reassign_partitions;

use std::ffi::OsString;
use std::future::Future;
use std::pin::Pin;

use crate::error::Result;

/// A tool's entry point: its arguments (the tool's name first, as argv).
pub type Entry = fn(Vec<OsString>) -> Pin<Box<dyn Future<Output = Result<()>>>>;

/// Every tool, by the name Kafka gives it.
pub const TOOLS: &[(&str, Entry)] = &[
    ("kafka-cluster", |a| Box::pin(cluster::run(a))),
    ("kafka-reassign-partitions", |a| {
        Box::pin(reassign_partitions::run(a))
    }),
];

/// The entry point of the tool called `name` (`kafka-topics` or `kafka-topics.sh`).
pub fn find(name: &str) -> Option<Entry> {
    let name = name.strip_suffix(".sh").unwrap_or(name);
    TOOLS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}
