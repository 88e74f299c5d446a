//! AlterUserScramCredentials (API 51): adds, replaces and deletes users' SCRAM credentials in
//! `/config/users/<user>` (Kafka's format, other keys of the user's config kept) with a
//! `/config/changes` notification, so every broker's credential cache follows. As Kafka's
//! ZooKeeper-mode `ZkAdminManager.alterUserScramCredentials`: one result per user; an empty
//! name or a bad iteration count is UNACCEPTABLE_CREDENTIAL, an unknown mechanism
//! UNSUPPORTED_SASL_MECHANISM, the same (user, mechanism) twice DUPLICATE_RESOURCE, deleting a
//! credential that does not exist RESOURCE_NOT_FOUND; a user with any of these is left as it
//! was. The client sends the salted password, never the password.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use sasl::scram::{MAX_ITERATIONS, MIN_ITERATIONS};
use sasl::{Mechanism, ScramCredential};
use tracing::{info, instrument};

use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

/// The mechanism of Kafka's `ScramMechanism.type` byte.
pub fn mechanism_of_type(t: i8) -> Option<Mechanism> {
    match t {
        1 => Some(Mechanism::ScramSha256),
        2 => Some(Mechanism::ScramSha512),
        _ => None,
    }
}

/// Kafka's `ScramMechanism.type` byte.
pub fn type_of_mechanism(m: Mechanism) -> i8 {
    match m {
        Mechanism::ScramSha256 => 1,
        Mechanism::ScramSha512 => 2,
        Mechanism::Plain => 0,
    }
}

type Failure = (ResponseError, String);

/// Why an upsertion is refused before anything is read, if it is.
fn check_upsertion(name: &str, mechanism: i8, iterations: i32) -> Option<Failure> {
    let unacceptable = |m: &str| Some((ResponseError::UnacceptableCredential, m.to_string()));
    if name.is_empty() {
        return unacceptable("Username must not be empty");
    }
    mechanism_of_type(mechanism)?;
    if iterations < MIN_ITERATIONS as i32 {
        return unacceptable("Too few iterations");
    }
    if iterations > MAX_ITERATIONS as i32 {
        return unacceptable("Too many iterations");
    }
    None
}

fn check_deletion(name: &str) -> Option<Failure> {
    name.is_empty().then(|| {
        (
            ResponseError::UnacceptableCredential,
            "Username must not be empty".to_string(),
        )
    })
}

fn unknown_mechanism(t: i8) -> Option<Failure> {
    mechanism_of_type(t).is_none().then(|| {
        (
            ResponseError::UnsupportedSaslMechanism,
            "Unknown SCRAM mechanism".to_string(),
        )
    })
}

/// What to change: per user, mechanism → new credential (`None`: delete).
type Changes = BTreeMap<String, Vec<(Mechanism, Option<ScramCredential>)>>;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let mut failed: BTreeMap<String, Failure> = BTreeMap::new();
    for d in &req.deletions {
        if let Some(f) = check_deletion(&d.name).or_else(|| unknown_mechanism(d.mechanism)) {
            failed.insert(d.name.to_string(), f);
        }
    }
    for u in &req.upsertions {
        let f = check_upsertion(&u.name, u.mechanism, u.iterations)
            .or_else(|| unknown_mechanism(u.mechanism));
        if let Some(f) = f {
            failed.insert(u.name.to_string(), f);
        }
    }
    let mut results: Vec<AlterUserScramCredentialsResult> =
        failed.iter().map(|(u, f)| result(u, Some(f))).collect();
    let (changes, duplicated) = collect_changes(&req, &failed);
    results.extend(duplicated.iter().map(|u| result(u, Some(&duplicate()))));
    for (user, user_changes) in changes {
        if duplicated.contains(&user) {
            continue;
        }
        let outcome = apply(ctx, &user, user_changes).await;
        results.push(result(&user, outcome.as_ref().err()));
    }
    AlterUserScramCredentialsResponse::default().with_results(results)
}

fn duplicate() -> Failure {
    (
        ResponseError::DuplicateResource,
        "A user credential cannot be altered twice in the same request".to_string(),
    )
}

