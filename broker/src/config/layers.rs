//! Raw settings: every layer (defaults < file < env < overrides) flattened into one map of
//! key → string with the origin of the winning value.
//!
//! Values are kept as strings until typed parsing so that a YAML number, a YAML string and
//! an environment variable all go through the same parser and produce the same errors.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value;

use super::env::{env_to_key, key_to_env};
use super::error::{ConfigError, Origin};
use super::keys;

/// The origin used for values taken from the key table.
static DEFAULT_ORIGIN: Origin = Origin::Default;

/// One key's value as it will be parsed: borrowed from [`Settings`] or from the key table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
    pub(crate) origin: &'a Origin,
}

/// A value some layer set explicitly, as written there, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub origin: Origin,
}

/// The merged layers plus the warnings collected while merging.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    values: BTreeMap<String, Setting>,
    pub(crate) warnings: Vec<String>,
}

impl Settings {
    /// Settings holding `explicit` alone (a loaded config's explicit keys), to layer more on.
    pub(crate) fn from_explicit(explicit: &BTreeMap<String, Setting>) -> Settings {
        Settings {
            values: explicit.clone(),
            warnings: Vec::new(),
        }
    }

    /// Forgets `key`, as if no layer had set it.
    pub(crate) fn remove(&mut self, key: &str) {
        self.values.remove(key);
    }

    /// Sets `key` (a later layer wins) and warns if the key is not known.
    pub(crate) fn set(&mut self, key: &str, value: String, origin: Origin) {
        if !keys::is_known(key) {
            self.warnings.push(format!(
                "unknown config key `{key}` (from {origin}) is ignored"
            ));
        }
        self.values
            .insert(key.to_owned(), Setting { value, origin });
    }

    /// The value of `key` if some layer set it explicitly.
    pub(crate) fn explicit(&self, key: &str) -> Option<Raw<'_>> {
        self.values.get_key_value(key).map(|(k, s)| Raw {
            key: k,
            value: &s.value,
            origin: &s.origin,
        })
    }

    /// Every explicitly set key with its value and origin (defaults are not included).
    pub(crate) fn all_explicit(&self) -> BTreeMap<String, Setting> {
        self.values.clone()
    }

    /// The value of `key`, falling back to its documented default; `Missing` if neither.
    pub(crate) fn get(&self, key: &str) -> Result<Raw<'_>, ConfigError> {
        if let Some(raw) = self.explicit(key) {
            return Ok(raw);
        }
        keys::doc(key)
            .and_then(|d| d.default.map(|value| (d.key, value)))
            .map(|(key, value)| Raw {
                key,
                value,
                origin: &DEFAULT_ORIGIN,
            })
            .ok_or_else(|| ConfigError::Missing {
                key: key.to_owned(),
                env: key_to_env(key),
            })
    }

    /// Layers the YAML file at `path` on top of what is set.
    pub(crate) fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        for (key, value) in parse_yaml(&text).map_err(|message| ConfigError::Yaml {
            path: path.to_owned(),
            message,
        })? {
            self.set(&key, value, Origin::File(path.to_owned()));
        }
        Ok(())
    }

    /// Layers `KAFKA_*` variables on top; other variables are ignored.
    pub(crate) fn apply_env(&mut self, env: &[(String, String)]) {
        for (name, value) in env {
            if let Some(key) = env_to_key(name) {
                self.set(&key, value.clone(), Origin::Env(name.clone()));
            }
        }
    }

    /// Layers `key=value` arguments on top.
    pub(crate) fn apply_overrides(&mut self, overrides: &[String]) -> Result<(), ConfigError> {
        for arg in overrides {
            let (key, value) = split_override(arg)?;
            self.set(key, value.to_owned(), Origin::Override);
        }
        Ok(())
    }
}

/// Splits `key=value` at the first `=` (values such as listener lists may contain `=`-free
/// colons and slashes, but a value may itself contain `=`).
fn split_override(arg: &str) -> Result<(&str, &str), ConfigError> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim(), value)),
        _ => Err(ConfigError::Override {
            arg: arg.to_owned(),
        }),
    }
}

/// Parses the file as a flat mapping of key → scalar, normalising scalars to strings.
///
/// A null value (`key:` with nothing after it) means "not set", so an example file can
/// keep a key visible without overriding the default. A sequence of scalars is joined with
/// commas, so `log.dirs: [/a, /b]` means the same as `log.dirs: /a,/b`.
fn parse_yaml(text: &str) -> Result<Vec<(String, String)>, String> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let mapping = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Mapping(m) => m,
        _ => return Err("expected a mapping of Kafka property names to values".into()),
    };
    let mut out = Vec::new();
    for (key, value) in mapping {
        let Value::String(key) = key else {
            return Err(format!("key {key:?} is not a string"));
        };
        if let Some(value) = scalar_list(&value).map_err(|e| format!("key `{key}`: {e}"))? {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// A value as a string: scalars directly, a sequence of scalars comma-joined, null as unset.
fn scalar_list(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Sequence(items) => {
            let parts: Result<Vec<String>, String> = items
                .iter()
                .map(|v| scalar(v)?.ok_or_else(|| "null inside a list".to_owned()))
                .collect();
            Ok(Some(parts?.join(",")))
        }
        other => scalar(other),
    }
}

fn scalar(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(
            "expected a string, number or boolean (keys are flat, e.g. `log.dirs: /data`)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_become_strings() -> Result<(), String> {
        let got = parse_yaml(
            "broker.id: 7\nauto.create.topics.enable: false\nlog.dirs: [/a, /b]\nbroker.rack:\nzookeeper.connect: \"h:1\"\n",
        )?;
        let want = [
            ("broker.id", "7"),
            ("auto.create.topics.enable", "false"),
            ("log.dirs", "/a,/b"),
            ("zookeeper.connect", "h:1"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn nested_yaml_is_rejected_naming_the_key() {
        let err = parse_yaml("log:\n  dirs: /a\n").err().unwrap_or_default();
        assert!(err.contains("`log`"), "{err}");
        assert!(parse_yaml("- a\n- b\n").is_err());
        assert_eq!(parse_yaml(""), Ok(Vec::new()));
    }

    #[test]
    fn override_needs_key_and_equals() {
        assert!(matches!(split_override("a.b=c=d"), Ok(("a.b", "c=d"))));
        assert!(matches!(split_override("a.b="), Ok(("a.b", ""))));
        assert!(split_override("a.b").is_err());
        assert!(split_override("=x").is_err());
    }
}
