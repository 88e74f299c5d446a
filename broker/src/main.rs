//! `broker --config FILE [--override key=value ...]`: a Kafka-protocol broker coordinated
//! through ZooKeeper. Configuration keys are Kafka's; `KAFKA_*` environment variables
//! override the file and `--override` overrides both.
//!
//! `broker admin [--config FILE] [--override ...] --user NAME:PASSWORD --allow ACL ...`:
//! writes SCRAM users and ACLs into ZooKeeper with the same configuration (see
//! `broker::admin`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use broker::config::BrokerConfig;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

#[derive(Debug, Parser)]
#[command(
    name = "broker",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Args {
    /// YAML file with Kafka property names as keys (optional: env vars alone can suffice).
    #[arg(long)]
    config: Option<PathBuf>,
    /// `key=value`, highest precedence; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add SCRAM users and ACLs in ZooKeeper (as kafka-configs and kafka-acls with
    /// --zookeeper do), connecting as the broker would; safe to repeat.
    Admin(broker::admin::AdminArgs),
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
    match &args.command {
        Some(Command::Admin(admin)) => run_admin(admin),
        None => run_broker(args.config.as_deref(), &args.overrides),
    }
}

/// The configuration as every subcommand loads it; exit status 2 when it is invalid.
fn load_config(file: Option<&Path>, overrides: &[String]) -> Result<BrokerConfig, ExitCode> {
    match BrokerConfig::load(file, std::env::vars(), overrides) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                warn!("{w}");
            }
            Ok(loaded.config)
        }
        Err(e) => {
            error!("invalid configuration: {e}");
            eprintln!("broker: invalid configuration: {e}");
            Err(ExitCode::from(2))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("broker: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn run_broker(file: Option<&Path>, overrides: &[String]) -> ExitCode {
    let config = match load_config(file, overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let shutdown = CancellationToken::new();
    let result = runtime.block_on(async {
        broker::shutdown::spawn_signal_listener(shutdown.clone());
        broker::server::run(config, shutdown).await
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

fn run_admin(args: &broker::admin::AdminArgs) -> ExitCode {
    let config = match load_config(args.config.config.as_deref(), &args.config.overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(broker::admin::run(&config, args)) {
        Ok(report) => {
            for line in report.lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("broker admin: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_command_line_is_unchanged() {
        let a = Args::try_parse_from(["broker", "--config", "b.yaml", "--override", "a=b"])
            .expect("broker flags");
        assert_eq!(a.config.as_deref(), Some(Path::new("b.yaml")));
        assert_eq!(a.overrides, ["a=b"]);
        assert!(a.command.is_none());
        assert!(Args::try_parse_from(["broker"])
            .expect("no flags")
            .command
            .is_none());
    }

    #[test]
    fn admin_is_a_subcommand_with_its_own_config_flags() {
        let a = Args::try_parse_from([
            "broker",
            "admin",
            "--config",
            "b.yaml",
            "--user=alice:pw",
            "--allow=User:alice:Read:Topic:Literal:t",
        ])
        .expect("admin flags");
        let Some(Command::Admin(admin)) = a.command else {
            panic!("not admin: {a:?}");
        };
        assert_eq!(admin.config.config.as_deref(), Some(Path::new("b.yaml")));
        assert_eq!(admin.users.len(), 1);
        assert_eq!(admin.allow.len(), 1);
        // Broker flags before the subcommand would be silently ignored: refused instead.
        assert!(Args::try_parse_from(["broker", "--config", "b.yaml", "admin"]).is_err());
    }
}
