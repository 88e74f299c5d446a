//! Lookups that need more than offsets: ListOffsets by timestamp, the max timestamp, and the
//! batch headers producer state is rebuilt from.

use super::segment::Segment;
use super::{Log, LogError};
use crate::records::{v2, BatchHeader};

impl Log {
    /// ListOffsets by timestamp: the first record at or after the log start whose timestamp
    /// is ≥ `ts`, as `(offset, timestamp)`. The time index narrows the search to a position in
    /// the first segment whose max timestamp reaches `ts`; batches are then scanned by header
    /// and the matching one decoded to find the exact record.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        let start = self.log_start_offset;
        for seg in self.segments.values() {
            if seg.is_empty() || seg.max_timestamp() < ts {
                continue;
            }
            let mut pos = seg.time_lookup_position(ts);
            while pos < seg.size() {
                let h = seg.header_at(pos)?;
                if h.max_timestamp >= ts && h.last_offset() >= start {
                    let wanted = |o: i64, t: i64| t >= ts && o >= start;
                    if let Some(found) = first_record_matching(seg, pos, &h, wanted)? {
                        return Ok(Some(found));
                    }
                }
                pos += h.total_size() as u64;
            }
        }
        Ok(None)
    }

    /// `(max timestamp, offset of the first record carrying it)` over the whole log, for
    /// ListOffsets MAX_TIMESTAMP (-3). `None` for an empty log.
    pub fn max_timestamp_and_offset(&self) -> Result<Option<(i64, i64)>, LogError> {
        let mut best: Option<&Segment> = None;
        for seg in self.segments.values().filter(|s| !s.is_empty()) {
            match best {
                Some(b) if seg.max_timestamp() <= b.max_timestamp() => {}
                _ => best = Some(seg),
            }
        }
        let Some(seg) = best else { return Ok(None) };
        let max = seg.max_timestamp();
        let Some((pos, h)) = seg.find_batch(seg.offset_of_max_timestamp())? else {
            return Ok(None);
        };
        let found = first_record_matching(seg, pos, &h, |_, t| t == max)?;
        let offset = found.map_or(h.last_offset(), |(offset, _)| offset);
        Ok(Some((max, offset)))
    }

    /// Headers of every batch at or after `from_offset` (the batch containing it included),
    /// in order, for rebuilding producer state after a restart or truncation.
    pub fn batch_headers_from(&self, from_offset: i64) -> Result<Vec<BatchHeader>, LogError> {
        let from = from_offset.max(self.log_start_offset);
        let start = self
            .segments
            .range(..=from)
            .next_back()
            .map_or(i64::MIN, |(b, _)| *b);
        let mut out = Vec::new();
        for seg in self.segments.range(start..).map(|(_, s)| s) {
            let Some((pos, _)) = seg.find_batch(from)? else {
                continue;
            };
            seg.scan_headers(pos, |_, h| {
                out.push(*h);
                true
            })?;
        }
        Ok(out)
    }
}

/// The first record of the batch at `pos` whose `(offset, timestamp)` satisfies `pred`, as
/// `(offset, timestamp)`. A LogAppendTime batch stamps every record with the batch's max
/// timestamp (its records keep their create times), so its first record answers directly
/// unless it lies below the log start.
fn first_record_matching(
    seg: &Segment,
    pos: u64,
    h: &BatchHeader,
    pred: impl Fn(i64, i64) -> bool,
) -> Result<Option<(i64, i64)>, LogError> {
    let append_time = h.is_log_append_time().then_some(h.max_timestamp);
    if let Some(t) = append_time {
        if pred(h.base_offset, t) {
            return Ok(Some((h.base_offset, t)));
        }
    }
    let batch = seg.read_at(pos, h.total_size())?;
    let found = match append_time {
        Some(t) => v2::find_record(h, &batch, |o, _| pred(o, t)).map(|f| f.map(|(o, _)| (o, t))),
        None => v2::find_record(h, &batch, pred),
    };
    found.map_err(|e| {
        LogError::Corrupt(format!(
            "reading batch at {} in {}: {e}",
            h.base_offset,
            seg.log_path().display()
        ))
    })
}
