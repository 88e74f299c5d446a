//! The running group coordinator: the groups this broker coordinates, the parked JoinGroup
//! and SyncGroup requests waiting on them, one timer task per group, and committed offsets in
//! ZooKeeper (through `coordinator::offsets`).
//!
//! Each group sits behind its own mutex; a request locks it, applies a pure transition and
//! delivers the [`Output`]s (answers to other members' parked requests) before unlocking.
//! A group's timer task sleeps until the group's next deadline, or until a request wakes it
//! because the deadlines changed, and then sends the group a `tick`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use coordinator::offsets::{self, CommittedOffset, OffsetCommit};
use coordinator::Zk;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::error::GroupError;
use super::join::JoinRequest;
use super::membership::CommitKind;
use super::placement::coordinator_for;
use super::state::{Group, GroupConfig, GroupState, JoinResult, Output, Reply};
use super::subscriptions::Subscriptions;

/// Commit metadata longer than this is refused (`offset.metadata.max.bytes`).
pub const OFFSET_METADATA_MAX_BYTES: usize = 4096;

/// One member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups and ListGroups show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub group_id: String,
    pub state: &'static str,
    pub protocol_type: String,
    /// The chosen protocol, only while Stable (as Kafka reports it).
    pub protocol: String,
    pub members: Vec<MemberSummary>,
}

struct Entry {
    group: Group,
    joins: HashMap<String, oneshot::Sender<JoinResult>>,
    syncs: HashMap<String, oneshot::Sender<Result<Bytes, GroupError>>>,
    /// Wall-clock ms when the group last became Empty (offset retention starts there).
    empty_since_wall: Option<i64>,
    /// The protocol type this coordinator last recorded in `/consumers/<group>`.
    recorded_protocol_type: Option<String>,
}

impl Entry {
    fn deliver(&mut self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Join { member_id, result } => {
                    if let Some(tx) = self.joins.remove(&member_id) {
                        let _ = tx.send(result);
                    }
                }
                Output::Sync { member_id, result } => {
                    if let Some(tx) = self.syncs.remove(&member_id) {
                        let _ = tx.send(result);
                    }
                }
            }
        }
        match (self.group.state, self.empty_since_wall) {
            (GroupState::Empty, None) => self.empty_since_wall = Some(wall_ms()),
            (GroupState::Empty, Some(_)) => {}
            _ => self.empty_since_wall = None,
        }
    }
}

