//! Down-conversion of stored v2 batches for old Fetch versions (Kafka's
//! `RecordsUtil.downConvert`).
//!
//! Fetch v0-v1 can only carry magic 0 and v2-v3 magic 1. Differences from Kafka, on purpose:
//! the output is always uncompressed (every consumer reads that, and it lets records below the
//! fetch offset be skipped inside compressed batches too), so a converted response can be larger
//! than the stored bytes; callers that enforce `max_bytes` must measure the converted size.

use bytes::{Bytes, BytesMut};

use super::header::{batches, BatchHeader};
use super::legacy::{self, OutMessage, LOG_APPEND_TIME_BIT};
use super::{v2, RecordError};

/// The magic a Fetch request version can carry: v0-1 → 0, v2-3 → 1, else 2.
pub fn fetch_magic(fetch_version: i16) -> i8 {
    match fetch_version {
        i16::MIN..=1 => 0,
        2 | 3 => 1,
        _ => 2,
    }
}

/// Converts the complete v2 batches at the start of `v2` to a v0/v1 message set (magic 0 or 1).
/// A trailing partial batch is dropped; control batches are skipped; headers, producer ids and
/// sequences are dropped; each message carries its absolute offset. Output is uncompressed.
/// Records with offset < `min_offset` are skipped. With `magic` 2 the complete batches are
/// returned unchanged. Stored batches are CRC-checked, so disk corruption is `Corrupt`.
pub fn down_convert(v2: &[u8], magic: i8, min_offset: i64) -> Result<Bytes, RecordError> {
    let mut iter = batches(v2);
    if magic == 2 {
        for item in iter.by_ref() {
            item?;
        }
        return Ok(Bytes::copy_from_slice(&v2[..iter.position()]));
    }
    if !(0..=1).contains(&magic) {
        return Err(RecordError::Invalid(format!(
            "cannot down-convert to magic {magic}"
        )));
    }
    let mut out = BytesMut::with_capacity(v2.len());
    for item in iter {
        let (header, batch) = item?;
        if header.is_control() || header.last_offset() < min_offset {
            continue;
        }
        header.verify_crc(batch)?;
        convert_batch(&header, batch, magic, min_offset, &mut out)?;
    }
    Ok(out.freeze())
}

/// Appends one message per record of `batch` at or above `min_offset`. v1 messages keep the
/// record timestamps (CreateTime) or all carry the batch's max timestamp (LogAppendTime).
fn convert_batch(
    header: &BatchHeader,
    batch: &[u8],
    magic: i8,
    min_offset: i64,
    out: &mut BytesMut,
) -> Result<(), RecordError> {
    let log_append_time = header.is_log_append_time();
    let attributes = if log_append_time && magic > 0 {
        LOG_APPEND_TIME_BIT
    } else {
        0
    };
    v2::for_each_record(header, batch, |rec| {
        let offset = header.base_offset + i64::from(rec.offset_delta);
        if offset < min_offset {
            return Ok(());
        }
        let timestamp = if log_append_time {
            header.max_timestamp
        } else {
            header.base_timestamp.wrapping_add(rec.timestamp_delta)
        };
        let msg = OutMessage {
            offset,
            magic,
            attributes,
            timestamp,
            key: rec.key,
            value: rec.value,
        };
        legacy::write_message(out, &msg);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::header::set_log_append_time;
    use crate::records::testutil::{decode_all, records, v2_batch};
    use kafka_protocol::records::{Compression, Record, TimestampType, NO_TIMESTAMP};

    /// Offsets 0-2 plain, 3-5 gzip, a control batch at 6, 7-9 lz4, 10-11 snappy, then half
    /// of a zstd batch at 12-13.
    fn log() -> (Vec<u8>, Vec<Record>) {
        let mut control = records(6, 7);
        control[0].control = true;
        let parts = [
            (records(0, 3), Compression::None),
            (records(3, 6), Compression::Gzip),
            (control, Compression::None),
            (records(7, 10), Compression::Lz4),
            (records(10, 12), Compression::Snappy),
        ];
        let mut buf = Vec::new();
        let mut expected = Vec::new();
        for (recs, codec) in parts {
            buf.extend_from_slice(&v2_batch(&recs, codec));
            expected.extend(recs.into_iter().filter(|r| !r.control));
        }
        let tail = v2_batch(&records(12, 14), Compression::Zstd);
        buf.extend_from_slice(&tail[..tail.len() / 2]);
        (buf, expected)
    }

    fn assert_same(got: &[Record], expected: &[Record], magic: i8) {
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            assert_eq!(g.offset, e.offset);
            assert_eq!((&g.key, &g.value), (&e.key, &e.value));
            let ts = if magic == 0 {
                NO_TIMESTAMP
            } else {
                e.timestamp
            };
            assert_eq!(g.timestamp, ts, "offset {}", e.offset);
            assert_eq!(g.timestamp_type, TimestampType::Creation);
        }
    }

    #[test]
    fn converts_to_magic_1_and_0() {
        let (log, expected) = log();
        for magic in [1, 0] {
            let out = down_convert(&log, magic, 0).expect("convert");
            assert_eq!(out[16] as i8, magic);
            // kafka_protocol's decoder checks every IEEE CRC and the magic of every message.
            assert_same(&decode_all(&out), &expected, magic);
        }
    }

    #[test]
    fn skips_records_below_min_offset() {
        let (log, expected) = log();
        let out = down_convert(&log, 1, 4).expect("convert");
        let tail: Vec<_> = expected.into_iter().filter(|r| r.offset >= 4).collect();
        assert_same(&decode_all(&out), &tail, 1);
        assert!(down_convert(&log, 1, 100).expect("convert").is_empty());
    }

    #[test]
    fn log_append_time_batches_carry_the_max_timestamp() {
        let mut batch = v2_batch(&records(5, 8), Compression::Gzip);
        set_log_append_time(&mut batch, 77_777);
        let got = decode_all(&down_convert(&batch, 1, 0).expect("convert"));
        assert_eq!(got.len(), 3);
        for r in got {
            assert_eq!(r.timestamp_type, TimestampType::LogAppend);
            assert_eq!(r.timestamp, 77_777);
        }
    }

    #[test]
    fn magic_2_returns_complete_batches() {
        let (log, _) = log();
        let out = down_convert(&log, 2, 0).expect("pass through");
        let complete = batches(&log)
            .map(|b| b.map(|(_, bytes)| bytes.len()))
            .sum::<Result<usize, _>>();
        assert_eq!(out.len(), complete.expect("batches"));
        assert_eq!(&out[..], &log[..out.len()]);
    }

    #[test]
    fn corrupt_stored_batch_is_reported() {
        let mut batch = v2_batch(&records(0, 3), Compression::None);
        let last = batch.len() - 2;
        batch[last] ^= 0x10;
        let err = down_convert(&batch, 1, 0).expect_err("crc");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
        assert!(down_convert(&batch, 5, 0).is_err());
    }

    #[test]
    fn fetch_versions_map_to_magic() {
        let got: Vec<i8> = (0..=12).map(fetch_magic).collect();
        assert_eq!(got, [0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    }
}
