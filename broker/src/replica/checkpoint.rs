//! Kafka's offset checkpoint files, one of each per log dir: `replication-offset-checkpoint`
//! holds each partition's high watermark, `log-start-offset-checkpoint` the log start offset
//! of each partition whose start lies inside its first segment (after DeleteRecords). Line
//! `0` (version), the entry count, then `<topic> <partition> <offset>` lines. Written to a temp
//! file, fsynced and renamed, so a crash leaves the old or the new file, never half of one.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::log::LogError;

pub const HIGH_WATERMARK_FILE: &str = "replication-offset-checkpoint";
pub const LOG_START_OFFSET_FILE: &str = "log-start-offset-checkpoint";

fn io_err(context: String) -> impl FnOnce(std::io::Error) -> LogError {
    move |source| LogError::Io { context, source }
}

/// Reads a checkpoint; a missing file is empty, malformed lines are skipped.
pub fn read(path: &Path) -> Result<HashMap<(String, i32), i64>, LogError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
    };
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("0") {
        return Err(LogError::Corrupt(format!(
            "{}: unknown checkpoint version",
            path.display()
        )));
    }
    let _count = lines.next();
    let mut out = HashMap::new();
    for line in lines {
        let mut parts = line.split_whitespace();
        if let (Some(t), Some(p), Some(o)) = (parts.next(), parts.next(), parts.next()) {
            if let (Ok(p), Ok(o)) = (p.parse::<i32>(), o.parse::<i64>()) {
                out.insert((t.to_string(), p), o);
            }
        }
    }
    Ok(out)
}

/// Writes a checkpoint atomically.
pub fn write(path: &Path, entries: &[((String, i32), i64)]) -> Result<(), LogError> {
    let mut body = format!("0\n{}\n", entries.len());
    for ((t, p), o) in entries {
        body.push_str(&format!("{t} {p} {o}\n"));
    }
    let tmp = path.with_extension("tmp");
    let ctx = || format!("writing {}", path.display());
    let mut f = std::fs::File::create(&tmp).map_err(io_err(ctx()))?;
    f.write_all(body.as_bytes()).map_err(io_err(ctx()))?;
    f.sync_all().map_err(io_err(ctx()))?;
    std::fs::rename(&tmp, path).map_err(io_err(ctx()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(HIGH_WATERMARK_FILE);
        assert!(read(&path).expect("missing is empty").is_empty());
        let entries = vec![
            (("orders".to_string(), 0), 1042),
            (("my-topic".to_string(), 3), 7),
        ];
        write(&path, &entries).expect("write");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert!(text.starts_with("0\n2\n"));
        let got = read(&path).expect("read");
        assert_eq!(got.get(&("orders".to_string(), 0)), Some(&1042));
        assert_eq!(got.get(&("my-topic".to_string(), 3)), Some(&7));
    }
}
