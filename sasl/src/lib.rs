//! The SASL mechanisms Kafka brokers and clients speak, as plain state machines over byte
//! tokens (no I/O): the broker's connection drives the server side, the inter-broker client
//! the client side.
//!
//! - PLAIN (RFC 4616), users from Kafka's JAAS string (`user_<name>="<password>"`);
//! - SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), credentials in Kafka's format
//!   (`salt=...,stored_key=...,server_key=...,iterations=4096`).
//!
//! # Layout
//! - [`jaas`]: Kafka's JAAS config string (`sasl.jaas.config`), parsed as Kafka parses it.
//! - `plain`: the PLAIN server and client.
//! - [`scram`]: the SCRAM server and client, Kafka's stored credential format, saslname
//!   escaping.
//!
//! # Glossary
//! - **mechanism**: the SASL method a client names in SaslHandshake (`PLAIN`, `SCRAM-SHA-256`).
//! - **token**: one opaque message of the exchange (SaslAuthenticate's `auth_bytes`, or a
//!   size-prefixed raw frame after SaslHandshake v0).
//! - **authzid / authcid**: the identity asked for and the one proven; Kafka allows the first
//!   only empty or equal to the second.

// Tests may unwrap: a panic there is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod jaas;
mod plain;
pub mod scram;

use std::fmt;
use std::sync::Arc;

/// A mechanism, by the name clients send in SaslHandshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    pub const ALL: [Mechanism; 3] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ];

    /// The IANA name (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// Exact, case-sensitive match, as Kafka's broker compares mechanism names.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn is_scram(self) -> bool {
        !matches!(self, Mechanism::Plain)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an exchange failed. Every variant ends the exchange; the broker answers
/// SASL_AUTHENTICATION_FAILED with the message and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Wrong password, unknown user, or a proof that does not verify.
    #[error("Authentication failed: {0}")]
    AuthenticationFailed(String),
    /// A token that does not parse as the mechanism's message.
    #[error("Authentication failed: malformed {mechanism} message: {reason}")]
    Malformed {
        mechanism: Mechanism,
        reason: String,
    },
    /// A token after the exchange completed.
    #[error("Authentication failed: {0} exchange already complete")]
    Complete(Mechanism),
}

/// Where a server mechanism looks users up. Implemented by the broker: PLAIN passwords come
/// from the listener's JAAS config, SCRAM credentials from ZooKeeper's `/config/users`.
pub trait CredentialStore: Send + Sync {
    /// The password of `user` for PLAIN, if the user exists.
    fn plain_password(&self, user: &str) -> Option<String>;
    /// The SCRAM credential of `user` for `mechanism` (a SCRAM one), if it exists.
    fn scram_credential(&self, mechanism: Mechanism, user: &str) -> Option<ScramCredential>;
}

/// A stored SCRAM credential: what the server keeps instead of the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: u32,
}

impl fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys stay out of logs.
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// The server's answer to one client token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send this challenge and wait for the client's next token.
    Challenge(Vec<u8>),
    /// Authenticated as `user`; send `final_message` (empty for PLAIN).
    Done {
        final_message: Vec<u8>,
        user: String,
    },
}

/// The server side of one exchange.
pub trait ServerMechanism: Send {
    /// Consumes the client's next token.
    fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError>;
}

/// The client side of one exchange (the broker authenticating to another broker).
pub trait ClientMechanism: Send {
    /// The first token to send.
    fn initial(&mut self) -> Result<Vec<u8>, SaslError>;
    /// Consumes the server's challenge; `Some` is the next token to send, `None` means the
    /// exchange is complete and the server verified.
    fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, SaslError>;
}

/// A server mechanism for one exchange.
pub fn server(mechanism: Mechanism, store: Arc<dyn CredentialStore>) -> Box<dyn ServerMechanism> {
    match scram::ScramServer::new(mechanism, store.clone()) {
        Some(scram) => Box::new(scram),
        None => Box::new(plain::PlainServer::new(store)),
    }
}

/// A client mechanism for one exchange.
pub fn client(mechanism: Mechanism, user: &str, password: &str) -> Box<dyn ClientMechanism> {
    match scram::ScramClient::new(mechanism, user, password) {
        Some(scram) => Box::new(scram),
        None => Box::new(plain::PlainClient::new(user, password)),
    }
}
