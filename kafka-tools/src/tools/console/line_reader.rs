//! Kafka's LineMessageReader: one record per stdin line, optionally `headers<TAB>key<TAB>value`
//! (`parse.headers`, `parse.key`, with configurable separators), `null.marker` for nulls.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::is_true;
use crate::client::produce::OutRecord;
use crate::error::{Result, ToolError};

/// How lines are split (the reader properties of `--property`).
#[derive(Debug, Clone)]
pub struct LineReader {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: String,
    headers_key_separator: String,
    ignore_error: bool,
    null_marker: Option<String>,
}

impl LineReader {
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<LineReader> {
        let get =
            |k: &str, default: &str| props.get(k).cloned().unwrap_or_else(|| default.to_owned());
        let reader = LineReader {
            parse_key: is_true(props, "parse.key"),
            key_separator: get("key.separator", "\t"),
            parse_headers: is_true(props, "parse.headers"),
            headers_delimiter: get("headers.delimiter", "\t"),
            headers_separator: get("headers.separator", ","),
            headers_key_separator: get("headers.key.separator", ":"),
            ignore_error: is_true(props, "ignore.error"),
            null_marker: props.get("null.marker").cloned(),
        };
        let pairs = [
            (
                "headers.delimiter",
                &reader.headers_delimiter,
                "headers.separator",
                &reader.headers_separator,
            ),
            (
                "headers.delimiter",
                &reader.headers_delimiter,
                "headers.key.separator",
                &reader.headers_key_separator,
            ),
            (
                "headers.separator",
                &reader.headers_separator,
                "headers.key.separator",
                &reader.headers_key_separator,
            ),
        ];
        for (a, va, b, vb) in pairs {
            if va == vb {
                return Err(ToolError::usage(format!("{a} and {b} may not be equal")));
            }
        }
        if let Some(marker) = &reader.null_marker {
            for (name, v) in [
                ("key.separator", &reader.key_separator),
                ("headers.separator", &reader.headers_separator),
                ("headers.delimiter", &reader.headers_delimiter),
                ("headers.key.separator", &reader.headers_key_separator),
            ] {
                if v == marker {
                    return Err(ToolError::usage(format!(
                        "null.marker and {name} may not be equal"
                    )));
                }
            }
        }
        Ok(reader)
    }

    /// The record of line number `number` (1-based, for messages).
    pub fn record(&self, line: &str, number: usize) -> Result<OutRecord> {
        let headers = self.part(
            self.parse_headers,
            line,
            0,
            &self.headers_delimiter,
            "headers delimiter",
            number,
        )?;
        let header_end = headers.map_or(0, |h| h.len() + self.headers_delimiter.len());
        let key = self.part(
            self.parse_key,
            line,
            header_end,
            &self.key_separator,
            "key separator",
            number,
        )?;
        let key_end = key.map_or(0, |k| k.len() + self.key_separator.len());
        let value = &line[header_end + key_end..];
        let mut record = OutRecord {
            key: key.and_then(|k| self.bytes(k)),
            value: self.bytes(value),
            headers: Vec::new(),
        };
        if let Some(headers) = headers.filter(|h| Some(*h) != self.null_marker.as_deref()) {
            for pair in headers.split(self.headers_separator.as_str()) {
                match pair.split_once(self.headers_key_separator.as_str()) {
                    Some((k, v)) => {
                        if Some(k) == self.null_marker.as_deref() {
                            return Err(ToolError::usage(format!("Header keys should not be equal to the null marker '{k}' as they can't be null")));
                        }
                        record.headers.push((k.to_owned(), self.bytes(v)));
                    }
                    None if self.ignore_error => record.headers.push((pair.to_owned(), None)),
                    None => {
                        return Err(ToolError::usage(format!(
                            "No header key separator found in pair '{pair}' on line number {number}"
                        )))
                    }
                }
            }
        }
        Ok(record)
    }

    /// The text before `separator` from `start`, when `enabled`.
    fn part<'l>(
        &self,
        enabled: bool,
        line: &'l str,
        start: usize,
        separator: &str,
        name: &str,
        number: usize,
    ) -> Result<Option<&'l str>> {
        if !enabled {
            return Ok(None);
        }
        match line.get(start..).and_then(|rest| rest.find(separator)) {
            Some(at) => Ok(Some(&line[start..start + at])),
            None if self.ignore_error => Ok(None),
            None => Err(ToolError::usage(format!(
                "No {name} found on line number {number}: '{line}'"
            ))),
        }
    }

    fn bytes(&self, s: &str) -> Option<Bytes> {
        (Some(s) != self.null_marker.as_deref()).then(|| Bytes::copy_from_slice(s.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(pairs: &[(&str, &str)]) -> LineReader {
        let props = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LineReader::from_props(&props).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keys_and_headers_split_as_kafka_does() {
        let r = reader(&[("parse.key", "true"), ("key.separator", ":")]);
        let rec = r.record("k1:v:1", 1).unwrap_or_default();
        assert_eq!(rec.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(rec.value.as_deref(), Some(&b"v:1"[..]));
        assert!(r.record("novalue", 2).is_err());

        let r = reader(&[
            ("parse.headers", "true"),
            ("parse.key", "true"),
            ("null.marker", "NULL"),
        ]);
        let rec = r.record("h1:a,h2:NULL\tNULL\tv", 1).unwrap_or_default();
        assert_eq!(rec.key, None);
        assert_eq!(
            rec.headers,
            vec![
                ("h1".to_owned(), Some(Bytes::from_static(b"a"))),
                ("h2".to_owned(), None)
            ]
        );
    }

    #[test]
    fn plain_lines_are_values() {
        let rec = reader(&[]).record("a\tb", 1).unwrap_or_default();
        assert_eq!(rec.key, None);
        assert_eq!(rec.value.as_deref(), Some(&b"a\tb"[..]));
    }
}
