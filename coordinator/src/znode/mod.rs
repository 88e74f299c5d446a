//! One type per znode: its path and Kafka-format data (Kafka's `zk/ZkData.scala`).
//!
//! Encoders write what Kafka 3.x in ZooKeeper mode writes (compact JSON; key order is
//! irrelevant, Kafka never depends on it). Decoders look keys up by name, ignore unknown keys and
//! accept the older versions Kafka still reads. Notable quirks kept on purpose: `timestamp`,
//! `/cluster/id`'s `version`, and producer-id block bounds are JSON *strings*;
//! `/controller_epoch` and consumer offsets are bare decimals, not JSON.

pub mod acl;
mod json;
mod preferred_replica_election;
mod reassign_partitions;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::error::ZkError;
use json::Obj;
pub use preferred_replica_election::PreferredReplicaElectionZNode;
pub use reassign_partitions::ReassignPartitionsZNode;

/// Persistent paths every broker creates at startup (`ZkData.PersistentZkPaths`), null data.
pub const PERSISTENT_ZK_PATHS: [&str; 14] = [
    "/consumers",
    "/brokers/ids",
    "/brokers/topics",
    "/config/changes",
    "/admin/delete_topics",
    "/brokers/seqid",
    "/isr_change_notification",
    "/latest_producer_id_block",
    "/log_dir_event_notification",
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
];

/// `/cluster/id`: `{"version":"1","id":"<22-char base64>"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterIdZNode {
    /// The cluster id.
    pub id: String,
}

impl ClusterIdZNode {
    /// The path.
    pub const PATH: &'static str = "/cluster/id";

    /// Kafka's JSON (version is a string).
    pub fn encode(&self) -> Vec<u8> {
        json!({"version": "1", "id": self.id})
            .to_string()
            .into_bytes()
    }

    /// Parses Kafka's JSON.
    pub fn decode(data: &[u8]) -> Result<ClusterIdZNode, ZkError> {
        let obj = Obj::parse(Self::PATH, data)?;
        Ok(ClusterIdZNode {
            id: obj.string("id")?,
        })
    }
}

/// `/controller` (ephemeral): `{"version":1,"brokerid":N,"timestamp":"ms"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerZNode {
    /// The active controller's broker id.
    pub broker_id: i32,
    /// Election time, ms since the epoch.
    pub timestamp: i64,
}

impl ControllerZNode {
    /// The path.
    pub const PATH: &'static str = "/controller";

    /// Version 1 JSON (what 1.x-3.3 and a non-migrating 3.4+ cluster reader accept).
    pub fn encode(&self) -> Vec<u8> {
        json!({"version": 1, "brokerid": self.broker_id, "timestamp": self.timestamp.to_string()})
            .to_string()
            .into_bytes()
    }

    /// Parses v1 or v2 (3.4+ adds `kraftControllerEpoch`, ignored).
    pub fn decode(data: &[u8]) -> Result<ControllerZNode, ZkError> {
        let obj = Obj::parse(Self::PATH, data)?;
        let broker_id = obj.i32("brokerid")?;
        let timestamp = obj.opt_lenient_i64("timestamp")?.unwrap_or(-1);
        Ok(ControllerZNode {
            broker_id,
            timestamp,
        })
    }
}

/// `/controller_epoch`: the epoch as a bare decimal.
pub struct ControllerEpochZNode;

impl ControllerEpochZNode {
    /// The path.
    pub const PATH: &'static str = "/controller_epoch";

    /// `epoch.toString`.
    pub fn encode(epoch: i32) -> Vec<u8> {
        epoch.to_string().into_bytes()
    }

    /// Parses the bare decimal.
    pub fn decode(data: &[u8]) -> Result<i32, ZkError> {
        decode_decimal(Self::PATH, data)
    }
}

/// `/brokers/seqid`: empty; only its dataVersion matters (broker id generation).
pub struct BrokerSequenceIdZNode;

impl BrokerSequenceIdZNode {
    /// The path.
    pub const PATH: &'static str = "/brokers/seqid";
}

/// `/brokers/ids`: parent of the ephemeral registrations.
pub struct BrokerIdsZNode;

impl BrokerIdsZNode {
    /// The path.
    pub const PATH: &'static str = "/brokers/ids";
}

