//! Record batches built with kafka-protocol's encoder, for tests that send exact bytes.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// Who writes the batch: an idempotent producer (id, epoch, first sequence) or a plain one.
#[derive(Debug, Clone, Copy)]
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    pub first_sequence: i32,
}

impl Producer {
    /// A producer without idempotence (ids and sequences -1).
    pub const PLAIN: Producer = Producer {
        id: -1,
        epoch: -1,
        first_sequence: -1,
    };
}

/// One uncompressed v2 batch with one record per `(key, value)`.
pub fn v2(producer: Producer, records: &[(Option<Bytes>, Option<Bytes>)]) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: producer.id,
            producer_epoch: producer.epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol's encoder starts a new batch wherever sequences do not follow on,
            // so even a plain producer's records count up from -1.
            sequence: producer.first_sequence + i as i32,
            timestamp: 1_700_000_000_000 + i as i64,
            key: key.clone(),
            value: value.clone(),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    // Encoding in-memory records into a growable buffer cannot fail for valid inputs.
    if let Err(e) = RecordBatchEncoder::encode(&mut buf, records.iter(), &options) {
        panic!("encoding a test batch: {e}");
    }
    buf.freeze()
}

/// A plain batch holding one `size`-byte value.
pub fn one_value(size: usize) -> Bytes {
    v2(
        Producer::PLAIN,
        &[(None, Some(Bytes::from(vec![b'x'; size])))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_length_covers_the_buffer() {
        for producer in [
            Producer::PLAIN,
            Producer {
                id: 7,
                epoch: 0,
                first_sequence: 0,
            },
        ] {
            let two = [
                (
                    Some(Bytes::from_static(b"k0")),
                    Some(Bytes::from_static(b"v0")),
                ),
                (
                    Some(Bytes::from_static(b"k1")),
                    Some(Bytes::from_static(b"v1")),
                ),
            ];
            let b = v2(producer, &two);
            let length = i32::from_be_bytes([b[8], b[9], b[10], b[11]]) as usize;
            assert_eq!(length + 12, b.len(), "{producer:?}");
        }
    }
}
