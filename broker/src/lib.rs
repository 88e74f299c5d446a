//! A Kafka-protocol broker whose cluster state lives in ZooKeeper, laid out as Kafka's
//! ZooKeeper mode lays it out.
//!
//! Module layout (a request's path, top to bottom):
//! - [`config`]: typed configuration from YAML, `KAFKA_*` env vars and `--override`.
//! - `server`, `connection`: listeners, framing, one task per client connection.
//! - `api`: dispatch on the API key, one file per Kafka API.
//! - `replica`: the partitions this broker hosts (leader epoch, high watermark, producer state).
//! - [`log`]: segments and indexes on disk: append, read, recover, retention.
//! - [`records`]: record batch validation and format conversion.
//!
//! Glossary: *LEO* log end offset (next offset to be written); *HW* high watermark (offsets
//! below it are committed and visible to consumers); *leader epoch* bumps on every leader
//! change; *ISR* in-sync replicas.

pub mod config;
pub mod log;
pub mod records;
