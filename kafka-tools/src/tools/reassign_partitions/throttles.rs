//! Setting and clearing a reassignment's throttles, as Kafka's tool does: the throttled
//! replicas on the moving topics, the rates on the brokers involved.

use std::collections::{BTreeMap, BTreeSet};

use super::json::TopicPartition;
use super::ops;
use super::plan::{self, MoveMap};
use crate::client::Admin;
use crate::error::Result;

pub(super) const LEADER_RATE: &str = "leader.replication.throttled.rate";
pub(super) const FOLLOWER_RATE: &str = "follower.replication.throttled.rate";
pub(super) const LOG_DIRS_RATE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
pub(super) const LEADER_REPLICAS: &str = "leader.replication.throttled.replicas";
pub(super) const FOLLOWER_REPLICAS: &str = "follower.replication.throttled.replicas";

type Ops = Vec<(&'static str, Option<String>)>;

/// Throttles the moves: the topics' throttled replicas, then `rate` on every broker involved.
pub(super) async fn set_reassignment_throttle(
    admin: &mut Admin,
    moves: &MoveMap,
    rate: i64,
) -> Result<()> {
    let leaders = plan::leader_throttles(moves);
    let followers = plan::follower_throttles(moves);
    let mut topics: BTreeMap<String, Ops> = BTreeMap::new();
    for (t, v) in leaders {
        topics
            .entry(t)
            .or_default()
            .push((LEADER_REPLICAS, Some(v)));
    }
    for (t, v) in followers {
        topics
            .entry(t)
            .or_default()
            .push((FOLLOWER_REPLICAS, Some(v)));
    }
    ops::alter_configs(admin, &topics, &BTreeMap::new()).await?;
    let brokers: BTreeMap<i32, Ops> = plan::reassigning_brokers(moves)
        .into_iter()
        .map(|b| {
            let r = Some(rate.to_string());
            (b, vec![(LEADER_RATE, r.clone()), (FOLLOWER_RATE, r)])
        })
        .collect();
    ops::alter_configs(admin, &BTreeMap::new(), &brokers).await?;
    println!("The inter-broker throttle limit was set to {rate} B/s");
    Ok(())
}

/// `replica.alter.log.dirs.io.max.bytes.per.second` on the brokers moving replicas between
/// their log dirs.
pub(super) async fn set_log_dir_throttle(
    admin: &mut Admin,
    brokers: &BTreeSet<i32>,
    rate: i64,
) -> Result<()> {
    let brokers: BTreeMap<i32, Ops> = brokers
        .iter()
        .map(|b| (*b, vec![(LOG_DIRS_RATE, Some(rate.to_string()))]))
        .collect();
    ops::alter_configs(admin, &BTreeMap::new(), &brokers).await?;
    println!("The replica-alter-dir throttle limit was set to {rate} B/s");
    Ok(())
}

/// Removes every throttle of the reassignment's topics, and the rates of every broker of the
/// cluster and of the targets (Kafka cannot tell which brokers earlier moves throttled).
pub(super) async fn clear_all(
    admin: &mut Admin,
    targets: &[(TopicPartition, Vec<i32>)],
) -> Result<()> {
    let mut brokers: BTreeSet<i32> = admin.nodes().keys().copied().collect();
    brokers.extend(targets.iter().flat_map(|(_, r)| r.iter().copied()));
    let list: Vec<String> = brokers.iter().map(i32::to_string).collect();
    println!(
        "Clearing broker-level throttles on broker{} {}",
        if brokers.len() == 1 { "" } else { "s" },
        list.join(",")
    );
    let by_broker: BTreeMap<i32, Ops> = brokers
        .iter()
        .map(|b| {
            (
                *b,
                vec![
                    (LEADER_RATE, None),
                    (FOLLOWER_RATE, None),
                    (LOG_DIRS_RATE, None),
                ],
            )
        })
        .collect();
    ops::alter_configs(admin, &BTreeMap::new(), &by_broker).await?;
    let topics: BTreeSet<&str> = targets.iter().map(|((t, _), _)| t.as_str()).collect();
    println!(
        "Clearing topic-level throttles on topic{} {}",
        if topics.len() == 1 { "" } else { "s" },
        topics.iter().copied().collect::<Vec<_>>().join(",")
    );
    let by_topic: BTreeMap<String, Ops> = topics
        .iter()
        .map(|t| {
            (
                t.to_string(),
                vec![(LEADER_REPLICAS, None), (FOLLOWER_REPLICAS, None)],
            )
        })
        .collect();
    ops::alter_configs(admin, &by_topic, &BTreeMap::new()).await
}
