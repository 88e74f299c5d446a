//! Typed parsing of one raw value. Each parser's error names the key, the value, where it
//! came from and what was expected.

use std::fmt::Display;
use std::str::FromStr;

use super::error::ConfigError;
use super::layers::{Raw, Settings};

/// Integer types a key can have; `MAX` lets the error message state the full range.
pub(crate) trait Int: FromStr + PartialOrd + Display + Copy {
    const MAX: Self;
}

macro_rules! int {
    ($($t:ty),*) => { $(impl Int for $t { const MAX: Self = <$t>::MAX; })* };
}
int!(i16, i32, i64, u16, u64, usize);

impl Raw<'_> {
    /// An `Invalid` error for this value.
    pub(crate) fn invalid(&self, expected: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.key.to_owned(),
            value: self.value.to_owned(),
            origin: self.origin.clone(),
            expected: expected.into(),
        }
    }

    /// An integer in `min..=max` (surrounding whitespace ignored, as Kafka does).
    /// Like [`Raw::invalid`], for a value that holds passwords: the value is not shown.
    pub(crate) fn invalid_secret(&self, expected: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.key.to_owned(),
            value: "(not shown: it holds passwords)".to_owned(),
            origin: self.origin.clone(),
            expected: expected.into(),
        }
    }

    pub(crate) fn int_between<T: Int>(&self, min: T, max: T) -> Result<T, ConfigError> {
        match self.value.trim().parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(self.invalid(format!("an integer from {min} to {max}"))),
        }
    }

    /// An integer of at least `min`.
    pub(crate) fn int_at_least<T: Int>(&self, min: T) -> Result<T, ConfigError> {
        self.int_between(min, T::MAX)
    }

    /// A boolean: `true` or `false`, any case.
    pub(crate) fn bool(&self) -> Result<bool, ConfigError> {
        match self.value.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.invalid("true or false")),
        }
    }

    /// The non-empty, trimmed items of a comma list.
    pub(crate) fn list(&self) -> Vec<&str> {
        self.value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl Settings {
    pub(crate) fn int_between<T: Int>(&self, key: &str, min: T, max: T) -> Result<T, ConfigError> {
        self.get(key)?.int_between(min, max)
    }

    pub(crate) fn int_at_least<T: Int>(&self, key: &str, min: T) -> Result<T, ConfigError> {
        self.int_between(key, min, T::MAX)
    }

    pub(crate) fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        self.get(key)?.bool()
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::Origin;
    use super::*;

    fn raw(value: &str) -> Raw<'_> {
        static ORIGIN: Origin = Origin::Override;
        Raw {
            key: "some.key",
            value,
            origin: &ORIGIN,
        }
    }

    #[test]
    fn ints_respect_range_and_name_the_key() {
        assert_eq!(raw(" 42 ").int_between(1i32, 100).ok(), Some(42));
        for bad in ["0", "101", "4.5", "x", ""] {
            let err = raw(bad).int_between(1i32, 100).err().map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(
                err.contains("some.key") && err.contains("from 1 to 100"),
                "{err}"
            );
        }
    }

    #[test]
    fn bools_are_case_insensitive() {
        assert_eq!(raw("TRUE").bool().ok(), Some(true));
        assert_eq!(raw("false").bool().ok(), Some(false));
        assert!(raw("yes").bool().is_err());
    }

    #[test]
    fn lists_drop_blanks() {
        assert_eq!(raw(" a, ,b ,").list(), ["a", "b"]);
    }
}
