//! The broker's view of the cluster, fed only by the controller's UpdateMetadata requests,
//! as in Kafka's ZooKeeper mode (brokers never watch partition state themselves). Which
//! controller's requests get here is the controller fence's decision
//! ([`crate::controller_fence`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use kafka_protocol::messages::UpdateMetadataRequest;

/// Leader id the controller sends for a partition whose topic is being deleted.
const LEADER_DURING_DELETE: i32 = -2;

/// One advertised endpoint of a live broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub listener: String,
    pub host: String,
    pub port: i32,
}

/// A live broker as the controller last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    pub id: i32,
    pub endpoints: Vec<Endpoint>,
    pub rack: Option<String>,
}

impl LiveBroker {
    /// The endpoint on `listener`, if this broker has one (Kafka answers each client with the
    /// endpoints of the listener it connected through).
    pub fn endpoint(&self, listener: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.listener == listener)
    }
}

/// Leader and ISR of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

/// A topic with its partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicInfo {
    pub topic_id: uuid::Uuid,
    pub partitions: BTreeMap<i32, PartitionInfo>,
}

#[derive(Debug, Default)]
struct Snapshot {
    controller_id: i32,
    brokers: BTreeMap<i32, LiveBroker>,
    topics: HashMap<String, TopicInfo>,
}

/// Thread-safe metadata cache.
#[derive(Debug)]
pub struct MetadataCache {
    inner: RwLock<Snapshot>,
}

impl Default for MetadataCache {
    fn default() -> Self {
        MetadataCache {
            inner: RwLock::new(Snapshot {
                controller_id: -1,
                ..Snapshot::default()
            }),
        }
    }
}

impl MetadataCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies an UpdateMetadata request: the live broker list is replaced, partition states
    /// are merged (leader -2 removes a partition of a topic being deleted).
    pub fn apply(&self, req: &UpdateMetadataRequest) {
        let mut snap = self.write();
        snap.controller_id = req.controller_id.0;
        snap.brokers = req
            .live_brokers
            .iter()
            .map(|b| {
                let endpoints = b
                    .endpoints
                    .iter()
                    .map(|e| Endpoint {
                        listener: e.listener.to_string(),
                        host: e.host.to_string(),
                        port: e.port,
                    })
                    .collect();
                let broker = LiveBroker {
                    id: b.id.0,
                    endpoints,
                    rack: b.rack.as_ref().map(|r| r.to_string()),
                };
                (b.id.0, broker)
            })
            .collect();
        let states = req
            .topic_states
            .iter()
            .flat_map(|t| {
                t.partition_states
                    .iter()
                    .map(move |p| (t.topic_name.0.to_string(), t.topic_id, p))
            })
            .chain(
                req.ungrouped_partition_states
                    .iter()
                    .map(|p| (p.topic_name.0.to_string(), uuid::Uuid::nil(), p)),
            );
        for (topic, topic_id, p) in states {
            if p.leader.0 == LEADER_DURING_DELETE {
                if let Some(t) = snap.topics.get_mut(&topic) {
                    t.partitions.remove(&p.partition_index);
                    if t.partitions.is_empty() {
                        snap.topics.remove(&topic);
                    }
                }
                continue;
            }
            let entry = snap.topics.entry(topic).or_default();
            if !topic_id.is_nil() {
                entry.topic_id = topic_id;
            }
            entry.partitions.insert(
                p.partition_index,
                PartitionInfo {
                    leader: p.leader.0,
                    leader_epoch: p.leader_epoch,
                    isr: p.isr.iter().map(|b| b.0).collect(),
                    replicas: p.replicas.iter().map(|b| b.0).collect(),
                    offline_replicas: p.offline_replicas.iter().map(|b| b.0).collect(),
                },
            );
        }
    }

    pub fn controller_id(&self) -> i32 {
        self.read().controller_id
    }

    pub fn brokers(&self) -> Vec<LiveBroker> {
        self.read().brokers.values().cloned().collect()
    }

    pub fn broker(&self, id: i32) -> Option<LiveBroker> {
        self.read().brokers.get(&id).cloned()
    }

    pub fn topic(&self, name: &str) -> Option<TopicInfo> {
        self.read().topics.get(name).cloned()
    }

    pub fn topic_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().topics.keys().cloned().collect();
        names.sort();
        names
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<PartitionInfo> {
        self.read()
            .topics
            .get(topic)
            .and_then(|t| t.partitions.get(&partition).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::update_metadata_request::{
        UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
        UpdateMetadataTopicState,
    };
    use kafka_protocol::messages::{BrokerId, TopicName};
    use kafka_protocol::protocol::StrBytes;

    fn request(epoch: i32, leader: i32) -> UpdateMetadataRequest {
        let endpoint = UpdateMetadataEndpoint::default()
            .with_listener(StrBytes::from_static_str("PLAINTEXT"))
            .with_host(StrBytes::from_static_str("localhost"))
            .with_port(9092);
        let broker = UpdateMetadataBroker::default()
            .with_id(BrokerId(1))
            .with_endpoints(vec![endpoint]);
        let state = UpdateMetadataPartitionState::default()
            .with_partition_index(0)
            .with_leader(BrokerId(leader))
            .with_isr(vec![BrokerId(1)])
            .with_replicas(vec![BrokerId(1)]);
        let topic = UpdateMetadataTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_states(vec![state]);
        UpdateMetadataRequest::default()
            .with_controller_id(BrokerId(1))
            .with_controller_epoch(epoch)
            .with_live_brokers(vec![broker])
            .with_topic_states(vec![topic])
    }

    #[test]
    fn applies_brokers_and_partitions() {
        let cache = MetadataCache::default();
        cache.apply(&request(2, 1));
        assert_eq!(cache.controller_id(), 1);
        assert_eq!(cache.partition("t", 0).map(|p| p.leader), Some(1));
        assert_eq!(
            cache
                .broker(1)
                .and_then(|b| b.endpoint("PLAINTEXT").map(|e| e.port)),
            Some(9092)
        );
    }

    #[test]
    fn leader_minus_two_removes_partition() {
        let cache = MetadataCache::default();
        cache.apply(&request(1, 1));
        cache.apply(&request(1, LEADER_DURING_DELETE));
        assert!(cache.topic("t").is_none());
    }
}
