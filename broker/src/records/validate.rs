//! Produce payload validation: the checks Kafka's `ProduceRequest.validateRecords`,
//! `UnifiedLog.analyzeAndValidateRecords` and `LogValidator` make before a leader appends.
//!
//! - Magic-2 input is checked batch by batch and kept byte-for-byte (compressed batches are
//!   decompressed only to walk their records; they are never recompressed), so producer CRCs
//!   survive into the log.
//! - Magic-0/1 message sets (old producers, Produce v0-v2) are checked message by message,
//!   wrapper messages are decompressed, and the whole set is up-converted to ONE v2 batch with
//!   the wrapper's codec, base offset 0 and no producer id/epoch/sequence (several batches
//!   only when its timestamps span more than an i32 of milliseconds, see `timestamp_spans`).
//!
//! Decisions where the brief left room:
//! - Produce v0-v2 may also carry magic-2 batches (Kafka accepts them there); several batches
//!   are then allowed. Magic 0/1 with Produce v3+ is `Invalid`, as in Kafka.
//! - Stricter than Kafka: a trailing partial batch/message is `Corrupt` (Kafka silently trims
//!   it), and with v3+ any bytes after the first batch are `Invalid`.
//! - Offset-delta / count mismatches are `Corrupt` (Kafka ≥ 2.5 says INVALID_RECORD).
//! - Zstd with Produce < v7 is `UnsupportedCompression` whatever the magic; codecs 5-7 are
//!   `Corrupt`. LZ4 under magic 0 (Kafka's broken frame checksum) fails to decompress and is
//!   therefore `Corrupt`.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

use super::header::{set_log_append_time, set_max_timestamp, BatchHeader, MAGIC_OFFSET};
use super::legacy::{self, Message};
use super::wire::Reader;
use super::{codec, v2, RecordError};

/// First Produce version that must carry exactly one magic-2 batch per partition.
const PRODUCE_V2_ONLY: i16 = 3;
/// First Produce version allowed to use zstd.
const PRODUCE_ZSTD: i16 = 7;

/// The validated (and possibly up-converted) payload of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedBatches {
    /// v2 batches back to back, ready for `Log::append_as_leader`: for magic-2 input a
    /// reference to the request's own bytes, not a copy.
    pub data: Bytes,
    /// One header per batch in `data`, in order.
    pub headers: Vec<BatchHeader>,
    /// Records over all batches.
    pub record_count: usize,
    /// True when `data` was built from a v0/v1 message set.
    pub converted: bool,
}

/// Validates the raw `records` of one partition of a Produce request of `produce_version`;
/// with `keys_required` (the topic is compacted) every record must have a key, as Kafka's
/// `LogValidator.validateKey` demands. Errors map to CORRUPT_MESSAGE, INVALID_RECORD,
/// MESSAGE_TOO_LARGE and UNSUPPORTED_COMPRESSION_TYPE at the API edge.
pub fn validate_produce(
    records: &Bytes,
    produce_version: i16,
    max_message_bytes: usize,
    keys_required: bool,
) -> Result<ValidatedBatches, RecordError> {
    let magic = records
        .get(MAGIC_OFFSET)
        .map(|m| *m as i8)
        .ok_or_else(|| RecordError::Corrupt(format!("{} bytes of records", records.len())))?;
    match magic {
        2 => validate_v2(records, produce_version, max_message_bytes, keys_required),
        0 | 1 if produce_version >= PRODUCE_V2_ONLY => Err(RecordError::Invalid(format!(
            "Produce v{produce_version} requires magic 2, found {magic}"
        ))),
        0 | 1 => up_convert(records, produce_version, max_message_bytes, keys_required),
        other => Err(RecordError::Corrupt(format!("unknown magic {other}"))),
    }
}

