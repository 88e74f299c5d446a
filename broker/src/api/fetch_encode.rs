//! Encodes a Fetch response without copying the records into it.
//!
//! kafka-protocol's encoder copies every partition's record bytes into the response buffer:
//! one more copy of everything a consumer or follower fetches. Instead the response is encoded
//! with its records left out, and the frame is sent as parts: the encoded bytes, cut where each
//! partition's records belong, with the records' own `Bytes` (as read from the log) in between.
//!
//! Where each partition's records go is found without re-implementing the Fetch schema: the
//! response is encoded twice, once with every partition's records null and once with every
//! partition's records empty. The two encodings differ only in the records' length prefix
//! (`-1` vs `0` as an int32 before v12, the unsigned varint `0` vs `1` from v12 on), one
//! difference per partition, in encoding order, which is the order of the partitions.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use super::Outcome;

/// First Fetch version with flexible (compact) encodings.
const FIRST_FLEXIBLE: i16 = 12;

/// Encodes `response` as a frame (size prefix, header, body) of parts whose concatenation is
/// byte for byte what kafka-protocol would have encoded.
pub(super) fn encode(version: i16, correlation_id: i32, mut response: FetchResponse) -> Outcome {
    let mut records: Vec<Option<Bytes>> = Vec::new();
    for topic in &mut response.responses {
        for p in &mut topic.partitions {
            records.push(p.records.take());
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
    records: Vec<Option<Bytes>>,
) -> Result<Vec<Bytes>, String> {
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
        let marker = without.split_to(marker_len);
        consumed = at + marker_len;
        prefix.extend_from_slice(&head);
        match data {
            None => prefix.extend_from_slice(&marker),
            Some(bytes) => {
                put_length(&mut prefix, version, bytes.len())?;
                parts.push(prefix.split().freeze());
                if !bytes.is_empty() {
                    parts.push(bytes);
                }
            }
        }
    }
    prefix.extend_from_slice(&without);
    parts.push(prefix.freeze());
    // The frame size counts what the length prefixes added too.
    let total: usize = parts.iter().map(Bytes::len).sum();
    let size = i32::try_from(total - 4).map_err(|_| "Fetch response over 2 GiB".to_string())?;
    let first = parts
        .first_mut()
        .ok_or_else(|| "empty Fetch response".to_string())?;
    let mut patched = BytesMut::from(&first[..]);
    patched[0..4].copy_from_slice(&size.to_be_bytes());
    *first = patched.freeze();
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

    fn response(records: &[Option<Bytes>]) -> FetchResponse {
        let partitions = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                PartitionData::default()
                    .with_partition_index(i as i32)
                    .with_high_watermark(1000 + i as i64)
                    .with_records(r.clone())
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
                    // Long enough for a two-byte varint length from v12 on.
                    .with_records(Some(Bytes::from(vec![0xff; 300])))]),
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
        let records = [
            Some(Bytes::from(vec![0xff; 200])),
            None,
            Some(Bytes::new()),
            Some(Bytes::from(vec![0u8; 70])),
        ];
        for version in 0..=12 {
            let resp = response(&records);
            let expected = reference(version, &resp);
            let Outcome::RespondParts(parts) = encode(version, 42, resp) else {
                panic!("v{version}: no parts");
            };
            let got: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
            assert_eq!(got, expected, "v{version}");
            // The records are sent as their own parts, not copied.
            assert!(parts.iter().any(|p| p.len() == 300), "v{version}");
        }
    }
}
