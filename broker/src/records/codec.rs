//! Decompression of batch payloads and legacy wrapper values, by Kafka codec id.
//!
//! The codecs themselves come from `kafka_protocol::compression`. The one thing added here is
//! the xerial (snappy-java) stream framing: the Java client and kafka-python write snappy data
//! in that framing, while `kafka_protocol` only understands raw snappy blocks, so framed input
//! is split into its raw chunks before decoding (as snappy-java's `SnappyInputStream` does,
//! which also falls back to raw snappy for unframed input).

use bytes::{Bytes, BytesMut};
use kafka_protocol::compression::{Decompressor, Gzip, Lz4, Snappy, Zstd};

use super::RecordError;

pub(crate) const NONE: i16 = 0;
pub(crate) const GZIP: i16 = 1;
pub(crate) const SNAPPY: i16 = 2;
pub(crate) const LZ4: i16 = 3;
pub(crate) const ZSTD: i16 = 4;

/// Magic bytes opening a xerial snappy stream; followed by version and compat i32s.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;

/// The codec's name, for error messages.
pub(crate) fn name(codec: i16) -> &'static str {
    match codec {
        NONE => "none",
        GZIP => "gzip",
        SNAPPY => "snappy",
        LZ4 => "lz4",
        ZSTD => "zstd",
        _ => "unknown",
    }
}

/// Decompresses `data` compressed with `codec` (0..=4); a corrupt stream is `Corrupt`.
pub(crate) fn decompress(codec: i16, data: &[u8]) -> Result<Bytes, RecordError> {
    match codec {
        NONE => Ok(Bytes::copy_from_slice(data)),
        GZIP => run::<Gzip>(codec, data),
        SNAPPY => snappy(data),
        LZ4 => run::<Lz4>(codec, data),
        ZSTD => run::<Zstd>(codec, data),
        other => Err(RecordError::Corrupt(format!(
            "unknown compression codec {other}"
        ))),
    }
}

fn run<D: Decompressor<Bytes, Buf = Bytes>>(codec: i16, data: &[u8]) -> Result<Bytes, RecordError> {
    let mut input = Bytes::copy_from_slice(data);
    D::decompress(&mut input, |out: &mut Bytes| Ok(out.clone()))
        .map_err(|e| RecordError::Corrupt(format!("{} decompression failed: {e:#}", name(codec))))
}

fn snappy(data: &[u8]) -> Result<Bytes, RecordError> {
    if data.len() < XERIAL_HEADER_LEN || data[..XERIAL_MAGIC.len()] != XERIAL_MAGIC {
        return run::<Snappy>(SNAPPY, data);
    }
    let mut out = BytesMut::new();
    let mut rest = &data[XERIAL_HEADER_LEN..];
    while !rest.is_empty() {
        let (len, tail) = split_chunk_len(rest)?;
        if len > tail.len() {
            return Err(RecordError::Corrupt("truncated xerial snappy chunk".into()));
        }
        out.extend_from_slice(&run::<Snappy>(SNAPPY, &tail[..len])?);
        rest = &tail[len..];
    }
    Ok(out.freeze())
}

fn split_chunk_len(buf: &[u8]) -> Result<(usize, &[u8]), RecordError> {
    if buf.len() < 4 {
        return Err(RecordError::Corrupt(
            "truncated xerial snappy chunk length".into(),
        ));
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let len = usize::try_from(len)
        .map_err(|_| RecordError::Corrupt(format!("negative xerial chunk length {len}")))?;
    Ok((len, &buf[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::compression::Compressor;

    fn raw_snappy(data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        Snappy::compress(&mut out, |b: &mut BytesMut| {
            b.extend_from_slice(data);
            Ok(())
        })
        .expect("compress");
        out.to_vec()
    }

    #[test]
    fn snappy_raw_and_xerial() {
        let a = b"hello hello hello hello";
        let b = b" world world world";
        assert_eq!(decompress(SNAPPY, &raw_snappy(a)).expect("raw"), &a[..]);
        let mut framed = XERIAL_MAGIC.to_vec();
        framed.extend_from_slice(&1i32.to_be_bytes());
        framed.extend_from_slice(&1i32.to_be_bytes());
        for part in [&a[..], &b[..]] {
            let chunk = raw_snappy(part);
            framed.extend_from_slice(&(chunk.len() as i32).to_be_bytes());
            framed.extend_from_slice(&chunk);
        }
        let got = decompress(SNAPPY, &framed).expect("xerial");
        assert_eq!(got, [&a[..], &b[..]].concat());
    }

    #[test]
    fn garbage_is_corrupt() {
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            assert!(matches!(
                decompress(codec, b"\x00garbage"),
                Err(RecordError::Corrupt(_))
            ));
        }
        assert!(decompress(5, b"").is_err());
    }
}
