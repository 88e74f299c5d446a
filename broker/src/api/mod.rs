//! Request dispatch: one `match` on the API key, one handler file per Kafka API.
//!
//! Handlers take typed requests and return typed responses; this module is the only place
//! that decodes request bodies and encodes response frames. Kafka closes the connection on a
//! request it cannot parse (unknown API key, unsupported version other than ApiVersions,
//! malformed body), and so do we. Requests from the controller (LeaderAndIsr, UpdateMetadata,
//! StopReplica) pass one more stage before their handler, [`from_controller::admit_then`].
//!
//! Every request but ApiVersions first passes the authorization stage ([`authorize`]): one
//! decision per request, before the handler, which only sees the resources the caller may
//! touch; the refused ones are merged into its response as errors.

pub mod acl_wire;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod alter_user_scram_credentials;
pub mod authorize;
pub mod broker_configs;
pub mod config_defs;
pub mod config_sources;
pub mod controlled_shutdown;
pub mod create_acls;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_acls;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_acls;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_user_scram_credentials;
pub mod elect_leaders;
pub mod errors;
pub mod fetch;
mod fetch_encode;
pub mod find_coordinator;
pub mod from_controller;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leader_and_isr;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod stop_replica;
pub mod sync_group;
pub mod update_metadata;
pub mod versions;

use std::future::Future;
use std::pin::Pin;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::DeleteRecordsRequest;
use kafka_protocol::messages::{
    AlterConfigsRequest, ControlledShutdownRequest, CreatePartitionsRequest, CreateTopicsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, DescribeLogDirsRequest,
    IncrementalAlterConfigsRequest, StopReplicaRequest,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, InitProducerIdRequest, LeaderAndIsrRequest,
    ListOffsetsRequest, MetadataRequest, OffsetForLeaderEpochRequest, ProduceRequest,
    RequestHeader, ResponseHeader, UpdateMetadataRequest,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, FindCoordinatorRequest, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, ListGroupsRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::ResponseError;

use crate::context::RequestContext;
use crate::log::LogSlice;
use authorize::{admin, data, groups, Authz, Split};
use from_controller::admit_then;
use kafka_protocol::messages::ElectLeadersRequest;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, ListPartitionReassignmentsRequest,
};
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};

/// What the connection should do after a request.
#[derive(Debug)]
pub enum Outcome {
    /// Send this complete frame (size prefix included).
    Respond(BytesMut),
    /// Send these parts, back to back, as one frame (size prefix included in the first).
    RespondParts(Vec<Part>),
    /// Send nothing (Produce with acks=0).
    NoResponse,
    /// Close the connection; the reason is logged.
    Close(String),
}

/// One piece of a response sent as parts.
#[derive(Debug)]
pub enum Part {
    /// Encoded bytes (written with vectored writes).
    Bytes(Bytes),
    /// Records still in their segment file (sent with `sendfile`).
    Log(LogSlice),
}

