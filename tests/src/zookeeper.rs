//! A real ZooKeeper for tests: a standalone server ([`ZooKeeper`]), a three-node loopback
//! ensemble ([`ZooKeeperEnsemble`]), and a `zkCli.sh` runner.
//!
//! The server is Debian's ZooKeeper 3.8 started with `java` directly (Debian's `zkServer.sh`
//! hard-codes its config and log directories). Each [`ZooKeeper`] gets a free loopback port and
//! its own temporary data directory, and is killed by PID when dropped, so tests never leak JVMs.
//!
//! `tickTime` is 500 ms so that short session timeouts work: ZooKeeper clamps session timeouts to
//! [2 × tickTime, 20 × tickTime] = [1 s, 10 s].

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Where Debian's `zookeeper` package puts its jars, with the Netty jars its TLS port needs.
const CLASSPATH: &str = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:\
     /usr/share/java/log4j-1.2.jar:/usr/share/java/netty-buffer.jar:/usr/share/java/netty-codec.jar:\
     /usr/share/java/netty-common.jar:/usr/share/java/netty-handler.jar:\
     /usr/share/java/netty-resolver.jar:/usr/share/java/netty-transport.jar:\
     /usr/share/java/netty-transport-native-epoll.jar:\
     /usr/share/java/netty-transport-native-unix-common.jar";
/// Debian's ZooKeeper command-line client.
const ZK_CLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
/// How long a server may take to answer `srvr` with its mode.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a SIGTERMed server may take to exit before it is SIGKILLed.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// The server's JAAS login file, inside its directory, when it authenticates with SASL.
const SERVER_JAAS: &str = "server-jaas.conf";
/// Upper bound for one `zkCli.sh` call (a JVM start, ~0.6 s normally).
const CLI_DEADLINE: Duration = Duration::from_secs(30);

/// A running standalone ZooKeeper server, stopped on drop.
pub struct ZooKeeper {
    child: Option<Child>,
    port: u16,
    /// The TLS client port, if the server has one.
    secure_port: Option<u16>,
    /// Kept so the data directory lives as long as the server.
    dir: tempfile::TempDir,
}

impl ZooKeeper {
    /// Starts a server on a free port and waits until `srvr` reports `Mode: standalone`.
    ///
    /// Retries a few times with a new port: the free port picked may be taken by someone else
    /// between our probe and the JVM's bind.
    pub fn start() -> io::Result<ZooKeeper> {
        Self::start_with(None, None)
    }

    /// Starts a server that also listens for TLS on [`secure_port`](Self::secure_port) (Netty,
    /// PEM key stores), requires client certificates signed by `certs`' CA and makes their
    /// subject the session's `x509` identity, as a TLS-secured Kafka deployment's ZooKeeper.
    pub fn start_tls(certs: &crate::zk_certs::ZkCerts) -> io::Result<ZooKeeper> {
        Self::start_with(None, Some(certs))
    }

    /// Starts a server that accepts SASL DIGEST-MD5 logins of `users` (name, password), as a
    /// secured Kafka deployment's ZooKeeper does: `SASLAuthenticationProvider` plus a JAAS
    /// `Server` section with `user_<name>="<password>"` entries. Clients that do not
    /// authenticate are still served (no `requireClientAuthScheme`): the znodes' ACLs decide.
    pub fn start_sasl(users: &[(&str, &str)]) -> io::Result<ZooKeeper> {
        let entries: String = users
            .iter()
            .map(|(name, password)| format!("\n    user_{name}=\"{password}\""))
            .collect();
        let jaas = format!(
            "Server {{\n    org.apache.zookeeper.server.auth.DigestLoginModule required{entries};\n}};\n"
        );
        Self::start_with(Some(&jaas), None)
    }

    fn start_with(
        server_jaas: Option<&str>,
        tls: Option<&crate::zk_certs::ZkCerts>,
    ) -> io::Result<ZooKeeper> {
        let mut last_error = None;
        for _ in 0..3 {
            match Self::start_once(server_jaas, tls) {
                Ok(zk) => return Ok(zk),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("ZooKeeper did not start")))
    }

