//! The topics a consumer group's members subscribe to, read from their consumer-protocol
//! metadata, and what OffsetDelete may therefore remove (Kafka's `handleDeleteOffsets` with
//! `GroupMetadata.isSubscribedToTopic`). Pure: the coordinator asks, then writes ZooKeeper.

use std::collections::BTreeSet;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

use super::error::GroupError;
use super::state::{Group, GroupState};

/// The protocol type of groups whose members' metadata is a consumer-protocol subscription.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// Which topics' committed offsets a group's members consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriptions {
    /// Exactly these (none for a group without members).
    Topics(BTreeSet<String>),
    /// Not known (no protocol chosen yet, or metadata that is no subscription): every topic
    /// counts as consumed, to be safe, as in Kafka.
    Unknown,
}

impl Subscriptions {
    /// Whether `topic`'s offsets are in use.
    pub fn includes(&self, topic: &str) -> bool {
        match self {
            Subscriptions::Topics(topics) => topics.contains(topic),
            Subscriptions::Unknown => true,
        }
    }
}

/// The topics of one member's subscription. Every version of the consumer protocol's
/// Subscription begins with version 0's fields (after its own version number), so version 0
/// reads them all, as Kafka's coordinator reads them.
pub fn subscribed_topics(metadata: &Bytes) -> Option<BTreeSet<String>> {
    let mut buf = metadata.clone();
    if buf.remaining() < 2 || buf.get_i16() < 0 {
        return None;
    }
    let subscription = ConsumerProtocolSubscription::decode(&mut buf, 0).ok()?;
    Some(subscription.topics.iter().map(|t| t.to_string()).collect())
}

