//! Record batches as they travel the wire and sit in the log.
//!
//! - [`header`]: the fixed 61-byte v2 batch header: parse, CRC-32C check, in-place rewrites
//!   (offsets, leader epoch, LogAppendTime) that a leader makes before appending.
//! - [`validate`]: turns a Produce payload (v2 batches, or v0/v1 message sets from old
//!   producers) into checked v2 batches ready to append.
//! - [`convert`]: down-conversion of stored v2 batches to v0/v1 message sets for Fetch v0-v3.

pub mod convert;
pub mod header;
pub mod validate;

pub use header::{BatchHeader, RecordError};
