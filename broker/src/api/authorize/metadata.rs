//! Metadata (Kafka's `handleTopicMetadataRequest`): topics the caller may not DESCRIBE are
//! left out of an all-topics answer and answered TOPIC_AUTHORIZATION_FAILED when named (so
//! their existence is not disclosed); a named topic that does not exist is only auto-created
//! when the caller may CREATE on the cluster or on the topic, else it too is refused. Topic and
//! cluster authorized operations are filled in when the request asks for them.

use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse};

use super::{split_by, Authz, Merge, Split, TOPIC_DENIED};
use crate::auth::acl::{AclOperation, ResourceType, CLUSTER_RESOURCE_NAME};

/// `exists` says whether a topic is in the metadata cache. `version` is the request's.
pub fn metadata<'a>(
    az: &Authz<'a>,
    mut req: MetadataRequest,
    version: i16,
    exists: &dyn Fn(&str) -> bool,
) -> Split<'a, MetadataRequest, MetadataResponse> {
    let all_topics = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let mut refused = Vec::new();
    let mut nothing_left = false;
    if !all_topics {
        let named = req.topics.take().unwrap_or_default();
        let (described, denied) = split_by(named, |t| {
            t.name
                .as_ref()
                .is_none_or(|n| az.topic(AclOperation::Describe, &n.0))
        });
        let may_create_any = az.allowed_quietly(
            AclOperation::Create,
            ResourceType::Cluster,
            CLUSTER_RESOURCE_NAME,
        );
        let (allowed, not_creatable) = split_by(described, |t| {
            t.name.as_ref().is_none_or(|n| {
                exists(&n.0) || may_create_any || az.topic(AclOperation::Create, &n.0)
            })
        });
        refused.extend(
            denied
                .into_iter()
                .chain(not_creatable)
                .filter_map(|t| t.name),
        );
        // An empty list asks v0 for every topic: the merge empties that answer instead.
        nothing_left = allowed.is_empty();
        req.topics = Some(allowed);
    }
    let include_topic_ops = version >= 8 && req.include_topic_authorized_operations;
    let include_cluster_ops =
        (8..=10).contains(&version) && req.include_cluster_authorized_operations;
    let az = az.clone();
    Split::Handle(
        req,
        Merge::with(move |r: &mut MetadataResponse| {
            if nothing_left {
                r.topics.clear();
            } else if all_topics {
                r.topics.retain(|t| {
                    t.name.as_ref().is_some_and(|n| {
                        az.allowed_quietly(AclOperation::Describe, ResourceType::Topic, &n.0)
                    })
                });
            }
            if include_topic_ops {
                for t in &mut r.topics {
                    if let Some(n) = &t.name {
                        t.topic_authorized_operations =
                            az.authorized_operations(ResourceType::Topic, &n.0);
                    }
                }
            }
            if include_cluster_ops {
                r.cluster_authorized_operations =
                    az.authorized_operations(ResourceType::Cluster, CLUSTER_RESOURCE_NAME);
            }
            let denied = refused.into_iter().map(|name| {
                MetadataResponseTopic::default()
                    .with_name(Some(name))
                    .with_error_code(TOPIC_DENIED)
            });
            r.topics.splice(0..0, denied);
        }),
    )
}
