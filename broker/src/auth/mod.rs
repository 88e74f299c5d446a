//! Authorization: Kafka's ACL model and `AclAuthorizer`'s decision.
//!
//! - [`acl`]: bindings (pattern + entry) and the DescribeAcls / DeleteAcls filters. The stored
//!   types and their ZooKeeper format are the coordinator's (`coordinator::acl`), re-exported.
//! - [`authorizer`]: the per-request decision over an indexed, swappable ACL snapshot.
//!
//! - [`loader`]: the start-up load, the change watch and the reload after a session expiry.
//!
//! The per-request stage that uses the decision is `api::authorize`.

pub mod acl;
pub mod authorizer;
pub mod loader;

pub use acl::{AclBinding, AclBindingFilter};
pub use authorizer::{
    decide, decide_by_resource_type, java_host_address, AclIndex, AuthorizationResult, Authorizer,
    AuthorizerConfig,
};
