//! DescribeUserScramCredentials (API 50): which SCRAM mechanisms (and iteration counts) users
//! have, read from `/config/users` as Kafka's ZooKeeper-mode
//! `ZkAdminManager.describeUserScramCredentials` does: no users named means every user with
//! a credential, sorted; a named user without one is RESOURCE_NOT_FOUND, an empty name too,
//! a name given twice DUPLICATE_RESOURCE. Salts and keys are never returned.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::instrument;

use crate::api::alter_user_scram_credentials::type_of_mechanism;
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let zk = ctx.broker.zk();
    let named: Vec<String> = req
        .users
        .unwrap_or_default()
        .iter()
        .map(|u| u.name.to_string())
        .collect();
    let results = if named.is_empty() {
        all_users(&zk).await
    } else {
        named_users(&zk, &named).await
    };
    match results {
        Ok(results) => DescribeUserScramCredentialsResponse::default().with_results(results),
        Err(e) => DescribeUserScramCredentialsResponse::default()
            .with_error_code(zk_error_code(&e).code())
            .with_error_message(Some(StrBytes::from_string(e.to_string()))),
    }
}

async fn all_users(
    zk: &coordinator::Zk,
) -> Result<Vec<DescribeUserScramCredentialsResult>, coordinator::ZkError> {
    let mut all = coordinator::user_config::all_user_configs(zk).await?;
    all.sort();
    Ok(all
        .iter()
        .filter_map(|(user, config)| credentials(user, config))
        .collect())
}

async fn named_users(
    zk: &coordinator::Zk,
    named: &[String],
) -> Result<Vec<DescribeUserScramCredentialsResult>, coordinator::ZkError> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in named {
        *counts.entry(u).or_default() += 1;
    }
    let mut done = BTreeSet::new();
    let mut results = Vec::new();
    for user in named {
        if !done.insert(user) {
            continue;
        }
        let result = if user.is_empty() {
            failure(
                user,
                ResponseError::ResourceNotFound,
                "Username must not be empty".into(),
            )
        } else if counts.get(user.as_str()).is_some_and(|n| *n > 1) {
            failure(
                user,
                ResponseError::DuplicateResource,
                format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}"),
            )
        } else {
            let config = coordinator::user_config::user_config(zk, user).await?;
            credentials(user, &config).unwrap_or_else(|| {
                failure(
                    user,
                    ResponseError::ResourceNotFound,
                    format!("Attempt to describe a user credential that does not exist: {user}"),
                )
            })
        };
        results.push(result);
    }
    Ok(results)
}

/// The user's result if it has a SCRAM credential.
fn credentials(
    user: &str,
    config: &BTreeMap<String, String>,
) -> Option<DescribeUserScramCredentialsResult> {
    let creds = coordinator::user_config::scram_credentials(user, config);
    if creds.is_empty() {
        return None;
    }
    let infos = creds
        .iter()
        .map(|(m, c)| {
            CredentialInfo::default()
                .with_mechanism(type_of_mechanism(*m))
                .with_iterations(i32::try_from(c.iterations).unwrap_or(i32::MAX))
        })
        .collect();
    Some(
        DescribeUserScramCredentialsResult::default()
            .with_user(StrBytes::from_string(user.to_string()))
            .with_credential_infos(infos),
    )
}

fn failure(user: &str, code: ResponseError, message: String) -> DescribeUserScramCredentialsResult {
    DescribeUserScramCredentialsResult::default()
        .with_user(StrBytes::from_string(user.to_string()))
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}
