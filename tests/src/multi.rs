//! Several brokers (ids 1..=N) on one ZooKeeper chroot, with helpers to find the controller and a
//! partition's leader and ISR the way a client would (Metadata through the `wire` client).

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use kafka_protocol::messages::MetadataResponse;
use serde_json::Value;

use crate::broker::BrokerProcess;
use crate::cluster::{first_json_line, parse_ls};
use crate::wire::WireClient;
use crate::zookeeper::{zk_cli, ZooKeeper};

/// How long a fresh cluster may take until every broker knows every other one.
const FORM_DEADLINE: Duration = Duration::from_secs(60);

/// N brokers and their ZooKeeper. Brokers drop (are killed) before ZooKeeper.
pub struct MultiCluster {
    pub brokers: Vec<BrokerProcess>,
    pub zk: ZooKeeper,
    chroot: String,
}

impl MultiCluster {
    /// Starts ZooKeeper, the chroot `/m-<name>` and brokers 1..=n with `extra` overrides, and
    /// waits until each broker's Metadata lists all n brokers and a controller.
    pub fn start(name: &str, n: i32, extra: &[(&str, &str)]) -> io::Result<MultiCluster> {
        let zk = ZooKeeper::start()?;
        let chroot = format!("/m-{name}");
        // The brokers create the chroot themselves, as Kafka does.
        let connect = format!("{}{chroot}", zk.connect_string());
        let mut brokers = Vec::new();
        for id in 1..=n {
            brokers.push(BrokerProcess::start(&connect, id, extra)?);
        }
        let cluster = MultiCluster {
            brokers,
            zk,
            chroot,
        };
        let ids: Vec<i32> = (1..=n).collect();
        cluster.wait_for(FORM_DEADLINE, "every broker sees every broker", |c| {
            Ok(c.brokers.iter().all(|b| {
                Self::metadata_from(&b.bootstrap()).is_ok_and(|m| {
                    let mut seen: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
                    seen.sort_unstable();
                    seen == ids && m.controller_id.0 >= 0
                })
            }))
        })?;
        Ok(cluster)
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
