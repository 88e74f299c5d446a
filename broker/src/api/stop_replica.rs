//! StopReplica (API 5), from the controller: stop leading/following partitions and, with the
//! delete flag, remove them (topic deletion). Admitted by the controller fence before this
//! runs (see `api::from_controller`); per partition a leader epoch older than ours is
//! FENCED_LEADER_EPOCH, except -2 (deletion) and -1 (no epoch), as in Kafka's
//! `ReplicaManager.stopReplicas`.

use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{StopReplicaRequest, StopReplicaResponse, TopicName};
use kafka_protocol::ResponseError;
use tracing::{instrument, warn};

use crate::api::errors::log_error_code;
use crate::context::RequestContext;

/// Leader epoch sent for partitions of a topic being deleted: always accepted.
const EPOCH_DURING_DELETE: i32 = -2;
/// "No epoch" (older request versions): always accepted.
const NO_EPOCH: i32 = -1;

#[instrument(skip_all, fields(controller_epoch = req.controller_epoch))]
pub fn handle(
    ctx: RequestContext<'_>,
    req: StopReplicaRequest,
    version: i16,
) -> StopReplicaResponse {
    // (topic, partition, leader epoch, delete) whatever the version's layout.
    let mut work: Vec<(TopicName, i32, i32, bool)> = Vec::new();
    if version >= 3 {
        for t in &req.topic_states {
            for p in &t.partition_states {
                work.push((
                    t.topic_name.clone(),
                    p.partition_index,
                    p.leader_epoch,
                    p.delete_partition,
                ));
            }
        }
    } else if version >= 1 {
        for t in &req.topics {
            for p in &t.partition_indexes {
                work.push((t.name.clone(), *p, NO_EPOCH, req.delete_partitions));
            }
        }
    } else {
        for p in &req.ungrouped_partitions {
            work.push((
                p.topic_name.clone(),
                p.partition_index,
                NO_EPOCH,
                req.delete_partitions,
            ));
        }
    }
    let errors = work
        .into_iter()
        .map(|(topic, p, epoch, delete)| {
            let code = stop_one(ctx, &topic.0, p, epoch, delete);
            StopReplicaPartitionError::default()
                .with_topic_name(topic)
                .with_partition_index(p)
                .with_error_code(code)
        })
        .collect();
    StopReplicaResponse::default().with_partition_errors(errors)
}

fn stop_one(ctx: RequestContext<'_>, topic: &str, p: i32, epoch: i32, delete: bool) -> i16 {
    let replicas = &ctx.broker.replicas;
    if let Some(partition) = replicas.get(topic, p) {
        let local = partition.leader_epoch();
        if epoch != EPOCH_DURING_DELETE && epoch != NO_EPOCH && epoch < local {
            return ResponseError::FencedLeaderEpoch.code();
        }
    }
    // A stopped replica no longer follows anyone.
    ctx.broker.fetchers.unfollow(topic, p);
    match replicas.stop_replica(topic, p, delete) {
        Ok(()) => 0,
        Err(e) => {
            warn!(topic, partition = p, error = %e, "StopReplica failed");
            log_error_code(&e)
        }
    }
}
