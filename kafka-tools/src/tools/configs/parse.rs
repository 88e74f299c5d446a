//! The values of `kafka-configs --add-config` and `--delete-config`, as Kafka's ConfigCommand
//! splits them: `k=v,k2=[a,b]` (commas and `=` inside brackets belong to the value, the
//! brackets are then dropped), and comma-separated names to delete.

use std::collections::BTreeMap;

use crate::error::{Result, ToolError};

/// Splits `text` at `sep` where it is not inside `[...]`.
fn split_outside_brackets(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `--add-config`: name → value (brackets removed, an empty value kept).
pub(super) fn add_config(text: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in split_outside_brackets(text, ',') {
        let pair = split_outside_brackets(item, '=');
        let [key, value] = pair.as_slice() else {
            return Err(ToolError::Line(
                "Invalid entity config: all configs to be added must be in the format \"key=val\"."
                    .to_owned(),
            ));
        };
        let value: String = value.chars().filter(|c| *c != '[' && *c != ']').collect();
        out.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(out)
}

/// `--delete-config` (repeatable, each comma-separated).
pub(super) fn delete_config(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect()
}

/// `iterations=8192,password=x` or `password=x` (Kafka's default: 4096 iterations).
pub(super) fn scram_value(mechanism: &str, value: &str) -> Result<(u32, String)> {
    const DEFAULT_ITERATIONS: u32 = 4096;
    const MIN_ITERATIONS: u32 = 4096;
    let invalid = || ToolError::Line(format!("Invalid credential property {mechanism}={value}"));
    let (iterations, password) = match value.strip_prefix("iterations=") {
        Some(rest) => {
            let (n, rest) = rest.split_once(',').ok_or_else(invalid)?;
            let n: i64 = n.parse().map_err(|_| invalid())?;
            let password = rest.strip_prefix("password=").ok_or_else(invalid)?;
            let n = if n == -1 {
                i64::from(DEFAULT_ITERATIONS)
            } else {
                n
            };
            (n, password)
        }
        None => (
            i64::from(DEFAULT_ITERATIONS),
            value.strip_prefix("password=").ok_or_else(invalid)?,
        ),
    };
    if iterations < i64::from(MIN_ITERATIONS) {
        return Err(ToolError::Line(format!(
            "Iterations {iterations} is less than the minimum {MIN_ITERATIONS} required for {mechanism}"
        )));
    }
    let iterations = u32::try_from(iterations).map_err(|_| invalid())?;
    Ok((iterations, password.to_owned()))
}

/// A quota's value as Java prints a double (`1024.0`).
pub(super) fn java_double(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_as_kafka_splits_it() {
        let m = add_config("a=1, b = [x,y],SCRAM-SHA-256=[iterations=8192,password=p=q],e=")
            .expect("parses");
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "x,y");
        assert_eq!(m["SCRAM-SHA-256"], "iterations=8192,password=p=q");
        assert_eq!(m["e"], "");
        assert!(add_config("a=b=c").is_err());
        assert!(add_config("a").is_err());
    }

    #[test]
    fn scram_values() {
        assert_eq!(
            scram_value("SCRAM-SHA-256", "iterations=8192,password=x,y").ok(),
            Some((8192, "x,y".to_owned()))
        );
        assert_eq!(
            scram_value("SCRAM-SHA-256", "password=x").ok(),
            Some((4096, "x".to_owned()))
        );
        assert!(scram_value("SCRAM-SHA-256", "iterations=100,password=x").is_err());
        assert!(scram_value("SCRAM-SHA-256", "secret").is_err());
    }

    #[test]
    fn doubles_print_as_java() {
        assert_eq!(java_double(1024.0), "1024.0");
        assert_eq!(java_double(12.5), "12.5");
    }
}
