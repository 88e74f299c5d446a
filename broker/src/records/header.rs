//! The v2 record batch header (Kafka's `DefaultRecordBatch`).
//!
//! Layout (big-endian): baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12,
//! magic i8 @16, crc u32 @17, attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64 @27,
//! maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51, baseSequence i32 @53,
//! recordsCount i32 @57, records @61. The CRC-32C covers bytes [21, end), so the leader can
//! assign offsets and stamp its epoch without recomputing it.

use thiserror::Error;

/// Size of the fixed part of a v2 batch.
pub const HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` counts: baseOffset + batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// Offset of the magic byte, the same position in v0, v1 and v2 framing.
pub const MAGIC_OFFSET: usize = 16;

const BATCH_LENGTH_OFFSET: usize = 8;
const LEADER_EPOCH_OFFSET: usize = 12;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const BASE_TIMESTAMP_OFFSET: usize = 27;
const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
const RECORDS_COUNT_OFFSET: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;
/// KIP-534: the base timestamp holds the time after which the batch's tombstones may go.
pub(crate) const DELETE_HORIZON_BIT: i16 = 0x40;

/// Why a batch or message set was refused. Mapped to Kafka error codes at the API edge.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Framing, CRC or record structure is broken (CORRUPT_MESSAGE).
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
    /// Well-formed but not acceptable (INVALID_RECORD), e.g. several batches in Produce v3+.
    #[error("invalid record: {0}")]
    Invalid(String),
    /// A batch larger than `message.max.bytes` (MESSAGE_TOO_LARGE).
    #[error("record batch of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// A codec the request version cannot carry, e.g. zstd before Produce v7
    /// (UNSUPPORTED_COMPRESSION_TYPE).
    #[error("unsupported compression: {0}")]
    UnsupportedCompression(String),
    /// Records without a key sent to a compacted topic (INVALID_RECORD, one record error per
    /// record): their indexes in the first batch that had any, as Kafka's `LogValidator`
    /// stops at the first such batch.
    #[error(
        "invalid record: a compacted topic needs a key on every record (records {0:?} have none)"
    )]
    KeysRequired(Vec<i32>),
}

/// A parsed v2 batch header. Parsing never trusts the peer: every length is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Parses the header at the start of `buf`, which must hold at least [`HEADER_SIZE`] bytes
    /// and be a magic-2 batch. Does not check the CRC (see [`BatchHeader::verify_crc`]).
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, RecordError> {
        if buf.len() < HEADER_SIZE {
            return Err(RecordError::Corrupt(format!(
                "{} bytes is shorter than a batch header",
                buf.len()
            )));
        }
        let magic = buf[MAGIC_OFFSET] as i8;
        if magic != 2 {
            return Err(RecordError::Corrupt(format!(
                "expected magic 2, found {magic}"
            )));
        }
        let batch_length = be_i32(buf, BATCH_LENGTH_OFFSET);
        if (batch_length as i64) < (HEADER_SIZE - LOG_OVERHEAD) as i64 {
            return Err(RecordError::Corrupt(format!(
                "batch length {batch_length} too small"
            )));
        }
        let header = BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length,
            partition_leader_epoch: be_i32(buf, LEADER_EPOCH_OFFSET),
            magic,
            crc: be_i32(buf, CRC_OFFSET) as u32,
            attributes: be_i16(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA_OFFSET),
            base_timestamp: be_i64(buf, BASE_TIMESTAMP_OFFSET),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP_OFFSET),
            producer_id: be_i64(buf, PRODUCER_ID_OFFSET),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH_OFFSET),
            base_sequence: be_i32(buf, BASE_SEQUENCE_OFFSET),
            records_count: be_i32(buf, RECORDS_COUNT_OFFSET),
        };
        if header.records_count < 0 || header.last_offset_delta < 0 {
            return Err(RecordError::Corrupt(
                "negative record count or offset delta".into(),
            ));
        }
        Ok(header)
    }

    /// Total bytes of this batch on the wire / on disk.
    pub fn total_size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Offset after the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & COMPRESSION_MASK
    }

    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// KIP-534: when the log cleaner may drop this batch's tombstones (its base timestamp,
    /// once a cleaning has set the flag).
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes & DELETE_HORIZON_BIT != 0).then_some(self.base_timestamp)
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Whether the producer asked for idempotent handling of this batch.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence number of the last record (sequences wrap at i32::MAX as in Kafka).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = self.base_sequence as i64 + self.last_offset_delta as i64;
        if last > i32::MAX as i64 {
            (last - i32::MAX as i64 - 1) as i32
        } else {
            last as i32
        }
    }

    /// Checks the CRC-32C of a complete batch (`batch` is exactly [`Self::total_size`] bytes).
    pub fn verify_crc(&self, batch: &[u8]) -> Result<(), RecordError> {
        if batch.len() < self.total_size() {
            return Err(RecordError::Corrupt("batch truncated".into()));
        }
        let computed = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..self.total_size()]);
        if computed != self.crc {
            return Err(RecordError::Corrupt(format!(
                "CRC mismatch: stored {:#010x}, computed {computed:#010x}",
                self.crc
            )));
        }
        Ok(())
    }
}

/// Rewrites the base offset of a batch in place (outside the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Stamps the partition leader epoch in place (outside the CRC).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[LEADER_EPOCH_OFFSET..LEADER_EPOCH_OFFSET + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Switches a batch to LogAppendTime with `now_ms` as its max timestamp and recomputes the CRC.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let (head, body) = batch.split_at_mut(HEADER_SIZE);
    stamp_log_append_time(head, body, now_ms);
}

/// Sets the max timestamp of the complete batch at the start of `batch` (keeping its
/// timestamp type) and recomputes the CRC.
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) {
    let end = usize::try_from(be_i32(batch, BATCH_LENGTH_OFFSET))
        .map_or(batch.len(), |len| (LOG_OVERHEAD + len).min(batch.len()));
    batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8]
        .copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..end]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// [`set_log_append_time`] for a batch whose header is held apart from the rest (`body`), so
/// that the leader can patch a copy of the 61 header bytes and write the producer's bytes as
/// they arrived.
pub fn stamp_log_append_time(head: &mut [u8], body: &[u8], now_ms: i64) {
    let attributes = be_i16(head, ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_BIT;
    head[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
    head[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&head[ATTRIBUTES_OFFSET..HEADER_SIZE]), body);
    head[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Iterates over the complete v2 batches at the start of `buf`, yielding `(header, bytes)`.
/// Stops at the first incomplete batch (a fetch response may end with a partial one);
/// returns an error for a header that cannot be parsed.
pub fn batches(buf: &[u8]) -> BatchIter<'_> {
    BatchIter { buf, pos: 0 }
}

/// See [`batches`].
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BatchIter<'a> {
    /// Bytes consumed by the complete batches yielded so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<(BatchHeader, &'a [u8]), RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.len() < HEADER_SIZE {
            return None;
        }
        match BatchHeader::parse(rest) {
            Ok(h) => {
                let size = h.total_size();
                if rest.len() < size {
                    return None;
                }
                self.pos += size;
                Some(Ok((h, &rest[..size])))
            }
            Err(e) => {
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal uncompressed batch with no records, CRC filled in.
    pub(crate) fn empty_batch(base_offset: i64) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(&base_offset.to_be_bytes());
        b[8..12].copy_from_slice(&((HEADER_SIZE - LOG_OVERHEAD) as i32).to_be_bytes());
        b[12..16].copy_from_slice(&(-1i32).to_be_bytes());
        b[16] = 2;
        b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
        b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
        let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn parse_and_verify() {
        let b = empty_batch(5);
        let h = BatchHeader::parse(&b).expect("parse");
        assert_eq!(h.base_offset, 5);
        assert_eq!(h.total_size(), HEADER_SIZE);
        h.verify_crc(&b).expect("crc");
    }

    #[test]
    fn detects_corruption() {
        let mut b = empty_batch(0);
        b[30] ^= 0xff;
        let h = BatchHeader::parse(&b).expect("parse");
        assert!(h.verify_crc(&b).is_err());
    }

    #[test]
    fn rewrites_keep_crc_valid() {
        let mut b = empty_batch(0);
        set_base_offset(&mut b, 42);
        set_partition_leader_epoch(&mut b, 3);
        set_log_append_time(&mut b, 1_700_000_000_000);
        let h = BatchHeader::parse(&b).expect("parse");
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.partition_leader_epoch, 3);
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 1_700_000_000_000);
        h.verify_crc(&b).expect("crc");
    }

    #[test]
    fn iterator_stops_at_partial_batch() {
        let mut buf = empty_batch(0);
        buf.extend_from_slice(&empty_batch(1));
        buf.extend_from_slice(&empty_batch(2)[..30]);
        let got: Vec<_> = batches(&buf).collect();
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn sequence_wraps() {
        let mut b = empty_batch(0);
        b[23..27].copy_from_slice(&4i32.to_be_bytes());
        b[53..57].copy_from_slice(&(i32::MAX - 1).to_be_bytes());
        let h = BatchHeader::parse(&b).expect("parse");
        assert_eq!(h.last_sequence(), 2);
    }
}
