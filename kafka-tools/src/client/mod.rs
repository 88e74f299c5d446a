//! The tools' way to the cluster, as Kafka's Admin client does it: bootstrap from
//! `--bootstrap-server`, learn the brokers and the controller from Metadata, pick each API's
//! version from the brokers' ApiVersions, and send each request where Kafka sends it (any
//! broker, a given broker, the controller, a group's coordinator). One connection per broker,
//! opened on first use; every step bounded by [`REQUEST_TIMEOUT`].

pub mod consumer_protocol;
pub mod fetch;
pub mod membership;
pub mod offsets;
pub mod partitioner;
pub mod produce;
pub mod props;
pub mod security;
pub mod topics;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use kafka_client::KafkaConnection;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest, MetadataRequest,
    MetadataResponse,
};
use kafka_protocol::protocol::{Request, StrBytes};

use crate::error::{Result, ToolError};
pub use security::Security;

/// Bound on connecting and on each request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CLIENT_ID: &str = "kafka-tools";

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any broker (the least busy in Kafka; here the first one reached).
    Any,
    /// This broker.
    Node(i32),
    /// The active controller.
    Controller,
}

/// A broker's address, from Metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// A client of the whole cluster.
pub struct Admin {
    security: Security,
    /// The client id every request carries (CLIENT-ID in a group's description).
    client_id: String,
    /// The connection made while bootstrapping (its broker id is unknown until Metadata).
    bootstrap: Option<KafkaConnection>,
    conns: HashMap<i32, KafkaConnection>,
    /// What the bootstrap broker serves: api key → (min, max).
    versions: BTreeMap<i16, (i16, i16)>,
    nodes: BTreeMap<i32, Node>,
    controller: i32,
    cluster_id: Option<String>,
}

impl Admin {
    /// Connects to the first reachable of `bootstrap` ("host:port,host:port"), reads its
    /// ApiVersions and the cluster's brokers.
    pub async fn connect(bootstrap: &str, security: Security) -> Result<Admin> {
        Admin::connect_as(bootstrap, security, CLIENT_ID).await
    }

