//! Builds the controller → broker requests (LeaderAndIsr v7, UpdateMetadata v8) from the view.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState,
};
use kafka_protocol::messages::{
    BrokerId, LeaderAndIsrRequest, StopReplicaRequest, TopicName, UpdateMetadataRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::view::{ClusterView, TopicPartition};

/// LeaderAndIsr version sent (IBP ≥ 3.4-IV0).
pub const LEADER_AND_ISR_VERSION: i16 = 7;
/// UpdateMetadata version sent (IBP ≥ 3.4-IV0).
pub const UPDATE_METADATA_VERSION: i16 = 8;
/// StopReplica version sent (IBP ≥ 2.6-IV0: per-partition delete flag and leader epoch).
pub const STOP_REPLICA_VERSION: i16 = 3;
/// Leader id (and StopReplica leader epoch) marking a partition whose topic is being deleted.
pub const LEADER_DURING_DELETE: i32 = -2;

fn ids(list: &[i32]) -> Vec<BrokerId> {
    list.iter().map(|&b| BrokerId(b)).collect()
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// A LeaderAndIsr for one recipient (`recipient_epoch` = its czxid) covering `partitions`
/// (with their IsNew flag), with the current state from the view.
pub fn leader_and_isr(
    view: &ClusterView,
    recipient_epoch: i64,
    partitions: &[(TopicPartition, bool)],
    inter_broker_listener: &str,
) -> LeaderAndIsrRequest {
    let mut by_topic: BTreeMap<&str, Vec<LeaderAndIsrPartitionState>> = BTreeMap::new();
    let mut leaders = BTreeSet::new();
    for ((topic, p), is_new) in partitions {
        let Some(state) = view.states.get(&(topic.clone(), *p)) else {
            continue;
        };
        leaders.insert(state.lic.leader);
        // During a reassignment: the full replica set, and which of it comes and goes.
        let assignment = view.assignment(topic, *p);
        let partition = LeaderAndIsrPartitionState::default()
            .with_topic_name(name(topic))
            .with_partition_index(*p)
            .with_controller_epoch(state.lic.controller_epoch)
            .with_leader(BrokerId(state.lic.leader))
            .with_leader_epoch(state.lic.leader_epoch)
            .with_isr(ids(&state.lic.isr))
            .with_partition_epoch(state.zk_version)
            .with_replicas(ids(&assignment.replicas))
            .with_adding_replicas(ids(&assignment.adding))
            .with_removing_replicas(ids(&assignment.removing))
            .with_is_new(*is_new)
            .with_leader_recovery_state(state.lic.leader_recovery_state);
        by_topic.entry(topic).or_default().push(partition);
    }
    let topic_states = by_topic
        .into_iter()
        .map(|(topic, states)| {
            let id = view.topic_id(topic);
            LeaderAndIsrTopicState::default()
                .with_topic_name(name(topic))
                .with_topic_id(id)
                .with_partition_states(states)
        })
        .collect();
    let live_leaders = leaders
        .iter()
        .filter_map(|id| {
            let endpoint = view.live.get(id)?.info.endpoint(inter_broker_listener)?;
            Some(
                LeaderAndIsrLiveLeader::default()
                    .with_broker_id(BrokerId(*id))
                    .with_host_name(StrBytes::from_string(endpoint.host.clone()))
                    .with_port(i32::from(endpoint.port)),
            )
        })
        .collect();
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(view.controller_id))
        .with_controller_epoch(view.epoch)
        .with_broker_epoch(recipient_epoch)
        .with_type(0)
        .with_topic_states(topic_states)
        .with_live_leaders(live_leaders)
}

/// An UpdateMetadata for one recipient: every live broker with every endpoint, and every
/// partition that has a state.
pub fn update_metadata(view: &ClusterView, recipient_epoch: i64) -> UpdateMetadataRequest {
    let live_brokers = view
        .live
        .values()
        .map(|b| {
            let endpoints = b
                .info
                .endpoints
                .iter()
                .map(|e| {
                    UpdateMetadataEndpoint::default()
                        .with_port(i32::from(e.port))
                        .with_host(StrBytes::from_string(e.host.clone()))
                        .with_listener(StrBytes::from_string(e.listener.clone()))
                        .with_security_protocol(e.security_protocol_id())
                })
                .collect();
            UpdateMetadataBroker::default()
                .with_id(BrokerId(b.info.id))
                .with_endpoints(endpoints)
                .with_rack(b.info.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    let mut by_topic: BTreeMap<&str, Vec<UpdateMetadataPartitionState>> = BTreeMap::new();
    for topic in &view.deleting {
        let Some(info) = view.topics.get(topic) else {
            continue;
        };
        for (p, replicas) in &info.assignment {
            // Kafka's LeaderAndIsr.duringDelete: leader -2, epochs 0; brokers drop the partition.
            let partition = UpdateMetadataPartitionState::default()
                .with_topic_name(name(topic))
                .with_partition_index(*p)
                .with_controller_epoch(view.epoch)
                .with_leader(BrokerId(LEADER_DURING_DELETE))
                .with_isr(ids(replicas))
                .with_replicas(ids(replicas));
            by_topic.entry(topic).or_default().push(partition);
        }
    }
    for ((topic, p), state) in &view.states {
        if view.deleting.contains(topic) {
            continue;
        }
        let replicas = view.replicas(topic, *p);
        let tp = (topic.clone(), *p);
        let offline: Vec<i32> = replicas
            .iter()
            .copied()
            .filter(|b| !view.is_replica_online(&tp, *b))
            .collect();
        let partition = UpdateMetadataPartitionState::default()
            .with_topic_name(name(topic))
            .with_partition_index(*p)
            .with_controller_epoch(state.lic.controller_epoch)
            .with_leader(BrokerId(state.lic.leader))
            .with_leader_epoch(state.lic.leader_epoch)
            .with_isr(ids(&state.lic.isr))
            .with_zk_version(state.zk_version)
            .with_replicas(ids(replicas))
            .with_offline_replicas(ids(&offline));
        by_topic.entry(topic).or_default().push(partition);
    }
    let topic_states = by_topic
        .into_iter()
        .map(|(topic, states)| {
            let id = view.topic_id(topic);
            UpdateMetadataTopicState::default()
                .with_topic_name(name(topic))
                .with_topic_id(id)
                .with_partition_states(states)
        })
        .collect();
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(view.controller_id))
        .with_controller_epoch(view.epoch)
        .with_broker_epoch(recipient_epoch)
        .with_type(0)
        .with_topic_states(topic_states)
        .with_live_brokers(live_brokers)
}

/// A StopReplica (v3) for one recipient: `delete` removes the logs; deletion uses leader
/// epoch -2 (always accepted), a plain stop -1 ("no epoch").
pub fn stop_replica(
    view: &ClusterView,
    recipient_epoch: i64,
    partitions: &[TopicPartition],
    delete: bool,
) -> StopReplicaRequest {
    let mut by_topic: BTreeMap<&str, Vec<StopReplicaPartitionState>> = BTreeMap::new();
    let leader_epoch = if delete { LEADER_DURING_DELETE } else { -1 };
    for (topic, p) in partitions {
        by_topic.entry(topic).or_default().push(
            StopReplicaPartitionState::default()
                .with_partition_index(*p)
                .with_leader_epoch(leader_epoch)
                .with_delete_partition(delete),
        );
    }
    let topic_states = by_topic
        .into_iter()
        .map(|(topic, states)| {
            StopReplicaTopicState::default()
                .with_topic_name(name(topic))
                .with_partition_states(states)
        })
        .collect();
    StopReplicaRequest::default()
        .with_controller_id(BrokerId(view.controller_id))
        .with_controller_epoch(view.epoch)
        .with_broker_epoch(recipient_epoch)
        .with_topic_states(topic_states)
}
