//! `meta.properties` in every log dir: which cluster and broker id the data belongs to.
//! A log dir from another cluster or broker is refused rather than silently mixed in.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

const FILE: &str = "meta.properties";

#[derive(Debug, Error)]
pub enum MetaError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} belongs to cluster {found}, but ZooKeeper's /cluster/id is {expected}")]
    ClusterMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path} belongs to broker.id {found}, but this broker is configured as {expected}")]
    BrokerMismatch {
        path: PathBuf,
        found: i32,
        expected: i32,
    },
    #[error("{path}: invalid broker.id {value:?}")]
    Invalid { path: PathBuf, value: String },
}

/// The identity stored in one log dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    pub broker_id: Option<i32>,
    pub cluster_id: Option<String>,
}

fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Reads `meta.properties` from `dir`, if present.
pub fn read(dir: &Path) -> Result<Option<MetaProperties>, MetaError> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(MetaError::Io { path, source }),
    };
    let props = parse(&text);
    let broker_id = match props.get("broker.id") {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| MetaError::Invalid {
            path: path.clone(),
            value: v.clone(),
        })?),
    };
    Ok(Some(MetaProperties {
        broker_id,
        cluster_id: props.get("cluster.id").cloned(),
    }))
}

/// The broker id recorded in any of the dirs (used when `broker.id` is not configured).
pub fn stored_broker_id(dirs: &[PathBuf]) -> Result<Option<i32>, MetaError> {
    for dir in dirs {
        if let Some(m) = read(dir)? {
            if m.broker_id.is_some() {
                return Ok(m.broker_id);
            }
        }
    }
    Ok(None)
}

/// Checks every dir against (cluster id, broker id) and writes the file where it is missing.
pub fn check_and_write(
    dirs: &[PathBuf],
    cluster_id: &str,
    broker_id: i32,
) -> Result<(), MetaError> {
    for dir in dirs {
        std::fs::create_dir_all(dir).map_err(|source| MetaError::Io {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(FILE);
        match read(dir)? {
            Some(m) => {
                if let Some(found) = m.cluster_id.filter(|c| c != cluster_id) {
                    return Err(MetaError::ClusterMismatch {
                        path,
                        found,
                        expected: cluster_id.to_string(),
                    });
                }
                if let Some(found) = m.broker_id.filter(|&b| b != broker_id) {
                    return Err(MetaError::BrokerMismatch {
                        path,
                        found,
                        expected: broker_id,
                    });
                }
            }
            None => write(dir, cluster_id, broker_id)?,
        }
    }
    Ok(())
}

fn write(dir: &Path, cluster_id: &str, broker_id: i32) -> Result<(), MetaError> {
    let path = dir.join(FILE);
    let tmp = dir.join(format!("{FILE}.tmp"));
    let body = format!(
        "#\n#Written by broker {broker_id}\nversion=0\nbroker.id={broker_id}\ncluster.id={cluster_id}\n"
    );
    let io = |source| MetaError::Io {
        path: path.clone(),
        source,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(body.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_then_refuses_other_cluster_or_broker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dirs = vec![dir.path().to_path_buf()];
        check_and_write(&dirs, "abc", 1).expect("first start");
        check_and_write(&dirs, "abc", 1).expect("same identity");
        assert_eq!(stored_broker_id(&dirs).expect("read"), Some(1));
        assert!(matches!(
            check_and_write(&dirs, "other", 1),
            Err(MetaError::ClusterMismatch { .. })
        ));
        assert!(matches!(
            check_and_write(&dirs, "abc", 2),
            Err(MetaError::BrokerMismatch { .. })
        ));
    }
}
