//! Membership of a consumer group (Kafka's classic group protocol, protocol type `consumer`):
//! JoinGroup (again with the member id the coordinator hands out), the leader assigns with the
//! range assignor, SyncGroup hands out the assignment, Heartbeat keeps the membership, and
//! LeaveGroup ends it. What the console consumer does with `--group`.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::client::consumer_protocol as cp;
use crate::client::topics::{self, TopicPartition};
use crate::client::{Admin, Target};
use crate::error::{Result, ToolError};

/// The assignor we offer (and, as leader, run).
pub const ASSIGNOR: &str = "range";
const PROTOCOL_TYPE: &str = "consumer";
/// Attempts at joining before giving up (each rebalance may send us back).
const JOIN_ATTEMPTS: usize = 20;

/// Session and rebalance timeouts of the membership.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub session_ms: i32,
    pub rebalance_ms: i32,
}

/// A member of a group, in one generation.
#[derive(Debug)]
pub struct Member {
    pub group: String,
    pub coordinator: i32,
    pub member_id: String,
    pub generation: i32,
    pub assignment: Vec<TopicPartition>,
    topics: Vec<String>,
    timeouts: Timeouts,
}

/// What a heartbeat learned.
#[derive(Debug, PartialEq, Eq)]
pub enum Beat {
    Fine,
    /// The group rebalances (or forgot us): commit, then [`Member::rejoin`].
    Rejoin,
}

impl Member {
    /// Joins `group` subscribed to `topics` and waits for this generation's assignment.
    pub async fn join(
        admin: &mut Admin,
        group: &str,
        topics: &[String],
        timeouts: Timeouts,
    ) -> Result<Member> {
        let coordinator = admin.find_coordinator(group, 0).await?;
        let mut member = Member {
            group: group.to_owned(),
            coordinator,
            member_id: String::new(),
            generation: -1,
            assignment: Vec::new(),
            topics: topics.to_vec(),
            timeouts,
        };
        member.rejoin(admin).await?;
        Ok(member)
    }

    /// Joins again (after a rebalance began) and takes the new assignment.
    pub async fn rejoin(&mut self, admin: &mut Admin) -> Result<()> {
        for _ in 0..JOIN_ATTEMPTS {
            match self.join_once(admin).await? {
                Some(assignment) => {
                    self.assignment = assignment;
                    return Ok(());
                }
                None => continue,
            }
        }
        Err(ToolError::usage(format!(
            "could not join group {} after {JOIN_ATTEMPTS} attempts",
            self.group
        )))
    }

