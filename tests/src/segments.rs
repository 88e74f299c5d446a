//! Reading a partition's segment files straight from a stopped broker's log dir, to compare
//! what each replica holds (clients only ever read the leader's).

use std::io;
use std::path::Path;

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use crate::kcat::Record;

/// Every record in the `.log` files of `partition_dir`, in offset order. Batches whose
/// timestamp deltas exceed an i32 are not expected here (the decoder reads them as i32).
pub fn records(partition_dir: &Path) -> io::Result<Vec<Record>> {
    let mut logs: Vec<_> = std::fs::read_dir(partition_dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let mut out = Vec::new();
    for path in logs {
        let mut data = Bytes::from(std::fs::read(&path)?);
        let sets = RecordBatchDecoder::decode_all(&mut data).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        for set in sets {
            for r in set.records {
                out.push(Record {
                    offset: r.offset,
                    key: r.key.map(|k| k.to_vec()),
                    value: r.value.map(|v| v.to_vec()),
                });
            }
        }
    }
    Ok(out)
}