/// One advertised listener of a broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// Listener name, upper-case (`PLAINTEXT`, `INTERNAL`, ...).
    pub listener: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: u16,
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub security_protocol: String,
}

impl BrokerEndpoint {
    /// `LISTENER://host:port`, IPv6 hosts bracketed (`Utils.formatAddress`).
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener, self.host, self.port)
        }
    }

    /// Kafka's numeric security protocol id (used in UpdateMetadata): PLAINTEXT 0, SSL 1,
    /// SASL_PLAINTEXT 2, SASL_SSL 3.
    pub fn security_protocol_id(&self) -> i16 {
        match self.security_protocol.as_str() {
            "SSL" => 1,
            "SASL_PLAINTEXT" => 2,
            "SASL_SSL" => 3,
            _ => 0,
        }
    }

    /// Parses `LISTENER://host:port` (with `[v6]` hosts).
    fn parse(path: &str, s: &str, protocols: &BTreeMap<String, String>) -> Result<Self, ZkError> {
        let bad = || ZkError::json(path, format!("bad endpoint {s:?}"));
        let (listener, address) = s.split_once("://").ok_or_else(bad)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port.parse().map_err(|_| bad())?;
        // Readers without the map fall back to "listener name == protocol name".
        let security_protocol = protocols
            .get(listener)
            .cloned()
            .unwrap_or_else(|| listener.to_string());
        Ok(BrokerEndpoint {
            listener: listener.to_string(),
            host: host.to_string(),
            port,
            security_protocol,
        })
    }
}

/// The data of `/brokers/ids/<id>` plus the id from the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Broker id (from the path).
    pub id: i32,
    /// Advertised listeners, in configuration order.
    pub endpoints: Vec<BrokerEndpoint>,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
    /// Registration time, ms since the epoch.
    pub timestamp: i64,
}

impl BrokerInfo {
    /// The endpoint for a listener name, if advertised.
    pub fn endpoint(&self, listener: &str) -> Option<&BrokerEndpoint> {
        self.endpoints.iter().find(|e| e.listener == listener)
    }
}

/// `/brokers/ids/<id>` (ephemeral): broker registration JSON, version 5.
pub struct BrokerIdZNode;

impl BrokerIdZNode {
    /// `/brokers/ids/<id>`.
    pub fn path(id: i32) -> String {
        format!("{}/{id}", BrokerIdsZNode::PATH)
    }

    /// Version 5 JSON: `features {}` (as 2.7-3.2 brokers), endpoints, protocol map, legacy
    /// host/port = first PLAINTEXT endpoint (else null/-1), `jmx_port` -1, string timestamp,
    /// rack only if set.
    pub fn encode(info: &BrokerInfo) -> Vec<u8> {
        let plaintext = info
            .endpoints
            .iter()
            .find(|e| e.security_protocol == "PLAINTEXT");
        let protocols: Map<String, Value> = info
            .endpoints
            .iter()
            .map(|e| (e.listener.clone(), Value::from(e.security_protocol.clone())))
            .collect();
        let endpoints: Vec<String> = info
            .endpoints
            .iter()
            .map(BrokerEndpoint::connection_string)
            .collect();
        let mut obj = json!({
            "features": {},
            "listener_security_protocol_map": protocols,
            "endpoints": endpoints,
            "jmx_port": -1,
            "host": plaintext.map(|e| e.host.clone()),
            "timestamp": info.timestamp.to_string(),
            "port": plaintext.map_or(-1, |e| i32::from(e.port)),
            "version": 5,
        });
        if let (Some(rack), Some(map)) = (&info.rack, obj.as_object_mut()) {
            map.insert("rack".into(), Value::from(rack.clone()));
        }
        obj.to_string().into_bytes()
    }