    fn start_once(
        server_jaas: Option<&str>,
        tls: Option<&crate::zk_certs::ZkCerts>,
    ) -> io::Result<ZooKeeper> {
        let dir = tempfile::Builder::new().prefix("zookeeper-").tempdir()?;
        let ports = crate::ports::free_ports(2)?;
        let (port, secure) = (ports[0], ports[1]);
        let mut extra = String::new();
        if let Some(jaas) = server_jaas {
            fs::write(dir.path().join(SERVER_JAAS), jaas)?;
            extra += "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n";
        }
        if let Some(certs) = tls {
            extra += &format!(
                "secureClientPort={secure}\nsecureClientPortAddress=127.0.0.1\n\
                 serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
                 ssl.keyStore.location={}\nssl.keyStore.type=PEM\n\
                 ssl.trustStore.location={}\nssl.trustStore.type=PEM\n\
                 ssl.clientAuth=need\n\
                 authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n",
                certs.server_keystore.display(),
                certs.ca.display()
            );
        }
        write_config(dir.path(), port, &extra)?;
        let child = spawn_jvm(dir.path())?;
        let mut zk = ZooKeeper {
            child: Some(child),
            port,
            secure_port: tls.map(|_| secure),
            dir,
        };
        zk.wait_ready()?;
        Ok(zk)
    }

    /// `127.0.0.1:PORT` of the TLS client port, if the server has one.
    pub fn secure_connect_string(&self) -> Option<String> {
        self.secure_port.map(|p| format!("127.0.0.1:{p}"))
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        crate::broker::tail(&self.dir.path().join("zookeeper.log"), 40)
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_DEADLINE;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "ZooKeeper exited early: {status}"
                    )));
                }
            }
            if four_letter_word(self.port, "srvr").is_ok_and(|s| s.contains("Mode: standalone")) {
                return Ok(());
            }
            sleep(Duration::from_millis(100));
        }
        self.stop();
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "ZooKeeper did not become ready in 30 s",
        ))
    }

    /// `127.0.0.1:PORT`, usable as a ZooKeeper connect string.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server: SIGTERM, then SIGKILL if it has not exited after a deadline.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // std has no SIGTERM; `kill` is always there and keeps this crate free of libc.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_DEADLINE;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server shared by the tests of one test binary that run at the same time.
///
/// Tests hold the `Arc` for their duration; the server is stopped when the last concurrent holder
/// drops it (a `static` is never dropped, so a plain global would leak the JVM). Give each test
/// its own chroot.
pub fn shared() -> io::Result<Arc<ZooKeeper>> {
    static SHARED: Mutex<Weak<ZooKeeper>> = Mutex::new(Weak::new());
    let mut slot = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(zk) = slot.upgrade() {
        return Ok(zk);
    }
    let zk = Arc::new(ZooKeeper::start()?);
    *slot = Arc::downgrade(&zk);
    Ok(zk)
}

/// A ZooKeeper ensemble on loopback: `n` JVMs (ids 1..=n), each with its own client, quorum and
/// election ports and data directory, all listed in every node's `server.N=127.0.0.1:P:E` lines.
///
/// Nodes can be stopped (SIGTERM), killed (SIGKILL) and started again one at a time; the
/// connect string lists every node, so clients fail over between them. Every JVM is killed by
/// PID when the ensemble drops.
pub struct ZooKeeperEnsemble {
    nodes: Vec<EnsembleNode>,
    /// Holds one directory per node; deleted on drop (after the JVMs are killed).
    root: tempfile::TempDir,
}

struct EnsembleNode {
    id: usize,
    client_port: u16,
    child: Option<Child>,
}

impl ZooKeeperEnsemble {
    /// Starts an `n`-node ensemble and waits until every node is a leader or follower.
    ///
    /// Retries with new ports a few times: a free port may be taken between probe and bind.
    pub fn start(n: usize) -> io::Result<ZooKeeperEnsemble> {
        let mut last_error = None;
        for _ in 0..3 {
            match Self::start_once(n) {
                Ok(ensemble) => return Ok(ensemble),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("ZooKeeper ensemble did not start")))
    }

