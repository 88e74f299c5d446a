//! The stage requests from the controller (LeaderAndIsr, UpdateMetadata, StopReplica) pass
//! between decoding and their handler: the broker's [`ControllerFence`] admits a request, or it
//! is answered STALE_CONTROLLER_EPOCH / STALE_BROKER_EPOCH and changes nothing. The handlers
//! run while the fence is held, one controller request at a time. (An authorizer's
//! CLUSTER_ACTION check belongs in this stage too, before the fence.)
//!
//! [`ControllerFence`]: crate::controller_fence::ControllerFence

use std::future::Future;

use kafka_protocol::messages::{
    LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse,
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use kafka_protocol::ResponseError;

use crate::context::RequestContext;
use crate::controller_fence::{Claim, Refusal, Sender};

/// A request only the controller sends.
pub trait ControllerRequest {
    type Response;

    /// Who the request says sent it, and to which registration of ours.
    fn claim(&self) -> Claim;

    /// The answer to a refused request.
    fn refused(error: ResponseError) -> Self::Response;
}

/// Admits `req` and runs `handle` on it while the fence is held; a refused request gets its
/// error response. `Err` (close the connection) when the fence could not check the claim: the
/// controller sends the request again on a new connection.
pub async fn admit_then<R, F, Fut>(
    ctx: RequestContext<'_>,
    req: R,
    handle: F,
) -> Result<R::Response, String>
where
    R: ControllerRequest,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = R::Response>,
{
    let broker = ctx.broker;
    let sender = Sender {
        host: ctx.client_host,
        client_id: ctx.client_id,
    };
    let fence = &broker.controller_fence;
    match fence.admit(&broker.zk(), req.claim(), sender).await {
        Ok(_admitted) => Ok(handle(req).await),
        Err(Refusal::Stale(stale)) => Ok(R::refused(stale.error())),
        Err(Refusal::Unverified(reason)) => Err(reason),
    }
}

impl ControllerRequest for LeaderAndIsrRequest {
    type Response = LeaderAndIsrResponse;

    fn claim(&self) -> Claim {
        Claim {
            controller_id: self.controller_id.0,
            controller_epoch: self.controller_epoch,
            broker_epoch: self.broker_epoch,
        }
    }

    fn refused(error: ResponseError) -> LeaderAndIsrResponse {
        LeaderAndIsrResponse::default().with_error_code(error.code())
    }
}

impl ControllerRequest for UpdateMetadataRequest {
    type Response = UpdateMetadataResponse;

    fn claim(&self) -> Claim {
        Claim {
            controller_id: self.controller_id.0,
            controller_epoch: self.controller_epoch,
            broker_epoch: self.broker_epoch,
        }
    }

    fn refused(error: ResponseError) -> UpdateMetadataResponse {
        UpdateMetadataResponse::default().with_error_code(error.code())
    }
}

impl ControllerRequest for StopReplicaRequest {
    type Response = StopReplicaResponse;

    fn claim(&self) -> Claim {
        Claim {
            controller_id: self.controller_id.0,
            controller_epoch: self.controller_epoch,
            broker_epoch: self.broker_epoch,
        }
    }

    fn refused(error: ResponseError) -> StopReplicaResponse {
        StopReplicaResponse::default().with_error_code(error.code())
    }
}
