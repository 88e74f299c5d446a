//! Topic and broker configs: `Dynamic configs for topic x are:` (or `All configs for broker 1
//! are:` with `--all`, `Default configs for brokers in the cluster are:`) then
//! `  key=value sensitive=false synonyms={SOURCE:key=value, ...}`, sorted by name; altered with
//! IncrementalAlterConfigs (SET and DELETE), deletions of keys that are not set refused first,
//! as Kafka's ConfigCommand does.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};
use kafka_protocol::protocol::StrBytes;

use super::{Entity, Kind, Name};
use crate::client::{Admin, Target};
use crate::error::{Result, ToolError};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;

/// Kafka's `ConfigEntry.ConfigSource` names, by DescribeConfigs' source code.
fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

/// The resource (type, name) of an entity, and the source its dynamic configs have.
fn resource(kind: Kind, name: &Name) -> (i8, String, i8) {
    match (kind, name) {
        (Kind::Brokers, Name::Named(id)) => (BROKER, id.clone(), 2),
        (Kind::Brokers, _) => (BROKER, String::new(), 3),
        (_, Name::Named(topic)) => (TOPIC, topic.clone(), 1),
        (_, _) => (TOPIC, String::new(), 1),
    }
}

/// Where a resource's configs are asked for: a broker's own configs from that broker.
fn target(kind: Kind, name: &Name) -> Target {
    match (kind, name) {
        (Kind::Brokers, Name::Named(id)) => id.parse().map(Target::Node).unwrap_or(Target::Any),
        _ => Target::Any,
    }
}

/// One resource's config entries (sorted by name); only its dynamic ones unless `all`.
async fn configs(
    admin: &mut Admin,
    kind: Kind,
    name: &Name,
    synonyms: bool,
    all: bool,
) -> Result<Vec<DescribeConfigsResourceResult>> {
    let (resource_type, resource_name, dynamic) = resource(kind, name);
    let version = admin.version::<DescribeConfigsRequest>()?;
    let request = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(resource_name.clone()))
            .with_configuration_keys(None)])
        .with_include_synonyms(synonyms && version >= 1);
    let response = admin.send_at(target(kind, name), &request, version).await?;
    let mut entries = Vec::new();
    for result in response.results {
        ToolError::check(
            format!("describing the configs of {resource_name}"),
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
        entries.extend(
            result
                .configs
                .into_iter()
                .filter(|c| all || c.config_source == dynamic),
        );
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn value(v: &Option<StrBytes>) -> &str {
    v.as_ref().map(|v| v.as_str()).unwrap_or("null")
}

/// `--describe` of topics or brokers (every one of them without a name).
pub(super) async fn describe(admin: &mut Admin, entity: &Entity, all: bool) -> Result<()> {
    let names: Vec<Name> = match (&entity.name, entity.kind) {
        (Name::All, Kind::Topics) => {
            let metadata = admin.metadata(None).await?;
            let mut topics: Vec<String> = metadata
                .topics
                .iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
                .collect();
            topics.sort();
            topics.into_iter().map(Name::Named).collect()
        }
        (Name::All, _) => admin
            .nodes()
            .keys()
            .map(|id| Name::Named(id.to_string()))
            .chain([Name::Default])
            .collect(),
        (name, _) => vec![name.clone()],
    };
    for name in names {
        let kind = entity.kind.name();
        match &name {
            Name::Named(n) => println!(
                "{} configs for {} {n} are:",
                if all { "All" } else { "Dynamic" },
                &kind[..kind.len() - 1]
            ),
            _ => println!("Default configs for {kind} in the cluster are:"),
        }
        for entry in configs(admin, entity.kind, &name, true, all).await? {
            let synonyms: Vec<String> = entry
                .synonyms
                .iter()
                .map(|s| {
                    format!(
                        "{}:{}={}",
                        source_name(s.source),
                        s.name.as_str(),
                        value(&s.value)
                    )
                })
                .collect();
            println!(
                "  {}={} sensitive={} synonyms={{{}}}",
                entry.name.as_str(),
                value(&entry.value),
                entry.is_sensitive,
                synonyms.join(", ")
            );
        }
    }
    Ok(())
}

/// `--alter` of a topic, a broker or the brokers' defaults.
pub(super) async fn alter(
    admin: &mut Admin,
    entity: &Entity,
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<()> {
    let current = configs(admin, entity.kind, &entity.name, false, false).await?;
    let invalid: Vec<&str> = delete
        .iter()
        .filter(|k| !current.iter().any(|c| c.name.as_str() == k.as_str()))
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(ToolError::usage(format!(
            "Invalid config(s): {}",
            invalid.join(",")
        )));
    }
    let (resource_type, resource_name, _) = resource(entity.kind, &entity.name);
    let ops = add
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(StrBytes::from_string(k.clone()))
                .with_config_operation(SET)
                .with_value(Some(StrBytes::from_string(v.clone())))
        })
        .chain(delete.iter().map(|k| {
            AlterableConfig::default()
                .with_name(StrBytes::from_string(k.clone()))
                .with_config_operation(DELETE)
                .with_value(None)
        }))
        .collect();
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(resource_name.clone()))
            .with_configs(ops),
    ]);
    let response = admin
        .send(target(entity.kind, &entity.name), &request)
        .await?;
    for r in response.responses {
        ToolError::check(
            format!("altering the configs of {resource_name}"),
            r.error_code,
            r.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    Ok(())
}
