//! Idempotent-producer bookkeeping for one partition (Kafka's `ProducerStateManager`).
//!
//! For every producer id we remember its epoch and the last few batches it wrote (first and
//! last sequence, first and last offset). A retried batch that matches one of them is a
//! duplicate: it is not written again and its original offset is returned. The state is
//! rebuilt from the batch headers in the log when a partition is opened, so it survives
//! restarts without a separate snapshot file.

use std::collections::{HashMap, VecDeque};

use thiserror::Error;

use crate::records::BatchHeader;

/// How many recent batches per producer are kept for duplicate detection; Kafka keeps five,
/// matching the client limit of five in-flight requests per connection.
const BATCHES_PER_PRODUCER: usize = 5;

/// Why a producer's batch was refused (mapped to Kafka error codes at the API edge).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProducerError {
    #[error("producer {producer_id}: epoch {got} is older than the current epoch {current}")]
    InvalidEpoch {
        producer_id: i64,
        got: i16,
        current: i16,
    },
    #[error("producer {producer_id}: expected sequence {expected}, got {got}")]
    OutOfOrderSequence {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
    #[error("producer {producer_id} is unknown and its first sequence is {got}, not 0")]
    UnknownProducerId { producer_id: i64, got: i32 },
}

/// Offsets of a batch the producer already wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMetadata>,
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not seen before and in order: append it.
    Append,
    /// Already in the log: answer with these offsets, write nothing.
    Duplicate(BatchMetadata),
}

/// Per-partition producer state.
#[derive(Debug, Default)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
}

fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

impl ProducerStateManager {
    /// Checks a batch from a client before it is appended.
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck, ProducerError> {
        if !h.has_producer_id() || h.base_sequence < 0 {
            return Ok(SequenceCheck::Append);
        }
        let pid = h.producer_id;
        let Some(entry) = self.producers.get(&pid) else {
            if h.base_sequence == 0 {
                return Ok(SequenceCheck::Append);
            }
            return Err(ProducerError::UnknownProducerId {
                producer_id: pid,
                got: h.base_sequence,
            });
        };
        if h.producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidEpoch {
                producer_id: pid,
                got: h.producer_epoch,
                current: entry.epoch,
            });
        }
        if h.producer_epoch > entry.epoch {
            // A bumped epoch starts its sequences over.
            if h.base_sequence != 0 {
                return Err(ProducerError::OutOfOrderSequence {
                    producer_id: pid,
                    expected: 0,
                    got: h.base_sequence,
                });
            }
            return Ok(SequenceCheck::Append);
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == h.last_sequence())
        {
            return Ok(SequenceCheck::Duplicate(*dup));
        }
        let expected = entry
            .batches
            .back()
            .map(|b| next_seq(b.last_seq))
            .unwrap_or(0);
        if h.base_sequence != expected {
            return Err(ProducerError::OutOfOrderSequence {
                producer_id: pid,
                expected,
                got: h.base_sequence,
            });
        }
        Ok(SequenceCheck::Append)
    }

    /// Records a batch that is now in the log (`h.base_offset` must be its real offset).
    pub fn update(&mut self, h: &BatchHeader) {
        if !h.has_producer_id() || h.base_sequence < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::new(),
            });
        if h.producer_epoch > entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_PER_PRODUCER {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMetadata {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
        });
    }

    /// Rebuilds the state from the headers of the batches in a log, oldest first.
    pub fn rebuild<'a>(headers: impl IntoIterator<Item = &'a BatchHeader>) -> Self {
        let mut state = ProducerStateManager::default();
        for h in headers {
            state.update(h);
        }
        state
    }

    /// The last offset of each producer's latest batch: the batch log compaction keeps even
    /// when cleaning empties it, so that the producer's sequence survives (Kafka's
    /// `lastRecordsOfActiveProducers`).
    pub fn last_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(pid, e)| Some((*pid, e.batches.back()?.last_offset)))
            .collect()
    }

    /// Forgets everything at or after `offset` (the log was truncated there).
    pub fn truncate_to(&mut self, offset: i64) {
        for entry in self.producers.values_mut() {
            entry.batches.retain(|b| b.last_offset < offset);
        }
        self.producers.retain(|_, e| !e.batches.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset: offset,
            batch_length: 49,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: count,
        }
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut s = ProducerStateManager::default();
        let first = header(7, 0, 0, 3, 10);
        assert_eq!(s.check(&first), Ok(SequenceCheck::Append));
        s.update(&first);
        let second = header(7, 0, 3, 2, 13);
        assert_eq!(s.check(&second), Ok(SequenceCheck::Append));
        s.update(&second);
        match s.check(&header(7, 0, 0, 3, 0)) {
            Ok(SequenceCheck::Duplicate(m)) => {
                assert_eq!((m.first_offset, m.last_offset), (10, 12))
            }
            other => panic!("expected duplicate, got {other:?}"),
        }
    }

    #[test]
    fn gaps_and_old_epochs_are_refused() {
        let mut s = ProducerStateManager::default();
        s.update(&header(7, 1, 0, 1, 0));
        assert!(matches!(
            s.check(&header(7, 1, 5, 1, 0)),
            Err(ProducerError::OutOfOrderSequence { expected: 1, .. })
        ));
        assert!(matches!(
            s.check(&header(7, 0, 1, 1, 0)),
            Err(ProducerError::InvalidEpoch { .. })
        ));
        assert!(matches!(
            s.check(&header(8, 0, 4, 1, 0)),
            Err(ProducerError::UnknownProducerId { .. })
        ));
        assert_eq!(s.check(&header(7, 2, 0, 1, 0)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn rebuild_and_truncate() {
        let hs = vec![header(1, 0, 0, 2, 0), header(1, 0, 2, 2, 2)];
        let mut s = ProducerStateManager::rebuild(&hs);
        assert!(matches!(
            s.check(&header(1, 0, 2, 2, 0)),
            Ok(SequenceCheck::Duplicate(_))
        ));
        s.truncate_to(2);
        assert_eq!(s.check(&header(1, 0, 2, 2, 0)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn non_idempotent_batches_always_append() {
        let s = ProducerStateManager::default();
        assert_eq!(
            s.check(&header(-1, -1, -1, 1, 0)),
            Ok(SequenceCheck::Append)
        );
    }
}
