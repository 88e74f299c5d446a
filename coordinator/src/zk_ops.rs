//! Typed ZooKeeper operations over [`Zk`]: every error carries the path, absent nodes are
//! `Option`s, and multi-ops (including the controller's epoch-fenced ones) are one call.

use zookeeper_client::{
    Acl, Client, CreateMode, CreateOptions, MultiWriteError, MultiWriteResult, OneshotWatcher, Stat,
};

use crate::connect::Zk;
use crate::error::ZkError;
use crate::zk_acl::ZnodeAcls;
use crate::znode::ControllerEpochZNode;

/// One write inside a ZooKeeper multi.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkOp {
    /// Create a persistent (or, with `ephemeral`, ephemeral) node.
    Create {
        /// Path.
        path: String,
        /// Data (empty for Kafka's "null" container nodes).
        data: Vec<u8>,
        /// Ephemeral instead of persistent.
        ephemeral: bool,
    },
    /// Create a persistent sequential node: `path` is the prefix ZooKeeper appends the
    /// sequence number to (e.g. `/kafka-acl-changes/acl_changes_`).
    CreateSequential {
        /// Path prefix.
        path: String,
        /// Data.
        data: Vec<u8>,
    },
    /// Set data, conditional on `version` unless `None`.
    SetData {
        /// Path.
        path: String,
        /// New data.
        data: Vec<u8>,
        /// Expected zkVersion (`None` = any).
        version: Option<i32>,
    },
    /// Delete, conditional on `version` unless `None`.
    Delete {
        /// Path.
        path: String,
        /// Expected zkVersion (`None` = any).
        version: Option<i32>,
    },
    /// Fail the multi unless the node has this zkVersion.
    Check {
        /// Path.
        path: String,
        /// Expected zkVersion.
        version: i32,
    },
}

impl ZkOp {
    /// Persistent create.
    pub fn create(path: impl Into<String>, data: Vec<u8>) -> ZkOp {
        ZkOp::Create {
            path: path.into(),
            data,
            ephemeral: false,
        }
    }

    /// Conditional set.
    pub fn set(path: impl Into<String>, data: Vec<u8>, version: i32) -> ZkOp {
        ZkOp::SetData {
            path: path.into(),
            data,
            version: Some(version),
        }
    }

    /// The path this op touches.
    pub fn path(&self) -> &str {
        match self {
            ZkOp::Create { path, .. }
            | ZkOp::CreateSequential { path, .. }
            | ZkOp::SetData { path, .. }
            | ZkOp::Delete { path, .. }
            | ZkOp::Check { path, .. } => path,
        }
    }

    fn describe(&self) -> String {
        let verb = match self {
            ZkOp::Create { .. } | ZkOp::CreateSequential { .. } => "create",
            ZkOp::SetData { .. } => "setData",
            ZkOp::Delete { .. } => "delete",
            ZkOp::Check { .. } => "check",
        };
        format!("{verb} {}", self.path())
    }
}

fn mode(ephemeral: bool) -> CreateMode {
    if ephemeral {
        CreateMode::Ephemeral
    } else {
        CreateMode::Persistent
    }
}

impl Zk {
    /// Creates a node; NODEEXISTS and NONODE come back as errors (see [`ZkError::is_node_exists`]).
    pub async fn create(&self, path: &str, data: &[u8], ephemeral: bool) -> Result<Stat, ZkError> {
        let client = self.client()?;
        let options = self.create_options(path, mode(ephemeral));
        let result = client.create(path, data, &options).await;
        result
            .map(|(stat, _)| stat)
            .map_err(|e| ZkError::client(format!("create {path}"), e))
    }

    /// Creates a persistent node and its missing parents with empty data; NODEEXISTS is success
    /// (Kafka's `makeSurePersistentPathExists`).
    pub async fn ensure_path(&self, path: &str) -> Result<(), ZkError> {
        ensure_path_with(&self.client()?, path, self.acls()).await
    }

