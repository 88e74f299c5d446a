//! A request frame (without its size prefix) decoded as the broker decodes it: the fixed
//! key/version/correlation prefix, the versioned header, then the body of that API and
//! version. Produce bodies go on through record validation, as the Produce handler does.
//! Any panic, or an allocation the process cannot survive, is a finding; errors are fine.
#![no_main]

use broker::api::versions;
use broker::records::validate::validate_produce;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(prefix) = data.get(..4) else {
        return;
    };
    let raw_key = i16::from_be_bytes([prefix[0], prefix[1]]);
    let version = i16::from_be_bytes([prefix[2], prefix[3]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return;
    };
    if !versions::is_supported(api_key, version) {
        return;
    }
    let mut frame = Bytes::copy_from_slice(data);
    let header_version = api_key.request_header_version(version);
    if RequestHeader::decode(&mut frame, header_version).is_err() {
        return;
    }
    let Ok(request) = RequestKind::decode(api_key, &mut frame, version) else {
        return;
    };
    if let RequestKind::Produce(produce) = request {
        for topic in produce.topic_data {
            for partition in topic.partition_data {
                let records = partition.records.unwrap_or_default();
                for keys_required in [false, true] {
                    let _ = validate_produce(&records, version, 1 << 20, keys_required);
                }
            }
        }
    }
});
