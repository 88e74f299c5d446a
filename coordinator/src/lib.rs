//! Everything that talks to ZooKeeper (filled in by the coordinator work).