impl Group {
    /// The topics this group's members subscribe to, from their metadata for the group's
    /// protocol. Kafka takes them when a generation starts; here they are read when asked,
    /// from the members there are then.
    pub fn subscriptions(&self) -> Subscriptions {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return Subscriptions::Unknown;
        }
        if self.members.is_empty() {
            return Subscriptions::Topics(BTreeSet::new());
        }
        let Some(protocol) = &self.protocol else {
            return Subscriptions::Unknown;
        };
        let mut all = BTreeSet::new();
        for m in self.members.values() {
            match subscribed_topics(&m.metadata(protocol)) {
                Some(topics) => all.extend(topics),
                None => return Subscriptions::Unknown,
            }
        }
        Subscriptions::Topics(all)
    }

    /// OffsetDelete's rule: the offsets of topics in the returned subscriptions must stay
    /// (GROUP_SUBSCRIBED_TO_TOPIC), the others may go. An Empty group keeps none; a consumer
    /// group that is rebalancing or Stable keeps its members' topics; any other group with
    /// members refuses as a whole (NON_EMPTY_GROUP), a Dead one is not found.
    pub fn offsets_kept_by_members(&self) -> Result<Subscriptions, GroupError> {
        match self.state {
            GroupState::Dead => Err(GroupError::GroupIdNotFound),
            GroupState::Empty => Ok(Subscriptions::Topics(BTreeSet::new())),
            GroupState::PreparingRebalance
            | GroupState::CompletingRebalance
            | GroupState::Stable
                if self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE) =>
            {
                Ok(self.subscriptions())
            }
            _ => Err(GroupError::NonEmptyGroup),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::state::{GroupConfig, Member};
    use kafka_protocol::protocol::{Encodable, StrBytes};

    /// A member's consumer-protocol metadata: version, then the Subscription of that version.
    fn subscription(version: i16, topics: &[&str]) -> Bytes {
        let s = ConsumerProtocolSubscription::default()
            .with_topics(
                topics
                    .iter()
                    .map(|t| StrBytes::from(t.to_string()))
                    .collect(),
            )
            .with_user_data(Some(Bytes::from_static(b"user")))
            .with_generation_id(3);
        let mut buf = bytes::BytesMut::new();
        bytes::BufMut::put_i16(&mut buf, version);
        s.encode(&mut buf, version).expect("encode");
        buf.freeze()
    }

    fn member(id: &str, protocol: &str, metadata: Bytes) -> Member {
        Member {
            id: id.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: CONSUMER_PROTOCOL_TYPE.into(),
            protocols: vec![(protocol.into(), metadata)],
            assignment: Bytes::new(),
            awaiting_join: false,
            awaiting_sync: false,
            is_new: false,
            session_deadline: u64::MAX,
        }
    }

    fn group(state: GroupState, protocol_type: &str, members: Vec<Member>) -> Group {
        let config = GroupConfig {
            initial_rebalance_delay_ms: 0,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 300_000,
        };
        let mut g = Group::new("g", config, 0);
        g.state = state;
        g.protocol_type = Some(protocol_type.into());
        g.protocol = Some("range".into());
        for m in members {
            g.members.insert(m.id.clone(), m);
        }
        g
    }

    fn topics(names: &[&str]) -> Subscriptions {
        Subscriptions::Topics(names.iter().map(|t| t.to_string()).collect())
    }

    #[test]
    fn every_subscription_version_yields_its_topics() {
        for version in 0..=3 {
            let got = subscribed_topics(&subscription(version, &["b", "a"]));
            assert_eq!(
                got,
                Some(["a".to_string(), "b".to_string()].into()),
                "v{version}"
            );
        }
        // A newer version than we know still starts with version 0's fields.
        assert!(subscribed_topics(&subscription(3, &["a"])).is_some_and(|t| t.contains("a")));
        assert_eq!(subscribed_topics(&Bytes::from_static(b"\x00")), None);
        assert_eq!(
            subscribed_topics(&Bytes::from_static(b"\x00\x00\x00\x09ab")),
            None
        );
        assert_eq!(subscribed_topics(&Bytes::from_static(b"\xff\xff")), None);
    }

    #[test]
    fn offset_delete_keeps_the_topics_active_members_consume() {
        let members = vec![
            member("m1", "range", subscription(1, &["orders", "clicks"])),
            member("m2", "range", subscription(3, &["clicks", "views"])),
        ];
        for state in [
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance,
            GroupState::Stable,
        ] {
            let g = group(state, CONSUMER_PROTOCOL_TYPE, members.clone());
            let kept = g.offsets_kept_by_members().expect("consumer group");
            assert_eq!(kept, topics(&["clicks", "orders", "views"]), "{state:?}");
            assert!(kept.includes("orders") && !kept.includes("other"));
        }
        // Empty: nothing is kept, whatever the protocol type.
        let empty = group(GroupState::Empty, "connect", Vec::new());
        assert_eq!(empty.offsets_kept_by_members(), Ok(topics(&[])));
        // Members of another protocol type: the group refuses as a whole.
        let connect = group(GroupState::Stable, "connect", members.clone());
        assert_eq!(
            connect.offsets_kept_by_members(),
            Err(GroupError::NonEmptyGroup)
        );
        let dead = group(GroupState::Dead, CONSUMER_PROTOCOL_TYPE, Vec::new());
        assert_eq!(
            dead.offsets_kept_by_members(),
            Err(GroupError::GroupIdNotFound)
        );
    }

    #[test]
    fn unreadable_or_not_yet_chosen_subscriptions_keep_every_topic() {
        let garbage = vec![
            member("m1", "range", subscription(0, &["orders"])),
            member("m2", "range", Bytes::from_static(b"\x00\x00\x00")),
        ];
        let g = group(GroupState::Stable, CONSUMER_PROTOCOL_TYPE, garbage);
        assert_eq!(g.offsets_kept_by_members(), Ok(Subscriptions::Unknown));
        assert!(Subscriptions::Unknown.includes("anything"));
        // The first rebalance has not chosen a protocol yet.
        let mut first = group(
            GroupState::PreparingRebalance,
            CONSUMER_PROTOCOL_TYPE,
            vec![member("m1", "range", subscription(0, &["orders"]))],
        );
        first.protocol = None;
        assert_eq!(first.offsets_kept_by_members(), Ok(Subscriptions::Unknown));
    }
}
