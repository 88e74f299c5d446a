//! Kafka's default partitioner: a keyed record goes to `toPositive(murmur2(key)) % partitions`
//! (so the same key lands where the Java client, librdkafka's `murmur2_random` and
//! kafka-python put it); keyless records stick to one partition for a whole batch, the next
//! batch moving on (the "sticky" partitioner, with round-robin instead of a random pick).

/// Kafka's murmur2 (Utils.murmur2: seed 0x9747b28c, little-endian 4-byte blocks).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    // Kafka computes with Java ints: the length wraps the same way.
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed record among `partitions` (> 0).
pub fn keyed_partition(key: &[u8], partitions: i32) -> i32 {
    // Utils.toPositive: clear the sign bit (not abs).
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

/// Where keyless records go: one partition per batch, the next batch on the next partition.
#[derive(Debug, Default)]
pub struct Sticky {
    next: u32,
}

impl Sticky {
    /// Starts at a partition picked from the clock, so that several producers spread out.
    pub fn new() -> Sticky {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Sticky { next: nanos }
    }

    /// The partition for the next batch among `partitions` (> 0).
    pub fn next_batch(&mut self, partitions: i32) -> i32 {
        let n = u32::try_from(partitions.max(1)).unwrap_or(1);
        let partition = self.next % n;
        self.next = self.next.wrapping_add(1);
        i32::try_from(partition).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), *want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn keyed_partitions_are_positive() {
        for key in [&b"k1"[..], b"", b"\xff\xff\xff\xff"] {
            let p = keyed_partition(key, 3);
            assert!((0..3).contains(&p));
        }
    }
}
