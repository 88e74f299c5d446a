//! Topic deletion bookkeeping (Kafka's `TopicDeletionManager`), pure: which replicas still have
//! to confirm StopReplica(delete=true) before the topic's znodes may go.
//!
//! A topic whose replicas sit on dead brokers waits (Kafka calls it "ineligible"): those
//! replicas are asked again when their broker returns.

use std::collections::{BTreeMap, BTreeSet};

use super::view::{ClusterView, TopicPartition};

/// Topics being deleted and the (broker, partition) replicas not yet confirmed deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deletions {
    pending: BTreeMap<String, BTreeSet<(i32, i32)>>,
}

impl Deletions {
    /// Starts deleting `topic`: every assigned replica must confirm. Returns the StopReplica
    /// targets on live brokers (broker → partitions); replicas on dead brokers wait.
    pub fn start(&mut self, view: &ClusterView, topic: &str) -> BTreeMap<i32, Vec<TopicPartition>> {
        let replicas: BTreeSet<(i32, i32)> = view
            .topics
            .get(topic)
            .map(|info| {
                info.assignment
                    .iter()
                    .flat_map(|(p, rs)| rs.iter().map(move |b| (*b, *p)))
                    .collect()
            })
            .unwrap_or_default();
        self.pending.insert(topic.to_string(), replicas);
        self.targets(view, |t| t == topic, |_| true)
    }

    /// Whether `topic` is being deleted.
    pub fn contains(&self, topic: &str) -> bool {
        self.pending.contains_key(topic)
    }

    /// Topics whose replicas have all confirmed (including topics with no replicas at all).
    pub fn completed(&self) -> Vec<String> {
        self.pending
            .iter()
            .filter(|(_, r)| r.is_empty())
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Records a StopReplica response from `broker`: partitions answered with error code 0 are
    /// deleted there. Returns the topics now complete.
    pub fn on_response(&mut self, broker: i32, results: &[(TopicPartition, i16)]) -> Vec<String> {
        for ((topic, p), code) in results {
            if *code == 0 {
                if let Some(r) = self.pending.get_mut(topic) {
                    r.remove(&(broker, *p));
                }
            }
        }
        self.completed()
    }

    /// Forgets a topic whose znodes are gone.
    pub fn finish(&mut self, topic: &str) {
        self.pending.remove(topic);
    }

    /// Pending replicas on `broker` (to ask again when it returns).
    pub fn pending_on(&self, view: &ClusterView, broker: i32) -> Vec<TopicPartition> {
        self.targets(view, |_| true, |b| b == broker)
            .remove(&broker)
            .unwrap_or_default()
    }

    fn targets(
        &self,
        view: &ClusterView,
        topic_filter: impl Fn(&str) -> bool,
        broker_filter: impl Fn(i32) -> bool,
    ) -> BTreeMap<i32, Vec<TopicPartition>> {
        let mut out: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
        for (topic, replicas) in &self.pending {
            if !topic_filter(topic) {
                continue;
            }
            for (b, p) in replicas {
                if view.is_live(*b) && broker_filter(*b) {
                    out.entry(*b).or_default().push((topic.clone(), *p));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::view::TopicInfo;
    use crate::registration::LiveBroker;
    use crate::znode::BrokerInfo;

    fn view(live: &[i32]) -> ClusterView {
        let mut v = ClusterView::default();
        for &id in live {
            let info = BrokerInfo {
                id,
                endpoints: vec![],
                rack: None,
                timestamp: 0,
            };
            v.live.insert(id, LiveBroker { info, epoch: 1 });
        }
        let assignment = [(0, vec![1, 2]), (1, vec![2, 3])].into_iter().collect();
        v.topics.insert(
            "t".into(),
            TopicInfo {
                assignment,
                topic_id: uuid::Uuid::nil(),
                ..TopicInfo::default()
            },
        );
        v
    }

    #[test]
    fn completes_when_every_replica_confirmed() {
        let v = view(&[1, 2, 3]);
        let mut d = Deletions::default();
        let targets = d.start(&v, "t");
        assert_eq!(
            targets[&2],
            vec![("t".to_string(), 0), ("t".to_string(), 1)]
        );
        assert!(d.contains("t"));
        assert!(d.on_response(1, &[(("t".into(), 0), 0)]).is_empty());
        // An error leaves the replica pending.
        assert!(d
            .on_response(2, &[(("t".into(), 0), 56), (("t".into(), 1), 0)])
            .is_empty());
        assert!(d.on_response(2, &[(("t".into(), 0), 0)]).is_empty());
        assert_eq!(
            d.on_response(3, &[(("t".into(), 1), 0)]),
            vec!["t".to_string()]
        );
        d.finish("t");
        assert!(!d.contains("t"));
    }

    #[test]
    fn replicas_on_dead_brokers_wait_for_their_return() {
        let mut v = view(&[1, 2]);
        let mut d = Deletions::default();
        let targets = d.start(&v, "t");
        assert!(!targets.contains_key(&3));
        d.on_response(1, &[(("t".into(), 0), 0)]);
        d.on_response(2, &[(("t".into(), 0), 0), (("t".into(), 1), 0)]);
        assert!(d.completed().is_empty());
        v = view(&[1, 2, 3]);
        assert_eq!(d.pending_on(&v, 3), vec![("t".to_string(), 1)]);
    }

    #[test]
    fn unknown_topic_completes_at_once() {
        let mut d = Deletions::default();
        assert!(d.start(&view(&[1]), "nope").is_empty());
        assert_eq!(d.completed(), vec!["nope".to_string()]);
    }
}
