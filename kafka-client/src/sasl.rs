//! The SASL exchange a broker runs on a new inter-broker connection when the inter-broker
//! listener is SASL_*: SaslHandshake v1 naming `sasl.mechanism.inter.broker.protocol`, then
//! SaslAuthenticate rounds carrying the mechanism's tokens, over an established
//! [`KafkaConnection`] (whatever its transport). Every round is bounded by the connection's
//! request timeout, and the number of rounds by the mechanism (at most [`MAX_ROUNDS`]).

use std::fmt;
use std::io;

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use sasl::Mechanism;

use crate::connection::KafkaConnection;

/// SCRAM needs two rounds, PLAIN one; a server asking for more is not speaking the mechanism.
const MAX_ROUNDS: usize = 4;
const HANDSHAKE_VERSION: i16 = 1;
/// v1 adds the session lifetime (which we do not use), v2 flexible encoding; v1 is what every
/// Kafka broker since 2.2 serves.
const AUTHENTICATE_VERSION: i16 = 1;

/// What this broker authenticates with (from the inter-broker listener's JAAS config).
#[derive(Clone, PartialEq, Eq)]
pub struct SaslCredentials {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslCredentials")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn refused(what: &str, code: i16, message: Option<&StrBytes>) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{what} failed with error {code}: {}",
            message.map(|m| m.as_str()).unwrap_or("")
        ),
    )
}

fn mechanism_error(e: sasl::SaslError) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, e.to_string())
}

/// Authenticates `conn` with `credentials`; the connection serves requests afterwards.
pub async fn authenticate(
    conn: &mut KafkaConnection,
    credentials: &SaslCredentials,
) -> io::Result<()> {
    let m = credentials.mechanism;
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(m.name()));
    let response = conn.request(&handshake, HANDSHAKE_VERSION).await?;
    if response.error_code != 0 {
        let enabled: Vec<&str> = response.mechanisms.iter().map(|s| s.as_str()).collect();
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "SaslHandshake for {m} failed with error {} (enabled: {})",
                response.error_code,
                enabled.join(", ")
            ),
        ));
    }
    let mut client = sasl::client(m, &credentials.username, &credentials.password);
    let mut token = client.initial().map_err(mechanism_error)?;
    for _ in 0..MAX_ROUNDS {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
        let response = conn.request(&request, AUTHENTICATE_VERSION).await?;
        if response.error_code != 0 {
            return Err(refused(
                "SaslAuthenticate",
                response.error_code,
                response.error_message.as_ref(),
            ));
        }
        match client.step(&response.auth_bytes).map_err(mechanism_error)? {
            Some(next) => token = next,
            None => return Ok(()),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{m} exchange did not complete in {MAX_ROUNDS} rounds"),
    ))
}

/// [`authenticate`] when `credentials` is set (a SASL inter-broker listener).
pub async fn authenticate_if(
    conn: &mut KafkaConnection,
    credentials: Option<&SaslCredentials>,
) -> io::Result<()> {
    match credentials {
        Some(c) => authenticate(conn, c).await,
        None => Ok(()),
    }
}
