//! `kafka-acls`: add, remove and list ACLs (CreateAcls, DeleteAcls, DescribeAcls) with Kafka's
//! AclCommand flags (`--producer`/`--consumer` conveniences included) and output
//! (`Current ACLs for resource `ResourcePattern(...)`: ` blocks).

mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::BufRead;

use clap::Parser;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;

use super::common::{parse, ConnectArgs};
use crate::client::{Admin, Target};
use crate::error::{Result, ToolError};
use model::{Entry, Pattern};

#[derive(Parser, Debug)]
#[command(
    name = "kafka-acls",
    about = "This tool helps to manage acls on kafka."
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Indicates you are trying to add ACLs.
    #[arg(long)]
    add: bool,
    /// Indicates you are trying to remove ACLs.
    #[arg(long)]
    remove: bool,
    /// List ACLs for the specified resource, use --topic <topic> or --group <group> or
    /// --cluster to specify a resource.
    #[arg(long)]
    list: bool,
    /// topic to which ACLs should be added or removed (repeatable).
    #[arg(long, value_name = "topic")]
    topic: Vec<String>,
    /// Add/Remove cluster ACLs.
    #[arg(long)]
    cluster: bool,
    /// Consumer Group to which the ACLs should be added or removed (repeatable).
    #[arg(long, value_name = "group")]
    group: Vec<String>,
    /// The transactionalId to which ACLs should be added or removed (repeatable).
    #[arg(long = "transactional-id", value_name = "transactional-id")]
    transactional_id: Vec<String>,
    /// Delegation token to which ACLs should be added or removed.
    #[arg(long = "delegation-token", value_name = "delegation-token")]
    delegation_token: Vec<String>,
    /// A user resource to which ACLs should be added or removed.
    #[arg(long = "user-principal", value_name = "user-principal")]
    user_principal: Vec<String>,
    /// The type of the resource pattern: LITERAL (default) or PREFIXED for --add; ANY or
    /// MATCH as well for --list and --remove.
    #[arg(
        long = "resource-pattern-type",
        value_name = "ANY|MATCH|LITERAL|PREFIXED",
        default_value = "LITERAL"
    )]
    resource_pattern_type: String,
    /// principal is in principalType:name format; allowed principals (repeatable).
    #[arg(long = "allow-principal", value_name = "allow-principal")]
    allow_principal: Vec<String>,
    /// principal is in principalType:name format; denied principals (repeatable).
    #[arg(long = "deny-principal", value_name = "deny-principal")]
    deny_principal: Vec<String>,
    /// List ACLs for the specified principal (with --list).
    #[arg(long, value_name = "principal")]
    principal: Vec<String>,
    /// Host from which allowed principals may access (default: all hosts, *).
    #[arg(long = "allow-host", value_name = "allow-host")]
    allow_host: Vec<String>,
    /// Host from which denied principals are denied access (default: all hosts, *).
    #[arg(long = "deny-host", value_name = "deny-host")]
    deny_host: Vec<String>,
    /// Operation that is being allowed or denied (default: All; repeatable).
    #[arg(long, value_name = "operation")]
    operation: Vec<String>,
    /// Convenience option to add/remove ACLs for producer role.
    #[arg(long)]
    producer: bool,
    /// Convenience option to add/remove ACLs for consumer role.
    #[arg(long)]
    consumer: bool,
    /// With --producer: also allow idempotent writes on the cluster.
    #[arg(long)]
    idempotent: bool,
    /// Assume Yes to all queries and do not prompt.
    #[arg(long)]
    force: bool,
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    execute(&cli).await.map_err(|e| match e {
        ToolError::Usage(m) => ToolError::Line(m),
        other => ToolError::Line(format!(
            "Error while executing ACL command: {}",
            other.message()
        )),
    })
}

