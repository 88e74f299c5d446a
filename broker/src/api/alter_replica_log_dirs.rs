//! AlterReplicaLogDirs (API 34): moves replicas hosted here to other log dirs of this broker
//! (`replica::dir_move`), each answered on its own: LOG_DIR_NOT_FOUND, KAFKA_STORAGE_ERROR,
//! REPLICA_NOT_AVAILABLE (not hosted yet: created in that dir when it comes), or NONE once
//! the move has started (DescribeLogDirs shows it, then the replica in its new dir).

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, TopicName,
};
use tracing::{debug, instrument, warn};

use crate::api::errors::alter_dir_error_code;
use crate::context::RequestContext;
use crate::log_throttle::{LogThrottle, DEFAULT_INTERVAL};

/// Refusals are a client's to cause as often as it likes: one warning per interval.
static REFUSALS: LogThrottle = LogThrottle::new(DEFAULT_INTERVAL);

/// Each partition's destination, in request order; a partition named twice goes where it
/// was named last, as in Kafka (whose request is a map).
fn destinations(req: &AlterReplicaLogDirsRequest) -> BTreeMap<(String, i32), String> {
    let mut dests = BTreeMap::new();
    for dir in &req.dirs {
        for topic in &dir.topics {
            for &p in &topic.partitions {
                dests.insert((topic.name.0.to_string(), p), dir.path.to_string());
            }
        }
    }
    dests
}

#[instrument(skip_all)]
pub fn handle(
    ctx: RequestContext<'_>,
    req: AlterReplicaLogDirsRequest,
) -> AlterReplicaLogDirsResponse {
    let replicas = &ctx.broker.replicas;
    let results = destinations(&req).into_iter().map(|((topic, p), dest)| {
        let code = match replicas.alter_log_dir(&topic, p, &dest) {
            Ok(()) => 0,
            Err(e) => {
                match REFUSALS.admit() {
                    Some(skipped) => {
                        warn!(topic, partition = p, dest, error = %e, skipped, "cannot move the replica")
                    }
                    None => debug!(topic, partition = p, dest, error = %e, "cannot move the replica"),
                }
                alter_dir_error_code(&e)
            }
        };
        ((topic, p), code)
    });
    respond(results)
}

/// Every partition of the request answered `code` (a refused request).
pub fn refused(req: &AlterReplicaLogDirsRequest, code: i16) -> AlterReplicaLogDirsResponse {
    respond(destinations(req).into_keys().map(|k| (k, code)))
}

fn respond(results: impl Iterator<Item = ((String, i32), i16)>) -> AlterReplicaLogDirsResponse {
    let mut by_topic: BTreeMap<String, Vec<AlterReplicaLogDirPartitionResult>> = BTreeMap::new();
    for ((topic, p), code) in results {
        by_topic.entry(topic).or_default().push(
            AlterReplicaLogDirPartitionResult::default()
                .with_partition_index(p)
                .with_error_code(code),
        );
    }
    let topics = by_topic
        .into_iter()
        .map(|(t, partitions)| {
            AlterReplicaLogDirTopicResult::default()
                .with_topic_name(TopicName(t.into()))
                .with_partitions(partitions)
        })
        .collect();
    AlterReplicaLogDirsResponse::default().with_results(topics)
}
