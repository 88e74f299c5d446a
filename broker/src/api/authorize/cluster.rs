//! The inter-broker APIs (LeaderAndIsr, UpdateMetadata, StopReplica from the controller,
//! ControlledShutdown to it): CLUSTER_ACTION on the cluster, else the whole request is refused
//! CLUSTER_AUTHORIZATION_FAILED. Brokers usually hold it through `super.users`.

use kafka_protocol::messages::{ControlledShutdownRequest, ControlledShutdownResponse};
use kafka_protocol::ResponseError;

use super::{Authz, Split, CLUSTER_DENIED};
use crate::api::from_controller::ControllerRequest;
use crate::auth::acl::AclOperation;

/// A controller request: CLUSTER_ACTION, checked before the controller fence.
pub fn from_controller<'a, R: ControllerRequest>(
    az: &Authz<'a>,
    req: R,
) -> Split<'a, R, R::Response> {
    if az.cluster(AclOperation::ClusterAction) {
        return Split::pass(req);
    }
    Split::Answer(R::refused(ResponseError::ClusterAuthorizationFailed))
}

/// ControlledShutdown: CLUSTER_ACTION.
pub fn controlled_shutdown<'a>(
    az: &Authz<'a>,
    req: ControlledShutdownRequest,
) -> Split<'a, ControlledShutdownRequest, ControlledShutdownResponse> {
    if az.cluster(AclOperation::ClusterAction) {
        return Split::pass(req);
    }
    Split::Answer(ControlledShutdownResponse::default().with_error_code(CLUSTER_DENIED))
}
