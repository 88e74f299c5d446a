//! Running the Python client scripts in `tests/clients/` with the pinned Kafka client libraries.
//!
//! Scripts print one JSON object per line on stdout (their results) and explain failures on
//! stderr with a non-zero exit. The interpreter is `$TEST_PYTHON`, else the workspace's
//! `.venv/bin/python` made by `scripts/install-test-deps.sh`.

use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::check::int;
use crate::process::{self, wait_deadline};

/// The Python interpreter that has the client libraries installed.
pub fn interpreter() -> PathBuf {
    match std::env::var_os("TEST_PYTHON") {
        Some(python) => PathBuf::from(python),
        None => crate::workspace_dir()
            .join(".venv")
            .join("bin")
            .join("python"),
    }
}

/// The path of client script `script` (e.g. "kp_produce.py").
pub fn script_path(script: &str) -> PathBuf {
    crate::workspace_dir()
        .join("tests")
        .join("clients")
        .join(script)
}

fn command(script: &str, args: &[&str]) -> io::Result<Command> {
    let python = interpreter();
    if !python.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "Python interpreter {} not found: run scripts/install-test-deps.sh or set TEST_PYTHON",
                python.display()
            ),
        ));
    }
    let mut command = Command::new(python);
    command
        .arg(script_path(script))
        .args(args)
        // Lines must reach us as they are printed (the crash tests act on them).
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    Ok(command)
}

/// Runs `script` with `args` and returns its output, whatever its exit status; an error only if
/// it cannot start or is still running after `timeout` (it is then killed).
pub fn run(script: &str, args: &[&str], timeout: Duration) -> io::Result<Output> {
    process::run(command(script, args)?, None, timeout)
}

/// Runs `script` and returns its JSON lines; a non-zero exit is an error carrying its stderr.
pub fn run_json(script: &str, args: &[&str], timeout: Duration) -> io::Result<Vec<Value>> {
    let output = run(script, args, timeout)?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{script} {args:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    json_lines(&output.stdout)
}

/// Parses every non-empty line of `stdout` as JSON.
pub fn json_lines(stdout: &[u8]) -> io::Result<Vec<Value>> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not JSON ({e}): {line}"),
                )
            })
        })
        .collect()
}

/// A client script running in the background, whose JSON lines are read as they come.
pub struct Spawned {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    script: String,
}

/// Starts `script` in the background (stdin closed).
pub fn spawn(script: &str, args: &[&str]) -> io::Result<Spawned> {
    let mut command = command(script, args)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("child stdout was not captured"))?;
    let mut stderr_pipe = child
        .stderr
        .take()
        .ok_or_else(|| io::Error::other("child stderr was not captured"))?;

    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&stderr);
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr_pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            if let Ok(mut buf) = sink.lock() {
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    });
    Ok(Spawned {
        child,
        lines,
        stderr,
        script: script.to_owned(),
    })
}

/// The values `kp_produce.py` (default `--prefix`) wrote for the records its output `lines`
/// acknowledge (lines with an `offset`), in output order. Error lines are left out: those
/// records may or may not have been written.
pub fn acknowledged_values(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.get("offset").is_some())
        .map(|l| format!("value-{}", int(l, "seq")))
        .collect()
}

impl Spawned {
    /// Reads lines until `n` of them are acknowledgements (carry an `offset`), each line within
    /// `timeout`; panics if the script ends first. Returns every line read.
    pub fn until_acknowledged(&mut self, n: usize, timeout: Duration) -> Vec<Value> {
        let mut lines: Vec<Value> = Vec::new();
        while lines.iter().filter(|l| l.get("offset").is_some()).count() < n {
            match self.next_json(timeout) {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => panic!("producer ended after {} lines: {lines:?}", lines.len()),
                Err(e) => panic!("producer output: {e}"),
            }
        }
        lines
    }

    /// The next JSON line, waiting at most `timeout`; `Ok(None)` once stdout is closed.
    pub fn next_json(&mut self, timeout: Duration) -> io::Result<Option<Value>> {
        loop {
            match self.lines.recv_timeout(timeout) {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => {
                    return serde_json::from_str(&line).map(Some).map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: not JSON ({e}): {line}", self.script),
                        )
                    })
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "{}: no output line within {timeout:?}\n--- stderr ---\n{}",
                            self.script,
                            self.stderr()
                        ),
                    ))
                }
            }
        }
    }

    /// Every remaining JSON line until stdout closes, waiting at most `timeout` per line.
    pub fn remaining_json(&mut self, timeout: Duration) -> io::Result<Vec<Value>> {
        let mut values = Vec::new();
        while let Some(value) = self.next_json(timeout)? {
            values.push(value);
        }
        Ok(values)
    }

    /// Waits for the script to exit; kills it (and fails) after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        match wait_deadline(&mut self.child, timeout)? {
            Some(status) => Ok(status),
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} still running after {timeout:?}, killed\n--- stderr ---\n{}",
                    self.script,
                    self.stderr()
                ),
            )),
        }
    }

    /// What the script has written to stderr so far.
    pub fn stderr(&self) -> String {
        match self.stderr.lock() {
            Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
            Err(_) => String::from("(stderr unavailable)"),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- {} stderr ---\n{}", self.script, self.stderr());
        }
        // kill() fails only if the script already exited; wait() reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
