//! Producer-id blocks from `/latest_producer_id_block` (Kafka's `ZkProducerIdManager`).

use crate::connect::Zk;
use crate::error::ZkError;
use crate::znode::ProducerIdBlockZNode;

/// Ids per block (`ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// Takes the next block of 1000 producer ids for `broker_id`: `(first, last)`, last inclusive.
///
/// Reads the latest block and writes the next one conditionally on the version read; a
/// concurrent allocation (BADVERSION) makes us retry from the fresh value.
pub async fn allocate_producer_id_block(zk: &Zk, broker_id: i32) -> Result<(i64, i64), ZkError> {
    let path = ProducerIdBlockZNode::PATH;
    loop {
        let Some((data, stat)) = zk.get(path).await? else {
            // Normally pre-created at startup; create it empty and read again.
            zk.ensure_path(path).await?;
            continue;
        };
        let block_start = if data.is_empty() {
            0
        } else {
            ProducerIdBlockZNode::decode(&data)?.block_end + 1
        };
        let block_end = block_start
            .checked_add(PRODUCER_ID_BLOCK_SIZE - 1)
            .ok_or_else(|| ZkError::json(path, "producer ids exhausted"))?;
        let block = ProducerIdBlockZNode {
            broker_id,
            block_start,
            block_end,
        };
        match zk.set(path, &block.encode(), Some(stat.version)).await {
            Ok(_) => {
                tracing::info!(
                    broker_id,
                    block_start,
                    block_end,
                    "allocated producer id block"
                );
                return Ok((block_start, block_end));
            }
            Err(e) if e.is_bad_version() => continue,
            Err(e) => return Err(e),
        }
    }
}