fn validate_v2(
    records: &Bytes,
    version: i16,
    max: usize,
    keys_required: bool,
) -> Result<ValidatedBatches, RecordError> {
    let mut headers = Vec::new();
    let mut record_count = 0usize;
    // (position, true max timestamp) of batches whose header says otherwise.
    let mut wrong_max = Vec::new();
    let mut pos = 0;
    while pos < records.len() {
        if version >= PRODUCE_V2_ONLY && !headers.is_empty() {
            return Err(RecordError::Invalid(format!(
                "Produce v{version} must carry exactly one record batch per partition"
            )));
        }
        let rest = &records[pos..];
        let header = BatchHeader::parse(rest)?;
        let batch = rest.get(..header.total_size()).ok_or_else(|| {
            RecordError::Corrupt(format!(
                "batch of {} bytes but only {} available",
                header.total_size(),
                rest.len()
            ))
        })?;
        let max_timestamp = validate_batch(&header, batch, version, max, keys_required)?;
        if !header.is_log_append_time() && max_timestamp != header.max_timestamp {
            wrong_max.push((pos, max_timestamp));
        }
        record_count += header.records_count as usize;
        headers.push(header);
        pos += batch.len();
    }
    let data = if wrong_max.is_empty() {
        records.clone()
    } else {
        fix_max_timestamps(records, &wrong_max, &mut headers)?
    };
    Ok(ValidatedBatches {
        data,
        headers,
        record_count,
        converted: false,
    })
}

/// Kafka's `LogValidator` sets each batch's max timestamp to the largest record timestamp,
/// whatever the producer wrote: the time index and ListOffsets by timestamp trust that field.
/// Only batches that got it wrong pay for the copy.
fn fix_max_timestamps(
    records: &Bytes,
    wrong: &[(usize, i64)],
    headers: &mut [BatchHeader],
) -> Result<Bytes, RecordError> {
    let mut data = BytesMut::from(&records[..]);
    for &(pos, max_timestamp) in wrong {
        set_max_timestamp(&mut data[pos..], max_timestamp);
    }
    let mut pos = 0;
    for header in headers.iter_mut() {
        *header = BatchHeader::parse(&data[pos..])?;
        pos += header.total_size();
    }
    Ok(data.freeze())
}

/// All checks on one complete producer batch, in Kafka's order: codec, size, CRC, control,
/// counts, then every record (and its key, with `keys_required`). Returns the largest record
/// timestamp.
fn validate_batch(
    header: &BatchHeader,
    batch: &[u8],
    version: i16,
    max: usize,
    keys_required: bool,
) -> Result<i64, RecordError> {
    check_codec(header.compression(), version)?;
    check_size(batch.len(), max)?;
    header.verify_crc(batch)?;
    if header.is_control() {
        return Err(RecordError::Invalid(
            "clients may not write control batches".into(),
        ));
    }
    check_counts(header)?;
    v2::check_records(header, batch, keys_required)
}

fn check_codec(codec: i16, version: i16) -> Result<(), RecordError> {
    match codec {
        codec::NONE..=codec::LZ4 => Ok(()),
        codec::ZSTD if version >= PRODUCE_ZSTD => Ok(()),
        codec::ZSTD => Err(RecordError::UnsupportedCompression(format!(
            "zstd needs Produce v{PRODUCE_ZSTD}+, request is v{version}"
        ))),
        other => Err(RecordError::Corrupt(format!(
            "unknown compression codec {other}"
        ))),
    }
}

fn check_size(size: usize, max: usize) -> Result<(), RecordError> {
    if size > max {
        return Err(RecordError::TooLarge { size, max });
    }
    Ok(())
}

fn check_counts(header: &BatchHeader) -> Result<(), RecordError> {
    if header.records_count == 0 {
        return Err(RecordError::Corrupt("batch has no records".into()));
    }
    if i64::from(header.records_count) != i64::from(header.last_offset_delta) + 1 {
        return Err(RecordError::Corrupt(format!(
            "record count {} does not match last offset delta {}",
            header.records_count, header.last_offset_delta
        )));
    }
    Ok(())
}

/// What the records of a legacy message set add up to before encoding.
#[derive(Default)]
struct Collected {
    records: Vec<Record>,
    /// First non-none codec seen on a wrapper; the converted batch keeps it.
    codec: i16,
    /// Set when a top-level message asked for LogAppendTime: its (max) timestamp.
    log_append_time: Option<i64>,
    /// Every message needs a key (a compacted topic).
    keys_required: bool,
}

