//! A real standalone ZooKeeper server for tests, and a `zkCli.sh` runner.
//!
//! The server is Debian's ZooKeeper 3.8 started with `java` directly (Debian's `zkServer.sh`
//! hard-codes its config and log directories). Each [`ZooKeeper`] gets a free loopback port and
//! its own temporary data directory, and is killed by PID when dropped, so tests never leak JVMs.
//!
//! `tickTime` is 500 ms so that short session timeouts work: ZooKeeper clamps session timeouts to
//! [2 × tickTime, 20 × tickTime] = [1 s, 10 s].

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Where Debian's `zookeeper` package puts its jars.
const CLASSPATH: &str =
    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar";
/// Debian's ZooKeeper command-line client.
const ZK_CLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
/// How long a server may take to answer `srvr` with its mode.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a SIGTERMed server may take to exit before it is SIGKILLed.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// Upper bound for one `zkCli.sh` call (a JVM start, ~0.6 s normally).
const CLI_DEADLINE: Duration = Duration::from_secs(30);

/// A running standalone ZooKeeper server, stopped on drop.
pub struct ZooKeeper {
    child: Option<Child>,
    port: u16,
    /// Kept so the data directory lives as long as the server.
    _dir: tempfile::TempDir,
}

impl ZooKeeper {
    /// Starts a server on a free port and waits until `srvr` reports `Mode: standalone`.
    ///
    /// Retries a few times with a new port: the free port picked may be taken by someone else
    /// between our probe and the JVM's bind.
    pub fn start() -> io::Result<ZooKeeper> {
        let mut last_error = None;
        for _ in 0..3 {
            match Self::start_once() {
                Ok(zk) => return Ok(zk),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("ZooKeeper did not start")))
    }

    fn start_once() -> io::Result<ZooKeeper> {
        let dir = tempfile::Builder::new().prefix("zookeeper-").tempdir()?;
        let port = free_port()?;
        write_config(dir.path(), port)?;
        let log = fs::File::create(dir.path().join("stdout.log"))?;
        let child = Command::new("java")
            .args([
                "-Xms32m",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-Dzookeeper.preAllocSize=1024",
            ])
            .arg(format!(
                "-Dlog4j.configuration=file:{}",
                dir.path().join("log4j.properties").display()
            ))
            .args([
                "-cp",
                CLASSPATH,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            ])
            .arg(dir.path().join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut zk = ZooKeeper {
            child: Some(child),
            port,
            _dir: dir,
        };
        zk.wait_ready()?;
        Ok(zk)
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

/// Runs `zkCli.sh -server <connect> <args>` and returns its stdout.
///
/// zkCli's exit code is unreliable (0 even on connection loss): callers check the output.
/// The call is killed if it runs longer than 30 s.
pub fn zk_cli(connect: &str, args: &[&str]) -> io::Result<String> {
    // stdout goes to a file so a chatty command cannot block on a full pipe while we poll.
    let out = tempfile::tempfile()?;
    let mut child = Command::new(ZK_CLI)
        .arg("-server")
        .arg(connect)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(Stdio::null())
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
    let mut out = out;
    let mut text = String::new();
    io::Seek::rewind(&mut out)?;
    out.read_to_string(&mut text)?;
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

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn write_config(dir: &Path, port: u16) -> io::Result<()> {
    let data = dir.join("data");
    fs::create_dir_all(&data)?;
    let config = format!(
        "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n\
         4lw.commands.whitelist=*\n",
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
