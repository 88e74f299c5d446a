//! The docker test tier: images built locally, the compose cluster, containers by CLI.
//!
//! - [`skip_without_docker`]: every docker test starts with it; with no reachable engine the
//!   test prints `SKIPPED` and passes.
//! - [`images`]: runs `docker/build-test-images.sh` once per test binary (a Debian base image
//!   from debootstrap, a ZooKeeper image from Debian's package, the broker image from the
//!   host's release binary); cached between runs by the script itself.
//! - [`Compose`]: one project of `docker-compose-kafka-cluster.yml` (Compose v2 if the
//!   `docker compose` plugin exists, else `docker-compose` 1.29), waited on through the
//!   containers' healthchecks and torn down with `down -v` on drop.
//! - [`docker`] / [`zk_cli_in`] / [`zk_mode`]: the docker CLI with a deadline.
//!
//! Nothing here pulls from a registry: every image is local.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process;

/// Deadline of one ordinary docker CLI call.
const CLI_DEADLINE: Duration = Duration::from_secs(120);
/// Deadline of the image build: a cold run debootstraps Debian and installs a JVM.
const BUILD_DEADLINE: Duration = Duration::from_secs(40 * 60);

/// Whether a Docker engine answers; `Err` says why not.
pub fn engine_available() -> Result<(), String> {
    if std::env::var_os("KZR_SKIP_DOCKER").is_some_and(|v| v == "1") {
        return Err("KZR_SKIP_DOCKER=1".into());
    }
    let mut command = Command::new("docker");
    command.args(["version", "--format", "{{.Server.Version}}"]);
    match process::run(command, None, Duration::from_secs(30)) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// True (after printing why) when the test must be skipped because no engine is reachable.
pub fn skip_without_docker(test: &str) -> bool {
    match engine_available() {
        Ok(()) => false,
        Err(why) => {
            eprintln!("SKIPPED {test}: no Docker engine reachable ({why})");
            println!("SKIPPED {test}: no Docker engine reachable");
            true
        }
    }
}

/// Runs `docker args...` and returns its stdout; a non-zero exit is an error with stderr.
pub fn docker(args: &[&str]) -> io::Result<String> {
    let mut command = Command::new("docker");
    command.args(args);
    checked(command, CLI_DEADLINE)
}

fn checked(command: Command, deadline: Duration) -> io::Result<String> {
    let what = process::describe(&command);
    let out = process::run(command, None, deadline)?;
    if !out.status.success() {
        return Err(failed(&what, &out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn failed(what: &str, out: &Output) -> io::Error {
    io::Error::other(format!(
        "{what} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The locally built images the tests run.
#[derive(Debug, Clone)]
pub struct Images {
    /// Debian 12 from debootstrap; the broker image's runtime base.
    pub base: String,
    /// The ZooKeeper stand-in with the official image's ZOO_* interface.
    pub zookeeper: String,
    /// The broker image (target `prebuilt`).
    pub broker: String,
}

/// Builds (or finds cached) the test images, once per test binary.
pub fn images() -> Result<&'static Images, String> {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    IMAGES
        .get_or_init(build_images)
        .as_ref()
        .map_err(Clone::clone)
}

fn build_images() -> Result<Images, String> {
    let script = crate::workspace_dir()
        .join("docker")
        .join("build-test-images.sh");
    let started = Instant::now();
    let mut command = Command::new("bash");
    command.arg(&script).current_dir(crate::workspace_dir());
    let out = process::run(command, None, BUILD_DEADLINE).map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(failed(&script.display().to_string(), &out).to_string());
    }
    eprintln!(
        "docker: test images ready in {:.0?}\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let vars: BTreeMap<&str, &str> = std::str::from_utf8(&out.stdout)
        .map_err(|e| e.to_string())?
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |k: &str| {
        vars.get(k)
            .map(|v| (*v).to_owned())
            .ok_or_else(|| format!("build-test-images.sh printed no {k}"))
    };
    Ok(Images {
        base: get("BASE_IMAGE")?,
        zookeeper: get("ZOOKEEPER_IMAGE")?,
        broker: get("BROKER_IMAGE")?,
    })
}

/// Runs `zkCli.sh args...` inside `container` (against its own server) and returns stdout.
/// zkCli's exit code says nothing (0 on connection loss): callers check the output.
pub fn zk_cli_in(container: &str, args: &[&str]) -> io::Result<String> {
    let mut all = vec!["exec", container, "zkCli.sh", "-server", "127.0.0.1:2181"];
    all.extend_from_slice(args);
    docker(&all)
}

pub use crate::cluster::parse_ls;

/// The first JSON object line of zkCli `get` output.
pub fn parse_get_json(out: &str) -> Option<Value> {
    crate::cluster::first_json_line(out)
}

/// The `Mode:` a ZooKeeper container reports through `srvr` (leader, follower, standalone),
/// asked with bash's /dev/tcp so it works with the official image too.
pub fn zk_mode(container: &str) -> Option<String> {
    let script = "exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && timeout 5 cat <&3";
    let out = docker(&["exec", container, "bash", "-c", script]).ok()?;
    out.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(|m| m.trim().to_owned())
}

/// Polls `check` every 250 ms until it returns `Some`, or fails after `deadline` with `what`
/// and the last observation.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let end = Instant::now() + deadline;
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= end => {
                return Err(format!(
                    "{what}: not reached within {deadline:?}; last: {last}"
                ))
            }
            Err(_) => sleep(Duration::from_millis(250)),
        }
    }
}

/// How this machine runs Compose: the v2 plugin, else the standalone 1.x binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposeFlavour {
    /// `docker compose` (has `up --wait`).
    V2,
    /// `docker-compose` 1.29 (Debian's; no `--wait`).
    V1,
}

/// Detects the Compose flavour, preferring v2.
pub fn compose_flavour() -> Option<ComposeFlavour> {
    let works = |program: &str, args: &[&str]| {
        let mut command = Command::new(program);
        command.args(args);
        matches!(process::run(command, None, Duration::from_secs(30)), Ok(o) if o.status.success())
    };
    if works("docker", &["compose", "version"]) {
        Some(ComposeFlavour::V2)
    } else if works("docker-compose", &["version"]) {
        Some(ComposeFlavour::V1)
    } else {
        None
    }
}

/// One project of `docker-compose-kafka-cluster.yml`; `down -v` when dropped.
pub struct Compose {
    /// The project name (`-p`), also the `com.docker.compose.project` label value.
    pub project: String,
    flavour: ComposeFlavour,
    file: PathBuf,
    env: Vec<(String, String)>,
    down: bool,
}

impl Compose {
    /// A project named `project` running the repo's compose file with the local images.
    pub fn new(project: &str, flavour: ComposeFlavour, images: &Images) -> Compose {
        Self::with_file(project, flavour, images, "docker-compose-kafka-cluster.yml")
    }

    /// [`new`](Self::new) for another compose file of the repository (same variables).
    pub fn with_file(
        project: &str,
        flavour: ComposeFlavour,
        images: &Images,
        file: &str,
    ) -> Compose {
        let env = [
            ("ZOOKEEPER_IMAGE", images.zookeeper.as_str()),
            ("BROKER_IMAGE", images.broker.as_str()),
            ("BROKER_BUILD_TARGET", "prebuilt"),
            ("BROKER_RUNTIME_IMAGE", images.base.as_str()),
        ];
        Compose {
            project: project.to_owned(),
            flavour,
            file: crate::workspace_dir().join(file),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            down: false,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = match self.flavour {
            ComposeFlavour::V2 => {
                let mut c = Command::new("docker");
                c.arg("compose");
                c
            }
            ComposeFlavour::V1 => Command::new("docker-compose"),
        };
        command
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(&self.file)
            .args(args)
            .current_dir(crate::workspace_dir())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs `compose args...` with a deadline; stdout on success.
    pub fn run(&self, args: &[&str], deadline: Duration) -> io::Result<String> {
        checked(self.command(args), deadline)
    }

    /// `up -d --build` (with `--wait` on v2), then waits until every container is healthy.
    /// From here on, dropping the project takes it down.
    pub fn up(&mut self, deadline: Duration) -> io::Result<()> {
        self.down = false;
        let started = Instant::now();
        let mut args = vec!["up", "-d", "--build"];
        if self.flavour == ComposeFlavour::V2 {
            args.push("--wait");
        }
        self.run(&args, deadline)?;
        self.wait_healthy(deadline.saturating_sub(started.elapsed()))
    }

    /// Clears what a previous run killed mid-way may have left, checks that nothing listens
    /// on the `host_ports` the compose file publishes, then [`up`](Self::up). A port held by
    /// an outgoing connection cannot be seen beforehand (scripts/test.sh keeps the kernel from
    /// handing these out, where the machine lets it); such a port is usually free again
    /// moments later, so an "address already in use" is retried twice.
    pub fn fresh_up(&mut self, host_ports: &[u16], deadline: Duration) -> io::Result<()> {
        self.down()?;
        for &port in host_ports {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("host port {port} is already in use: the compose file publishes it"),
                ));
            }
        }
        let mut attempt = 1;
        loop {
            match self.up(deadline) {
                Err(e) if attempt < 3 && e.to_string().contains("address already in use") => {
                    println!("compose up, attempt {attempt}: a host port was in use; retrying");
                    self.down()?;
                    std::thread::sleep(Duration::from_secs(5));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The project's containers, by the label Compose puts on them.
    pub fn containers(&self) -> io::Result<Vec<String>> {
        let label = format!("label=com.docker.compose.project={}", self.project);
        let out = docker(&["ps", "-a", "-q", "--filter", &label])?;
        Ok(out.split_whitespace().map(str::to_owned).collect())
    }

    /// Waits until all containers of the project report `healthy` (what `--wait` does on v2);
    /// a one-shot container without a healthcheck counts once it has exited with status 0.
    pub fn wait_healthy(&self, deadline: Duration) -> io::Result<()> {
        wait_for("all containers healthy", deadline, || {
            let ids = self.containers().map_err(|e| e.to_string())?;
            if ids.is_empty() {
                return Err("no containers".into());
            }
            let format = "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}\
                          {{else}}{{.State.Status}}:{{.State.ExitCode}}{{end}}";
            let mut args = vec!["inspect", "--format", format];
            args.extend(ids.iter().map(String::as_str));
            let out = docker(&args).map_err(|e| e.to_string())?;
            let unhealthy: Vec<&str> = out
                .lines()
                .filter(|l| !l.ends_with(" healthy") && !l.ends_with(" exited:0"))
                .collect();
            if unhealthy.is_empty() {
                Ok(())
            } else {
                Err(unhealthy.join(", "))
            }
        })
        .map_err(|e| io::Error::new(io::ErrorKind::TimedOut, format!("{e}\n{}", self.logs())))
    }

    /// `compose exec -T service args...`.
    pub fn exec(&self, service: &str, args: &[&str]) -> io::Result<String> {
        let mut all = vec!["exec", "-T", service];
        all.extend_from_slice(args);
        self.run(&all, CLI_DEADLINE)
    }

    /// `zkCli.sh args...` inside ZooKeeper service `service`, as the README shows it.
    pub fn zk_cli(&self, service: &str, args: &[&str]) -> io::Result<String> {
        let mut all = vec!["zkCli.sh", "-server", "127.0.0.1:2181"];
        all.extend_from_slice(args);
        self.exec(service, &all)
    }

    /// The tail of every service's log, for failure messages.
    pub fn logs(&self) -> String {
        self.run(&["logs", "--no-color", "--tail", "40"], CLI_DEADLINE)
            .unwrap_or_else(|e| format!("(no logs: {e})"))
    }

    /// `down -v --remove-orphans`, then checks that no container, network or volume of the
    /// project is left.
    pub fn down(&mut self) -> io::Result<()> {
        self.down = true;
        self.run(
            &["down", "-v", "--remove-orphans", "--timeout", "20"],
            Duration::from_secs(180),
        )?;
        let leftovers = project_leftovers(&self.project)?;
        if leftovers.is_empty() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "left behind after down -v: {leftovers:?}"
            )))
        }
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- compose logs ---\n{}", self.logs());
        }
        if !self.down {
            if let Err(e) = self.down() {
                eprintln!("compose down for {}: {e}", self.project);
            }
        }
    }
}

/// Containers, networks and volumes labelled with Compose project `project`.
pub fn project_leftovers(project: &str) -> io::Result<Vec<String>> {
    let label = format!("label=com.docker.compose.project={project}");
    let mut left = Vec::new();
    for (kind, args) in [
        ("container", vec!["ps", "-a", "--format", "{{.Names}}"]),
        ("network", vec!["network", "ls", "--format", "{{.Name}}"]),
        ("volume", vec!["volume", "ls", "--format", "{{.Name}}"]),
    ] {
        let mut all = args.clone();
        all.extend(["--filter", label.as_str()]);
        for name in docker(&all)?.split_whitespace() {
            left.push(format!("{kind} {name}"));
        }
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zkcli_ls_output() {
        let out = "Connecting to 127.0.0.1:2181\n\nWATCHER::\n\n[1, 2, 3]\n";
        assert_eq!(
            parse_ls(out),
            Some(vec!["1".to_owned(), "2".to_owned(), "3".to_owned()])
        );
        assert_eq!(parse_ls("[]\n"), Some(vec![]));
        assert_eq!(parse_ls("Node does not exist: /x\n"), None);
    }
}
