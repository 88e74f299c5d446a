//! The records of one partition of a Produce request: the first byte picks the Produce
//! version (0-9), the rest is the payload. Whatever validation accepts must be what the log
//! and old consumers can use: batches that tile the data exactly, counts that add up, and a
//! down-conversion to magic 0 and 1 that succeeds. The raw input is also down-converted as if
//! it were stored log data (disk corruption must be an error, never a panic). Before
//! validation the payload's outer checksums are recomputed, or the fuzzer would rarely get
//! past them to the records. The key rule of compacted topics may only refuse more: what it
//! accepts is accepted, identically, without it.
#![no_main]

use broker::records::convert::down_convert;
use broker::records::validate::validate_produce;
use broker::records::BatchHeader;
use bytes::Bytes;
use kafka_protocol::records::IEEE;
use libfuzzer_sys::fuzz_target;

const MAX_MESSAGE_BYTES: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let version = i16::from(selector % 10);
    let min_offset = i64::from(selector / 10);
    for magic in 0..=2 {
        let _ = down_convert(payload, magic, min_offset);
    }
    let mut repaired = payload.to_vec();
    repair_checksums(&mut repaired);
    let records = Bytes::from(repaired);
    let keyed = validate_produce(&records, version, MAX_MESSAGE_BYTES, true);
    let Ok(valid) = validate_produce(&records, version, MAX_MESSAGE_BYTES, false) else {
        assert!(keyed.is_err(), "accepted only when every record needs a key");
        return;
    };
    if let Ok(keyed) = keyed {
        assert_eq!(keyed, valid, "the key rule changed what was accepted");
    }
    assert!(!valid.headers.is_empty(), "accepted without a batch");
    let mut pos = 0;
    let mut count = 0usize;
    for header in &valid.headers {
        let again = BatchHeader::parse(&valid.data[pos..]).expect("accepted header re-parses");
        assert_eq!(&again, header, "header at {pos}");
        assert!(header.records_count > 0, "accepted an empty batch");
        count += header.records_count as usize;
        pos += header.total_size();
    }
    assert_eq!(pos, valid.data.len(), "batches do not tile the data");
    assert_eq!(count, valid.record_count, "record counts disagree");
    for magic in 0..=2 {
        if let Err(e) = down_convert(&valid.data, magic, 0) {
            panic!("accepted batches fail down-conversion to magic {magic}: {e}");
        }
    }
});

/// Walks the entries by their length fields (offset i64, length i32, then magic at byte 16 of
/// both framings) and rewrites each one's checksum: CRC-32C over [21, end) for a v2 batch,
/// IEEE CRC-32 over [16, end) for a v0/v1 message. Stops at the first entry that does not fit.
fn repair_checksums(buf: &mut [u8]) {
    let mut pos = 0usize;
    while let Some(entry) = buf.get(pos..pos + 17) {
        let length = i32::from_be_bytes([entry[8], entry[9], entry[10], entry[11]]);
        let magic = entry[16];
        let Ok(length) = usize::try_from(length) else {
            return;
        };
        let end = pos + 12 + length;
        let Some(entry) = buf.get_mut(pos..end) else {
            return;
        };
        match magic {
            2 if entry.len() >= 21 => {
                let crc = crc32c::crc32c(&entry[21..]);
                entry[17..21].copy_from_slice(&crc.to_be_bytes());
            }
            0 | 1 if entry.len() >= 16 => {
                let crc = IEEE.checksum(&entry[16..]);
                entry[12..16].copy_from_slice(&crc.to_be_bytes());
            }
            _ => return,
        }
        pos = end;
    }
}