    /// [`Admin::connect`] naming itself `client_id` (the console clients are
    /// `console-producer` / `console-consumer`, or their `client.id` property).
    pub async fn connect_as(bootstrap: &str, security: Security, client_id: &str) -> Result<Admin> {
        let mut last_error = None;
        for server in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (host, port) = parse_host_port(server)?;
            match open(&host, port, &security, client_id).await {
                Ok(mut conn) => {
                    let versions = api_versions(&mut conn)
                        .await
                        .map_err(|e| ToolError::io(format!("ApiVersions from {server}"), e))?;
                    let mut admin = Admin {
                        security,
                        client_id: client_id.to_owned(),
                        bootstrap: Some(conn),
                        conns: HashMap::new(),
                        versions,
                        nodes: BTreeMap::new(),
                        controller: -1,
                        cluster_id: None,
                    };
                    admin.refresh().await?;
                    return Ok(admin);
                }
                Err(e) => last_error = Some((server.to_owned(), e)),
            }
        }
        match last_error {
            Some((server, e)) => Err(ToolError::io(format!("connecting to {server}"), e)),
            None => Err(ToolError::usage("--bootstrap-server names no broker")),
        }
    }

    /// Re-reads the brokers, the controller and the cluster id.
    pub async fn refresh(&mut self) -> Result<()> {
        let response = self.metadata(Some(&[])).await?;
        self.nodes = response
            .brokers
            .iter()
            .map(|b| {
                let id = b.node_id.0;
                let port = u16::try_from(b.port).unwrap_or(0);
                (
                    id,
                    Node {
                        id,
                        host: b.host.to_string(),
                        port,
                        rack: b.rack.as_ref().map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        self.controller = response.controller_id.0;
        self.cluster_id = response.cluster_id.as_ref().map(|c| c.to_string());
        Ok(())
    }

    /// The brokers, by id.
    pub fn nodes(&self) -> &BTreeMap<i32, Node> {
        &self.nodes
    }

    /// The active controller's id (-1 when there is none).
    pub fn controller_id(&self) -> i32 {
        self.controller
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// The range of versions of `key` the bootstrap broker serves.
    pub fn served(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.versions.get(&(key as i16)).copied()
    }

    /// Every API the bootstrap broker serves: key → (min, max).
    pub fn served_apis(&self) -> &BTreeMap<i16, (i16, i16)> {
        &self.versions
    }

    /// The highest version of `R` both we (kafka-protocol) and the brokers speak.
    pub fn version<R: Request>(&self) -> Result<i16> {
        let (min, max) = self.versions.get(&R::KEY).copied().ok_or_else(|| {
            ToolError::usage(format!("the broker does not support {}", api_name(R::KEY)))
        })?;
        let ours = R::VERSIONS;
        let version = max.min(ours.max);
        if version < min.max(ours.min) {
            return Err(ToolError::usage(format!(
                "no common version of {} (broker {min}-{max}, tool {}-{})",
                api_name(R::KEY),
                ours.min,
                ours.max
            )));
        }
        Ok(version)
    }

    /// Sends `request` at the highest common version.
    pub async fn send<R: Request>(&mut self, target: Target, request: &R) -> Result<R::Response> {
        let version = self.version::<R>()?;
        self.send_at(target, request, version).await
    }

    /// Sends `request` at `version` to `target`.
    pub async fn send_at<R: Request>(
        &mut self,
        target: Target,
        request: &R,
        version: i16,
    ) -> Result<R::Response> {
        let context = format!("{} to {}", api_name(R::KEY), self.describe(target));
        let conn = self.connection(target).await?;
        conn.request(request, version)
            .await
            .map_err(|e| ToolError::io(context, e))
    }

    /// Sends `request` to `target` without waiting for an answer (Produce with acks=0, which
    /// the broker does not answer).
    pub async fn send_no_response<R: Request>(
        &mut self,
        target: Target,
        request: &R,
    ) -> Result<()> {
        let version = self.version::<R>()?;
        let context = format!("{} to {}", api_name(R::KEY), self.describe(target));
        let conn = self.connection(target).await?;
        conn.send_only(request, version)
            .await
            .map_err(|e| ToolError::io(context, e))
    }

    /// Sends `request` to the active controller. When `not_controller` says the answer came
    /// from a broker that is not (or no longer) the controller, re-reads who is and tries
    /// again, a few times, as Kafka's Admin client does.
    pub async fn send_controller<R: Request>(
        &mut self,
        request: &R,
        not_controller: impl Fn(&R::Response) -> bool,
    ) -> Result<R::Response> {
        const ATTEMPTS: usize = 5;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self.send(Target::Controller, request).await?;
            if attempt >= ATTEMPTS || !not_controller(&response) {
                return Ok(response);
            }
            tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
            self.refresh().await?;
        }
    }

    /// Metadata for `topics` (`None`: every topic).
    pub async fn metadata(&mut self, topics: Option<&[String]>) -> Result<MetadataResponse> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(StrBytes::from_string(t.clone()).into()))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        self.send(Target::Any, &request).await
    }

    /// The coordinator of `key` (key type 0: a group, 1: a transactional id).
    pub async fn find_coordinator(&mut self, key: &str, key_type: i8) -> Result<i32> {
        let version = self.version::<FindCoordinatorRequest>()?;
        let mut request = FindCoordinatorRequest::default().with_key_type(key_type);
        if version >= 4 {
            request = request.with_coordinator_keys(vec![StrBytes::from_string(key.to_owned())]);
        } else {
            request = request.with_key(StrBytes::from_string(key.to_owned()));
        }
        let response = self.send_at(Target::Any, &request, version).await?;
        let (node, code, message) = match response.coordinators.first() {
            Some(c) if version >= 4 => (c.node_id.0, c.error_code, c.error_message.clone()),
            _ => (
                response.node_id.0,
                response.error_code,
                response.error_message.clone(),
            ),
        };
        ToolError::check(
            format!("finding the coordinator of {key}"),
            code,
            message.as_ref().map(|m| m.as_str()),
        )?;
        Ok(node)
    }

    fn describe(&self, target: Target) -> String {
        match target {
            Target::Any => "the cluster".to_owned(),
            Target::Node(id) => format!("broker {id}"),
            Target::Controller => format!("the controller (broker {})", self.controller),
        }
    }

    async fn connection(&mut self, target: Target) -> Result<&mut KafkaConnection> {
        let id = match target {
            Target::Any => {
                if self.bootstrap.is_some() {
                    return self
                        .bootstrap
                        .as_mut()
                        .ok_or_else(|| ToolError::usage("no connection"));
                }
                match self
                    .conns
                    .keys()
                    .next()
                    .copied()
                    .or_else(|| self.nodes.keys().next().copied())
                {
                    Some(id) => id,
                    None => return Err(ToolError::usage("no broker is known")),
                }
            }
            Target::Node(id) => id,
            // Callers that saw NOT_CONTROLLER call `refresh` and retry.
            Target::Controller if self.controller < 0 => {
                return Err(ToolError::usage("the cluster has no active controller"));
            }
            Target::Controller => self.controller,
        };
        if !self.conns.contains_key(&id) {
            let node = self.nodes.get(&id).cloned().ok_or_else(|| {
                ToolError::usage(format!("broker {id} is not in the cluster's metadata"))
            })?;
            let conn = open(&node.host, node.port, &self.security, &self.client_id)
                .await
                .map_err(|e| {
                    ToolError::io(
                        format!("connecting to broker {id} at {}:{}", node.host, node.port),
                        e,
                    )
                })?;
            self.conns.insert(id, conn);
        }
        self.conns
            .get_mut(&id)
            .ok_or_else(|| ToolError::usage(format!("no connection to broker {id}")))
    }
}

/// Opens one connection: TCP, TLS when configured, SASL when configured.
async fn open(
    host: &str,
    port: u16,
    security: &Security,
    client_id: &str,
) -> std::io::Result<KafkaConnection> {
    let mut conn = KafkaConnection::connect_with(
        host,
        port,
        client_id,
        REQUEST_TIMEOUT,
        security.tls.as_ref(),
    )
    .await?;
    kafka_client::authenticate_if(&mut conn, security.sasl.as_ref()).await?;
    Ok(conn)
}

async fn api_versions(conn: &mut KafkaConnection) -> std::io::Result<BTreeMap<i16, (i16, i16)>> {
    // v3 names the client in the broker's logs; every broker since Kafka 2.4 serves it.
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("kafka-tools"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    let response: ApiVersionsResponse = conn.request(&request, 3).await?;
    if response.error_code != 0 {
        return Err(std::io::Error::other(format!(
            "ApiVersions failed with error code {}",
            response.error_code
        )));
    }
    Ok(response
        .api_keys
        .iter()
        .map(|k| (k.api_key, (k.min_version, k.max_version)))
        .collect())
}

/// "host:port", IPv6 hosts in brackets.
pub fn parse_host_port(server: &str) -> Result<(String, u16)> {
    let bad = || ToolError::usage(format!("Invalid url in bootstrap.servers: {server}"));
    let (host, port) = server.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// An API's name as Kafka prints it (`CreateTopics`).
pub fn api_name(key: i16) -> String {
    match ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(()) => format!("api {key}"),
    }
}
