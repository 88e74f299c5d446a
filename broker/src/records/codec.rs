//! Decompression of batch payloads and legacy wrapper values, by Kafka codec id.
//!
//! The codecs are the crates kafka-protocol builds on, driven as streams so that output stops
//! at [`MAX_DECOMPRESSED`]: a batch within `message.max.bytes` can otherwise expand without
//! bound (zstd turns a few bytes into each 128 KiB run of one byte), and the whole payload is
//! held in memory while its records are checked. Kafka streams the records instead and has no
//! such limit; a batch of ours that reaches it is INVALID_RECORD.
//!
//! The xerial (snappy-java) stream framing is handled here too: the Java client and
//! kafka-python write snappy data in that framing, around raw snappy chunks; unframed input is
//! read as one raw block (as snappy-java's `SnappyInputStream` does).

use std::io::Read;

use bytes::{Bytes, BytesMut};

use super::RecordError;

pub(crate) const NONE: i16 = 0;
pub(crate) const GZIP: i16 = 1;
pub(crate) const SNAPPY: i16 = 2;
pub(crate) const LZ4: i16 = 3;
pub(crate) const ZSTD: i16 = 4;

/// The most one compressed batch (or legacy wrapper) may expand to. Producers close batches
/// well below it: librdkafka's batch.size (1 MB) counts uncompressed bytes, and the Java
/// client's estimate of 16 KiB compressed reaches ~16 MiB only at a 1000:1 ratio.
pub(crate) const MAX_DECOMPRESSED: usize = 256 << 20;

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

/// Decompresses `data` compressed with `codec` (0..=4); a corrupt stream is `Corrupt`, one
/// that expands past [`MAX_DECOMPRESSED`] is `Invalid`.
pub(crate) fn decompress(codec: i16, data: &[u8]) -> Result<Bytes, RecordError> {
    decompress_at_most(codec, data, MAX_DECOMPRESSED)
}

fn decompress_at_most(codec: i16, data: &[u8], limit: usize) -> Result<Bytes, RecordError> {
    match codec {
        NONE => Ok(Bytes::copy_from_slice(data)),
        GZIP => read_at_most(codec, flate2::read::GzDecoder::new(data), limit),
        SNAPPY => snappy(data, limit),
        LZ4 => {
            let decoder = lz4::Decoder::new(data).map_err(|e| corrupt(codec, e))?;
            read_at_most(codec, decoder, limit)
        }
        ZSTD => {
            let decoder = zstd::stream::read::Decoder::new(data).map_err(|e| corrupt(codec, e))?;
            read_at_most(codec, decoder, limit)
        }
        other => Err(RecordError::Corrupt(format!(
            "unknown compression codec {other}"
        ))),
    }
}

/// Compresses a batch payload with `codec` (0..=4) through the compressors kafka-protocol
/// builds on, in the framing Kafka's clients read.
pub(crate) fn compress(codec: i16, data: &[u8]) -> Result<Vec<u8>, RecordError> {
    use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};
    let mut out = BytesMut::new();
    let fill = |b: &mut BytesMut| {
        b.extend_from_slice(data);
        Ok(())
    };
    let done = match codec {
        NONE => return Ok(data.to_vec()),
        GZIP => Gzip::compress(&mut out, fill),
        SNAPPY => Snappy::compress(&mut out, fill),
        LZ4 => Lz4::compress(&mut out, fill),
        ZSTD => Zstd::compress(&mut out, fill),
        other => {
            return Err(RecordError::Corrupt(format!(
                "unknown compression codec {other}"
            )))
        }
    };
    done.map_err(|e| RecordError::Invalid(format!("{} compression failed: {e}", name(codec))))?;
    Ok(out.to_vec())
}

fn corrupt(codec: i16, e: impl std::fmt::Display) -> RecordError {
    RecordError::Corrupt(format!("{} decompression failed: {e}", name(codec)))
}

fn too_large(codec: i16, limit: usize) -> RecordError {
    RecordError::Invalid(format!(
        "{} payload expands to more than {limit} bytes",
        name(codec)
    ))
}

