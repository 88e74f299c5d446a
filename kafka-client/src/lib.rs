//! A minimal async Kafka-protocol client: what brokers use to talk to each other (follower
//! fetches, the controller's requests, controlled shutdown) and what `kafka-tools` uses to talk
//! to brokers. It holds no ZooKeeper code, so a tool can use it without a ZooKeeper client.
//!
//! - [`connection`]: [`KafkaConnection`], one connection (plain or TLS), one request at a time,
//!   every step bounded; [`ClientTls`], the replaceable TLS configuration.
//! - [`sasl`]: the client side of SaslHandshake/SaslAuthenticate (PLAIN, SCRAM).
//! - [`tls`]: PEM keys, certificates and trust roots, and the client side of TLS (shared by
//!   the broker and kafka-tools).
//! - [`frame`]: Kafka's size-prefixed framing, for both ends of a connection.

pub mod connection;
pub mod frame;
pub mod sasl;
pub mod tls;

pub use connection::{ClientTls, KafkaConnection};
pub use sasl::{authenticate, authenticate_if, SaslCredentials};
