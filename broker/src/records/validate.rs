//! Produce payload validation: the checks Kafka's `ProduceRequest.validateRecords`,
//! `UnifiedLog.analyzeAndValidateRecords` and `LogValidator` make before a leader appends.
//!
//! - Magic-2 input is checked batch by batch and kept byte-for-byte (compressed batches are
//!   decompressed only to walk their records; they are never recompressed), so producer CRCs
//!   survive into the log.
//! - Magic-0/1 message sets (old producers, Produce v0-v2) are checked message by message,
//!   wrapper messages are decompressed, and the whole set is up-converted to ONE v2 batch with
//!   the wrapper's codec, base offset 0 and no producer id/epoch/sequence.
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

use super::header::{set_log_append_time, BatchHeader, MAGIC_OFFSET};
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
    /// v2 batches back to back, ready for `Log::append_as_leader`.
    pub data: BytesMut,
    /// One header per batch in `data`, in order.
    pub headers: Vec<BatchHeader>,
    /// Records over all batches.
    pub record_count: usize,
    /// True when `data` was built from a v0/v1 message set.
    pub converted: bool,
}

/// Validates the raw `records` of one partition of a Produce request of `produce_version`.
/// Errors map to CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE and
/// UNSUPPORTED_COMPRESSION_TYPE at the API edge.
pub fn validate_produce(
    records: &[u8],
    produce_version: i16,
    max_message_bytes: usize,
) -> Result<ValidatedBatches, RecordError> {
    let magic = records
        .get(MAGIC_OFFSET)
        .map(|m| *m as i8)
        .ok_or_else(|| RecordError::Corrupt(format!("{} bytes of records", records.len())))?;
    match magic {
        2 => validate_v2(records, produce_version, max_message_bytes),
        0 | 1 if produce_version >= PRODUCE_V2_ONLY => Err(RecordError::Invalid(format!(
            "Produce v{produce_version} requires magic 2, found {magic}"
        ))),
        0 | 1 => up_convert(records, produce_version, max_message_bytes),
        other => Err(RecordError::Corrupt(format!("unknown magic {other}"))),
    }
}

fn validate_v2(records: &[u8], version: i16, max: usize) -> Result<ValidatedBatches, RecordError> {
    let mut headers = Vec::new();
    let mut record_count = 0usize;
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
        validate_batch(&header, batch, version, max)?;
        record_count += header.records_count as usize;
        headers.push(header);
        pos += batch.len();
    }
    Ok(ValidatedBatches {
        data: BytesMut::from(records),
        headers,
        record_count,
        converted: false,
    })
}

/// All checks on one complete producer batch, in Kafka's order: codec, size, CRC, control,
/// counts, then every record.
fn validate_batch(
    header: &BatchHeader,
    batch: &[u8],
    version: i16,
    max: usize,
) -> Result<(), RecordError> {
    check_codec(header.compression(), version)?;
    check_size(batch.len(), max)?;
    header.verify_crc(batch)?;
    if header.is_control() {
        return Err(RecordError::Invalid(
            "clients may not write control batches".into(),
        ));
    }
    check_counts(header)?;
    check_offset_deltas(header, batch)
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

/// Walks every record (decompressing if needed) and requires offset deltas 0, 1, ..., n-1.
fn check_offset_deltas(header: &BatchHeader, batch: &[u8]) -> Result<(), RecordError> {
    let mut expected = 0i32;
    v2::for_each_record(header, batch, |rec| {
        if rec.offset_delta != expected {
            return Err(RecordError::Corrupt(format!(
                "record offset delta {} where {expected} was expected",
                rec.offset_delta
            )));
        }
        expected += 1;
        Ok(())
    })
}

/// What the records of a legacy message set add up to before encoding.
#[derive(Default)]
struct Collected {
    records: Vec<Record>,
    /// First non-none codec seen on a wrapper; the converted batch keeps it.
    codec: i16,
    /// Set when a top-level message asked for LogAppendTime: its (max) timestamp.
    log_append_time: Option<i64>,
}

fn up_convert(records: &[u8], version: i16, max: usize) -> Result<ValidatedBatches, RecordError> {
    let mut collected = Collected::default();
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
    while r.remaining() > 0 {
        let msg = legacy::read_entry(&mut r)?;
        check_inner(wrapper, &msg, expected_offset)?;
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
    RecordBatchEncoder::encode(&mut data, &collected.records, &options)
        .map_err(|e| RecordError::Invalid(format!("cannot up-convert message set: {e:#}")))?;
    if let Some(now) = collected.log_append_time {
        set_log_append_time(&mut data, now);
    }
    let header = BatchHeader::parse(&data)?;
    if header.total_size() != data.len() {
        return Err(RecordError::Invalid(
            "up-conversion produced several batches".into(),
        ));
    }
    check_size(data.len(), max)?;
    Ok(ValidatedBatches {
        data,
        headers: vec![header],
        record_count: collected.records.len(),
        converted: true,
    })
}
