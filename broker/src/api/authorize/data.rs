//! The data path: Produce (WRITE on each topic), Fetch (READ on each topic; followers
//! CLUSTER_ACTION), ListOffsets and OffsetForLeaderEpoch (DESCRIBE on each topic; followers
//! CLUSTER_ACTION), InitProducerId (IDEMPOTENT_WRITE on the cluster or WRITE on some topic;
//! WRITE on a transactional id) and DeleteRecords (DELETE on each topic). Refused partitions
//! get TOPIC_AUTHORIZATION_FAILED.

use bytes::Bytes;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    DeleteRecordsRequest, DeleteRecordsResponse, FetchRequest, FetchResponse,
    InitProducerIdRequest, InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceRequest, ProduceResponse,
};
use kafka_protocol::ResponseError;

use super::{split_by, Authz, Merge, Split, CLUSTER_DENIED, TOPIC_DENIED};
use crate::api::fetch::Fetched;
use crate::api::Part;
use crate::auth::acl::{AclOperation, ResourceType};

use AclOperation::{ClusterAction, Create, Delete, Describe, IdempotentWrite, Read, Write};

/// A produce partition's error entry.
fn produce_error(index: i32, code: i16) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
}

/// Produce: WRITE on each topic. A topic that does not exist yet is refused
/// UNKNOWN_TOPIC_OR_PARTITION unless the caller may also CREATE it (on the cluster or the
/// topic), since producing to a missing topic auto-creates it here.
pub fn produce<'a>(
    az: &Authz<'a>,
    mut req: ProduceRequest,
    exists: &dyn Fn(&str) -> bool,
) -> Split<'a, ProduceRequest, ProduceResponse> {
    let mut refused = Vec::new();
    let (allowed, denied) = split_by(std::mem::take(&mut req.topic_data), |t| {
        az.topic(Write, &t.name.0)
    });
    refused.extend(denied.into_iter().map(|t| (t, TOPIC_DENIED)));
    let (allowed, missing) = split_by(allowed, |t| {
        exists(&t.name.0) || az.cluster(Create) || az.topic(Create, &t.name.0)
    });
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    refused.extend(missing.into_iter().map(|t| (t, unknown)));
    req.topic_data = allowed;
    if refused.is_empty() {
        return Split::pass(req);
    }
    let entries: Vec<TopicProduceResponse> = refused
        .into_iter()
        .map(|(t, code)| {
            let partitions = t
                .partition_data
                .iter()
                .map(|p| produce_error(p.index, code))
                .collect();
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_partition_responses(partitions)
        })
        .collect();
    if req.topic_data.is_empty() {
        return Split::Answer(ProduceResponse::default().with_responses(entries));
    }
    Split::Handle(
        req,
        Merge::with(move |r: &mut ProduceResponse| r.responses.extend(entries)),
    )
}

fn fetch_error(index: i32) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(TOPIC_DENIED)
        .with_high_watermark(-1)
}

/// Fetch: followers (replica id >= 0) need CLUSTER_ACTION, else every partition is refused;
/// consumers need READ on each topic. Partitions an incremental session carries are not in
/// the request, so the merge also refuses those of the response's topics the caller may no
/// longer READ (an ACL removed while the session lives).
pub fn fetch<'a>(az: &Authz<'a>, mut req: FetchRequest) -> Split<'a, FetchRequest, Fetched> {
    let follower = req.replica_id.0 >= 0;
    let (allowed, denied) = if follower {
        if az.cluster(ClusterAction) {
            (std::mem::take(&mut req.topics), Vec::new())
        } else {
            (Vec::new(), std::mem::take(&mut req.topics))
        }
    } else {
        split_by(std::mem::take(&mut req.topics), |t| {
            az.topic(Read, &t.topic.0)
        })
    };
    req.topics = allowed;
    let entries: Vec<FetchableTopicResponse> = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| fetch_error(p.partition))
                .collect();
            FetchableTopicResponse::default()
                .with_topic(t.topic)
                .with_topic_id(t.topic_id)
                .with_partitions(partitions)
        })
        .collect();
    let nothing_left = req.topics.is_empty() && !entries.is_empty();
    if nothing_left {
        let records = entries
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|_| Part::Bytes(Bytes::new()))
            .collect();
        let response = FetchResponse::default().with_responses(entries);
        return Split::Answer(Fetched { response, records });
    }
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |f: &mut Fetched| {
            if !follower {
                refuse_unreadable(&az, f);
            }
            for t in &entries {
                f.records
                    .extend(t.partitions.iter().map(|_| Part::Bytes(Bytes::new())));
            }
            f.response.responses.extend(entries);
        }),
    )
}