    fn start_once(n: usize) -> io::Result<ZooKeeperEnsemble> {
        let root = tempfile::Builder::new().prefix("zk-ensemble-").tempdir()?;
        // client, quorum and election port per node, all probed before any JVM binds one. The
        // quorum port is bound only by the leader: no later free_port may hand it out.
        let ports = crate::ports::free_ports(3 * n)?;
        let servers: String = (0..n)
            .map(|i| {
                format!(
                    "server.{}=127.0.0.1:{}:{}\n",
                    i + 1,
                    ports[3 * i + 1],
                    ports[3 * i + 2]
                )
            })
            .collect();
        let mut nodes = Vec::new();
        for i in 0..n {
            let dir = root.path().join(format!("node-{}", i + 1));
            fs::create_dir_all(&dir)?;
            write_config(&dir, ports[3 * i], &servers)?;
            fs::write(dir.join("data").join("myid"), format!("{}\n", i + 1))?;
            nodes.push(EnsembleNode {
                id: i + 1,
                client_port: ports[3 * i],
                child: None,
            });
        }
        let mut ensemble = ZooKeeperEnsemble { nodes, root };
        for id in 1..=n {
            let child = spawn_jvm(&ensemble.node_dir(id))?;
            ensemble.node_mut(id)?.child = Some(child);
        }
        ensemble.wait_quorum(START_DEADLINE)?;
        Ok(ensemble)
    }

    /// Every node's `127.0.0.1:PORT`, comma-separated: a ZooKeeper connect string.
    pub fn connect_string(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node ids, 1..=n.
    pub fn ids(&self) -> Vec<usize> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// The client port of node `id`.
    pub fn client_port(&self, id: usize) -> io::Result<u16> {
        Ok(self.node(id)?.client_port)
    }

    /// What `srvr` says node `id` is ("leader", "follower"), `None` if it does not answer or
    /// serves no quorum.
    pub fn mode(&self, id: usize) -> Option<String> {
        let port = self.node(id).ok()?.client_port;
        let answer = four_letter_word(port, "srvr").ok()?;
        answer
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(|m| m.trim().to_owned())
    }

    /// The node that reports itself leader, if any.
    pub fn leader(&self) -> Option<usize> {
        self.ids()
            .into_iter()
            .find(|&id| self.mode(id).as_deref() == Some("leader"))
    }

    /// Waits until every running node is leader or follower, with exactly one leader.
    pub fn wait_quorum(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut modes = Vec::new();
            for id in self.ids() {
                if self.is_running(id) {
                    modes.push((id, self.mode(id)));
                }
            }
            let leaders = modes
                .iter()
                .filter(|(_, m)| m.as_deref() == Some("leader"))
                .count();
            let serving = modes
                .iter()
                .all(|(_, m)| matches!(m.as_deref(), Some("leader") | Some("follower")));
            if serving && leaders == 1 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let logs: String = modes
                    .iter()
                    .map(|(id, _)| {
                        let log = self.node_dir(*id).join("zookeeper.log");
                        format!(
                            "\n--- ZooKeeper node {id} log ---\n{}",
                            crate::broker::tail(&log, 20)
                        )
                    })
                    .collect();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("ZooKeeper ensemble has no quorum after {timeout:?}: {modes:?}{logs}"),
                ));
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// True while node `id`'s JVM has not exited.
    pub fn is_running(&mut self, id: usize) -> bool {
        match self.node_mut(id).ok().and_then(|n| n.child.as_mut()) {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILLs node `id` (a crash) and reaps it.
    pub fn kill_node(&mut self, id: usize) -> io::Result<()> {
        if let Some(mut child) = self.node_mut(id)?.child.take() {
            // kill() fails only if it already exited; wait() reaps it either way.
            let _ = child.kill();
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERMs node `id` and waits for it to exit (SIGKILL after a deadline).
    pub fn stop_node(&mut self, id: usize) -> io::Result<()> {
        let Some(mut child) = self.node_mut(id)?.child.take() else {
            return Ok(());
        };
        crate::process::signal(child.id(), "TERM")?;
        if crate::process::wait_deadline(&mut child, STOP_DEADLINE)?.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("ZooKeeper node {id} ignored SIGTERM for {STOP_DEADLINE:?}; killed"),
            ));
        }
        Ok(())
    }

    /// Starts node `id` again (same ports and data) and waits until the ensemble has a quorum
    /// that includes it.
    pub fn start_node(&mut self, id: usize) -> io::Result<()> {
        if self.is_running(id) {
            return Ok(());
        }
        let child = spawn_jvm(&self.node_dir(id))?;
        self.node_mut(id)?.child = Some(child);
        self.wait_quorum(START_DEADLINE)
    }

    /// The last lines of node `id`'s ZooKeeper log.
    pub fn log_tail(&self, id: usize) -> String {
        crate::broker::tail(&self.node_dir(id).join("zookeeper.log"), 40)
    }

    fn node_dir(&self, id: usize) -> std::path::PathBuf {
        self.root.path().join(format!("node-{id}"))
    }

    fn node(&self, id: usize) -> io::Result<&EnsembleNode> {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| io::Error::other(format!("no ZooKeeper node {id}")))
    }

