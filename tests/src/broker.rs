//! A real broker process: started on a free port with its own log directory, stopped, killed
//! and restarted by the tests, and always killed by PID when dropped.
//!
//! The broker's stdout and stderr go to `broker.log` next to its data directory; start-up
//! failures and failing tests print the tail of that file, which is usually the explanation.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::ports::free_port;
use crate::process::{signal, wait_deadline};
use crate::wire::WireClient;

/// How long a broker may take to answer its first ApiVersions request.
pub const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a SIGTERMed broker may take to shut down before it is SIGKILLed.
pub const STOP_DEADLINE: Duration = Duration::from_secs(30);
/// ZooKeeper session timeout given to test brokers: short, so a killed broker's registration
/// disappears quickly, but well above ZooKeeper's minimum (2 × tickTime).
pub const ZK_SESSION_TIMEOUT_MS: &str = "6000";
/// Lines of the broker's log shown in error messages.
const TAIL_LINES: usize = 60;

/// Settings a test gives a broker beyond the harness's own (id, ZooKeeper, listener, log dir
/// and session timeout, passed as `--override`), through each of the broker's config layers.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrokerSetup<'a> {
    /// `--override key=value` arguments.
    pub overrides: &'a [(&'a str, &'a str)],
    /// Environment variables (`KAFKA_LOG_RETENTION_MS`, ...).
    pub env: &'a [(&'a str, &'a str)],
    /// Keys of a YAML file given as `--config` (no file when empty).
    pub file: &'a [(&'a str, &'a str)],
    /// Listeners beside the harness's PLAINTEXT one, as (name, port) on 127.0.0.1, e.g.
    /// `("SASL_PLAINTEXT", port)`; the harness still waits on the PLAINTEXT port.
    pub listeners: &'a [(&'a str, u16)],
}

/// One broker process and the directories it owns.
pub struct BrokerProcess {
    child: Option<Child>,
    id: i32,
    port: u16,
    zk_connect: String,
    extra: Vec<(String, String)>,
    env: Vec<(String, String)>,
    more_listeners: Vec<(String, u16)>,
    /// The `--config` file, inside `dir`.
    config_file: Option<PathBuf>,
    bin: PathBuf,
    /// Holds `data/` (the broker's `log.dirs`) and `broker.log`; deleted on drop.
    dir: TempDir,
}

impl BrokerProcess {
    /// Starts broker `broker_id` against `zk_connect` ("host:port[/chroot]") on a free port,
    /// with `extra` as additional `--override key=value` settings, and waits until it answers
    /// ApiVersions (at most [`START_DEADLINE`]).
    pub fn start(
        zk_connect: &str,
        broker_id: i32,
        extra: &[(&str, &str)],
    ) -> io::Result<BrokerProcess> {
        Self::start_with(
            zk_connect,
            broker_id,
            &BrokerSetup {
                overrides: extra,
                ..BrokerSetup::default()
            },
        )
    }