    /// One JoinGroup + SyncGroup; `None` when the coordinator asks to join again.
    async fn join_once(&mut self, admin: &mut Admin) -> Result<Option<Vec<TopicPartition>>> {
        let metadata = cp::encode_subscription(&self.topics)
            .ok_or_else(|| ToolError::usage("encoding the subscription"))?;
        let version = admin.version::<JoinGroupRequest>()?;
        let mut request = JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_session_timeout_ms(self.timeouts.session_ms)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str(ASSIGNOR))
                .with_metadata(metadata)]);
        if version >= 1 {
            request = request.with_rebalance_timeout_ms(self.timeouts.rebalance_ms);
        }
        let response = admin
            .send_at(Target::Node(self.coordinator), &request, version)
            .await?;
        match ResponseError::try_from_code(response.error_code) {
            None => {}
            // v4+: the first join only hands out our member id.
            Some(ResponseError::MemberIdRequired) => {
                self.member_id = response.member_id.to_string();
                return Ok(None);
            }
            Some(ResponseError::UnknownMemberId) => {
                self.member_id.clear();
                return Ok(None);
            }
            Some(ResponseError::RebalanceInProgress) => return Ok(None),
            Some(_) => {
                ToolError::check(
                    format!("joining group {}", self.group),
                    response.error_code,
                    None,
                )?;
            }
        }
        self.member_id = response.member_id.to_string();
        self.generation = response.generation_id;
        let assignments = if response.leader == response.member_id {
            let subscriptions: Vec<(String, Vec<String>)> = response
                .members
                .iter()
                .map(|m| {
                    (
                        m.member_id.to_string(),
                        cp::decode_subscription(&m.metadata).unwrap_or_default(),
                    )
                })
                .collect();
            self.assign(admin, &subscriptions).await?
        } else {
            Vec::new()
        };
        let version = admin.version::<SyncGroupRequest>()?;
        let mut request = SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(assignments);
        if version >= 5 {
            request = request
                .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                .with_protocol_name(Some(StrBytes::from_static_str(ASSIGNOR)));
        }
        let response = admin
            .send_at(Target::Node(self.coordinator), &request, version)
            .await?;
        match ResponseError::try_from_code(response.error_code) {
            None => Ok(Some(
                cp::decode_assignment(&response.assignment)
                    .ok_or_else(|| ToolError::usage("the group's assignment is unreadable"))?,
            )),
            Some(ResponseError::RebalanceInProgress) => Ok(None),
            Some(ResponseError::UnknownMemberId) | Some(ResponseError::IllegalGeneration) => {
                self.member_id.clear();
                Ok(None)
            }
            Some(_) => {
                ToolError::check(
                    format!("syncing group {}", self.group),
                    response.error_code,
                    None,
                )?;
                Ok(None)
            }
        }
    }

    /// The range assignor over every member's subscription: each topic's partitions split in
    /// contiguous ranges over the members subscribed to it (sorted by member id), the first
    /// members taking one more when it does not divide evenly.
    async fn assign(
        &self,
        admin: &mut Admin,
        subscriptions: &[(String, Vec<String>)],
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let mut wanted: Vec<String> = subscriptions
            .iter()
            .flat_map(|(_, t)| t.iter().cloned())
            .collect();
        wanted.sort();
        wanted.dedup();
        let leaders = topics::leaders(admin, &wanted).await?;
        let mut plan: BTreeMap<String, Vec<TopicPartition>> = subscriptions
            .iter()
            .map(|(m, _)| (m.clone(), Vec::new()))
            .collect();
        for topic in &wanted {
            let partitions = topics::partitions_of(&leaders, topic);
            let mut members: Vec<&String> = subscriptions
                .iter()
                .filter(|(_, t)| t.contains(topic))
                .map(|(m, _)| m)
                .collect();
            members.sort();
            plan_range(topic, &partitions, &members, &mut plan);
        }
        plan.into_iter()
            .map(|(member, parts)| {
                let bytes: Bytes = cp::encode_assignment(&parts)
                    .ok_or_else(|| ToolError::usage("encoding an assignment"))?;
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member))
                    .with_assignment(bytes))
            })
            .collect()
    }

    /// Heartbeat for this generation.
    pub async fn heartbeat(&mut self, admin: &mut Admin) -> Result<Beat> {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let response = admin.send(Target::Node(self.coordinator), &request).await?;
        match ResponseError::try_from_code(response.error_code) {
            None => Ok(Beat::Fine),
            Some(ResponseError::RebalanceInProgress) => Ok(Beat::Rejoin),
            Some(ResponseError::UnknownMemberId) | Some(ResponseError::IllegalGeneration) => {
                self.member_id.clear();
                Ok(Beat::Rejoin)
            }
            Some(_) => {
                ToolError::check(
                    format!("heartbeat to group {}", self.group),
                    response.error_code,
                    None,
                )?;
                Ok(Beat::Fine)
            }
        }
    }

    /// Leaves the group (so it rebalances now rather than after the session timeout).
    pub async fn leave(&self, admin: &mut Admin) -> Result<()> {
        let version = admin.version::<LeaveGroupRequest>()?;
        let mut request = LeaveGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())));
        if version >= 3 {
            request = request.with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(self.member_id.clone()))]);
        } else {
            request = request.with_member_id(StrBytes::from_string(self.member_id.clone()));
        }
        let response = admin
            .send_at(Target::Node(self.coordinator), &request, version)
            .await?;
        ToolError::check(
            format!("leaving group {}", self.group),
            response.error_code,
            None,
        )
    }
}

/// Adds `topic`'s share of `partitions` to each of `members` (range assignment).
fn plan_range(
    topic: &str,
    partitions: &[i32],
    members: &[&String],
    plan: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    if members.is_empty() {
        return;
    }
    let per = partitions.len() / members.len();
    let extra = partitions.len() % members.len();
    let mut next = 0;
    for (i, member) in members.iter().enumerate() {
        let take = per + usize::from(i < extra);
        let share = partitions[next..next + take]
            .iter()
            .map(|p| (topic.to_owned(), *p));
        plan.entry((*member).clone()).or_default().extend(share);
        next += take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_gives_the_first_members_the_remainder() {
        let (a, b) = ("a".to_owned(), "b".to_owned());
        let mut plan = BTreeMap::new();
        plan_range("t", &[0, 1, 2], &[&a, &b], &mut plan);
        assert_eq!(plan["a"], vec![("t".to_owned(), 0), ("t".to_owned(), 1)]);
        assert_eq!(plan["b"], vec![("t".to_owned(), 2)]);
    }
}
