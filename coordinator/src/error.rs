//! The crate's one error type.

use std::time::Duration;

/// Everything that can go wrong talking to ZooKeeper or deciding on its contents.
///
/// Callers map these to Kafka error codes at their API edge (e.g. [`ZkError::TopicExists`] →
/// TOPIC_ALREADY_EXISTS); this crate never knows about Kafka error codes.
#[derive(thiserror::Error, Debug)]
pub enum ZkError {
    /// A ZooKeeper operation failed; `context` names the operation and path.
    #[error("ZooKeeper {context}: {source}")]
    Client {
        /// What we were doing, e.g. `create /brokers/ids/1`.
        context: String,
        /// The client's error (mirrors ZooKeeper's error codes).
        #[source]
        source: zookeeper_client::Error,
    },
    /// The connect string could not be parsed.
    #[error("invalid ZooKeeper connect string {0:?}: expected host:port[,host:port...][/chroot]")]
    InvalidConnectString(String),
    /// No session could be established in time.
    #[error("could not connect to ZooKeeper at {servers} within {timeout:?}")]
    ConnectTimeout {
        /// The servers tried.
        servers: String,
        /// The bound that elapsed.
        timeout: Duration,
    },
    /// The JAAS login file (`java.security.auth.login.config`) cannot be used.
    #[error("ZooKeeper JAAS login file {path}: {message}")]
    LoginConfig {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// `zookeeper.set.acl=true` but the session would not authenticate.
    #[error(
        "zookeeper.set.acl is true, but the brokers do not authenticate to ZooKeeper: set \
         java.security.auth.login.config (in KAFKA_OPTS as -Djava.security.auth.login.config=FILE, \
         or as a broker config key) to a JAAS file with a Client section using \
         org.apache.zookeeper.server.auth.DigestLoginModule, or connect with a TLS client \
         certificate (zookeeper.ssl.client.enable and zookeeper.ssl.keystore.location)"
    )]
    SecureAclsWithoutAuthentication,
    /// ZooKeeper refused the session's credentials.
    #[error("ZooKeeper at {servers} rejected the SASL login of user '{user}' (wrong username or password, or SASL not enabled on the server)")]
    AuthFailed {
        /// The servers tried.
        servers: String,
        /// The SASL username.
        user: String,
    },
    /// The TLS material for ZooKeeper is unusable.
    #[error("TLS to ZooKeeper: {message}")]
    Tls {
        /// What is wrong.
        message: String,
    },
    /// The session was established but ZooKeeper did not authenticate it with SASL.
    #[error(
        "ZooKeeper at {servers} did not authenticate the SASL login of user '{user}' (session \
         identities: [{identities}]): enable SASL on the server \
         (authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider and a JAAS \
         Server section)"
    )]
    NotAuthenticated {
        /// The servers tried.
        servers: String,
        /// The SASL username.
        user: String,
        /// What the server says the session is (`whoami`).
        identities: String,
    },
    /// [`crate::Zk::close`] was called; the session is gone.
    #[error("the ZooKeeper session has been closed")]
    Closed,
    /// `/brokers/ids/<id>` is held by a live session that is not ours.
    #[error(
        "broker id {id} is already registered in /brokers/ids/{id} by another live ZooKeeper \
         session: another broker with this id is running (or a previous incarnation's session \
         has not expired yet)"
    )]
    BrokerAlreadyRegistered {
        /// The contested broker id.
        id: i32,
    },
    /// The controller epoch check failed: another broker became controller.
    #[error(
        "controller moved: /controller_epoch changed, another broker is the active controller"
    )]
    ControllerMoved,
    /// A znode's data is not in the format Kafka writes.
    #[error("bad data in znode {path}: {message}")]
    Json {
        /// The znode.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// `/brokers/topics/<t>` already exists.
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    /// Replication factor not satisfiable with the live brokers.
    #[error("replication factor {requested} is invalid: it must be at least 1 and at most the {available} live broker(s)")]
    InvalidReplicationFactor {
        /// What was asked for.
        requested: i16,
        /// Live brokers.
        available: usize,
    },
    /// Invalid partition count (or partition change).
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    /// Invalid topic name.
    #[error("invalid topic name: {0}")]
    InvalidTopic(String),
    /// An explicit replica assignment is unusable (Kafka: INVALID_REPLICA_ASSIGNMENT).
    #[error("invalid replica assignment: {0}")]
    InvalidReplicaAssignment(String),
    /// The topic does not exist.
    #[error("topic '{0}' does not exist")]
    UnknownTopic(String),
}

