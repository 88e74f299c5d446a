//! DescribeLogDirs (API 35): this broker's log dirs and the size of each hosted partition
//! (summed from its directory), optionally filtered to some topics/partitions. A replica
//! moving to another dir (AlterReplicaLogDirs) is listed there too, as a future replica
//! (`is_future_key`) with its copy's size and how far it is behind the current log end. A
//! failed log dir is listed with KAFKA_STORAGE_ERROR and no partitions.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::context::RequestContext;
use crate::replica::dir_move::Move;
use crate::replica::Partition;

pub fn handle(ctx: RequestContext<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let wanted: Option<BTreeMap<String, Vec<i32>>> = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.topic.0.to_string(), t.partitions.clone()))
            .collect()
    });
    let partitions = ctx.broker.replicas.all();
    let moves = ctx.broker.replicas.moves().all();
    let is_wanted = |p: &Partition| {
        wanted
            .as_ref()
            .is_none_or(|w| w.get(&p.topic).is_some_and(|ps| ps.contains(&p.index)))
    };
    let results = ctx
        .broker
        .replicas
        .log_dirs()
        .all()
        .iter()
        .map(|dir| {
            let result = DescribeLogDirsResult::default()
                .with_log_dir(StrBytes::from_string(dir.path().display().to_string()));
            if dir.is_offline() {
                // As Kafka: the dir is listed with the error and nothing read from it.
                return result.with_error_code(ResponseError::KafkaStorageError.code());
            }
            let held = partitions
                .iter()
                .filter(|p| Arc::ptr_eq(&p.log_dir(), dir) && is_wanted(p));
            let coming = moves
                .iter()
                .filter(|m| Arc::ptr_eq(&m.dest, dir) && is_wanted(&m.partition));
            result.with_topics(describe_partitions(dir.path(), held, coming))
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
}

/// Each partition's size (summed from its directory), grouped by topic.
fn describe_partitions<'a>(
    dir: &Path,
    partitions: impl Iterator<Item = &'a Arc<Partition>>,
    futures: impl Iterator<Item = &'a Arc<Move>>,
) -> Vec<DescribeLogDirsTopic> {
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for p in partitions {
        let size = dir_size(&dir.join(format!("{}-{}", p.topic, p.index)));
        by_topic.entry(p.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(p.index)
                .with_partition_size(size),
        );
    }
    for m in futures {
        let Some(status) = m.status() else {
            continue;
        };
        let p = &m.partition;
        let lag = (p.log_end_offset() - status.log_end_offset).max(0);
        by_topic.entry(p.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(p.index)
                .with_partition_size(i64::try_from(status.size).unwrap_or(i64::MAX))
                .with_offset_lag(lag)
                .with_is_future_key(true),
        );
    }
    by_topic
        .into_iter()
        .map(|(t, mut partitions)| {
            partitions.sort_by_key(|p| (p.partition_index, p.is_future_key));
            DescribeLogDirsTopic::default()
                .with_name(TopicName(StrBytes::from_string(t)))
                .with_partitions(partitions)
        })
        .collect()
}

fn dir_size(dir: &Path) -> i64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| i64::try_from(m.len()).unwrap_or(i64::MAX))
        .sum()
}
