//! `kafka-broker-api-versions`: every broker's ApiVersions, as Kafka's
//! BrokerApiVersionsCommand prints them: `host:port (id: 1 rack: null) -> (` then one
//! `\tProduce(0): 0 to 10 [usable: 10],` line per API, then `)`.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::Parser;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::protocol::StrBytes;

use super::common::{parse, ConnectArgs};
use crate::client::{Node, Target};
use crate::error::Result;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-broker-api-versions",
    about = "This tool helps to retrieve broker version information."
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
}

/// APIs a ZooKeeper-mode broker is expected to serve (Kafka's `ApiKeys.zkBrokerApis`): the
/// ones missing are printed as UNSUPPORTED. The KRaft-only APIs are left out.
fn zk_broker_api(key: i16) -> bool {
    key <= 50 || matches!(key, 56..=58 | 60 | 61 | 65..=68)
}

/// One API's text: `Name(key): min to max [usable: v]`.
fn api_text(key: i16, min: i16, max: i16) -> String {
    let Ok(api) = ApiKey::try_from(key) else {
        let range = range(min, max);
        return format!("UNKNOWN({key}): {range}");
    };
    let ours = api.valid_versions();
    let usable = if ours.max < min {
        " [unusable: node too new]".to_owned()
    } else if max < ours.min {
        " [unusable: node too old]".to_owned()
    } else {
        format!(" [usable: {}]", ours.max.min(max))
    };
    format!("{api:?}({key}): {}{usable}", range(min, max))
}

fn range(min: i16, max: i16) -> String {
    if min == max {
        min.to_string()
    } else {
        format!("{min} to {max}")
    }
}

/// The whole `(...)` text of one broker.
fn versions_text(served: &BTreeMap<i16, (i16, i16)>) -> String {
    let mut lines: BTreeMap<i16, String> = served
        .iter()
        .map(|(k, (min, max))| (*k, api_text(*k, *min, *max)))
        .collect();
    for api in ApiKey::iter() {
        let key = api as i16;
        if zk_broker_api(key) && !lines.contains_key(&key) {
            lines.insert(key, format!("{api:?}({key}): UNSUPPORTED"));
        }
    }
    let body: Vec<String> = lines.into_values().collect();
    format!("(\n\t{}\n)", body.join(",\n\t"))
}

fn node_text(n: &Node) -> String {
    format!(
        "{}:{} (id: {} rack: {})",
        n.host,
        n.port,
        n.id,
        n.rack.as_deref().unwrap_or("null")
    )
}

pub async fn run(args: Vec<OsString>) -> Result<()> {
    let cli = parse::<Cli>(args);
    let mut admin = cli.connect.admin().await?;
    let nodes: Vec<Node> = admin.nodes().values().cloned().collect();
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("kafka-tools"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    for node in nodes {
        match admin.send_at(Target::Node(node.id), &request, 3).await {
            Ok(r) if r.error_code == 0 => {
                let served = r
                    .api_keys
                    .iter()
                    .map(|k| (k.api_key, (k.min_version, k.max_version)))
                    .collect();
                println!("{} -> {}", node_text(&node), versions_text(&served));
            }
            Ok(r) => println!(
                "{} -> ERROR: ApiVersions failed with error code {}",
                node_text(&node),
                r.error_code
            ),
            Err(e) => println!("{} -> ERROR: {e}", node_text(&node)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_kafka_prints_them() {
        assert_eq!(api_text(0, 0, 10), "Produce(0): 0 to 10 [usable: 10]");
        assert_eq!(api_text(47, 0, 0), "OffsetDelete(47): 0 [usable: 0]");
        let served = BTreeMap::from([(0, (0, 10)), (18, (0, 3))]);
        let text = versions_text(&served);
        assert!(
            text.starts_with("(\n\tProduce(0): 0 to 10 [usable: 10],\n\tFetch(1): UNSUPPORTED,")
        );
        assert!(text.ends_with("\n)"));
    }
}
