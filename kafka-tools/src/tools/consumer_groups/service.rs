//! What the cluster says about consumer groups, as Kafka's Admin client gathers it: the groups
//! of every broker (ListGroups), a group's state and members from its coordinator
//! (DescribeGroups, each member's assignment decoded from the consumer protocol), and the
//! group list the tool prints for `--list`.

use kafka_protocol::messages::{DescribeGroupsRequest, GroupId, ListGroupsRequest};
use kafka_protocol::protocol::StrBytes;

use super::pad;
use crate::client::consumer_protocol::decode_assignment;
use crate::client::topics::TopicPartition;
use crate::client::{Admin, Node, Target};
use crate::error::{Result, ToolError};

/// The group states Kafka knows (ConsumerGroupState), as it prints them.
const STATES: &[&str] = &[
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
    "Empty",
    "Assigning",
    "Reconciling",
];

/// A group as ListGroups shows it.
#[derive(Debug)]
pub(super) struct Listing {
    pub group: String,
    pub state: Option<String>,
}

/// Every consumer group of the cluster (ListGroups to each broker; groups of protocol type
/// `consumer` or none, as the Java admin keeps), sorted, in `states` when given.
pub(super) async fn list(admin: &mut Admin, states: &[String]) -> Result<Vec<Listing>> {
    let brokers: Vec<i32> = admin.nodes().keys().copied().collect();
    let version = admin.version::<ListGroupsRequest>()?;
    if !states.is_empty() && version < 4 {
        return Err(ToolError::usage(
            "the brokers cannot filter groups by state (ListGroups v4)",
        ));
    }
    let mut out = Vec::new();
    for broker in brokers {
        let mut request = ListGroupsRequest::default();
        if version >= 4 {
            request = request.with_states_filter(
                states
                    .iter()
                    .map(|s| StrBytes::from_string(s.clone()))
                    .collect(),
            );
        }
        let response = admin
            .send_at(Target::Node(broker), &request, version)
            .await?;
        ToolError::check(
            format!("listing the groups of broker {broker}"),
            response.error_code,
            None,
        )?;
        for g in response.groups {
            if !g.protocol_type.is_empty() && g.protocol_type.as_str() != "consumer" {
                continue;
            }
            out.push(Listing {
                group: g.group_id.0.to_string(),
                state: (version >= 4).then(|| g.group_state.to_string()),
            });
        }
    }
    out.sort_by(|a, b| a.group.cmp(&b.group));
    out.dedup_by(|a, b| a.group == b.group);
    Ok(out)
}

/// The names of every consumer group (`--all-groups`).
pub(super) async fn all_groups(admin: &mut Admin) -> Result<Vec<String>> {
    Ok(list(admin, &[])
        .await?
        .into_iter()
        .map(|l| l.group)
        .collect())
}

/// `--list`: the names, one a line; with `--state`, a GROUP / STATE table.
pub(super) async fn print_list(admin: &mut Admin, state: Option<&str>) -> Result<()> {
    let Some(state) = state else {
        for l in all_groups(admin).await? {
            println!("{}", l);
        }
        return Ok(());
    };
    let states = parse_states(state)?;
    let listings = list(admin, &states).await?;
    let width = listings
        .iter()
        .map(|l| l.group.chars().count().max(15))
        .max()
        .unwrap_or(15)
        + 10;
    println!("{} {}", pad("GROUP", width), pad("STATE", 20));
    for l in &listings {
        println!(
            "{} {}",
            pad(&l.group, width),
            pad(l.state.as_deref().unwrap_or("Unknown"), 20)
        );
    }
    Ok(())
}

/// A `--state` list ("stable,empty"), each state as Kafka spells it; an unknown one is an error.
fn parse_states(input: &str) -> Result<Vec<String>> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    input
        .split(',')
        .map(|s| {
            let s = s.trim();
            STATES
                .iter()
                .find(|k| k.eq_ignore_ascii_case(s))
                .map(|k| (*k).to_owned())
                .ok_or_else(|| {
                    ToolError::usage(format!(
                        "Invalid state list '{input}'. Valid states are: {}",
                        STATES.join(", ")
                    ))
                })
        })
        .collect()
}

/// A member of a described group.
#[derive(Debug, Clone)]
pub(super) struct MemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartition>,
}

/// A described group.
#[derive(Debug)]
pub(super) struct GroupDescription {
    pub group: String,
    pub coordinator: Node,
    pub state: String,
    /// The assignor the group chose (empty while it has none).
    pub assignor: String,
    pub members: Vec<MemberDescription>,
}

/// DescribeGroups for `group`, from its coordinator. A group the coordinator does not know is
/// described as `Dead` with no members (as Kafka's coordinator answers).
pub(super) async fn describe(admin: &mut Admin, group: &str) -> Result<GroupDescription> {
    let coordinator_id = admin.find_coordinator(group, 0).await?;
    let coordinator = admin.nodes().get(&coordinator_id).cloned().unwrap_or(Node {
        id: coordinator_id,
        host: String::new(),
        port: 0,
        rack: None,
    });
    let request = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_owned()))]);
    let response = admin.send(Target::Node(coordinator_id), &request).await?;
    let described = response
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| ToolError::usage(format!("no description of group {group}")))?;
    ToolError::check(
        format!("describing group {group}"),
        described.error_code,
        None,
    )?;
    if !described.protocol_type.is_empty() && described.protocol_type.as_str() != "consumer" {
        return Err(ToolError::usage(format!(
            "Group {group} is not a consumer group."
        )));
    }
    let members = described
        .members
        .iter()
        .map(|m| MemberDescription {
            member_id: m.member_id.to_string(),
            instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assignment: decode_assignment(&m.member_assignment).unwrap_or_default(),
        })
        .collect();
    Ok(GroupDescription {
        group: group.to_owned(),
        coordinator,
        state: described.group_state.to_string(),
        assignor: described.protocol_data.to_string(),
        members,
    })
}

/// The groups a command acts on: `--all-groups` or the `--group`s.
pub(super) async fn selected_groups(admin: &mut Admin, cli: &super::Cli) -> Result<Vec<String>> {
    if cli.all_groups {
        all_groups(admin).await
    } else {
        Ok(cli.group.clone())
    }
}
