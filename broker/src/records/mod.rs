//! Record batches as they travel the wire and sit in the log.
//!
//! - [`header`]: the fixed 61-byte v2 batch header: parse, CRC-32C check, in-place rewrites
//!   (offsets, leader epoch, LogAppendTime) that a leader makes before appending.
//! - [`validate`]: turns a Produce payload (v2 batches, or v0/v1 message sets from old
//!   producers) into checked v2 batches ready to append.
//! - [`convert`]: down-conversion of stored v2 batches to v0/v1 message sets for Fetch v0-v3.
//! - Private helpers: `wire` (bounds-checked reads), `codec` (decompression by codec id),
//!   `v2` (walking the records of a batch), `legacy` (v0/v1 messages).

mod codec;
pub mod convert;
pub mod header;
mod legacy;
pub(crate) mod rewrite;
#[cfg(test)]
pub(crate) mod testutil;
pub(crate) mod v2;
pub mod validate;
mod wire;

pub use header::{BatchHeader, RecordError};
