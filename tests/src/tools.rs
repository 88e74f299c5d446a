//! Runs Kafka's tools from the `kafka-tools` binary the way an operator does: through a link
//! named after the tool (`kafka-topics`, or `kafka-topics.sh`), made in a per-process directory,
//! so the tests exercise the binary's name dispatch too.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// Bound on one tool run.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary: $KAFKA_TOOLS_BIN, else `<target>/debug/kafka-tools` of this workspace.
pub fn tools_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("KAFKA_TOOLS_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_dir().join("target"));
    target.join("debug").join("kafka-tools")
}

/// A directory of links named after the tools, beside the binary (shared by every test
/// process, so nothing is left behind in the temp dir).
fn link_dir() -> io::Result<&'static PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let bin = tools_bin();
        let parent = bin.parent().ok_or("the tools binary has no directory")?;
        let dir = parent.join("kafka-tools-links");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        Ok(dir)
    })
    .as_ref()
    .map_err(|e| io::Error::other(e.clone()))
}

/// A command running `tool` (e.g. `kafka-topics` or `kafka-topics.sh`) through a link of that
/// name to the binary.
pub fn command(tool: &str) -> io::Result<Command> {
    let bin = tools_bin();
    if !bin.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is missing: run `cargo build -p kafka-tools`",
                bin.display()
            ),
        ));
    }
    let link = link_dir()?.join(tool);
    if !link.exists() {
        match std::os::unix::fs::symlink(&bin, &link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Command::new(link))
}

/// Runs `tool` with `args` (and `stdin`), bounded by [`TOOL_TIMEOUT`].
pub fn run(tool: &str, args: &[&str], stdin: Option<&[u8]>) -> io::Result<Output> {
    let mut cmd = command(tool)?;
    cmd.args(args);
    crate::process::run(cmd, stdin.map(<[u8]>::to_vec), TOOL_TIMEOUT)
}

/// Runs `tool` and returns its stdout, failing (with stderr in the error) on a non-zero exit.
pub fn run_ok(tool: &str, args: &[&str]) -> io::Result<String> {
    let out = run(tool, args, None)?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{tool} {} exited with {}: {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `tool`, expecting it to fail; returns its stderr.
pub fn run_err(tool: &str, args: &[&str]) -> io::Result<String> {
    let out = run(tool, args, None)?;
    if out.status.success() {
        return Err(io::Error::other(format!(
            "{tool} {} succeeded but should have failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        )));
    }
    if out.status.code() != Some(1) {
        return Err(io::Error::other(format!(
            "{tool} {} exited with {} (Kafka's tools exit 1 on failure)",
            args.join(" "),
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}