/// Replaces the data of partitions of topics the caller may not READ with the refusal.
fn refuse_unreadable(az: &Authz<'_>, f: &mut Fetched) {
    let mut index = 0;
    for topic in &mut f.response.responses {
        let readable = az.allowed_quietly(Read, ResourceType::Topic, &topic.topic.0);
        for p in &mut topic.partitions {
            if !readable {
                *p = fetch_error(p.partition_index);
                if let Some(part) = f.records.get_mut(index) {
                    *part = Part::Bytes(Bytes::new());
                }
            }
            index += 1;
        }
    }
}

/// ListOffsets: DESCRIBE on each topic; a follower's (replica id >= 0) needs CLUSTER_ACTION.
pub fn list_offsets<'a>(
    az: &Authz<'a>,
    mut req: ListOffsetsRequest,
) -> Split<'a, ListOffsetsRequest, ListOffsetsResponse> {
    let topics = std::mem::take(&mut req.topics);
    let (allowed, denied) = if req.replica_id.0 >= 0 && !az.cluster(ClusterAction) {
        (Vec::new(), topics)
    } else {
        split_by(topics, |t| az.topic(Describe, &t.name.0))
    };
    req.topics = allowed;
    let entries: Vec<ListOffsetsTopicResponse> = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(TOPIC_DENIED)
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    merge_topics(
        req,
        entries,
        |r: &mut ListOffsetsResponse| &mut r.topics,
        |q| q.topics.is_empty(),
    )
}

/// OffsetForLeaderEpoch: DESCRIBE on each topic; a follower's needs CLUSTER_ACTION.
pub fn offset_for_leader_epoch<'a>(
    az: &Authz<'a>,
    mut req: OffsetForLeaderEpochRequest,
) -> Split<'a, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> {
    let topics = std::mem::take(&mut req.topics);
    let (allowed, denied) = if req.replica_id.0 >= 0 {
        if az.cluster(ClusterAction) {
            (topics, Vec::new())
        } else {
            (Vec::new(), topics)
        }
    } else {
        split_by(topics, |t| az.topic(Describe, &t.topic.0))
    };
    req.topics = allowed;
    let entries: Vec<OffsetForLeaderTopicResult> = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_error_code(TOPIC_DENIED)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    merge_topics(
        req,
        entries,
        |r: &mut OffsetForLeaderEpochResponse| &mut r.topics,
        |q| q.topics.is_empty(),
    )
}

/// DeleteRecords: DELETE on each topic.
pub fn delete_records<'a>(
    az: &Authz<'a>,
    mut req: DeleteRecordsRequest,
) -> Split<'a, DeleteRecordsRequest, DeleteRecordsResponse> {
    let (allowed, denied) = split_by(std::mem::take(&mut req.topics), |t| {
        az.topic(Delete, &t.name.0)
    });
    req.topics = allowed;
    let entries: Vec<DeleteRecordsTopicResult> = denied
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1)
                        .with_error_code(TOPIC_DENIED)
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    merge_topics(
        req,
        entries,
        |r: &mut DeleteRecordsResponse| &mut r.topics,
        |q| q.topics.is_empty(),
    )
}

/// InitProducerId: with a transactional id, WRITE on it; without (an idempotent producer),
/// IDEMPOTENT_WRITE on the cluster or WRITE on at least one topic (Kafka 3.x).
pub fn init_producer_id<'a>(
    az: &Authz<'a>,
    req: InitProducerIdRequest,
) -> Split<'a, InitProducerIdRequest, InitProducerIdResponse> {
    let refused = match &req.transactional_id {
        Some(id) => (!az.allowed(Write, ResourceType::TransactionalId, &id.0))
            .then_some(ResponseError::TransactionalIdAuthorizationFailed.code()),
        None => (!az.allowed_quietly(
            IdempotentWrite,
            ResourceType::Cluster,
            crate::auth::acl::CLUSTER_RESOURCE_NAME,
        ) && !az.any_of_type(Write, ResourceType::Topic))
        .then_some(CLUSTER_DENIED),
    };
    match refused {
        None => Split::pass(req),
        Some(code) => Split::Answer(
            InitProducerIdResponse::default()
                .with_error_code(code)
                .with_producer_id((-1).into())
                .with_producer_epoch(-1),
        ),
    }
}

/// The common tail of the topic-list APIs: pass, answer with the refusals alone, or run the
/// handler and append them to the response's topic list.
fn merge_topics<'a, Req, Resp: Default + 'a, T: Send + 'a>(
    req: Req,
    entries: Vec<T>,
    topics: fn(&mut Resp) -> &mut Vec<T>,
    is_empty: impl FnOnce(&Req) -> bool,
) -> Split<'a, Req, Resp> {
    if entries.is_empty() {
        return Split::pass(req);
    }
    if is_empty(&req) {
        let mut resp = Resp::default();
        topics(&mut resp).extend(entries);
        return Split::Answer(resp);
    }
    Split::Handle(req, Merge::with(move |r| topics(r).extend(entries)))
}
