//! The independent client: librdkafka (through the `rdkafka` crate) producing and consuming,
//! plus topic creation through its admin API. Nothing here uses the broker's own codec.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Messages between two looks at the clock for a deadline, where nothing else needs the time.
const DEADLINE_CHECK: u64 = 1024;

/// Client settings every client the bench makes gets on top of its own: the security settings
/// (`security.protocol`, `sasl.*`, `ssl.*`) of the listener being measured, set by
/// [`with_security`] for the length of a scenario. Empty: plaintext, as every other scenario.
static SECURITY: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Runs `f` with every client the bench creates configured with `settings`.
pub fn with_security<T>(settings: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
    let owned = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    *SECURITY.lock().unwrap_or_else(|e| e.into_inner()) = owned;
    let out = f();
    SECURITY.lock().unwrap_or_else(|e| e.into_inner()).clear();
    out
}

fn apply_security(c: &mut ClientConfig) {
    for (k, v) in SECURITY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        c.set(k, v);
    }
}

/// Creates `topic` with `partitions` partitions and replication factor `rf`, then waits until
/// Metadata shows a leader for every partition.
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32, rf: i32) -> Result<()> {
    create_topic_with(bootstrap, topic, partitions, rf, &[])
}

/// [`create_topic`] with topic configs (`cleanup.policy`, `segment.bytes`, ...).
pub fn create_topic_with(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    rf: i32,
    configs: &[(&str, &str)],
) -> Result<()> {
    let admin = admin_client(bootstrap)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let new = configs.iter().fold(
        NewTopic::new(topic, partitions, TopicReplication::Fixed(rf)),
        |new, (k, v)| new.set(k, v),
    );
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = runtime
        .block_on(admin.create_topics([&new], &opts))
        .context("CreateTopics")?;
    for r in results {
        if let Err((name, code)) = r {
            if code != RDKafkaErrorCode::TopicAlreadyExists {
                bail!("CreateTopics {name}: {code}");
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let md = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .context("Metadata")?;
        let ready = md.topics().iter().any(|t| {
            t.name() == topic
                && t.error().is_none()
                && t.partitions().len() == partitions as usize
                && t.partitions()
                    .iter()
                    .all(|p| p.leader() >= 0 && p.isr().len() == rf as usize)
        });
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("topic {topic} has no leader for every partition after 60 s");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn admin_client(bootstrap: &str) -> Result<AdminClient<DefaultClientContext>> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    apply_security(&mut c);
    c.create().context("creating the admin client")
}

/// Replaces the config overrides of `topic` with `configs` (AlterConfigs: keys left out go
/// back to the broker's defaults). The brokers apply it when ZooKeeper tells them, shortly
/// after this returns.
pub fn alter_topic(bootstrap: &str, topic: &str, configs: &[(&str, &str)]) -> Result<()> {
    let admin = admin_client(bootstrap)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let alter = configs.iter().fold(
        AlterConfig::new(ResourceSpecifier::Topic(topic)),
        |alter, (k, v)| alter.set(k, v),
    );
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = runtime
        .block_on(admin.alter_configs([&alter], &opts))
        .context("AlterConfigs")?;
    for r in results {
        if let Err((resource, code)) = r {
            bail!("AlterConfigs {resource:?}: {code}");
        }
    }
    Ok(())
}

/// Producer settings shared by every mode. `linger_ms` 5 (librdkafka's default) for
/// throughput, 0 for latency.
pub fn producer_config(bootstrap: &str, acks: i32, linger_ms: u32) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("acks", acks.to_string())
        .set("linger.ms", linger_ms.to_string())
        .set("batch.size", "1000000")
        .set("batch.num.messages", "100000")
        .set("queue.buffering.max.messages", "1000000")
        // 64 MiB of queued messages (the Java producer's buffer.memory is 32 MiB). With
        // librdkafka's 1 GiB the producer queued a whole 1 GiB run ahead of the broker and
        // paid for that much fresh memory (0.5-1 CPU-s per GiB of page faults and zeroing on
        // this VM), CPU that the broker then lacked on the two cores.
        .set("queue.buffering.max.kbytes", "65536")
        .set("compression.type", "none")
        // Payloads from 512 B up are referenced in the request instead of copied into it
        // (librdkafka copies up to 64 KiB by default): 0.15-0.2 client CPU-s less per GiB
        // of 1 KiB records. Small payloads are still copied (an iovec each would cost more).
        .set("message.copy.max.bytes", "511")
        .set("enable.idempotence", "false")
        // The Java producer's default; librdkafka's (1,000,000) would turn a backlog at
        // linger.ms=0 into one request per message instead of batching it.
        .set("max.in.flight.requests.per.connection", "5")
        .set("message.timeout.ms", "60000")
        .set("request.timeout.ms", "30000");
    // Diagnostics only, e.g. BENCH_RDKAFKA_DEBUG=broker,topic,msg (librdkafka's `debug`).
    if let Ok(debug) = std::env::var("BENCH_RDKAFKA_DEBUG") {
        c.set("debug", debug)
            .set_log_level(rdkafka::config::RDKafkaLogLevel::Debug);
    }
    apply_security(&mut c);
    c
}

/// Counts deliveries; records send-to-ack latency when the opaque carries a send time.
pub struct BenchContext {
    base: Instant,
    pub delivered: AtomicU64,
    pub errors: AtomicU64,
    pub first_error: Mutex<Option<String>>,
    pub latency: Option<Mutex<Histogram<u64>>>,
}

impl BenchContext {
    pub fn new(base: Instant, with_latency: bool) -> Result<BenchContext> {
        Ok(BenchContext {
            base,
            delivered: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            latency: if with_latency {
                Some(Mutex::new(new_histogram()?))
            } else {
                None
            },
        })
    }
}

/// Microsecond histogram up to 60 s, 3 significant digits.
pub fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("creating a histogram")
}

impl ClientContext for BenchContext {
    /// librdkafka's own log lines (with `BENCH_RDKAFKA_DEBUG`, its debug contexts too) go to
    /// stderr, stamped, so a stall can be lined up with the brokers' logs.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        let since = self.base.elapsed().as_secs_f64();
        eprintln!("librdkafka {since:10.4} {level:?} {fac}: {log_message}");
    }
}

