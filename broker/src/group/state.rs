//! A group as plain data: its state, generation, members and the deadlines that drive it.
//! The transitions live in [`super::join`] (JoinGroup and rebalance completion) and
//! [`super::membership`] (SyncGroup, Heartbeat, LeaveGroup, commits, timers); none of them
//! does I/O or reads a clock: time comes in as `now` (milliseconds on a monotonic clock).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::error::GroupError;

/// Kafka's group states (`GroupMetadata.scala`); DescribeGroups reports these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (possibly offsets only).
    Empty,
    /// Collecting JoinGroups for the next generation.
    PreparingRebalance,
    /// Generation formed; waiting for the leader's SyncGroup.
    CompletingRebalance,
    /// Assignment handed out.
    Stable,
    /// Removed or moved to another coordinator.
    Dead,
}

impl GroupState {
    /// The name Kafka uses on the wire.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// The coordinator settings a group obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: u64,
}

/// How long a brand-new member's parked JoinGroup may wait (`NewMemberJoinTimeoutMs`).
pub const NEW_MEMBER_JOIN_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// What the leader assigned this member in the current generation.
    pub assignment: Bytes,
    /// A JoinGroup of this member is parked.
    pub awaiting_join: bool,
    /// A SyncGroup of this member is parked.
    pub awaiting_sync: bool,
    /// Joined but has not yet received a JoinGroup response.
    pub is_new: bool,
    /// The member is dropped if not heard from by then.
    pub session_deadline: u64,
}

impl Member {
    /// The metadata this member gave for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// True if the member may expire now: parked members wait for the rebalance instead,
    /// except brand-new ones, whose deadline is the new-member join timeout.
    pub(crate) fn expired(&self, now: u64) -> bool {
        let parked = self.awaiting_join || self.awaiting_sync;
        now >= self.session_deadline && (!parked || self.is_new)
    }
}

/// A member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub metadata: Bytes,
}

/// A JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error: Option<GroupError>,
    pub member_id: String,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    /// Only the leader gets the members.
    pub members: Vec<JoinedMember>,
    /// v9+: the leader must not run the assignment (a static leader replaced while Stable).
    pub skip_assignment: bool,
}

impl JoinResult {
    /// An error answer.
    pub fn error(e: GroupError, member_id: &str) -> JoinResult {
        JoinResult {
            error: Some(e),
            member_id: member_id.to_string(),
            generation: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            members: Vec::new(),
            skip_assignment: false,
        }
    }
}

/// The outcome of a request that may have to wait for other members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// Answer now.
    Now(T),
    /// Parked under this member id; the answer comes later as an [`Output`].
    Parked(String),
}

/// An answer to a parked request, produced by a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Join {
        member_id: String,
        result: JoinResult,
    },
    Sync {
        member_id: String,
        result: Result<Bytes, GroupError>,
    },
}

/// A consumer group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, awaiting their second JoinGroup, with
    /// the time they are forgotten.
    pub pending: BTreeMap<String, u64>,
    /// `group.instance.id` → current member id.
    pub static_members: BTreeMap<String, String>,
    /// Members of this generation that have not sent SyncGroup yet.
    pub pending_sync: BTreeSet<String>,
    /// When the group entered its state.
    pub state_since: u64,
    /// The first rebalance of a group waits this long for more members.
    pub(crate) initial_delay_deadline: Option<u64>,
    /// The current join phase ends at the latest then.
    pub(crate) rebalance_deadline: Option<u64>,
    /// Members that have not synced by then are removed.
    pub(crate) sync_deadline: Option<u64>,
    pub config: GroupConfig,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str, config: GroupConfig, now: u64) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            state_since: now,
            initial_delay_deadline: None,
            rebalance_deadline: None,
            sync_deadline: None,
            config,
        }
    }

    pub(crate) fn transition(&mut self, to: GroupState, now: u64) {
        if self.state != to {
            tracing::debug!(group = %self.id, from = self.state.name(), to = to.name(), generation = self.generation, "group state");
        }
        self.state = to;
        self.state_since = now;
    }

    /// The longest rebalance timeout among members (the bound of a join phase).
    pub fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Protocols every member supports.
    pub fn candidate_protocols(&self) -> BTreeSet<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return BTreeSet::new();
        };
        let mut set: BTreeSet<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect();
        for m in members {
            set.retain(|p| m.protocols.iter().any(|(n, _)| n == p));
        }
        set
    }

    /// Could a member with these protocols join (`GroupMetadata.supportsProtocols`)?
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        let candidates = self.candidate_protocols();
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(n, _)| candidates.contains(n))
    }

    /// The protocol with the most votes, each member voting for its first candidate.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        // Most votes; ties go to the leader's preference order.
        let leader_order = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .map(|m| {
                m.protocols
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let rank = |p: &str| {
            leader_order
                .iter()
                .position(|n| n == p)
                .unwrap_or(usize::MAX)
        };
        votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(rank(b.0).cmp(&rank(a.0))))
            .map(|(p, _)| p.to_string())
    }

    /// The earliest time something happens without a request: the next call to `tick`.
    pub fn next_deadline(&self) -> Option<u64> {
        let members = self.members.values().filter_map(|m| {
            let parked = m.awaiting_join || m.awaiting_sync;
            (!parked || m.is_new).then_some(m.session_deadline)
        });
        members
            .chain(self.pending.values().copied())
            .chain(self.initial_delay_deadline)
            .chain(self.rebalance_deadline)
            .chain(self.sync_deadline)
            .min()
    }

    /// The JoinGroup answer for `member_id` in the current generation.
    pub(crate) fn join_result(&self, member_id: &str, with_members: bool) -> JoinResult {
        let members = if with_members {
            let protocol = self.protocol.clone().unwrap_or_default();
            self.members
                .values()
                .map(|m| JoinedMember {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    metadata: m.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: None,
            member_id: member_id.to_string(),
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            members,
            skip_assignment: false,
        }
    }
}
