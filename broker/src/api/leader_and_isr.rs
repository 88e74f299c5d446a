//! LeaderAndIsr (API 4), from the controller: become leader or follower for partitions.
//! Admitted by the controller fence before this runs (see `api::from_controller`); partitions
//! whose replica set does not include us are refused (UNKNOWN_TOPIC_OR_PARTITION). A replica
//! in a failed log dir answers KAFKA_STORAGE_ERROR, which the controller takes as "this
//! replica is offline".

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState,
};
use kafka_protocol::messages::leader_and_isr_response::{
    LeaderAndIsrPartitionError, LeaderAndIsrTopicError,
};
use kafka_protocol::messages::{LeaderAndIsrRequest, LeaderAndIsrResponse, TopicName};
use kafka_protocol::ResponseError;
use tracing::warn;

use crate::context::RequestContext;
use crate::log::LogError;
use crate::replica::partition::ReplicaRole;

pub async fn handle(
    ctx: RequestContext<'_>,
    req: LeaderAndIsrRequest,
    version: i16,
) -> LeaderAndIsrResponse {
    load_overrides_of_new_topics(ctx, &req).await;
    let me = ctx.broker.broker_id;
    let mut resp = LeaderAndIsrResponse::default();
    if version < 2 {
        for p in &req.ungrouped_partition_states {
            let code = apply(ctx, &p.topic_name, p, me, &req.live_leaders);
            resp.partition_errors
                .push(partition_error(&p.topic_name, p.partition_index, code));
        }
        return resp;
    }
    for t in &req.topic_states {
        let errors: Vec<_> = t
            .partition_states
            .iter()
            .map(|p| {
                let code = apply(ctx, &t.topic_name, p, me, &req.live_leaders);
                partition_error(&t.topic_name, p.partition_index, code)
            })
            .collect();
        if version >= 5 {
            resp.topics.push(
                LeaderAndIsrTopicError::default()
                    .with_topic_id(t.topic_id)
                    .with_partition_errors(errors),
            );
        } else {
            resp.partition_errors.extend(errors);
        }
    }
    resp
}

/// A topic's first replica here is created with the topic's config overrides, read from
/// `/config/topics/<t>` as Kafka's LogManager does when it creates a log.
async fn load_overrides_of_new_topics(ctx: RequestContext<'_>, req: &LeaderAndIsrRequest) {
    let replicas = &ctx.broker.replicas;
    let names = req
        .topic_states
        .iter()
        .map(|t| &t.topic_name)
        .chain(req.ungrouped_partition_states.iter().map(|p| &p.topic_name));
    let mut new_topics: Vec<String> = names
        .map(|t| t.0.to_string())
        .filter(|t| replicas.all().iter().all(|p| p.topic != *t))
        .collect();
    new_topics.dedup();
    let zk = ctx.broker.zk();
    for topic in new_topics {
        match coordinator::admin::topic_config(&zk, &topic).await {
            Ok(overrides) if !overrides.is_empty() => {
                replicas.set_topic_overrides(&topic, overrides)
            }
            Ok(_) => {}
            Err(e) => warn!(topic, error = %e, "cannot read topic config; using broker defaults"),
        }
    }
}

fn partition_error(topic: &TopicName, index: i32, code: i16) -> LeaderAndIsrPartitionError {
    LeaderAndIsrPartitionError::default()
        .with_topic_name(topic.clone())
        .with_partition_index(index)
        .with_error_code(code)
}

/// A follower fetches from its leader at the address the controller sent along (the leader's
/// inter-broker endpoint); a leader stops fetching.
fn start_or_stop_fetching(
    ctx: RequestContext<'_>,
    partition: std::sync::Arc<crate::replica::Partition>,
    p: &LeaderAndIsrPartitionState,
    live_leaders: &[LeaderAndIsrLiveLeader],
) {
    let me = ctx.broker.broker_id;
    let fetchers = &ctx.broker.fetchers;
    if p.leader.0 == me {
        fetchers.unfollow(&partition.topic, partition.index);
        return;
    }
    let leader = live_leaders.iter().find(|l| l.broker_id == p.leader);
    match leader.and_then(|l| u16::try_from(l.port).ok().map(|port| (l, port))) {
        Some((l, port)) => fetchers.follow(
            partition,
            p.leader.0,
            l.host_name.to_string(),
            port,
            p.leader_epoch,
        ),
        None => {
            // No live leader (-1) or no address: nothing to fetch from until the next decision.
            fetchers.unfollow(&partition.topic, partition.index);
        }
    }
}

fn apply(
    ctx: RequestContext<'_>,
    topic: &TopicName,
    p: &LeaderAndIsrPartitionState,
    me: i32,
    live_leaders: &[LeaderAndIsrLiveLeader],
) -> i16 {
    if !p.replicas.iter().any(|r| r.0 == me) {
        return ResponseError::UnknownTopicOrPartition.code();
    }
    let role = ReplicaRole {
        leader: p.leader.0,
        leader_epoch: p.leader_epoch,
        isr: p.isr.iter().map(|b| b.0).collect(),
        replicas: p.replicas.iter().map(|b| b.0).collect(),
        partition_epoch: p.partition_epoch,
        controller_epoch: p.controller_epoch,
    };
    let name = topic.0.to_string();
    let now = crate::api::produce::now_ms();
    match ctx
        .broker
        .replicas
        .apply_role(&name, p.partition_index, role, p.is_new, now)
    {
        Ok((partition, changed)) => {
            if changed {
                start_or_stop_fetching(ctx, partition, p, live_leaders);
            }
            0
        }
        // In a failed log dir (logged once, when it failed): the controller moves it away.
        Err(LogError::DirOffline(_)) => ResponseError::KafkaStorageError.code(),
        Err(e) => {
            warn!(topic = %name, partition = p.partition_index, error = %e, "cannot host partition");
            ResponseError::KafkaStorageError.code()
        }
    }
}
