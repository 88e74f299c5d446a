//! Kafka's command-line tools (the `kafka-tools` binary) against a real cluster: names,
//! flags, output formats and exit codes as Kafka's own tools have them.

use std::time::Duration;

use tests::multi::MultiCluster;
use tests::tools;

#[test]
fn tools_answer_to_their_names_and_fail_with_exit_1() {
    let mut cluster = MultiCluster::start("kafka_tools", 3, &[]).expect("cluster");
    let bootstrap = cluster.bootstrap();
    cluster
        .wait_for(Duration::from_secs(30), "a controller", |c| {
            Ok(c.controller().is_ok())
        })
        .expect("controller");

    // Both spellings, through links named after the tool.
    for tool in ["kafka-cluster", "kafka-cluster.sh"] {
        let out = tools::run_ok(tool, &["cluster-id", "--bootstrap-server", &bootstrap])
            .expect("cluster-id");
        let id = out
            .strip_prefix("Cluster ID: ")
            .map(str::trim)
            .unwrap_or_else(|| panic!("unexpected output {out:?}"));
        let znode = cluster.zk_get_json("/cluster/id").expect("/cluster/id");
        assert_eq!(Some(id), znode["id"].as_str(), "the id ZooKeeper holds");
    }

    // Nobody listening: one line on stderr, exit 1.
    let err = tools::run_err(
        "kafka-cluster",
        &["cluster-id", "--bootstrap-server", "127.0.0.1:1"],
    )
    .expect("refused connection");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    assert!(err.starts_with("Error: "), "{err}");
}
