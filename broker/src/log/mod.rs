//! The on-disk partition log (filled in by the storage work).
