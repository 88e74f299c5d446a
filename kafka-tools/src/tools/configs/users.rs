//! Users' and clients' configs: SCRAM credentials (Describe/AlterUserScramCredentials; the
//! password is salted here, only the salted password travels) and quotas
//! (Describe/AlterClientQuotas), with Kafka's output (`SCRAM credential configs for
//! user-principal 'alice' are SCRAM-SHA-256=iterations=8192`, `Quota configs for
//! user-principal 'alice' are producer_byte_rate=1024.0`).

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    alter_client_quotas_request as alter_quotas, describe_client_quotas_request as describe_quotas,
    AlterClientQuotasRequest, AlterUserScramCredentialsRequest, ApiKey,
    DescribeClientQuotasRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::protocol::StrBytes;
use sasl::{Mechanism, ScramCredential};

use super::parse::{java_double, scram_value};
use super::{Entity, Kind, Name};
use crate::client::{Admin, Target};
use crate::error::{Result, ToolError};

/// Quotas Kafka allows on users and clients.
const QUOTAS: [&str; 4] = [
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
    "controller_mutation_rate",
];
/// DescribeClientQuotas' match types.
const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_SPECIFIED: i8 = 2;

fn is_scram(key: &str) -> bool {
    Mechanism::from_name(key).is_some_and(Mechanism::is_scram)
}

/// The mechanism's code in the SCRAM credential APIs.
fn mechanism_code(m: Mechanism) -> i8 {
    match m {
        Mechanism::ScramSha512 => 2,
        _ => 1,
    }
}

fn mechanism_name(code: i8) -> &'static str {
    match code {
        1 => "SCRAM-SHA-256",
        2 => "SCRAM-SHA-512",
        _ => "UNKNOWN",
    }
}

fn entity_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Clients => "client-id",
        _ => "user",
    }
}

