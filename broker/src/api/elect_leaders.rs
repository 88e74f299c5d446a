//! ElectLeaders (API 43, v0-2; v0 is preferred elections only): an admin asks for preferred or
//! unclean leader elections. As in Kafka's ZooKeeper mode any broker takes the request to its
//! own controller module; one that is not the active controller answers NOT_CONTROLLER for each
//! partition (clients send it to the controller). Elected partitions are answered once this
//! broker's metadata cache shows the new leader, bounded by the request's timeout (Kafka's
//! `DelayedElectLeader`; REQUEST_TIMED_OUT otherwise). With null partitions (all of them) the
//! partitions that needed no election are left out of the answer, as in Kafka.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use coordinator::controller::replica_election::{ElectionOutcome, ElectionType};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, instrument};

use crate::api::create_topics::wait_until;
use crate::api::errors::{controller_error_code, election_error};
use crate::context::RequestContext;
use crate::metadata_cache::MetadataCache;

type TopicPartition = (String, i32);

/// Each partition's error (`None`: elected) and message.
type Answers = BTreeMap<TopicPartition, (Option<ResponseError>, Option<String>)>;

#[instrument(skip_all, fields(election_type = req.election_type))]
pub async fn handle(
    ctx: RequestContext<'_>,
    req: ElectLeadersRequest,
    version: i16,
) -> ElectLeadersResponse {
    let election = if version >= 1 {
        ElectionType::from_wire(req.election_type)
    } else {
        Some(ElectionType::Preferred)
    };
    let Some(election) = election else {
        let message = format!("Unknown election type {}", req.election_type);
        return refused(&req, version, ResponseError::InvalidRequest, Some(message));
    };
    let requested = requested_partitions(&req);
    let metadata = &ctx.broker.metadata;
    let controller = &ctx.broker.controller;
    let answers = if !controller.is_active() {
        let partitions = requested
            .clone()
            .unwrap_or_else(|| cached_partitions(metadata));
        uniform(&partitions, ResponseError::NotController, None)
    } else {
        match controller.elect_leaders(election, requested.clone()).await {
            Ok(outcomes) => {
                let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
                answer(metadata, election, outcomes, timeout).await
            }
            Err(e) => {
                let partitions = requested
                    .clone()
                    .unwrap_or_else(|| cached_partitions(metadata));
                uniform(&partitions, controller_error_code(&e), None)
            }
        }
    };
    let answers = if requested.is_none() {
        answers
            .into_iter()
            .filter(|(_, (error, _))| *error != Some(ResponseError::ElectionNotNeeded))
            .collect()
    } else {
        answers
    };
    info!(%election, partitions = answers.len(), "leader election answered");
    response(answers)
}

/// The whole request refused with `error` (an unknown election type; no authorization):
/// top-level from v1, and for each partition named.
pub fn refused(
    req: &ElectLeadersRequest,
    version: i16,
    error: ResponseError,
    message: Option<String>,
) -> ElectLeadersResponse {
    let partitions = requested_partitions(req).unwrap_or_default();
    let response = response(uniform(&partitions, error, message));
    if version >= 1 {
        response.with_error_code(error.code())
    } else {
        response
    }
}

/// The partitions named (duplicates collapse, as in Kafka's set); `None` for all of them.
fn requested_partitions(req: &ElectLeadersRequest) -> Option<BTreeSet<TopicPartition>> {
    req.topic_partitions.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.to_string(), *p)))
            .collect()
    })
}

/// Every partition this broker knows of.
fn cached_partitions(metadata: &MetadataCache) -> BTreeSet<TopicPartition> {
    metadata
        .topic_names()
        .into_iter()
        .filter_map(|t| metadata.topic(&t).map(|info| (t, info)))
        .flat_map(|(t, info)| info.partitions.into_keys().map(move |p| (t.clone(), p)))
        .collect()
}

fn uniform(
    partitions: &BTreeSet<TopicPartition>,
    error: ResponseError,
    message: Option<String>,
) -> Answers {
    partitions
        .iter()
        .map(|tp| (tp.clone(), (Some(error), message.clone())))
        .collect()
}

/// The controller's outcomes as errors and Kafka's messages, once the elected leaders show in
/// the metadata cache (or the timeout passed).
async fn answer(
    metadata: &MetadataCache,
    election: ElectionType,
    outcomes: BTreeMap<TopicPartition, ElectionOutcome>,
    timeout: Duration,
) -> Answers {
    let elected: Vec<(TopicPartition, i32)> = outcomes
        .iter()
        .filter_map(|(tp, o)| match o {
            ElectionOutcome::Elected(leader) => Some((tp.clone(), *leader)),
            _ => None,
        })
        .collect();
    let shows = |(tp, leader): &(TopicPartition, i32)| {
        metadata
            .partition(&tp.0, tp.1)
            .is_some_and(|p| p.leader == *leader)
    };
    if !elected.is_empty() {
        wait_until(timeout, || elected.iter().all(shows)).await;
    }
    outcomes
        .into_iter()
        .map(|(tp, outcome)| {
            let answer = match (&outcome, election_error(election, &outcome)) {
                (ElectionOutcome::Elected(leader), _) if !shows(&(tp.clone(), *leader)) => {
                    (Some(ResponseError::RequestTimedOut), None)
                }
                (_, error) => (error, message(&tp, election, &outcome)),
            };
            (tp, answer)
        })
        .collect()
}

/// Kafka's messages (from its controller's exceptions).
fn message(
    tp: &TopicPartition,
    election: ElectionType,
    outcome: &ElectionOutcome,
) -> Option<String> {
    let strategy = match election {
        ElectionType::Preferred => "PreferredReplicaPartitionLeaderElectionStrategy",
        ElectionType::Unclean => "OfflinePartitionLeaderElectionStrategy(true)",
    };
    match outcome {
        ElectionOutcome::NoEligibleLeader => Some(format!(
            "Failed to elect leader for partition {}-{} under strategy {strategy}",
            tp.0, tp.1
        )),
        ElectionOutcome::UnknownPartition => Some("The partition does not exist.".into()),
        ElectionOutcome::TopicBeingDeleted => Some("The topic is being deleted".into()),
        ElectionOutcome::Elected(_) | ElectionOutcome::NotNeeded => None,
    }
}

/// Results grouped by topic.
fn response(answers: Answers) -> ElectLeadersResponse {
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for ((topic, partition), (error, message)) in answers {
        by_topic.entry(topic).or_default().push(
            PartitionResult::default()
                .with_partition_id(partition)
                .with_error_code(error.map_or(0, |e| e.code()))
                .with_error_message(message.map(StrBytes::from_string)),
        );
    }
    let results = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            ReplicaElectionResult::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partition_result(partitions)
        })
        .collect();
    ElectLeadersResponse::default().with_replica_election_results(results)
}
