//! JoinGroup and the rebalance it drives, as pure transitions on [`Group`]
//! (`GroupCoordinator.handleJoinGroup`, `prepareRebalance`, `onCompleteJoin` in Kafka).

use bytes::Bytes;

use super::error::GroupError;
use super::state::{
    Group, GroupState, JoinResult, Member, Output, Reply, NEW_MEMBER_JOIN_TIMEOUT_MS,
};

/// A JoinGroup as the state machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// Empty for a member joining for the first time.
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    /// v0 has none: the caller passes the session timeout.
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// v4+: a new dynamic member is first sent away with MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
    /// v9+: a static leader replaced in a Stable group is told it leads but must not assign.
    pub supports_skip_assignment: bool,
    /// A fresh random suffix for a member id this request may need.
    pub fresh_id: String,
}

impl Group {
    /// Handles a JoinGroup.
    pub fn join(&mut self, req: JoinRequest, now: u64, out: &mut Vec<Output>) -> Reply<JoinResult> {
        let fail = |e| Reply::Now(JoinResult::error(e, &req.member_id));
        if self.state == GroupState::Dead {
            return fail(GroupError::CoordinatorNotAvailable);
        }
        let session = u64::try_from(req.session_timeout_ms).unwrap_or(0);
        if session < self.config.min_session_timeout_ms
            || session > self.config.max_session_timeout_ms
        {
            return fail(GroupError::InvalidSessionTimeout);
        }
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            return fail(GroupError::InconsistentGroupProtocol);
        }
        if req.member_id.is_empty() {
            self.join_unknown(req, now, out)
        } else {
            self.join_known(req, now, out)
        }
    }

    fn join_unknown(
        &mut self,
        req: JoinRequest,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Reply<JoinResult> {
        let prefix = req
            .instance_id
            .as_deref()
            .unwrap_or(if req.client_id.is_empty() {
                req.protocol_type.as_str()
            } else {
                req.client_id.as_str()
            });
        let new_id = format!("{prefix}-{}", req.fresh_id);
        if let Some(instance) = req.instance_id.clone() {
            if let Some(old_id) = self.static_members.get(&instance).cloned() {
                return self.replace_static_member(req, &old_id, new_id, now, out);
            }
            return self.add_member_and_rebalance(req, new_id, now, out);
        }
        if req.require_known_member_id {
            let session = u64::try_from(req.session_timeout_ms).unwrap_or(0);
            self.pending.insert(new_id.clone(), now + session);
            return Reply::Now(JoinResult::error(GroupError::MemberIdRequired, &new_id));
        }
        self.add_member_and_rebalance(req, new_id, now, out)
    }

    fn join_known(
        &mut self,
        req: JoinRequest,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Reply<JoinResult> {
        let id = req.member_id.clone();
        if self.pending.contains_key(&id) {
            return self.add_member_and_rebalance(req, id, now, out);
        }
        if let Err(e) = self.check_member(&id, req.instance_id.as_deref()) {
            return Reply::Now(JoinResult::error(e, &id));
        }
        let Some(member) = self.members.get(&id) else {
            return Reply::Now(JoinResult::error(GroupError::UnknownMemberId, &id));
        };
        let same_metadata = member.protocols == req.protocols;
        let is_leader = self.leader.as_deref() == Some(id.as_str());
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member(&req, now);
                self.try_complete_join(now, out);
                Reply::Parked(id)
            }
            GroupState::CompletingRebalance if same_metadata => {
                self.touch(&id, now);
                Reply::Now(self.join_result(&id, is_leader))
            }
            GroupState::Stable if same_metadata && !is_leader => {
                self.touch(&id, now);
                Reply::Now(self.join_result(&id, false))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member(&req, now);
                self.prepare_rebalance(now, out);
                Reply::Parked(id)
            }
            GroupState::Empty | GroupState::Dead => {
                Reply::Now(JoinResult::error(GroupError::UnknownMemberId, &id))
            }
        }
    }

    /// A static member rejoining with an unknown member id takes over its instance's place.
    fn replace_static_member(
        &mut self,
        req: JoinRequest,
        old_id: &str,
        new_id: String,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Reply<JoinResult> {
        let Some(mut member) = self.members.remove(old_id) else {
            return self.add_member_and_rebalance(req, new_id, now, out);
        };
        fence_parked(&member, out);
        let old_leader = self.leader.clone().unwrap_or_default();
        member.id = new_id.clone();
        member.awaiting_join = false;
        member.awaiting_sync = false;
        self.members.insert(new_id.clone(), member);
        if let Some(instance) = &req.instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        let skip_assignment = req.supports_skip_assignment;
        self.update_member(&req_with_id(req, &new_id), now);
        match self.state {
            // Kafka keeps a Stable group's assignment when the protocol the group would pick
            // is unchanged: the new instance takes over the old one's partitions.
            GroupState::Stable if self.select_protocol() == self.protocol => {
                if let Some(m) = self.members.get_mut(&new_id) {
                    m.awaiting_join = false;
                }
                let is_leader = self.leader.as_deref() == Some(new_id.as_str());
                if skip_assignment {
                    // v9+: the leader keeps leading (and watching metadata) without assigning.
                    let mut result = self.join_result(&new_id, is_leader);
                    result.skip_assignment = is_leader;
                    Reply::Now(result)
                } else {
                    // Before v9: the old leader id, so that it does not run an assignment
                    // a Stable group would not hand out.
                    let mut result = self.join_result(&new_id, false);
                    result.leader = old_leader;
                    Reply::Now(result)
                }
            }
            GroupState::PreparingRebalance => {
                self.try_complete_join(now, out);
                Reply::Parked(new_id)
            }
            _ => {
                self.prepare_rebalance(now, out);
                Reply::Parked(new_id)
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        req: JoinRequest,
        id: String,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Reply<JoinResult> {
        self.pending.remove(&id);
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        let member = Member {
            id: id.clone(),
            instance_id: req.instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout_ms: u64::try_from(req.session_timeout_ms).unwrap_or(0),
            rebalance_timeout_ms: rebalance_timeout(&req),
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.clone(),
            assignment: Bytes::new(),
            awaiting_join: true,
            awaiting_sync: false,
            is_new: true,
            session_deadline: now + NEW_MEMBER_JOIN_TIMEOUT_MS,
        };
        self.members.insert(id.clone(), member);
        if let Some(instance) = req.instance_id {
            self.static_members.insert(instance, id.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(id.clone());
        }
        match self.state {
            GroupState::PreparingRebalance => {
                if let Some(deadline) = self.initial_delay_deadline {
                    // Another new member during the initial delay: wait the delay again,
                    // never past the rebalance timeout.
                    let cap = self.rebalance_deadline.unwrap_or(deadline);
                    self.initial_delay_deadline =
                        Some((now + self.config.initial_rebalance_delay_ms).min(cap));
                }
                self.try_complete_join(now, out);
            }
            _ => self.prepare_rebalance(now, out),
        }
        Reply::Parked(id)
    }

    fn update_member(&mut self, req: &JoinRequest, now: u64) {
        if let Some(m) = self.members.get_mut(&req.member_id) {
            m.protocols = req.protocols.clone();
            m.session_timeout_ms = u64::try_from(req.session_timeout_ms).unwrap_or(0);
            m.rebalance_timeout_ms = rebalance_timeout(req);
            m.client_id = req.client_id.clone();
            m.client_host = req.client_host.clone();
            m.awaiting_join = true;
            m.session_deadline = now + m.session_timeout_ms;
        }
    }

    /// Refreshes a member's session (any request from it counts as a heartbeat).
    pub(crate) fn touch(&mut self, member_id: &str, now: u64) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.session_deadline = now + m.session_timeout_ms;
        }
    }

    /// Starts a rebalance (legal from Empty, Stable and CompletingRebalance).
    pub(crate) fn prepare_rebalance(&mut self, now: u64, out: &mut Vec<Output>) {
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if m.awaiting_sync {
                    m.awaiting_sync = false;
                    out.push(Output::Sync {
                        member_id: m.id.clone(),
                        result: Err(GroupError::RebalanceInProgress),
                    });
                }
            }
        }
        let was_empty = self.state == GroupState::Empty;
        self.transition(GroupState::PreparingRebalance, now);
        self.pending_sync.clear();
        self.sync_deadline = None;
        let timeout = self.rebalance_timeout_ms();
        self.rebalance_deadline = Some(now + timeout);
        self.initial_delay_deadline = was_empty
            .then(|| now + self.config.initial_rebalance_delay_ms.min(timeout))
            .filter(|_| self.config.initial_rebalance_delay_ms > 0);
        self.try_complete_join(now, out);
    }

    /// Completes the join phase if every member has rejoined and nobody is pending.
    pub(crate) fn try_complete_join(&mut self, now: u64, out: &mut Vec<Output>) {
        if self.state != GroupState::PreparingRebalance || self.initial_delay_deadline.is_some() {
            return;
        }
        let all_joined = self.members.values().all(|m| m.awaiting_join);
        if all_joined && self.pending.is_empty() {
            self.complete_join(now, out);
        }
    }

    /// Forms the next generation (`onCompleteJoin`): drops dynamic members that did not
    /// rejoin, elects a leader if needed, picks the protocol and answers every parked join.
    pub(crate) fn complete_join(&mut self, now: u64, out: &mut Vec<Output>) {
        self.initial_delay_deadline = None;
        self.rebalance_deadline = None;
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.awaiting_join && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            self.members.remove(&id);
        }
        let leader_joined = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .is_some_and(|m| m.awaiting_join);
        if !leader_joined {
            self.leader = self
                .members
                .values()
                .find(|m| m.awaiting_join)
                .or_else(|| self.members.values().next())
                .map(|m| m.id.clone());
        }
        self.generation += 1;
        if self.members.is_empty() {
            // Kafka keeps the protocol type of a group that emptied: it is still a consumer
            // group, listed as such.
            self.protocol = None;
            self.leader = None;
            self.transition(GroupState::Empty, now);
            return;
        }
        self.protocol = self.select_protocol();
        self.transition(GroupState::CompletingRebalance, now);
        let timeout = self.rebalance_timeout_ms();
        self.sync_deadline = Some(now + timeout);
        self.pending_sync = self.members.keys().cloned().collect();
        let leader = self.leader.clone().unwrap_or_default();
        let joined: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join)
            .map(|m| m.id.clone())
            .collect();
        for id in joined {
            let result = self.join_result(&id, id == leader);
            if let Some(m) = self.members.get_mut(&id) {
                m.awaiting_join = false;
                m.is_new = false;
                m.session_deadline = now + m.session_timeout_ms;
            }
            out.push(Output::Join {
                member_id: id,
                result,
            });
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), protocol = ?self.protocol, "rebalance: generation formed");
    }
}

/// v0 JoinGroups have no rebalance timeout: Kafka uses the session timeout.
fn rebalance_timeout(req: &JoinRequest) -> u64 {
    let t = if req.rebalance_timeout_ms > 0 {
        req.rebalance_timeout_ms
    } else {
        req.session_timeout_ms
    };
    u64::try_from(t).unwrap_or(0)
}

fn req_with_id(mut req: JoinRequest, id: &str) -> JoinRequest {
    req.member_id = id.to_string();
    req
}

/// A replaced static member's parked requests are answered with FENCED_INSTANCE_ID.
fn fence_parked(member: &Member, out: &mut Vec<Output>) {
    if member.awaiting_join {
        out.push(Output::Join {
            member_id: member.id.clone(),
            result: JoinResult::error(GroupError::FencedInstanceId, &member.id),
        });
    }
    if member.awaiting_sync {
        out.push(Output::Sync {
            member_id: member.id.clone(),
            result: Err(GroupError::FencedInstanceId),
        });
    }
}
