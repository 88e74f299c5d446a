//! The reassignment APIs: AlterPartitionReassignments needs ALTER on the cluster,
//! ListPartitionReassignments DESCRIBE on it; otherwise the whole request is refused
//! CLUSTER_AUTHORIZATION_FAILED (Kafka's `authorizeClusterOperation`).

use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use kafka_protocol::protocol::StrBytes;

use super::{Authz, Split, CLUSTER_DENIED};
use crate::auth::acl::AclOperation::{Alter, Describe};

/// Kafka's message for CLUSTER_AUTHORIZATION_FAILED.
fn denied_message() -> Option<StrBytes> {
    Some(StrBytes::from_static_str("Cluster authorization failed."))
}

/// AlterPartitionReassignments: ALTER on the cluster.
pub fn alter_partition_reassignments<'a>(
    az: &Authz<'a>,
    req: AlterPartitionReassignmentsRequest,
) -> Split<'a, AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse> {
    if az.cluster(Alter) {
        return Split::pass(req);
    }
    Split::Answer(
        AlterPartitionReassignmentsResponse::default()
            .with_error_code(CLUSTER_DENIED)
            .with_error_message(denied_message()),
    )
}

/// ListPartitionReassignments: DESCRIBE on the cluster.
pub fn list_partition_reassignments<'a>(
    az: &Authz<'a>,
    req: ListPartitionReassignmentsRequest,
) -> Split<'a, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> {
    if az.cluster(Describe) {
        return Split::pass(req);
    }
    Split::Answer(
        ListPartitionReassignmentsResponse::default()
            .with_error_code(CLUSTER_DENIED)
            .with_error_message(denied_message()),
    )
}