impl ZkError {
    /// Wraps a client error with what we were doing.
    pub fn client(context: impl Into<String>, source: zookeeper_client::Error) -> ZkError {
        ZkError::Client {
            context: context.into(),
            source,
        }
    }

    /// Builds a [`ZkError::Json`].
    pub fn json(path: impl Into<String>, message: impl ToString) -> ZkError {
        ZkError::Json {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// The ZooKeeper error code underneath, if this is a client error.
    pub fn zk_code(&self) -> Option<&zookeeper_client::Error> {
        match self {
            ZkError::Client { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True if ZooKeeper said the node already exists.
    pub fn is_node_exists(&self) -> bool {
        matches!(self.zk_code(), Some(zookeeper_client::Error::NodeExists))
    }

    /// True if ZooKeeper said the node does not exist.
    pub fn is_no_node(&self) -> bool {
        matches!(self.zk_code(), Some(zookeeper_client::Error::NoNode))
    }

    /// True if ZooKeeper refused to delete a node that has children.
    pub fn is_not_empty(&self) -> bool {
        matches!(self.zk_code(), Some(zookeeper_client::Error::NotEmpty))
    }

    /// True if a znode's ACL refused the operation (NOAUTH).
    pub fn is_no_auth(&self) -> bool {
        matches!(self.zk_code(), Some(zookeeper_client::Error::NoAuth))
    }

    /// True if a conditional write lost to a concurrent one.
    pub fn is_bad_version(&self) -> bool {
        matches!(self.zk_code(), Some(zookeeper_client::Error::BadVersion))
    }

    /// True once the session is unusable (expired, closed, auth failed): retrying is pointless.
    pub fn is_session_terminal(&self) -> bool {
        match self {
            ZkError::Closed => true,
            ZkError::Client { source, .. } => matches!(
                source,
                zookeeper_client::Error::SessionExpired
                    | zookeeper_client::Error::ClientClosed
                    | zookeeper_client::Error::AuthFailed
            ),
            _ => false,
        }
    }
}

/// Why a request to the active controller (through a
/// [`ControllerHandle`](crate::controller::ControllerHandle)) failed.
#[derive(thiserror::Error, Debug)]
pub enum ControllerError {
    /// This broker is not the active controller (any more).
    #[error("this broker is not the active controller")]
    NotController,
    /// The broker is not registered (Kafka: BROKER_NOT_AVAILABLE).
    #[error("broker {0} is not registered in /brokers/ids")]
    BrokerNotAvailable(i32),
    /// The broker epoch is not the current registration's (Kafka: STALE_BROKER_EPOCH).
    #[error("broker {id} sent broker epoch {given}, its registration has {current}")]
    StaleBrokerEpoch {
        /// The broker.
        id: i32,
        /// Epoch in the request.
        given: i64,
        /// Epoch of its registration.
        current: i64,
    },
    /// The controller did not answer within the bound.
    #[error("the controller did not answer within {0:?}")]
    Timeout(Duration),
    /// ZooKeeper failed while handling the request.
    #[error(transparent)]
    Zk(#[from] ZkError),
}

/// Why the controller refused one partition's reassignment (Kafka's per-partition errors of
/// AlterPartitionReassignments).
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ReassignmentError {
    /// Empty or duplicate replica list, a negative id, or new replicas on brokers that are
    /// not alive (Kafka: INVALID_REPLICA_ASSIGNMENT).
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    /// No such partition, or its topic is being deleted (Kafka: UNKNOWN_TOPIC_OR_PARTITION).
    #[error("The partition does not exist.")]
    UnknownTopicOrPartition,
    /// A cancellation of a partition that is not being reassigned (Kafka:
    /// NO_REASSIGNMENT_IN_PROGRESS).
    #[error("No reassignment in progress.")]
    NoReassignmentInProgress,
}