    /// Parses versions 1-5.
    pub fn decode(id: i32, data: &[u8]) -> Result<BrokerInfo, ZkError> {
        let path = Self::path(id);
        let obj = Obj::parse(&path, data)?;
        let protocols = obj
            .opt_string_map("listener_security_protocol_map")?
            .unwrap_or_default();
        let endpoints = match obj.opt_string_array("endpoints")? {
            Some(list) => list
                .iter()
                .map(|s| BrokerEndpoint::parse(&path, s, &protocols))
                .collect::<Result<_, _>>()?,
            // Version 1 (0.8.x) has only host/port, always PLAINTEXT.
            None => {
                let port = u16::try_from(obj.i64("port")?)
                    .map_err(|_| ZkError::json(&path, "bad port"))?;
                let host = obj.string("host")?;
                let listener = "PLAINTEXT".to_string();
                vec![BrokerEndpoint {
                    listener: listener.clone(),
                    host,
                    port,
                    security_protocol: listener,
                }]
            }
        };
        Ok(BrokerInfo {
            id,
            endpoints,
            rack: obj.opt_string("rack")?,
            timestamp: obj.opt_lenient_i64("timestamp")?.unwrap_or(-1),
        })
    }
}

/// `/brokers/topics`: parent of topic assignments.
pub struct TopicsZNode;

impl TopicsZNode {
    /// The path.
    pub const PATH: &'static str = "/brokers/topics";
}

/// `/brokers/topics/<t>`: replica assignment, version 3.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicZNode {
    /// Partition → replicas; element 0 is the preferred leader.
    pub partitions: BTreeMap<i32, Vec<i32>>,
    /// Partitions being reassigned: replicas being added.
    pub adding_replicas: BTreeMap<i32, Vec<i32>>,
    /// Partitions being reassigned: replicas being removed.
    pub removing_replicas: BTreeMap<i32, Vec<i32>>,
    /// The topic id (absent on topics created by pre-2.8 Kafka).
    pub topic_id: Option<uuid::Uuid>,
}

impl TopicZNode {
    /// `/brokers/topics/<t>`.
    pub fn path(topic: &str) -> String {
        format!("{}/{topic}", TopicsZNode::PATH)
    }

    /// Version 3 JSON.
    pub fn encode(&self) -> Vec<u8> {
        let mut obj = json!({
            "version": 3,
            "partitions": assignment_json(&self.partitions),
            "adding_replicas": assignment_json(&self.adding_replicas),
            "removing_replicas": assignment_json(&self.removing_replicas),
        });
        if let (Some(id), Some(map)) = (self.topic_id, obj.as_object_mut()) {
            map.insert("topic_id".into(), Value::from(topic_id_string(id)));
        }
        obj.to_string().into_bytes()
    }

    /// Parses versions 1-3 (missing adding/removing/topic_id are fine).
    pub fn decode(topic: &str, data: &[u8]) -> Result<TopicZNode, ZkError> {
        let path = Self::path(topic);
        let obj = Obj::parse(&path, data)?;
        let topic_id = match obj.opt_string("topic_id")? {
            Some(s) => Some(
                parse_topic_id(&s)
                    .ok_or_else(|| ZkError::json(&path, format!("bad topic_id {s:?}")))?,
            ),
            None => None,
        };
        Ok(TopicZNode {
            partitions: obj.assignment("partitions")?.unwrap_or_default(),
            adding_replicas: obj.assignment("adding_replicas")?.unwrap_or_default(),
            removing_replicas: obj.assignment("removing_replicas")?.unwrap_or_default(),
            topic_id,
        })
    }
}

fn assignment_json(map: &BTreeMap<i32, Vec<i32>>) -> Value {
    let obj: Map<String, Value> = map
        .iter()
        .map(|(p, r)| (p.to_string(), Value::from(r.clone())))
        .collect();
    Value::Object(obj)
}

/// A topic id as Kafka prints it: 16 bytes, URL-safe base64, no padding (22 chars).
pub fn topic_id_string(id: uuid::Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Parses [`topic_id_string`]'s format.
pub fn parse_topic_id(s: &str) -> Option<uuid::Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    uuid::Uuid::from_slice(&bytes).ok()
}

/// A fresh id as Kafka's `Uuid.randomUuid`: random, never all-zero or `...1` (reserved), and
/// its string never starts with `-` (it would look like a command-line flag).
pub fn random_uuid() -> uuid::Uuid {
    loop {
        let id = uuid::Uuid::new_v4();
        if id.as_u128() > 1 && !topic_id_string(id).starts_with('-') {
            return id;
        }
    }
}

/// `/brokers/topics/<t>/partitions` and `.../partitions/<p>`: null-data parents of `state`.
pub struct TopicPartitionsZNode;

