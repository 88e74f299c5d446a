//! PLAIN (RFC 4616): one client message `[authzid] NUL authcid NUL passwd`, checked against
//! the listener's JAAS users.
//!
//! As Kafka's `PlainSaslServer`: the authorization id must be empty or equal to the user name,
//! user name and password must not be empty, and a wrong password and an unknown user fail
//! with the same message (nothing tells a guesser which names exist).

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::{ClientMechanism, CredentialStore, Mechanism, SaslError, ServerMechanism, ServerStep};

fn malformed(reason: &str) -> SaslError {
    SaslError::Malformed {
        mechanism: Mechanism::Plain,
        reason: reason.to_string(),
    }
}

pub(crate) struct PlainServer {
    store: Arc<dyn CredentialStore>,
    done: bool,
}

impl PlainServer {
    pub(crate) fn new(store: Arc<dyn CredentialStore>) -> Self {
        PlainServer { store, done: false }
    }
}

impl ServerMechanism for PlainServer {
    fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        if self.done {
            return Err(SaslError::Complete(Mechanism::Plain));
        }
        self.done = true;
        let text = std::str::from_utf8(response).map_err(|_| malformed("not UTF-8"))?;
        let parts: Vec<&str> = text.split('\0').collect();
        let [authzid, user, password] = parts[..] else {
            return Err(malformed("expected 3 NUL-separated parts"));
        };
        if user.is_empty() {
            return Err(SaslError::AuthenticationFailed(
                "username not specified".into(),
            ));
        }
        if password.is_empty() {
            return Err(SaslError::AuthenticationFailed(
                "password not specified".into(),
            ));
        }
        if !authzid.is_empty() && authzid != user {
            return Err(SaslError::AuthenticationFailed(
                "Authentication failed: Client requested an authorization id that is different from username".into(),
            ));
        }
        let expected = self.store.plain_password(user);
        // Compared in constant time; an unknown user is compared against nothing, so it
        // fails the same way (the length of a known password may still show in timing).
        let matches = expected
            .as_deref()
            .is_some_and(|e| bool::from(e.as_bytes().ct_eq(password.as_bytes())));
        if !matches {
            return Err(SaslError::AuthenticationFailed(
                "Invalid username or password".into(),
            ));
        }
        Ok(ServerStep::Done {
            final_message: Vec::new(),
            user: user.to_string(),
        })
    }
}

pub(crate) struct PlainClient {
    user: String,
    password: String,
    sent: bool,
}

impl PlainClient {
    pub(crate) fn new(user: &str, password: &str) -> Self {
        PlainClient {
            user: user.to_string(),
            password: password.to_string(),
            sent: false,
        }
    }
}

impl ClientMechanism for PlainClient {
    fn initial(&mut self) -> Result<Vec<u8>, SaslError> {
        self.sent = true;
        Ok(format!("\0{}\0{}", self.user, self.password).into_bytes())
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, SaslError> {
        // The server answers PLAIN with an empty token; anything else is not PLAIN.
        if self.sent && challenge.is_empty() {
            Ok(None)
        } else {
            Err(malformed("unexpected server challenge"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScramCredential;

    struct Users;

    impl CredentialStore for Users {
        fn plain_password(&self, user: &str) -> Option<String> {
            (user == "alice").then(|| "alice-secret".to_string())
        }
        fn scram_credential(&self, _: Mechanism, _: &str) -> Option<ScramCredential> {
            None
        }
    }

    fn server() -> PlainServer {
        PlainServer::new(Arc::new(Users))
    }

    #[test]
    fn accepts_the_right_password_with_or_without_authzid() {
        for token in [&b"\0alice\0alice-secret"[..], b"alice\0alice\0alice-secret"] {
            assert_eq!(
                server().step(token),
                Ok(ServerStep::Done {
                    final_message: vec![],
                    user: "alice".into()
                })
            );
        }
        let mut client = PlainClient::new("alice", "alice-secret");
        let token = client.initial().unwrap();
        assert!(matches!(server().step(&token), Ok(ServerStep::Done { .. })));
        assert_eq!(client.step(b""), Ok(None));
    }

    #[test]
    fn refuses_wrong_unknown_malformed_and_foreign_authzid() {
        let wrong = server().step(b"\0alice\0nope").unwrap_err();
        let unknown = server().step(b"\0bob\0alice-secret").unwrap_err();
        assert_eq!(wrong, unknown, "same answer for both");
        for bad in [
            &b"alice"[..],
            b"\0alice",
            b"\0\0pw",
            b"\0alice\0",
            b"bob\0alice\0alice-secret",
            b"a\0b\0c\0d",
            b"\0alice\0\xff",
        ] {
            assert!(server().step(bad).is_err(), "{bad:?}");
        }
        let mut s = server();
        let _ = s.step(b"\0alice\0alice-secret");
        assert_eq!(
            s.step(b"\0alice\0alice-secret"),
            Err(SaslError::Complete(Mechanism::Plain))
        );
    }
}
