//! [`LogSlice`]: whole batches read from a log, left where they are in their segment file.
//!
//! A fetch sends a slice to its socket with `sendfile`, so fetched records go from the page
//! cache to the socket without passing through the broker's memory; whatever needs the bytes
//! themselves (down-conversion for old clients, tests) loads them with one `pread`.
//!
//! A slice holds its segment's file open, so a segment deleted by retention meanwhile can
//! still be sent. A segment truncated meanwhile (a leader demoted to follower cutting a
//! diverged tail) ends the slice early: sending or loading it then fails, and the fetch's
//! connection is closed rather than answered with fewer bytes than its frame announced.

use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;

use super::{IoContext, LogError};

/// `len` bytes at `pos` of a segment file; empty when nothing was read.
#[derive(Debug, Clone, Default)]
pub struct LogSlice {
    file: Option<Arc<File>>,
    pos: u64,
    len: usize,
}

impl LogSlice {
    pub(crate) fn new(file: Arc<File>, pos: u64, len: usize) -> LogSlice {
        LogSlice {
            file: (len > 0).then_some(file),
            pos,
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file, start and length to send; None for an empty slice.
    pub fn region(&self) -> Option<(&File, u64, usize)> {
        self.file.as_deref().map(|f| (f, self.pos, self.len))
    }

    /// The bytes themselves, read from the file.
    pub fn load(&self) -> Result<Bytes, LogError> {
        match &self.file {
            None => Ok(Bytes::new()),
            Some(file) => super::segment::read_exact_at(file, self.len, self.pos)
                .map(Bytes::from)
                .ctx(|| format!("reading {} fetched bytes at {}", self.len, self.pos)),
        }
    }
}
