//! What a broker's log cleaner did, as the bench can see it from outside the process: the
//! "cleaned log" line the broker logs (at info, target `broker::cleaner`) after each cleaning,
//! its `cleaner-offset-checkpoint` (where each log's dirty section starts), and the segment
//! files of a partition.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// The broker's file of first dirty offsets, one per log dir (Kafka's name and format).
const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

/// One cleaning of one log, from its "cleaned log" line.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaning {
    /// When the line was logged: the end of the cleaning.
    pub at: SystemTime,
    pub topic: String,
    pub partition: i32,
    /// Bytes read: the dirty section once to map its keys, then every segment copied.
    pub read_bytes: u64,
    pub written_bytes: u64,
    pub records_read: u64,
    pub records_kept: u64,
    /// Keys in the key map (of the part of the dirty section this cleaning mapped).
    pub keys: u64,
    /// Bytes of the key map's table.
    pub map_bytes: u64,
    /// Wall time of the cleaning, milliseconds.
    pub ms: u64,
    /// Whether every cleaned segment was swapped in (the checkpoint moved on).
    pub swapped: bool,
}

impl Cleaning {
    /// The span of wall time the cleaning took.
    pub fn span(&self) -> (SystemTime, SystemTime) {
        (self.at - Duration::from_millis(self.ms), self.at)
    }
}

/// Every cleaning of `topic` in the broker log at `path`, in order.
pub fn cleanings(path: &Path, topic: &str) -> Result<Vec<Cleaning>> {
    let text = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter_map(parse_line)
        .filter(|c| c.topic == topic)
        .collect())
}

/// A "cleaned log" line as tracing's default format writes it: the RFC 3339 time first,
/// then the level, the target, the message and `key=value` fields.
fn parse_line(line: &str) -> Option<Cleaning> {
    let (head, fields) = line.split_once(" cleaned log ")?;
    if !head.contains("broker::cleaner") {
        return None;
    }
    let at = parse_time(head.split_whitespace().next()?)?;
    let mut c = Cleaning {
        at,
        topic: String::new(),
        partition: -1,
        read_bytes: 0,
        written_bytes: 0,
        records_read: 0,
        records_kept: 0,
        keys: 0,
        map_bytes: 0,
        ms: 0,
        swapped: false,
    };
    for field in fields.split_whitespace() {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        let number = || value.parse::<u64>().ok();
        match key {
            "topic" => c.topic = value.to_owned(),
            "partition" => c.partition = value.parse().ok()?,
            "read_bytes" => c.read_bytes = number()?,
            "written_bytes" => c.written_bytes = number()?,
            "records_read" => c.records_read = number()?,
            "records_kept" => c.records_kept = number()?,
            "keys" => c.keys = number()?,
            "map_bytes" => c.map_bytes = number()?,
            "ms" => c.ms = number()?,
            "swapped" => c.swapped = value == "true",
            _ => {}
        }
    }
    (!c.topic.is_empty() && c.partition >= 0).then_some(c)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC, as tracing writes it).
fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next()??);
    let valid = (1..=12).contains(&month) && (1..=31).contains(&day) && h < 24 && m < 60;
    let secs = days_since_epoch(year, month, day) * 86_400 + h * 3600 + m * 60 + sec;
    let digits = fraction.len().min(9);
    let nanos = if digits == 0 {
        0
    } else {
        fraction[..digits].parse::<u64>().ok()? * 10u64.pow(9 - digits as u32)
    };
    (valid && secs >= 0)
        .then(|| UNIX_EPOCH + Duration::from_secs(secs as u64) + Duration::from_nanos(nanos))
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March, so that a leap day is the last day of its year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// Where the dirty section of `topic`-`partition` starts according to the cleaner's
/// checkpoint in `log_dir`, and when the file was last written; `None` before the first
/// complete cleaning.
pub fn checkpoint(
    log_dir: &Path,
    topic: &str,
    partition: i32,
) -> Result<Option<(i64, SystemTime)>> {
    let path = log_dir.join(CHECKPOINT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let written = fs::metadata(&path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the time of {}", path.display()))?;
    // Version, count, then `<topic> <partition> <offset>` lines.
    let offset = text.lines().skip(2).find_map(|line| {
        let mut parts = line.split_whitespace();
        let hit = parts.next() == Some(topic) && parts.next() == Some(&partition.to_string());
        hit.then(|| parts.next()?.parse::<i64>().ok()).flatten()
    });
    Ok(offset.map(|o| (o, written)))
}

/// A segment file of a partition.
#[derive(Debug, Clone, Copy)]
pub struct SegmentFile {
    pub base_offset: i64,
    pub bytes: u64,
}

/// The `<base offset>.log` files of a partition directory, by base offset; the last is the
/// active segment.
pub fn segments(partition_dir: &Path) -> Result<Vec<SegmentFile>> {
    let mut out = Vec::new();
    let entries = fs::read_dir(partition_dir)
        .with_context(|| format!("listing {}", partition_dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(base) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        let Ok(base_offset) = base.parse::<i64>() else {
            continue;
        };
        // A segment swapped away between the listing and this look is simply left out.
        if let Ok(meta) = entry.metadata() {
            out.push(SegmentFile {
                base_offset,
                bytes: meta.len(),
            });
        }
    }
    out.sort_by_key(|s| s.base_offset);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleaned_log_line() {
        let line = "2026-12-07T19:04:05.250000Z  INFO broker::cleaner: cleaned log topic=c10 \
            partition=0 dirty_ratio=\"1.00\" read_bytes=2000 written_bytes=900 records_read=10 \
            records_kept=9 keys=9 map_bytes=240 ms=1500 swapped=true";
        let c = parse_line(line).expect("parsed");
        assert_eq!(c.topic, "c10");
        assert_eq!(c.partition, 0);
        assert_eq!((c.read_bytes, c.written_bytes), (2000, 900));
        assert_eq!((c.records_read, c.records_kept, c.keys), (10, 9, 9));
        assert_eq!((c.map_bytes, c.ms), (240, 1500));
        assert!(c.swapped);
        let (start, end) = c.span();
        assert_eq!(
            end.duration_since(start).ok(),
            Some(Duration::from_millis(1500))
        );
        assert!(parse_line("2026-12-07T19:04:05Z  WARN broker::server: something").is_none());
    }

    #[test]
    fn rfc3339_times() {
        let at = |s| {
            parse_time(s)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
        };
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        // `date -u -d 2000-02-29T12:34:56 +%s` = 951827696.
        assert_eq!(at("2000-02-29T12:34:56.5Z"), Some(951_827_696_500_000_000));
        // `date -u -d 2026-12-07T19:04:05 +%s` = 1796670245.
        assert_eq!(
            at("2026-12-07T19:04:05.000001Z"),
            Some(1_796_670_245_000_001_000)
        );
        assert_eq!(at("2026-13-07T19:04:05Z"), None);
        assert_eq!(at("2026-12-07 19:04:05"), None);
    }
}
