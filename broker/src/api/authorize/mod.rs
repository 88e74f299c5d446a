//! The authorization stage: between decoding a request and its handler, decided once per
//! request, as Kafka's `KafkaApis` does it.
//!
//! For each API a function here takes the typed request and returns a [`Split`]:
//! - [`Split::Answer`]: the whole request is refused (a group API on a group the principal may
//!   not READ, an inter-broker API without CLUSTER_ACTION), or nothing authorized is left to
//!   do; this is the response, and the handler does not run.
//! - [`Split::Handle`]: the request with only its authorized resources, for the handler, and a
//!   [`Merge`] that adds the error entries of the refused ones (TOPIC_AUTHORIZATION_FAILED per
//!   partition, GROUP_AUTHORIZATION_FAILED per group, ...) to the handler's response, and where
//!   the response must also be filtered (Metadata of all topics, ListGroups) or carries
//!   authorized operations, does that.
//!
//! Handlers therefore never see a resource the principal may not touch, and know nothing of
//! ACLs. Without an authorizer every request passes untouched ([`Authz::gate`]).
//!
//! Layout: [`data`] (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, InitProducerId,
//! DeleteRecords), [`metadata`], [`admin`] (topics, configs, cluster, ACLs, and the SCRAM
//! APIs' place), [`groups`], [`cluster`] (inter-broker APIs), [`reassignments`] (partition
//! reassignment).

pub mod admin;
pub mod cluster;
pub mod data;
pub mod groups;
pub mod metadata;
pub mod reassignments;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use crate::auth::acl::{supported_operations, AclOperation, ResourceType, CLUSTER_RESOURCE_NAME};
use crate::auth::{decide, decide_by_resource_type, AclIndex, AuthorizationResult};
use crate::auth::{Authorizer, AuthorizerConfig};
use crate::context::RequestContext;
use crate::log_throttle::{LogThrottle, DEFAULT_INTERVAL};

/// Denied operations, logged at debug at most once per interval (a client retrying a refused
/// request must not flood the log).
static DENIED: LogThrottle = LogThrottle::new(DEFAULT_INTERVAL);

/// Adds the refused resources' entries to the handler's response (and filters or annotates
/// it where the API needs that).
pub struct Merge<'a, Resp>(Option<MergeFn<'a, Resp>>);

/// What a [`Merge`] runs on the response.
type MergeFn<'a, Resp> = Box<dyn FnOnce(&mut Resp) + Send + 'a>;

impl<'a, Resp> Merge<'a, Resp> {
    /// Nothing to add.
    pub fn none() -> Self {
        Merge(None)
    }

    /// Runs `f` on the response.
    pub fn with(f: impl FnOnce(&mut Resp) + Send + 'a) -> Self {
        Merge(Some(Box::new(f)))
    }

    /// The handler's response with the refused entries merged in.
    pub fn apply(self, mut resp: Resp) -> Resp {
        if let Some(f) = self.0 {
            f(&mut resp);
        }
        resp
    }
}

/// What the stage decided for one request.
pub enum Split<'a, Req, Resp> {
    /// Answer this without running the handler.
    Answer(Resp),
    /// Run the handler on this (authorized part of the) request, then merge.
    Handle(Req, Merge<'a, Resp>),
}

impl<'a, Req, Resp> Split<'a, Req, Resp> {
    /// The request unchanged, nothing to merge.
    pub fn pass(req: Req) -> Self {
        Split::Handle(req, Merge::none())
    }

    /// Runs an async handler when there is something for it to do.
    pub async fn run<F, Fut>(self, handler: F) -> Resp
    where
        F: FnOnce(Req) -> Fut,
        Fut: Future<Output = Resp>,
    {
        match self {
            Split::Answer(resp) => resp,
            Split::Handle(req, merge) => merge.apply(handler(req).await),
        }
    }

    /// Runs a synchronous handler when there is something for it to do.
    pub fn run_now(self, handler: impl FnOnce(Req) -> Resp) -> Resp {
        match self {
            Split::Answer(resp) => resp,
            Split::Handle(req, merge) => merge.apply(handler(req)),
        }
    }
}