fn up_convert(
    records: &[u8],
    version: i16,
    max: usize,
    keys_required: bool,
) -> Result<ValidatedBatches, RecordError> {
    let mut collected = Collected {
        keys_required,
        ..Collected::default()
    };
    let mut r = Reader::new(records);
    while r.remaining() > 0 {
        let msg = legacy::read_entry(&mut r)?;
        collect_entry(&msg, version, max, &mut collected)?;
    }
    encode_converted(collected, max)
}

fn collect_entry(
    msg: &Message<'_>,
    version: i16,
    max: usize,
    out: &mut Collected,
) -> Result<(), RecordError> {
    check_codec(msg.codec(), version)?;
    check_size(msg.entry_size, max)?;
    if msg.is_log_append_time() {
        out.log_append_time = Some(out.log_append_time.unwrap_or(i64::MIN).max(msg.timestamp));
    }
    if msg.codec() == codec::NONE {
        // An uncompressed message is a batch of its own to Kafka: record 0 of it.
        if out.keys_required && msg.key.is_none() {
            return Err(RecordError::KeysRequired(vec![0]));
        }
        out.records.push(new_record(
            out.records.len(),
            msg.timestamp,
            msg.key,
            msg.value,
        ));
        return Ok(());
    }
    if out.codec == codec::NONE {
        out.codec = msg.codec();
    }
    collect_wrapped(msg, out)
}

/// Decompresses a wrapper message and collects its inner messages, which must be
/// uncompressed, of the wrapper's magic, and (v1) carry relative offsets 0..n-1.
fn collect_wrapped(wrapper: &Message<'_>, out: &mut Collected) -> Result<(), RecordError> {
    let value = wrapper
        .value
        .ok_or_else(|| RecordError::Corrupt("compressed wrapper message without a value".into()))?;
    let inner = codec::decompress(wrapper.codec(), value)?;
    let mut r = Reader::new(&inner);
    let mut expected_offset = 0i64;
    let mut keyless = Vec::new();
    while r.remaining() > 0 {
        let msg = legacy::read_entry(&mut r)?;
        check_inner(wrapper, &msg, expected_offset)?;
        if out.keys_required && msg.key.is_none() {
            keyless.push(i32::try_from(expected_offset).unwrap_or(i32::MAX));
        }
        let timestamp = if wrapper.is_log_append_time() {
            wrapper.timestamp
        } else {
            msg.timestamp
        };
        out.records
            .push(new_record(out.records.len(), timestamp, msg.key, msg.value));
        expected_offset += 1;
    }
    if expected_offset == 0 {
        return Err(RecordError::Corrupt(
            "compressed wrapper holds no messages".into(),
        ));
    }
    if !keyless.is_empty() {
        return Err(RecordError::KeysRequired(keyless));
    }
    Ok(())
}

fn check_inner(wrapper: &Message<'_>, msg: &Message<'_>, expected: i64) -> Result<(), RecordError> {
    if msg.codec() != codec::NONE {
        return Err(RecordError::Corrupt("nested compressed message".into()));
    }
    if msg.magic != wrapper.magic {
        return Err(RecordError::Corrupt(format!(
            "inner magic {} inside a magic {} wrapper",
            msg.magic, wrapper.magic
        )));
    }
    if wrapper.magic > 0 && msg.offset != expected {
        return Err(RecordError::Corrupt(format!(
            "inner relative offset {} where {expected} was expected",
            msg.offset
        )));
    }
    Ok(())
}

/// A record for the converted batch: offset = its index, no producer state. The sequence is
/// set to `index - 1` only so that `RecordBatchEncoder` keeps every record in one batch (it
/// splits when `offset - sequence` changes); the batch's base sequence comes out as -1.
fn new_record(index: usize, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Record {
    let offset = index as i64;
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: (offset - 1) as i32,
        timestamp,
        key: key.map(Bytes::copy_from_slice),
        value: value.map(Bytes::copy_from_slice),
        headers: Default::default(),
    }
}

fn compression_of(codec: i16) -> Compression {
    match codec {
        codec::GZIP => Compression::Gzip,
        codec::SNAPPY => Compression::Snappy,
        codec::LZ4 => Compression::Lz4,
        codec::ZSTD => Compression::Zstd,
        _ => Compression::None,
    }
}

