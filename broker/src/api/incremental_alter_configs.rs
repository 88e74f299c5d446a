//! IncrementalAlterConfigs (API 44): SET / DELETE / APPEND / SUBTRACT on a topic's config
//! overrides, then validated and written as AlterConfigs does. APPEND and SUBTRACT work on list
//! keys only (`cleanup.policy`, the throttled-replica lists) and start from the topic's
//! override, else from Kafka's default of the key (not the broker's), as Kafka's
//! `prepareIncrementalConfigs` does. Any broker may serve it.

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use tracing::instrument;

use crate::api::alter_configs::{self, AlterResult};
use crate::api::broker_configs;
use crate::api::config_defs::{topic_key_def, TopicConfigError};
use crate::api::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::api::errors::zk_error_code;
use crate::context::RequestContext;

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

#[instrument(skip_all)]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::new();
    for resource in &req.resources {
        let ops: Vec<(String, i8, Option<String>)> = resource
            .configs
            .iter()
            .map(|c| {
                (
                    c.name.to_string(),
                    c.config_operation,
                    c.value.as_ref().map(|v| v.to_string()),
                )
            })
            .collect();
        let name = resource.resource_name.to_string();
        let result = match resource.resource_type {
            RESOURCE_TOPIC => alter(ctx, &name, &ops, req.validate_only).await,
            RESOURCE_BROKER => broker_configs::alter(ctx, &name, &ops, req.validate_only).await,
            other => Err((
                ResponseError::InvalidRequest,
                format!("AlterConfigs is only supported for topics and brokers, but resource type is {other}"),
            )),
        };
        let r = alter_configs::resource_response(
            resource.resource_type,
            &resource.resource_name,
            result,
        );
        responses.push(
            AlterConfigsResourceResponse::default()
                .with_error_code(r.error_code)
                .with_error_message(r.error_message)
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name),
        );
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

async fn alter(
    ctx: RequestContext<'_>,
    topic: &str,
    ops: &[(String, i8, Option<String>)],
    validate_only: bool,
) -> AlterResult {
    let zk = ctx.broker.zk();
    let mut configs = coordinator::admin::topic_config(&zk, topic)
        .await
        .map_err(|e| (zk_error_code(&e), e.to_string()))?;
    apply_ops(&mut configs, ops, topic_list_default).map_err(|e| match e {
        OpError::Config(e) => (ResponseError::InvalidConfig, e.alter_message(topic)),
        OpError::UnknownOperation(op) => (
            ResponseError::InvalidRequest,
            format!("unknown config operation {op}"),
        ),
    })?;
    alter_configs::apply(ctx, topic, &configs, validate_only).await
}

/// Why the operations could not be applied.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpError {
    Config(TopicConfigError),
    UnknownOperation(i8),
}

