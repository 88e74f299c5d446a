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
