//! The group coordinator's errors, and their Kafka codes (the API edge is the only caller of
//! [`GroupError::code`]).

use kafka_protocol::ResponseError;

/// Why a group request failed. Each variant is one Kafka error the classic protocol defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// Another broker coordinates this group; the client should ask FindCoordinator again.
    #[error("this broker is not the group's coordinator")]
    NotCoordinator,
    /// No coordinator can serve the group right now (no live brokers known, group unloading).
    #[error("the coordinator is not available")]
    CoordinatorNotAvailable,
    /// The group id cannot name a group.
    #[error("invalid group id")]
    InvalidGroupId,
    /// The member id is not (or no longer) in the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// The member's generation is not the group's current one.
    #[error("illegal generation")]
    IllegalGeneration,
    /// A rebalance is under way; the member must rejoin.
    #[error("rebalance in progress")]
    RebalanceInProgress,
    /// JoinGroup v4+: the member must rejoin with the member id given in the response.
    #[error("member id required")]
    MemberIdRequired,
    /// The member's protocol type or protocols do not match the group's.
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    /// The session timeout is outside `group.{min,max}.session.timeout.ms`.
    #[error("invalid session timeout")]
    InvalidSessionTimeout,
    /// A newer member with the same `group.instance.id` replaced this one.
    #[error("fenced instance id")]
    FencedInstanceId,
    /// The group does not exist.
    #[error("group id not found")]
    GroupIdNotFound,
    /// The group still has members.
    #[error("the group is not empty")]
    NonEmptyGroup,
    /// The topic or partition of a commit does not exist.
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// Commit metadata longer than `offset.metadata.max.bytes`.
    #[error("offset metadata too large")]
    OffsetMetadataTooLarge,
    /// OffsetDelete of a topic the group's active members consume.
    #[error("the group is subscribed to the topic")]
    GroupSubscribedToTopic,
}

impl GroupError {
    /// The Kafka error code.
    pub fn code(self) -> i16 {
        let e = match self {
            GroupError::NotCoordinator => ResponseError::NotCoordinator,
            GroupError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
            GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
            GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
            GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
            GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
            GroupError::MemberIdRequired => ResponseError::MemberIdRequired,
            GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
            GroupError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
            GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
            GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound,
            GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
            GroupError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
            GroupError::OffsetMetadataTooLarge => ResponseError::OffsetMetadataTooLarge,
            GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
        };
        e.code()
    }
}

/// The code of an optional error (0 = none).
pub fn code_of(e: Option<GroupError>) -> i16 {
    e.map_or(0, GroupError::code)
}

/// The code of a result (0 = success).
pub fn result_code<T>(r: &Result<T, GroupError>) -> i16 {
    match r {
        Ok(_) => 0,
        Err(e) => e.code(),
    }
}