impl TopicPartitionsZNode {
    /// `/brokers/topics/<t>/partitions`.
    pub fn path(topic: &str) -> String {
        format!("{}/partitions", TopicZNode::path(topic))
    }

    /// `/brokers/topics/<t>/partitions/<p>`.
    pub fn partition_path(topic: &str, partition: i32) -> String {
        format!("{}/{partition}", Self::path(topic))
    }
}

/// The data of `/brokers/topics/<t>/partitions/<p>/state` (Kafka's `LeaderIsrAndControllerEpoch`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderIsrAndControllerEpoch {
    /// Leader broker id, -1 = none.
    pub leader: i32,
    /// +1 on every election and controller-made ISR change.
    pub leader_epoch: i32,
    /// In-sync replicas; never empty.
    pub isr: Vec<i32>,
    /// Epoch of the controller that made the leadership decision.
    pub controller_epoch: i32,
    /// 0 = recovered (only written when ≠ 0), 1 = recovering.
    pub leader_recovery_state: i8,
}

/// `/brokers/topics/<t>/partitions/<p>/state` (persistent); its zkVersion is the partition epoch.
pub struct PartitionStateZNode;

impl PartitionStateZNode {
    /// `/brokers/topics/<t>/partitions/<p>/state`.
    pub fn path(topic: &str, partition: i32) -> String {
        format!(
            "{}/state",
            TopicPartitionsZNode::partition_path(topic, partition)
        )
    }

    /// Version 1 JSON; `leader_recovery_state` only when ≠ 0.
    pub fn encode(state: &LeaderIsrAndControllerEpoch) -> Vec<u8> {
        let mut obj = json!({
            "controller_epoch": state.controller_epoch,
            "leader": state.leader,
            "version": 1,
            "leader_epoch": state.leader_epoch,
            "isr": state.isr,
        });
        if let (true, Some(map)) = (state.leader_recovery_state != 0, obj.as_object_mut()) {
            map.insert(
                "leader_recovery_state".into(),
                Value::from(state.leader_recovery_state),
            );
        }
        obj.to_string().into_bytes()
    }

    /// Parses it.
    pub fn decode(
        topic: &str,
        partition: i32,
        data: &[u8],
    ) -> Result<LeaderIsrAndControllerEpoch, ZkError> {
        let path = Self::path(topic, partition);
        let obj = Obj::parse(&path, data)?;
        let isr = obj.i32_array("isr")?;
        let recovery = obj.opt_i64("leader_recovery_state")?.unwrap_or(0);
        Ok(LeaderIsrAndControllerEpoch {
            leader: obj.i32("leader")?,
            leader_epoch: obj.i32("leader_epoch")?,
            isr,
            controller_epoch: obj.i32("controller_epoch")?,
            leader_recovery_state: i8::try_from(recovery)
                .map_err(|_| ZkError::json(&path, "bad leader_recovery_state"))?,
        })
    }
}

/// `/config/topics/<t>`: `{"version":1,"config":{...}}`, all values strings.
pub struct TopicConfigZNode;

impl TopicConfigZNode {
    /// `/config/topics/<t>`.
    pub fn path(topic: &str) -> String {
        format!("/config/topics/{topic}")
    }

    /// Kafka's JSON (written even when empty).
    pub fn encode(config: &BTreeMap<String, String>) -> Vec<u8> {
        json!({"version": 1, "config": config})
            .to_string()
            .into_bytes()
    }

    /// Parses it; non-string values are rendered as their JSON text.
    pub fn decode(topic: &str, data: &[u8]) -> Result<BTreeMap<String, String>, ZkError> {
        let path = Self::path(topic);
        let obj = Obj::parse(&path, data)?;
        Ok(obj.opt_string_map("config")?.unwrap_or_default())
    }
}

/// `/config/users/<sanitized user>`: a user's dynamic configs (SCRAM credentials, quotas), the
/// same JSON as topic configs. The name is URL-encoded as Kafka's `Sanitizer` does it
/// ([`crate::user_config::sanitize`]).
pub struct UserConfigZNode;

impl UserConfigZNode {
    /// The parent path.
    pub const PATH: &'static str = "/config/users";

    /// `/config/users/<sanitized>`.
    pub fn path(sanitized_user: &str) -> String {
        format!("{}/{sanitized_user}", Self::PATH)
    }

