//! The corrupt-batch check: a valid v2 batch, encoded by kafka-protocol, with one payload byte
//! flipped after the CRC was computed, sent in a Produce request over a raw connection. The
//! broker must answer CORRUPT_MESSAGE (error code 2) for that partition and keep serving.

use anyhow::{Context, Result};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tests::wire::WireClient;

/// Kafka's CORRUPT_MESSAGE error code.
const CORRUPT_MESSAGE: i16 = 2;
/// Produce v7: magic-2 batches, no flexible encoding.
const PRODUCE_VERSION: i16 = 7;

/// Sends the corrupt batch to partition 0 of `topic` on `addr`; returns the error code the
/// broker answered, and whether a valid batch on the same connection is still accepted.
pub fn check(addr: &str, topic: &str) -> Result<(i16, bool)> {
    let mut client = WireClient::connect(addr).context("connecting for the corrupt batch")?;
    let mut batch = batch()?;
    let last = batch.len() - 1;
    // The CRC covers everything after it; the last byte is the record's value.
    batch[last] ^= 0xff;
    let code = produce(&mut client, topic, batch.freeze())?;
    let after = produce(&mut client, topic, self::batch()?.freeze())?;
    Ok((code, after == 0))
}

fn batch() -> Result<BytesMut> {
    let record = Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 0,
        key: None,
        value: Some(Bytes::from_static(b"this batch is about to be corrupted")),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &[record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .context("encoding the batch")?;
    Ok(buf)
}

fn produce(client: &mut WireClient, topic: &str, records: Bytes) -> Result<i16> {
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response = client
        .request(PRODUCE_VERSION, &request)
        .context("Produce with the corrupt batch")?;
    response
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .map(|p| p.error_code)
        .context("Produce response without a partition")
}

/// True when `code` is what the broker must answer.
pub fn is_corrupt_message(code: i16) -> bool {
    code == CORRUPT_MESSAGE
}
