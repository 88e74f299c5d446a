//! The broker's log dirs and which of them have failed (Kafka's `LogDirFailureChannel` and
//! the offline-dir bookkeeping of its `LogManager`).
//!
//! An I/O error on any file of a log dir (a full disk, a failing one) fails the whole dir, as
//! in Kafka: the first report logs one ERROR naming the dir and the cause, marks the dir
//! offline and wakes the handler ([`LogDirs::next_failed`], run by the server), which stops
//! the dir's partitions and tells the controller. From then on every partition in the dir
//! answers KAFKA_STORAGE_ERROR without touching the disk ([`LogDir::check_online`]). A dir
//! stays offline until the broker restarts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::log::LogError;

/// One entry of `log.dirs`.
#[derive(Debug)]
pub struct LogDir {
    path: PathBuf,
    offline: AtomicBool,
    /// Shared by the dirs of one broker: woken on each dir's first failure.
    failed: Arc<Notify>,
}

impl LogDir {
    /// A dir of its own, outside any [`LogDirs`] (unit tests of partitions).
    #[cfg(test)]
    pub(crate) fn standalone(path: &Path) -> Arc<LogDir> {
        Arc::new(LogDir {
            path: path.to_path_buf(),
            offline: AtomicBool::new(false),
            failed: Arc::new(Notify::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_offline(&self) -> bool {
        self.offline.load(Ordering::Acquire)
    }

    /// `Err(DirOffline)` once the dir has failed: what every operation on one of its logs
    /// answers instead of touching the disk.
    pub fn check_online(&self) -> Result<(), LogError> {
        if self.is_offline() {
            return Err(LogError::DirOffline(self.path.clone()));
        }
        Ok(())
    }

    /// Reports an I/O error on a file of this dir. The first report takes the dir offline,
    /// logs it and wakes the failure handler; later ones change nothing. Returns whether this
    /// report was the first.
    pub fn fail(&self, cause: &LogError) -> bool {
        if self.offline.swap(true, Ordering::AcqRel) {
            return false;
        }
        tracing::error!(
            dir = %self.path.display(),
            error = %cause,
            "log dir failed: its partitions are offline (KAFKA_STORAGE_ERROR) until the broker restarts"
        );
        self.failed.notify_one();
        true
    }

    /// Runs `op` on this dir unless it is offline; an I/O error from it fails the dir.
    pub fn guard<T>(&self, op: impl FnOnce() -> Result<T, LogError>) -> Result<T, LogError> {
        self.check_online()?;
        let result = op();
        if let Err(e) = &result {
            if e.is_io() {
                self.fail(e);
            }
        }
        result
    }
}

/// Every log dir of the broker, in `log.dirs` order.
#[derive(Debug)]
pub struct LogDirs {
    dirs: Vec<Arc<LogDir>>,
    failed: Arc<Notify>,
    /// Failed dirs already returned by [`Self::next_failed`].
    handled: Mutex<HashSet<PathBuf>>,
}

impl LogDirs {
    pub fn new(paths: Vec<PathBuf>) -> LogDirs {
        let failed = Arc::new(Notify::new());
        let dirs = paths
            .into_iter()
            .map(|path| {
                Arc::new(LogDir {
                    path,
                    offline: AtomicBool::new(false),
                    failed: failed.clone(),
                })
            })
            .collect();
        LogDirs {
            dirs,
            failed,
            handled: Mutex::new(HashSet::new()),
        }
    }

    pub fn all(&self) -> &[Arc<LogDir>] {
        &self.dirs
    }

    /// The dir at `path`, if it is one of ours.
    pub fn get(&self, path: &Path) -> Option<&Arc<LogDir>> {
        self.dirs.iter().find(|d| d.path == path)
    }

    pub fn online(&self) -> impl Iterator<Item = &Arc<LogDir>> {
        self.dirs.iter().filter(|d| !d.is_offline())
    }

    pub fn any_offline(&self) -> bool {
        self.dirs.iter().any(|d| d.is_offline())
    }

    /// True when no dir is left to write to: the broker cannot serve and shuts down.
    pub fn all_offline(&self) -> bool {
        self.online().next().is_none()
    }

    /// Waits until a dir has failed that no earlier call returned, and returns it (failures
    /// before the first call, e.g. during start-up, are returned too).
    pub async fn next_failed(&self) -> Arc<LogDir> {
        loop {
            if let Some(dir) = self.take_unhandled() {
                return dir;
            }
            self.failed.notified().await;
        }
    }

    fn take_unhandled(&self) -> Option<Arc<LogDir>> {
        let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
        let dir = self
            .dirs
            .iter()
            .find(|d| d.is_offline() && !handled.contains(&d.path))?;
        handled.insert(dir.path.clone());
        Some(dir.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error() -> LogError {
        LogError::Io {
            context: "appending to x.log".into(),
            source: std::io::Error::from_raw_os_error(28),
        }
    }

    #[tokio::test]
    async fn the_first_io_error_takes_the_dir_offline_once() {
        let dirs = LogDirs::new(vec!["/a".into(), "/b".into()]);
        let a = dirs.all()[0].clone();
        assert!(a.check_online().is_ok());
        // Not an I/O error (a bad batch from a peer): the dir stays online.
        let corrupt = a.guard(|| -> Result<(), _> { Err(LogError::Corrupt("bad crc".into())) });
        assert!(corrupt.is_err() && !a.is_offline());
        let mut ran = false;
        let failed = a.guard(|| -> Result<(), _> {
            ran = true;
            Err(io_error())
        });
        assert!(ran && failed.is_err() && a.is_offline());
        assert!(!a.fail(&io_error()), "reported once");
        // Offline: the operation is not even tried.
        let mut touched = false;
        let refused = a.guard(|| {
            touched = true;
            Ok(())
        });
        assert!(matches!(refused, Err(LogError::DirOffline(p)) if p == Path::new("/a")));
        assert!(!touched);
        assert!(dirs.any_offline() && !dirs.all_offline());
        assert_eq!(dirs.next_failed().await.path(), Path::new("/a"));
        dirs.all()[1].fail(&io_error());
        assert!(dirs.all_offline());
        assert_eq!(dirs.next_failed().await.path(), Path::new("/b"));
        assert!(
            dirs.take_unhandled().is_none(),
            "each failed dir is handled once"
        );
    }
}
