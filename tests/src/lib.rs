//! Integration test harness (filled in by the test-harness work).
pub mod zookeeper;
