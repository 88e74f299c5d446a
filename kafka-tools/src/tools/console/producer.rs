//! `kafka-console-producer` (Kafka's ConsoleProducer): each stdin line a record (split by the
//! [`LineReader`]), keyed records partitioned as Kafka's default partitioner does (murmur2),
//! keyless ones one partition per batch. Records are sent in batches: when `--timeout` (the
//! linger, 1000 ms) has passed since the first waiting record, when `--batch-size` bytes wait,
//! or at the end of input; with `--sync`, each record alone, acknowledged before the next line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::records::Compression;
use tokio::sync::mpsc;

use super::line_reader::LineReader;
use super::{bootstrap, merged_props};
use crate::client::partitioner::{keyed_partition, Sticky};
use crate::client::produce::{OutRecord, ProduceConfig, Producer};
use crate::client::{Admin, Security};
use crate::error::{Result, ToolError};
use crate::tools::common::parse;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-console-producer",
    about = "This tool helps to read data from standard input and publish it to Kafka."
)]
struct Cli {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// REQUIRED: The topic name to produce messages to.
    #[arg(long, value_name = "topic")]
    topic: String,
    /// Send each message synchronously, one at a time as they arrive.
    #[arg(long)]
    sync: bool,
    /// The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd' (gzip when
    /// given without a value).
    #[arg(long = "compression-codec", num_args = 0..=1, default_missing_value = "gzip", value_name = "compression-codec")]
    compression_codec: Option<String>,
    /// Bytes of messages to send in a single batch when not sending synchronously.
    #[arg(long = "batch-size", value_name = "size")]
    batch_size: Option<usize>,
    /// Retries before the producer gives up on a message.
    #[arg(long = "message-send-max-retries")]
    message_send_max_retries: Option<u32>,
    /// Wait before each retry (ms), after refreshing metadata.
    #[arg(long = "retry-backoff-ms")]
    retry_backoff_ms: Option<u64>,
    /// How long a message may wait for a batch to fill (ms; `linger.ms`).
    #[arg(long = "timeout", value_name = "timeout_ms")]
    timeout: Option<u64>,
    /// The required `acks` of the producer requests.
    #[arg(
        long = "request-required-acks",
        value_name = "request required acks",
        allow_negative_numbers = true
    )]
    request_required_acks: Option<String>,
    /// The ack timeout of the producer requests (ms).
    #[arg(long = "request-timeout-ms", value_name = "request timeout ms")]
    request_timeout_ms: Option<i32>,
    /// Accepted for compatibility (the metadata is read when needed).
    #[arg(long = "metadata-expiry-ms", hide = true)]
    metadata_expiry_ms: Option<u64>,
    /// Accepted for compatibility.
    #[arg(long = "max-block-ms", hide = true)]
    max_block_ms: Option<u64>,
    /// Accepted for compatibility.
    #[arg(long = "max-memory-bytes", hide = true)]
    max_memory_bytes: Option<u64>,
    /// Accepted for compatibility (--batch-size).
    #[arg(long = "max-partition-memory-bytes", hide = true)]
    max_partition_memory_bytes: Option<usize>,
    /// Accepted for compatibility.
    #[arg(long = "socket-buffer-size", hide = true)]
    socket_buffer_size: Option<u64>,
    /// Only Kafka's default reader (org.apache.kafka.tools.LineMessageReader) is available.
    #[arg(long = "line-reader", value_name = "reader_class")]
    line_reader: Option<String>,
    /// Reader properties key=value: parse.key, key.separator, parse.headers,
    /// headers.delimiter, headers.separator, headers.key.separator, ignore.error, null.marker.
    #[arg(long = "property", value_name = "prop")]
    property: Vec<String>,
    /// Reader properties file (--property takes precedence).
    #[arg(long = "reader-config", value_name = "config file")]
    reader_config: Option<PathBuf>,
    /// Producer properties key=value.
    #[arg(long = "producer-property", value_name = "producer_prop")]
    producer_property: Vec<String>,
    /// Producer properties file (--producer-property takes precedence).
    #[arg(long = "producer.config", value_name = "config file")]
    producer_config: Option<PathBuf>,
}

/// The producer settings, from the flags over the producer properties.
struct Settings {
    config: ProduceConfig,
    linger: Duration,
    batch_bytes: usize,
    client_id: String,
}

