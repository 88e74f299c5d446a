//! Dynamic broker configs in ZooKeeper, as Kafka's `AdminZkClient.changeBrokerConfig` keeps
//! them: `/config/brokers/<id>` (one broker's) and `/config/brokers/<default>` (the
//! cluster-wide defaults) hold `{"version":1,"config":{...}}`; every change is announced with a
//! `/config/changes/config_change_N` notification naming `brokers/<id>` or
//! `brokers/<default>`, which every broker follows ([`crate::config_changes`]).

use std::collections::BTreeMap;

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::BrokerConfigZNode;

/// Whose dynamic configs: one broker's, or the cluster-wide defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BrokerEntity {
    /// `/config/brokers/<default>`.
    Default,
    /// `/config/brokers/<id>`.
    Broker(i32),
}

impl BrokerEntity {
    /// The znode name: `<default>` or the id.
    pub fn name(self) -> String {
        match self {
            BrokerEntity::Default => BrokerConfigZNode::DEFAULT.to_string(),
            BrokerEntity::Broker(id) => id.to_string(),
        }
    }

    /// The entity a znode name (or a notification's `brokers/<name>`) stands for; `None` for
    /// names Kafka would not write.
    pub fn parse(name: &str) -> Option<BrokerEntity> {
        if name == BrokerConfigZNode::DEFAULT {
            return Some(BrokerEntity::Default);
        }
        name.trim().parse().ok().map(BrokerEntity::Broker)
    }
}

/// An entity's configs (empty if the node does not exist or is empty).
pub async fn broker_config(
    zk: &Zk,
    entity: BrokerEntity,
) -> Result<BTreeMap<String, String>, ZkError> {
    let name = entity.name();
    match zk.get(&BrokerConfigZNode::path(&name)).await? {
        Some((data, _)) if !data.is_empty() => BrokerConfigZNode::decode(&name, &data),
        _ => Ok(BTreeMap::new()),
    }
}

/// Replaces an entity's configs and announces the change. The node stays (with an empty
/// config) when everything is removed, as Kafka leaves it.
pub async fn set_broker_config(
    zk: &Zk,
    entity: BrokerEntity,
    config: &BTreeMap<String, String>,
) -> Result<(), ZkError> {
    let name = entity.name();
    let path = BrokerConfigZNode::path(&name);
    let data = BrokerConfigZNode::encode(config);
    crate::config_changes::write_entity(zk, BrokerConfigZNode::PATH, &path, &data).await?;
    crate::config_changes::announce(zk, &format!("brokers/{name}")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_by_name() {
        assert_eq!(
            BrokerEntity::parse("<default>"),
            Some(BrokerEntity::Default)
        );
        assert_eq!(BrokerEntity::parse("3"), Some(BrokerEntity::Broker(3)));
        assert_eq!(BrokerEntity::parse("x"), None);
        assert_eq!(BrokerEntity::Default.name(), "<default>");
        assert_eq!(BrokerEntity::Broker(7).name(), "7");
        let config = BTreeMap::from([("message.max.bytes".to_string(), "2000".to_string())]);
        let data = BrokerConfigZNode::encode(&config);
        assert_eq!(
            String::from_utf8_lossy(&data),
            r#"{"config":{"message.max.bytes":"2000"},"version":1}"#
        );
        assert_eq!(BrokerConfigZNode::decode("1", &data).ok(), Some(config));
    }
}
