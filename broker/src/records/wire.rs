//! A bounds-checked reader for untrusted record bytes.
//!
//! Every read returns [`RecordError::Corrupt`] instead of panicking, because produce payloads
//! and stored batches are peer-controlled or disk-controlled and must never crash the broker.

use super::RecordError;

/// Cursor over a byte slice with big-endian and zig-zag varint reads.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn truncated(what: &str) -> RecordError {
    RecordError::Corrupt(format!("truncated while reading {what}"))
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], RecordError> {
        if n > self.remaining() {
            return Err(truncated(what));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], RecordError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    pub(crate) fn i8(&mut self, what: &str) -> Result<i8, RecordError> {
        Ok(i8::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// Unsigned base-128 value of at most `max_bytes` groups (5 for varint, 10 for varlong),
    /// rejecting over-long encodings as Kafka's `ByteUtils` does.
    fn raw_varint(&mut self, max_bytes: usize, what: &str) -> Result<u64, RecordError> {
        let mut value = 0u64;
        for i in 0..max_bytes {
            let b = self.take(1, what)?[0];
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(RecordError::Corrupt(format!("varint too long in {what}")))
    }

    /// Zig-zag varint (i32).
    pub(crate) fn varint(&mut self, what: &str) -> Result<i32, RecordError> {
        let raw = self.raw_varint(5, what)?;
        let raw = u32::try_from(raw)
            .map_err(|_| RecordError::Corrupt(format!("varint overflow in {what}")))?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// Zig-zag varlong (i64).
    pub(crate) fn varlong(&mut self, what: &str) -> Result<i64, RecordError> {
        let raw = self.raw_varint(10, what)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A varint-length-prefixed byte string; length -1 means null, below -1 is corrupt.
    pub(crate) fn varint_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, RecordError> {
        let len = self.varint(what)?;
        self.sized(len as i64, what)
    }

    /// An i32-length-prefixed byte string (v0/v1 key and value).
    pub(crate) fn i32_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, RecordError> {
        let len = self.i32(what)?;
        self.sized(len as i64, what)
    }

    fn sized(&mut self, len: i64, what: &str) -> Result<Option<&'a [u8]>, RecordError> {
        match len {
            -1 => Ok(None),
            n if n < -1 => Err(RecordError::Corrupt(format!(
                "negative length {n} for {what}"
            ))),
            n => self.take(n as usize, what).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints() {
        // 0 -> 0, -1 -> 1, 1 -> 2, 300 -> 600 = [0xd8, 0x04]
        let mut r = Reader::new(&[0x00, 0x01, 0x02, 0xd8, 0x04]);
        assert_eq!(r.varint("a"), Ok(0));
        assert_eq!(r.varint("b"), Ok(-1));
        assert_eq!(r.varint("c"), Ok(1));
        assert_eq!(r.varint("d"), Ok(300));
        assert!(r.varint("e").is_err());
    }

    #[test]
    fn rejects_overlong_varint() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(r.varint("x").is_err());
    }

    #[test]
    fn lengths() {
        let mut r = Reader::new(&[0x01, 0x04, b'a', b'b', 0x03]);
        assert_eq!(r.varint_bytes("null"), Ok(None));
        assert_eq!(r.varint_bytes("ab"), Ok(Some(&b"ab"[..])));
        assert!(r.varint_bytes("neg").is_err());
    }
}
