//! Client traffic for fault tests: a producer running at a steady rate in the background
//! (`kp_steady_produce.py`), a consumer that reads a whole topic, and the check that every
//! acknowledged record is in the log exactly once, in order, without offset gaps.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::python::{self, Spawned};

/// One acknowledged record: the producer's sequence number and where the broker put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub seq: i64,
    pub partition: i32,
    pub offset: i64,
    /// When the test saw the acknowledgement.
    pub at: Instant,
}

/// A record the producer reported as failed: (seq, error).
pub type Failed = (i64, String);

/// A background kafka-python producer sending `value-<seq>` every few milliseconds.
pub struct SteadyProducer {
    spawned: Spawned,
    stop_file: PathBuf,
    acks: Vec<Ack>,
    errors: Vec<Failed>,
    done: bool,
    _dir: tempfile::TempDir,
}

impl SteadyProducer {
    /// Starts producing to `topic` (acks `acks`: "all", "1" or "0") every `interval_ms`.
    pub fn start(
        bootstrap: &str,
        topic: &str,
        acks: &str,
        interval_ms: u32,
    ) -> io::Result<SteadyProducer> {
        let interval = interval_ms.to_string();
        Self::start_with(
            bootstrap,
            topic,
            &["--acks", acks, "--interval-ms", &interval],
        )
    }

    /// Starts `kp_steady_produce.py` with `args` besides bootstrap, topic and stop file
    /// (e.g. `--json --client-defaults`: the tutorial's producer).
    pub fn start_with(bootstrap: &str, topic: &str, args: &[&str]) -> io::Result<SteadyProducer> {
        Self::start_script("kp_steady_produce.py", bootstrap, topic, args)
    }

    /// Starts `script`, a producer printing what `kp_steady_produce.py` prints (e.g.
    /// `ck_steady_produce.py`, confluent-kafka), with `args` besides bootstrap, topic and stop
    /// file.
    pub fn start_script(
        script: &str,
        bootstrap: &str,
        topic: &str,
        args: &[&str],
    ) -> io::Result<SteadyProducer> {
        let dir = tempfile::Builder::new().prefix("producer-").tempdir()?;
        let stop_file = dir.path().join("stop");
        let stop = stop_file.to_string_lossy().into_owned();
        let mut all = vec![
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--stop-file",
            &stop,
        ];
        all.extend_from_slice(args);
        let spawned = python::spawn(script, &all)?;
        Ok(SteadyProducer {
            spawned,
            stop_file,
            acks: Vec::new(),
            errors: Vec::new(),
            done: false,
            _dir: dir,
        })
    }

    /// Acknowledgements seen so far.
    pub fn acks(&self) -> &[Ack] {
        &self.acks
    }

    /// Failed records seen so far: (seq, error).
    pub fn errors(&self) -> &[Failed] {
        &self.errors
    }

    /// Reads output until at least `more` new acknowledgements have arrived; fails after
    /// `timeout` (with what the producer said) or if the producer ends first.
    pub fn wait_more_acks(&mut self, more: usize, timeout: Duration) -> io::Result<()> {
        let target = self.acks.len() + more;
        let deadline = Instant::now() + timeout;
        while self.acks.len() < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.done {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "only {} of {target} acknowledgements within {timeout:?}; last errors: \
                         {:?}\n--- producer stderr ---\n{}",
                        self.acks.len(),
                        self.errors.iter().rev().take(5).collect::<Vec<_>>(),
                        self.spawned.stderr()
                    ),
                ));
            }
            self.read_one(left)?;
        }
        Ok(())
    }

    /// Reads output until acknowledgements arriving from now on cover every partition in
    /// `partitions` (so the producer is talking to each partition's current leader).
    pub fn wait_acks_from(&mut self, partitions: &[i32], timeout: Duration) -> io::Result<()> {
        let from = self.acks.len();
        let deadline = Instant::now() + timeout;
        loop {
            let seen: Vec<i32> = self.acks[from..].iter().map(|a| a.partition).collect();
            if partitions.iter().all(|p| seen.contains(p)) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.wait_more_acks(1, left).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("no acknowledgements from every one of {partitions:?}: {e}"),
                )
            })?;
        }
    }

    /// Tells the producer to stop, waits until it has flushed everything in flight, and returns
    /// (acknowledged, failed).
    pub fn finish(mut self, timeout: Duration) -> io::Result<(Vec<Ack>, Vec<Failed>)> {
        std::fs::write(&self.stop_file, b"stop")?;
        let deadline = Instant::now() + timeout;
        while !self.done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "producer did not finish within {timeout:?}\n{}",
                        self.spawned.stderr()
                    ),
                ));
            }
            self.read_one(left)?;
        }
        let status = self.spawned.wait(Duration::from_secs(20))?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "producer exited with {status}\n{}",
                self.spawned.stderr()
            )));
        }
        Ok((
            std::mem::take(&mut self.acks),
            std::mem::take(&mut self.errors),
        ))
    }

    fn read_one(&mut self, timeout: Duration) -> io::Result<()> {
        let Some(line) = self.spawned.next_json(timeout)? else {
            self.done = true;
            return Ok(());
        };
        if line.get("done").is_some() {
            self.done = true;
        } else if let Some(error) = line.get("error") {
            self.errors.push((
                field(&line, "seq")?,
                error.as_str().unwrap_or("?").to_owned(),
            ));
        } else {
            self.acks.push(Ack {
                seq: field(&line, "seq")?,
                partition: i32::try_from(field(&line, "partition")?)
                    .map_err(|_| bad_line(&line))?,
                offset: field(&line, "offset")?,
                at: Instant::now(),
            });
        }
        Ok(())
    }
}

