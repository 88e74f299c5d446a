//! CreateAcls (v0-3): adds each creation's ACL to its pattern's znode (Kafka's
//! `AclAuthorizer.createAcls`: one conditional read-modify-write per pattern, with a change
//! notification). Invalid creations get INVALID_REQUEST; without an authorizer every creation
//! gets SECURITY_DISABLED. ALTER on the cluster is checked by the authorization stage.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::{info, warn};

use super::acl_wire::{binding, modify_resource_acls, WireBinding};
use crate::auth::acl::{AccessControlEntry, ResourcePattern};
use crate::context::RequestContext;

fn result(error: ResponseError, message: String) -> AclCreationResult {
    AclCreationResult::default()
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn handle(ctx: RequestContext<'_>, req: CreateAclsRequest) -> CreateAclsResponse {
    let mut results: Vec<AclCreationResult> = vec![Default::default(); req.creations.len()];
    if ctx.broker.authorizer.is_none() {
        for r in &mut results {
            *r = result(
                ResponseError::SecurityDisabled,
                "No Authorizer is configured.".into(),
            );
        }
        return CreateAclsResponse::default().with_results(results);
    }
    // Creation indexes per pattern, so each pattern is written once.
    let mut by_pattern: BTreeMap<ResourcePattern, Vec<(usize, AccessControlEntry)>> =
        BTreeMap::new();
    for (i, c) in req.creations.iter().enumerate() {
        let wire = WireBinding {
            resource_type: c.resource_type,
            name: &c.resource_name,
            pattern_type: c.resource_pattern_type,
            principal: &c.principal,
            host: &c.host,
            operation: c.operation,
            permission_type: c.permission_type,
        };
        match binding(&wire) {
            Ok(b) => by_pattern.entry(b.pattern).or_default().push((i, b.entry)),
            Err(e) => results[i] = result(ResponseError::InvalidRequest, e.to_string()),
        }
    }
    for (pattern, entries) in by_pattern {
        let added: Vec<AccessControlEntry> = entries.iter().map(|(_, e)| e.clone()).collect();
        let outcome = modify_resource_acls(ctx.broker, &pattern, |current| {
            current.iter().chain(&added).cloned().collect()
        })
        .await;
        match outcome {
            Ok(_) => {
                info!(?pattern, acls = ?added, principal = ctx.session.principal, "ACLs created")
            }
            Err(e) => {
                warn!(?pattern, error = %e, "creating ACLs failed");
                for (i, _) in &entries {
                    results[*i] = result(ResponseError::UnknownServerError, e.to_string());
                }
            }
        }
    }
    CreateAclsResponse::default().with_results(results)
}
