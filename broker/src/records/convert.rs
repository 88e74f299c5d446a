//! Down-conversion of v2 batches to v0/v1 message sets (filled in by the records work).
