//! AlterConfigs and IncrementalAlterConfigs for BROKER resources, as Kafka's ZooKeeper-mode
//! `ZkAdminManager.alterBrokerConfigs`: the name "" is the cluster-wide default
//! (`/config/brokers/<default>`), a broker id is that broker's own configs, and only the broker
//! itself takes those (others answer INVALID_REQUEST, as Kafka's do). The whole new set is
//! checked by [`DynamicConfig::validate`](crate::dynamic_config::DynamicConfig::validate) and
//! written with a `/config/changes` notification, which every broker (this one too) follows.

use std::collections::BTreeMap;

use coordinator::broker_config::{broker_config, set_broker_config, BrokerEntity};
use kafka_protocol::ResponseError;
use tracing::info;

use crate::api::alter_configs::AlterResult;
use crate::api::config_defs::TopicConfigError;
use crate::api::errors::zk_error_code;
use crate::api::incremental_alter_configs::{apply_ops, OpError};
use crate::config::{key_doc, ValueType};
use crate::context::RequestContext;
use crate::dynamic_config::DynamicConfig;

/// How Kafka names the resource in INVALID_CONFIG messages.
fn resource(name: &str) -> String {
    format!("ConfigResource(type=BROKER, name='{name}')")
}

/// The entity a resource name stands for on this broker (Kafka's `getBrokerId`).
pub fn entity(broker_id: i32, name: &str) -> Result<BrokerEntity, (ResponseError, String)> {
    if name.is_empty() {
        return Ok(BrokerEntity::Default);
    }
    match name.parse::<i32>() {
        Ok(id) if id == broker_id => Ok(BrokerEntity::Broker(id)),
        Ok(_) => Err((
            ResponseError::InvalidRequest,
            format!("Unexpected broker id, expected {broker_id}, but received {name}"),
        )),
        Err(_) => Err((
            ResponseError::InvalidRequest,
            format!("Broker id must be an integer, but it is: {name}"),
        )),
    }
}

/// AlterConfigs: `configs` (null values already left out) replace the entity's whole set.
pub async fn replace(
    ctx: RequestContext<'_>,
    name: &str,
    configs: &[(String, Option<String>)],
    validate_only: bool,
) -> AlterResult {
    let entity = entity(ctx.broker.broker_id, name)?;
    let new: BTreeMap<String, String> = configs
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    store(ctx, name, entity, &new, validate_only).await
}

/// IncrementalAlterConfigs: the operations applied to what is stored for the entity.
pub async fn alter(
    ctx: RequestContext<'_>,
    name: &str,
    ops: &[(String, i8, Option<String>)],
    validate_only: bool,
) -> AlterResult {
    let entity = entity(ctx.broker.broker_id, name)?;
    let stored = broker_config(&ctx.broker.zk(), entity)
        .await
        .map_err(|e| (zk_error_code(&e), e.to_string()))?;
    let mut configs = ctx.broker.dynamic.applicable(entity, stored);
    apply_ops(&mut configs, ops, broker_list_default).map_err(|e| match e {
        OpError::Config(TopicConfigError::UnknownName(key)) => (
            ResponseError::InvalidConfig,
            format!("Unknown config name: {key}"),
        ),
        OpError::Config(e) => (ResponseError::InvalidConfig, e.to_string()),
        OpError::UnknownOperation(op) => (
            ResponseError::InvalidRequest,
            format!("unknown config operation {op}"),
        ),
    })?;
    store(ctx, name, entity, &configs, validate_only).await
}

/// The default an APPEND or SUBTRACT on broker key `name` starts from.
fn broker_list_default(name: &str, op: &'static str) -> Result<&'static str, OpError> {
    let doc = key_doc(name)
        .ok_or_else(|| OpError::Config(TopicConfigError::UnknownName(name.to_string())))?;
    if doc.kind != ValueType::List {
        return Err(OpError::Config(TopicConfigError::NotAList {
            op,
            name: name.to_string(),
        }));
    }
    Ok(doc.default.unwrap_or_default())
}

/// Validates the entity's new set and, unless `validate_only`, writes it.
async fn store(
    ctx: RequestContext<'_>,
    name: &str,
    entity: BrokerEntity,
    configs: &BTreeMap<String, String>,
    validate_only: bool,
) -> AlterResult {
    let refused = |e: crate::dynamic_config::DynamicConfigError| {
        if let crate::dynamic_config::DynamicConfigError::Reconfiguration(cause) = &e {
            // Kafka's answer hides the cause; the broker's log keeps it.
            info!(entity = %entity.name(), cause, "dynamic broker config refused");
        }
        (
            ResponseError::InvalidConfig,
            format!("Invalid config value for resource {}: {e}", resource(name)),
        )
    };
    ctx.broker
        .dynamic
        .validate(entity, configs)
        .map_err(refused)?;
    if validate_only {
        return Ok(());
    }
    let persistent = DynamicConfig::to_persistent(configs).map_err(refused)?;
    set_broker_config(&ctx.broker.zk(), entity, &persistent)
        .await
        .map_err(|e| (zk_error_code(&e), e.to_string()))?;
    info!(entity = %entity.name(), keys = ?configs.keys().collect::<Vec<_>>(), "dynamic broker config changed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_as_kafka_reads_them() {
        assert_eq!(entity(1, ""), Ok(BrokerEntity::Default));
        assert_eq!(entity(1, "1"), Ok(BrokerEntity::Broker(1)));
        assert_eq!(
            entity(1, "2").map_err(|(_, m)| m),
            Err("Unexpected broker id, expected 1, but received 2".into())
        );
        assert_eq!(
            entity(1, "b").map_err(|(_, m)| m),
            Err("Broker id must be an integer, but it is: b".into())
        );
        assert_eq!(
            broker_list_default("log.cleanup.policy", "append"),
            Ok("delete")
        );
        assert!(broker_list_default("message.max.bytes", "append").is_err());
    }
}
