//! Rewriting a stored v2 batch with fewer records (the log cleaner), as Kafka's
//! `MemoryRecords.filterTo` does: the records kept are encoded again behind the original
//! batch's identity, so that offsets, producer state and epochs survive cleaning.
//!
//! Kept from the original: base offset and last offset delta (an idempotent producer's last
//! sequence is `base sequence + last offset delta`; a retry after cleaning must still be
//! recognised), producer id, epoch and base sequence, partition leader epoch, codec,
//! timestamp type and the transactional and control flags. Each record keeps its offset and
//! timestamp. Written here by hand: kafka-protocol's encoder renumbers offsets from the first
//! record it gets and writes timestamp deltas as i32.

use super::codec;
use super::header::{BatchHeader, DELETE_HORIZON_BIT, HEADER_SIZE, LOG_OVERHEAD};
use super::RecordError;

/// Attribute bits a rewrite keeps (everything but the codec, which is set again, and the
/// delete horizon flag).
const KEPT_ATTRIBUTES: i16 = 0x08 | 0x10 | 0x20;
const MAGIC: u8 = 2;
/// Offsets of header fields written after the rest (see `header.rs` for the layout).
const BATCH_LENGTH_AT: usize = 8;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;

/// One record that stays, with its absolute timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptRecord<'a> {
    pub(crate) attributes: i8,
    pub(crate) timestamp: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    /// The record's headers as stored: a varint count, then the headers.
    pub(crate) headers: &'a [u8],
}

