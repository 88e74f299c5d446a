//! `broker --config FILE [--override key=value ...]`: a Kafka-protocol broker coordinated
//! through ZooKeeper. Configuration keys are Kafka's; `KAFKA_*` environment variables
//! override the file and `--override` overrides both.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

#[derive(Debug, Parser)]
#[command(name = "broker", version, about)]
struct Args {
    /// YAML file with Kafka property names as keys (optional: env vars alone can suffice).
    #[arg(long)]
    config: Option<PathBuf>,
    /// `key=value`, highest precedence; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let loaded = match broker::config::BrokerConfig::load(
        args.config.as_deref(),
        std::env::vars(),
        &args.overrides,
    ) {
        Ok(l) => l,
        Err(e) => {
            error!("invalid configuration: {e}");
            eprintln!("broker: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &loaded.warnings {
        warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("broker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let result = runtime.block_on(async {
        broker::shutdown::spawn_signal_listener(shutdown.clone());
        broker::server::run(loaded.config, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("broker failed: {e}");
            eprintln!("broker: {e}");
            ExitCode::FAILURE
        }
    }
}
