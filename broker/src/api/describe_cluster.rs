//! DescribeCluster (API 60): brokers on the caller's listener, the controller and the cluster
//! id, from the metadata cache (what `AdminClient.describe_cluster` shows).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use crate::context::RequestContext;

pub fn handle(ctx: RequestContext<'_>, _req: DescribeClusterRequest) -> DescribeClusterResponse {
    let cache = &ctx.broker.metadata;
    let brokers = cache
        .brokers()
        .into_iter()
        .filter_map(|b| {
            let e = b.endpoint(ctx.listener)?;
            Some(
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(b.id))
                    .with_host(StrBytes::from_string(e.host.clone()))
                    .with_port(e.port)
                    .with_rack(b.rack.clone().map(StrBytes::from_string)),
            )
        })
        .collect();
    DescribeClusterResponse::default()
        .with_error_message(None)
        .with_cluster_id(StrBytes::from_string(ctx.broker.cluster_id.clone()))
        .with_controller_id(BrokerId(cache.controller_id()))
        .with_brokers(brokers)
}