    /// Kafka's JSON: `{"version":1,"config":{...}}`.
    pub fn encode(config: &BTreeMap<String, String>) -> Vec<u8> {
        json!({"version": 1, "config": config})
            .to_string()
            .into_bytes()
    }

    /// Parses it; non-string values are rendered as their JSON text.
    pub fn decode(sanitized_user: &str, data: &[u8]) -> Result<BTreeMap<String, String>, ZkError> {
        let path = Self::path(sanitized_user);
        let obj = Obj::parse(&path, data)?;
        Ok(obj.opt_string_map("config")?.unwrap_or_default())
    }
}

/// `/config/brokers/<entity>`: dynamic broker configs, the same JSON as topic configs. The
/// entity is a broker id (per-broker configs) or [`BrokerConfigZNode::DEFAULT`] (the
/// cluster-wide defaults), as Kafka's `AdminZkClient.changeBrokerConfig` writes them.
pub struct BrokerConfigZNode;

impl BrokerConfigZNode {
    /// The parent path.
    pub const PATH: &'static str = "/config/brokers";
    /// The entity of the cluster-wide defaults (Kafka's `ZooKeeperInternals.DEFAULT_STRING`).
    pub const DEFAULT: &'static str = "<default>";

    /// `/config/brokers/<entity>`.
    pub fn path(entity: &str) -> String {
        format!("{}/{entity}", Self::PATH)
    }

    /// Kafka's JSON: `{"version":1,"config":{...}}` (written even when empty).
    pub fn encode(config: &BTreeMap<String, String>) -> Vec<u8> {
        json!({"version": 1, "config": config})
            .to_string()
            .into_bytes()
    }

    /// Parses it; non-string values are rendered as their JSON text.
    pub fn decode(entity: &str, data: &[u8]) -> Result<BTreeMap<String, String>, ZkError> {
        let path = Self::path(entity);
        let obj = Obj::parse(&path, data)?;
        Ok(obj.opt_string_map("config")?.unwrap_or_default())
    }
}

/// `/latest_producer_id_block`: the last allocated block of producer ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerIdBlockZNode {
    /// Broker that took the block.
    pub broker_id: i32,
    /// First id of the block.
    pub block_start: i64,
    /// Last id of the block (inclusive).
    pub block_end: i64,
}

impl ProducerIdBlockZNode {
    /// The path.
    pub const PATH: &'static str = "/latest_producer_id_block";

