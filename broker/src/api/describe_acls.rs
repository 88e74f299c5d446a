//! DescribeAcls (v0-3): the ACLs a filter selects, from this broker's ACL cache (as Kafka's
//! `AclAuthorizer.acls` answers), grouped by pattern. An invalid filter gets INVALID_REQUEST;
//! without an authorizer, SECURITY_DISABLED. DESCRIBE on the cluster is checked by the
//! authorization stage.

use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::acl_wire::{filter, WireFilter};
use crate::auth::AclBinding;
use crate::context::RequestContext;

fn error(e: ResponseError, message: String) -> DescribeAclsResponse {
    DescribeAclsResponse::default()
        .with_error_code(e.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

#[tracing::instrument(level = "debug", skip_all)]
pub fn handle(ctx: RequestContext<'_>, req: DescribeAclsRequest) -> DescribeAclsResponse {
    let Some(authorizer) = &ctx.broker.authorizer else {
        return error(
            ResponseError::SecurityDisabled,
            "No Authorizer is configured.".into(),
        );
    };
    let wire = WireFilter {
        resource_type: req.resource_type_filter,
        name: req.resource_name_filter.as_ref(),
        pattern_type: req.pattern_type_filter,
        principal: req.principal_filter.as_ref(),
        host: req.host_filter.as_ref(),
        operation: req.operation,
        permission_type: req.permission_type,
    };
    let filter = match filter(&wire) {
        Ok(f) => f,
        Err(e) => return error(ResponseError::InvalidRequest, e.to_string()),
    };
    let bindings = authorizer.snapshot().matching_bindings(&filter);
    DescribeAclsResponse::default().with_resources(group_by_pattern(bindings))
}

/// Sorted bindings as the response's resources, one per pattern.
fn group_by_pattern(bindings: Vec<AclBinding>) -> Vec<DescribeAclsResource> {
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    let mut last = None;
    for b in bindings {
        let description = AclDescription::default()
            .with_principal(StrBytes::from_string(b.entry.principal))
            .with_host(StrBytes::from_string(b.entry.host))
            .with_operation(b.entry.operation.code())
            .with_permission_type(b.entry.permission_type.code());
        match resources.last_mut() {
            Some(r) if last.as_ref() == Some(&b.pattern) => r.acls.push(description),
            _ => {
                resources.push(
                    DescribeAclsResource::default()
                        .with_resource_type(b.pattern.resource_type.code())
                        .with_resource_name(StrBytes::from_string(b.pattern.name.clone()))
                        .with_pattern_type(b.pattern.pattern_type.code())
                        .with_acls(vec![description]),
                );
                last = Some(b.pattern);
            }
        }
    }
    resources
}