/// The changes of the users not failed already, and the users among them that name a
/// (user, mechanism) pair twice.
fn collect_changes(
    req: &AlterUserScramCredentialsRequest,
    failed: &BTreeMap<String, Failure>,
) -> (Changes, BTreeSet<String>) {
    let mut changes: Changes = BTreeMap::new();
    let mut seen: HashMap<(String, Mechanism), usize> = HashMap::new();
    let deletions = req
        .deletions
        .iter()
        .map(|d| (d.name.to_string(), d.mechanism, None));
    let upsertions = req.upsertions.iter().map(|u| {
        let m = mechanism_of_type(u.mechanism);
        let credential = m.and_then(|m| {
            let iterations = u32::try_from(u.iterations).ok()?;
            ScramCredential::from_salted_password(m, &u.salt, &u.salted_password, iterations).ok()
        });
        (u.name.to_string(), u.mechanism, Some(credential))
    });
    for (user, t, credential) in deletions.chain(upsertions) {
        let Some(m) = mechanism_of_type(t).filter(|_| !failed.contains_key(&user)) else {
            continue;
        };
        *seen.entry((user.clone(), m)).or_default() += 1;
        changes
            .entry(user)
            .or_default()
            .push((m, credential.map(|c| c.unwrap_or_else(empty_credential))));
    }
    let duplicated = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((user, _), _)| user)
        .collect();
    (changes, duplicated)
}

/// Unreachable in practice (mechanism and iterations were checked); never authenticates.
fn empty_credential() -> ScramCredential {
    ScramCredential {
        salt: Vec::new(),
        stored_key: Vec::new(),
        server_key: Vec::new(),
        iterations: 0,
    }
}

/// Reads the user's config, applies the changes, writes it back with a notification.
async fn apply(
    ctx: RequestContext<'_>,
    user: &str,
    changes: Vec<(Mechanism, Option<ScramCredential>)>,
) -> Result<(), Failure> {
    let zk = ctx.broker.zk();
    let zk_failure = |e: coordinator::ZkError| (zk_error_code(&e), e.to_string());
    let mut config = coordinator::user_config::user_config(&zk, user)
        .await
        .map_err(zk_failure)?;
    for (m, credential) in &changes {
        if credential.is_none() && !config.contains_key(m.name()) {
            return Err((
                ResponseError::ResourceNotFound,
                "Attempt to delete a user credential that does not exist".to_string(),
            ));
        }
    }
    for (m, credential) in changes {
        match credential {
            Some(c) => config.insert(m.name().to_string(), c.format()),
            None => config.remove(m.name()),
        };
    }
    coordinator::user_config::set_user_config(&zk, user, &config)
        .await
        .map_err(zk_failure)?;
    info!(user, "SCRAM credentials altered");
    Ok(())
}

fn result(user: &str, failure: Option<&Failure>) -> AlterUserScramCredentialsResult {
    let r = AlterUserScramCredentialsResult::default()
        .with_user(StrBytes::from_string(user.to_string()));
    match failure {
        None => r,
        Some((code, message)) => r
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_string(message.clone()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsertion_checks_as_kafka() {
        assert_eq!(check_upsertion("u", 1, 4096), None);
        assert_eq!(check_upsertion("u", 2, 16384), None);
        let code = |f: Option<Failure>| f.map(|(c, _)| c);
        assert_eq!(
            code(check_upsertion("", 1, 4096)),
            Some(ResponseError::UnacceptableCredential)
        );
        assert_eq!(
            code(check_upsertion("u", 1, 4095)),
            Some(ResponseError::UnacceptableCredential)
        );
        assert_eq!(
            code(check_upsertion("u", 1, 16385)),
            Some(ResponseError::UnacceptableCredential)
        );
        assert_eq!(
            code(unknown_mechanism(3)),
            Some(ResponseError::UnsupportedSaslMechanism)
        );
        assert_eq!(
            mechanism_of_type(type_of_mechanism(Mechanism::ScramSha512)),
            Some(Mechanism::ScramSha512)
        );
    }
}
