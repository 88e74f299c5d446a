//! DescribeLogDirs (API 35): this broker's log dirs and the size of each hosted partition
//! (summed from its directory), optionally filtered to some topics/partitions.

use std::collections::BTreeMap;
use std::path::Path;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::context::RequestContext;

pub fn handle(ctx: RequestContext<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let wanted: Option<BTreeMap<String, Vec<i32>>> = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.topic.0.to_string(), t.partitions.clone()))
            .collect()
    });
    let mut per_dir: BTreeMap<std::path::PathBuf, BTreeMap<String, Vec<DescribeLogDirsPartition>>> =
        ctx.broker
            .config
            .log_dirs
            .iter()
            .map(|d| (d.clone(), BTreeMap::new()))
            .collect();
    for p in ctx.broker.replicas.all() {
        if let Some(w) = &wanted {
            if !w.get(&p.topic).is_some_and(|ps| ps.contains(&p.index)) {
                continue;
            }
        }
        let Some(parent) = p.dir_parent() else {
            continue;
        };
        let size = dir_size(&parent.join(format!("{}-{}", p.topic, p.index)));
        per_dir
            .entry(parent.to_path_buf())
            .or_default()
            .entry(p.topic.clone())
            .or_default()
            .push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index)
                    .with_partition_size(size),
            );
    }
    let results = per_dir
        .into_iter()
        .map(|(dir, topics)| {
            let topics = topics
                .into_iter()
                .map(|(t, mut partitions)| {
                    partitions.sort_by_key(|p| p.partition_index);
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(t)))
                        .with_partitions(partitions)
                })
                .collect();
            DescribeLogDirsResult::default()
                .with_log_dir(StrBytes::from_string(dir.display().to_string()))
                .with_topics(topics)
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
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