/// Applies the operations, in order, to a topic's overrides or a broker entity's configs.
/// `list_default(name, op)` is the default an APPEND or SUBTRACT starts from, or why `name`
/// takes neither. Values are checked afterwards, on the whole result.
pub(crate) fn apply_ops(
    configs: &mut BTreeMap<String, String>,
    ops: &[(String, i8, Option<String>)],
    list_default: impl Fn(&str, &'static str) -> Result<&'static str, OpError>,
) -> Result<(), OpError> {
    for (name, op, value) in ops {
        let value = value.as_deref().unwrap_or_default();
        match *op {
            OP_SET => {
                configs.insert(name.clone(), value.to_string());
            }
            OP_DELETE => {
                configs.remove(name);
            }
            OP_APPEND | OP_SUBTRACT => {
                let append = *op == OP_APPEND;
                let default = list_default(name, if append { "append" } else { "subtract" })?;
                let old = configs.get(name).map_or(default, String::as_str);
                let new = if append {
                    appended(old, value)
                } else {
                    subtracted(old, value)
                };
                configs.insert(name.clone(), new);
            }
            other => return Err(OpError::UnknownOperation(other)),
        }
    }
    Ok(())
}

/// Kafka's default of topic key `name`, which APPEND and SUBTRACT need to be a list.
fn topic_list_default(name: &str, op: &'static str) -> Result<&'static str, OpError> {
    let key = topic_key_def(name)
        .ok_or_else(|| OpError::Config(TopicConfigError::UnknownName(name.to_string())))?;
    if key.kind != crate::config::ValueType::List {
        return Err(OpError::Config(TopicConfigError::NotAList {
            op,
            name: name.to_string(),
        }));
    }
    Ok(key.default)
}

/// `old` with the items of `value` it lacks added at the end.
fn appended(old: &str, value: &str) -> String {
    let mut items: Vec<&str> = if old.is_empty() {
        Vec::new()
    } else {
        split_commas(old)
    };
    let new: Vec<&str> = split_commas(value)
        .into_iter()
        .filter(|v| !items.contains(v))
        .collect();
    items.extend(new);
    items.join(",")
}

/// `old` with one occurrence of each item of `value` removed.
fn subtracted(old: &str, value: &str) -> String {
    let mut items = split_commas(old);
    for v in split_commas(value) {
        if let Some(at) = items.iter().position(|i| *i == v) {
            items.remove(at);
        }
    }
    items.join(",")
}

/// Splits at commas as Java's `String.split(",")` does: items are not trimmed, trailing
/// empty items are dropped, and a string without commas is its only item.
fn split_commas(s: &str) -> Vec<&str> {
    if !s.contains(',') {
        return vec![s];
    }
    let mut items: Vec<&str> = s.split(',').collect();
    while items.last() == Some(&"") {
        items.pop();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        start: &[(&str, &str)],
        ops: &[(&str, i8, Option<&str>)],
    ) -> Result<BTreeMap<String, String>, OpError> {
        let mut configs: BTreeMap<String, String> = start
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ops: Vec<(String, i8, Option<String>)> = ops
            .iter()
            .map(|(k, op, v)| (k.to_string(), *op, v.map(str::to_string)))
            .collect();
        apply_ops(&mut configs, &ops, topic_list_default).map(|()| configs)
    }

    fn policy(configs: &BTreeMap<String, String>) -> &str {
        configs
            .get("cleanup.policy")
            .map_or("(unset)", String::as_str)
    }

    #[test]
    fn append_and_subtract_start_from_the_override_or_kafkas_default() {
        // No override: Kafka's default, delete, is the starting list.
        let c = run(&[], &[("cleanup.policy", OP_APPEND, Some("compact"))]).expect("append");
        assert_eq!(policy(&c), "delete,compact");
        let c = run(
            &[("cleanup.policy", "compact")],
            &[("cleanup.policy", OP_APPEND, Some("compact,delete"))],
        )
        .expect("append");
        assert_eq!(policy(&c), "compact,delete");
        let c = run(
            &[("cleanup.policy", "compact,delete")],
            &[("cleanup.policy", OP_SUBTRACT, Some("delete"))],
        )
        .expect("subtract");
        assert_eq!(policy(&c), "compact");
        // Down to the empty list, which Kafka accepts (neither deleted nor compacted).
        let c = run(&[], &[("cleanup.policy", OP_SUBTRACT, Some("delete"))]).expect("subtract");
        assert_eq!(policy(&c), "");
        let c = run(
            &[("cleanup.policy", "")],
            &[("cleanup.policy", OP_APPEND, Some("compact"))],
        )
        .expect("append");
        assert_eq!(policy(&c), "compact");
    }

    #[test]
    fn operations_apply_in_order() {
        let c = run(
            &[("retention.ms", "5"), ("cleanup.policy", "delete")],
            &[
                ("retention.ms", OP_DELETE, None),
                ("cleanup.policy", OP_SET, Some("compact")),
                ("cleanup.policy", OP_APPEND, Some("delete")),
                ("segment.bytes", OP_SET, Some("1024")),
            ],
        )
        .expect("ops");
        assert_eq!(c.get("retention.ms"), None);
        assert_eq!(policy(&c), "compact,delete");
        assert_eq!(c.get("segment.bytes").map(String::as_str), Some("1024"));
    }

    #[test]
    fn append_needs_a_known_list_key() {
        let e = run(&[], &[("retention.ms", OP_APPEND, Some("5"))]).expect_err("not a list");
        assert_eq!(
            e,
            OpError::Config(TopicConfigError::NotAList {
                op: "append",
                name: "retention.ms".into()
            })
        );
        assert_eq!(
            e_message(&e),
            "Config value append is not allowed for config key: retention.ms"
        );
        let e = run(&[], &[("no.such.key", OP_SUBTRACT, Some("x"))]).expect_err("unknown");
        assert_eq!(e_message(&e), "Unknown topic config name: no.such.key");
        let e = run(&[], &[("retention.ms", 9, Some("5"))]).expect_err("op");
        assert_eq!(e, OpError::UnknownOperation(9));
    }

    fn e_message(e: &OpError) -> String {
        match e {
            OpError::Config(c) => c.alter_message("t"),
            OpError::UnknownOperation(op) => op.to_string(),
        }
    }

    #[test]
    fn commas_split_as_java_splits_them() {
        assert_eq!(split_commas(""), vec![""]);
        assert_eq!(split_commas("a,b,,"), vec!["a", "b"]);
        assert_eq!(split_commas(",a"), vec!["", "a"]);
        assert_eq!(split_commas("a, b"), vec!["a", " b"]);
    }
}
