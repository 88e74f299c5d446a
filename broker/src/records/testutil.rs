//! Builders for record tests: v2 batches through `kafka_protocol`'s encoder, legacy message
//! sets (plain and wrapped) by hand, since that encoder writes every offset as 0.

use bytes::{Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_TIMESTAMP,
};

use super::legacy::{write_message, OutMessage};

/// A non-idempotent record at `offset` with a distinct key and value.
pub(crate) fn record(offset: i64, timestamp: i64) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: offset as i32,
        timestamp,
        key: if offset % 3 == 0 {
            None
        } else {
            Some(Bytes::from(format!("key-{offset}")))
        },
        value: Some(Bytes::from(format!(
            "value-{offset}-{}",
            "x".repeat(offset as usize)
        ))),
        headers: Default::default(),
    }
}

/// Records at offsets `from..to` with timestamps 1000+offset.
pub(crate) fn records(from: i64, to: i64) -> Vec<Record> {
    (from..to).map(|o| record(o, 1_000 + o)).collect()
}

/// One v2 batch holding `records` (which must form one batch).
pub(crate) fn v2_batch(records: &[Record], compression: Compression) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records, &options).expect("encode");
    buf.to_vec()
}

/// One v2 batch of records with `timestamps` (values "v<i>", no keys), encoded by hand with
/// varlong timestamp deltas as Kafka's producers write them, so that its timestamps may span
/// more than the i32 `kafka_protocol`'s encoder allows. The header's max timestamp is
/// `max_timestamp` when given (a producer may get it wrong), else the largest timestamp.
pub(crate) fn wide_batch(
    timestamps: &[i64],
    codec: Compression,
    max_timestamp: Option<i64>,
) -> Vec<u8> {
    use super::rewrite::varlong;
    let base = timestamps.first().copied().unwrap_or(0);
    let mut body = Vec::new();
    for (i, ts) in timestamps.iter().enumerate() {
        let value = format!("v{i}");
        let mut rec = vec![0u8]; // attributes
        varlong(&mut rec, ts - base);
        varlong(&mut rec, i as i64);
        varlong(&mut rec, -1); // null key
        varlong(&mut rec, value.len() as i64);
        rec.extend_from_slice(value.as_bytes());
        varlong(&mut rec, 0); // no headers
        varlong(&mut body, rec.len() as i64);
        body.extend_from_slice(&rec);
    }
    let body = compress(codec, &body);
    let mut b = Vec::with_capacity(61 + body.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + body.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&(codec as i16).to_be_bytes());
    b.extend_from_slice(&(timestamps.len() as i32 - 1).to_be_bytes());
    b.extend_from_slice(&base.to_be_bytes());
    let max = timestamps.iter().copied().max().unwrap_or(base);
    b.extend_from_slice(&max_timestamp.unwrap_or(max).to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&(timestamps.len() as i32).to_be_bytes());
    b.extend_from_slice(&body);
    fix_crc(&mut b);
    b
}

/// Recomputes the CRC-32C of a v2 batch after a test edited a field under it.
pub(crate) fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Uncompressed legacy entries for `records`, each at `offset_of(index)`.
pub(crate) fn legacy_plain(
    records: &[Record],
    magic: i8,
    offset_of: impl Fn(usize) -> i64,
) -> Vec<u8> {
    let mut out = BytesMut::new();
    for (i, r) in records.iter().enumerate() {
        let timestamp = if magic == 0 {
            NO_TIMESTAMP
        } else {
            r.timestamp
        };
        let msg = OutMessage {
            offset: offset_of(i),
            magic,
            attributes: 0,
            timestamp,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
        };
        write_message(&mut out, &msg);
    }
    out.to_vec()
}

/// Compresses `data` with `codec` through `kafka_protocol`'s compressors.
pub(crate) fn compress(codec: Compression, data: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    let fill = |b: &mut BytesMut| {
        b.extend_from_slice(data);
        Ok(())
    };
    match codec {
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => Gzip::compress(&mut out, fill).expect("gzip"),
        Compression::Snappy => Snappy::compress(&mut out, fill).expect("snappy"),
        Compression::Lz4 => Lz4::compress(&mut out, fill).expect("lz4"),
        Compression::Zstd => Zstd::compress(&mut out, fill).expect("zstd"),
    }
    out.to_vec()
}

/// A wrapper message (as old producers send): inner offsets relative for v1, the wrapper at
/// the last inner offset, timestamp the max inner one.
pub(crate) fn legacy_wrapped(
    records: &[Record],
    magic: i8,
    codec: Compression,
    attrs: i8,
) -> Vec<u8> {
    let inner = legacy_plain(records, magic, |i| i as i64);
    let value = compress(codec, &inner);
    let max_ts = records
        .iter()
        .map(|r| r.timestamp)
        .max()
        .unwrap_or(NO_TIMESTAMP);
    let msg = OutMessage {
        offset: records.len() as i64 - 1,
        magic,
        attributes: codec as i8 | attrs,
        timestamp: if magic == 0 { NO_TIMESTAMP } else { max_ts },
        key: None,
        value: Some(&value),
    };
    let mut out = BytesMut::new();
    write_message(&mut out, &msg);
    out.to_vec()
}

/// Decodes every batch / message in `buf` with `kafka_protocol` (which checks CRCs).
pub(crate) fn decode_all(buf: &[u8]) -> Vec<Record> {
    let mut b = Bytes::copy_from_slice(buf);
    RecordBatchDecoder::decode_all(&mut b)
        .expect("decode")
        .into_iter()
        .flat_map(|set| set.records)
        .collect()
}
