//! `kafka-configs`: describe and alter the dynamic configs of topics and brokers
//! (DescribeConfigs / IncrementalAlterConfigs), users' SCRAM credentials
//! (Describe/AlterUserScramCredentials) and users' and clients' quotas
//! (Describe/AlterClientQuotas), with Kafka's ConfigCommand flags and output. `--zookeeper`
//! serves the one case Kafka 3.x still allows it for: SCRAM users written before any broker
//! runs ([`zookeeper`]).

mod parse;
mod resource;
mod users;
mod zookeeper;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use super::common::{parse, ConnectArgs};
use crate::client::props;
use crate::error::{Result, ToolError};

#[derive(Parser, Debug)]
#[command(
    name = "kafka-configs",
    about = "This tool helps to manipulate and describe entity config for a topic, client, user, broker or ip"
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// ZooKeeper connect string: only to add or delete users' SCRAM credentials before any
    /// broker runs.
    #[arg(long, value_name = "urls")]
    zookeeper: Option<String>,
    /// List configs for the given entity.
    #[arg(long)]
    describe: bool,
    /// Alter the configuration for the entity.
    #[arg(long)]
    alter: bool,
    /// List all configs for the given topic or broker, including defaults (with --describe).
    #[arg(long)]
    all: bool,
    /// Type of entity (topics/clients/users/brokers).
    #[arg(long = "entity-type", value_name = "type")]
    entity_type: Vec<String>,
    /// Name of entity (topic name/client id/user principal name/broker id).
    #[arg(long = "entity-name", value_name = "name")]
    entity_name: Vec<String>,
    /// Default entity name for clients/users/brokers (applies to corresponding entity type).
    #[arg(long = "entity-default")]
    entity_default: bool,
    /// The topic's name.
    #[arg(long, value_name = "topic")]
    topic: Option<String>,
    /// The broker's id.
    #[arg(long, value_name = "broker-id")]
    broker: Option<String>,
    /// The config defaults for all brokers.
    #[arg(long = "broker-defaults")]
    broker_defaults: bool,
    /// The user's principal name.
    #[arg(long, value_name = "user-principal")]
    user: Option<String>,
    /// The config defaults for all users.
    #[arg(long = "user-defaults")]
    user_defaults: bool,
    /// The client's id.
    #[arg(long, value_name = "client-id")]
    client: Option<String>,
    /// The config defaults for all clients.
    #[arg(long = "client-defaults")]
    client_defaults: bool,
    /// Key value pairs of configs to add: 'k1=v1,k2=[v1,v2,v2],k3=v3'.
    #[arg(long = "add-config", value_name = "config")]
    add_config: Option<String>,
    /// Path to a properties file with configs to add.
    #[arg(long = "add-config-file", value_name = "file")]
    add_config_file: Option<PathBuf>,
    /// Config keys to remove: 'k1,k2'.
    #[arg(long = "delete-config", value_name = "config")]
    delete_config: Vec<String>,
    /// Suppress console prompts.
    #[arg(long)]
    force: bool,
}

/// What a config belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Topics,
    Brokers,
    Users,
    Clients,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "topics" => Kind::Topics,
            "brokers" => Kind::Brokers,
            "users" => Kind::Users,
            "clients" => Kind::Clients,
            other => {
                return Err(ToolError::Line(format!(
                    "Invalid entity type {other}, the entity type must be one of topics, \
                     clients, users, brokers, broker-loggers, ips with the --bootstrap-server \
                     argument"
                )))
            }
        })
    }

    /// The type's name as Kafka prints it (`topics`).
    fn name(self) -> &'static str {
        match self {
            Kind::Topics => "topics",
            Kind::Brokers => "brokers",
            Kind::Users => "users",
            Kind::Clients => "clients",
        }
    }
}

/// Which entity of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Named(String),
    /// `--entity-default`, `--broker-defaults`, ...
    Default,
    /// No name (describe every entity of the kind).
    All,
}

/// One entity: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    kind: Kind,
    name: Name,
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let joined = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let cli = parse::<Cli>(args);
    execute(&cli).await.map_err(|e| match e {
        ToolError::Line(_) | ToolError::Usage(_) => ToolError::Line(e.message()),
        other => ToolError::Line(format!(
            "Error while executing config command with args '{joined}': {}",
            other.message()
        )),
    })
}

