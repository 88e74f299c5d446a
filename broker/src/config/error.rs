//! Errors and the provenance of a setting.
//!
//! Every error names the key (and, where there is one, the offending value and where it came
//! from) because the broker exits with it: the operator must be able to fix the right layer
//! (file, environment or `--override`) without guessing.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from; shown in warnings and errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The documented default from [`super::KEYS`].
    Default,
    /// The YAML file given with `--config`.
    File(PathBuf),
    /// An environment variable (its full name, e.g. `KAFKA_BROKER_ID`).
    Env(String),
    /// A `--override key=value` argument.
    Override,
    /// A dynamic broker config: the znode it is stored in (`/config/brokers/<id>`).
    Dynamic(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File(path) => write!(f, "config file {}", path.display()),
            Origin::Env(name) => write!(f, "environment variable {name}"),
            Origin::Override => f.write_str("--override"),
            Origin::Dynamic(path) => write!(f, "dynamic config {path}"),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(thiserror::Error, Debug)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config file is not a flat YAML mapping of keys to scalars.
    #[error("invalid YAML in config file {}: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    /// A `--override` argument is not of the form `key=value`.
    #[error("invalid --override {arg:?}: expected key=value, e.g. --override broker.id=1")]
    Override { arg: String },
    /// A required key has no value in any layer.
    #[error(
        "`{key}` is required: set it in the config file, as {env} or with --override {key}=..."
    )]
    Missing { key: String, env: String },
    /// A value does not parse, is out of range, or contradicts another key.
    #[error("invalid value {value:?} for `{key}` (from {origin}): expected {expected}")]
    Invalid {
        key: String,
        value: String,
        origin: Origin,
        expected: String,
    },
    /// A TLS listener lacks what it needs.
    #[error("TLS listener {listener}: {message}")]
    Tls { listener: String, message: String },
}