/// One request's view of the authorizer: the caller, and one ACL snapshot for all of the
/// request's decisions. Cheap to clone (merges keep one).
#[derive(Clone)]
pub struct Authz<'a> {
    /// `None`: no authorizer, everything allowed.
    acls: Option<(Arc<AclIndex>, &'a AuthorizerConfig)>,
    principal: &'a str,
    host: &'a str,
}

impl<'a> Authz<'a> {
    /// The view for a request.
    pub fn of(ctx: &RequestContext<'a>) -> Authz<'a> {
        Authz::new(
            ctx.broker.authorizer.as_ref(),
            &ctx.session.principal,
            &ctx.session.host,
        )
    }

    /// The view of `principal` from `host` (`None`: no authorizer).
    pub fn new(authorizer: Option<&'a Authorizer>, principal: &'a str, host: &'a str) -> Self {
        Authz {
            acls: authorizer.map(|a| (a.snapshot(), a.config())),
            principal,
            host,
        }
    }

    /// The stage for one API: `split` only runs with an authorizer.
    pub fn gate<Req, Resp>(
        &self,
        req: Req,
        split: impl FnOnce(&Authz<'a>, Req) -> Split<'a, Req, Resp>,
    ) -> Split<'a, Req, Resp> {
        if self.acls.is_none() {
            return Split::pass(req);
        }
        split(self, req)
    }

    /// True without an authorizer.
    pub fn allows_everything(&self) -> bool {
        self.acls.is_none()
    }

    /// May the caller do `op` on the resource? A refusal is logged (throttled, at debug).
    pub fn allowed(&self, op: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        let allowed = self.allowed_quietly(op, resource_type, name);
        if !allowed && DENIED.admit().is_some() {
            tracing::debug!(
                principal = self.principal,
                host = self.host,
                operation = %op,
                resource_type = %resource_type,
                resource = name,
                "operation denied (at most one such line per {DEFAULT_INTERVAL:?})"
            );
        }
        allowed
    }

    /// [`Authz::allowed`] without logging a refusal (checks that have a fallback).
    pub fn allowed_quietly(
        &self,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let Some((acls, config)) = &self.acls else {
            return true;
        };
        decide(
            acls,
            config,
            self.principal,
            self.host,
            op,
            resource_type,
            name,
        ) == AuthorizationResult::Allowed
    }

    /// `op` on the cluster resource.
    pub fn cluster(&self, op: AclOperation) -> bool {
        self.allowed(op, ResourceType::Cluster, CLUSTER_RESOURCE_NAME)
    }

    /// `op` on a topic.
    pub fn topic(&self, op: AclOperation, name: &str) -> bool {
        self.allowed(op, ResourceType::Topic, name)
    }

    /// `op` on a group.
    pub fn group(&self, op: AclOperation, name: &str) -> bool {
        self.allowed(op, ResourceType::Group, name)
    }

    /// Kafka's `authorizeByResourceType`: `op` on at least one resource of the type.
    pub fn any_of_type(&self, op: AclOperation, resource_type: ResourceType) -> bool {
        let Some((acls, config)) = &self.acls else {
            return true;
        };
        decide_by_resource_type(acls, config, self.principal, self.host, op, resource_type)
            == AuthorizationResult::Allowed
    }

    /// The operations the caller may do on the resource, as the bit field of operation codes
    /// Kafka's responses carry (`authorizedOperations`).
    pub fn authorized_operations(&self, resource_type: ResourceType, name: &str) -> i32 {
        supported_operations(resource_type)
            .iter()
            .filter(|op| self.allowed_quietly(**op, resource_type, name))
            .fold(0, |bits, op| bits | (1 << op.code()))
    }
}

/// TOPIC_AUTHORIZATION_FAILED (`ResponseError::code` is not const; a test checks these).
pub(crate) const TOPIC_DENIED: i16 = 29;
/// GROUP_AUTHORIZATION_FAILED.
pub(crate) const GROUP_DENIED: i16 = 30;
/// CLUSTER_AUTHORIZATION_FAILED.
pub(crate) const CLUSTER_DENIED: i16 = 31;

/// Splits `items` into (allowed, refused) by `allowed`, keeping their order.
pub(crate) fn split_by<T>(items: Vec<T>, mut allowed: impl FnMut(&T) -> bool) -> (Vec<T>, Vec<T>) {
    items.into_iter().partition(|item| allowed(item))
}
