//! SyncGroup, Heartbeat, LeaveGroup, commit validation and timer expiry as pure transitions
//! on [`Group`] (Kafka's `handleSyncGroup`, `handleHeartbeat`, `handleLeaveGroup`,
//! `validateOffsetCommit`, `onExpireHeartbeat`, `DelayedJoin`).

use bytes::Bytes;

use super::error::GroupError;
use super::state::{Group, GroupState, Output, Reply};

/// What an OffsetCommit is allowed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitKind {
    /// A member of the current generation.
    Member,
    /// Generation -1 and no member id on a group without members (standalone consumers,
    /// admin tools).
    Simple,
}

impl Group {
    /// Kafka's `validateCurrentMember`: a static member's instance id must still map to this
    /// member id (FENCED_INSTANCE_ID when a newer instance took it over, UNKNOWN_MEMBER_ID when
    /// the instance is unknown); a dynamic member must exist. Every API that carries a
    /// `group_instance_id` checks it first, so a replaced instance learns it was fenced
    /// instead of rejoining and fencing its successor in turn.
    pub(crate) fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        let known = match instance_id {
            Some(instance) => match self.static_members.get(instance) {
                Some(current) if current != member_id => return Err(GroupError::FencedInstanceId),
                Some(_) => true,
                None => false,
            },
            None => self.members.contains_key(member_id),
        };
        if known {
            Ok(())
        } else {
            Err(GroupError::UnknownMemberId)
        }
    }

    /// Member known, instance id matching, and of the current generation.
    fn check_generation(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.check_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Handles a SyncGroup. `assignments` matter only from the leader.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol: (Option<&str>, Option<&str>),
        assignments: Vec<(String, Bytes)>,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Reply<Result<Bytes, GroupError>> {
        if self.state == GroupState::Dead {
            return Reply::Now(Err(GroupError::CoordinatorNotAvailable));
        }
        if let Err(e) = self.check_generation(member_id, instance_id, generation) {
            return Reply::Now(Err(e));
        }
        let (ptype, pname) = protocol;
        if ptype.is_some_and(|t| self.protocol_type.as_deref() != Some(t))
            || pname.is_some_and(|n| self.protocol.as_deref() != Some(n))
        {
            return Reply::Now(Err(GroupError::InconsistentGroupProtocol));
        }
        self.touch(member_id, now);
        match self.state {
            GroupState::Empty | GroupState::Dead => Reply::Now(Err(GroupError::UnknownMemberId)),
            GroupState::PreparingRebalance => Reply::Now(Err(GroupError::RebalanceInProgress)),
            GroupState::Stable => {
                self.pending_sync.remove(member_id);
                let assignment = self
                    .members
                    .get(member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                Reply::Now(Ok(assignment))
            }
            GroupState::CompletingRebalance => {
                self.pending_sync.remove(member_id);
                if let Some(m) = self.members.get_mut(member_id) {
                    m.awaiting_sync = true;
                }
                if self.leader.as_deref() == Some(member_id) {
                    self.complete_sync(assignments, now, out);
                }
                Reply::Parked(member_id.to_string())
            }
        }
    }

    /// The leader's assignment arrived: store it, go Stable, answer every parked SyncGroup.
    fn complete_sync(
        &mut self,
        assignments: Vec<(String, Bytes)>,
        now: u64,
        out: &mut Vec<Output>,
    ) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
        }
        for (id, assignment) in assignments {
            if let Some(m) = self.members.get_mut(&id) {
                m.assignment = assignment;
            }
        }
        self.transition(GroupState::Stable, now);
        self.sync_deadline = None;
        for m in self.members.values_mut() {
            if m.awaiting_sync {
                m.awaiting_sync = false;
                out.push(Output::Sync {
                    member_id: m.id.clone(),
                    result: Ok(m.assignment.clone()),
                });
            }
        }
    }

    /// Handles a Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: u64,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        self.check_generation(member_id, instance_id, generation)?;
        self.touch(member_id, now);
        match self.state {
            GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::CompletingRebalance | GroupState::Stable => Ok(()),
        }
    }

    /// Handles a LeaveGroup of `members` (member id, instance id); one result per member.
    /// An empty member id with an instance id removes that static member (admin use).
    pub fn leave(
        &mut self,
        members: &[(String, Option<String>)],
        now: u64,
        out: &mut Vec<Output>,
    ) -> Vec<Result<(), GroupError>> {
        members
            .iter()
            .map(|(id, instance)| self.leave_one(id, instance.as_deref(), now, out))
            .collect()
    }

    fn leave_one(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        let id = match (member_id.is_empty(), instance_id) {
            (true, Some(instance)) => self
                .static_members
                .get(instance)
                .cloned()
                .ok_or(GroupError::UnknownMemberId)?,
            _ => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            self.try_complete_join(now, out);
            return Ok(());
        }
        self.check_member(&id, instance_id)?;
        tracing::info!(group = %self.id, member = %id, "member left the group");
        self.remove_member(&id, GroupError::UnknownMemberId, now, out);
        Ok(())
    }

    /// Removes a member (left, expired, fenced) and moves the group on.
    pub(crate) fn remove_member(
        &mut self,
        id: &str,
        why: GroupError,
        now: u64,
        out: &mut Vec<Output>,
    ) {
        let Some(member) = self.members.remove(id) else {
            return;
        };
        if member.awaiting_join {
            out.push(Output::Join {
                member_id: id.to_string(),
                result: super::state::JoinResult::error(why, id),
            });
        }
        if member.awaiting_sync {
            out.push(Output::Sync {
                member_id: id.to_string(),
                result: Err(why),
            });
        }
        if let Some(instance) = &member.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(id);
        if self.leader.as_deref() == Some(id) {
            self.leader = self.members.keys().next().cloned();
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, out)
            }
            GroupState::PreparingRebalance => self.try_complete_join(now, out),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// May this OffsetCommit be applied (`GroupMetadata.validateOffsetCommit`)? A member's
    /// commit also counts as a heartbeat.
    pub fn validate_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: u64,
    ) -> Result<CommitKind, GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        // Generation -1 on an empty group: an admin tool or a consumer without group
        // management, whatever member id it names.
        if generation < 0 && self.state == GroupState::Empty {
            return Ok(CommitKind::Simple);
        }
        if generation >= 0 || !member_id.is_empty() || instance_id.is_some() {
            self.check_generation(member_id, instance_id, generation)?;
            if self.state == GroupState::CompletingRebalance {
                return Err(GroupError::RebalanceInProgress);
            }
            self.touch(member_id, now);
            return Ok(CommitKind::Member);
        }
        // Only members commit to a group that has them.
        Err(GroupError::UnknownMemberId)
    }

    /// Acts on every deadline that has passed: pending member ids are forgotten, silent
    /// members expire, the initial delay or the rebalance timeout ends a join phase, members
    /// that never synced are removed.
    pub fn tick(&mut self, now: u64, out: &mut Vec<Output>) {
        let before = self.pending.len();
        self.pending.retain(|_, deadline| *deadline > now);
        if self.pending.len() != before {
            self.try_complete_join(now, out);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.expired(now))
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.remove_member(&id, GroupError::UnknownMemberId, now, out);
        }
        if self.state == GroupState::PreparingRebalance {
            let delay_over = self.initial_delay_deadline.is_some_and(|d| now >= d);
            let timed_out = self.rebalance_deadline.is_some_and(|d| now >= d);
            if timed_out {
                self.complete_join(now, out);
            } else if delay_over {
                self.initial_delay_deadline = None;
                self.complete_join(now, out);
            }
        }
        if self.state == GroupState::CompletingRebalance
            && self.sync_deadline.is_some_and(|d| now >= d)
        {
            self.sync_deadline = None;
            let silent: Vec<String> = self.pending_sync.iter().cloned().collect();
            for id in silent {
                tracing::info!(group = %self.id, member = %id, "member did not sync in time");
                self.remove_member(&id, GroupError::RebalanceInProgress, now, out);
            }
        }
    }

    /// The group is gone from this coordinator: answer everything parked with `why`.
    pub fn unload(&mut self, why: GroupError, now: u64, out: &mut Vec<Output>) {
        for m in self.members.values_mut() {
            if m.awaiting_join {
                out.push(Output::Join {
                    member_id: m.id.clone(),
                    result: super::state::JoinResult::error(why, &m.id),
                });
            }
            if m.awaiting_sync {
                out.push(Output::Sync {
                    member_id: m.id.clone(),
                    result: Err(why),
                });
            }
        }
        self.members.clear();
        self.pending.clear();
        self.static_members.clear();
        self.initial_delay_deadline = None;
        self.rebalance_deadline = None;
        self.sync_deadline = None;
        self.transition(GroupState::Dead, now);
    }
}
