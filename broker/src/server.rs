//! Start-up, serving and the ordered drain on shutdown.
//!
//! Start-up follows Kafka's ZooKeeper-mode order: connect to ZooKeeper, create the persistent
//! paths, get or create the cluster id, check `meta.properties`, open (and recover) the logs,
//! bind the listeners, register `/brokers/ids/<id>`, start the controller module, then serve.
//! Shutdown: stop accepting, finish in-flight requests, stop the controller, flush the logs,
//! close the ZooKeeper session so the registration disappears at once. Besides a signal, the
//! failure of the last online log dir starts it (see [`handle_log_dir_failures`]), and the
//! broker then exits with an error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use coordinator::registration::{BrokerEndpoint, BrokerRegistration};
use coordinator::{Zk, ZkConnect, ZkError};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::BrokerConfig;
use crate::connection;
use crate::context::Broker;
use crate::log::{LogConfig, LogError};
use crate::log_throttle::{LogThrottle, DEFAULT_INTERVAL};
use crate::meta_properties::{self, MetaError};
use crate::metadata_cache::MetadataCache;
use crate::producer_ids::ProducerIdAllocator;
use crate::replica::fetcher::{FetcherConfig, FetcherManager};
use crate::replica::ReplicaManager;
use crate::zk_session;

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the broker could not start, or stopped on its own.
#[derive(Debug, Error)]
pub enum StartupError {
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error("log dir: {0}")]
    Meta(#[from] MetaError),
    #[error("opening logs: {0}")]
    Log(#[from] LogError),
    #[error("cannot listen on {addr} ({listener}): {source}")]
    Bind {
        listener: String,
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("every log dir has failed ({0}); the ERROR logged for each names its cause")]
    LogDirsFailed(String),
}

pub fn log_config(config: &BrokerConfig) -> LogConfig {
    LogConfig {
        segment_bytes: config.log_segment_bytes,
        segment_ms: config.log_roll_ms,
        retention_ms: config.log_retention_ms,
        retention_bytes: config.log_retention_bytes,
        index_interval_bytes: config.log_index_interval_bytes,
        max_index_entries: (config.log_index_size_max_bytes / 8).max(1),
        flush_interval_messages: config.log_flush_interval_messages,
        flush_interval_ms: config.log_flush_interval_ms,
        cleanup_policy: config.log_cleanup_policy,
        min_cleanable_dirty_ratio: config.log_cleaner_min_cleanable_ratio,
        min_compaction_lag_ms: config.log_cleaner_min_compaction_lag_ms,
        max_compaction_lag_ms: config.log_cleaner_max_compaction_lag_ms,
        delete_retention_ms: config.log_cleaner_delete_retention_ms,
    }
}

/// A bound listener and the port it actually got (port 0 binds an ephemeral one).
struct Bound {
    name: Arc<str>,
    listener: TcpListener,
    port: u16,
    /// The listener's TLS context when its protocol uses TLS.
    tls: Option<Arc<crate::tls::ListenerTls>>,
}

async fn bind_listeners(
    config: &BrokerConfig,
    tls: &crate::tls::TlsContexts,
) -> Result<Vec<Bound>, StartupError> {
    let mut bound = Vec::new();
    for l in &config.listeners {
        let host = if l.host.is_empty() {
            "0.0.0.0"
        } else {
            l.host.as_str()
        };
        let addr = format!("{host}:{}", l.port);
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| StartupError::Bind {
                listener: l.name.clone(),
                addr: addr.clone(),
                source,
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(l.port);
        info!(listener = %l.name, %addr, tls = tls.listener(&l.name).is_some(), "listening");
        bound.push(Bound {
            name: Arc::from(l.name.as_str()),
            listener,
            port,
            tls: tls.listener(&l.name),
        });
    }
    Ok(bound)
}

fn registration(config: &BrokerConfig, broker_id: i32, bound: &[Bound]) -> BrokerRegistration {
    let endpoints = config
        .advertised_listeners
        .iter()
        .map(|l| {
            let port = if l.port == 0 {
                bound
                    .iter()
                    .find(|b| *b.name == *l.name)
                    .map(|b| b.port)
                    .unwrap_or(0)
            } else {
                l.port
            };
            BrokerEndpoint {
                listener: l.name.clone(),
                host: l.host.clone(),
                port,
                security_protocol: config
                    .security_protocol(&l.name)
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "PLAINTEXT".to_string()),
            }
        })
        .collect();
    BrokerRegistration {
        id: broker_id,
        endpoints,
        rack: config.broker_rack.clone(),
    }
}

async fn resolve_broker_id(config: &BrokerConfig, zk: &Zk) -> Result<i32, StartupError> {
    if config.broker_id >= 0 {
        return Ok(config.broker_id);
    }
    if let Some(id) = meta_properties::stored_broker_id(&config.log_dirs)? {
        return Ok(id);
    }
    Ok(coordinator::bootstrap::generate_broker_id(zk).await?)
}

/// Runs the broker until `shutdown` is cancelled.
pub async fn run(config: BrokerConfig, shutdown: CancellationToken) -> Result<(), StartupError> {
    let connect = ZkConnect::parse(&config.zookeeper_connect)?;
    let zk_options = zk_session::zk_options(&config)?;
    let session_timeout = zk_options.session_timeout;
    let zk = Zk::connect_with(&connect, &zk_options).await?;
    info!(
        zookeeper = %config.zookeeper_connect,
        sasl_user = zk_options.sasl.as_ref().map(|l| l.username.as_str()),
        secure_acls = zk_options.acls.is_secure(),
        "connected to ZooKeeper"
    );
    coordinator::bootstrap::ensure_persistent_paths(&zk).await?;
    let cluster_id = coordinator::bootstrap::get_or_create_cluster_id(&zk).await?;
    let broker_id = resolve_broker_id(&config, &zk).await?;
    meta_properties::check_and_write(&config.log_dirs, &cluster_id, broker_id)?;
    // The dynamic layer before anything reads a key it can change (the logs, TLS, cleaner,
    // the replication throttles' rates).
    let dynamic = crate::dynamic_config::DynamicConfig::new(broker_id, config.clone());
    dynamic.reload(&zk).await?;
    let effective = dynamic.config();
    let quotas = Arc::new(replication_quotas(&effective));
    let replicas =
        ReplicaManager::open(broker_id, config.log_dirs.clone(), log_config(&effective))?
            .with_quotas(quotas.clone());
    load_topic_overrides(&zk, &replicas).await?;
    let authorizer = load_authorizer(&config, &zk).await?;
    let credentials = crate::credentials::Credentials::new(&config.sasl);
    let users = credentials.reload(&zk).await?;
    info!(users, "SCRAM credentials loaded");
    // Before binding: a TLS listener whose material is broken must not start serving.
    let tls = Arc::new(crate::tls::TlsContexts::build(&effective)?);
    let bound = bind_listeners(&config, &tls).await?;
    let reg = registration(&config, broker_id, &bound);
    // A crashed predecessor's registration lives until its session expires: wait that long.
    let stale_wait = session_timeout + Duration::from_secs(2);
    let broker_epoch = coordinator::registration::register_broker(&zk, &reg, stale_wait).await?;
    info!(
        broker_id,
        cluster_id, broker_epoch, "registered in ZooKeeper"
    );

    let fetcher_stop = CancellationToken::new();
    let broker = Arc::new(Broker {
        broker_id,
        cluster_id,
        producer_ids: ProducerIdAllocator::new(broker_id),
        metadata: MetadataCache::default(),
        replicas,
        fetchers: FetcherManager::new(
            FetcherConfig {
                broker_id,
                partition_max_bytes: i32::try_from(config.replica_fetch_max_bytes)
                    .unwrap_or(i32::MAX),
                wait_max_ms: i32::try_from(config.replica_fetch_wait_max_ms).unwrap_or(500),
                backoff: std::time::Duration::from_millis(config.replica_fetch_backoff_ms),
                tls: tls.inter_broker().cloned(),
                sasl: config.sasl.inter_broker.clone(),
                quotas,
            },
            fetcher_stop.clone(),
        ),
        follower_polls: Default::default(),
        fetch_sessions: crate::fetch_session::FetchSessions::new(
            config.max_incremental_fetch_session_cache_slots,
        ),
        zk_session: std::sync::RwLock::new(zk.clone()),
        controller_fence: crate::controller_fence::ControllerFence::new(broker_id, broker_epoch),
        controller: coordinator::controller::ControllerHandle::new(),
        groups: crate::group::GroupCoordinator::new(
            broker_id,
            zk.clone(),
            crate::group::config_of(&config),
            (config.offsets_retention_minutes as i64).saturating_mul(60_000),
        ),
        authorizer,
        session_generation: tokio::sync::watch::Sender::new(0),
        tls: tls.clone(),
        credentials,
        config,
        dynamic,
    });
    let session = zk_session::SessionParams {
        connect,
        options: zk_options,
        registration: reg,
        controller: zk_session::controller_config(&broker),
    };
    let controller_stop = CancellationToken::new();
    let supervisor = tokio::spawn(zk_session::supervise(
        broker.clone(),
        session,
        controller_stop.clone(),
    ));
    // Connections stay open through controlled shutdown: the controller (maybe this broker)
    // still talks to us while it moves leadership away.
    let serving = CancellationToken::new();
    let tracker = TaskTracker::new();
    for b in bound {
        tracker.spawn(accept_loop(
            b,
            broker.clone(),
            tracker.clone(),
            serving.clone(),
        ));
    }
    tracker.spawn(crate::tls::watch(
        tls,
        broker.config.inter_broker_listener_name.clone(),
        serving.clone(),
    ));
    tracker.spawn(housekeeping(broker.clone(), serving.clone()));
    tracker.spawn(follow_config_changes(broker.clone(), serving.clone()));
    tracker.spawn(crate::auth::loader::follow_acls(
        broker.clone(),
        serving.clone(),
    ));
    tracker.spawn(crate::group::maintenance(broker.clone(), serving.clone()));
    tracker.spawn(handle_log_dir_failures(
        broker.clone(),
        shutdown.clone(),
        serving.clone(),
    ));
    let cleaner = Arc::new(crate::cleaner::CleanerSlot::default());
    cleaner.set(&broker, crate::cleaner::CleanerConfig::of(&effective));
    tracker.spawn(crate::dynamic_config::reconfigure::follow(
        broker.clone(),
        cleaner.clone(),
        serving.clone(),
    ));
    let mover = crate::replica::dir_move::DirMover::start(broker.clone());
    info!(broker_id, "broker started");

    shutdown.cancelled().await;
    info!("shutting down: controlled shutdown");
    crate::controlled_shutdown::run(&broker).await;
    serving.cancel();
    // Before the logs are flushed and closed: a cleaning under way is abandoned.
    let _ = tokio::task::spawn_blocking(move || cleaner.shutdown()).await;
    // Likewise a move: its future log stays for the next start to resume.
    let _ = tokio::task::spawn_blocking(move || mover.shutdown()).await;
    let log_dirs_failed = broker.replicas.log_dirs().all_offline();
    let dirs = config_dirs(&broker);
    drain(broker, tracker, controller_stop, supervisor).await;
    fetcher_stop.cancel();
    if log_dirs_failed {
        return Err(StartupError::LogDirsFailed(dirs));
    }
    Ok(())
}

fn config_dirs(broker: &Broker) -> String {
    let dirs: Vec<String> = broker
        .config
        .log_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    dirs.join(", ")
}

/// Kafka's `LogDirFailureHandler`: stops the partitions of each failed log dir (they answer
/// KAFKA_STORAGE_ERROR from then on) and tells the controller through
/// `/log_dir_event_notification`, so that it moves their leadership to other replicas. When no
/// dir is left the broker shuts down instead, through the one shutdown path.
async fn handle_log_dir_failures(
    broker: Arc<Broker>,
    shutdown: CancellationToken,
    serving: CancellationToken,
) {
    loop {
        let dir = tokio::select! {
            dir = broker.replicas.log_dirs().next_failed() => dir,
            _ = serving.cancelled() => return,
        };
        let offline = broker.replicas.take_offline(&dir);
        for p in &offline {
            broker.fetchers.unfollow(&p.topic, p.index);
        }
        warn!(dir = %dir.path().display(), partitions = offline.len(), "stopped serving the partitions of the failed log dir");
        if broker.replicas.log_dirs().all_offline() {
            error!("every log dir has failed: shutting the broker down");
            shutdown.cancel();
            return;
        }
        notify_log_dir_failure(&broker, &serving).await;
    }
}

/// Writes the log dir event notification, retrying while ZooKeeper is unreachable (a broker
/// that re-registers after a session loss gets asked for its replicas' state anyway).
async fn notify_log_dir_failure(broker: &Broker, serving: &CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    for _ in 0..10 {
        match coordinator::log_dir_event::notify_log_dir_failure(&broker.zk(), broker.broker_id)
            .await
        {
            Ok(path) => {
                info!(%path, "told the controller about the failed log dir");
                return;
            }
            Err(e) => warn!(error = %e, "cannot write the log dir event notification; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = serving.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    error!("gave up writing the log dir event notification");
}

async fn drain(
    broker: Arc<Broker>,
    tracker: TaskTracker,
    controller_stop: CancellationToken,
    controller: tokio::task::JoinHandle<()>,
) {
    info!("shutting down: finishing in-flight requests");
    tracker.close();
    // Parked JoinGroup/SyncGroup requests would hold their connections open: release them.
    broker.groups.shutdown();
    // So would acks=all produces and long-poll fetches: the LeaderAndIsr that would end them
    // after the controlled shutdown may never be read now that connections stop reading.
    broker.replicas.release_waiters();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        warn!("some connections did not finish within {DRAIN_TIMEOUT:?}");
    }
    controller_stop.cancel();
    if let Err(e) = controller.await {
        warn!(error = %e, "controller task ended abnormally");
    }
    info!("flushing logs");
    broker.replicas.flush_all();
    broker.replicas.write_checkpoints();
    info!("closing ZooKeeper session");
    broker.zk().close().await;
    info!("broker stopped");
}

/// Failed accepts, logged at most once per interval.
static ACCEPT_FAILURES: LogThrottle = LogThrottle::new(DEFAULT_INTERVAL);

async fn accept_loop(
    bound: Bound,
    broker: Arc<Broker>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            a = bound.listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let peer: SocketAddr = peer;
                tracker.spawn(connection::serve(
                    stream,
                    peer,
                    broker.clone(),
                    bound.name.clone(),
                    bound.tls.clone(),
                    shutdown.clone(),
                ));
            }
            Err(e) => {
                // Usually too many open files (a client can hold that many connections open):
                // back off instead of spinning, and log one line per interval, not ten a second.
                if let Some(skipped) = ACCEPT_FAILURES.admit() {
                    error!(listener = %bound.name, error = %e, skipped, "accept failed (at most one such line per {DEFAULT_INTERVAL:?}; `skipped` counts those left out before this one)");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The ACL authorizer with every ACL loaded, before the broker serves a request.
async fn load_authorizer(
    config: &BrokerConfig,
    zk: &Zk,
) -> Result<Option<crate::auth::Authorizer>, StartupError> {
    let Some(settings) = &config.authorizer else {
        return Ok(None);
    };
    let authorizer = crate::auth::Authorizer::new(settings.clone());
    let acls = crate::auth::loader::load_all(zk).await?;
    info!(acls = acls.len(), "ACL authorizer loaded");
    authorizer.replace_all(acls);
    Ok(Some(authorizer))
}

/// The replication throttles with the static rates (the dynamic broker configs move them
/// later through [`crate::replica::throttle::ReplicationQuota::set_rate`]).
fn replication_quotas(config: &BrokerConfig) -> crate::replica::throttle::ReplicationQuotas {
    let window = crate::replica::throttle::QuotaWindow {
        samples: config.replication_quota_window_num,
        size: Duration::from_secs(config.replication_quota_window_size_seconds),
    };
    crate::replica::throttle::ReplicationQuotas::new(
        window,
        config.leader_replication_throttled_rate,
        config.follower_replication_throttled_rate,
    )
}

/// Every topic's `/config/topics/<t>` overrides, read once at start-up.
async fn load_topic_overrides(zk: &Zk, replicas: &ReplicaManager) -> Result<(), StartupError> {
    for topic in coordinator::admin::list_topics(zk).await? {
        let overrides = coordinator::admin::topic_config(zk, &topic).await?;
        if !overrides.is_empty() {
            replicas.set_topic_overrides(&topic, overrides);
        }
    }
    Ok(())
}

/// Applies topic, user and broker config changes announced under `/config/changes` while the broker
/// runs.
async fn follow_config_changes(broker: Arc<Broker>, shutdown: CancellationToken) {
    use coordinator::config_changes::ConfigChange;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher_broker = broker.clone();
    let watcher = tokio::spawn(coordinator::config_changes::watch_config_changes(
        move || watcher_broker.zk(),
        tx,
        shutdown.clone(),
    ));
    while let Some(change) = rx.recv().await {
        match change {
            ConfigChange::Topic(topic, overrides) => {
                info!(topic, ?overrides, "topic config changed");
                broker.replicas.set_topic_overrides(&topic, overrides);
            }
            ConfigChange::User(user, config) => {
                // Values are credentials: only the names of what is set are logged.
                info!(user, keys = ?config.keys().collect::<Vec<_>>(), "user config changed");
                broker.credentials.set_user(&user, &config);
            }
            ConfigChange::Broker(entity, config) => broker.dynamic.apply(entity, config),
            ConfigChange::NewSession => {
                match broker.credentials.reload(&broker.zk()).await {
                    Ok(users) => info!(
                        users,
                        "SCRAM credentials reloaded on a new ZooKeeper session"
                    ),
                    Err(e) => warn!(error = %e, "SCRAM credentials not reloaded"),
                }
                if let Err(e) = broker.dynamic.reload(&broker.zk()).await {
                    warn!(error = %e, "dynamic broker configs not reloaded");
                }
            }
        }
    }
    let _ = watcher.await;
}

/// Kafka's `replica.high.watermark.checkpoint.interval.ms`.
const HW_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// How soon a rolled segment is fsynced (in the background, as Kafka's roll schedules it).
const ROLLED_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Periodic maintenance: retention, time-based flushing, rolled segments' fsyncs, ISR shrinking, offset checkpoints
/// (high watermarks and log starts).
async fn housekeeping(broker: Arc<Broker>, shutdown: CancellationToken) {
    let config = &broker.config;
    let retention_every = Duration::from_millis(config.log_retention_check_interval_ms.max(1));
    // `log.flush.interval.ms` is dynamic: the timer follows it.
    let mut dynamic = broker.dynamic.subscribe();
    let flush_interval = |c: &BrokerConfig| {
        c.log_flush_interval_ms
            .map(|ms| Duration::from_millis(ms.max(1)))
    };
    let mut flush_every = flush_interval(&dynamic.borrow_and_update().config);
    let lag_ms = config.replica_lag_time_max_ms.max(2);
    let mut retention = tokio::time::interval(retention_every);
    let mut flush = tokio::time::interval(flush_every.unwrap_or(Duration::from_secs(3600)));
    // Checked every half lag period, so a lagging follower leaves the ISR after 1-1.5x the lag.
    let mut isr = tokio::time::interval(Duration::from_millis(lag_ms / 2));
    let mut checkpoint = tokio::time::interval(HW_CHECKPOINT_INTERVAL);
    let mut rolled = tokio::time::interval(ROLLED_SYNC_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Ok(()) = dynamic.changed() => {
                let every = flush_interval(&dynamic.borrow_and_update().config);
                if every != flush_every {
                    flush_every = every;
                    flush = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
                }
            }
            _ = retention.tick() => {
                let b = broker.clone();
                let now = crate::api::produce::now_ms();
                let _ = tokio::task::spawn_blocking(move || b.replicas.enforce_retention(now)).await;
            }
            _ = flush.tick(), if flush_every.is_some() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.flush_all()).await;
            }
            _ = isr.tick() => {
                let now = crate::api::produce::now_ms();
                for (partition, new_isr) in broker.replicas.isr_shrink_candidates(now, lag_ms as i64) {
                    crate::replica::isr::propose(&broker.zk(), &partition, new_isr).await;
                }
            }
            _ = rolled.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.sync_rolled()).await;
            }
            _ = checkpoint.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.write_checkpoints()).await;
            }
        }
    }
}