impl ProducerContext for BenchContext {
    /// Nanoseconds since `base` at send time (0 when not measuring latency).
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_ns: usize) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(h) = &self.latency {
                    let now = self.base.elapsed().as_nanos() as u64;
                    let us = now.saturating_sub(sent_ns as u64) / 1000;
                    if let Ok(mut h) = h.lock() {
                        h.saturating_record(us.max(1));
                    }
                }
            }
            Err((e, _)) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// What one producer run did.
pub struct ProduceOutcome {
    /// Time spent sending (the schedule, for a fixed rate).
    pub send_seconds: f64,
    pub sent: u64,
    pub delivered: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub latency_us: Option<[u64; 4]>,
}

/// Percentiles p50, p99, p99.9 and max of a microsecond histogram.
pub fn percentiles(h: &Histogram<u64>) -> [u64; 4] {
    [
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
    ]
}

/// How one producer paces its sends.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as librdkafka's queue takes them.
    FullSpeed,
    /// This many messages per second, on a fixed schedule.
    Rate(u64),
}

/// What one producer sends.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub count: u64,
    /// Payload bytes per message (keys, if any, come from [`Extra`]).
    pub size: usize,
    pub pace: Pace,
    /// Sending stops after this long; unsent messages are dropped (the outcome says so).
    pub max_time: Duration,
    /// Record send-to-acknowledgement latency.
    pub ack_latency: bool,
    /// Stamp each payload's first 8 bytes with its send time, in nanoseconds since this
    /// instant (for end-to-end latency).
    pub stamp: Option<Instant>,
}

/// One producer run of `load` to `topic`, partition chosen by `partition(i)`. Measures until
/// every sent message is acknowledged.
pub fn produce(
    config: &ClientConfig,
    topic: &str,
    load: &Load,
    partition: impl Fn(u64) -> i32,
) -> Result<ProduceOutcome> {
    produce_with(config, topic, load, partition, Extra::default())
}

/// Writes the key of message `i` into the buffer (handed over empty).
pub type KeyFn<'a> = &'a mut dyn FnMut(u64, &mut Vec<u8>);

/// What a producer run may do beyond its [`Load`].
#[derive(Default)]
pub struct Extra<'a> {
    /// Keys for the messages (none without).
    pub keys: Option<KeyFn<'a>>,
    /// Sending stops early once this is set (a background load).
    pub stop: Option<&'a AtomicBool>,
}