async fn execute(cli: &Cli) -> Result<()> {
    if cli.describe == cli.alter {
        return Err(ToolError::usage(
            "Command must include exactly one action: --describe, --alter",
        ));
    }
    let entities = entities(cli)?;
    match (&cli.zookeeper, &cli.connect.bootstrap_server) {
        (None, None) => {
            return Err(ToolError::usage(
                "One of the required --bootstrap-server or --zookeeper arguments must be specified",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ToolError::usage(
                "Only one of --bootstrap-server or --zookeeper must be specified",
            ))
        }
        _ => {}
    }
    if cli.alter {
        if entities.iter().any(|e| e.name == Name::All) {
            return Err(ToolError::usage(
                "--entity-name or --entity-default must be specified with each --entity-type for --alter",
            ));
        }
        if cli.add_config.is_some() && cli.add_config_file.is_some() {
            return Err(ToolError::usage(
                "Only one of --add-config or --add-config-file must be specified",
            ));
        }
        if cli.add_config.is_none() && cli.add_config_file.is_none() && cli.delete_config.is_empty()
        {
            return Err(ToolError::usage(
                "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter",
            ));
        }
    }
    if let Some(zk) = &cli.zookeeper {
        return zookeeper::alter_scram(zk, cli, &entities).await;
    }
    if cli.all && !cli.describe {
        return Err(ToolError::usage("--all goes with --describe"));
    }
    let mut admin = cli.connect.admin().await?;
    let first = entities[0].clone();
    if cli.describe {
        return match first.kind {
            Kind::Topics | Kind::Brokers => resource::describe(&mut admin, &first, cli.all).await,
            Kind::Users | Kind::Clients => users::describe(&mut admin, &entities).await,
        };
    }
    let (add, delete) = changes(cli)?;
    match first.kind {
        Kind::Topics | Kind::Brokers => resource::alter(&mut admin, &first, &add, &delete).await?,
        Kind::Users | Kind::Clients => users::alter(&mut admin, &entities, &add, &delete).await?,
    }
    println!("{}", completed(&first));
    Ok(())
}

/// Kafka's last line of a successful --alter.
fn completed(entity: &Entity) -> String {
    let kind = entity.kind.name();
    match &entity.name {
        Name::Named(name) => format!(
            "Completed updating config for {} {name}.",
            &kind[..kind.len() - 1]
        ),
        _ => format!("Completed updating default config for {kind} in the cluster."),
    }
}

/// The configs to add (`--add-config` or `--add-config-file`) and to delete.
fn changes(cli: &Cli) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let add = match (&cli.add_config, &cli.add_config_file) {
        (Some(text), _) => parse::add_config(text)?,
        (None, Some(file)) => props::read(file)?,
        (None, None) => BTreeMap::new(),
    };
    Ok((add, parse::delete_config(&cli.delete_config)))
}

/// The entities named, by `--entity-type`/`--entity-name`/`--entity-default` or the
/// shorthands (not both); users and clients may be named together.
fn entities(cli: &Cli) -> Result<Vec<Entity>> {
    let mut shorthand = Vec::new();
    let mut add = |kind: Kind, name: Option<&String>, default: bool| {
        if let Some(n) = name {
            shorthand.push(Entity {
                kind,
                name: Name::Named(n.clone()),
            });
        } else if default {
            shorthand.push(Entity {
                kind,
                name: Name::Default,
            });
        }
    };
    add(Kind::Topics, cli.topic.as_ref(), false);
    add(Kind::Brokers, cli.broker.as_ref(), cli.broker_defaults);
    add(Kind::Users, cli.user.as_ref(), cli.user_defaults);
    add(Kind::Clients, cli.client.as_ref(), cli.client_defaults);
    let generic = !cli.entity_type.is_empty() || !cli.entity_name.is_empty() || cli.entity_default;
    if generic && !shorthand.is_empty() {
        return Err(ToolError::usage(
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags",
        ));
    }
    let entities = if generic {
        let kinds = cli
            .entity_type
            .iter()
            .map(|t| Kind::parse(t))
            .collect::<Result<Vec<_>>>()?;
        if kinds.is_empty() {
            return Err(ToolError::usage(
                "At least one entity type must be specified",
            ));
        }
        let mut names = cli.entity_name.iter();
        let mut default = cli.entity_default;
        kinds
            .into_iter()
            .map(|kind| {
                let name = match names.next() {
                    Some(n) => Name::Named(n.clone()),
                    None if default => {
                        default = false;
                        Name::Default
                    }
                    None => Name::All,
                };
                Entity { kind, name }
            })
            .collect()
    } else {
        shorthand
    };
    let Some(first) = entities.first() else {
        return Err(ToolError::usage(
            "At least one entity type must be specified",
        ));
    };
    let kinds: Vec<Kind> = entities.iter().map(|e| e.kind).collect();
    let user_and_client =
        kinds.len() == 2 && kinds.contains(&Kind::Users) && kinds.contains(&Kind::Clients);
    if kinds.len() > 1 && !user_and_client {
        return Err(ToolError::usage(
            "Only 'users' and 'clients' entity types may be specified together",
        ));
    }
    if first.kind == Kind::Brokers {
        if let Name::Named(id) = &first.name {
            if id.parse::<i32>().is_err() {
                return Err(ToolError::usage(format!(
                    "The entity name for brokers must be a valid integer broker id, but it is: {id}"
                )));
            }
        }
    }
    if first.kind == Kind::Topics && first.name == Name::Default {
        return Err(ToolError::usage("topics have no default entity"));
    }
    Ok(entities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["kafka-configs"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("arguments")
    }

    #[test]
    fn shorthands_and_entity_flags_name_the_same_entities() {
        let a = entities(&cli(&["--describe", "--topic", "t"])).ok();
        let b = entities(&cli(&[
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "t",
        ]))
        .ok();
        assert_eq!(a, b);
        let d = entities(&cli(&[
            "--alter",
            "--entity-type",
            "brokers",
            "--entity-default",
        ]));
        assert_eq!(d.ok().map(|e| e[0].name.clone()), Some(Name::Default));
        assert!(entities(&cli(&["--describe", "--broker", "one"])).is_err());
        assert!(entities(&cli(&[
            "--describe",
            "--topic",
            "t",
            "--entity-type",
            "topics"
        ]))
        .is_err());
        assert!(entities(&cli(&["--describe", "--topic", "t", "--broker", "1"])).is_err());
        let uc = entities(&cli(&["--describe", "--user", "u", "--client", "c"]));
        assert_eq!(uc.map(|e| e.len()).ok(), Some(2));
    }

    #[test]
    fn completion_lines() {
        let e = Entity {
            kind: Kind::Topics,
            name: Name::Named("t".into()),
        };
        assert_eq!(completed(&e), "Completed updating config for topic t.");
        let e = Entity {
            kind: Kind::Brokers,
            name: Name::Default,
        };
        assert_eq!(
            completed(&e),
            "Completed updating default config for brokers in the cluster."
        );
    }
}
