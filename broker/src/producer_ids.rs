//! Producer ids for idempotent producers, handed out from blocks of 1000 reserved in
//! ZooKeeper at `/latest_producer_id_block`, as Kafka's ZooKeeper mode does.

use tokio::sync::Mutex;

/// Hands out producer ids; fetches a new block from ZooKeeper when the current one is used up.
#[derive(Debug)]
pub struct ProducerIdAllocator {
    broker_id: i32,
    /// (next id, last id of the block inclusive); empty when next > last.
    block: Mutex<(i64, i64)>,
}

impl ProducerIdAllocator {
    pub fn new(broker_id: i32) -> Self {
        ProducerIdAllocator {
            broker_id,
            block: Mutex::new((0, -1)),
        }
    }

    /// The next unused producer id.
    pub async fn next_id(&self, zk: &coordinator::Zk) -> Result<i64, coordinator::ZkError> {
        let mut block = self.block.lock().await;
        if block.0 > block.1 {
            let (start, end) =
                coordinator::producer_ids::allocate_producer_id_block(zk, self.broker_id).await?;
            *block = (start, end);
        }
        let id = block.0;
        block.0 += 1;
        Ok(id)
    }
}
