//! Java properties files (`--command-config`, `--producer.config`, ...): `key=value` or
//! `key: value` lines, `#`/`!` comments, backslash line continuations and escapes. The subset
//! Kafka's client property files use; values are kept as strings.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Result, ToolError};

/// Reads and parses a properties file.
pub fn read(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ToolError::io(format!("reading {}", path.display()), e))?;
    Ok(parse(&text))
}

/// Parses properties text.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (key, value) = split(&logical);
        out.insert(unescape(key), unescape(value));
        logical.clear();
    }
    if !logical.is_empty() {
        let (key, value) = split(&logical);
        out.insert(unescape(key), unescape(value));
    }
    out
}

/// Splits at the first unescaped `=`, `:` or whitespace, as `java.util.Properties.load` does.
fn split(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' | ' ' | '\t' => {
                let key = &line[..i];
                let rest = line[i..].trim_start_matches([' ', '\t']);
                let rest = rest
                    .strip_prefix(['=', ':'])
                    .unwrap_or(rest)
                    .trim_start_matches([' ', '\t']);
                return (key, rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_client_property_files_parse() {
        let p = parse(
            "# comment\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism : SCRAM-SHA-256\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
             \x20   username=\"alice\" password=\"a=b\";\n\
             ! other comment\n\
             ssl.truststore.location /tmp/ca.pem\n\
             empty=\n",
        );
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "SCRAM-SHA-256");
        assert_eq!(
            p["sasl.jaas.config"],
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"a=b\";"
        );
        assert_eq!(p["ssl.truststore.location"], "/tmp/ca.pem");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let p = parse("a\\=b=c\\td\nu=\\u0041\n");
        assert_eq!(p["a=b"], "c\td");
        assert_eq!(p["u"], "A");
    }
}