fn named(entities: &[Entity]) -> Vec<String> {
    entities
        .iter()
        .filter_map(|e| match &e.name {
            Name::Named(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// `--describe` of users and/or clients: quotas (when the cluster serves them, or always for
/// clients), then users' SCRAM credentials.
pub(super) async fn describe(admin: &mut Admin, entities: &[Entity]) -> Result<()> {
    let clients = entities.iter().any(|e| e.kind == Kind::Clients);
    if clients || admin.served(ApiKey::DescribeClientQuotas).is_some() {
        describe_quotas(admin, entities).await?;
    }
    if clients || entities.iter().any(|e| e.name == Name::Default) {
        return Ok(());
    }
    let users = named(entities);
    let request = DescribeUserScramCredentialsRequest::default().with_users(if users.is_empty() {
        None
    } else {
        Some(
            users
                .iter()
                .map(|u| UserName::default().with_name(StrBytes::from_string(u.clone())))
                .collect(),
        )
    });
    let response = admin.send(Target::Any, &request).await?;
    ToolError::check(
        "describing SCRAM credentials",
        response.error_code,
        response.error_message.as_ref().map(|m| m.as_str()),
    )?;
    for result in response.results {
        let user = result.user.as_str();
        if result.error_code != 0 {
            // RESOURCE_NOT_FOUND for a user without credentials: Kafka prints nothing then.
            if result.error_code == 91 {
                continue;
            }
            let message = result.error_message.as_ref().map(|m| m.to_string());
            println!(
                "Error retrieving SCRAM credential configs for user-principal '{user}': {}",
                message.unwrap_or_else(|| format!("error code {}", result.error_code))
            );
            continue;
        }
        let infos: Vec<String> = result
            .credential_infos
            .iter()
            .map(|i| {
                format!(
                    "{}=iterations={}",
                    mechanism_name(i.mechanism),
                    i.iterations
                )
            })
            .collect();
        println!(
            "SCRAM credential configs for user-principal '{user}' are {}",
            infos.join(", ")
        );
    }
    Ok(())
}

async fn describe_quotas(admin: &mut Admin, entities: &[Entity]) -> Result<()> {
    let components = entities
        .iter()
        .map(|e| {
            let c = describe_quotas::ComponentData::default()
                .with_entity_type(StrBytes::from_static_str(entity_type(e.kind)));
            match &e.name {
                Name::Named(n) => c
                    .with_match_type(MATCH_EXACT)
                    .with_match(Some(StrBytes::from_string(n.clone()))),
                Name::Default => c.with_match_type(MATCH_DEFAULT).with_match(None),
                Name::All => c.with_match_type(MATCH_SPECIFIED).with_match(None),
            }
        })
        .collect();
    let request = DescribeClientQuotasRequest::default()
        .with_components(components)
        .with_strict(true);
    let response = admin.send(Target::Any, &request).await?;
    ToolError::check(
        "describing quotas",
        response.error_code,
        response.error_message.as_ref().map(|m| m.as_str()),
    )?;
    for entry in response.entries.unwrap_or_default() {
        let mut parts = Vec::new();
        for kind in ["user", "client-id", "ip"] {
            let Some(e) = entry.entity.iter().find(|e| e.entity_type.as_str() == kind) else {
                continue;
            };
            let label = match kind {
                "user" => "user-principal",
                other => other,
            };
            parts.push(match &e.entity_name {
                Some(n) => format!("{label} '{}'", n.as_str()),
                None => format!("the default {label}"),
            });
        }
        let values: Vec<String> = entry
            .values
            .iter()
            .map(|v| format!("{}={}", v.key.as_str(), java_double(v.value)))
            .collect();
        println!(
            "Quota configs for {} are {}",
            parts.join(", "),
            values.join(", ")
        );
    }
    Ok(())
}

/// `--alter` of users and/or clients: SCRAM credentials or quotas, as Kafka allows them.
pub(super) async fn alter(
    admin: &mut Admin,
    entities: &[Entity],
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<()> {
    let unknown = |keys: Vec<&String>| -> Vec<String> {
        keys.into_iter()
            .filter(|k| !is_scram(k) && !QUOTAS.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    let unknown_add = unknown(add.keys().collect());
    let unknown_delete = unknown(delete.iter().collect());
    let scram = add.keys().chain(delete).any(|k| is_scram(k));
    let quota = add
        .keys()
        .chain(delete)
        .any(|k| QUOTAS.contains(&k.as_str()));
    let clients = entities.iter().any(|e| e.kind == Kind::Clients);
    if clients && (!unknown_add.is_empty() || !unknown_delete.is_empty() || scram) {
        return Err(ToolError::usage(
            "Only quota configs can be added or deleted for 'clients' using --bootstrap-server",
        ));
    }
    if !unknown_add.is_empty() {
        return Err(ToolError::usage(format!(
            "Only quota and SCRAM credential configs can be added for 'users' using \
             --bootstrap-server. Unexpected config names: {}",
            unknown_add.join(",")
        )));
    }
    if !unknown_delete.is_empty() {
        return Err(ToolError::usage(format!(
            "Only quota and SCRAM credential configs can be deleted for 'users' using \
             --bootstrap-server. Unexpected config names: {}",
            unknown_delete.join(",")
        )));
    }
    if scram {
        if quota {
            return Err(ToolError::usage(
                "Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.",
            ));
        }
        let Some(Name::Named(user)) = entities.first().map(|e| &e.name) else {
            return Err(ToolError::usage(
                "The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.",
            ));
        };
        return alter_scram(admin, user, add, delete).await;
    }
    alter_quotas(admin, entities, add, delete).await
}

async fn alter_scram(
    admin: &mut Admin,
    user: &str,
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<()> {
    let name = || StrBytes::from_string(user.to_owned());
    let mut upsertions = Vec::new();
    for (key, value) in add {
        let mechanism = Mechanism::from_name(key)
            .ok_or_else(|| ToolError::usage(format!("unknown mechanism {key}")))?;
        let (iterations, password) = scram_value(key, value)?;
        let (salt, salted) = ScramCredential::salt_password(mechanism, &password, iterations)
            .map_err(|e| ToolError::usage(e.to_string()))?;
        upsertions.push(
            ScramCredentialUpsertion::default()
                .with_name(name())
                .with_mechanism(mechanism_code(mechanism))
                .with_iterations(iterations as i32)
                .with_salt(Bytes::from(salt))
                .with_salted_password(Bytes::from(salted)),
        );
    }
    let deletions = delete
        .iter()
        .filter_map(|k| Mechanism::from_name(k))
        .map(|m| {
            ScramCredentialDeletion::default()
                .with_name(name())
                .with_mechanism(mechanism_code(m))
        })
        .collect();
    let request = AlterUserScramCredentialsRequest::default()
        .with_deletions(deletions)
        .with_upsertions(upsertions);
    // Kafka sends it to the controller (which, in ZooKeeper mode, any broker may be).
    let response = admin
        .send_controller(&request, |r| r.results.iter().any(|x| x.error_code == 41))
        .await?;
    for r in response.results {
        ToolError::check(
            format!("altering the SCRAM credentials of {user}"),
            r.error_code,
            r.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    Ok(())
}

async fn alter_quotas(
    admin: &mut Admin,
    entities: &[Entity],
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<()> {
    let mut ops = Vec::new();
    for (key, value) in add {
        let v: f64 = value.parse().map_err(|_| {
            ToolError::usage(format!(
                "Cannot parse quota configuration value for {key}: {value}"
            ))
        })?;
        ops.push(
            alter_quotas::OpData::default()
                .with_key(StrBytes::from_string(key.clone()))
                .with_value(v)
                .with_remove(false),
        );
    }
    for key in delete {
        ops.push(
            alter_quotas::OpData::default()
                .with_key(StrBytes::from_string(key.clone()))
                .with_remove(true),
        );
    }
    let entity = entities
        .iter()
        .map(|e| {
            alter_quotas::EntityData::default()
                .with_entity_type(StrBytes::from_static_str(entity_type(e.kind)))
                .with_entity_name(match &e.name {
                    Name::Named(n) => Some(StrBytes::from_string(n.clone())),
                    _ => None,
                })
        })
        .collect();
    let request =
        AlterClientQuotasRequest::default().with_entries(vec![alter_quotas::EntryData::default()
            .with_entity(entity)
            .with_ops(ops)]);
    let response = admin.send(Target::Any, &request).await?;
    for e in response.entries {
        ToolError::check(
            "altering quotas",
            e.error_code,
            e.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    Ok(())
}