/// [`produce`] with keys or an early stop.
pub fn produce_with(
    config: &ClientConfig,
    topic: &str,
    load: &Load,
    partition: impl Fn(u64) -> i32,
    mut extra: Extra<'_>,
) -> Result<ProduceOutcome> {
    let base = load.stamp.unwrap_or_else(Instant::now);
    let ctx = BenchContext::new(base, load.ack_latency)?;
    let producer: ThreadedProducer<BenchContext> = config
        .create_with_context(ctx)
        .context("creating the producer")?;
    let start = Instant::now();
    let sent = send_all(&producer, topic, load, base, start, &partition, &mut extra)?;
    let send_seconds = start.elapsed().as_secs_f64();
    // A flush that times out is a result (unacknowledged messages), not a harness failure.
    let flushed = wait_acknowledged(&producer, Duration::from_secs(30));
    let seconds = start.elapsed().as_secs_f64();
    let ctx = producer.context();
    let latency_us = match &ctx.latency {
        Some(h) => {
            Some(percentiles(&*h.lock().map_err(|_| {
                anyhow::anyhow!("latency histogram poisoned")
            })?))
        }
        None => None,
    };
    let mut first_error = ctx.first_error.lock().ok().and_then(|e| e.clone());
    if !flushed {
        let in_flight = producer.in_flight_count();
        first_error.get_or_insert_with(|| {
            format!("{in_flight} messages unacknowledged 30 s after the last send")
        });
    }
    Ok(ProduceOutcome {
        send_seconds,
        sent,
        delivered: ctx.delivered.load(Ordering::Relaxed),
        errors: ctx.errors.load(Ordering::Relaxed),
        first_error,
        seconds,
        latency_us,
    })
}

/// Sends the messages of `load` until they or the time are up; how many were sent.
fn send_all(
    producer: &ThreadedProducer<BenchContext>,
    topic: &str,
    load: &Load,
    base: Instant,
    start: Instant,
    partition: &impl Fn(u64) -> i32,
    extra: &mut Extra<'_>,
) -> Result<u64> {
    let mut payload = vec![0x61u8; load.size];
    let mut key = Vec::new();
    let deadline = start + load.max_time;
    // Only a fixed rate or a latency needs the time of every send; at full speed the clock is
    // read every DEADLINE_CHECK messages (at 2M messages/s, reading it twice per message was a
    // tenth of the sending thread).
    let timed = load.ack_latency || load.stamp.is_some() || matches!(load.pace, Pace::Rate(_));
    // Message `i` is sent only after messages 0..i were: `i` is also the count sent so far.
    for i in 0..load.count {
        if (timed || i % DEADLINE_CHECK == 0) && Instant::now() >= deadline {
            return Ok(i);
        }
        if extra.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            return Ok(i);
        }
        if let Pace::Rate(rate) = load.pace {
            let due = start + Duration::from_nanos(i * 1_000_000_000 / rate.max(1));
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
        let sent_ns = if timed {
            base.elapsed().as_nanos() as u64
        } else {
            0
        };
        if load.stamp.is_some() && load.size >= 8 {
            payload[..8].copy_from_slice(&sent_ns.to_be_bytes());
        }
        let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, sent_ns as usize)
            .payload(&payload[..])
            .partition(partition(i));
        if let Some(keys) = extra.keys.as_mut() {
            key.clear();
            keys(i, &mut key);
            record = record.key(&key[..]);
        }
        loop {
            match producer.send::<[u8], [u8]>(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    if Instant::now() >= deadline {
                        return Ok(i);
                    }
                    thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => bail!("send: {e}"),
            }
        }
    }
    Ok(load.count)
}

/// Waits until librdkafka holds no unacknowledged message, at most `timeout`; true if none.
///
/// Not `Producer::flush`: rdkafka 0.37 counts its timeout down by the poll interval whether or
/// not `poll` waited, and a `ThreadedProducer`'s own thread is already polling, so `flush`
/// gives up after a fraction of the timeout.
fn wait_acknowledged(producer: &ThreadedProducer<BenchContext>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while producer.in_flight_count() > 0 {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_micros(500));
    }
    true
}

/// Consumer settings: no group membership (partitions are assigned), no commits.
pub fn consumer_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("group.id", "bench")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "1048576")
        .set("queued.max.messages.kbytes", "262144")
        .set("enable.partition.eof", "false");
    apply_security(&mut c);
    c
}

/// What one consumer run received.
pub struct ConsumeOutcome {
    pub messages: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Produce-timestamp-to-receipt latency, when measured.
    pub latency_us: Option<[u64; 4]>,
}