impl Settings {
    fn new(cli: &Cli, props: &std::collections::BTreeMap<String, String>) -> Result<Settings> {
        let prop = |k: &str| props.get(k).map(|v| v.trim().to_owned());
        let number = |k: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| ToolError::usage(format!("Invalid value {v} for configuration {k}")))
        };
        let acks = match cli.request_required_acks.clone().or_else(|| prop("acks")) {
            None => -1,
            Some(a) if a.eq_ignore_ascii_case("all") => -1,
            Some(a) => match a.parse::<i16>() {
                Ok(n @ -1..=1) => n,
                _ => {
                    return Err(ToolError::usage(format!(
                        "Invalid value {a} for configuration acks: String must be one of: all, -1, 0, 1"
                    )))
                }
            },
        };
        let codec = cli
            .compression_codec
            .clone()
            .or_else(|| prop("compression.type"));
        let compression = match codec.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("none") => Compression::None,
            Some("gzip") => Compression::Gzip,
            Some("snappy") => Compression::Snappy,
            Some("lz4") => Compression::Lz4,
            Some("zstd") => Compression::Zstd,
            Some(other) => {
                return Err(ToolError::usage(format!(
                    "Invalid value {other} for configuration compression.type: String must be one of: none, gzip, snappy, lz4, zstd"
                )))
            }
        };
        let retries = match cli.message_send_max_retries {
            Some(r) => r,
            None => match prop("retries") {
                Some(v) => u32::try_from(number("retries", v)?).unwrap_or(u32::MAX),
                None => 3,
            },
        };
        let retry_backoff_ms = match cli.retry_backoff_ms {
            Some(ms) => ms,
            None => prop("retry.backoff.ms")
                .map(|v| number("retry.backoff.ms", v))
                .transpose()?
                .unwrap_or(100),
        };
        let linger_ms = match cli.timeout {
            Some(ms) => ms,
            None => prop("linger.ms")
                .map(|v| number("linger.ms", v))
                .transpose()?
                .unwrap_or(1000),
        };
        let batch_bytes = match cli.batch_size.or(cli.max_partition_memory_bytes) {
            Some(b) => b,
            None => prop("batch.size")
                .map(|v| number("batch.size", v))
                .transpose()?
                .map_or(16_384, |b| usize::try_from(b).unwrap_or(usize::MAX)),
        };
        let timeout_ms = match cli.request_timeout_ms {
            Some(ms) => ms,
            None => prop("request.timeout.ms")
                .map(|v| number("request.timeout.ms", v))
                .transpose()?
                .map_or(1500, |ms| i32::try_from(ms).unwrap_or(i32::MAX)),
        };
        Ok(Settings {
            config: ProduceConfig {
                acks,
                timeout_ms,
                compression,
                retries,
                retry_backoff: Duration::from_millis(retry_backoff_ms),
            },
            linger: Duration::from_millis(linger_ms),
            batch_bytes: batch_bytes.max(1),
            client_id: prop("client.id").unwrap_or_else(|| "console-producer".to_owned()),
        })
    }
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    if let Some(reader) = cli.line_reader.as_deref() {
        if !reader.ends_with("LineMessageReader") {
            return Err(ToolError::usage(format!(
                "the line reader {reader} is not available: only LineMessageReader"
            )));
        }
    }
    let producer_props = merged_props(cli.producer_config.as_deref(), &cli.producer_property)?;
    let reader_props = merged_props(cli.reader_config.as_deref(), &cli.property)?;
    let reader = LineReader::from_props(&reader_props)?;
    let settings = Settings::new(&cli, &producer_props)?;
    let server = bootstrap(cli.bootstrap_server.as_deref(), &producer_props)?;
    let security = Security::from_props(&producer_props)?;
    let mut admin = Admin::connect_as(&server, security, &settings.client_id).await?;
    let mut producer = Producer::new(&mut admin, &cli.topic, settings.config.clone()).await?;
    let mut lines = stdin_lines();
    let mut batch = Batch::default();
    let mut number = 0;
    loop {
        let next = match batch.first_at {
            // Something waits: read until the linger runs out.
            Some(first) if !cli.sync => {
                let left = settings.linger.saturating_sub(first.elapsed());
                match tokio::time::timeout(left, lines.recv()).await {
                    Ok(line) => line,
                    Err(_) => {
                        batch.flush(&mut producer).await?;
                        continue;
                    }
                }
            }
            _ => lines.recv().await,
        };
        let Some(line) = next else { break };
        let line = line.map_err(|e| ToolError::io("reading standard input", e))?;
        number += 1;
        batch.add(reader.record(&line, number)?, producer.partition_count());
        if cli.sync || batch.bytes >= settings.batch_bytes {
            batch.flush(&mut producer).await?;
        }
    }
    batch.flush(&mut producer).await
}

/// Records waiting to be sent.
#[derive(Default)]
struct Batch {
    records: Vec<(Option<i32>, OutRecord)>,
    bytes: usize,
    first_at: Option<tokio::time::Instant>,
    sticky: Option<Sticky>,
}

impl Batch {
    fn add(&mut self, record: OutRecord, partitions: i32) {
        let partition = record
            .key
            .as_deref()
            .map(|k| keyed_partition(k, partitions));
        self.bytes += record.key.as_ref().map_or(0, |k| k.len())
            + record.value.as_ref().map_or(0, |v| v.len());
        self.first_at.get_or_insert_with(tokio::time::Instant::now);
        self.records.push((partition, record));
    }

    async fn flush(&mut self, producer: &mut Producer<'_>) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        let keyless = self
            .sticky
            .get_or_insert_with(Sticky::new)
            .next_batch(producer.partition_count());
        let records = std::mem::take(&mut self.records)
            .into_iter()
            .map(|(p, r)| (p.unwrap_or(keyless), r))
            .collect();
        self.bytes = 0;
        self.first_at = None;
        producer.send(records).await.map(|_| ())
    }
}

/// Stdin's lines, read on their own thread (a read blocks) and handed over as they come.
fn stdin_lines() -> mpsc::UnboundedReceiver<std::io::Result<String>> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let failed = line.is_err();
            if sender.send(line).is_err() || failed {
                break;
            }
        }
    });
    receiver
}