async fn execute(cli: &Cli) -> Result<()> {
    if [cli.add, cli.remove, cli.list]
        .iter()
        .filter(|a| **a)
        .count()
        != 1
    {
        return Err(ToolError::usage(
            "Command must include exactly one action: --list, --add, --remove.",
        ));
    }
    if cli.connect.bootstrap_server.is_none() {
        return Err(ToolError::usage(
            "--bootstrap-server must be specified (kafka-acls talks to the brokers)",
        ));
    }
    if cli.list && (cli.producer || cli.consumer) {
        return Err(ToolError::usage(
            "Option \"[list]\" can't be used with option \"[producer]\" or \"[consumer]\"",
        ));
    }
    if cli.producer && cli.consumer && !cli.group.is_empty() && cli.topic.is_empty() {
        return Err(ToolError::usage(
            "With --producer and --consumer you must specify a --topic",
        ));
    }
    let mut admin = cli.connect.admin().await?;
    if cli.add {
        add(&mut admin, cli).await?;
    } else if cli.remove {
        remove(&mut admin, cli).await?;
    }
    list(&mut admin, cli).await
}

/// The resource patterns the flags name (each with `--resource-pattern-type`).
fn patterns(cli: &Cli, required: bool) -> Result<Vec<Pattern>> {
    let pattern_type = model::pattern_type(&cli.resource_pattern_type)?;
    let mut out = Vec::new();
    let mut push = |resource_type: i8, names: &[String]| {
        for n in names {
            out.push(Pattern {
                resource_type,
                name: n.trim().to_owned(),
                pattern_type,
            });
        }
    };
    push(model::TOPIC, &cli.topic);
    push(model::GROUP, &cli.group);
    push(model::TRANSACTIONAL_ID, &cli.transactional_id);
    push(model::DELEGATION_TOKEN, &cli.delegation_token);
    push(model::USER, &cli.user_principal);
    // The cluster resource is literal only.
    if pattern_type == 3 && (cli.cluster || cli.idempotent) {
        out.push(Pattern {
            resource_type: model::CLUSTER,
            name: model::CLUSTER_NAME.to_owned(),
            pattern_type: 3,
        });
    }
    if out.is_empty() && required {
        return Err(ToolError::usage(
            "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>",
        ));
    }
    Ok(out)
}

fn principals(values: &[String]) -> Result<Vec<String>> {
    values
        .iter()
        .map(|p| {
            let p = p.trim();
            match p.split_once(':') {
                Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(p.to_owned()),
                _ => Err(ToolError::usage(format!(
                    "expected a string in format principalType:principalName but got {p}"
                ))),
            }
        })
        .collect()
}