/// Reads `partitions` of `topic` from the beginning until `count` messages arrived or
/// `max_time` passed. With `base`, each payload's first 8 bytes are the producer's send time
/// (nanoseconds since `base`) and end-to-end latency is recorded.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: u64,
    max_time: Duration,
    base: Option<Instant>,
) -> Result<ConsumeOutcome> {
    let consumer: BaseConsumer = consumer_config(bootstrap)
        .create()
        .context("creating the consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl).context("assign")?;
    let mut hist = match base {
        Some(_) => Some(new_histogram()?),
        None => None,
    };
    let mut messages = 0u64;
    let mut bytes = 0u64;
    let mut start = None;
    let deadline = Instant::now() + max_time;
    let mut waited = false;
    while messages < count {
        if (waited || messages % DEADLINE_CHECK == 0) && Instant::now() >= deadline {
            break;
        }
        // What librdkafka has queued is taken without a timeout (a timeout costs it a clock
        // read per call); only an empty queue is waited on.
        waited = false;
        let msg = match consumer.poll(Duration::ZERO) {
            Some(msg) => msg,
            None => {
                waited = true;
                match consumer.poll(Duration::from_millis(100)) {
                    Some(msg) => msg,
                    None => continue,
                }
            }
        };
        let msg = msg.context("consumer poll")?;
        // The clock starts at the first message: connecting and the first fetch are not
        // throughput.
        start.get_or_insert_with(Instant::now);
        let payload = msg.payload().unwrap_or_default();
        if let (Some(base), Some(h)) = (base, hist.as_mut()) {
            if let Some(stamp) = payload.get(..8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(stamp);
                let sent = u64::from_be_bytes(b);
                let now = base.elapsed().as_nanos() as u64;
                h.saturating_record((now.saturating_sub(sent) / 1000).max(1));
            }
        }
        messages += 1;
        bytes += payload.len() as u64;
    }
    Ok(ConsumeOutcome {
        messages,
        bytes,
        seconds: start.map_or(0.0, |s| s.elapsed().as_secs_f64()),
        latency_us: hist.as_ref().map(percentiles),
    })
}

/// Fixed-rate end to end: a consumer thread reads `topic` (fresh, 1 partition) while this
/// thread produces `count` messages of `size` bytes at `rate`, each stamped with its send time.
pub fn end_to_end(
    bootstrap: &str,
    acks: i32,
    topic: &str,
    count: u64,
    size: usize,
    rate: u64,
    max_time: Duration,
) -> Result<(ProduceOutcome, ConsumeOutcome)> {
    let base = Instant::now();
    let consumer = {
        let bootstrap = bootstrap.to_owned();
        let topic = topic.to_owned();
        thread::spawn(move || {
            consume(
                &bootstrap,
                &topic,
                1,
                count,
                max_time + Duration::from_secs(10),
                Some(base),
            )
        })
    };
    // Give the consumer time to connect and issue its first fetch.
    thread::sleep(Duration::from_secs(1));
    let config = producer_config(bootstrap, acks, 0);
    let load = Load {
        count,
        size: size.max(8),
        pace: Pace::Rate(rate),
        max_time,
        ack_latency: false,
        stamp: Some(base),
    };
    let produced = produce(&config, topic, &load, |_| 0)?;
    let consumed = consumer
        .join()
        .map_err(|_| anyhow::anyhow!("consumer thread panicked"))??;
    Ok((produced, consumed))
}

/// Times `n` Metadata requests for `topic` through librdkafka; microsecond percentiles.
pub fn metadata_latency(bootstrap: &str, topic: &str, n: usize) -> Result<[u64; 4]> {
    let admin = admin_client(bootstrap)?;
    let mut h = new_histogram()?;
    // Not measured: the first request waits for the bootstrap connection, the second for the
    // connection to the broker learned from it, which librdkafka holds back for ~50 ms after
    // the bootstrap one ("Not selecting any broker for cluster connection: still suppressed
    // for 48ms" in its debug log).
    for _ in 0..2 {
        admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .context("Metadata")?;
    }
    let mut partitions = 0;
    for _ in 0..n {
        let t = Instant::now();
        let md = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .context("Metadata")?;
        h.saturating_record((t.elapsed().as_micros() as u64).max(1));
        partitions = md.topics().first().map_or(0, |t| t.partitions().len());
    }
    anyhow::ensure!(partitions > 0, "Metadata for {topic} listed no partitions");
    Ok(percentiles(&h))
}
