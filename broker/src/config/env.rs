//! Mapping `KAFKA_*` environment variables to property names, as the confluentinc/cp-kafka
//! image does, so a compose file written for cp-kafka configures this broker unchanged.

/// Variables cp-kafka reserves for the JVM and logging; they are never broker properties.
pub const EXCLUDED_ENV: &[&str] = &[
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
];

const PREFIX: &str = "KAFKA_";

/// The property an environment variable sets, or `None` when it is not a broker property.
///
/// Strip `KAFKA_`, lower-case, then every `_` becomes `.`, after which `...` (was `___`)
/// becomes `-` and `..` (was `__`) becomes `_`. This is cp-kafka's own order of
/// replacements: `KAFKA_ADVERTISED_LISTENERS` → `advertised.listeners`,
/// `KAFKA_FOO__BAR` → `foo_bar`, `KAFKA_FOO___BAR` → `foo-bar`. (Confluent's prose docs
/// state the `__`/`___` rules the other way round; the image's code is what users rely on.)
pub fn env_to_key(name: &str) -> Option<String> {
    if EXCLUDED_ENV.contains(&name) {
        return None;
    }
    let rest = name.strip_prefix(PREFIX)?;
    if rest.is_empty() {
        return None;
    }
    let dotted = rest.to_ascii_lowercase().replace('_', ".");
    Some(dotted.replace("...", "-").replace("..", "_"))
}

/// The environment variable that would set `key`; used to tell users how to set a
/// missing key. Inverse of [`env_to_key`] for ordinary keys.
pub(crate) fn key_to_env(key: &str) -> String {
    let body = key
        .replace('_', "__")
        .replace('-', "___")
        .replace('.', "_")
        .to_ascii_uppercase();
    format!("{PREFIX}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_like_cp_kafka() {
        let cases = [
            ("KAFKA_ADVERTISED_LISTENERS", Some("advertised.listeners")),
            ("KAFKA_BROKER_ID", Some("broker.id")),
            ("KAFKA_FOO__BAR", Some("foo_bar")),
            ("KAFKA_FOO___BAR", Some("foo-bar")),
            ("KAFKA_A_B__C___D", Some("a.b_c-d")),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                Some("listener.security.protocol.map"),
            ),
            ("KAFKA_", None),
            ("KAFKAX_BROKER_ID", None),
            ("ZOOKEEPER_CONNECT", None),
        ];
        for (env, want) in cases {
            assert_eq!(env_to_key(env).as_deref(), want, "{env}");
        }
    }

    #[test]
    fn skips_jvm_and_logging_vars() {
        for env in EXCLUDED_ENV {
            assert_eq!(env_to_key(env), None, "{env}");
        }
        // Only the exact names are excluded.
        assert_eq!(env_to_key("KAFKA_OPTS_X").as_deref(), Some("opts.x"));
    }

    #[test]
    fn key_to_env_round_trips() {
        for key in ["broker.id", "foo_bar", "foo-bar", "a.b_c-d"] {
            assert_eq!(env_to_key(&key_to_env(key)).as_deref(), Some(key));
        }
    }
}
