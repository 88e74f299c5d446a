//! Authorization: Kafka's ACL model and `AclAuthorizer`'s decision.
//!
//! - [`acl`]: bindings (pattern + entry) and the DescribeAcls / DeleteAcls filters. The stored
//!   types and their ZooKeeper format are the coordinator's (`coordinator::acl`), re-exported.
//! - [`authorizer`]: the per-request decision over an indexed, swappable ACL snapshot.
//!
//! Not wired into the request path yet: CreateAcls / DescribeAcls / DeleteAcls, the
//! authorization stage before the handlers, and the ACL change watch come next.

pub mod acl;
pub mod authorizer;

pub use acl::{AclBinding, AclBindingFilter};
pub use authorizer::{
    decide, java_host_address, AclIndex, AuthorizationResult, Authorizer, AuthorizerConfig,
};
