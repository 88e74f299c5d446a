//! Moving a log to another log dir (AlterReplicaLogDirs, driven by `replica::dir_move`):
//! renaming its directory while its files stay open, and letting a copy of a log take over
//! what the copied batches do not carry.

use std::path::Path;

use super::epoch::sync_dir;
use super::{IoContext, Log, LogError, CHECKPOINT_FILE};

impl Log {
    /// Renames the log's directory to `to`, in the same log dir (a rename never crosses
    /// filesystems), keeping every file open: later writes and errors name the new paths.
    pub fn rename_dir(&mut self, to: &Path) -> Result<(), LogError> {
        std::fs::rename(&self.dir, to)
            .ctx(|| format!("renaming {} to {}", self.dir.display(), to.display()))?;
        if let Some(parent) = to.parent() {
            sync_dir(parent)?;
        }
        for segment in self.segments.values_mut() {
            segment.moved_to(to);
        }
        self.epochs.moved_to(to.join(CHECKPOINT_FILE));
        self.dir = to.to_path_buf();
        Ok(())
    }

    /// Makes this log, a copy of `source`'s batches up to its end, its successor: it takes
    /// `source`'s log start (which may lie inside a batch), leader epochs (a leader's epoch
    /// may have no batch yet) and config, and is flushed, so that it is whole on disk before
    /// it replaces `source`.
    pub fn take_over_from(&mut self, source: &Log) -> Result<(), LogError> {
        let (end, start) = (source.log_end_offset(), source.log_start_offset);
        if self.log_end_offset() != end || self.log_start_offset > start {
            return Err(LogError::Corrupt(format!(
                "the copy [{}, {}) does not cover the log [{start}, {end})",
                self.log_start_offset,
                self.log_end_offset()
            )));
        }
        self.config = source.config.clone();
        self.raise_log_start_offset(start)?;
        self.epochs.adopt(source.epochs.entries());
        self.flush()
    }
}
