//! Reading the records inside a v2 batch (Kafka's `DefaultRecord`).
//!
//! Written by hand rather than through `kafka_protocol`'s decoder because validation needs
//! checks that decoder skips (each record's declared length consumed exactly, no bytes after
//! the last record) and because that decoder rejects header values of length -1 (null), which
//! Java producers may legally send. Codecs still come from `kafka_protocol` (see `codec`).

use super::codec;
use super::header::{BatchHeader, HEADER_SIZE};
use super::wire::Reader;
use super::RecordError;

/// One record, borrowed from the (possibly decompressed) batch payload. Headers are checked
/// but not kept: nothing in this module needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordRef<'a> {
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
}

/// Calls `f` on each record of the complete batch `batch` (described by `header`), in order,
/// decompressing first if needed. Fails with `Corrupt` on any structural problem, including a
/// record count that does not match the payload.
pub(crate) fn for_each_record<F>(
    header: &BatchHeader,
    batch: &[u8],
    f: F,
) -> Result<(), RecordError>
where
    F: FnMut(RecordRef<'_>) -> Result<(), RecordError>,
{
    let body = batch
        .get(HEADER_SIZE..header.total_size())
        .ok_or_else(|| RecordError::Corrupt("batch shorter than its declared length".into()))?;
    let count = header.records_count as usize;
    if header.compression() == codec::NONE {
        return walk(body, count, f);
    }
    let data = codec::decompress(header.compression(), body)?;
    walk(&data, count, f)
}

fn walk<F>(data: &[u8], count: usize, mut f: F) -> Result<(), RecordError>
where
    F: FnMut(RecordRef<'_>) -> Result<(), RecordError>,
{
    let mut r = Reader::new(data);
    for _ in 0..count {
        f(read_record(&mut r)?)?;
    }
    if r.remaining() != 0 {
        return Err(RecordError::Corrupt(format!(
            "{} bytes left after the declared {count} records",
            r.remaining()
        )));
    }
    Ok(())
}

/// Reads one length-prefixed record; its body must be consumed exactly.
fn read_record<'a>(r: &mut Reader<'a>) -> Result<RecordRef<'a>, RecordError> {
    let len = r.varint("record length")?;
    let len = usize::try_from(len)
        .map_err(|_| RecordError::Corrupt(format!("negative record length {len}")))?;
    let mut b = Reader::new(r.take(len, "record")?);
    let _attributes = b.i8("record attributes")?;
    let timestamp_delta = b.varlong("timestamp delta")?;
    let offset_delta = b.varint("offset delta")?;
    let key = b.varint_bytes("record key")?;
    let value = b.varint_bytes("record value")?;
    skip_headers(&mut b)?;
    if b.remaining() != 0 {
        return Err(RecordError::Corrupt(format!(
            "record declared {len} bytes but used {}",
            b.position()
        )));
    }
    Ok(RecordRef {
        timestamp_delta,
        offset_delta,
        key,
        value,
    })
}

fn skip_headers(b: &mut Reader<'_>) -> Result<(), RecordError> {
    let count = b.varint("header count")?;
    if count < 0 {
        return Err(RecordError::Corrupt(format!(
            "negative header count {count}"
        )));
    }
    for _ in 0..count {
        if b.varint_bytes("header key")?.is_none() {
            return Err(RecordError::Corrupt("null header key".into()));
        }
        b.varint_bytes("header value")?;
    }
    Ok(())
}