fn field(line: &Value, name: &str) -> io::Result<i64> {
    line[name].as_i64().ok_or_else(|| bad_line(line))
}

fn bad_line(line: &Value) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected producer line: {line}"),
    )
}

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub value: String,
}

/// Reads every partition of `topic` from the beginning (kafka-python, no group) until nothing
/// new arrives for `idle`.
pub fn consume_all(bootstrap: &str, topic: &str, idle: Duration) -> io::Result<Vec<Consumed>> {
    let idle_ms = idle.as_millis().to_string();
    let lines = python::run_json(
        "kp_consume.py",
        &[
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--timeout-ms",
            &idle_ms,
        ],
        Duration::from_secs(120),
    )?;
    lines
        .iter()
        .filter(|l| l.get("offset").is_some())
        .map(|l| {
            Ok(Consumed {
                partition: i32::try_from(field(l, "partition")?).map_err(|_| bad_line(l))?,
                offset: field(l, "offset")?,
                value: l["value"].as_str().ok_or_else(|| bad_line(l))?.to_owned(),
            })
        })
        .collect()
}

/// Reads every partition of `topic` from the beginning with confluent-kafka
/// (`ck_consume_all.py`: records of `ck_steady_produce.py`, each value cut at its first space)
/// until nothing new arrives for `idle`; returns each record with its full size.
pub fn consume_all_sized(
    bootstrap: &str,
    topic: &str,
    idle: Duration,
) -> io::Result<Vec<(Consumed, usize)>> {
    let idle_ms = idle.as_millis().to_string();
    let lines = python::run_json(
        "ck_consume_all.py",
        &[
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--idle-ms",
            &idle_ms,
        ],
        Duration::from_secs(120),
    )?;
    lines
        .iter()
        .map(|l| {
            let consumed = Consumed {
                partition: i32::try_from(field(l, "partition")?).map_err(|_| bad_line(l))?,
                offset: field(l, "offset")?,
                value: l["value"].as_str().ok_or_else(|| bad_line(l))?.to_owned(),
            };
            let size = usize::try_from(field(l, "size")?).map_err(|_| bad_line(l))?;
            Ok((consumed, size))
        })
        .collect()
}

/// What [`check_acknowledged`] found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Records consumed per partition.
    pub per_partition: BTreeMap<i32, usize>,
    /// Records in the log that were never acknowledged (failed or unreported sends).
    pub unacknowledged: usize,
}

/// Checks `consumed` (a whole topic read from its log start) against the producer's `acks`
/// (record `seq` has the value `value_of(seq)`):
/// - per partition, offsets are contiguous from the first one read (no gaps above log start);
/// - every acknowledged record is at the partition and offset it was acknowledged with, and its
///   value appears exactly once in the topic;
/// - per partition, acknowledged records are in the order they were sent.
pub fn check_acknowledged(
    acks: &[Ack],
    consumed: &[Consumed],
    value_of: impl Fn(i64) -> String,
) -> Result<Verdict, String> {
    let mut verdict = Verdict::default();
    let mut by_partition: BTreeMap<i32, Vec<&Consumed>> = BTreeMap::new();
    for c in consumed {
        by_partition.entry(c.partition).or_default().push(c);
    }
    let mut at: HashMap<(i32, i64), &str> = HashMap::new();
    for (partition, records) in &mut by_partition {
        records.sort_by_key(|c| c.offset);
        let first = records.first().map_or(0, |c| c.offset);
        for (i, c) in records.iter().enumerate() {
            let expected = first + i64::try_from(i).unwrap_or(i64::MAX);
            if c.offset != expected {
                return Err(format!(
                    "partition {partition}: offset {} where {expected} was expected (gap or \
                     duplicate offset)",
                    c.offset
                ));
            }
            at.insert((*partition, c.offset), c.value.as_str());
        }
        verdict.per_partition.insert(*partition, records.len());
    }
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for c in consumed {
        *copies.entry(c.value.as_str()).or_default() += 1;
    }
    let mut last_seq: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    let mut sorted: Vec<&Ack> = acks.iter().collect();
    sorted.sort_by_key(|a| (a.partition, a.offset));
    for ack in sorted {
        let value = value_of(ack.seq);
        match at.get(&(ack.partition, ack.offset)) {
            Some(v) if *v == value => {}
            other => {
                return Err(format!(
                    "{value} was acknowledged at {}:{} but the log has {other:?} there",
                    ack.partition, ack.offset
                ))
            }
        }
        let n = copies.get(value.as_str()).copied().unwrap_or(0);
        if n != 1 {
            return Err(format!("{value} is in the topic {n} times"));
        }
        if let Some((seq, offset)) = last_seq.get(&ack.partition) {
            if *seq > ack.seq {
                return Err(format!(
                    "partition {}: seq {} at offset {} comes after seq {seq} at offset {offset}",
                    ack.partition, ack.seq, ack.offset
                ));
            }
        }
        last_seq.insert(ack.partition, (ack.seq, ack.offset));
    }
    verdict.unacknowledged = consumed.len().saturating_sub(acks.len());
    Ok(verdict)
}

