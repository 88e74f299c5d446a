//! Encodes a Fetch response without copying the records into it.
//!
//! kafka-protocol's encoder copies every partition's record bytes into the response buffer:
//! one more copy of everything a consumer or follower fetches. Instead the response is encoded
//! with its records left out, and the frame is sent as parts: the encoded bytes, cut where each
//! partition's records belong, with the records themselves (a slice of the log, sent from the
//! file) in between.
//!
//! Where each partition's records go is found without re-implementing the Fetch schema: the
//! response is encoded twice, once with every partition's records null and once with every
//! partition's records empty. The two encodings differ only in the records' length prefix
//! (`-1` vs `0` as an int32 before v12, the unsigned varint `0` vs `1` from v12 on), one
//! difference per partition, in encoding order, which is the order of the partitions.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use super::fetch::Fetched;
use super::{Outcome, Part};

/// First Fetch version with flexible (compact) encodings.
const FIRST_FLEXIBLE: i16 = 12;

/// Encodes `fetched` as a frame (size prefix, header, body) of parts whose concatenation is
/// byte for byte what kafka-protocol would have encoded with the records in the response.
pub(super) fn encode(version: i16, correlation_id: i32, fetched: Fetched) -> Outcome {
    let Fetched {
        mut response,
        records,
    } = fetched;
    for topic in &mut response.responses {
        for p in &mut topic.partitions {
            p.records = None;
        }
    }
    let without = match frame(version, correlation_id, &response) {
        Ok(b) => b,
        Err(reason) => return Outcome::Close(reason),
    };
    for topic in &mut response.responses {
        for p in &mut topic.partitions {
            p.records = Some(Bytes::new());
        }
    }
    let with_empty = match frame(version, correlation_id, &response) {
        Ok(b) => b,
        Err(reason) => return Outcome::Close(reason),
    };
    match splice(version, without, &with_empty, records) {
        Ok(parts) => Outcome::RespondParts(parts),
        Err(reason) => Outcome::Close(reason),
    }
}

/// Size placeholder, response header and body.
fn frame(version: i16, correlation_id: i32, response: &FetchResponse) -> Result<BytesMut, String> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut buf, ApiKey::Fetch.response_header_version(version))
        .map_err(|e| format!("encoding Fetch response header: {e}"))?;
    response
        .encode(&mut buf, version)
        .map_err(|e| format!("encoding Fetch v{version} response: {e}"))?;
    Ok(buf)
}

/// Cuts `without` (records all null) at each records field and puts each partition's records,
/// with their length prefix, in its place; patches the frame size.
fn splice(
    version: i16,
    mut without: BytesMut,
    with_empty: &[u8],
    records: Vec<Part>,
) -> Result<Vec<Part>, String> {
    if without.len() != with_empty.len() {
        return Err("Fetch response encodings disagree in length".into());
    }
    let marker_len = if version >= FIRST_FLEXIBLE { 1 } else { 4 };
    let mut markers = Vec::with_capacity(records.len());
    let mut i = 0;
    while i < without.len() {
        if without[i] != with_empty[i] {
            markers.push(i);
            i += marker_len;
        } else {
            i += 1;
        }
    }
    if markers.len() != records.len() {
        return Err(format!(
            "found {} records fields in a Fetch response of {} partitions",
            markers.len(),
            records.len()
        ));
    }
    let mut parts = Vec::with_capacity(2 * records.len() + 1);
    let mut prefix = BytesMut::new();
    let mut consumed = 0;
    for (at, data) in markers.into_iter().zip(records) {
        let head = without.split_to(at - consumed);
        let _null_marker = without.split_to(marker_len);
        consumed = at + marker_len;
        prefix.extend_from_slice(&head);
        put_length(&mut prefix, version, data.len())?;
        if !data.is_empty() {
            parts.push(Part::Bytes(prefix.split().freeze()));
            parts.push(data);
        }
    }
    prefix.extend_from_slice(&without);
    if !prefix.is_empty() {
        parts.push(Part::Bytes(prefix.freeze()));
    }
    // The frame size counts what the length prefixes added too.
    let total: usize = parts.iter().map(Part::len).sum();
    let size = i32::try_from(total - 4).map_err(|_| "Fetch response over 2 GiB".to_string())?;
    match parts.first_mut() {
        Some(Part::Bytes(first)) => {
            let mut patched = BytesMut::from(&first[..]);
            patched[0..4].copy_from_slice(&size.to_be_bytes());
            *first = patched.freeze();
        }
        _ => return Err("Fetch response does not start with its size".into()),
    }
    Ok(parts)
}

