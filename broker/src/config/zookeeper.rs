//! Validation of `zookeeper.connect`, done up front so a typo fails at startup with the key
//! named instead of as an endless reconnect loop in the ZooKeeper client.

use super::error::ConfigError;
use super::layers::Raw;

const EXPECTED: &str = "host:port[,host:port...][/chroot], e.g. 127.0.0.1:2181 or \
                        zk1:2181,zk2:2181/kafka (the chroot starts with '/', has no empty \
                        segment and no trailing '/')";

/// Checks the connect string and returns it trimmed.
pub(crate) fn validate_connect(raw: Raw<'_>) -> Result<String, ConfigError> {
    let value = raw.value.trim();
    let (hosts, chroot) = match value.find('/') {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    if hosts.split(',').all(valid_host_port) && valid_chroot(chroot) {
        Ok(value.to_owned())
    } else {
        Err(raw.invalid(EXPECTED))
    }
}

/// `host:port` or `[v6]:port` with a non-empty host and a port from 1 to 65535.
fn valid_host_port(item: &str) -> bool {
    let item = item.trim();
    let split = match item.strip_prefix('[') {
        Some(rest) => rest
            .split_once(']')
            .and_then(|(h, p)| Some((h, p.strip_prefix(':')?))),
        None => item.rsplit_once(':').filter(|(h, _)| !h.contains(':')),
    };
    split.is_some_and(|(host, port)| {
        !host.is_empty()
            && !host.contains(char::is_whitespace)
            && port.parse::<u16>().is_ok_and(|p| p != 0)
    })
}

/// Empty (no chroot) or `/a[/b...]` without empty segments; "/" alone is refused because
/// it is the trailing-slash case of "no chroot" and ZooKeeper rejects it.
fn valid_chroot(chroot: &str) -> bool {
    chroot.is_empty()
        || chroot.strip_prefix('/').is_some_and(|path| {
            path.split('/')
                .all(|seg| !seg.is_empty() && !seg.contains(char::is_whitespace))
        })
}

#[cfg(test)]
mod tests {
    use super::super::error::Origin;
    use super::*;

    fn check(value: &str) -> Result<String, ConfigError> {
        static ORIGIN: Origin = Origin::Default;
        validate_connect(Raw {
            key: "zookeeper.connect",
            value,
            origin: &ORIGIN,
        })
    }

    #[test]
    fn accepts_host_lists_with_and_without_chroot() {
        for ok in [
            "127.0.0.1:2181",
            " zk1:2181,zk2:2182 ",
            "zk1:2181,zk2:2181/kafka",
            "zk:2181/a/b",
            "[::1]:2181/kafka",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_strings_naming_the_key() {
        for bad in [
            "",
            "zk",
            "zk:",
            ":2181",
            "zk:0",
            "zk:99999",
            "zk1:2181,",
            "zk:2181/",
            "zk:2181/kafka/",
            "zk:2181//kafka",
            "zk:2181kafka",
            "/kafka",
        ] {
            let err = check(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("zookeeper.connect"), "{bad:?}: {err}");
        }
    }
}