/// The entries for `operations` from the principal and host flags.
fn entries(cli: &Cli, operations: &[i8]) -> Result<BTreeSet<Entry>> {
    let mut out = BTreeSet::new();
    let sides = [
        (&cli.allow_principal, &cli.allow_host, model::ALLOW),
        (&cli.deny_principal, &cli.deny_host, model::DENY),
    ];
    for (principals_arg, hosts_arg, permission) in sides {
        let principals = principals(principals_arg)?;
        let hosts: Vec<String> = if hosts_arg.is_empty() {
            vec!["*".to_owned()]
        } else {
            hosts_arg.iter().map(|h| h.trim().to_owned()).collect()
        };
        for principal in &principals {
            for &operation in operations {
                for host in &hosts {
                    out.insert(Entry {
                        principal: principal.clone(),
                        host: host.clone(),
                        operation,
                        permission,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Pattern → entries, from `--operation` or the `--producer`/`--consumer` roles.
fn pattern_entries(cli: &Cli) -> Result<BTreeMap<Pattern, BTreeSet<Entry>>> {
    let patterns = patterns(cli, true)?;
    let mut out: BTreeMap<Pattern, BTreeSet<Entry>> = BTreeMap::new();
    if !cli.producer && !cli.consumer {
        let ops = if cli.operation.is_empty() {
            vec![2]
        } else {
            cli.operation
                .iter()
                .map(|o| model::operation(o))
                .collect::<Result<Vec<_>>>()?
        };
        let acl = entries(cli, &ops)?;
        for p in &patterns {
            out.insert(p.clone(), acl.clone());
        }
    }
    // READ 3, WRITE 4, CREATE 5, DESCRIBE 8, IDEMPOTENT_WRITE 12.
    for p in &patterns {
        let ops: &[i8] = match p.resource_type {
            model::TOPIC if cli.producer && cli.consumer => &[4, 8, 5, 3],
            model::TOPIC if cli.producer => &[4, 8, 5],
            model::TOPIC if cli.consumer => &[3, 8],
            model::TRANSACTIONAL_ID if cli.producer => &[4, 8],
            model::GROUP if cli.consumer => &[3],
            model::CLUSTER if cli.producer && cli.idempotent => &[12],
            _ => continue,
        };
        out.entry(p.clone()).or_default().extend(entries(cli, ops)?);
    }
    for (p, acl) in &out {
        let supported = model::supported_operations(p.resource_type);
        if acl.iter().any(|e| !supported.contains(&e.operation)) {
            let names: Vec<&str> = supported
                .iter()
                .map(|o| model::operation_name(*o))
                .collect();
            return Err(ToolError::usage(format!(
                "ResourceType {} only supports operations {}",
                model::resource_type_name(p.resource_type),
                names.join(",")
            )));
        }
    }
    Ok(out)
}

async fn add(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let pattern_type = model::pattern_type(&cli.resource_pattern_type)?;
    if pattern_type != 3 && pattern_type != 4 {
        return Err(ToolError::usage(format!(
            "A '--resource-pattern-type' value of '{}' is not valid when adding acls.",
            cli.resource_pattern_type.to_ascii_uppercase()
        )));
    }
    let all = pattern_entries(cli)?;
    if all.values().any(BTreeSet::is_empty) {
        return Err(ToolError::usage(
            "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.",
        ));
    }
    for (pattern, acl) in &all {
        let acl: Vec<Entry> = acl.iter().cloned().collect();
        println!(
            "{}",
            model::block("Adding ACLs for resource", pattern, &acl)
        );
        let creations = acl
            .iter()
            .map(|e| {
                AclCreation::default()
                    .with_resource_type(pattern.resource_type)
                    .with_resource_name(StrBytes::from_string(pattern.name.clone()))
                    .with_resource_pattern_type(pattern.pattern_type)
                    .with_principal(StrBytes::from_string(e.principal.clone()))
                    .with_host(StrBytes::from_string(e.host.clone()))
                    .with_operation(e.operation)
                    .with_permission_type(e.permission)
            })
            .collect();
        let request = CreateAclsRequest::default().with_creations(creations);
        let response = admin.send(Target::Any, &request).await?;
        for r in response.results {
            ToolError::check(
                "creating ACLs",
                r.error_code,
                r.error_message.as_ref().map(|m| m.as_str()),
            )?;
        }
    }
    Ok(())
}

fn confirm(cli: &Cli, question: &str) -> bool {
    if cli.force {
        return true;
    }
    println!("{question}");
    let mut answer = String::new();
    match std::io::stdin().lock().read_line(&mut answer) {
        Ok(_) => answer.trim().eq_ignore_ascii_case("y"),
        Err(_) => false,
    }
}

fn filter_string(p: &Pattern) -> String {
    p.to_string()
        .replacen("ResourcePattern(", "ResourcePatternFilter(", 1)
}

async fn remove(admin: &mut Admin, cli: &Cli) -> Result<()> {
    for (pattern, acl) in pattern_entries(cli)? {
        let acl: Vec<Entry> = acl.into_iter().collect();
        let question = if acl.is_empty() {
            format!(
                "Are you sure you want to delete all ACLs for resource filter `{}`? (y/n)",
                filter_string(&pattern)
            )
        } else {
            let lines: Vec<String> = acl.iter().map(|e| format!("\t{e}")).collect();
            format!(
                "Are you sure you want to remove ACLs: \n {} \n from resource filter `{}`? (y/n)",
                lines.join("\n"),
                filter_string(&pattern)
            )
        };
        if !confirm(cli, &question) {
            continue;
        }
        let base = DeleteAclsFilter::default()
            .with_resource_type_filter(pattern.resource_type)
            .with_resource_name_filter(Some(StrBytes::from_string(pattern.name.clone())))
            .with_pattern_type_filter(pattern.pattern_type);
        let filters = if acl.is_empty() {
            vec![base
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_operation(model::ANY)
                .with_permission_type(model::ANY)]
        } else {
            acl.iter()
                .map(|e| {
                    base.clone()
                        .with_principal_filter(Some(StrBytes::from_string(e.principal.clone())))
                        .with_host_filter(Some(StrBytes::from_string(e.host.clone())))
                        .with_operation(e.operation)
                        .with_permission_type(e.permission)
                })
                .collect()
        };
        let request = DeleteAclsRequest::default().with_filters(filters);
        let response = admin.send(Target::Any, &request).await?;
        for r in response.filter_results {
            ToolError::check(
                "removing ACLs",
                r.error_code,
                r.error_message.as_ref().map(|m| m.as_str()),
            )?;
        }
    }
    Ok(())
}

/// Every ACL matching the flags' resources (all of them without one), by pattern.
async fn current(admin: &mut Admin, cli: &Cli) -> Result<BTreeMap<Pattern, BTreeSet<Entry>>> {
    let patterns = patterns(cli, false)?;
    let requests: Vec<DescribeAclsRequest> = if patterns.is_empty() {
        vec![DescribeAclsRequest::default()
            .with_resource_type_filter(model::ANY)
            .with_resource_name_filter(None)
            .with_pattern_type_filter(model::ANY)]
    } else {
        patterns
            .iter()
            .map(|p| {
                DescribeAclsRequest::default()
                    .with_resource_type_filter(p.resource_type)
                    .with_resource_name_filter(Some(StrBytes::from_string(p.name.clone())))
                    .with_pattern_type_filter(p.pattern_type)
            })
            .collect()
    };
    let mut out: BTreeMap<Pattern, BTreeSet<Entry>> = BTreeMap::new();
    for request in requests {
        let request = request
            .with_principal_filter(None)
            .with_host_filter(None)
            .with_operation(model::ANY)
            .with_permission_type(model::ANY);
        let response = admin.send(Target::Any, &request).await?;
        ToolError::check(
            "listing ACLs",
            response.error_code,
            response.error_message.as_ref().map(|m| m.as_str()),
        )?;
        for r in response.resources {
            let pattern = Pattern {
                resource_type: r.resource_type,
                name: r.resource_name.to_string(),
                pattern_type: r.pattern_type,
            };
            let set = out.entry(pattern).or_default();
            set.extend(r.acls.into_iter().map(|a| Entry {
                principal: a.principal.to_string(),
                host: a.host.to_string(),
                operation: a.operation,
                permission: a.permission_type,
            }));
        }
    }
    Ok(out)
}

async fn list(admin: &mut Admin, cli: &Cli) -> Result<()> {
    let all = current(admin, cli).await?;
    let print = |only: Option<&str>| {
        for (pattern, acl) in &all {
            let acl: Vec<Entry> = acl
                .iter()
                .filter(|e| match only {
                    None => true,
                    Some(p) => p == e.principal,
                })
                .cloned()
                .collect();
            if only.is_some() && acl.is_empty() {
                continue;
            }
            println!(
                "{}",
                model::block("Current ACLs for resource", pattern, &acl)
            );
        }
    };
    let listed = principals(&cli.principal)?;
    if listed.is_empty() {
        print(None);
    } else {
        for principal in &listed {
            println!("ACLs for principal `{principal}`");
            print(Some(principal));
        }
    }
    Ok(())
}