    fn node_mut(&mut self, id: usize) -> io::Result<&mut EnsembleNode> {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| io::Error::other(format!("no ZooKeeper node {id}")))
    }
}

impl Drop for ZooKeeperEnsemble {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Runs `zkCli.sh -server <connect> <args>` and returns its stdout.
///
/// zkCli's exit code is unreliable (0 even on connection loss): callers check the output.
/// The call is killed if it runs longer than 30 s.
pub fn zk_cli(connect: &str, args: &[&str]) -> io::Result<String> {
    zk_cli_output(connect, args).map(|(stdout, _)| stdout)
}

/// [`zk_cli`], returning stdout and stderr: zkCli reports refused operations ("Insufficient
/// permission", "Authentication is not valid") on stderr.
pub fn zk_cli_output(connect: &str, args: &[&str]) -> io::Result<(String, String)> {
    // Output goes to files so a chatty command cannot block on a full pipe while we poll.
    let out = tempfile::tempfile()?;
    let err = tempfile::tempfile()?;
    let mut child = Command::new(ZK_CLI)
        .arg("-server")
        .arg(connect)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?)
        .spawn()?;
    let deadline = Instant::now() + CLI_DEADLINE;
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "zkCli.sh took too long",
            ));
        }
        sleep(Duration::from_millis(50));
    }
    Ok((read_all(out)?, read_all(err)?))
}

fn read_all(mut file: fs::File) -> io::Result<String> {
    let mut text = String::new();
    io::Seek::rewind(&mut file)?;
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Sends a four-letter-word command (`srvr`, `ruok`, ...) and returns the answer.
pub fn four_letter_word(port: u16, word: &str) -> io::Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(word.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Starts `QuorumPeerMain` on `dir/zoo.cfg`, stdout and stderr appended to `dir/stdout.log`.
/// A `dir/server-jaas.conf` is handed to the JVM as its login file (what `SERVER_JVMFLAGS`
/// carries for `zkServer.sh`).
fn spawn_jvm(dir: &Path) -> io::Result<Child> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stdout.log"))?;
    let mut java = Command::new("java");
    let jaas = dir.join(SERVER_JAAS);
    if jaas.exists() {
        java.arg(format!(
            "-Djava.security.auth.login.config={}",
            jaas.display()
        ));
    }
    java.args([
        "-Xms32m",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-Dzookeeper.preAllocSize=1024",
    ])
    .arg(format!(
        "-Dlog4j.configuration=file:{}",
        dir.join("log4j.properties").display()
    ))
    .args([
        "-cp",
        CLASSPATH,
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
    ])
    .arg(dir.join("zoo.cfg"))
    .stdin(Stdio::null())
    .stdout(log.try_clone()?)
    .stderr(log)
    .spawn()
}

/// Writes `zoo.cfg` (plus `extra` lines, e.g. an ensemble's `server.N` lines) and the log4j
/// configuration into `dir`, with the data directory `dir/data`.
fn write_config(dir: &Path, port: u16, extra: &str) -> io::Result<()> {
    let data = dir.join("data");
    fs::create_dir_all(&data)?;
    let config = format!(
        "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n\
         4lw.commands.whitelist=*\n{extra}",
        data.display()
    );
    fs::write(dir.join("zoo.cfg"), config)?;
    let log4j = format!(
        "log4j.rootLogger=INFO, FILE\n\
         log4j.appender.FILE=org.apache.log4j.FileAppender\n\
         log4j.appender.FILE.File={}\n\
         log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} [myid:%X{{myid}}] - %-5p [%t:%C{{1}}@%L] - %m%n\n",
        dir.join("zookeeper.log").display()
    );
    fs::write(dir.join("log4j.properties"), log4j)
}