    /// [`start`](Self::start) with settings from every config layer: `--override`, the
    /// environment and a config file.
    pub fn start_with(
        zk_connect: &str,
        broker_id: i32,
        setup: &BrokerSetup<'_>,
    ) -> io::Result<BrokerProcess> {
        let bin = broker_bin();
        if !bin.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "broker binary {} not found: run `cargo build -p broker` (or set BROKER_BIN)",
                    bin.display()
                ),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("broker-{broker_id}-"))
            .tempdir()?;
        fs::create_dir(dir.path().join("data"))?;
        let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let config_file = if setup.file.is_empty() {
            None
        } else {
            let path = dir.path().join("broker.yaml");
            let yaml: String = setup
                .file
                .iter()
                .map(|(k, v)| format!("{k}: \"{v}\"\n"))
                .collect();
            fs::write(&path, yaml)?;
            Some(path)
        };
        let mut broker = BrokerProcess {
            child: None,
            id: broker_id,
            port: free_port()?,
            zk_connect: zk_connect.to_owned(),
            extra: owned(setup.overrides),
            env: owned(setup.env),
            more_listeners: setup
                .listeners
                .iter()
                .map(|(name, port)| (name.to_string(), *port))
                .collect(),
            config_file,
            bin,
            dir,
        };
        broker.spawn()?;
        broker.wait_ready(START_DEADLINE)?;
        Ok(broker)
    }

    /// The broker id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The listener port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// "127.0.0.1:PORT", for clients' bootstrap servers.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's `log.dirs` directory (partition data).
    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The file holding the broker's stdout and stderr (appended to across restarts).
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    /// The directory of partition `topic`-`partition` inside the log dir (Kafka's layout).
    pub fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.log_dir().join(format!("{topic}-{partition}"))
    }

    /// The PID of the running process, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last `TAIL_LINES` lines of the broker's log.
    pub fn log_tail(&self) -> String {
        tail(&self.log_file(), TAIL_LINES)
    }

    /// Waits until the process exits on its own, at most `timeout` (then it is killed), and
    /// returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> io::Result<std::process::ExitStatus> {
        let Some(mut child) = self.child.take() else {
            return Err(io::Error::other(format!(
                "broker {} is not running",
                self.id
            )));
        };
        match wait_deadline(&mut child, timeout)? {
            Some(status) => Ok(status),
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "broker {} still running after {timeout:?}\n{}",
                    self.id,
                    self.log_tail()
                ),
            )),
        }
    }

    /// SIGKILL (a crash: nothing flushed, no deregistration) and reap.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            // kill() fails only if the process already exited; wait() reaps it either way.
            let _ = child.kill();
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM (a clean shutdown) and wait up to [`STOP_DEADLINE`]; SIGKILL after that, which
    /// is reported as an error since a broker that cannot shut down cleanly is a bug.
    pub fn stop(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        signal(child.id(), "TERM")?;
        match wait_deadline(&mut child, STOP_DEADLINE)? {
            Some(_) => Ok(()),
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "broker {} did not exit within {STOP_DEADLINE:?} of SIGTERM; killed\n{}",
                    self.id,
                    self.log_tail()
                ),
            )),
        }
    }

    /// Starts the broker again with the same id, port, ZooKeeper, settings and directories,
    /// stopping it first (SIGTERM) if it is still running, and waits until it answers.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.spawn()?;
        self.wait_ready(START_DEADLINE)
    }

    /// Waits until the broker's Metadata lists itself and names a controller: the point where
    /// it has registered in ZooKeeper and learnt the cluster, so clients can produce.
    pub fn wait_registered(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            self.check_alive()?;
            match WireClient::connect_timeout(&self.bootstrap(), Duration::from_secs(2))
                .and_then(|mut c| c.metadata_all())
            {
                Ok(metadata) => {
                    let listed = metadata.brokers.iter().any(|b| b.node_id.0 == self.id);
                    if listed && metadata.controller_id.0 >= 0 {
                        return Ok(());
                    }
                    last = format!(
                        "brokers {:?}, controller {}",
                        metadata
                            .brokers
                            .iter()
                            .map(|b| b.node_id.0)
                            .collect::<Vec<_>>(),
                        metadata.controller_id.0
                    );
                }
                Err(e) => last = e.to_string(),
            }
            thread::sleep(Duration::from_millis(200));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "broker {} not registered after {timeout:?} (last Metadata: {last})\n{}",
                self.id,
                self.log_tail()
            ),
        ))
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let mut command = Command::new(&self.bin);
        if let Some(file) = &self.config_file {
            command.arg("--config").arg(file);
        }
        command
            .arg("--override")
            .arg(format!("broker.id={}", self.id))
            .arg("--override")
            .arg(format!("zookeeper.connect={}", self.zk_connect))
            .arg("--override")
            .arg(format!("listeners={}", self.listeners()))
            .arg("--override")
            .arg(format!("log.dirs={}", self.log_dir().display()))
            .arg("--override")
            .arg(format!(
                "zookeeper.session.timeout.ms={ZK_SESSION_TIMEOUT_MS}"
            ));
        for (key, value) in &self.extra {
            command.arg("--override").arg(format!("{key}={value}"));
        }
        // The broker reads KAFKA_* variables as configuration: never let the test
        // environment's leak into it.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KAFKA_") {
                command.env_remove(name);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
            .env(
                "RUST_LOG",
                std::env::var("BROKER_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", self.bin.display()),
            )
        })?;
        self.child = Some(child);
        Ok(())
    }

    /// The `listeners` value: PLAINTEXT on [`port`](Self::port), then the test's own.
    fn listeners(&self) -> String {
        let mut all = format!("PLAINTEXT://127.0.0.1:{}", self.port);
        for (name, port) in &self.more_listeners {
            all.push_str(&format!(",{name}://127.0.0.1:{port}"));
        }
        all
    }

    /// Polls ApiVersions v0 (every broker version answers it) until answered or `timeout`.
    fn wait_ready(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("not tried");
        while Instant::now() < deadline {
            self.check_alive()?;
            match WireClient::connect_timeout(&self.bootstrap(), Duration::from_secs(2))
                .and_then(|mut c| c.api_versions(0))
            {
                Ok(response) if response.error_code == 0 => return Ok(()),
                Ok(response) => last = format!("ApiVersions error code {}", response.error_code),
                Err(e) => last = e.to_string(),
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = self.kill();
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "broker {} did not answer ApiVersions on {} within {timeout:?} (last: {last})\n{}",
                self.id,
                self.bootstrap(),
                self.log_tail()
            ),
        ))
    }

    /// Fails (with the log tail) if the process has exited.
    fn check_alive(&mut self) -> io::Result<()> {
        let status = match self.child.as_mut() {
            Some(child) => child.try_wait()?,
            None => {
                return Err(io::Error::other(format!(
                    "broker {} is not running",
                    self.id
                )))
            }
        };
        match status {
            None => Ok(()),
            Some(status) => {
                self.child = None;
                Err(io::Error::other(format!(
                    "broker {} exited ({status})\n{}",
                    self.id,
                    self.log_tail()
                )))
            }
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        // A failing test unwinds through here: show what the broker was saying.
        if thread::panicking() {
            eprintln!(
                "--- broker {} log ({}) ---\n{}",
                self.id,
                self.log_file().display(),
                self.log_tail()
            );
        }
        let _ = self.kill();
    }
}

/// The broker binary: $BROKER_BIN, else `<target>/debug/broker` of this workspace.
pub fn broker_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("BROKER_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_dir().join("target"));
    target.join("debug").join("broker")
}

/// The last `lines` lines of the file at `path` (or a note saying why there are none).
pub fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Truncates the file at `path` to `len` bytes (a torn write, as a crash leaves it).
pub fn truncate_file(path: &Path, len: u64) -> io::Result<()> {
    File::options().write(true).open(path)?.set_len(len)
}
