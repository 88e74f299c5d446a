//! ApiVersions: the versions we serve. What we advertise decides what clients send, so each
//! maximum is a version whose request and response we handle completely (Fetch stops at 12:
//! v13+ names topics by id only; Metadata 12 is the newest kafka-protocol 0.15 knows).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};
use kafka_protocol::ResponseError;

use crate::api::{encode_response, Outcome};

/// (API, min version, max version) served by this broker.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 10),
    (ApiKey::Fetch, 0, 12),
    (ApiKey::ListOffsets, 0, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::LeaderAndIsr, 0, 7),
    (ApiKey::UpdateMetadata, 0, 8),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::StopReplica, 0, 3),
    // v0 has a non-standard request header (no client id): not served.
    (ApiKey::ControlledShutdown, 1, 3),
    (ApiKey::CreateTopics, 0, 7),
    (ApiKey::DeleteTopics, 0, 6),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeLogDirs, 0, 4),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 0, 8),
    (ApiKey::OffsetFetch, 0, 8),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    // Advertised with or without an authorizer, as Kafka does (without: SECURITY_DISABLED).
    (ApiKey::CreateAcls, 0, 3),
    (ApiKey::DescribeAcls, 0, 3),
    (ApiKey::DeleteAcls, 0, 3),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::ElectLeaders, 0, 2),
];

pub fn is_supported(key: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|&(k, min, max)| k == key && (min..=max).contains(&version))
}

fn api_list() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|&(k, min, max)| {
            ApiVersion::default()
                .with_api_key(k as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect()
}

pub fn handle() -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(api_list())
}

/// The v0 answer Kafka gives a client asking with a version it does not know.
pub fn unsupported_version_response(correlation_id: i32) -> Outcome {
    let resp = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_list());
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_within_codec_range() {
        for &(k, min, max) in SUPPORTED {
            let range = k.valid_versions();
            assert!(min >= range.min && max <= range.max, "{k:?}");
        }
        assert!(is_supported(ApiKey::Fetch, 2));
        assert!(!is_supported(ApiKey::Fetch, 13));
    }
}
