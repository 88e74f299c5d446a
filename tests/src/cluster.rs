//! One ZooKeeper and one broker for a test, with helpers to look at ZooKeeper the way an
//! operator would (`zkCli.sh`).

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::broker::{BrokerProcess, BrokerSetup};
use crate::zookeeper::{zk_cli, ZooKeeper};

/// How long a fresh broker may take to register and see a controller.
const REGISTER_DEADLINE: Duration = Duration::from_secs(30);

/// A ZooKeeper server and one broker (id 1) living under a chroot named after the test.
///
/// Fields drop in order: the broker goes before the ZooKeeper it is registered in.
pub struct Cluster {
    pub broker: BrokerProcess,
    pub zk: ZooKeeper,
    chroot: String,
}

impl Cluster {
    /// Starts ZooKeeper, creates the chroot `/t-<name>`, starts broker 1 under it and waits
    /// until the broker has registered and knows the controller.
    pub fn start(name: &str) -> io::Result<Cluster> {
        Self::start_with(name, &[])
    }

    /// [`start`](Self::start) with extra broker settings (`--override key=value`).
    pub fn start_with(name: &str, extra: &[(&str, &str)]) -> io::Result<Cluster> {
        Self::start_setup(
            name,
            &BrokerSetup {
                overrides: extra,
                ..BrokerSetup::default()
            },
        )
    }

    /// [`start`](Self::start) with broker settings from every config layer.
    pub fn start_setup(name: &str, setup: &BrokerSetup<'_>) -> io::Result<Cluster> {
        let zk = ZooKeeper::start()?;
        let chroot = format!("/t-{name}");
        // Kafka creates a missing chroot itself, but we do not want every test to depend on that.
        // zkCli prints "Created ..." on stderr, which zk_cli drops: check with `ls /` instead.
        zk_cli(&zk.connect_string(), &["create", &chroot])?;
        let root = zk_cli(&zk.connect_string(), &["ls", "/"])?;
        let name = &chroot[1..];
        if !parse_ls(&root).is_some_and(|children| children.iter().any(|c| c == name)) {
            return Err(io::Error::other(format!(
                "could not create chroot {chroot} in ZooKeeper; `ls /` says: {root}"
            )));
        }
        let zk_connect = format!("{}{chroot}", zk.connect_string());
        let mut broker = BrokerProcess::start_with(&zk_connect, 1, setup)?;
        broker.wait_registered(REGISTER_DEADLINE)?;
        Ok(Cluster { broker, zk, chroot })
    }

    /// The broker's "127.0.0.1:PORT".
    pub fn bootstrap(&self) -> String {
        self.broker.bootstrap()
    }

    /// The chroot, e.g. "/t-restart".
    pub fn chroot(&self) -> &str {
        &self.chroot
    }

    /// The ZooKeeper connect string including the chroot, as the broker was given it.
    pub fn zk_connect(&self) -> String {
        format!("{}{}", self.zk.connect_string(), self.chroot)
    }

    /// Runs `zkCli.sh` inside the chroot and returns its stdout.
    pub fn zk_cli(&self, args: &[&str]) -> io::Result<String> {
        zk_cli(&self.zk_connect(), args)
    }

    /// The children of `path` (inside the chroot), as `ls` prints them.
    pub fn zk_ls(&self, path: &str) -> io::Result<Vec<String>> {
        let out = self.zk_cli(&["ls", path])?;
        parse_ls(&out).ok_or_else(|| {
            io::Error::other(format!("zkCli ls {path}: no child list in output:\n{out}"))
        })
    }

    /// Waits until `/brokers/ids` no longer lists `broker_id`: after a crash, ZooKeeper drops
    /// the registration only when the dead session times out, and a broker restarted before
    /// that finds its id still taken (as Kafka does).
    pub fn wait_broker_deregistered(&self, broker_id: i32, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let id = broker_id.to_string();
        loop {
            let ids = self.zk_ls("/brokers/ids")?;
            if !ids.contains(&id) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("broker {broker_id} still registered after {timeout:?}: {ids:?}"),
                ));
            }
            thread::sleep(Duration::from_millis(300));
        }
    }

    /// Restarts the broker and waits until it has registered again.
    pub fn restart_broker(&mut self) -> io::Result<()> {
        self.broker.restart()?;
        self.broker.wait_registered(REGISTER_DEADLINE)
    }

    /// The data of `path` parsed as JSON (the first output line that parses).
    pub fn zk_get_json(&self, path: &str) -> io::Result<Value> {
        let out = self.zk_cli(&["get", path])?;
        first_json_line(&out)
            .ok_or_else(|| io::Error::other(format!("zkCli get {path}: no JSON in output:\n{out}")))
    }
}

/// The child list in zkCli `ls` output: the last line shaped like `[a, b]`.
pub fn parse_ls(out: &str) -> Option<Vec<String>> {
    let line = out
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with('[') && l.ends_with(']'))?;
    let inner = &line[1..line.len() - 1];
    Some(
        inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The first line of zkCli output that is a JSON object (zkCli prints the data on its own line,
/// among connection chatter).
pub fn first_json_line(out: &str) -> Option<Value> {
    out.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zkcli_ls() {
        let out = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n[1, 2]\n";
        assert_eq!(parse_ls(out), Some(vec!["1".to_owned(), "2".to_owned()]));
        assert_eq!(parse_ls("[]\n"), Some(vec![]));
        assert_eq!(parse_ls("Node does not exist: /x\n"), None);
    }

    #[test]
    fn finds_json_in_zkcli_get() {
        let out = "WatchedEvent state:SyncConnected\n{\"version\":\"1\",\"id\":\"abc\"}\n";
        assert_eq!(first_json_line(out).expect("json")["id"], "abc");
    }
}