    /// Create options for a node at `path` (a sequential node's prefix): the one place a
    /// znode's ACLs are decided ([`ZnodeAcls::for_path`]).
    fn create_options(&self, path: &str, mode: CreateMode) -> CreateOptions<'static> {
        self.acls().for_path(path).options(mode)
    }

    /// Reads a node; `None` if it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<(Vec<u8>, Stat)>, ZkError> {
        let client = self.client()?;
        match client.get_data(path).await {
            Ok(found) => Ok(Some(found)),
            Err(zookeeper_client::Error::NoNode) => Ok(None),
            Err(e) => Err(ZkError::client(format!("getData {path}"), e)),
        }
    }

    /// Reads a node's ACLs; `None` if it does not exist.
    pub async fn acl(&self, path: &str) -> Result<Option<Vec<Acl>>, ZkError> {
        let client = self.client()?;
        match client.get_acl(path).await {
            Ok((acls, _)) => Ok(Some(acls)),
            Err(zookeeper_client::Error::NoNode) => Ok(None),
            Err(e) => Err(ZkError::client(format!("getAcl {path}"), e)),
        }
    }

    /// ZooKeeper's `sync`: the server this session talks to catches up with the leader, so
    /// reads issued after it see every write committed before the call (the session's own
    /// server may lag behind a write another session's server has acknowledged).
    pub async fn sync(&self) -> Result<(), ZkError> {
        let client = self.client()?;
        let result = client.sync("/").await;
        result.map_err(|e| ZkError::client("sync", e))
    }

    /// Reads a node's stat; `None` if it does not exist.
    pub async fn stat(&self, path: &str) -> Result<Option<Stat>, ZkError> {
        let client = self.client()?;
        client
            .check_stat(path)
            .await
            .map_err(|e| ZkError::client(format!("exists {path}"), e))
    }

    /// Sets data, conditional on `version` unless `None`; returns the new stat.
    pub async fn set(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<Stat, ZkError> {
        let client = self.client()?;
        let result = client.set_data(path, data, version).await;
        result.map_err(|e| ZkError::client(format!("setData {path}"), e))
    }

    /// Lists children (sorted); empty if the node does not exist.
    pub async fn children(&self, path: &str) -> Result<Vec<String>, ZkError> {
        let client = self.client()?;
        match client.list_children(path).await {
            Ok(mut children) => {
                children.sort();
                Ok(children)
            }
            Err(zookeeper_client::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(ZkError::client(format!("getChildren {path}"), e)),
        }
    }

    /// Lists children (sorted) and leaves a child watch on the node.
    pub async fn watch_children(
        &self,
        path: &str,
    ) -> Result<(Vec<String>, OneshotWatcher), ZkError> {
        let client = self.client()?;
        let result = client.get_and_watch_children(path).await;
        let (mut children, _, watcher) =
            result.map_err(|e| ZkError::client(format!("getChildren+watch {path}"), e))?;
        children.sort();
        Ok((children, watcher))
    }

    /// Reads a node and leaves a data watch on it.
    pub async fn watch_data(&self, path: &str) -> Result<(Vec<u8>, Stat, OneshotWatcher), ZkError> {
        let client = self.client()?;
        let result = client.get_and_watch_data(path).await;
        result.map_err(|e| ZkError::client(format!("getData+watch {path}"), e))
    }

    /// Stats a node (maybe absent) and leaves an exists watch (fires on create/delete/change).
    pub async fn watch_exists(
        &self,
        path: &str,
    ) -> Result<(Option<Stat>, OneshotWatcher), ZkError> {
        let client = self.client()?;
        let result = client.check_and_watch_stat(path).await;
        result.map_err(|e| ZkError::client(format!("exists+watch {path}"), e))
    }

    /// Creates a persistent sequential node under `prefix` (e.g. `/config/changes/config_change_`)
    /// and returns the full path ZooKeeper gave it.
    pub async fn create_sequential(&self, prefix: &str, data: &[u8]) -> Result<String, ZkError> {
        let client = self.client()?;
        let options = self.create_options(prefix, CreateMode::PersistentSequential);
        let result = client.create(prefix, data, &options).await;
        let (_, sequence) = result.map_err(|e| ZkError::client(format!("create {prefix}N"), e))?;
        Ok(format!("{prefix}{sequence}"))
    }

    /// Deletes a node (any version); NONODE is success.
    pub async fn delete(&self, path: &str) -> Result<(), ZkError> {
        let client = self.client()?;
        match client.delete(path, None).await {
            Ok(()) | Err(zookeeper_client::Error::NoNode) => Ok(()),
            Err(e) => Err(ZkError::client(format!("delete {path}"), e)),
        }
    }

    /// `path` and all its descendants, deepest first (the order a recursive delete needs).
    /// Empty if `path` does not exist.
    pub async fn subtree_deepest_first(&self, path: &str) -> Result<Vec<String>, ZkError> {
        if self.stat(path).await?.is_none() {
            return Ok(Vec::new());
        }
        let mut order = Vec::new();
        let mut stack = vec![path.to_string()];
        while let Some(node) = stack.pop() {
            for child in self.children(&node).await? {
                stack.push(format!("{node}/{child}"));
            }
            order.push(node);
        }
        // Pre-order puts parents before children; reversing puts every child before its parent.
        order.reverse();
        Ok(order)
    }

    /// Runs `ops` as one all-or-nothing multi; a failed op's error names that op.
    pub async fn multi(&self, ops: &[ZkOp]) -> Result<Vec<MultiWriteResult>, ZkError> {
        let client = self.client()?;
        let mut writer = client.new_multi_writer();
        for op in ops {
            let added = match op {
                ZkOp::Create {
                    path,
                    data,
                    ephemeral,
                } => writer.add_create(path, data, &self.create_options(path, mode(*ephemeral))),
                ZkOp::CreateSequential { path, data } => {
                    let options = self.create_options(path, CreateMode::PersistentSequential);
                    writer.add_create(path, data, &options)
                }
                ZkOp::SetData {
                    path,
                    data,
                    version,
                } => writer.add_set_data(path, data, *version),
                ZkOp::Delete { path, version } => writer.add_delete(path, *version),
                ZkOp::Check { path, version } => writer.add_check_version(path, *version),
            };
            added.map_err(|e| ZkError::client(format!("multi {}", op.describe()), e))?;
        }
        writer.commit().await.map_err(|e| match e {
            MultiWriteError::RequestFailed { source } => ZkError::client("multi", source),
            MultiWriteError::OperationFailed { index, source } => {
                let what = ops.get(index).map(ZkOp::describe).unwrap_or_default();
                ZkError::client(format!("multi {what}"), source)
            }
        })
    }

    /// Runs `ops` fenced by the controller epoch: multi[check(/controller_epoch, epoch_zk_version), ops...].
    ///
    /// A failed check means another broker became controller: [`ZkError::ControllerMoved`].
    /// Results exclude the check.
    pub async fn fenced_multi(
        &self,
        epoch_zk_version: i32,
        ops: Vec<ZkOp>,
    ) -> Result<Vec<MultiWriteResult>, ZkError> {
        let check = ZkOp::Check {
            path: ControllerEpochZNode::PATH.to_string(),
            version: epoch_zk_version,
        };
        let all: Vec<ZkOp> = std::iter::once(check).chain(ops).collect();
        match self.multi(&all).await {
            Ok(mut results) => {
                if !results.is_empty() {
                    results.remove(0);
                }
                Ok(results)
            }
            Err(ZkError::Client { context, source }) if context == epoch_check_context() => {
                tracing::warn!(%source, "controller epoch check failed");
                Err(ZkError::ControllerMoved)
            }
            Err(e) => Err(e),
        }
    }
}

/// Creates `path` and its missing ancestors, each with its own path's ACLs, with empty data;
/// an existing node is success (also when its parent's ACL forbids us to create there). Kafka's `createRecursive`: one create when the parent exists, the
/// ancestors top-down only when it does not.
pub(crate) async fn ensure_path_with(
    client: &Client,
    path: &str,
    acls: ZnodeAcls,
) -> Result<(), ZkError> {
    let create = |node: &str| {
        let options = acls.for_path(node).options(CreateMode::Persistent);
        let node = node.to_owned();
        async move {
            match client.create(&node, &[], &options).await {
                Ok(_) | Err(zookeeper_client::Error::NodeExists) => Ok(()),
                // ZooKeeper checks the parent's ACL before existence: a node that exists under
                // a parent we may not write is still there (Kafka checks pathExists first).
                Err(zookeeper_client::Error::NoAuth)
                    if matches!(client.check_stat(&node).await, Ok(Some(_))) =>
                {
                    Ok(())
                }
                Err(e) => Err((node, e)),
            }
        }
    };
    let first = match create(path).await {
        Err((_, zookeeper_client::Error::NoNode)) => None,
        other => Some(other),
    };
    let result = match first {
        Some(done) => done,
        None => {
            let mut result = Ok(());
            for ancestor in ancestors(path) {
                result = create(ancestor).await;
                if result.is_err() {
                    break;
                }
            }
            match result {
                Ok(()) => create(path).await,
                failed => failed,
            }
        }
    };
    result.map_err(|(node, e)| ZkError::client(format!("create {node}"), e))
}

/// The proper ancestors of `path`, top-down, without `/`: `/a/b/c` → `/a`, `/a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(|(i, _)| &path[..i])
        .filter(|prefix| !prefix.is_empty())
}

/// The context [`Zk::multi`] gives a failure of the epoch check op.
fn epoch_check_context() -> String {
    format!("multi check {}", ControllerEpochZNode::PATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_top_down() {
        let all: Vec<&str> = ancestors("/config/users/alice").collect();
        assert_eq!(all, ["/config", "/config/users"]);
        assert_eq!(ancestors("/brokers").count(), 0);
    }
}