impl Part {
    pub fn len(&self) -> usize {
        match self {
            Part::Bytes(b) => b.len(),
            Part::Log(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A request's answer: ready now, or after a wait (a long-poll Fetch, an acks=-1 Produce)
/// during which the connection goes on reading and handling the requests behind it.
pub enum Reply<'a> {
    Now(Outcome),
    Later(Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>),
}

/// Encodes a response frame: size, response header, body.
pub fn encode_response<R: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &R,
) -> Outcome {
    let mut buf = BytesMut::with_capacity(128);
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    if let Err(e) = header.encode(&mut buf, header_version) {
        return Outcome::Close(format!("encoding response header: {e}"));
    }
    if let Err(e) = response.encode(&mut buf, version) {
        return Outcome::Close(format!("encoding {api_key:?} v{version} response: {e}"));
    }
    let size = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&size.to_be_bytes());
    Outcome::Respond(buf)
}

fn decode<R: Decodable>(body: &mut Bytes, api_key: ApiKey, version: i16) -> Result<R, String> {
    R::decode(body, version).map_err(|e| format!("malformed {api_key:?} v{version} request: {e}"))
}

/// Handles one request frame (without its size prefix). Everything with an effect (appends,
/// group and admin changes) is done before this returns, so requests take effect in the order
/// they arrived; only waiting is left to a [`Reply::Later`].
pub async fn handle<'a>(ctx: RequestContext<'a>, mut frame: Bytes) -> Reply<'a> {
    if frame.len() < 8 {
        return Reply::Now(Outcome::Close(format!(
            "request of {} bytes is too short",
            frame.len()
        )));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Reply::Now(Outcome::Close(format!("unknown API key {raw_key}")));
    };
    if !versions::is_supported(api_key, version) {
        if api_key == ApiKey::ApiVersions {
            // A client newer than us: answer in v0 with our versions so it can pick one.
            return Reply::Now(versions::unsupported_version_response(correlation_id));
        }
        return Reply::Now(Outcome::Close(format!(
            "unsupported {api_key:?} version {version}"
        )));
    }
    let header_version = api_key.request_header_version(version);
    let header = match RequestHeader::decode(&mut frame, header_version) {
        Ok(h) => h,
        Err(e) => return Reply::Now(Outcome::Close(format!("malformed request header: {e}"))),
    };
    let client = header
        .client_id
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_default();
    tracing::trace!(api = ?api_key, version, correlation_id, client, "request");
    let (v, corr) = (version, correlation_id);
    match api_key {
        ApiKey::Produce => {
            let req: ProduceRequest = match decode(&mut frame, api_key, v) {
                Ok(r) => r,
                Err(reason) => return Reply::Now(Outcome::Close(reason)),
            };
            let acks = req.acks;
            let exists = |t: &str| ctx.broker.metadata.topic(t).is_some();
            let split = Authz::of(&ctx).gate(req, |az, req| data::produce(az, req, &exists));
            let ctx = RequestContext {
                client_id: &client,
                ..ctx
            };
            let (req, merge) = match split {
                Split::Answer(_) if acks == 0 => return Reply::Now(Outcome::NoResponse),
                Split::Answer(resp) => return Reply::Now(encode_response(api_key, v, corr, &resp)),
                Split::Handle(req, merge) => (req, merge),
            };
            match produce::handle(ctx, req, v).await {
                produce::Produced::NoResponse => Reply::Now(Outcome::NoResponse),
                produce::Produced::Done(resp) => {
                    Reply::Now(encode_response(api_key, v, corr, &merge.apply(resp)))
                }
                produce::Produced::Replicating(pending) => Reply::Later(Box::pin(async move {
                    encode_response(api_key, v, corr, &merge.apply(pending.wait().await))
                })),
            }
        }
        ApiKey::Fetch => {
            let req: FetchRequest = match decode(&mut frame, api_key, v) {
                Ok(r) => r,
                Err(reason) => return Reply::Now(Outcome::Close(reason)),
            };
            Reply::Later(Box::pin(async move {
                let ctx = RequestContext {
                    client_id: &client,
                    ..ctx
                };
                let split = Authz::of(&ctx).gate(req, data::fetch);
                let fetched = split.run(|req| fetch::handle(ctx, req, v)).await;
                fetch_encode::encode(v, corr, fetched)
            }))
        }
        _ => {
            let ctx = RequestContext {
                client_id: &client,
                ..ctx
            };
            match dispatch(ctx, api_key, v, corr, &mut frame).await {
                Ok(outcome) => Reply::Now(outcome),
                Err(reason) => Reply::Now(Outcome::Close(reason)),
            }
        }
    }
}

