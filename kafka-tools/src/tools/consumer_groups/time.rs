//! The time values of `--reset-offsets`: `--to-datetime` ('YYYY-MM-DDTHH:mm:SS.sss', with an
//! optional zone `Z` / `+hh:mm` / `+hhmm`, as Kafka's Utils.getDateTime reads it; without a
//! zone the time is UTC here, where Kafka takes the JVM's zone) and `--by-duration` (ISO-8601
//! `PnDTnHnMnS`, as java.time.Duration.parse reads it).

use crate::error::{Result, ToolError};

/// Milliseconds since the epoch of a `--to-datetime` value.
pub(super) fn parse_datetime(input: &str) -> Result<i64> {
    let bad = || {
        ToolError::usage(format!(
            "Error parsing timestamp '{input}'. It does not conform to the format: yyyy-MM-dd'T'HH:mm:ss.SSS"
        ))
    };
    let (date, rest) = input.split_once('T').ok_or_else(bad)?;
    let mut d = date.split('-');
    let (year, month, day) = match (d.next(), d.next(), d.next(), d.next()) {
        (Some(y), Some(m), Some(d), None) => (num(y, bad)?, num(m, bad)?, num(d, bad)?),
        _ => return Err(bad()),
    };
    // The zone, if any, starts at Z, + or - after the time.
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let (hms, millis) = match time.split_once('.') {
        Some((hms, ms)) if ms.len() == 3 => (hms, num(ms, bad)?),
        Some(_) => return Err(bad()),
        None => (time, 0),
    };
    let mut t = hms.split(':');
    let (hour, minute, second) = match (t.next(), t.next(), t.next(), t.next()) {
        (Some(h), Some(m), Some(s), None) => (num(h, bad)?, num(m, bad)?, num(s, bad)?),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let offset_s = zone_offset_seconds(zone).ok_or_else(bad)?;
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Ok(seconds * 1000 + millis)
}

fn num(s: &str, bad: impl Fn() -> ToolError) -> Result<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    s.parse().map_err(|_| bad())
}

/// `Z`, `+hh:mm`, `+hhmm`, `+hh` (or nothing: UTC) as seconds east of UTC.
fn zone_offset_seconds(zone: &str) -> Option<i64> {
    if zone.is_empty() || zone == "Z" {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    Some(sign * (h * 3600 + m * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds of an ISO-8601 duration (`PnDTnHnMnS`, fractional seconds allowed, a leading
/// `-` negates).
pub(super) fn parse_duration(input: &str) -> Result<i64> {
    let bad = || ToolError::usage(format!("Text cannot be parsed to a Duration: {input}"));
    let upper = input.to_ascii_uppercase();
    let (negative, rest) = match upper.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, upper.strip_prefix('+').unwrap_or(&upper)),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (days_part, time_part) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut millis: f64 = 0.0;
    let mut any = false;
    if !days_part.is_empty() {
        let n = days_part.strip_suffix('D').ok_or_else(bad)?;
        millis += n.parse::<f64>().map_err(|_| bad())? * 86_400_000.0;
        any = true;
    }
    if let Some(mut t) = time_part {
        for (unit, ms) in [('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)] {
            if let Some(at) = t.find(unit) {
                millis += t[..at].parse::<f64>().map_err(|_| bad())? * ms;
                t = &t[at + 1..];
                any = true;
            }
        }
        if !t.is_empty() {
            return Err(bad());
        }
    }
    if !any {
        return Err(bad());
    }
    let millis = millis.round() as i64;
    Ok(if negative { -millis } else { millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000").ok(), Some(0));
        assert_eq!(
            parse_datetime("2024-02-29T12:34:56.789Z").ok(),
            Some(1_709_210_096_789)
        );
        assert_eq!(
            parse_datetime("2024-02-29T14:34:56.789+02:00").ok(),
            Some(1_709_210_096_789)
        );
        assert_eq!(
            parse_datetime("2024-02-29T12:34:56").ok(),
            Some(1_709_210_096_000)
        );
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2024-13-01T00:00:00.000").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H").ok(), Some(3_600_000));
        assert_eq!(parse_duration("P1DT2H3M4.5S").ok(), Some(93_784_500));
        assert_eq!(parse_duration("PT0.5S").ok(), Some(500));
        assert_eq!(parse_duration("-PT1M").ok(), Some(-60_000));
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("1h").is_err());
    }
}
