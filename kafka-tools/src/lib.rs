//! Kafka's command-line tools as one native binary (`kafka-tools`, see `main.rs`).
//!
//! - [`client`]: the way to the cluster ([`client::Admin`]): bootstrap, version negotiation,
//!   routing to a broker / the controller / a coordinator; TLS and SASL from
//!   `--command-config` ([`client::security`], [`client::props`]).
//! - [`tools`]: one module per tool, and the registry of their names.
//! - [`error`]: [`error::ToolError`], the one-line error a failing tool ends with.

pub mod client;
pub mod error;
pub mod tools;