    /// Kafka's JSON (start/end are strings).
    pub fn encode(&self) -> Vec<u8> {
        json!({
            "version": 1,
            "broker": self.broker_id,
            "block_start": self.block_start.to_string(),
            "block_end": self.block_end.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    /// Parses it.
    pub fn decode(data: &[u8]) -> Result<ProducerIdBlockZNode, ZkError> {
        let obj = Obj::parse(Self::PATH, data)?;
        let bound = |key| {
            obj.opt_lenient_i64(key)?
                .ok_or_else(|| ZkError::json(Self::PATH, format!("missing {key}")))
        };
        Ok(ProducerIdBlockZNode {
            broker_id: obj.i32("broker")?,
            block_start: bound("block_start")?,
            block_end: bound("block_end")?,
        })
    }
}

/// `/feature`: finalized features (KIP-584); we write the 2.8-3.2 style empty, enabled node.
pub struct FeatureZNode;

impl FeatureZNode {
    /// The path.
    pub const PATH: &'static str = "/feature";

    /// `{"features":{},"version":1,"status":1}`.
    pub fn encode_default() -> Vec<u8> {
        json!({"features": {}, "version": 1, "status": 1})
            .to_string()
            .into_bytes()
    }
}

/// `/consumers/<group>/offsets/<topic>/<partition>`: committed offset (OffsetCommit v0), bare decimal.
pub struct ConsumerOffsetZNode;

impl ConsumerOffsetZNode {
    /// The path.
    pub fn path(group: &str, topic: &str, partition: i32) -> String {
        format!("/consumers/{group}/offsets/{topic}/{partition}")
    }

    /// `offset.toString`.
    pub fn encode(offset: i64) -> Vec<u8> {
        offset.to_string().into_bytes()
    }

    /// Parses the bare decimal.
    pub fn decode(path: &str, data: &[u8]) -> Result<i64, ZkError> {
        decode_decimal(path, data)
    }
}

fn decode_decimal<T: std::str::FromStr>(path: &str, data: &[u8]) -> Result<T, ZkError> {
    let text = std::str::from_utf8(data).map_err(|e| ZkError::json(path, e))?;
    text.trim()
        .parse()
        .map_err(|_| ZkError::json(path, format!("expected a decimal, got {text:?}")))
}

/// `/admin/delete_topics/<t>`: null-data markers asking the controller to delete a topic.
pub struct DeleteTopicsZNode;

impl DeleteTopicsZNode {
    /// The parent path.
    pub const PATH: &'static str = "/admin/delete_topics";

    /// `/admin/delete_topics/<t>`.
    pub fn path(topic: &str) -> String {
        format!("{}/{topic}", Self::PATH)
    }
}

/// `/log_dir_event_notification/log_dir_event_NNNNNNNNNN` (persistent sequential), written by
/// a broker when one of its log dirs fails: `{"version":1,"broker":<id>,"event":1}` (event 1 =
/// log dir failure, the only one). The controller asks that broker which of its replicas are
/// offline, then deletes the notification.
pub struct LogDirEventNotificationZNode;

impl LogDirEventNotificationZNode {
    /// The parent path.
    pub const PATH: &'static str = "/log_dir_event_notification";
    /// Child name prefix; ZooKeeper appends a 10-digit sequence.
    pub const PREFIX: &'static str = "log_dir_event_";
    /// The `event` of a log dir failure.
    const LOG_DIR_FAILURE: i64 = 1;

    /// The path to create sequentially (prefix only).
    pub fn sequential_prefix() -> String {
        format!("{}/{}", Self::PATH, Self::PREFIX)
    }

    /// Version 1 JSON announcing a failed log dir on `broker`.
    pub fn encode(broker: i32) -> Vec<u8> {
        json!({"version": 1, "broker": broker, "event": Self::LOG_DIR_FAILURE})
            .to_string()
            .into_bytes()
    }

    /// The broker it names (`path` is the child's full path, for errors). Like Kafka, only
    /// `broker` is read: every event means a failed log dir.
    pub fn decode(path: &str, data: &[u8]) -> Result<i32, ZkError> {
        Obj::parse(path, data)?.i32("broker")
    }
}

/// `/isr_change_notification/isr_change_NNNNNNNNNN` (persistent sequential), written by
/// partition leaders after they change an ISR themselves (legacy path, IBP < 2.7-IV2):
/// `{"version":1,"partitions":[{"topic":"t","partition":0}]}`.
pub struct IsrChangeNotificationZNode;

impl IsrChangeNotificationZNode {
    /// The parent path.
    pub const PATH: &'static str = "/isr_change_notification";
    /// Child name prefix; ZooKeeper appends a 10-digit sequence.
    pub const PREFIX: &'static str = "isr_change_";

    /// The path to create sequentially (prefix only).
    pub fn sequential_prefix() -> String {
        format!("{}/{}", Self::PATH, Self::PREFIX)
    }

    /// Version 1 JSON.
    pub fn encode(partitions: &[(String, i32)]) -> Vec<u8> {
        preferred_replica_election::partition_list(1, partitions.iter())
    }

    /// Parses it (`path` is the child's full path, for errors).
    pub fn decode(path: &str, data: &[u8]) -> Result<Vec<(String, i32)>, ZkError> {
        preferred_replica_election::decode_partition_list(path, data)
    }
}

/// `/config/changes/config_change_NNNNNNNNNN` (persistent sequential), created after every
/// config write: `{"version":2,"entity_path":"topics/<t>"}`.
pub struct ConfigChangeNotificationZNode;

impl ConfigChangeNotificationZNode {
    /// The parent path.
    pub const PATH: &'static str = "/config/changes";

    /// The path to create sequentially (prefix only).
    pub fn sequential_prefix() -> String {
        format!("{}/config_change_", Self::PATH)
    }

    /// Version 2 JSON for an entity path such as `topics/my-topic`.
    pub fn encode(entity_path: &str) -> Vec<u8> {
        json!({"version": 2, "entity_path": entity_path})
            .to_string()
            .into_bytes()
    }
}