/// Encodes `records` (in offset order, offset deltas relative to `original.base_offset`) as one
/// batch with `original`'s identity. With `delete_horizon_ms` the batch carries KIP-534's
/// delete horizon (as its base timestamp, record timestamps encoded relative to it). With no
/// records the batch is an empty one, kept only for the producer state it carries.
pub(crate) fn rewrite_batch(
    original: &BatchHeader,
    records: &[KeptRecord<'_>],
    delete_horizon_ms: Option<i64>,
) -> Result<Vec<u8>, RecordError> {
    let base_timestamp = match (delete_horizon_ms, records.first()) {
        (Some(horizon), _) => horizon,
        (None, Some(first)) => first.timestamp,
        (None, None) => original.max_timestamp,
    };
    let max_timestamp = match records.iter().map(|r| r.timestamp).max() {
        Some(max) if !original.is_log_append_time() => max,
        _ => original.max_timestamp,
    };
    // Kafka writes an empty batch uncompressed.
    let codec = if records.is_empty() {
        codec::NONE
    } else {
        original.compression()
    };
    let mut attributes = (original.attributes & KEPT_ATTRIBUTES) | codec;
    if delete_horizon_ms.is_some() {
        attributes |= DELETE_HORIZON_BIT;
    }
    let count = i32::try_from(records.len())
        .map_err(|_| RecordError::Invalid("too many records for one batch".into()))?;
    let size: usize = records.iter().map(|r| record_size(r, base_timestamp)).sum();
    let mut out = Vec::with_capacity(HEADER_SIZE + size);
    out.extend_from_slice(&original.base_offset.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // batch length, set below
    out.extend_from_slice(&original.partition_leader_epoch.to_be_bytes());
    out.push(MAGIC);
    out.extend_from_slice(&0u32.to_be_bytes()); // CRC, set below
    out.extend_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&original.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&base_timestamp.to_be_bytes());
    out.extend_from_slice(&max_timestamp.to_be_bytes());
    out.extend_from_slice(&original.producer_id.to_be_bytes());
    out.extend_from_slice(&original.producer_epoch.to_be_bytes());
    out.extend_from_slice(&original.base_sequence.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    if codec == codec::NONE {
        for r in records {
            write_record(&mut out, r, base_timestamp);
        }
    } else {
        let mut payload = Vec::with_capacity(size);
        for r in records {
            write_record(&mut payload, r, base_timestamp);
        }
        out.extend_from_slice(&codec::compress(codec, &payload)?);
    }
    let length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| RecordError::Invalid("batch larger than 2 GiB".into()))?;
    out[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&out[ATTRIBUTES_AT..]);
    out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Kafka's `DefaultRecord`: a varint length, then attributes, varlong timestamp delta, varint
/// offset delta, key and value as varint-length bytes (-1: null), and the headers.
fn write_record(out: &mut Vec<u8>, r: &KeptRecord<'_>, base_timestamp: i64) {
    varlong(out, body_size(r, base_timestamp) as i64);
    out.push(r.attributes as u8);
    varlong(out, r.timestamp.wrapping_sub(base_timestamp));
    varlong(out, i64::from(r.offset_delta));
    for field in [r.key, r.value] {
        match field {
            None => varlong(out, -1),
            Some(bytes) => {
                varlong(out, bytes.len() as i64);
                out.extend_from_slice(bytes);
            }
        }
    }
    out.extend_from_slice(r.headers);
}

/// The bytes [`write_record`] writes after the length.
fn body_size(r: &KeptRecord<'_>, base_timestamp: i64) -> usize {
    let field =
        |f: Option<&[u8]>| f.map_or(varlong_size(-1), |b| varlong_size(b.len() as i64) + b.len());
    1 + varlong_size(r.timestamp.wrapping_sub(base_timestamp))
        + varlong_size(i64::from(r.offset_delta))
        + field(r.key)
        + field(r.value)
        + r.headers.len()
}

/// The bytes [`write_record`] writes.
fn record_size(r: &KeptRecord<'_>, base_timestamp: i64) -> usize {
    let body = body_size(r, base_timestamp);
    varlong_size(body as i64) + body
}

/// The bytes [`varlong`] writes for `v`.
fn varlong_size(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    (64 - (z | 1).leading_zeros() as usize).div_ceil(7)
}

/// A zig-zag varlong; values that fit an i32 come out as Kafka's varint would write them.
pub(crate) fn varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::testutil::wide_batch;
    use crate::records::v2;
    use kafka_protocol::records::Compression;

    /// (timestamp, offset delta, value) of every record of `batch`.
    fn records_of(h: &BatchHeader, batch: &[u8]) -> Vec<(i64, i32, Vec<u8>)> {
        let mut out = Vec::new();
        v2::for_each_record(h, batch, |r| {
            let value = r.value.map(<[u8]>::to_vec).unwrap_or_default();
            out.push((h.base_timestamp + r.timestamp_delta, r.offset_delta, value));
            Ok(())
        })
        .expect("records");
        out
    }

    #[test]
    fn a_rewrite_keeps_offsets_timestamps_and_producer_identity() {
        for codec in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let original = wide_batch(&[1234, 999_999_999_999, 5, 77], codec, None);
            let mut h = BatchHeader::parse(&original).expect("header");
            h.base_offset = 500;
            // Keep records 1 and 3, with the timestamps the original gives them.
            let records = records_of(&h, &original);
            let kept: Vec<KeptRecord<'_>> = records
                .iter()
                .skip(1)
                .step_by(2)
                .map(|(timestamp, offset_delta, value)| KeptRecord {
                    attributes: 0,
                    timestamp: *timestamp,
                    offset_delta: *offset_delta,
                    key: None,
                    value: Some(value),
                    headers: &[0],
                })
                .collect();
            for horizon in [None, Some(42)] {
                let out = rewrite_batch(&h, &kept, horizon).expect("rewrite");
                let got = BatchHeader::parse(&out).expect("parse");
                got.verify_crc(&out).expect("crc");
                assert_eq!(got.base_offset, 500);
                assert_eq!(got.last_offset(), h.last_offset(), "last offset kept");
                assert_eq!(got.records_count, 2);
                assert_eq!(got.compression(), h.compression());
                assert_eq!(got.delete_horizon_ms(), horizon);
                assert_eq!(got.max_timestamp, 999_999_999_999);
                assert_eq!(
                    records_of(&got, &out),
                    vec![
                        (999_999_999_999, 1, b"v1".to_vec()),
                        (77, 3, b"v3".to_vec())
                    ]
                );
            }
        }
    }

    #[test]
    fn an_empty_rewrite_keeps_the_batch_for_its_producer_state() {
        let original = wide_batch(&[10, 20, 30], Compression::Lz4, None);
        let h = BatchHeader::parse(&original).expect("header");
        let out = rewrite_batch(&h, &[], None).expect("rewrite");
        let got = BatchHeader::parse(&out).expect("parse");
        got.verify_crc(&out).expect("crc");
        assert_eq!(out.len(), HEADER_SIZE);
        assert_eq!((got.records_count, got.compression()), (0, 0));
        assert_eq!(got.last_offset(), h.last_offset());
        assert_eq!(got.last_sequence(), h.last_sequence());
        assert_eq!(got.max_timestamp, 30);
    }

    #[test]
    fn sizes_are_computed_as_written() {
        let mut values = vec![0, 1, -1, 63, 64, -64, -65, i64::MAX, i64::MIN];
        for shift in 0..63 {
            values.extend([1i64 << shift, (1i64 << shift) - 1, -(1i64 << shift)]);
        }
        for v in values {
            let mut out = Vec::new();
            varlong(&mut out, v);
            assert_eq!(varlong_size(v), out.len(), "{v}");
        }
        let r = KeptRecord {
            attributes: 0,
            timestamp: 1_000_000,
            offset_delta: 300,
            key: Some(&[1u8; 200]),
            value: None,
            headers: &[2, 0, 0],
        };
        let mut out = Vec::new();
        write_record(&mut out, &r, 5);
        assert_eq!(record_size(&r, 5), out.len());
    }
}