/// The tutorial's group consumer (`kp_tutorial_consumer.py`) running in the background.
pub struct TutorialConsumer {
    spawned: Spawned,
    stop_file: PathBuf,
    records: Vec<Value>,
    done: bool,
    _dir: tempfile::TempDir,
}

impl TutorialConsumer {
    /// Starts a consumer of `topic` in `group`, bootstrapping from `bootstrap` ("a,b").
    pub fn start(bootstrap: &str, topic: &str, group: &str) -> io::Result<TutorialConsumer> {
        let dir = tempfile::Builder::new().prefix("consumer-").tempdir()?;
        let stop_file = dir.path().join("stop");
        let spawned = python::spawn(
            "kp_tutorial_consumer.py",
            &[
                "--bootstrap",
                bootstrap,
                "--topic",
                topic,
                "--group",
                group,
                "--stop-file",
                &stop_file.to_string_lossy(),
            ],
        )?;
        Ok(TutorialConsumer {
            spawned,
            stop_file,
            records: Vec::new(),
            done: false,
            _dir: dir,
        })
    }

    /// Records received so far (`{"partition", "offset", "value"}`).
    pub fn records(&self) -> &[Value] {
        &self.records
    }

    /// Waits until `pred` holds for the records received so far, or fails after `timeout`.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        while !pred(&self.records) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.done {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "consumer: {what}: not within {timeout:?} ({} records)\n\
                         --- consumer stderr ---\n{}",
                        self.records.len(),
                        self.spawned.stderr()
                    ),
                ));
            }
            match self.spawned.next_json(left) {
                Ok(Some(line)) if line.get("done").is_some() => self.done = true,
                Ok(Some(line)) => self.records.push(line),
                Ok(None) => self.done = true,
                // Quiet for a while: check the deadline and predicate again.
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Stops the consumer (it commits and closes) and returns every record it received.
    pub fn finish(mut self, timeout: Duration) -> io::Result<Vec<Value>> {
        std::fs::write(&self.stop_file, b"stop")?;
        let deadline = Instant::now() + timeout;
        while !self.done && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.spawned.next_json(left) {
                Ok(Some(line)) if line.get("done").is_some() => self.done = true,
                Ok(Some(line)) => self.records.push(line),
                Ok(None) => self.done = true,
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e),
            }
        }
        let status = self.spawned.wait(Duration::from_secs(20))?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "consumer exited with {status}\n{}",
                self.spawned.stderr()
            )));
        }
        Ok(std::mem::take(&mut self.records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v_seq(seq: i64) -> String {
        format!("v-{seq}")
    }

    fn ack(seq: i64, partition: i32, offset: i64) -> Ack {
        Ack {
            seq,
            partition,
            offset,
            at: Instant::now(),
        }
    }

    fn rec(partition: i32, offset: i64, seq: i64) -> Consumed {
        Consumed {
            partition,
            offset,
            value: format!("v-{seq}"),
        }
    }

    #[test]
    fn accepts_a_consistent_log() {
        let acks = [ack(0, 0, 0), ack(1, 1, 0), ack(3, 0, 2)];
        let log = [rec(0, 0, 0), rec(0, 1, 2), rec(0, 2, 3), rec(1, 0, 1)];
        let verdict = check_acknowledged(&acks, &log, v_seq).expect("consistent");
        assert_eq!(verdict.unacknowledged, 1);
        assert_eq!(verdict.per_partition[&0], 3);
    }

    #[test]
    fn finds_gaps_duplicates_losses_and_reordering() {
        let acks = [ack(0, 0, 0), ack(1, 0, 1)];
        assert!(check_acknowledged(&acks, &[rec(0, 0, 0), rec(0, 2, 1)], v_seq).is_err());
        assert!(check_acknowledged(&acks, &[rec(0, 0, 0)], v_seq).is_err());
        let dup = [rec(0, 0, 0), rec(0, 1, 1), rec(0, 2, 1)];
        assert!(check_acknowledged(&acks, &dup, v_seq).is_err());
        let swapped = [ack(1, 0, 0), ack(0, 0, 1)];
        let log = [rec(0, 0, 1), rec(0, 1, 0)];
        assert!(check_acknowledged(&swapped, &log, v_seq).is_err());
    }
}
