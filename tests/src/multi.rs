//! Several brokers (ids 1..=N) on one ZooKeeper chroot, with helpers to find the controller and a
//! partition's leader and ISR the way a client would (Metadata through the `wire` client).
//!
//! ZooKeeper is either one standalone server ([`MultiCluster::start`]) or a loopback ensemble
//! whose nodes the test can stop, kill and restart ([`MultiCluster::start_on_ensemble`]).

use std::collections::BTreeMap;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, MetadataResponse, ProduceRequest, ProduceResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use serde_json::Value;

use crate::broker::{BrokerProcess, BrokerSetup};
use crate::cluster::{first_json_line, parse_ls};
use crate::wire::WireClient;
use crate::zookeeper::{zk_cli, ZooKeeper, ZooKeeperEnsemble};

/// How long a fresh cluster may take until every broker knows every other one.
const FORM_DEADLINE: Duration = Duration::from_secs(60);

/// The ZooKeeper a [`MultiCluster`] runs on.
pub enum ZkServers {
    Standalone(ZooKeeper),
    Ensemble(ZooKeeperEnsemble),
}

impl ZkServers {
    /// The connect string without chroot (every node for an ensemble).
    pub fn connect_string(&self) -> String {
        match self {
            ZkServers::Standalone(zk) => zk.connect_string(),
            ZkServers::Ensemble(e) => e.connect_string(),
        }
    }
}

/// (leader, ISR) per partition index.
pub type PartitionLeaders = BTreeMap<i32, (i32, Vec<i32>)>;

/// N brokers and their ZooKeeper. Brokers drop (are killed) before ZooKeeper.
pub struct MultiCluster {
    pub brokers: Vec<BrokerProcess>,
    pub zk: ZkServers,
    chroot: String,
}

impl MultiCluster {
    /// Starts ZooKeeper, the chroot `/m-<name>` and brokers 1..=n with `extra` overrides, and
    /// waits until each broker's Metadata lists all n brokers and a controller.
    pub fn start(name: &str, n: i32, extra: &[(&str, &str)]) -> io::Result<MultiCluster> {
        Self::start_on(ZkServers::Standalone(ZooKeeper::start()?), name, n, extra)
    }

    /// [`start`](Self::start) on a ZooKeeper ensemble of `zk_nodes` nodes; the brokers get the
    /// connect string listing every node.
    pub fn start_on_ensemble(
        name: &str,
        zk_nodes: usize,
        n: i32,
        extra: &[(&str, &str)],
    ) -> io::Result<MultiCluster> {
        let ensemble = ZooKeeperEnsemble::start(zk_nodes)?;
        Self::start_on(ZkServers::Ensemble(ensemble), name, n, extra)
    }

    /// [`start`](Self::start), with `prepare` run on the ZooKeeper connect string (without
    /// the cluster's chroot, `/m-<name>`, which does not exist yet) before any broker starts: state the brokers must find at start-up,
    /// such as the ACLs that let them talk to each other under an authorizer.
    pub fn start_prepared(
        name: &str,
        n: i32,
        extra: &[(&str, &str)],
        prepare: impl FnOnce(&str) -> io::Result<()>,
    ) -> io::Result<MultiCluster> {
        let zk = ZkServers::Standalone(ZooKeeper::start()?);
        prepare(&zk.connect_string())?;
        Self::start_on(zk, name, n, extra)
    }

    /// [`start`](Self::start) with settings of each broker's own: broker `i + 1` gets
    /// `extras[i]`.
    pub fn start_each(name: &str, extras: &[&[(&str, &str)]]) -> io::Result<MultiCluster> {
        let zk = ZkServers::Standalone(ZooKeeper::start()?);
        let n = i32::try_from(extras.len()).unwrap_or(i32::MAX);
        Self::start_with(zk, name, n, |id| {
            let index = usize::try_from(id - 1).unwrap_or(0);
            BrokerSetup {
                overrides: extras.get(index).copied().unwrap_or(&[]),
                ..BrokerSetup::default()
            }
        })
    }

