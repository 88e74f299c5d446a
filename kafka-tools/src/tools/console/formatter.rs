//! Kafka's DefaultMessageFormatter: each record as one line of the fields asked for
//! (`print.timestamp`, `print.partition`, `print.offset`, `print.headers`, `print.key`,
//! `print.value`), separated by `key.separator`, ended by `line.separator`; nulls as
//! `null.literal`. Bytes are written as they are (Kafka's ByteArrayDeserializer).

use std::collections::BTreeMap;
use std::io::{self, Write};

use kafka_protocol::records::TimestampType;

use super::is_true;
use crate::client::fetch::InRecord;

/// The formatter's settings (`--property` and `--formatter-config`).
#[derive(Debug, Clone)]
pub struct Formatter {
    timestamp: bool,
    key: bool,
    value: bool,
    partition: bool,
    offset: bool,
    headers: bool,
    key_separator: Vec<u8>,
    line_separator: Vec<u8>,
    headers_separator: Vec<u8>,
    null_literal: Vec<u8>,
}

impl Formatter {
    pub fn from_props(props: &BTreeMap<String, String>) -> Formatter {
        let flag = |k: &str, default: bool| {
            if props.contains_key(k) {
                is_true(props, k)
            } else {
                default
            }
        };
        let text = |k: &str, default: &str| {
            props
                .get(k)
                .map_or_else(|| default.as_bytes().to_vec(), |v| v.as_bytes().to_vec())
        };
        Formatter {
            timestamp: flag("print.timestamp", false),
            key: flag("print.key", false),
            value: flag("print.value", true),
            partition: flag("print.partition", false),
            offset: flag("print.offset", false),
            headers: flag("print.headers", false),
            key_separator: text("key.separator", "\t"),
            line_separator: text("line.separator", "\n"),
            headers_separator: text("headers.separator", ","),
            null_literal: text("null.literal", "null"),
        }
    }

    /// Writes `record` to `out`.
    pub fn write(&self, record: &InRecord, out: &mut impl Write) -> io::Result<()> {
        // Each field is followed by the column separator when another field follows it.
        let fields = [
            self.timestamp,
            self.partition,
            self.offset,
            self.headers,
            self.key,
            self.value,
        ];
        let more_after = |i: usize| fields[i + 1..].iter().any(|f| *f);
        let separate = |out: &mut dyn Write, i: usize| -> io::Result<()> {
            out.write_all(if more_after(i) {
                &self.key_separator
            } else {
                &self.line_separator
            })
        };
        if self.timestamp {
            let kind = match record.timestamp_type {
                TimestampType::Creation => "CreateTime",
                TimestampType::LogAppend => "LogAppendTime",
            };
            write!(out, "{kind}:{}", record.timestamp)?;
            separate(out, 0)?;
        }
        if self.partition {
            write!(out, "Partition:{}", record.partition)?;
            separate(out, 1)?;
        }
        if self.offset {
            write!(out, "Offset:{}", record.offset)?;
            separate(out, 2)?;
        }
        if self.headers {
            if record.headers.is_empty() {
                out.write_all(b"NO_HEADERS")?;
            }
            for (i, (key, value)) in record.headers.iter().enumerate() {
                if i > 0 {
                    out.write_all(&self.headers_separator)?;
                }
                write!(out, "{key}:")?;
                out.write_all(value.as_deref().unwrap_or(&self.null_literal))?;
            }
            separate(out, 3)?;
        }
        if self.key {
            out.write_all(record.key.as_deref().unwrap_or(&self.null_literal))?;
            separate(out, 4)?;
        }
        if self.value {
            out.write_all(record.value.as_deref().unwrap_or(&self.null_literal))?;
            out.write_all(&self.line_separator)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn record() -> InRecord {
        InRecord {
            partition: 1,
            offset: 7,
            timestamp: 123,
            timestamp_type: TimestampType::Creation,
            key: Some(Bytes::from_static(b"k")),
            value: None,
            headers: vec![("h".to_owned(), Some(Bytes::from_static(b"v")))],
        }
    }

    fn format(props: &[(&str, &str)]) -> String {
        let props = props
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut out = Vec::new();
        Formatter::from_props(&props)
            .write(&record(), &mut out)
            .unwrap_or_default();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn lines_as_kafka_prints_them() {
        assert_eq!(format(&[]), "null\n");
        assert_eq!(
            format(&[("print.timestamp", "true"), ("print.key", "true")]),
            "CreateTime:123\tk\tnull\n"
        );
        assert_eq!(
            format(&[
                ("print.partition", "true"),
                ("print.offset", "true"),
                ("print.headers", "true"),
                ("print.key", "true"),
                ("key.separator", "|"),
            ]),
            "Partition:1|Offset:7|h:v|k|null\n"
        );
        // Without the value, the last field ends the line.
        assert_eq!(
            format(&[("print.key", "true"), ("print.value", "false")]),
            "k\n"
        );
    }
}
