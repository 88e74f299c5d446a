//! v0/v1 message sets (Kafka's `LegacyRecord`): parsing with CRC checks, and writing.
//!
//! Entry: `offset i64 · size i32 · crc u32 · magic i8 · attributes i8 · [timestamp i64 (v1)]
//! · key (i32 len) · value (i32 len)`; the IEEE CRC-32 covers magic..end. Written by hand
//! because `kafka_protocol`'s legacy encoder always writes offset 0 and never sets the
//! timestamp-type bit, and its decoder does not decompress wrapper messages.

use bytes::{BufMut, BytesMut};
use kafka_protocol::records::{IEEE, NO_TIMESTAMP};

use super::header::LOG_OVERHEAD;
use super::wire::Reader;
use super::RecordError;

/// Message size (after the size field) without key/value bytes: crc, magic, attributes,
/// key and value lengths, plus the timestamp for v1.
const V0_OVERHEAD: usize = 14;
const V1_OVERHEAD: usize = 22;
const CODEC_MASK: i8 = 0x07;
/// Attribute bit 3 (v1): LogAppendTime.
pub(crate) const LOG_APPEND_TIME_BIT: i8 = 0x08;

/// One parsed message, borrowing key and value from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    pub(crate) offset: i64,
    pub(crate) magic: i8,
    pub(crate) attributes: i8,
    /// `NO_TIMESTAMP` for magic 0.
    pub(crate) timestamp: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    /// Bytes of the whole entry including offset and size, as `message.max.bytes` counts it.
    pub(crate) entry_size: usize,
}

impl Message<'_> {
    pub(crate) fn codec(&self) -> i16 {
        i16::from(self.attributes & CODEC_MASK)
    }

    pub(crate) fn is_log_append_time(&self) -> bool {
        self.magic > 0 && self.attributes & LOG_APPEND_TIME_BIT != 0
    }
}

/// Reads the entry at the reader's position. Truncation, a bad size, an unknown magic, a CRC
/// mismatch or unconsumed bytes inside the message are all `Corrupt`.
pub(crate) fn read_entry<'a>(r: &mut Reader<'a>) -> Result<Message<'a>, RecordError> {
    let offset = r.i64("message offset")?;
    let size = r.i32("message size")?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s >= V0_OVERHEAD)
        .ok_or_else(|| RecordError::Corrupt(format!("message size {size} below the minimum")))?;
    let body = r.take(size, "message")?;
    let mut m = Reader::new(body);
    let crc = m.u32("message crc")?;
    let computed = IEEE.checksum(&body[4..]);
    if crc != computed {
        return Err(RecordError::Corrupt(format!(
            "message CRC mismatch: stored {crc:#010x}, computed {computed:#010x}"
        )));
    }
    let magic = m.i8("magic")?;
    let min = match magic {
        0 => V0_OVERHEAD,
        1 => V1_OVERHEAD,
        other => return Err(RecordError::Corrupt(format!("message magic {other}"))),
    };
    if size < min {
        return Err(RecordError::Corrupt(format!(
            "message size {size} below {min}"
        )));
    }
    let attributes = m.i8("attributes")?;
    let timestamp = if magic == 1 {
        m.i64("timestamp")?
    } else {
        NO_TIMESTAMP
    };
    let key = m.i32_bytes("message key")?;
    let value = m.i32_bytes("message value")?;
    if m.remaining() != 0 {
        return Err(RecordError::Corrupt(format!(
            "{} stray bytes in message",
            m.remaining()
        )));
    }
    let entry_size = LOG_OVERHEAD + size;
    Ok(Message {
        offset,
        magic,
        attributes,
        timestamp,
        key,
        value,
        entry_size,
    })
}

/// Fields of a message to write. The broker only writes uncompressed messages, whose
/// attributes carry at most [`LOG_APPEND_TIME_BIT`]; tests also build wrapper messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutMessage<'a> {
    pub(crate) offset: i64,
    pub(crate) magic: i8,
    pub(crate) attributes: i8,
    pub(crate) timestamp: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
}

/// Appends one entry with the given offset and a correct IEEE CRC.
pub(crate) fn write_message(out: &mut BytesMut, msg: &OutMessage<'_>) {
    let len_of = |b: Option<&[u8]>| b.map_or(0, <[u8]>::len);
    let overhead = if msg.magic == 0 {
        V0_OVERHEAD
    } else {
        V1_OVERHEAD
    };
    let size = overhead + len_of(msg.key) + len_of(msg.value);
    out.reserve(LOG_OVERHEAD + size);
    out.put_i64(msg.offset);
    out.put_i32(size as i32);
    let crc_at = out.len();
    out.put_u32(0);
    out.put_i8(msg.magic);
    out.put_i8(msg.attributes);
    if msg.magic > 0 {
        out.put_i64(msg.timestamp);
    }
    put_bytes(out, msg.key);
    put_bytes(out, msg.value);
    let crc = IEEE.checksum(&out[crc_at + 4..]);
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_be_bytes());
}

fn put_bytes(out: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            out.put_i32(b.len() as i32);
            out.put_slice(b);
        }
        None => out.put_i32(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let mut out = BytesMut::new();
        let msg = OutMessage {
            offset: 7,
            magic: 1,
            attributes: LOG_APPEND_TIME_BIT,
            timestamp: 1234,
            key: None,
            value: Some(b"v"),
        };
        write_message(&mut out, &msg);
        let mut r = Reader::new(&out);
        let got = read_entry(&mut r).expect("read");
        assert_eq!(got.offset, 7);
        assert!(got.is_log_append_time());
        assert_eq!(got.timestamp, 1234);
        assert_eq!(got.key, None);
        assert_eq!(got.value, Some(&b"v"[..]));
        assert_eq!(got.entry_size, out.len());
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn crc_mismatch_is_corrupt() {
        let mut out = BytesMut::new();
        let msg = OutMessage {
            offset: 0,
            magic: 0,
            attributes: 0,
            timestamp: NO_TIMESTAMP,
            key: Some(b"k"),
            value: Some(b"v"),
        };
        write_message(&mut out, &msg);
        let last = out.len() - 1;
        out[last] ^= 1;
        assert!(matches!(
            read_entry(&mut Reader::new(&out)),
            Err(RecordError::Corrupt(_))
        ));
    }
}