fn read_at_most(codec: i16, decoder: impl Read, limit: usize) -> Result<Bytes, RecordError> {
    let mut out = Vec::new();
    // One byte over the limit tells "exactly at the limit" from "beyond it".
    let limit_plus_one = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(limit_plus_one)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > limit {
        return Err(too_large(codec, limit));
    }
    Ok(out.into())
}

/// One raw snappy block, whose header states its length: checked before anything is
/// allocated for it.
fn raw_snappy(data: &[u8], limit: usize) -> Result<Vec<u8>, RecordError> {
    let len = snap::raw::decompress_len(data).map_err(|e| corrupt(SNAPPY, e))?;
    if len > limit {
        return Err(too_large(SNAPPY, limit));
    }
    snap::raw::Decoder::new()
        .decompress_vec(data)
        .map_err(|e| corrupt(SNAPPY, e))
}

fn snappy(data: &[u8], limit: usize) -> Result<Bytes, RecordError> {
    if data.len() < XERIAL_HEADER_LEN || data[..XERIAL_MAGIC.len()] != XERIAL_MAGIC {
        return raw_snappy(data, limit).map(Bytes::from);
    }
    let mut out = BytesMut::new();
    let mut rest = &data[XERIAL_HEADER_LEN..];
    while !rest.is_empty() {
        let (len, tail) = split_chunk_len(rest)?;
        if len > tail.len() {
            return Err(RecordError::Corrupt("truncated xerial snappy chunk".into()));
        }
        out.extend_from_slice(&raw_snappy(&tail[..len], limit - out.len())?);
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
    use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

    fn snappy_block(data: &[u8]) -> Vec<u8> {
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
        assert_eq!(decompress(SNAPPY, &snappy_block(a)).expect("raw"), &a[..]);
        let mut framed = XERIAL_MAGIC.to_vec();
        framed.extend_from_slice(&1i32.to_be_bytes());
        framed.extend_from_slice(&1i32.to_be_bytes());
        for part in [&a[..], &b[..]] {
            let chunk = snappy_block(part);
            framed.extend_from_slice(&(chunk.len() as i32).to_be_bytes());
            framed.extend_from_slice(&chunk);
        }
        let got = decompress(SNAPPY, &framed).expect("xerial");
        assert_eq!(got, [&a[..], &b[..]].concat());
    }

    fn compressed<C: Compressor<BytesMut, BufMut = BytesMut>>(data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        C::compress(&mut out, |b: &mut BytesMut| {
            b.extend_from_slice(data);
            Ok(())
        })
        .expect("compress");
        out.to_vec()
    }

    #[test]
    fn every_codec_stops_at_the_limit() {
        let data = vec![0u8; 64 * 1024];
        let cases = [
            (GZIP, compressed::<Gzip>(&data)),
            (SNAPPY, snappy_block(&data)),
            (LZ4, compressed::<Lz4>(&data)),
            (ZSTD, compressed::<Zstd>(&data)),
        ];
        for (codec, input) in cases {
            let name = name(codec);
            let whole = decompress_at_most(codec, &input, data.len()).expect(name);
            assert_eq!(whole.len(), data.len(), "{name}");
            match decompress_at_most(codec, &input, data.len() - 1) {
                Err(RecordError::Invalid(msg)) => assert!(msg.contains("expands"), "{name}: {msg}"),
                other => panic!("{name}: one byte over the limit gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_zstd_bomb_is_refused_without_expanding_it() {
        // 1 GiB of zeros is a few tens of KiB of zstd: far inside message.max.bytes.
        let mut input = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut input, 3).expect("encoder");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            std::io::Write::write_all(&mut encoder, &chunk).expect("write");
        }
        encoder.finish().expect("finish");
        assert!(input.len() < 1 << 20, "{} bytes compressed", input.len());
        assert!(matches!(
            decompress(ZSTD, &input),
            Err(RecordError::Invalid(_))
        ));
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
