//! Producing and consuming with `kcat` (librdkafka), byte-exact.
//!
//! kcat splits its stdin into messages on a delimiter and keys on another, and prints consumed
//! messages through a format string. Both delimiters here are multi-byte sequences that the test
//! payloads never contain, and the output format carries explicit lengths (`%K`, `%S`), so binary
//! keys and values (newlines, NULs, any byte) survive the round trip unchanged.

use std::io;
use std::process::Command;
use std::time::Duration;

use crate::process;

/// Separates messages on kcat's stdin (as kcat's `-D` syntax, and as bytes).
const MESSAGE_DELIM_ARG: &str = r"\x1e<<kcat-msg>>\x1e";
const MESSAGE_DELIM: &[u8] = b"\x1e<<kcat-msg>>\x1e";
/// Separates a key from its value (as kcat's `-K` syntax, and as bytes).
const KEY_DELIM_ARG: &str = r"\x1f<<kcat-key>>\x1f";
const KEY_DELIM: &[u8] = b"\x1f<<kcat-key>>\x1f";

/// One consumed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// The kcat binary ($KCAT_BIN, else `kcat` on PATH).
fn kcat() -> Command {
    Command::new(std::env::var_os("KCAT_BIN").unwrap_or_else(|| "kcat".into()))
}

/// Produces `records` (key, value) in order to partition 0 of `topic` with compression `codec`
/// ("none", "gzip", "snappy", "lz4", "zstd") and waits for all of them to be acknowledged.
///
/// Keys must be non-empty and must not contain the key delimiter, values must be non-empty and
/// must not contain the message delimiter: kcat skips empty input and splits on the delimiters.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    codec: &str,
    records: &[(Vec<u8>, Vec<u8>)],
    timeout: Duration,
) -> io::Result<()> {
    produce_with(bootstrap, topic, codec, records, &[], timeout)
}

/// [`produce`] with librdkafka settings (`key=value`, passed as `-X`), e.g. for TLS.
pub fn produce_with(
    bootstrap: &str,
    topic: &str,
    codec: &str,
    records: &[(Vec<u8>, Vec<u8>)],
    config: &[&str],
    timeout: Duration,
) -> io::Result<()> {
    let mut input = Vec::new();
    for (key, value) in records {
        if key.is_empty() || value.is_empty() {
            return Err(invalid("kcat cannot send empty keys or values this way"));
        }
        if contains(key, KEY_DELIM)
            || contains(key, MESSAGE_DELIM)
            || contains(value, MESSAGE_DELIM)
        {
            return Err(invalid("a record contains a kcat delimiter"));
        }
        input.extend_from_slice(key);
        input.extend_from_slice(KEY_DELIM);
        input.extend_from_slice(value);
        input.extend_from_slice(MESSAGE_DELIM);
    }
    let mut command = kcat();
    command
        .args(["-P", "-b", bootstrap, "-t", topic, "-p", "0"])
        .args(["-D", MESSAGE_DELIM_ARG, "-K", KEY_DELIM_ARG])
        .args(["-X", &format!("compression.codec={codec}")])
        // One batch when possible, so compression applies to several records at once.
        .args(["-X", "linger.ms=50"])
        // Any delivery failure makes kcat exit non-zero instead of printing and carrying on.
        .args(["-X", "message.timeout.ms=30000"]);
    for setting in config {
        command.args(["-X", setting]);
    }
    let output = process::run(command, Some(input), timeout)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // kcat reports failed deliveries on stderr ("Delivery failed") but may still exit 0.
    // Other "% ERROR" lines can be transient (e.g. while a topic is being auto-created).
    if !output.status.success() || stderr.contains("Delivery failed") {
        return Err(io::Error::other(format!(
            "kcat produce failed ({})\n{stderr}",
            output.status
        )));
    }
    Ok(())
}

/// Consumes partition 0 of `topic` from the beginning until its end (at most `max` messages).
pub fn consume(
    bootstrap: &str,
    topic: &str,
    max: usize,
    timeout: Duration,
) -> io::Result<Vec<Record>> {
    consume_with(bootstrap, topic, max, &[], timeout)
}

/// [`consume`] with librdkafka settings (`key=value`, passed as `-X`), e.g. for TLS.
pub fn consume_with(
    bootstrap: &str,
    topic: &str,
    max: usize,
    config: &[&str],
    timeout: Duration,
) -> io::Result<Vec<Record>> {
    let mut command = kcat();
    for setting in config {
        command.args(["-X", setting]);
    }
    command
        .args([
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .args(["-c", &max.to_string()])
        // offset, key length, key, value length, value: lengths make binary data parseable.
        .args(["-f", r"%o %K:%k %S:%s\n"]);
    let output = process::run(command, None, timeout)?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "kcat consume failed ({})\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    parse_records(&output.stdout)
}

/// Parses kcat output in the `%o %K:%k %S:%s\n` format.
pub fn parse_records(mut out: &[u8]) -> io::Result<Vec<Record>> {
    let mut records = Vec::new();
    while !out.is_empty() {
        let (offset, rest) = number_until(out, b' ')?;
        let (key, rest) = sized(rest)?;
        let rest = rest
            .strip_prefix(b" ")
            .ok_or_else(|| invalid("expected ' ' after the key"))?;
        let (value, rest) = sized(rest)?;
        out = rest
            .strip_prefix(b"\n")
            .ok_or_else(|| invalid("expected a newline after the value"))?;
        records.push(Record { offset, key, value });
    }
    Ok(records)
}

/// Parses "LEN:BYTES" where LEN -1 means null.
fn sized(input: &[u8]) -> io::Result<(Option<Vec<u8>>, &[u8])> {
    let (len, rest) = number_until(input, b':')?;
    if len < 0 {
        return Ok((None, rest));
    }
    let len = usize::try_from(len).map_err(|_| invalid("length out of range"))?;
    if rest.len() < len {
        return Err(invalid("kcat output ends inside a key or value"));
    }
    Ok((Some(rest[..len].to_vec()), &rest[len..]))
}

/// Parses a decimal number ending at `end` and returns it with what follows `end`.
fn number_until(input: &[u8], end: u8) -> io::Result<(i64, &[u8])> {
    let at = input
        .iter()
        .position(|&b| b == end)
        .ok_or_else(|| invalid("kcat output: missing field separator"))?;
    let text = std::str::from_utf8(&input[..at]).map_err(|_| invalid("kcat output: bad number"))?;
    let number = text
        .parse()
        .map_err(|_| invalid(&format!("kcat output: bad number {text:?}")))?;
    Ok((number, &input[at + 1..]))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_and_null_fields() {
        let mut out = b"0 3:a\nb 2:\x00\n\n".to_vec();
        out.extend_from_slice(b"1 -1: 0:\n");
        let records = parse_records(&out).expect("parse");
        assert_eq!(
            records,
            vec![
                Record {
                    offset: 0,
                    key: Some(b"a\nb".to_vec()),
                    value: Some(b"\x00\n".to_vec())
                },
                Record {
                    offset: 1,
                    key: None,
                    value: Some(Vec::new())
                },
            ]
        );
    }

    #[test]
    fn rejects_truncated_output() {
        assert!(parse_records(b"0 5:ab").is_err());
    }
}
