//! DeleteAcls (v0-3): removes what each filter selects (Kafka's `AclAuthorizer.deleteAcls`):
//! the patterns are found in this broker's ACL cache, then each is rewritten in ZooKeeper by a
//! conditional read-modify-write without the entries any filter selects, and each filter's
//! result lists the ACLs it deleted. An invalid filter gets INVALID_REQUEST; without an
//! authorizer, SECURITY_DISABLED. ALTER on the cluster is checked by the authorization stage.

use std::collections::BTreeSet;

use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, warn};

use super::acl_wire::{filter, modify_resource_acls, WireFilter};
use crate::auth::acl::ResourcePattern;
use crate::auth::{AclBinding, AclBindingFilter};
use crate::context::RequestContext;

fn failed(e: ResponseError, message: String) -> DeleteAclsFilterResult {
    DeleteAclsFilterResult::default()
        .with_error_code(e.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

fn matching_acl(b: &AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_resource_type(b.pattern.resource_type.code())
        .with_resource_name(StrBytes::from_string(b.pattern.name.clone()))
        .with_pattern_type(b.pattern.pattern_type.code())
        .with_principal(StrBytes::from_string(b.entry.principal.clone()))
        .with_host(StrBytes::from_string(b.entry.host.clone()))
        .with_operation(b.entry.operation.code())
        .with_permission_type(b.entry.permission_type.code())
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn handle(ctx: RequestContext<'_>, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let Some(authorizer) = &ctx.broker.authorizer else {
        let results = req
            .filters
            .iter()
            .map(|_| {
                failed(
                    ResponseError::SecurityDisabled,
                    "No Authorizer is configured.".into(),
                )
            })
            .collect();
        return DeleteAclsResponse::default().with_filter_results(results);
    };
    let mut results: Vec<DeleteAclsFilterResult> = Vec::with_capacity(req.filters.len());
    let mut filters: Vec<(usize, AclBindingFilter)> = Vec::new();
    for (i, f) in req.filters.iter().enumerate() {
        let wire = WireFilter {
            resource_type: f.resource_type_filter,
            name: f.resource_name_filter.as_ref(),
            pattern_type: f.pattern_type_filter,
            principal: f.principal_filter.as_ref(),
            host: f.host_filter.as_ref(),
            operation: f.operation,
            permission_type: f.permission_type,
        };
        match filter(&wire) {
            Ok(parsed) => {
                results.push(DeleteAclsFilterResult::default());
                filters.push((i, parsed));
            }
            Err(e) => results.push(failed(ResponseError::InvalidRequest, e.to_string())),
        }
    }
    let snapshot = authorizer.snapshot();
    let patterns: BTreeSet<ResourcePattern> = filters
        .iter()
        .flat_map(|(_, f)| snapshot.matching_bindings(f))
        .map(|b| b.pattern)
        .collect();
    for pattern in patterns {
        let selected = |b: &AclBinding| filters.iter().any(|(_, f)| f.matches(b));
        let outcome = modify_resource_acls(ctx.broker, &pattern, |current| {
            current
                .iter()
                .filter(|e| {
                    !selected(&AclBinding {
                        pattern: pattern.clone(),
                        entry: (*e).clone(),
                    })
                })
                .cloned()
                .collect()
        })
        .await;
        match outcome {
            Ok((before, after)) => {
                let deleted: Vec<AclBinding> = before
                    .into_iter()
                    .filter(|e| !after.contains(e))
                    .map(|entry| AclBinding {
                        pattern: pattern.clone(),
                        entry,
                    })
                    .collect();
                if !deleted.is_empty() {
                    info!(
                        ?pattern,
                        deleted = deleted.len(),
                        principal = ctx.session.principal,
                        "ACLs deleted"
                    );
                }
                for (i, f) in &filters {
                    results[*i]
                        .matching_acls
                        .extend(deleted.iter().filter(|b| f.matches(b)).map(matching_acl));
                }
            }
            Err(e) => {
                warn!(?pattern, error = %e, "deleting ACLs failed");
                for (i, f) in &filters {
                    if f.pattern.matches(&pattern) {
                        results[*i] = failed(ResponseError::UnknownServerError, e.to_string());
                    }
                }
            }
        }
    }
    DeleteAclsResponse::default().with_filter_results(results)
}
