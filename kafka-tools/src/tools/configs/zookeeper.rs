//! `kafka-configs --zookeeper host:port[/chroot] --alter --entity-type users --entity-name u
//! --add-config 'SCRAM-SHA-256=[password=...]'`: the one ZooKeeper path Kafka 3.x still
//! allows, so the brokers' own SCRAM users exist before any broker runs. The node and its
//! change notification are written in Kafka's format by `coordinator::user_config`.

use std::collections::BTreeMap;
use std::time::Duration;

use coordinator::{user_config, Zk, ZkConnect};
use sasl::{Mechanism, ScramCredential};

use super::parse::{add_config, delete_config, scram_value};
use super::{Cli, Entity, Kind, Name};
use crate::error::{Result, ToolError};

const ZK_TIMEOUT: Duration = Duration::from_secs(30);

fn zk_error(e: coordinator::ZkError) -> ToolError {
    ToolError::usage(e.to_string())
}

pub(super) async fn alter_scram(zk: &str, cli: &Cli, entities: &[Entity]) -> Result<()> {
    let user = match entities {
        [Entity {
            kind: Kind::Users,
            name: Name::Named(user),
        }] if cli.alter => user.clone(),
        _ => {
            return Err(ToolError::usage(
                "--zookeeper only adds or deletes SCRAM credentials of one user (--alter \
                 --entity-type users --entity-name NAME); use --bootstrap-server for the rest",
            ))
        }
    };
    let add = match &cli.add_config {
        Some(text) => add_config(text)?,
        None => BTreeMap::new(),
    };
    let delete = delete_config(&cli.delete_config);
    let not_scram: Vec<&String> = add
        .keys()
        .chain(&delete)
        .filter(|k| !Mechanism::from_name(k).is_some_and(Mechanism::is_scram))
        .collect();
    if !not_scram.is_empty() || cli.add_config_file.is_some() {
        return Err(ToolError::usage(format!(
            "--bootstrap-server option must be specified to update users configs: only \
             SCRAM-SHA-256 and SCRAM-SHA-512 credentials may be set with --zookeeper (not {})",
            not_scram
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    let connect = ZkConnect::parse(zk).map_err(zk_error)?;
    let zk = Zk::connect(&connect, ZK_TIMEOUT, ZK_TIMEOUT)
        .await
        .map_err(zk_error)?;
    let mut config = user_config::user_config(&zk, &user)
        .await
        .map_err(zk_error)?;
    for key in &delete {
        config.remove(key);
    }
    for (key, value) in &add {
        let mechanism = Mechanism::from_name(key)
            .ok_or_else(|| ToolError::usage(format!("unknown mechanism {key}")))?;
        let (iterations, password) = scram_value(key, value)?;
        let credential = ScramCredential::from_password(mechanism, &password, iterations)
            .map_err(|e| ToolError::usage(e.to_string()))?;
        config.insert(key.clone(), credential.format());
    }
    user_config::set_user_config(&zk, &user, &config)
        .await
        .map_err(zk_error)?;
    println!(
        "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka."
    );
    println!("Use --bootstrap-server instead to specify a broker to connect to.");
    println!("Completed updating config for entity: user-principal '{user}'.");
    Ok(())
}