/// The length prefix of non-null records: int32 before v12, unsigned varint of len + 1 after.
fn put_length(buf: &mut BytesMut, version: i16, len: usize) -> Result<(), String> {
    if version < FIRST_FLEXIBLE {
        let len = i32::try_from(len).map_err(|_| "records over 2 GiB".to_string())?;
        buf.put_i32(len);
    } else {
        let mut v = len as u64 + 1;
        while v >= 0x80 {
            buf.put_u8((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        buf.put_u8(v as u8);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::StrBytes;
    use std::io::Write;
    use std::sync::Arc;

    use crate::log::LogSlice;

    /// A response of two topics: topic "t" with a partition for each of `t`, topic "u" with
    /// one partition holding `u`.
    fn response(t: &[Bytes], u: &Bytes) -> FetchResponse {
        let partitions = t
            .iter()
            .enumerate()
            .map(|(i, r)| {
                PartitionData::default()
                    .with_partition_index(i as i32)
                    .with_high_watermark(1000 + i as i64)
                    .with_records(Some(r.clone()))
            })
            .collect();
        FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(partitions),
            FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("u")))
                .with_partitions(vec![PartitionData::default()
                    .with_partition_index(7)
                    .with_records(Some(u.clone()))]),
        ])
    }

    /// What kafka-protocol itself encodes, for comparison.
    fn reference(version: i16, response: &FetchResponse) -> Vec<u8> {
        let mut buf = frame(version, 42, response).expect("encode");
        let size = (buf.len() - 4) as i32;
        buf[0..4].copy_from_slice(&size.to_be_bytes());
        buf.to_vec()
    }

    #[test]
    fn parts_concatenate_to_the_reference_encoding_at_every_version() {
        // Records as a fetch has them: slices of a segment file, and (down-converted or in
        // error) bytes.
        let mut file = tempfile::tempfile().expect("temp file");
        let stored: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        file.write_all(&stored).expect("write");
        let file = Arc::new(file);
        let records = || {
            vec![
                Part::Log(LogSlice::new(file.clone(), 100, 200)),
                Part::Bytes(Bytes::new()),
                Part::Log(LogSlice::new(file.clone(), 0, 0)),
                Part::Bytes(Bytes::from(vec![0u8; 70])),
                Part::Log(LogSlice::new(file.clone(), 500, 300)),
            ]
        };
        let t = [
            Bytes::copy_from_slice(&stored[100..300]),
            Bytes::new(),
            Bytes::new(),
            Bytes::from(vec![0u8; 70]),
        ];
        // Long enough for a two-byte varint length from v12 on.
        let u = Bytes::copy_from_slice(&stored[500..800]);
        for version in 0..=12 {
            let expected = reference(version, &response(&t, &u));
            let fetched = Fetched {
                response: response(&t, &u),
                records: records(),
            };
            let Outcome::RespondParts(parts) = encode(version, 42, fetched) else {
                panic!("v{version}: no parts");
            };
            let mut got = Vec::new();
            for p in &parts {
                match p {
                    Part::Bytes(b) => got.extend_from_slice(b),
                    Part::Log(s) => got.extend_from_slice(&s.load().expect("load")),
                }
            }
            assert_eq!(got, expected, "v{version}");
            // An empty part would be a write of nothing, which a socket answers with 0.
            assert!(parts.iter().all(|p| !p.is_empty()), "v{version}");
            // The file's records are sent from the file, not copied into the encoding.
            let from_file: usize = parts
                .iter()
                .filter_map(|p| match p {
                    Part::Log(s) => Some(s.len()),
                    Part::Bytes(_) => None,
                })
                .sum();
            assert_eq!(from_file, 500, "v{version}");
        }
    }
}
