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
/// and kept as their raw bytes (count included), which is all a rewrite needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordRef<'a> {
    pub(crate) attributes: i8,
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: &'a [u8],
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
    with_payload(header, batch, |data| {
        walk(data, header.records_count as usize, f)
    })
}

/// What the log cleaner's key map needs of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRef<'a> {
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<&'a [u8]>,
}

/// Calls `f` on the offset delta and key of each record of the complete batch `batch`
/// (decompressed first if needed), reading each record only up to its key: the log cleaner's
/// first pass over every record of a log, which needs nothing else. Fails with `Corrupt` where
/// a record does not fit its declared length or the batch.
pub(crate) fn for_each_key<F>(
    header: &BatchHeader,
    batch: &[u8],
    mut f: F,
) -> Result<(), RecordError>
where
    F: FnMut(KeyRef<'_>),
{
    let count = header.records_count.max(0);
    with_payload(header, batch, |data| {
        let corrupt = |i: i32| RecordError::Corrupt(format!("record {i} of {count} is malformed"));
        let mut at = 0usize;
        for i in 0..count {
            let len = zigzag(data, &mut at, 5)
                .filter(|l| *l >= 0)
                .ok_or_else(|| corrupt(i))?;
            let end = at
                .checked_add(len as usize)
                .filter(|e| *e <= data.len())
                .ok_or_else(|| corrupt(i))?;
            let record = &data[..end];
            // Attributes, then the timestamp delta.
            at += 1;
            zigzag(record, &mut at, 10).ok_or_else(|| corrupt(i))?;
            let offset_delta = zigzag(record, &mut at, 5).ok_or_else(|| corrupt(i))?;
            let key = match zigzag(record, &mut at, 5) {
                Some(-1) => None,
                Some(n) if n >= 0 && at + n as usize <= end => {
                    at += n as usize;
                    Some(&record[at - n as usize..at])
                }
                _ => return Err(corrupt(i)),
            };
            f(KeyRef {
                offset_delta: offset_delta as i32,
                key,
            });
            at = end;
        }
        if at != data.len() {
            return Err(RecordError::Corrupt(format!(
                "{} bytes left after the declared {count} records",
                data.len() - at
            )));
        }
        Ok(())
    })
}

/// Calls `f` once with every record of the complete batch `batch` (borrowed from its payload,
/// decompressed first if needed), for callers that need them all at once (a rewrite).
pub(crate) fn with_records<R>(
    header: &BatchHeader,
    batch: &[u8],
    f: impl FnOnce(&[RecordRef<'_>]) -> Result<R, RecordError>,
) -> Result<R, RecordError> {
    let count = header.records_count.max(0) as usize;
    with_payload(header, batch, |data| {
        let mut records = Vec::with_capacity(count);
        walk(data, count, |r| {
            records.push(r);
            Ok(())
        })?;
        f(&records)
    })
}

/// Calls `f` on the records of the complete batch `batch`: its bytes after the header,
/// decompressed first if the batch is compressed.
fn with_payload<R>(
    header: &BatchHeader,
    batch: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R, RecordError>,
) -> Result<R, RecordError> {
    let body = batch
        .get(HEADER_SIZE..header.total_size())
        .ok_or_else(|| RecordError::Corrupt("batch shorter than its declared length".into()))?;
    if header.compression() == codec::NONE {
        return f(body);
    }
    f(&codec::decompress(header.compression(), body)?)
}

/// Checks that the records of the complete batch `batch` are well formed (as
/// [`for_each_record`] reads them) and that their offset deltas run 0, 1, ..., n-1, and with
/// `keys_required` (a compacted topic) that each has a key; returns the largest record
/// timestamp (base timestamp plus the largest delta), which Kafka writes into the header's max
/// timestamp whatever the producer put there.
///
/// Every produced batch goes through here, record by record, so the check is made twice over:
/// a lean pass that only answers yes or no, and only when it says no, the detailed walk that
/// finds what is wrong for the error message. The lean pass is compiled once per key rule, so
/// batches of topics that are not compacted pay nothing for the key check.
pub(crate) fn check_records(
    header: &BatchHeader,
    batch: &[u8],
    keys_required: bool,
) -> Result<i64, RecordError> {
    let count = header.records_count as usize;
    with_payload(header, batch, |data| {
        let lean = if keys_required {
            well_formed::<true>(data, count)
        } else {
            well_formed::<false>(data, count)
        };
        if let Some(max_delta) = lean {
            return Ok(header.base_timestamp.saturating_add(max_delta));
        }
        let mut expected = 0i32;
        let mut keyless = Vec::new();
        walk(data, count, |rec| {
            if rec.offset_delta != expected {
                return Err(RecordError::Corrupt(format!(
                    "record offset delta {} where {expected} was expected",
                    rec.offset_delta
                )));
            }
            if keys_required && rec.key.is_none() {
                keyless.push(expected);
            }
            expected += 1;
            Ok(())
        })?;
        if !keyless.is_empty() {
            return Err(RecordError::KeysRequired(keyless));
        }
        // The two passes disagree: a bug, but never a reason to store the batch.
        Err(RecordError::Corrupt("malformed records".into()))
    })
}

/// The first record of the complete batch `batch` whose `(offset, timestamp)` satisfies
/// `pred`, as `(offset, timestamp)`. Timestamp deltas are varlongs: a batch may span more than
/// the ~24.8 days an i32 of milliseconds holds (kafka-protocol's decoder reads them as i32).
pub(crate) fn find_record(
    header: &BatchHeader,
    batch: &[u8],
    pred: impl Fn(i64, i64) -> bool,
) -> Result<Option<(i64, i64)>, RecordError> {
    let mut found = None;
    for_each_record(header, batch, |rec| {
        let timestamp = header.base_timestamp.saturating_add(rec.timestamp_delta);
        let offset = header.base_offset + i64::from(rec.offset_delta);
        if found.is_none() && pred(offset, timestamp) {
            found = Some((offset, timestamp));
        }
        Ok(())
    })?;
    Ok(found)
}

/// The lean pass of [`check_records`]: exactly what [`walk`] and [`read_record`] check, plus
/// the offset deltas and, with `KEYED`, a key on every record, with no error values on the
/// way. The largest timestamp delta when the records pass.
fn well_formed<const KEYED: bool>(data: &[u8], count: usize) -> Option<i64> {
    let mut at = 0usize;
    let mut max_delta = i64::MIN;
    for expected in 0..count as i64 {
        let len = zigzag(data, &mut at, 5).filter(|l| *l >= 0)?;
        let end = at.checked_add(len as usize).filter(|e| *e <= data.len())?;
        let record = &data[..end];
        // Attributes, then the timestamp delta.
        at += 1;
        if at > end {
            return None;
        }
        max_delta = max_delta.max(zigzag(record, &mut at, 10)?);
        if zigzag(record, &mut at, 5) != Some(expected) {
            return None;
        }
        // Key and value: null (-1) or that many bytes; the key not null when `KEYED`.
        if !skip_bytes(record, &mut at, !KEYED) || !skip_bytes(record, &mut at, true) {
            return None;
        }
        let headers = zigzag(record, &mut at, 5).filter(|n| *n >= 0)?;
        for _ in 0..headers {
            // A header key may not be null; its value may.
            if !skip_bytes(record, &mut at, false) || !skip_bytes(record, &mut at, true) {
                return None;
            }
        }
        if at != end {
            return None;
        }
    }
    // No records (refused elsewhere): the base timestamp stands.
    (at == data.len()).then_some(if count == 0 { 0 } else { max_delta })
}

/// A zig-zag varint of at most `max_bytes` groups at `*at` (5: an i32, 10: an i64), as
/// [`Reader::varint`] and [`Reader::varlong`] read them; None where they fail.
#[inline(always)]
fn zigzag(data: &[u8], at: &mut usize, max_bytes: usize) -> Option<i64> {
    let mut raw = 0u64;
    for i in 0..max_bytes {
        let b = *data.get(*at + i)?;
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *at += i + 1;
            if max_bytes == 5 && raw > u64::from(u32::MAX) {
                return None;
            }
            return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    None
}

/// Skips a varint-length-prefixed byte string; false if malformed (or null where not allowed).
#[inline(always)]
fn skip_bytes(data: &[u8], at: &mut usize, nullable: bool) -> bool {
    match zigzag(data, at, 5) {
        Some(-1) => nullable,
        Some(n) if n >= 0 => match at.checked_add(n as usize) {
            Some(end) if end <= data.len() => {
                *at = end;
                true
            }
            _ => false,
        },
        _ => false,
    }
}

fn walk<'a, F>(data: &'a [u8], count: usize, mut f: F) -> Result<(), RecordError>
where
    F: FnMut(RecordRef<'a>) -> Result<(), RecordError>,
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
    let body = r.take(len, "record")?;
    let mut b = Reader::new(body);
    let attributes = b.i8("record attributes")?;
    let timestamp_delta = b.varlong("timestamp delta")?;
    let offset_delta = b.varint("offset delta")?;
    let key = b.varint_bytes("record key")?;
    let value = b.varint_bytes("record value")?;
    let headers_at = b.position();
    skip_headers(&mut b)?;
    if b.remaining() != 0 {
        return Err(RecordError::Corrupt(format!(
            "record declared {len} bytes but used {}",
            b.position()
        )));
    }
    Ok(RecordRef {
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        value,
        headers: &body[headers_at..],
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::testutil::{record, records, v2_batch};
    use bytes::Bytes;
    use kafka_protocol::records::{Compression, Record};

    /// The records part of an uncompressed batch.
    fn payload(records: &[Record]) -> (Vec<u8>, usize) {
        let batch = v2_batch(records, Compression::None);
        (batch[HEADER_SIZE..].to_vec(), records.len())
    }

    fn detailed(data: &[u8], count: usize) -> bool {
        let mut expected = 0;
        walk(data, count, |rec| {
            let ok = rec.offset_delta == expected;
            expected += 1;
            ok.then_some(())
                .ok_or_else(|| RecordError::Corrupt("offset delta".into()))
        })
        .is_ok()
    }

    #[test]
    fn the_lean_pass_accepts_what_the_detailed_walk_accepts() {
        // Keys null and not, headers with null values, 1- and 2-byte lengths and deltas.
        let mut recs = records(0, 70);
        recs[5].headers.insert(
            kafka_protocol::protocol::StrBytes::from_static_str("h"),
            None,
        );
        recs[6].headers.insert(
            kafka_protocol::protocol::StrBytes::from_static_str("k"),
            Some(Bytes::from(vec![7u8; 300])),
        );
        let (data, count) = payload(&recs);
        assert!(well_formed::<false>(&data, count).is_some());
        assert!(detailed(&data, count));
        // Every truncation, every single-byte change and a wrong count: both passes agree.
        for cut in 0..data.len() {
            assert_eq!(
                well_formed::<false>(&data[..cut], count).is_some(),
                detailed(&data[..cut], count)
            );
        }
        let mut seed = 0x9e37_79b9_u32;
        for i in 0..data.len() {
            for _ in 0..2 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let mut bad = data.clone();
                bad[i] ^= (seed as u8) | 1;
                assert_eq!(
                    well_formed::<false>(&bad, count).is_some(),
                    detailed(&bad, count),
                    "byte {i} changed to {:#x}",
                    bad[i]
                );
            }
        }
        for n in [0, count - 1, count + 1] {
            assert!(
                well_formed::<false>(&data, n).is_none() && !detailed(&data, n),
                "count {n}"
            );
        }
    }

    /// The detailed walk's verdict with the key rule: well formed and every record keyed.
    fn detailed_keyed(data: &[u8], count: usize) -> bool {
        let mut keyed = true;
        detailed(data, count)
            && walk(data, count, |rec| {
                keyed &= rec.key.is_some();
                Ok(())
            })
            .is_ok()
            && keyed
    }

    #[test]
    fn the_keyed_lean_pass_accepts_what_the_detailed_walk_accepts() {
        let mut recs = records(0, 40);
        for (i, r) in recs.iter_mut().enumerate() {
            r.key = (i != 17).then(|| Bytes::from(format!("k{i}")));
        }
        recs[3].key = Some(Bytes::new());
        let (data, count) = payload(&recs);
        assert!(
            well_formed::<true>(&data, count).is_none(),
            "record 17 has no key"
        );
        assert!(!detailed_keyed(&data, count));
        recs[17].key = Some(Bytes::from_static(b"k"));
        let (data, count) = payload(&recs);
        assert_eq!(
            well_formed::<true>(&data, count),
            well_formed::<false>(&data, count)
        );
        assert!(well_formed::<true>(&data, count).is_some());
        for cut in 0..data.len() {
            assert_eq!(
                well_formed::<true>(&data[..cut], count).is_some(),
                detailed_keyed(&data[..cut], count)
            );
        }
        for i in 0..data.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = data.clone();
                bad[i] ^= flip;
                assert_eq!(
                    well_formed::<true>(&bad, count).is_some(),
                    detailed_keyed(&bad, count),
                    "byte {i} ^ {flip:#x}"
                );
            }
        }
    }

    #[test]
    fn keyless_records_are_named_when_keys_are_required() {
        // records() leaves every third record without a key: 0, 3 and 6 here.
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let batch = v2_batch(&records(0, 7), compression);
            let header = BatchHeader::parse(&batch).expect("header");
            assert_eq!(
                check_records(&header, &batch, true),
                Err(RecordError::KeysRequired(vec![0, 3, 6])),
                "{compression:?}"
            );
            let unchecked = check_records(&header, &batch, false).expect("no key rule");
            let mut keyed = records(0, 7);
            for r in &mut keyed {
                r.key.get_or_insert_with(|| Bytes::from_static(b"k"));
            }
            let batch = v2_batch(&keyed, compression);
            let header = BatchHeader::parse(&batch).expect("header");
            assert_eq!(check_records(&header, &batch, true), Ok(unchecked));
        }
    }

    #[test]
    fn offset_deltas_out_of_order_are_named() {
        for compression in [Compression::None, Compression::Lz4] {
            let batch = v2_batch(&[record(1, 5), record(0, 5)], compression);
            let header = BatchHeader::parse(&batch).expect("header");
            let err = check_records(&header, &batch, false).expect_err("out of order");
            assert!(err.to_string().contains("offset delta"), "{err}");
        }
    }

    #[test]
    fn the_key_pass_reads_what_the_full_walk_reads_and_fails_cleanly_on_damage() {
        for codec in [Compression::None, Compression::Lz4] {
            let mut recs = records(0, 50);
            recs[4].headers.insert(
                kafka_protocol::protocol::StrBytes::from_static_str("h"),
                Some(Bytes::from_static(b"x")),
            );
            let batch = v2_batch(&recs, codec);
            let h = BatchHeader::parse(&batch).expect("header");
            let mut full = Vec::new();
            for_each_record(&h, &batch, |r| {
                full.push((r.offset_delta, r.key.map(<[u8]>::to_vec)));
                Ok(())
            })
            .expect("walk");
            let mut keys = Vec::new();
            for_each_key(&h, &batch, |r| {
                keys.push((r.offset_delta, r.key.map(<[u8]>::to_vec)))
            })
            .expect("keys");
            assert_eq!(keys, full);
            assert!(keys.iter().any(|(_, k)| k.is_none()));
        }
        // Cut anywhere in the records, or with a count that is too large: an error, no panic.
        let batch = v2_batch(&records(0, 20), Compression::None);
        let h = BatchHeader::parse(&batch).expect("header");
        for cut in HEADER_SIZE..batch.len() {
            let mut short = h;
            short.batch_length -= (batch.len() - cut) as i32;
            assert!(
                for_each_key(&short, &batch[..cut], |_| {}).is_err(),
                "cut at {cut}"
            );
        }
        let mut more = h;
        more.records_count += 1;
        assert!(for_each_key(&more, &batch, |_| {}).is_err());
    }
}
