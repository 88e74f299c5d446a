//! Deleting a topic that consumer groups subscribe to, on a 3-broker cluster with librdkafka
//! members that consume and commit while it happens: the group rebalances away from the
//! deleted topic with the cooperative and the eager protocol and with a regex subscription;
//! every broker answers Metadata for it with UNKNOWN_TOPIC_OR_PARTITION; and its committed
//! offsets are gone with it (as Kafka drops them), so a topic created again under the same name
//! starts from `auto.offset.reset`, not from the old topic's positions.

use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use tests::multi::MultiCluster;
use tests::python;
use tests::wire::WireClient;
use tests::OrPanic;

const PARTITIONS: i32 = 4;
const TIMEOUT: Duration = Duration::from_secs(90);
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

struct Scenario {
    name: &'static str,
    strategy: &'static str,
    regex: bool,
}

fn metadata(addr: &str, topic: Option<&str>) -> MetadataResponse {
    let topics = topic.map(|t| {
        vec![MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))]
    });
    let req = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(false);
    WireClient::connect(addr)
        .and_then(|mut c| c.request(9, &req))
        .or_panic("Metadata")
}

fn event<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines.iter().find(|l| l["event"] == name).or_panic(name)
}

#[test]
fn groups_rebalance_away_from_a_deleted_topic_and_forget_its_offsets() {
    let mut c = MultiCluster::start(
        "deleted-sub",
        3,
        &[
            ("num.partitions", "4"),
            ("default.replication.factor", "3"),
            ("group.initial.rebalance.delay.ms", "300"),
        ],
    )
    .or_panic("cluster");
    let scenarios = [
        Scenario {
            name: "coop",
            strategy: "cooperative-sticky",
            regex: false,
        },
        Scenario {
            name: "eager",
            strategy: "range",
            regex: false,
        },
        Scenario {
            name: "regex",
            strategy: "cooperative-sticky",
            regex: true,
        },
    ];
    for s in &scenarios {
        let keep = format!("{}-keep", s.name);
        let gone = format!("{}-gone", s.name);
        let group = format!("{}-group", s.name);
        for t in [&keep, &gone] {
            c.create_topic(t, PARTITIONS, 3, &[]).or_panic("create");
        }
        let bootstrap = c.bootstrap();
        let topics = format!("{keep},{gone}");
        let pattern = format!("^{}-.*", s.name);
        let subscription = if s.regex {
            ["--pattern", pattern.as_str()]
        } else {
            ["--topics", topics.as_str()]
        };
        let partitions = PARTITIONS.to_string();
        let mut args = vec![
            "--bootstrap",
            &bootstrap,
            "--group",
            &group,
            "--strategy",
            s.strategy,
            "--keep",
            &keep,
            "--delete",
            &gone,
            "--partitions",
            &partitions,
        ];
        args.extend(subscription);
        let mut script = python::spawn("ck_subscription_change.py", &args).or_panic(s.name);
        let lines = script.remaining_json(TIMEOUT).or_panic(s.name);
        let status = script.wait(TIMEOUT).or_panic(s.name);
        assert!(
            status.success(),
            "{}: {status}\n{}",
            s.name,
            script.stderr()
        );
        let rebalanced = event(&lines, "rebalanced");
        eprintln!("{}: {rebalanced}", s.name);
        assert_eq!(
            rebalanced["revoked"][&gone], PARTITIONS,
            "{}: each partition of {gone} revoked once: {rebalanced}",
            s.name
        );
        assert_eq!(rebalanced["keep"], PARTITIONS, "{}: {rebalanced}", s.name);

        // Every broker: the deleted topic is unknown, by name and in the full listing.
        for b in &mut c.brokers {
            let addr = b.bootstrap();
            let by_name = metadata(&addr, Some(&gone));
            assert_eq!(
                by_name.topics[0].error_code,
                UNKNOWN_TOPIC_OR_PARTITION,
                "broker {}: {by_name:?}",
                b.id()
            );
            let all = metadata(&addr, None);
            assert!(
                all.topics
                    .iter()
                    .all(|t| t.name.as_ref().is_none_or(|n| n.0.as_str() != gone)),
                "broker {} still lists {gone}",
                b.id()
            );
        }
        // Its committed offsets went with it; the kept topic's stay.
        let offsets = format!("/consumers/{group}/offsets");
        c.wait_for(TIMEOUT, &format!("{gone}'s offsets removed"), |c| {
            Ok(!c.zk_ls(&offsets)?.contains(&gone))
        })
        .or_panic("offsets of the deleted topic");
        assert!(c.zk_ls(&offsets).or_panic("ls").contains(&keep));
    }
}
