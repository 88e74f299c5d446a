//! The consumer protocol's embedded bytes (a group of protocol type `consumer`): a member's
//! subscription (JoinGroup metadata) and its assignment (SyncGroup / DescribeGroups). Each is a
//! 2-byte version followed by kafka-protocol's ConsumerProtocolSubscription /
//! ConsumerProtocolAssignment at that version (a newer version is read as the newest we know,
//! as Kafka's ConsumerProtocol does: later versions only add fields at the end).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedPartitions;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

use crate::client::topics::TopicPartition;

/// The version we write: v0 is read by every client (and says all we use).
const WRITE_VERSION: i16 = 0;

/// A subscription to `topics`.
pub fn encode_subscription(topics: &[String]) -> Option<Bytes> {
    let subscription = ConsumerProtocolSubscription::default().with_topics(
        topics
            .iter()
            .map(|t| StrBytes::from_string(t.clone()))
            .collect(),
    );
    let mut buf = BytesMut::new();
    buf.put_i16(WRITE_VERSION);
    subscription.encode(&mut buf, WRITE_VERSION).ok()?;
    Some(buf.freeze())
}

/// The topics of a member's subscription (`None`: unreadable).
pub fn decode_subscription(bytes: &[u8]) -> Option<Vec<String>> {
    let mut buf = Bytes::copy_from_slice(bytes);
    let version = read_version(&mut buf, ConsumerProtocolSubscription::VERSIONS.max)?;
    let subscription = ConsumerProtocolSubscription::decode(&mut buf, version).ok()?;
    Some(subscription.topics.iter().map(|t| t.to_string()).collect())
}

/// An assignment of `partitions`.
pub fn encode_assignment(partitions: &[TopicPartition]) -> Option<Bytes> {
    let topics = crate::client::topics::grouped(partitions)
        .into_iter()
        .map(|(topic, parts)| {
            AssignedPartitions::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partitions(parts)
        })
        .collect();
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(topics);
    let mut buf = BytesMut::new();
    buf.put_i16(WRITE_VERSION);
    assignment.encode(&mut buf, WRITE_VERSION).ok()?;
    Some(buf.freeze())
}

/// The partitions of an assignment; empty bytes (a member not yet assigned) are no partitions,
/// unreadable bytes `None`.
pub fn decode_assignment(bytes: &[u8]) -> Option<Vec<TopicPartition>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let mut buf = Bytes::copy_from_slice(bytes);
    let version = read_version(&mut buf, ConsumerProtocolAssignment::VERSIONS.max)?;
    let assignment = ConsumerProtocolAssignment::decode(&mut buf, version).ok()?;
    Some(
        assignment
            .assigned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.to_string(), *p)))
            .collect(),
    )
}

fn read_version(buf: &mut Bytes, newest: i16) -> Option<i16> {
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16();
    (version >= 0).then_some(version.min(newest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_round_trips() {
        let parts = vec![
            ("a".to_owned(), 0),
            ("a".to_owned(), 2),
            ("b".to_owned(), 1),
        ];
        let bytes = encode_assignment(&parts).unwrap_or_default();
        assert_eq!(decode_assignment(&bytes), Some(parts));
        assert_eq!(decode_assignment(&[]), Some(vec![]));
        assert_eq!(decode_assignment(&[0]), None);
    }

    #[test]
    fn subscription_round_trips() {
        let topics = vec!["t1".to_owned(), "t2".to_owned()];
        let bytes = encode_subscription(&topics).unwrap_or_default();
        assert_eq!(decode_subscription(&bytes), Some(topics));
    }

    #[test]
    fn a_newer_version_reads_as_the_newest_known() {
        // v3 adds owned partitions, generation and rack; a v9 writer would add more after them.
        let sub = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("t")])
            .with_generation_id(4);
        let mut buf = BytesMut::new();
        buf.put_i16(9);
        sub.encode(&mut buf, 3).unwrap_or_default();
        buf.put_slice(b"future");
        assert_eq!(decode_subscription(&buf), Some(vec!["t".to_owned()]));
    }
}
