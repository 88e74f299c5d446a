//! What every tool that talks to the cluster takes: `--bootstrap-server` and
//! `--command-config`, and how arguments are parsed (Kafka's exit codes).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser};

use crate::client::{props, Admin, Security};
use crate::error::{Result, ToolError};

/// `--bootstrap-server` and `--command-config`.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// The Kafka server(s) to connect to: host:port[,host:port].
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to the Admin Client (security settings).
    #[arg(long = "command-config", value_name = "command config property file")]
    pub command_config: Option<PathBuf>,
}

impl ConnectArgs {
    /// The client properties of `--command-config` (empty without it).
    pub fn props(&self) -> Result<std::collections::BTreeMap<String, String>> {
        match &self.command_config {
            Some(path) => props::read(path),
            None => Ok(Default::default()),
        }
    }

    /// Connects to the cluster named by `--bootstrap-server`.
    pub async fn admin(&self) -> Result<Admin> {
        let server = self
            .bootstrap_server
            .as_deref()
            .ok_or_else(|| ToolError::usage("Missing required argument \"[bootstrap-server]\""))?;
        let security = Security::from_props(&self.props()?)?;
        Admin::connect(server, security).await
    }
}

/// Parses a tool's arguments; `--help` prints usage and exits 0, bad arguments print clap's
/// message and exit 1 (as Kafka's tools do).
pub fn parse<T: Parser>(args: Vec<OsString>) -> T {
    match T::try_parse_from(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    }
}
