//! `tests/clients/sasl_client.py` driven from the tests: a SASL login's produce-and-consume
//! round trip, and a refused login, over SASL_PLAINTEXT or (with a CA) SASL_SSL.

use std::time::{Duration, Instant};

use crate::{python, OrPanic};

/// Bounds each run of the script.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);
/// A refused login must end within this (an error, not a hang).
pub const REFUSAL_BOUND: Duration = Duration::from_secs(15);

/// Who logs in where, with which client (`kp`: kafka-python, `ck`: confluent-kafka).
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub client: &'a str,
    pub addr: &'a str,
    pub mechanism: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    /// The CA (PEM path) that signed the broker's certificate: SASL_SSL. `None`: SASL_PLAINTEXT.
    pub cafile: Option<&'a str>,
}

impl Login<'_> {
    fn args<'s>(&'s self, extra: &[&'s str]) -> Vec<&'s str> {
        let mut args = vec![
            "--client",
            self.client,
            "--bootstrap",
            self.addr,
            "--mechanism",
            self.mechanism,
            "--user",
            self.user,
            "--password",
            self.password,
        ];
        if let Some(ca) = self.cafile {
            args.extend(["--cafile", ca]);
        }
        args.extend_from_slice(extra);
        args
    }

    fn what(&self) -> String {
        let over = if self.cafile.is_some() {
            "SASL_SSL"
        } else {
            "SASL_PLAINTEXT"
        };
        format!(
            "{} {} as {} over {over}",
            self.client, self.mechanism, self.user
        )
    }

    /// Produces five records to `topic` and reads them back.
    pub fn roundtrip(&self, topic: &str) {
        let args = self.args(&["--topic", topic, "--count", "5"]);
        let lines =
            python::run_json("sasl_client.py", &args, SCRIPT_TIMEOUT).or_panic(&self.what());
        let consumed = lines
            .iter()
            .find_map(|l| l.get("consumed"))
            .or_panic("consumed line");
        let want: Vec<String> = (0..5).map(|i| format!("v{i}")).collect();
        assert_eq!(consumed, &serde_json::json!(want), "{}", self.what());
    }

    /// The login is refused with an authentication error within [`REFUSAL_BOUND`].
    pub fn refused(&self) {
        let args = self.args(&["--mode", "denied", "--topic", "denied", "--timeout", "10"]);
        let started = Instant::now();
        let lines = python::run_json("sasl_client.py", &args, SCRIPT_TIMEOUT)
            .or_panic(&format!("{} (denied)", self.what()));
        let line = &lines[0];
        assert_eq!(line["delivered"], false, "{}: {line}", self.what());
        assert_eq!(line["auth_error"], true, "{}: {line}", self.what());
        assert!(
            started.elapsed() < REFUSAL_BOUND,
            "{}: refusal took {:?}: {line}",
            self.what(),
            started.elapsed()
        );
    }
}
