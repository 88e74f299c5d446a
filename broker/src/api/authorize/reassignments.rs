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

#[cfg(test)]
mod tests {
    use kafka_protocol::ResponseError;

    use super::*;
    use crate::auth::acl::{
        AccessControlEntry, AclOperation, AclPermissionType, PatternType, ResourcePattern,
        ResourceType, CLUSTER_RESOURCE_NAME,
    };
    use crate::auth::{Authorizer, AuthorizerConfig};

    const ME: &str = "User:alice";

    /// An authorizer allowing `ME` only `op` on the cluster.
    fn allowing(op: AclOperation) -> Authorizer {
        let authorizer = Authorizer::new(AuthorizerConfig::default());
        let pattern = ResourcePattern::new(
            ResourceType::Cluster,
            CLUSTER_RESOURCE_NAME,
            PatternType::Literal,
        );
        let ace = AccessControlEntry::new(ME, "*", op, AclPermissionType::Allow);
        authorizer.update_resources(std::collections::BTreeMap::from([(pattern, vec![ace])]));
        authorizer
    }

    #[test]
    fn alter_needs_alter_and_list_needs_describe_on_the_cluster() {
        let denied = ResponseError::ClusterAuthorizationFailed.code();
        let describe_only = allowing(AclOperation::Describe);
        let az = Authz::new(Some(&describe_only), ME, "127.0.0.1");
        let alter = AlterPartitionReassignmentsRequest::default();
        match az.gate(alter, alter_partition_reassignments) {
            Split::Answer(r) => assert_eq!(r.error_code, denied),
            Split::Handle(..) => panic!("ALTER was not granted"),
        }
        let list = ListPartitionReassignmentsRequest::default();
        assert!(matches!(
            az.gate(list, list_partition_reassignments),
            Split::Handle(..)
        ));
        let alter_only = allowing(AclOperation::Alter);
        let az = Authz::new(Some(&alter_only), ME, "127.0.0.1");
        let alter = AlterPartitionReassignmentsRequest::default();
        assert!(matches!(
            az.gate(alter, alter_partition_reassignments),
            Split::Handle(..)
        ));
    }
}