fn encode_converted(collected: Collected, max: usize) -> Result<ValidatedBatches, RecordError> {
    if collected.records.is_empty() {
        return Err(RecordError::Corrupt("message set holds no messages".into()));
    }
    let options = RecordEncodeOptions {
        version: 2,
        compression: compression_of(collected.codec),
    };
    let mut data = BytesMut::new();
    let mut headers = Vec::new();
    for chunk in timestamp_spans(&collected.records) {
        let start = data.len();
        RecordBatchEncoder::encode(&mut data, chunk, &options)
            .map_err(|e| RecordError::Invalid(format!("cannot up-convert message set: {e:#}")))?;
        if let Some(now) = collected.log_append_time {
            set_log_append_time(&mut data[start..], now);
        }
        let header = BatchHeader::parse(&data[start..])?;
        if start + header.total_size() != data.len() {
            return Err(RecordError::Invalid(
                "up-conversion produced several batches".into(),
            ));
        }
        check_size(header.total_size(), max)?;
        headers.push(header);
    }
    Ok(ValidatedBatches {
        data: data.freeze(),
        headers,
        record_count: collected.records.len(),
        converted: true,
    })
}

/// Splits `records` (in offset order) into runs whose timestamps span at most `i32::MAX` ms:
/// the encoder writes timestamp deltas as i32 varints, so one v2 batch of its making cannot
/// span more than ~24.8 days (Kafka writes varlongs and needs no split).
fn timestamp_spans(records: &[Record]) -> Vec<&[Record]> {
    let mut spans = Vec::new();
    let (mut start, mut lo, mut hi) = (0, i64::MAX, i64::MIN);
    for (i, r) in records.iter().enumerate() {
        let (new_lo, new_hi) = (lo.min(r.timestamp), hi.max(r.timestamp));
        if new_hi.saturating_sub(new_lo) > i64::from(i32::MAX) {
            spans.push(&records[start..i]);
            (start, lo, hi) = (i, r.timestamp, r.timestamp);
        } else {
            (lo, hi) = (new_lo, new_hi);
        }
    }
    spans.push(&records[start..]);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::testutil::{
        decode_all, fix_crc, legacy_plain, legacy_wrapped, record, records, v2_batch, wide_batch,
    };
    use kafka_protocol::records::NO_TIMESTAMP;

    /// The production entry point, fed a copy of a test buffer.
    fn validate(records: &[u8], version: i16, max: usize) -> Result<ValidatedBatches, RecordError> {
        validate_produce(&Bytes::copy_from_slice(records), version, max, false)
    }

    const MAX: usize = 1 << 20;
    const CODECS: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    #[test]
    fn v2_batches_pass_unchanged_for_every_codec() {
        for codec in CODECS {
            let batch = v2_batch(&records(0, 10), codec);
            let got = validate(&batch, 9, MAX).expect("valid");
            assert_eq!(&got.data[..], &batch[..], "{codec:?}");
            assert_eq!(got.headers.len(), 1);
            assert_eq!(got.headers[0].compression(), codec as i16);
            assert_eq!(got.record_count, 10);
            assert!(!got.converted);
        }
    }

    #[test]
    fn flipped_byte_is_corrupt() {
        for codec in [Compression::None, Compression::Gzip] {
            let mut batch = v2_batch(&records(0, 5), codec);
            let last = batch.len() - 3;
            batch[last] ^= 0x40;
            let err = validate(&batch, 3, MAX).expect_err("corrupt");
            assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
        }
    }

    #[test]
    fn short_input_and_partial_batch_are_corrupt() {
        let batch = v2_batch(&records(0, 5), Compression::None);
        for input in [
            &[][..],
            &batch[..10],
            &batch[..60],
            &batch[..batch.len() - 1],
        ] {
            let err = validate(input, 3, MAX).expect_err("corrupt");
            assert!(
                matches!(err, RecordError::Corrupt(_)),
                "{} bytes: {err:?}",
                input.len()
            );
        }
    }

    #[test]
    fn two_batches_need_an_old_request() {
        let mut two = v2_batch(&records(0, 3), Compression::None);
        two.extend_from_slice(&v2_batch(&records(0, 2), Compression::Gzip));
        let err = validate(&two, 3, MAX).expect_err("v3 allows one batch");
        assert!(matches!(err, RecordError::Invalid(_)), "{err:?}");
        let got = validate(&two, 2, MAX).expect("v2 accepts several");
        assert_eq!(got.headers.len(), 2);
        assert_eq!(got.record_count, 5);
    }

    #[test]
    fn oversized_batch_is_too_large() {
        let batch = v2_batch(&records(0, 20), Compression::None);
        let err = validate(&batch, 3, batch.len() - 1).expect_err("too large");
        assert_eq!(
            err,
            RecordError::TooLarge {
                size: batch.len(),
                max: batch.len() - 1
            }
        );
        assert!(validate(&batch, 3, batch.len()).is_ok());
    }

    #[test]
    fn zstd_needs_produce_v7() {
        let batch = v2_batch(&records(0, 3), Compression::Zstd);
        let err = validate(&batch, 3, MAX).expect_err("zstd on v3");
        assert!(
            matches!(err, RecordError::UnsupportedCompression(_)),
            "{err:?}"
        );
        assert!(validate(&batch, 7, MAX).is_ok());
    }

    #[test]
    fn unknown_codec_is_corrupt() {
        let mut batch = v2_batch(&records(0, 3), Compression::None);
        batch[22] |= 0x07;
        fix_crc(&mut batch);
        let err = validate(&batch, 9, MAX).expect_err("codec 7");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn count_mismatch_is_corrupt() {
        let mut batch = v2_batch(&records(0, 3), Compression::None);
        batch[57..61].copy_from_slice(&4i32.to_be_bytes());
        fix_crc(&mut batch);
        let err = validate(&batch, 3, MAX).expect_err("count");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
        // Consistent header, but the payload holds fewer records than it claims.
        batch[23..27].copy_from_slice(&3i32.to_be_bytes());
        fix_crc(&mut batch);
        let err = validate(&batch, 3, MAX).expect_err("payload");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn out_of_order_offset_deltas_are_corrupt() {
        let recs = vec![record(1, 5), record(0, 5)];
        let batch = v2_batch(&recs, Compression::Lz4);
        let err = validate(&batch, 3, MAX).expect_err("order");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn control_batch_from_producer_is_invalid() {
        let mut recs = records(0, 1);
        recs[0].control = true;
        let batch = v2_batch(&recs, Compression::None);
        let err = validate(&batch, 3, MAX).expect_err("control");
        assert!(matches!(err, RecordError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn null_header_values_are_accepted() {
        let mut recs = records(0, 2);
        recs[1].headers.insert("trace".into(), None);
        recs[1]
            .headers
            .insert("id".into(), Some(Bytes::from_static(b"7")));
        let batch = v2_batch(&recs, Compression::Snappy);
        assert!(validate(&batch, 3, MAX).is_ok());
    }

    #[test]
    fn compacted_topics_need_keys_in_every_format() {
        // records() leaves every third record without a key.
        for codec in CODECS {
            let batch = v2_batch(&records(0, 5), codec);
            let err = validate_produce(&Bytes::from(batch.clone()), 9, MAX, true)
                .expect_err("keyless records");
            assert_eq!(err, RecordError::KeysRequired(vec![0, 3]), "{codec:?}");
            assert!(validate_produce(&Bytes::from(batch), 9, MAX, false).is_ok());
            let keyed = v2_batch(&records(1, 3), codec);
            assert!(validate_produce(&Bytes::from(keyed), 9, MAX, true).is_ok());
        }
        // Old producers: each plain message is a batch of its own to Kafka (record 0 of it),
        // a compressed wrapper one batch.
        let plain = legacy_plain(&records(1, 4), 1, |i| i as i64);
        assert_eq!(
            validate_produce(&Bytes::from(plain), 2, MAX, true),
            Err(RecordError::KeysRequired(vec![0]))
        );
        let wrapped = legacy_wrapped(&records(1, 5), 1, Compression::Gzip, 0);
        assert_eq!(
            validate_produce(&Bytes::from(wrapped), 2, MAX, true),
            Err(RecordError::KeysRequired(vec![2]))
        );
        let keyed = legacy_wrapped(&records(1, 3), 0, Compression::Gzip, 0);
        assert!(validate_produce(&Bytes::from(keyed), 1, MAX, true).is_ok());
    }

    #[test]
    fn legacy_magic_needs_an_old_request() {
        let set = legacy_plain(&records(0, 2), 1, |i| i as i64);
        let err = validate(&set, 3, MAX).expect_err("v1 on v3");
        assert!(matches!(err, RecordError::Invalid(_)), "{err:?}");
    }

    /// Checks a converted payload: one v2 batch, offsets 0..n-1, no producer state, and the
    /// keys, values and timestamps of `originals`.
    fn assert_converted(got: &ValidatedBatches, originals: &[Record], magic: i8) {
        assert!(got.converted);
        assert_eq!(got.headers.len(), 1);
        assert_eq!(got.record_count, originals.len());
        let header = got.headers[0];
        assert_eq!(header.total_size(), got.data.len());
        assert_eq!(
            (
                header.producer_id,
                header.producer_epoch,
                header.base_sequence
            ),
            (-1, -1, -1)
        );
        let decoded = decode_all(&got.data);
        assert_eq!(decoded.len(), originals.len());
        for (i, (d, o)) in decoded.iter().zip(originals).enumerate() {
            assert_eq!(d.offset, i as i64);
            assert_eq!((&d.key, &d.value), (&o.key, &o.value));
            let ts = if magic == 0 {
                NO_TIMESTAMP
            } else {
                o.timestamp
            };
            assert_eq!(d.timestamp, ts);
        }
    }

    #[test]
    fn plain_message_sets_become_one_batch() {
        let originals = records(0, 7);
        for magic in [0, 1] {
            // Old producers put arbitrary offsets on uncompressed messages.
            let set = legacy_plain(&originals, magic, |_| 0);
            let got = validate(&set, 2, MAX).expect("valid");
            assert_converted(&got, &originals, magic);
            assert_eq!(got.headers[0].compression(), 0);
        }
    }

    #[test]
    fn wrapped_message_sets_keep_their_codec() {
        let originals = records(0, 9);
        for (magic, codec) in [
            (0, Compression::Gzip),
            (1, Compression::Gzip),
            (1, Compression::Snappy),
            (1, Compression::Lz4),
        ] {
            let set = legacy_wrapped(&originals, magic, codec, 0);
            let got = validate(&set, 2, MAX).expect("valid");
            assert_converted(&got, &originals, magic);
            assert_eq!(got.headers[0].compression(), codec as i16);
        }
    }

    #[test]
    fn several_wrappers_and_plain_messages_concatenate() {
        let a = records(0, 3);
        let b = records(3, 5);
        let mut set = legacy_wrapped(&a, 1, Compression::Gzip, 0);
        set.extend_from_slice(&legacy_plain(&b, 1, |i| i as i64));
        let got = validate(&set, 1, MAX).expect("valid");
        assert_converted(&got, &records(0, 5), 1);
    }

    #[test]
    fn log_append_time_wrapper_stamps_the_batch() {
        let originals = records(0, 3);
        let set = legacy_wrapped(
            &originals,
            1,
            Compression::Gzip,
            legacy::LOG_APPEND_TIME_BIT,
        );
        let got = validate(&set, 2, MAX).expect("valid");
        let header = got.headers[0];
        assert!(header.is_log_append_time());
        assert_eq!(header.max_timestamp, 1_002);
        header.verify_crc(&got.data).expect("crc");
    }

    #[test]
    fn broken_message_sets_are_rejected() {
        let originals = records(0, 4);
        let mut set = legacy_plain(&originals, 1, |i| i as i64);
        let last = set.len() - 1;
        set[last] ^= 1;
        let err = validate(&set, 2, MAX).expect_err("crc");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");

        let set = legacy_plain(&originals, 1, |i| i as i64);
        let err = validate(&set[..set.len() - 2], 2, MAX).expect_err("partial");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");

        let err = validate(&set, 2, 30).expect_err("too large");
        assert!(matches!(err, RecordError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn legacy_zstd_is_unsupported() {
        let set = legacy_wrapped(&records(0, 2), 1, Compression::Zstd, 0);
        let err = validate(&set, 2, MAX).expect_err("zstd");
        assert!(
            matches!(err, RecordError::UnsupportedCompression(_)),
            "{err:?}"
        );
    }

    #[test]
    fn converted_batch_over_the_limit_is_too_large() {
        // Each message fits, the single converted batch does not.
        let originals = records(0, 20);
        let set = legacy_plain(&originals, 1, |i| i as i64);
        let got = validate(&set, 2, MAX).expect("valid");
        let limit = got.data.len() - 1;
        let err = validate(&set, 2, limit).expect_err("too large");
        assert!(matches!(err, RecordError::TooLarge { .. }), "{err:?}");
    }

    /// The Java client and kafka-python frame snappy data the xerial way.
    #[test]
    fn xerial_snappy_batches_are_accepted() {
        let plain = v2_batch(&records(0, 4), Compression::None);
        let chunk = crate::records::testutil::compress(Compression::Snappy, &plain[61..]);
        let mut batch = plain[..61].to_vec();
        batch.extend_from_slice(&[
            0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
        ]);
        batch.extend_from_slice(&(chunk.len() as i32).to_be_bytes());
        batch.extend_from_slice(&chunk);
        let length = (batch.len() - 12) as i32;
        batch[8..12].copy_from_slice(&length.to_be_bytes());
        batch[22] |= Compression::Snappy as u8;
        fix_crc(&mut batch);
        let got = validate(&batch, 3, MAX).expect("valid");
        assert_eq!(&got.data[..], &batch[..]);
        assert_eq!(got.record_count, 4);
    }

    #[test]
    fn v1_wrapper_needs_relative_inner_offsets() {
        let originals = records(0, 3);
        let inner = legacy_plain(&originals, 1, |i| 100 + i as i64);
        let value = crate::records::testutil::compress(Compression::Gzip, &inner);
        let mut set = bytes::BytesMut::new();
        let wrapper = legacy::OutMessage {
            offset: 102,
            magic: 1,
            attributes: Compression::Gzip as i8,
            timestamp: 1_002,
            key: None,
            value: Some(&value),
        };
        legacy::write_message(&mut set, &wrapper);
        let err = validate(&set, 2, MAX).expect_err("absolute inner offsets");
        assert!(matches!(err, RecordError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn a_wrong_max_timestamp_is_set_to_the_largest_record_timestamp() {
        for codec in [Compression::None, Compression::Gzip] {
            // librdkafka-style batch spanning more than an i32 of milliseconds, its header
            // claiming the first timestamp as the max.
            let raw = wide_batch(&[1234, 999_999_999_999, 5], codec, Some(1234));
            let got =
                validate_produce(&Bytes::from(raw.clone()), 9, 1 << 20, false).expect("valid");
            let header = got.headers[0];
            assert_eq!(header.max_timestamp, 999_999_999_999);
            assert_eq!(BatchHeader::parse(&got.data).expect("parse"), header);
            header.verify_crc(&got.data).expect("crc recomputed");
            assert_eq!(got.data.len(), raw.len());
            // A right one is kept byte for byte.
            let right = wide_batch(&[1234, 999_999_999_999, 5], codec, None);
            let kept =
                validate_produce(&Bytes::from(right.clone()), 9, 1 << 20, false).expect("valid");
            assert_eq!(&kept.data[..], &right[..]);
        }
    }

    #[test]
    fn legacy_timestamps_wider_than_an_i32_up_convert_to_several_batches() {
        let mut recs = records(0, 4);
        recs[2].timestamp = 999_999_999_999;
        let set = legacy_plain(&recs, 1, |i| i as i64);
        let got = validate_produce(&Bytes::from(set), 2, 1 << 20, false).expect("valid");
        assert_eq!(got.record_count, 4);
        let spans: Vec<(i32, i64)> = got
            .headers
            .iter()
            .map(|h| (h.records_count, h.max_timestamp))
            .collect();
        assert_eq!(spans, vec![(2, 1001), (1, 999_999_999_999), (1, 1003)]);
    }
}