struct Slot {
    entry: Mutex<Entry>,
    wake: Notify,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Entry> {
        self.entry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a JoinGroup or SyncGroup `transition` and waits for its answer. A parked request
    /// is registered in `parked` before the outputs are delivered, because those outputs may
    /// already answer it (the leader's own SyncGroup); a request the member still had parked is
    /// answered `superseded`. `None` if the answer never comes (the group was removed).
    async fn answer<T>(
        &self,
        transition: impl FnOnce(&mut Group, &mut Vec<Output>) -> Reply<T>,
        parked: fn(&mut Entry) -> &mut HashMap<String, oneshot::Sender<T>>,
        superseded: impl FnOnce(&str) -> T,
    ) -> Option<T> {
        let rx = {
            let mut e = self.lock();
            let mut out = Vec::new();
            let rx = match transition(&mut e.group, &mut out) {
                Reply::Now(result) => {
                    e.deliver(out);
                    self.wake.notify_one();
                    return Some(result);
                }
                Reply::Parked(id) => {
                    let (tx, rx) = oneshot::channel();
                    if let Some(old) = parked(&mut e).insert(id.clone(), tx) {
                        let _ = old.send(superseded(&id));
                    }
                    rx
                }
            };
            e.deliver(out);
            self.wake.notify_one();
            rx
        };
        rx.await.ok()
    }
}

/// The group coordinator of one broker.
pub struct GroupCoordinator {
    broker_id: i32,
    /// Swapped by the session supervisor when the ZooKeeper session is re-established.
    zk: std::sync::RwLock<Zk>,
    config: GroupConfig,
    retention_ms: i64,
    groups: Mutex<HashMap<String, Arc<Slot>>>,
    epoch: Instant,
    stop: CancellationToken,
}

impl std::fmt::Debug for GroupCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCoordinator")
            .field("broker_id", &self.broker_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A group without members, as listed from its offsets.
fn empty_summary(group: &str, protocol_type: String) -> GroupSummary {
    GroupSummary {
        group_id: group.to_string(),
        state: GroupState::Empty.name(),
        protocol_type,
        protocol: String::new(),
        members: Vec::new(),
    }
}

/// Milliseconds since the Unix epoch (commit timestamps, retention).
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl GroupCoordinator {
    /// A coordinator with no groups loaded.
    /// The current ZooKeeper session.
    fn zk(&self) -> Zk {
        self.zk.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Uses a new ZooKeeper session after the old one expired.
    pub fn replace_zk(&self, zk: Zk) {
        *self.zk.write().unwrap_or_else(|e| e.into_inner()) = zk;
    }

    pub fn new(broker_id: i32, zk: Zk, config: GroupConfig, retention_ms: i64) -> GroupCoordinator {
        GroupCoordinator {
            broker_id,
            zk: std::sync::RwLock::new(zk),
            config,
            retention_ms,
            groups: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            stop: CancellationToken::new(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn table(&self) -> MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Is this broker the group's coordinator, given the live brokers it knows?
    pub fn check_owner(&self, group: &str, live: &[i32]) -> Result<(), GroupError> {
        if !offsets::valid_group_id(group) {
            return Err(GroupError::InvalidGroupId);
        }
        if self.stop.is_cancelled() {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        match coordinator_for(group, live) {
            None => Err(GroupError::CoordinatorNotAvailable),
            Some(id) if id == self.broker_id => Ok(()),
            Some(_) => Err(GroupError::NotCoordinator),
        }
    }

    fn existing(&self, group: &str) -> Option<Arc<Slot>> {
        self.table().get(group).cloned()
    }

    /// The group's slot, creating an Empty group (and its timer) if there is none.
    fn slot(&self, group: &str) -> Arc<Slot> {
        let mut table = self.table();
        if let Some(slot) = table.get(group) {
            return slot.clone();
        }
        let slot = Arc::new(Slot {
            entry: Mutex::new(Entry {
                group: Group::new(group, self.config, self.now()),
                joins: HashMap::new(),
                syncs: HashMap::new(),
                empty_since_wall: Some(wall_ms()),
                recorded_protocol_type: None,
            }),
            wake: Notify::new(),
        });
        table.insert(group.to_string(), slot.clone());
        tokio::spawn(run_timer(slot.clone(), self.epoch, self.stop.clone()));
        slot
    }

    /// JoinGroup; waits while the rebalance is collecting members.
    pub async fn join(&self, group: &str, req: JoinRequest) -> JoinResult {
        let member_id = req.member_id.clone();
        self.slot(group)
            .answer(
                |g, out| g.join(req, self.now(), out),
                |e| &mut e.joins,
                |id| JoinResult::error(GroupError::RebalanceInProgress, id),
            )
            .await
            .unwrap_or_else(|| JoinResult::error(GroupError::CoordinatorNotAvailable, &member_id))
    }

    /// SyncGroup; the leader's assignment releases every member.
    pub async fn sync(
        &self,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol: (Option<&str>, Option<&str>),
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Bytes, GroupError> {
        let Some(slot) = self.existing(group) else {
            return Err(GroupError::UnknownMemberId);
        };
        slot.answer(
            |g, out| {
                g.sync(
                    member_id,
                    instance_id,
                    generation,
                    protocol,
                    assignments,
                    self.now(),
                    out,
                )
            },
            |e| &mut e.syncs,
            |_| Err(GroupError::RebalanceInProgress),
        )
        .await
        .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// Heartbeat.
    pub fn heartbeat(
        &self,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        let Some(slot) = self.existing(group) else {
            return Err(GroupError::UnknownMemberId);
        };
        let mut e = slot.lock();
        let result = e
            .group
            .heartbeat(member_id, instance_id, generation, self.now());
        slot.wake.notify_one();
        result
    }

    /// LeaveGroup: one result per (member id, instance id).
    pub fn leave(
        &self,
        group: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<Result<(), GroupError>> {
        let Some(slot) = self.existing(group) else {
            return members
                .iter()
                .map(|_| Err(GroupError::UnknownMemberId))
                .collect();
        };
        let mut e = slot.lock();
        let mut out = Vec::new();
        let results = e.group.leave(members, self.now(), &mut out);
        e.deliver(out);
        slot.wake.notify_one();
        results
    }

    /// OffsetCommit: validates the committer, then writes every commit in one multi.
    pub async fn commit(
        &self,
        group: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        commits: &[OffsetCommit],
    ) -> Result<(), GroupError> {
        let slot = self.slot(group);
        let (kind, record) = {
            let mut e = slot.lock();
            let kind = e
                .group
                .validate_commit(member_id, instance_id, generation, self.now());
            slot.wake.notify_one();
            let kind = kind?;
            // A member's commit records the group's protocol type once per coordinator, so
            // that the group is still listed as what it was when only its offsets remain.
            let record = match (&e.group.protocol_type, kind) {
                (Some(t), CommitKind::Member) if e.recorded_protocol_type.as_ref() != Some(t) => {
                    Some(t.clone())
                }
                _ => None,
            };
            (kind, record)
        };
        if let Err(e) = offsets::commit_offsets(&self.zk(), group, record.as_deref(), commits).await
        {
            warn!(group, error = %e, "offset commit to ZooKeeper failed");
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if record.is_some() {
            slot.lock().recorded_protocol_type = record;
        }
        if kind == CommitKind::Simple {
            tracing::debug!(group, partitions = commits.len(), "simple offset commit");
        }
        Ok(())
    }

    /// OffsetFetch: the committed offsets of `partitions`, or of every partition if `None`.
    pub async fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<((String, i32), Option<CommittedOffset>)>, GroupError> {
        let zk_error = |e: coordinator::ZkError| {
            warn!(group, error = %e, "reading offsets from ZooKeeper failed");
            GroupError::CoordinatorNotAvailable
        };
        match partitions {
            None => {
                let all = offsets::fetch_all_offsets(&self.zk(), group)
                    .await
                    .map_err(zk_error)?;
                Ok(all.into_iter().map(|(k, v)| (k, Some(v))).collect())
            }
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for (topic, partition) in list {
                    let c = offsets::fetch_offset(&self.zk(), group, topic, *partition)
                        .await
                        .map_err(zk_error)?;
                    out.push(((topic.clone(), *partition), c));
                }
                Ok(out)
            }
        }
    }

    fn summary_of(group: &Group) -> GroupSummary {
        let stable = group.state == GroupState::Stable;
        let protocol = group.protocol.clone().unwrap_or_default();
        let members = group
            .members
            .values()
            .map(|m| MemberSummary {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if stable {
                    m.metadata(&protocol)
                } else {
                    Bytes::new()
                },
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                },
            })
            .collect();
        GroupSummary {
            group_id: group.id.clone(),
            state: group.state.name(),
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol: if stable { protocol } else { String::new() },
            members,
        }
    }

    /// DescribeGroups of one group this broker coordinates (Dead if unknown). A group known
    /// only by its offsets is Empty with the protocol type it last recorded.
    pub async fn describe(&self, group: &str) -> Result<GroupSummary, GroupError> {
        let in_memory = self
            .existing(group)
            .map(|slot| Self::summary_of(&slot.lock().group));
        if let Some(summary) = &in_memory {
            if !summary.protocol_type.is_empty() || summary.state != GroupState::Empty.name() {
                return Ok(summary.clone());
            }
        }
        let recorded = offsets::read_protocol_type(&self.zk(), group)
            .await
            .map_err(|e| {
                warn!(group, error = %e, "reading group from ZooKeeper failed");
                GroupError::CoordinatorNotAvailable
            })?;
        Ok(match (in_memory, recorded) {
            (Some(summary), recorded) => GroupSummary {
                protocol_type: recorded.unwrap_or_default(),
                ..summary
            },
            (None, Some(protocol_type)) => empty_summary(group, protocol_type),
            (None, None) => GroupSummary {
                state: GroupState::Dead.name(),
                ..empty_summary(group, String::new())
            },
        })
    }

    /// ListGroups: every group this broker coordinates, in memory or with offsets only, each
    /// with its real protocol type (an empty one makes clients call it a simple group).
    pub async fn list(&self, live: &[i32]) -> Result<Vec<GroupSummary>, GroupError> {
        let zk = self.zk();
        let unavailable = |e: coordinator::ZkError| {
            warn!(error = %e, "listing groups in ZooKeeper failed");
            GroupError::CoordinatorNotAvailable
        };
        let stored: Vec<String> = offsets::list_groups(&zk)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|g| self.check_owner(g, live).is_ok())
            .collect();
        let recorded =
            futures::future::join_all(stored.iter().map(|g| offsets::read_protocol_type(&zk, g)))
                .await;
        let mut out: HashMap<String, GroupSummary> = HashMap::new();
        for (g, protocol_type) in stored.into_iter().zip(recorded) {
            // Gone since it was listed: not a group any more.
            if let Some(protocol_type) = protocol_type.map_err(unavailable)? {
                out.insert(g.clone(), empty_summary(&g, protocol_type));
            }
        }
        let slots: Vec<Arc<Slot>> = self.table().values().cloned().collect();
        for slot in slots {
            let e = slot.lock();
            if e.group.state != GroupState::Dead && self.check_owner(&e.group.id, live).is_ok() {
                let mut summary = Self::summary_of(&e.group);
                if summary.protocol_type.is_empty() {
                    if let Some(stored) = out.get(&e.group.id) {
                        summary.protocol_type = stored.protocol_type.clone();
                    }
                }
                out.insert(e.group.id.clone(), summary);
            }
        }
        let mut list: Vec<GroupSummary> = out.into_values().collect();
        list.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(list)
    }

    /// DeleteGroups of one group: only an empty group; removes its offsets from ZooKeeper.
    pub async fn delete(&self, group: &str) -> Result<(), GroupError> {
        let in_memory = self.existing(group);
        if let Some(slot) = &in_memory {
            let e = slot.lock();
            if !e.group.members.is_empty() {
                return Err(GroupError::NonEmptyGroup);
            }
        }
        let deleted = offsets::delete_group(&self.zk(), group)
            .await
            .map_err(|e| {
                warn!(group, error = %e, "deleting group in ZooKeeper failed");
                GroupError::CoordinatorNotAvailable
            })?;
        let had_state = in_memory.is_some();
        self.drop_group(group, GroupError::GroupIdNotFound);
        if deleted || had_state {
            info!(group, "group deleted");
            Ok(())
        } else {
            Err(GroupError::GroupIdNotFound)
        }
    }

    /// OffsetDelete: removes the group's committed offsets of `partitions`, except those of
    /// topics its active members consume (GROUP_SUBSCRIBED_TO_TOPIC); one result per partition,
    /// in order. A group known only by its offsets in ZooKeeper is Empty.
    pub async fn delete_offsets(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let unavailable = |e: coordinator::ZkError| {
            warn!(group, error = %e, "deleting offsets in ZooKeeper failed");
            GroupError::CoordinatorNotAvailable
        };
        let kept = match self.existing(group) {
            Some(slot) => slot.lock().group.offsets_kept_by_members()?,
            None => match offsets::read_protocol_type(&self.zk(), group).await {
                Ok(Some(_)) => Subscriptions::Topics(Default::default()),
                Ok(None) => return Err(GroupError::GroupIdNotFound),
                Err(e) => return Err(unavailable(e)),
            },
        };
        let deletable: Vec<(String, i32)> = partitions
            .iter()
            .filter(|(topic, _)| !kept.includes(topic))
            .cloned()
            .collect();
        if !deletable.is_empty() {
            let removed = offsets::delete_partition_offsets(&self.zk(), group, &deletable)
                .await
                .map_err(unavailable)?;
            info!(group, partitions = ?deletable, removed, "offsets deleted");
        }
        Ok(partitions
            .iter()
            .map(|(topic, _)| match kept.includes(topic) {
                true => Err(GroupError::GroupSubscribedToTopic),
                false => Ok(()),
            })
            .collect())
    }

    /// Marks a group Dead, answers its parked requests with `why` and forgets it.
    fn drop_group(&self, group: &str, why: GroupError) {
        let slot = self.table().remove(group);
        if let Some(slot) = slot {
            let mut e = slot.lock();
            let mut out = Vec::new();
            e.group.unload(why, self.now(), &mut out);
            e.deliver(out);
            slot.wake.notify_one();
        }
    }

    /// Unloads the groups another broker now coordinates (their members get NOT_COORDINATOR
    /// and go find the new one).
    pub fn unload_moved(&self, live: &[i32]) {
        let names: Vec<String> = self.table().keys().cloned().collect();
        for g in names {
            if matches!(self.check_owner(&g, live), Err(GroupError::NotCoordinator)) {
                info!(group = %g, "group moved to another coordinator; unloading");
                self.drop_group(&g, GroupError::NotCoordinator);
            }
        }
    }

    /// Deletes the offsets of owned groups without members whose retention has passed.
    pub async fn expire_offsets(&self, live: &[i32]) {
        let groups = match offsets::list_groups(&self.zk()).await {
            Ok(g) => g,
            Err(e) => {
                warn!(error = %e, "offset expiry: listing groups failed");
                return;
            }
        };
        for g in groups {
            if self.check_owner(&g, live).is_err() {
                continue;
            }
            let (has_members, empty_since) = match self.existing(&g) {
                Some(slot) => {
                    let e = slot.lock();
                    (!e.group.members.is_empty(), e.empty_since_wall)
                }
                None => (false, None),
            };
            if has_members {
                continue;
            }
            let last_commit = match offsets::fetch_all_offsets(&self.zk(), &g).await {
                Ok(all) => all.values().map(|c| c.commit_timestamp).max(),
                Err(e) => {
                    warn!(group = %g, error = %e, "offset expiry: reading offsets failed");
                    continue;
                }
            };
            if super::offsets_expired(wall_ms(), self.retention_ms, last_commit, empty_since) {
                info!(group = %g, "offsets expired (offsets.retention.minutes); removing group");
                if let Err(e) = offsets::delete_group(&self.zk(), &g).await {
                    warn!(group = %g, error = %e, "offset expiry: delete failed");
                }
                self.drop_group(&g, GroupError::CoordinatorNotAvailable);
            }
        }
    }

    /// Stops every group: parked requests are answered NOT_COORDINATOR so connections can
    /// finish, timers end.
    pub fn shutdown(&self) {
        self.stop.cancel();
        let names: Vec<String> = self.table().keys().cloned().collect();
        for g in names {
            self.drop_group(&g, GroupError::NotCoordinator);
        }
    }
}

/// A group's timer: sleeps until the next deadline (or a wake-up) and ticks the group.
async fn run_timer(slot: Arc<Slot>, epoch: Instant, stop: CancellationToken) {
    loop {
        let deadline = {
            let e = slot.lock();
            if e.group.state == GroupState::Dead {
                return;
            }
            e.group.next_deadline()
        };
        let sleep_until = deadline.map(|ms| epoch + std::time::Duration::from_millis(ms));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = slot.wake.notified() => continue,
            _ = async {
                match sleep_until {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        let now = epoch.elapsed().as_millis() as u64;
        let mut e = slot.lock();
        let mut out = Vec::new();
        e.group.tick(now, &mut out);
        e.deliver(out);
    }
}
