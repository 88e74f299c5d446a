//! Produce payload validation (filled in by the records work).
