//! `kafka-cluster`: `cluster-id` prints the cluster's id (Kafka's ClusterTool). `unregister`
//! is KRaft's and is refused.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use super::common::{parse, ConnectArgs};
use crate::error::{Result, ToolError};

#[derive(Parser, Debug)]
#[command(name = "kafka-cluster", about = "The Kafka cluster tool.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Get information about the ID of a cluster.
    #[command(name = "cluster-id")]
    ClusterId {
        #[command(flatten)]
        connect: ConnectArgs,
    },
    /// Unregister a broker (KRaft clusters only).
    Unregister {
        #[command(flatten)]
        connect: ConnectArgs,
        #[arg(long)]
        id: i32,
    },
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    match parse::<Cli>(args).command {
        Command::ClusterId { connect } => {
            let admin = connect.admin().await?;
            let id = admin
                .cluster_id()
                .ok_or_else(|| ToolError::usage("the cluster did not say its id"))?;
            println!("Cluster ID: {id}");
            Ok(())
        }
        Command::Unregister { .. } => Err(ToolError::usage(
            "unregister is for KRaft clusters; in ZooKeeper mode a broker unregisters when it stops",
        )),
    }
}