    /// Brokers 1..=n on a ZooKeeper the test started (e.g. [`ZooKeeper::start_sasl`]), broker
    /// `i + 1` with `setups[i]` (overrides, environment, config file).
    pub fn start_each_on(
        zk: ZooKeeper,
        name: &str,
        setups: &[BrokerSetup<'_>],
    ) -> io::Result<MultiCluster> {
        let n = i32::try_from(setups.len()).unwrap_or(i32::MAX);
        Self::start_with(ZkServers::Standalone(zk), name, n, |id| {
            let index = usize::try_from(id - 1).unwrap_or(0);
            setups.get(index).copied().unwrap_or_default()
        })
    }

    /// [`start`](Self::start) with a [`BrokerSetup`] of each broker's own: broker `i + 1`
    /// gets `setups[i]`.
    pub fn start_setups(name: &str, setups: &[BrokerSetup<'_>]) -> io::Result<MultiCluster> {
        let zk = ZkServers::Standalone(ZooKeeper::start()?);
        let chroot = format!("/m-{name}");
        let connect = format!("{}{chroot}", zk.connect_string());
        let mut brokers = Vec::new();
        for (id, setup) in (1..).zip(setups) {
            brokers.push(BrokerProcess::start_with(&connect, id, setup)?);
        }
        let cluster = MultiCluster {
            brokers,
            zk,
            chroot,
        };
        cluster.wait_formed()?;
        Ok(cluster)
    }

    fn start_on(
        zk: ZkServers,
        name: &str,
        n: i32,
        extra: &[(&str, &str)],
    ) -> io::Result<MultiCluster> {
        Self::start_with(zk, name, n, |_| BrokerSetup {
            overrides: extra,
            ..BrokerSetup::default()
        })
    }

    fn start_with<'a>(
        zk: ZkServers,
        name: &str,
        n: i32,
        setup: impl Fn(i32) -> BrokerSetup<'a>,
    ) -> io::Result<MultiCluster> {
        let chroot = format!("/m-{name}");
        // The brokers create the chroot themselves, as Kafka does.
        let connect = format!("{}{chroot}", zk.connect_string());
        let mut brokers = Vec::new();
        for id in 1..=n {
            brokers.push(BrokerProcess::start_with(&connect, id, &setup(id))?);
        }
        let cluster = MultiCluster {
            brokers,
            zk,
            chroot,
        };
        cluster.wait_formed()?;
        Ok(cluster)
    }

    /// Waits until each broker's Metadata lists every broker and a controller.
    fn wait_formed(&self) -> io::Result<()> {
        let n = i32::try_from(self.brokers.len()).unwrap_or(i32::MAX);
        let cluster = self;
        let ids: Vec<i32> = (1..=n).collect();
        cluster.wait_for(FORM_DEADLINE, "every broker sees every broker", |c| {
            Ok(c.brokers.iter().all(|b| {
                Self::metadata_from(&b.bootstrap()).is_ok_and(|m| {
                    let mut seen: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
                    seen.sort_unstable();
                    seen == ids && m.controller_id.0 >= 0
                })
            }))
        })
    }

    /// The broker with `id`.
    pub fn broker(&mut self, id: i32) -> &mut BrokerProcess {
        let index = usize::try_from(id - 1).unwrap_or(0);
        &mut self.brokers[index]
    }

    /// Comma-separated bootstrap list of every broker process that is running.
    pub fn bootstrap(&mut self) -> String {
        self.brokers
            .iter_mut()
            .filter_map(|b| b.is_running().then(|| b.bootstrap()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// ZooKeeper connect string with the chroot.
    pub fn zk_connect(&self) -> String {
        format!("{}{}", self.zk.connect_string(), self.chroot)
    }

    /// Metadata (v1, all topics) from one broker.
    pub fn metadata_from(addr: &str) -> io::Result<MetadataResponse> {
        WireClient::connect_timeout(addr, Duration::from_secs(3))?.metadata_all()
    }

    /// Metadata from the first running broker that answers.
    pub fn metadata(&self) -> io::Result<MetadataResponse> {
        let mut last = io::Error::other("no broker answered");
        for b in &self.brokers {
            match Self::metadata_from(&b.bootstrap()) {
                Ok(m) => return Ok(m),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The controller id as the brokers report it (-1 if none).
    pub fn controller(&self) -> io::Result<i32> {
        Ok(self.metadata()?.controller_id.0)
    }

    /// (leader, ISR) of a partition, if the topic and partition are known.
    pub fn leader_and_isr(
        &self,
        topic: &str,
        partition: i32,
    ) -> io::Result<Option<(i32, Vec<i32>)>> {
        let m = self.metadata()?;
        Ok(m.topics
            .iter()
            .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
            .map(|p| (p.leader_id.0, p.isr_nodes.iter().map(|b| b.0).collect())))
    }

    /// Polls `check` every 200 ms until it is true; error (naming `what`) after `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Self) -> io::Result<bool>,
    ) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last: String;
        loop {
            match check(self) {
                Ok(true) => return Ok(()),
                Ok(false) => last = "not yet".into(),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{what}: not within {timeout:?} (last: {last})"),
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// `zkCli.sh` inside the chroot.
    pub fn zk_cli(&self, args: &[&str]) -> io::Result<String> {
        zk_cli(&self.zk_connect(), args)
    }

    /// Children of `path` inside the chroot.
    pub fn zk_ls(&self, path: &str) -> io::Result<Vec<String>> {
        let out = self.zk_cli(&["ls", path])?;
        parse_ls(&out).ok_or_else(|| io::Error::other(format!("zkCli ls {path}:\n{out}")))
    }

    /// Data of `path` inside the chroot, as JSON.
    pub fn zk_get_json(&self, path: &str) -> io::Result<Value> {
        let out = self.zk_cli(&["get", path])?;
        first_json_line(&out).ok_or_else(|| io::Error::other(format!("zkCli get {path}:\n{out}")))
    }
}

/// Topics, leaders and direct produces.
impl MultiCluster {
    /// The ZooKeeper ensemble, when the cluster runs on one.
    pub fn ensemble(&mut self) -> io::Result<&mut ZooKeeperEnsemble> {
        match &mut self.zk {
            ZkServers::Ensemble(e) => Ok(e),
            ZkServers::Standalone(_) => Err(io::Error::other(
                "this cluster runs on a standalone ZooKeeper, not an ensemble",
            )),
        }
    }

    /// (leader, ISR) of every partition of `topic`, from the first broker that answers.
    pub fn partitions(&self, topic: &str) -> io::Result<PartitionLeaders> {
        Ok(partitions_in(&self.metadata()?, topic))
    }

    /// Like [`partitions`](Self::partitions), as broker `addr` sees it.
    pub fn partitions_from(addr: &str, topic: &str) -> io::Result<PartitionLeaders> {
        Ok(partitions_in(&Self::metadata_from(addr)?, topic))
    }

    /// Waits until all `count` partitions of `topic` have a leader and an ISR of `isr_size`,
    /// as every running broker reports it.
    pub fn wait_isr_size(
        &mut self,
        topic: &str,
        count: usize,
        isr_size: usize,
        timeout: Duration,
    ) -> io::Result<PartitionLeaders> {
        let addrs: Vec<String> = self
            .brokers
            .iter_mut()
            .filter_map(|b| b.is_running().then(|| b.bootstrap()))
            .collect();
        let mut seen = PartitionLeaders::new();
        self.wait_for(timeout, &format!("{topic}: ISRs of {isr_size}"), |_| {
            for addr in &addrs {
                let parts = Self::partitions_from(addr, topic)?;
                let ok = parts.len() == count
                    && parts
                        .values()
                        .all(|(leader, isr)| *leader >= 0 && isr.len() == isr_size);
                if !ok {
                    return Err(io::Error::other(format!("{addr} says {parts:?}")));
                }
                seen = parts;
            }
            Ok(true)
        })?;
        Ok(seen)
    }

    /// CreateTopics (v5) sent to the controller: `partitions` × `replication_factor`, with
    /// topic `configs`; waits until every partition has a leader.
    pub fn create_topic(
        &mut self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> io::Result<()> {
        let controller = self.controller()?;
        if controller < 0 {
            return Err(io::Error::other("no controller to create a topic with"));
        }
        let addr = self.broker(controller).bootstrap();
        let configs = configs
            .iter()
            .map(|(k, v)| {
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_string((*k).to_owned()))
                    .with_value(Some(StrBytes::from_string((*v).to_owned())))
            })
            .collect();
        let request = CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(partitions)
                .with_replication_factor(replication_factor)
                .with_configs(configs)])
            .with_timeout_ms(15_000);
        let response: CreateTopicsResponse = WireClient::connect(&addr)?.request(5, &request)?;
        let code = response.topics.first().map_or(-1, |t| t.error_code);
        if code != 0 {
            return Err(io::Error::other(format!(
                "CreateTopics {topic}: error {code}: {response:?}"
            )));
        }
        let want = usize::try_from(partitions).unwrap_or(0);
        self.wait_for(FORM_DEADLINE, &format!("{topic}: leaders"), |c| {
            let parts = c.partitions(topic)?;
            Ok(parts.len() == want && parts.values().all(|(l, _)| *l >= 0))
        })
    }
}

/// (leader, ISR) of every partition of `topic` in a Metadata response.
pub fn partitions_in(metadata: &MetadataResponse, topic: &str) -> PartitionLeaders {
    metadata
        .topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            (
                p.partition_index,
                (p.leader_id.0, p.isr_nodes.iter().map(|b| b.0).collect()),
            )
        })
        .collect()
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// Sends one Produce (v8, one plain batch of `values`, no producer id) straight to `addr` for
/// `topic`-`partition`, whoever leads it, and returns (error code, base offset): the way to see
/// which broker accepts writes, which a real client would not show. `timeout` is the request's
/// own timeout (how long acks=all may wait); the socket waits 10 s longer.
pub fn produce_direct(
    addr: &str,
    topic: &str,
    partition: i32,
    acks: i16,
    timeout: Duration,
    values: &[&str],
) -> io::Result<(i16, i64)> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i64::try_from(i).unwrap_or(0),
            // The encoder puts records in one batch only while offset - sequence stays the
            // same; the batch's base sequence is the first record's, -1 (no producer id).
            sequence: i32::try_from(i).unwrap_or(0) - 1,
            // Now: a timestamp from the past would make time-based retention delete the
            // segment (a broker checks retention as it starts).
            timestamp: now_ms,
            key: None,
            value: Some(Bytes::from((*v).to_owned())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut batch = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut batch,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| io::Error::other(format!("cannot encode a record batch: {e}")))?;
    let request = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX))
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch.freeze()))])]);
    let response: ProduceResponse =
        WireClient::connect_timeout(addr, timeout + Duration::from_secs(10))?
            .request(8, &request)?;
    response
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .map(|p| (p.error_code, p.base_offset))
        .ok_or_else(|| io::Error::other(format!("empty Produce response: {response:?}")))
}
