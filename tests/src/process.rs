//! Running child processes (client scripts, kcat) with a deadline, without deadlocks.
//!
//! stdout and stderr are drained by threads while we wait, so a chatty child never blocks on a
//! full pipe; a child still running at the deadline is killed (by PID, SIGKILL) and reported with
//! whatever it printed so far, which is usually the explanation.

use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often a waiting loop checks whether the child has exited.
const POLL: Duration = Duration::from_millis(20);

/// Runs `command` to completion, feeding it `stdin` (then closing it), and returns its output.
///
/// A non-zero exit is *not* an error here (callers decide); running past `timeout` is: the child
/// is killed and the error message carries its stdout and stderr.
pub fn run(mut command: Command, stdin: Option<Vec<u8>>, timeout: Duration) -> io::Result<Output> {
    let what = describe(&command);
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start {what}: {e}")))?;

    // Writing stdin on its own thread: a child that prints before reading its input could
    // otherwise fill its stdout pipe while we block on its stdin pipe.
    let writer = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(thread::spawn(move || {
            // A child that exits early closes the pipe; that shows up in its exit status.
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());

    let status = wait_deadline(&mut child, timeout)?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let output = Output {
        // After a kill, wait() returns the status already reaped by wait_deadline.
        status: match status {
            Some(status) => status,
            None => child.wait()?,
        },
        stdout: join(stdout),
        stderr: join(stderr),
    };
    if status.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{what} still running after {timeout:?}, killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ));
    }
    Ok(output)
}

/// Waits for `child` until `timeout`; `None` means it was still running and has been killed.
pub fn wait_deadline(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            // kill() fails only if the child already exited; wait() reaps it either way.
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

/// Sends `signal` (a name `kill` understands, e.g. "TERM") to `pid`.
///
/// Uses the `kill` command rather than libc so the crate stays free of unsafe code.
pub fn signal(pid: u32, signal: &str) -> io::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "kill -{signal} {pid} failed ({status})"
        )))
    }
}

/// A one-line description of a command for error messages.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut pipe| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            // A read error (e.g. the child was killed mid-write) just ends the capture.
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    })
}

fn join(handle: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}
