//! Typed errors → Kafka error codes. The only place where that mapping lives.

use coordinator::controller::replica_election::{ElectionOutcome, ElectionType};
use kafka_protocol::ResponseError;

use crate::log::LogError;
use crate::records::RecordError;
use crate::replica::producer_state::ProducerError;
use crate::replica::PartitionError;

pub fn record_error_code(e: &RecordError) -> i16 {
    match e {
        RecordError::Corrupt(_) => ResponseError::CorruptMessage.code(),
        RecordError::Invalid(_) | RecordError::KeysRequired(_) => {
            ResponseError::InvalidRecord.code()
        }
        RecordError::TooLarge { .. } => ResponseError::MessageTooLarge.code(),
        RecordError::UnsupportedCompression(_) => ResponseError::UnsupportedCompressionType.code(),
    }
}

pub fn log_error_code(e: &LogError) -> i16 {
    match e {
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange.code(),
        LogError::Io { .. } | LogError::Corrupt(_) | LogError::DirOffline(_) => {
            ResponseError::KafkaStorageError.code()
        }
        // Never a request's answer (only background jobs abort); retriable if it were.
        LogError::Aborted => ResponseError::UnknownServerError.code(),
    }
}

pub fn producer_error_code(e: &ProducerError) -> i16 {
    match e {
        ProducerError::InvalidEpoch { .. } => ResponseError::InvalidProducerEpoch.code(),
        ProducerError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber.code(),
        ProducerError::UnknownProducerId { .. } => ResponseError::UnknownProducerId.code(),
    }
}

pub fn partition_error_code(e: &PartitionError) -> i16 {
    match e {
        PartitionError::NotLeader => ResponseError::NotLeaderOrFollower.code(),
        PartitionError::Records(r) => record_error_code(r),
        PartitionError::Producer(p) => producer_error_code(p),
        PartitionError::Log(l) => log_error_code(l),
        PartitionError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas.code(),
        PartitionError::DeleteNotAllowed => ResponseError::PolicyViolation.code(),
    }
}

/// ZooKeeper-side admin failures (topic creation, deletion, configs) → Kafka codes.
pub fn zk_error_code(e: &coordinator::ZkError) -> ResponseError {
    use coordinator::ZkError;
    match e {
        ZkError::TopicExists(_) => ResponseError::TopicAlreadyExists,
        ZkError::InvalidReplicationFactor { .. } => ResponseError::InvalidReplicationFactor,
        ZkError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        ZkError::InvalidTopic(_) => ResponseError::InvalidTopicException,
        ZkError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
        ZkError::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition,
        _ => ResponseError::UnknownServerError,
    }
}

/// Controller request failures → Kafka codes.
pub fn controller_error_code(e: &coordinator::ControllerError) -> ResponseError {
    use coordinator::ControllerError;
    match e {
        ControllerError::NotController | ControllerError::Zk(_) => ResponseError::NotController,
        ControllerError::BrokerNotAvailable(_) => ResponseError::BrokerNotAvailable,
        ControllerError::StaleBrokerEpoch { .. } => ResponseError::StaleBrokerEpoch,
        ControllerError::Timeout(_) => ResponseError::RequestTimedOut,
    }
}

/// An admin-requested leader election's outcome → its Kafka code (`None`: elected).
pub fn election_error(election: ElectionType, outcome: &ElectionOutcome) -> Option<ResponseError> {
    match outcome {
        ElectionOutcome::Elected(_) => None,
        ElectionOutcome::NotNeeded => Some(ResponseError::ElectionNotNeeded),
        ElectionOutcome::NoEligibleLeader => Some(match election {
            ElectionType::Preferred => ResponseError::PreferredLeaderNotAvailable,
            ElectionType::Unclean => ResponseError::EligibleLeadersNotAvailable,
        }),
        ElectionOutcome::UnknownPartition => Some(ResponseError::UnknownTopicOrPartition),
        ElectionOutcome::TopicBeingDeleted => Some(ResponseError::InvalidTopicException),
    }
}

/// A partition's refused reassignment → its Kafka code.
pub fn reassignment_error_code(e: &coordinator::ReassignmentError) -> ResponseError {
    use coordinator::ReassignmentError;
    match e {
        ReassignmentError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
        ReassignmentError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
        ReassignmentError::NoReassignmentInProgress => ResponseError::NoReassignmentInProgress,
    }
}
