//! The log start offset: the first offset a reader may ask for. It moves up when records are
//! deleted from the front (DeleteRecords on a leader, a follower following its leader's start,
//! retention) and may fall inside a segment: reads below it are out of range at once, and a
//! segment is deleted only once it lies wholly below it (Kafka's `maybeIncrementLogStartOffset`
//! followed by `deleteLogStartOffsetBreachedSegments`, done here in one step). The leader
//! epoch cache is cut at the new start too. The start is kept across restarts in the log dir's
//! `log-start-offset-checkpoint` (written by `replica::manager`), given back through
//! [`Log::restore_log_start_offset`].

use super::{Log, LogError};

impl Log {
    /// Raises the log start offset to `offset` (nothing happens to it if it is not above the
    /// current start) and deletes the segments wholly below the start; returns how many. The
    /// active segment always stays, so an `offset` at the log end keeps its records on disk
    /// (unreadable) until it rolls. An `offset` past the log end is out of range.
    pub fn raise_log_start_offset(&mut self, offset: i64) -> Result<usize, LogError> {
        let leo = self.log_end_offset();
        if offset > leo {
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset,
                log_end: leo,
            });
        }
        if offset > self.log_start_offset {
            self.log_start_offset = offset;
            self.epochs.truncate_from_start(offset)?;
        }
        self.delete_segments_below_start()
    }

    /// Applies the start read from the checkpoint when the log is opened: raised as above, or,
    /// when the log now ends below it (its files were lost or cut short), emptied and
    /// restarted there, as Kafka's log loader does.
    pub fn restore_log_start_offset(&mut self, offset: i64) -> Result<(), LogError> {
        if offset > self.log_end_offset() {
            tracing::warn!(
                dir = %self.dir.display(),
                log_start = offset,
                log_end = self.log_end_offset(),
                "log ends below its checkpointed start: restarting it empty there"
            );
            return self.truncate_fully_and_start_at(offset);
        }
        self.raise_log_start_offset(offset).map(drop)
    }

    /// The log start to keep in the checkpoint: only one inside the first segment, since a
    /// reopened log starts at its first segment anyway (Kafka writes no other).
    pub fn log_start_to_checkpoint(&self) -> Option<i64> {
        let first = self.segments.keys().next().copied();
        (first.is_some_and(|base| self.log_start_offset > base)).then_some(self.log_start_offset)
    }

    /// Deletes, oldest first, every segment whose successor starts at or below the log start.
    fn delete_segments_below_start(&mut self) -> Result<usize, LogError> {
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        let doomed: Vec<i64> = bases
            .windows(2)
            .take_while(|pair| pair[1] <= self.log_start_offset)
            .map(|pair| pair[0])
            .collect();
        for base in &doomed {
            if let Some(seg) = self.segments.remove(base) {
                tracing::info!(
                    segment = %seg.log_path().display(),
                    log_start = self.log_start_offset,
                    "deleting segment below the log start"
                );
                seg.delete()?;
            }
        }
        Ok(doomed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fill, open, read_all, small_config};
    use super::*;

    /// A log of 20 batches of 3 records (offsets 0-59) over several 1 KiB segments.
    fn log_with_segments() -> (tempfile::TempDir, Log) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open(dir.path(), small_config());
        log.leader_epochs_mut().assign(1, 0);
        fill(&mut log, 20);
        assert!(log.segment_count() >= 4, "{} segments", log.segment_count());
        (dir, log)
    }

    fn bases(log: &Log) -> Vec<i64> {
        log.segments.keys().copied().collect()
    }

    #[test]
    fn a_start_inside_a_segment_hides_what_is_below_and_keeps_the_segment() {
        let (_dir, mut log) = log_with_segments();
        let before = bases(&log);
        let inside = before[1] + 1;
        // Only the first segment lies wholly below.
        assert_eq!(log.raise_log_start_offset(inside).expect("raise"), 1);
        assert_eq!(bases(&log), before[1..].to_vec());
        assert_eq!(log.log_start_offset(), inside);
        assert!(matches!(
            log.read(inside - 1, 1 << 20, i64::MAX, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(read_all(&log, inside), (inside..60).collect::<Vec<_>>());
        assert_eq!(log.leader_epochs().entries()[0].start_offset, inside);
        // Lower or equal starts change nothing.
        assert_eq!(log.raise_log_start_offset(3).expect("lower"), 0);
        assert_eq!(log.log_start_offset(), inside);
    }

    #[test]
    fn timestamp_lookups_answer_nothing_below_the_start() {
        let (_dir, mut log) = log_with_segments();
        // Batch i holds offsets 3i..3i+2, every record stamped 1000 + 10i.
        assert_eq!(
            log.offset_for_timestamp(0).expect("lookup"),
            Some((0, 1000))
        );
        log.raise_log_start_offset(4).expect("raise");
        assert_eq!(
            log.offset_for_timestamp(0).expect("lookup"),
            Some((4, 1010))
        );
        assert_eq!(
            log.offset_for_timestamp(1010).expect("lookup"),
            Some((4, 1010))
        );
        assert_eq!(
            log.offset_for_timestamp(1011).expect("lookup"),
            Some((6, 1020))
        );
    }

    #[test]
    fn a_start_at_a_segment_base_deletes_everything_before_it() {
        let (dir, mut log) = log_with_segments();
        let before = bases(&log);
        assert_eq!(log.raise_log_start_offset(before[3]).expect("raise"), 3);
        assert_eq!(bases(&log), before[3..].to_vec());
        for base in &before[..3] {
            assert!(!dir.path().join(format!("{base:020}.log")).exists());
            assert!(!dir.path().join(format!("{base:020}.index")).exists());
        }
    }

    #[test]
    fn the_log_end_is_the_highest_start_and_the_active_segment_stays() {
        let (_dir, mut log) = log_with_segments();
        let last = *bases(&log).last().expect("active");
        let leo = log.log_end_offset();
        assert!(matches!(
            log.raise_log_start_offset(leo + 1),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        log.raise_log_start_offset(leo).expect("to the end");
        assert_eq!(bases(&log), vec![last]);
        assert_eq!(log.log_start_offset(), leo);
        assert_eq!(read_all(&log, leo), Vec::<i64>::new());
        fill(&mut log, 1);
        assert_eq!(read_all(&log, leo), vec![leo, leo + 1, leo + 2]);
    }

    #[test]
    fn a_restored_start_is_raised_to_or_restarts_a_log_that_ends_below_it() {
        let (dir, mut log) = log_with_segments();
        let inside = bases(&log)[2] + 2;
        assert_eq!(log.log_start_to_checkpoint(), None);
        log.raise_log_start_offset(inside).expect("raise");
        assert_eq!(log.log_start_to_checkpoint(), Some(inside));
        drop(log);
        // Reopened, the log starts at its first segment until the checkpoint is applied.
        let mut log = open(dir.path(), small_config());
        assert!(log.log_start_offset() < inside);
        log.restore_log_start_offset(inside).expect("restore");
        assert_eq!(log.log_start_offset(), inside);
        assert_eq!(read_all(&log, inside), (inside..60).collect::<Vec<_>>());
        // A checkpoint past the end: the log restarts empty there.
        log.restore_log_start_offset(100).expect("restart");
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
        assert_eq!(bases(&log), vec![100]);
    }
}