async fn dispatch(
    ctx: RequestContext<'_>,
    api_key: ApiKey,
    v: i16,
    corr: i32,
    body: &mut Bytes,
) -> Result<Outcome, String> {
    let az = Authz::of(&ctx);
    let exists = |t: &str| ctx.broker.metadata.topic(t).is_some();
    let outcome = match api_key {
        // ApiVersions (and the SASL APIs) are served before and without authorization.
        ApiKey::ApiVersions => {
            let _req: ApiVersionsRequest = decode(body, api_key, v)?;
            encode_response(api_key, v, corr, &versions::handle())
        }
        ApiKey::Metadata => {
            let req: MetadataRequest = decode(body, api_key, v)?;
            let split = az.gate(req, |az, req| {
                authorize::metadata::metadata(az, req, v, &exists)
            });
            let resp = split.run(|req| metadata::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::ListOffsets => {
            let req: ListOffsetsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, data::list_offsets);
            let resp = split.run_now(|req| list_offsets::handle(ctx, req, v));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::InitProducerId => {
            let req: InitProducerIdRequest = decode(body, api_key, v)?;
            let split = az.gate(req, data::init_producer_id);
            let resp = split.run(|req| init_producer_id::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DeleteRecords => {
            let req: DeleteRecordsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, data::delete_records);
            let resp = split.run(|req| delete_records::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::OffsetForLeaderEpoch => {
            let req: OffsetForLeaderEpochRequest = decode(body, api_key, v)?;
            let split = az.gate(req, data::offset_for_leader_epoch);
            let resp = split.run_now(|req| offset_for_leader_epoch::handle(ctx, req));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::LeaderAndIsr => {
            let req: LeaderAndIsrRequest = decode(body, api_key, v)?;
            let handle = |req| leader_and_isr::handle(ctx, req, v);
            let resp = controller_gated(ctx, &az, req, handle).await?;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::UpdateMetadata => {
            let req: UpdateMetadataRequest = decode(body, api_key, v)?;
            let handle = |req| async move { update_metadata::handle(ctx, req) };
            let resp = controller_gated(ctx, &az, req, handle).await?;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::StopReplica => {
            let req: StopReplicaRequest = decode(body, api_key, v)?;
            let handle = |req| async move { stop_replica::handle(ctx, req, v) };
            let resp = controller_gated(ctx, &az, req, handle).await?;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::ControlledShutdown => {
            let req: ControlledShutdownRequest = decode(body, api_key, v)?;
            let split = az.gate(req, authorize::cluster::controlled_shutdown);
            let resp = split
                .run(|req| controlled_shutdown::handle(ctx, req, v))
                .await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::CreateTopics => {
            let req: CreateTopicsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::create_topics);
            let resp = split.run(|req| create_topics::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DeleteTopics => {
            let req: DeleteTopicsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::delete_topics);
            let resp = split.run(|req| delete_topics::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::CreatePartitions => {
            let req: CreatePartitionsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::create_partitions);
            let resp = split.run(|req| create_partitions::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DescribeConfigs => {
            let req: DescribeConfigsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::describe_configs);
            let resp = split.run(|req| describe_configs::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::AlterConfigs => {
            let req: AlterConfigsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::alter_configs);
            let resp = split.run(|req| alter_configs::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::IncrementalAlterConfigs => {
            let req: IncrementalAlterConfigsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::incremental_alter_configs);
            let resp = split
                .run(|req| incremental_alter_configs::handle(ctx, req))
                .await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DescribeCluster => {
            let req: DescribeClusterRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::describe_cluster);
            let resp = split.run_now(|req| describe_cluster::handle(ctx, req));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DescribeLogDirs => {
            let req: DescribeLogDirsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::describe_log_dirs);
            let resp = split.run_now(|req| describe_log_dirs::handle(ctx, req));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::ElectLeaders => {
            let req: ElectLeadersRequest = decode(body, api_key, v)?;
            let split = az.gate(req, |az, req| admin::elect_leaders(az, req, v));
            let resp = split.run(|req| elect_leaders::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::CreateAcls => {
            let req: CreateAclsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::create_acls);
            let resp = split.run(|req| create_acls::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DescribeAcls => {
            let req: DescribeAclsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::describe_acls);
            let resp = split.run_now(|req| describe_acls::handle(ctx, req));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DeleteAcls => {
            let req: DeleteAclsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::delete_acls);
            let resp = split.run(|req| delete_acls::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::AlterPartitionReassignments => {
            let req: AlterPartitionReassignmentsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, authorize::reassignments::alter_partition_reassignments);
            let resp = split
                .run(|req| alter_partition_reassignments::handle(ctx, req))
                .await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::ListPartitionReassignments => {
            let req: ListPartitionReassignmentsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, authorize::reassignments::list_partition_reassignments);
            let resp = split
                .run(|req| list_partition_reassignments::handle(ctx, req))
                .await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::FindCoordinator => {
            let req: FindCoordinatorRequest = decode(body, api_key, v)?;
            let split = az.gate(req, |az, req| groups::find_coordinator(az, req, v));
            let resp = split.run_now(|req| find_coordinator::handle(ctx, req, v));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::JoinGroup => {
            let req: JoinGroupRequest = decode(body, api_key, v)?;
            let split = az.gate(req, |az, req| groups::join_group(az, req, v));
            let resp = split.run(|req| join_group::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::SyncGroup => {
            let req: SyncGroupRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::sync_group);
            let resp = split.run(|req| sync_group::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::Heartbeat => {
            let req: HeartbeatRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::heartbeat);
            let resp = split.run_now(|req| heartbeat::handle(ctx, req));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::LeaveGroup => {
            let req: LeaveGroupRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::leave_group);
            let resp = split.run_now(|req| leave_group::handle(ctx, req, v));
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::OffsetCommit => {
            let req: OffsetCommitRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::offset_commit);
            let resp = split.run(|req| offset_commit::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::OffsetFetch => {
            let req: OffsetFetchRequest = decode(body, api_key, v)?;
            let split = az.gate(req, |az, req| groups::offset_fetch(az, req, v));
            let resp = split.run(|req| offset_fetch::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::ListGroups => {
            let req: ListGroupsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::list_groups);
            let resp = split.run(|req| list_groups::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DescribeGroups => {
            let req: DescribeGroupsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, |az, req| groups::describe_groups(az, req, v));
            let resp = split.run(|req| describe_groups::handle(ctx, req, v)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DeleteGroups => {
            let req: DeleteGroupsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::delete_groups);
            let resp = split.run(|req| delete_groups::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::OffsetDelete => {
            let req: OffsetDeleteRequest = decode(body, api_key, v)?;
            let split = az.gate(req, groups::offset_delete);
            let resp = split.run(|req| offset_delete::handle(ctx, req)).await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::AlterUserScramCredentials => {
            let req: AlterUserScramCredentialsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::alter_user_scram_credentials);
            let resp = split
                .run(|req| alter_user_scram_credentials::handle(ctx, req))
                .await;
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::DescribeUserScramCredentials => {
            let req: DescribeUserScramCredentialsRequest = decode(body, api_key, v)?;
            let split = az.gate(req, admin::describe_user_scram_credentials);
            let resp = split
                .run(|req| describe_user_scram_credentials::handle(ctx, req))
                .await;
            encode_response(api_key, v, corr, &resp)
        }
        // Authentication happens before serving (sasl_stage); here, as in Kafka's KafkaApis,
        // a second handshake (or one on a non-SASL listener) is ILLEGAL_SASL_STATE.
        ApiKey::SaslHandshake => {
            let _req: SaslHandshakeRequest = decode(body, api_key, v)?;
            let resp = SaslHandshakeResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code());
            encode_response(api_key, v, corr, &resp)
        }
        ApiKey::SaslAuthenticate => {
            let _req: SaslAuthenticateRequest = decode(body, api_key, v)?;
            let resp = SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code())
                .with_error_message(Some(StrBytes::from_static_str(
                    "SaslAuthenticate request received after successful authentication",
                )));
            encode_response(api_key, v, corr, &resp)
        }
        other => return Err(format!("API {other:?} is not served by this broker")),
    };
    if body.has_remaining() {
        tracing::debug!(api = ?api_key, v, extra = body.remaining(), "trailing bytes after request body");
    }
    Ok(outcome)
}

/// A controller request: CLUSTER_ACTION first, then the controller fence, then the handler.
async fn controller_gated<'a, R, F, Fut>(
    ctx: RequestContext<'a>,
    az: &Authz<'a>,
    req: R,
    handle: F,
) -> Result<R::Response, String>
where
    R: from_controller::ControllerRequest,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = R::Response>,
{
    match az.gate(req, authorize::cluster::from_controller) {
        Split::Answer(resp) => Ok(resp),
        Split::Handle(req, merge) => Ok(merge.apply(admit_then(ctx, req, handle).await?)),
    }
}
