//! One module per tool. Each parses its own arguments (Kafka's flags, with clap) and runs
//! against the cluster through [`crate::client::Admin`]. [`TOOLS`] is the registry: the names a
//! tool answers to (with or without `.sh`) and its entry point.

pub mod acls;
pub mod broker_api_versions;
pub mod cluster;
pub mod common;
pub mod configs;
pub mod console;
pub mod consumer_groups;
pub mod delete_records;
pub mod filter;
pub mod get_offsets;
pub mod leader_election;
pub mod reassign_partitions;
pub mod topics;

use std::ffi::OsString;
use std::future::Future;
use std::pin::Pin;

use crate::error::Result;

/// A tool's entry point: its arguments (the tool's name first, as argv).
pub type Entry = fn(Vec<OsString>) -> Pin<Box<dyn Future<Output = Result<()>>>>;

/// Every tool, by the name Kafka gives it.
pub const TOOLS: &[(&str, Entry)] = &[
    ("kafka-acls", |a| Box::pin(acls::run(a))),
    ("kafka-broker-api-versions", |a| {
        Box::pin(broker_api_versions::run(a))
    }),
    ("kafka-cluster", |a| Box::pin(cluster::run(a))),
    ("kafka-console-consumer", |a| {
        Box::pin(console::consumer::run(a))
    }),
    ("kafka-console-producer", |a| {
        Box::pin(console::producer::run(a))
    }),
    ("kafka-consumer-groups", |a| {
        Box::pin(consumer_groups::run(a))
    }),
    ("kafka-configs", |a| Box::pin(configs::run(a))),
    ("kafka-delete-records", |a| Box::pin(delete_records::run(a))),
    ("kafka-leader-election", |a| {
        Box::pin(leader_election::run(a))
    }),
    ("kafka-get-offsets", |a| Box::pin(get_offsets::run(a))),
    ("kafka-reassign-partitions", |a| {
        Box::pin(reassign_partitions::run(a))
    }),
    ("kafka-topics", |a| Box::pin(topics::run(a))),
];

/// The entry point of the tool called `name` (`kafka-topics` or `kafka-topics.sh`).
pub fn find(name: &str) -> Option<Entry> {
    let name = name.strip_suffix(".sh").unwrap_or(name);
    TOOLS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}
