//! Which ACLs a znode the brokers create gets: Kafka's `ZkData.defaultAcls`.
//!
//! With `zookeeper.set.acl=false` every znode is open (`world:anyone` ALL), as before. With it
//! on, every znode gets `auth` ALL (ZooKeeper expands that to the identities the creating session
//! authenticated with, e.g. `sasl:kafka`) plus `world:anyone` READ, except:
//! - the sensitive subtrees (`/config/users`, `/config/brokers`, `/delegation_token/tokens`:
//!   SCRAM credentials, broker passwords, tokens) get no world READ;
//! - `/consumers` itself stays open, because old consumers write their own nodes under it.
//!
//! Paths are relative to the chroot, as Kafka's are. Every creation in this crate goes through
//! [`ZnodeAcls::for_path`], so no znode can be created with ACLs decided anywhere else.

use zookeeper_client::{Acl, Acls, CreateMode, CreateOptions, Permission};

/// Kafka's `ZkData.SensitiveRootPaths`: subtrees nobody but the brokers may read. Matched as
/// plain prefixes, as Kafka matches them.
pub const SENSITIVE_ROOT_PATHS: [&str; 3] = [
    "/config/users",
    "/config/brokers",
    "/delegation_token/tokens",
];

/// Kafka's `ConsumerPathZNode`: left open even when secure.
const CONSUMERS_PATH: &str = "/consumers";

/// `auth` ALL: the creating session's authenticated identities get every permission.
const CREATOR_ALL: Acl = Acl::new_const(Permission::ALL, "auth", "");
/// `world:anyone` READ.
const WORLD_READ: Acl = Acl::new_const(Permission::READ, "world", "anyone");

/// Whether znodes are created secure (`zookeeper.set.acl`), and the ACLs that implies per path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZnodeAcls {
    secure: bool,
}

/// The ACL list of one path: borrowed statics, so building create options allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathAcls {
    /// `world:anyone` ALL.
    Open,
    /// `auth` ALL + `world:anyone` READ.
    CreatorAllWorldRead,
    /// `auth` ALL only.
    CreatorOnly,
}

static CREATOR_ALL_WORLD_READ: [Acl; 2] = [CREATOR_ALL, WORLD_READ];
static CREATOR_ONLY: [Acl; 1] = [CREATOR_ALL];

impl PathAcls {
    /// The list handed to ZooKeeper.
    pub fn acls(self) -> Acls<'static> {
        match self {
            PathAcls::Open => Acls::anyone_all(),
            PathAcls::CreatorAllWorldRead => Acls::new(&CREATOR_ALL_WORLD_READ),
            PathAcls::CreatorOnly => Acls::new(&CREATOR_ONLY),
        }
    }

    /// Create options for `mode` with these ACLs.
    pub fn options(self, mode: CreateMode) -> CreateOptions<'static> {
        mode.with_acls(self.acls())
    }
}

impl ZnodeAcls {
    /// Every znode open (`zookeeper.set.acl=false`).
    pub const OPEN: ZnodeAcls = ZnodeAcls { secure: false };
    /// Kafka's secure ACLs (`zookeeper.set.acl=true`).
    pub const SECURE: ZnodeAcls = ZnodeAcls { secure: true };

    /// `secure` as `zookeeper.set.acl` says.
    pub fn new(secure: bool) -> ZnodeAcls {
        ZnodeAcls { secure }
    }

    /// Whether znodes are created secure.
    pub fn is_secure(self) -> bool {
        self.secure
    }

    /// The ACLs for a znode created at `path` (relative to the chroot; for a sequential node,
    /// its prefix).
    pub fn for_path(self, path: &str) -> PathAcls {
        if !self.secure || path == CONSUMERS_PATH {
            PathAcls::Open
        } else if is_sensitive(path) {
            PathAcls::CreatorOnly
        } else {
            PathAcls::CreatorAllWorldRead
        }
    }
}

/// Kafka's `ZkData.sensitivePath`.
pub fn is_sensitive(path: &str) -> bool {
    SENSITIVE_ROOT_PATHS
        .iter()
        .any(|root| path.starts_with(root))
}

/// An ACL as `scheme:id:PERMISSIONS` (e.g. `sasl:kafka:ALL`), for logs and tests.
pub fn describe(acl: &Acl) -> String {
    format!("{}:{}:{}", acl.scheme(), acl.id(), acl.permission())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_when_not_secure() {
        for path in [
            "/brokers/ids/1",
            "/config/users/alice",
            "/consumers",
            "/kafka",
        ] {
            assert_eq!(ZnodeAcls::OPEN.for_path(path), PathAcls::Open, "{path}");
        }
    }

    #[test]
    fn secure_as_kafka_default_acls() {
        let acls = ZnodeAcls::SECURE;
        assert_eq!(
            acls.for_path("/brokers/topics/t/partitions/0/state"),
            PathAcls::CreatorAllWorldRead
        );
        assert_eq!(acls.for_path("/config"), PathAcls::CreatorAllWorldRead);
        assert_eq!(
            acls.for_path("/config/topics/t"),
            PathAcls::CreatorAllWorldRead
        );
        assert_eq!(acls.for_path("/config/users"), PathAcls::CreatorOnly);
        assert_eq!(acls.for_path("/config/users/alice"), PathAcls::CreatorOnly);
        assert_eq!(acls.for_path("/config/brokers/1"), PathAcls::CreatorOnly);
        assert_eq!(
            acls.for_path("/delegation_token/tokens/t1"),
            PathAcls::CreatorOnly
        );
        assert_eq!(
            acls.for_path("/delegation_token"),
            PathAcls::CreatorAllWorldRead
        );
        // The old consumer root stays open; what brokers create below it does not.
        assert_eq!(acls.for_path("/consumers"), PathAcls::Open);
        assert_eq!(
            acls.for_path("/consumers/g/offsets/t/0"),
            PathAcls::CreatorAllWorldRead
        );
    }

    #[test]
    fn acl_lists_are_kafkas() {
        let list: Vec<String> = PathAcls::CreatorAllWorldRead
            .acls()
            .iter()
            .map(describe)
            .collect();
        assert_eq!(list, ["auth::ALL", "world:anyone:READ"]);
        let list: Vec<String> = PathAcls::CreatorOnly.acls().iter().map(describe).collect();
        assert_eq!(list, ["auth::ALL"]);
        let list: Vec<String> = PathAcls::Open.acls().iter().map(describe).collect();
        assert_eq!(list, ["world:anyone:ALL"]);
    }
}
