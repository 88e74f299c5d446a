//! Unit tests of the whole log: round trips, recovery, retention, truncation, lookups.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::segment::{segment_path, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use super::*;
use crate::records::header::batches;
use crate::records::testutil::wide_batch;

/// One uncompressed v2 batch whose records carry `timestamps` and `value_size`-byte values.
fn batch(timestamps: &[i64], value_size: usize) -> Vec<u8> {
    let records: Vec<Record> = timestamps
        .iter()
        .enumerate()
        .map(|(i, &ts)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: ts,
            key: None,
            value: Some(Bytes::from(vec![b'x'; value_size])),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
    buf.to_vec()
}

/// A batch of `n` records all stamped `ts`.
pub(super) fn simple(n: usize, ts: i64) -> Vec<u8> {
    batch(&vec![ts; n], 100)
}

pub(super) fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        segment_ms: None,
        retention_ms: None,
        retention_bytes: None,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

/// 1 MiB segments: no test here fills one, so nothing rolls by size.
pub(super) fn big_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 1 << 20,
        ..small_config()
    }
}

pub(super) fn open(dir: &Path, config: LogConfig) -> Log {
    Log::open(dir, config).expect("open")
}

/// A new log in a fresh temporary directory (removed when the guard drops), holding `count`
/// batches from [`fill`].
fn filled(config: LogConfig, count: usize) -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), config);
    fill(&mut log, count);
    (dir, log)
}

/// Overwrites bytes of `path` at `pos` (simulated disk corruption).
fn overwrite(path: &Path, pos: u64, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(path).expect("open");
    file.write_all_at(bytes, pos).expect("corrupt");
}

/// Appends `count` batches of 3 records with timestamps 1000 + 10 * batch index.
pub(super) fn fill(log: &mut Log, count: usize) {
    for i in 0..count {
        let b = simple(3, 1000 + 10 * i as i64);
        log.append_as_leader(&b, 1, None).expect("append");
    }
}

/// Offsets of every record in `data`, decoded.
fn offsets(data: &[u8]) -> Vec<i64> {
    let mut buf = Bytes::copy_from_slice(data);
    let sets = RecordBatchDecoder::decode_all(&mut buf).expect("decode");
    sets.iter()
        .flat_map(|s| s.records.iter().map(|r| r.offset))
        .collect()
}

/// The bytes a read returned (a read leaves them in the segment file).
fn loaded(r: &ReadResult) -> Bytes {
    r.data.load().expect("load the read slice")
}

pub(super) fn read_all(log: &Log, from: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut offset = from;
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX, true).expect("read");
        let got = offsets(&loaded(&r));
        assert!(!got.is_empty(), "no progress at {offset}");
        out.extend(got.iter().filter(|&&o| o >= offset));
        offset = got.last().copied().expect("nonempty") + 1;
    }
    out
}

fn segment_files(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(&format!(".{suffix}")))
        .collect();
    names.sort();
    names
}

#[test]
fn append_read_round_trip_across_rolls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    let first = simple(3, 1000);
    let info = log.append_as_leader(&first, 7, Some(5555)).expect("append");
    assert_eq!(
        (info.first_offset, info.last_offset, info.log_append_time),
        (0, 2, 5555)
    );
    // The stored batch is patched; the caller's buffer (the request) is left as it was.
    let stored = log.read(0, 1 << 20, i64::MAX, true).expect("read");
    let stored = loaded(&stored);
    let h = BatchHeader::parse(&stored).expect("parse");
    assert_eq!((h.partition_leader_epoch, h.max_timestamp), (7, 5555));
    h.verify_crc(&stored).expect("crc still valid");
    assert_eq!(&stored[HEADER_SIZE..], &first[HEADER_SIZE..]);
    assert_eq!(
        BatchHeader::parse(&first).expect("parse").max_timestamp,
        1000
    );
    fill(&mut log, 20);
    assert_eq!(log.log_end_offset(), 63);
    assert!(log.segment_count() > 3, "segments: {}", log.segment_count());
    assert_eq!(read_all(&log, 0), (0..63).collect::<Vec<_>>());
    assert_eq!(read_all(&log, 31), (31..63).collect::<Vec<_>>());
    let logs = segment_files(dir.path(), LOG_SUFFIX);
    assert_eq!(logs[0], "00000000000000000000.log");
    for name in &logs {
        let base: i64 = name[..20].parse().expect("base");
        let data = fs::read(dir.path().join(name)).expect("read");
        let first = batches(&data).next().expect("batch").expect("ok").0;
        assert_eq!(
            first.base_offset, base,
            "segment base = offset of its first batch"
        );
    }
    assert_eq!(log.leader_epochs().latest_epoch(), Some(7));
}

#[test]
fn index_entries_point_at_batches() {
    let (dir, mut log) = filled(big_segments(), 12);
    // Index entries reach their files in runs, and all of them on a flush.
    log.flush().expect("flush");
    let index = fs::read(segment_path(dir.path(), 0, INDEX_SUFFIX)).expect("index");
    assert!(!index.is_empty() && index.chunks_exact(8).remainder().is_empty());
    let data = fs::read(segment_path(dir.path(), 0, LOG_SUFFIX)).expect("log");
    for entry in index.chunks(8) {
        let rel = i32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]) as i64;
        let pos = u32::from_be_bytes([entry[4], entry[5], entry[6], entry[7]]) as usize;
        let h = BatchHeader::parse(&data[pos..]).expect("batch at indexed position");
        assert_eq!(h.last_offset(), rel, "entry names the batch's last offset");
    }
    let time = fs::read(segment_path(dir.path(), 0, TIME_INDEX_SUFFIX)).expect("timeindex");
    assert!(!time.is_empty() && time.chunks_exact(12).remainder().is_empty());
    let ts: Vec<i64> = time
        .chunks(12)
        .map(|e| i64::from_be_bytes(e[..8].try_into().expect("8")))
        .collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn index_entries_written_in_runs_survive_a_crash() {
    // ~330-byte batches against a 200-byte interval: an index entry every other batch.
    let (dir, log) = filled(big_segments(), 200);
    let entries = fs::read(segment_path(dir.path(), 0, INDEX_SUFFIX))
        .expect("index")
        .len()
        / 8;
    assert!(
        entries >= 64 && entries.is_multiple_of(64),
        "{entries} entries on disk before any flush"
    );
    // No flush or close: the entries after the last run are only in memory when it stops.
    drop(log);
    let log = open(dir.path(), big_segments());
    assert_eq!(read_all(&log, 0), (0..600).collect::<Vec<_>>());
    assert!(
        fs::read(segment_path(dir.path(), 0, INDEX_SUFFIX))
            .expect("index")
            .len()
            / 8
            > entries
    );
}

#[test]
fn read_bounds_max_offset_max_bytes_and_min_one_batch() {
    let (_dir, log) = filled(big_segments(), 5);
    let batch_size = simple(3, 0).len();
    let r = log.read(0, 1 << 20, 6, false).expect("read");
    assert_eq!(offsets(&loaded(&r)), (0..6).collect::<Vec<_>>());
    let r = log.read(0, 1 << 20, 7, false).expect("read");
    assert_eq!(
        offsets(&loaded(&r)),
        (0..9).collect::<Vec<_>>(),
        "batch starting below max_offset"
    );
    let r = log
        .read(4, 2 * batch_size + 10, i64::MAX, false)
        .expect("read");
    assert_eq!(offsets(&loaded(&r)), (3..9).collect::<Vec<_>>());
    assert!(log
        .read(0, 10, i64::MAX, false)
        .expect("read")
        .data
        .is_empty());
    assert_eq!(
        log.read(0, 10, i64::MAX, true).expect("read").data.len(),
        batch_size
    );
    let r = log.read(15, 100, i64::MAX, true).expect("read at LEO");
    assert!(r.data.is_empty());
    assert_eq!((r.log_start_offset, r.log_end_offset), (0, 15));
    assert!(log
        .read(6, 100, 6, true)
        .expect("read at max_offset")
        .data
        .is_empty());
    assert!(matches!(
        log.read(16, 100, i64::MAX, true),
        Err(LogError::OffsetOutOfRange {
            requested: 16,
            log_start: 0,
            log_end: 15
        })
    ));
}

#[test]
fn reopen_keeps_everything() {
    let (dir, log) = filled(small_config(), 15);
    let (size, segments) = (log.size_bytes(), log.segment_count());
    log.close().expect("close");
    let indexes: Vec<Vec<u8>> = segment_files(dir.path(), INDEX_SUFFIX)
        .iter()
        .map(|n| fs::read(dir.path().join(n)).expect("read"))
        .collect();
    let mut log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 45);
    assert_eq!((log.size_bytes(), log.segment_count()), (size, segments));
    assert_eq!(read_all(&log, 0), (0..45).collect::<Vec<_>>());
    let reread: Vec<Vec<u8>> = segment_files(dir.path(), INDEX_SUFFIX)
        .iter()
        .map(|n| fs::read(dir.path().join(n)).expect("read"))
        .collect();
    assert_eq!(indexes, reread, "indexes unchanged by recovery");
    fill(&mut log, 1);
    assert_eq!(read_all(&log, 40), (40..48).collect::<Vec<_>>());
}

fn last_segment_log(dir: &Path) -> std::path::PathBuf {
    let logs = segment_files(dir, LOG_SUFFIX);
    dir.join(logs.last().expect("a segment"))
}

#[test]
fn torn_tail_recovers_to_last_whole_batch() {
    let config = big_segments();
    let (dir, log) = filled(config.clone(), 4);
    drop(log);
    let path = last_segment_log(dir.path());
    let len = fs::metadata(&path).expect("stat").len();
    let file = OpenOptions::new().write(true).open(&path).expect("open");
    file.set_len(len - 20).expect("truncate");
    let mut log = open(dir.path(), config.clone());
    assert_eq!(log.log_end_offset(), 9);
    fill(&mut log, 1);
    assert_eq!(read_all(&log, 0), (0..12).collect::<Vec<_>>());
    drop(log);
    assert_eq!(open(dir.path(), config).log_end_offset(), 12);
}

#[test]
fn corrupt_byte_truncates_and_drops_later_segments() {
    let (dir, log) = filled(small_config(), 12);
    let segments = log.segment_count();
    drop(log);
    let first = segment_path(dir.path(), 0, LOG_SUFFIX);
    let data = fs::read(&first).expect("read");
    let second_batch = BatchHeader::parse(&data).expect("parse").total_size();
    overwrite(&first, (second_batch + 70) as u64, &[0xAB]);
    let log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(log.segment_count(), 1);
    assert!(segments > 1);
    assert_eq!(segment_files(dir.path(), LOG_SUFFIX).len(), 1);
    assert_eq!(segment_files(dir.path(), INDEX_SUFFIX).len(), 1);
    assert_eq!(read_all(&log, 0), vec![0, 1, 2]);
}

#[test]
fn corrupt_last_batch_is_dropped() {
    let (dir, log) = filled(big_segments(), 3);
    drop(log);
    let path = last_segment_log(dir.path());
    let len = fs::metadata(&path).expect("stat").len();
    overwrite(&path, len - 3, &[0xFF]);
    assert_eq!(open(dir.path(), big_segments()).log_end_offset(), 6);
}

#[test]
fn missing_or_corrupt_indexes_are_rebuilt() {
    let config = big_segments();
    let (dir, log) = filled(config.clone(), 10);
    log.close().expect("close");
    let index = segment_path(dir.path(), 0, INDEX_SUFFIX);
    let time_index = segment_path(dir.path(), 0, TIME_INDEX_SUFFIX);
    let (good, good_time) = (
        fs::read(&index).expect("read"),
        fs::read(&time_index).expect("read"),
    );
    fs::remove_file(&index).expect("rm");
    fs::write(&time_index, b"\x01\x02\x03").expect("garbage");
    let log = open(dir.path(), config.clone());
    assert_eq!(fs::read(&index).expect("read"), good);
    assert_eq!(fs::read(&time_index).expect("read"), good_time);
    assert_eq!(read_all(&log, 13), (13..30).collect::<Vec<_>>());
    drop(log);
    let mut bad = good.clone();
    bad[7] ^= 0x40;
    fs::write(&index, &bad).expect("write");
    let log = open(dir.path(), config);
    assert_eq!(fs::read(&index).expect("read"), good);
    assert_eq!(
        log.offset_for_timestamp(1055).expect("lookup"),
        Some((18, 1060))
    );
}

#[test]
fn retention_by_bytes_moves_log_start() {
    let (dir, mut log) = filled(small_config(), 20);
    let segments = log.segment_count();
    log.config.retention_bytes = Some(1500);
    let deleted = log.enforce_retention(0).expect("retention");
    assert!(deleted > 0);
    assert_eq!(log.segment_count(), segments - deleted);
    // Kafka deletes only whole segments that keep the log at or above the limit.
    let remaining = log.size_bytes();
    let oldest = log.segments.values().next().expect("segment").size();
    assert!(
        remaining >= 1500 && remaining - oldest < 1500,
        "{remaining} {oldest}"
    );
    let start = log.log_start_offset();
    assert!(start > 0);
    assert_eq!(
        segment_files(dir.path(), LOG_SUFFIX)[0],
        format!("{start:020}.log")
    );
    assert!(matches!(
        log.read(0, 100, i64::MAX, true),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(read_all(&log, start), (start..60).collect::<Vec<_>>());
    drop(log);
    assert_eq!(open(dir.path(), small_config()).log_start_offset(), start);
}

#[test]
fn retention_by_time_rolls_and_keeps_empty_active() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(
        dir.path(),
        LogConfig {
            retention_ms: Some(100),
            ..small_config()
        },
    );
    log.leader_epochs_mut().assign(1, 0);
    fill(&mut log, 10);
    assert_eq!(log.enforce_retention(1000).expect("nothing old"), 0);
    let first_segment_max = 1000 + 10 * 3;
    let partial = log
        .enforce_retention(first_segment_max + 101)
        .expect("some");
    assert!(partial >= 1);
    assert!(log.log_start_offset() > 0);
    assert_eq!(
        log.leader_epochs().entries()[0].start_offset,
        log.log_start_offset()
    );
    let remaining = log.segment_count();
    let deleted = log.enforce_retention(10_000).expect("all");
    assert_eq!(deleted, remaining);
    assert_eq!(log.segment_count(), 1);
    assert_eq!(
        (
            log.log_start_offset(),
            log.log_end_offset(),
            log.size_bytes()
        ),
        (30, 30, 0)
    );
    fill(&mut log, 1);
    assert_eq!(read_all(&log, 30), vec![30, 31, 32]);
}

#[test]
fn timestamp_lookups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), small_config());
    assert_eq!(log.offset_for_timestamp(0).expect("empty"), None);
    assert_eq!(log.max_timestamp_and_offset().expect("empty"), None);
    fill(&mut log, 10);
    let b = batch(&[2000, 5000, 3000], 10);
    log.append_as_leader(&b, 1, None).expect("append");
    fill(&mut log, 2);
    assert_eq!(
        log.offset_for_timestamp(0).expect("lookup"),
        Some((0, 1000))
    );
    assert_eq!(
        log.offset_for_timestamp(1045).expect("lookup"),
        Some((15, 1050))
    );
    assert_eq!(
        log.offset_for_timestamp(1090).expect("lookup"),
        Some((27, 1090))
    );
    assert_eq!(
        log.offset_for_timestamp(1091).expect("lookup"),
        Some((30, 2000))
    );
    assert_eq!(
        log.offset_for_timestamp(4000).expect("lookup"),
        Some((31, 5000))
    );
    assert_eq!(log.offset_for_timestamp(5001).expect("lookup"), None);
    assert_eq!(
        log.max_timestamp_and_offset().expect("max"),
        Some((5000, 31))
    );
    let b = simple(2, 0);
    log.append_as_leader(&b, 1, Some(9000)).expect("append");
    assert_eq!(
        log.offset_for_timestamp(6000).expect("lookup"),
        Some((39, 9000))
    );
    assert_eq!(
        log.max_timestamp_and_offset().expect("max"),
        Some((9000, 39))
    );
}

/// The first `(offset, timestamp)` at or after `target`, by brute force over every record.
fn brute_force(records: &[(i64, i64)], target: i64) -> Option<(i64, i64)> {
    records.iter().copied().find(|&(_, ts)| ts >= target)
}

#[test]
fn timestamp_lookups_find_records_inside_batches_whose_deltas_exceed_an_i32() {
    // The case: one batch of 1234 and 999999999999, then batches of 5000 and 6000.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), small_config());
    for timestamps in [&[1234, 999_999_999_999][..], &[5000], &[6000]] {
        let b = wide_batch(timestamps, Compression::None, None);
        log.append_as_leader(&b, 1, None).expect("append");
    }
    let check = |log: &Log| {
        for (target, want) in [
            (1234, Some((0, 1234))),
            (1235, Some((1, 999_999_999_999))),
            (5000, Some((1, 999_999_999_999))),
            (999_999_999_998, Some((1, 999_999_999_999))),
            (999_999_999_999, Some((1, 999_999_999_999))),
            (1_000_000_000_000, None),
        ] {
            assert_eq!(
                log.offset_for_timestamp(target).expect("lookup"),
                want,
                "{target}"
            );
        }
        assert_eq!(
            log.max_timestamp_and_offset().expect("max"),
            Some((999_999_999_999, 1))
        );
    };
    check(&log);
    log.close().expect("close");
    fs::remove_file(segment_path(dir.path(), 0, TIME_INDEX_SUFFIX)).expect("rm");
    check(&open(dir.path(), small_config()));
}

#[test]
fn timestamp_lookups_over_out_of_order_compressed_batches_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), small_config());
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    let mut all = Vec::new();
    for i in 0..40i64 {
        // Out of order inside each batch, and every fourth batch older than the one before.
        let base = if i % 4 == 3 { 10 * i - 25 } else { 10 * i };
        let timestamps = [base + 7, base, base + 3];
        let b = wide_batch(&timestamps, codecs[i as usize % codecs.len()], None);
        let info = log.append_as_leader(&b, 1, None).expect("append");
        all.extend((info.first_offset..).zip(timestamps));
    }
    assert!(log.segment_count() > 3, "{} segments", log.segment_count());
    let check = |log: &Log| {
        for target in -5..420 {
            assert_eq!(
                log.offset_for_timestamp(target).expect("lookup"),
                brute_force(&all, target),
                "target {target}"
            );
        }
    };
    check(&log);
    log.close().expect("close");
    for entry in fs::read_dir(dir.path()).expect("ls") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "timeindex") {
            fs::remove_file(path).expect("rm");
        }
    }
    check(&open(dir.path(), small_config()));
}

#[test]
fn truncate_to_drops_tail_and_epochs() {
    let (dir, mut log) = filled(small_config(), 10);
    let b = simple(3, 2000);
    log.append_as_leader(&b, 4, None).expect("append");
    assert_eq!(log.leader_epochs().latest_epoch(), Some(4));
    log.truncate_to(30).expect("truncate");
    assert_eq!(log.log_end_offset(), 30);
    assert_eq!(log.leader_epochs().latest_epoch(), Some(1));
    log.truncate_to(13).expect("truncate mid-batch");
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(read_all(&log, 0), (0..12).collect::<Vec<_>>());
    let headers = log.batch_headers_from(4).expect("headers");
    assert_eq!(
        headers.iter().map(|h| h.base_offset).collect::<Vec<_>>(),
        vec![3, 6, 9]
    );
    fill(&mut log, 1);
    assert_eq!(log.log_end_offset(), 15);
    drop(log);
    let mut log = open(dir.path(), small_config());
    assert_eq!(read_all(&log, 0), (0..15).collect::<Vec<_>>());
    log.truncate_to(0).expect("truncate all");
    assert_eq!(
        (
            log.log_start_offset(),
            log.log_end_offset(),
            log.segment_count()
        ),
        (0, 0, 1)
    );
}

#[test]
fn follower_append_keeps_offsets_and_tracks_epochs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut leader = open(&dir.path().join("leader"), big_segments());
    let mut follower = open(&dir.path().join("follower"), big_segments());
    fill(&mut leader, 2);
    let b = simple(2, 3000);
    leader.append_as_leader(&b, 3, None).expect("append");
    let data = leader.read(0, 1 << 20, i64::MAX, true).expect("read");
    let data = loaded(&data);
    assert!(matches!(
        follower.append_as_follower(&data[61..]),
        Err(LogError::Corrupt(_))
    ));
    let mut with_partial = data.to_vec();
    with_partial.extend_from_slice(&data[..70]);
    let info = follower.append_as_follower(&with_partial).expect("follow");
    assert_eq!((info.first_offset, info.last_offset), (0, 7));
    let want = [
        EpochEntry {
            epoch: 1,
            start_offset: 0,
        },
        EpochEntry {
            epoch: 3,
            start_offset: 6,
        },
    ];
    assert_eq!(follower.leader_epochs().entries(), &want);
    assert!(
        follower.append_as_follower(&data).is_err(),
        "must start at LEO"
    );
    assert_eq!(follower.leader_epochs().end_offset_for(1, 8), (1, 6));
}

/// The entries of the checkpoint file itself, as the next open would load them.
fn checkpointed(dir: &Path) -> Vec<EpochEntry> {
    LeaderEpochCache::load(&dir.join(CHECKPOINT_FILE))
        .expect("load")
        .entries()
        .to_vec()
}

#[test]
fn follower_epochs_lost_with_the_process_are_rebuilt_from_the_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut leader = open(&dir.path().join("leader"), big_segments());
    let follower_dir = dir.path().join("follower");
    let mut follower = open(&follower_dir, big_segments());
    // This replica led epoch 2 from offset 0 before following, and its log was flushed then.
    follower.leader_epochs_mut().assign(2, 0);
    follower.flush().expect("flush");
    fill(&mut leader, 2);
    leader
        .append_as_leader(&simple(2, 3000), 3, None)
        .expect("epoch 3");
    leader
        .append_as_leader(&simple(1, 4000), 5, None)
        .expect("epoch 5");
    let data = loaded(&leader.read(0, 1 << 20, i64::MAX, true).expect("read"));
    follower.append_as_follower(&data).expect("follow");
    // Epoch 1's batches start at 0 too, but 1 is older than 2: ignored, as Kafka does.
    let want = [
        EpochEntry {
            epoch: 2,
            start_offset: 0,
        },
        EpochEntry {
            epoch: 3,
            start_offset: 6,
        },
        EpochEntry {
            epoch: 5,
            start_offset: 8,
        },
    ];
    assert_eq!(follower.leader_epochs().entries(), &want);
    assert_eq!(checkpointed(&follower_dir), &want[..1], "not written yet");

    // The process dies: no flush, no close. The batches are in the page cache.
    drop(follower);
    let mut follower = open(&follower_dir, big_segments());
    assert_eq!(follower.leader_epochs().entries(), &want);
    assert_eq!(follower.leader_epochs().end_offset_for(3, 9), (3, 8));

    // A flush writes what appends and recovery added.
    leader
        .append_as_leader(&simple(1, 5000), 7, None)
        .expect("epoch 7");
    let data = loaded(&leader.read(9, 1 << 20, i64::MAX, true).expect("read"));
    follower.append_as_follower(&data).expect("follow");
    assert_eq!(checkpointed(&follower_dir), &want[..1], "still not written");
    follower.close().expect("close");
    let written = checkpointed(&follower_dir);
    assert_eq!(written[..3], want);
    assert_eq!(
        written.get(3),
        Some(&EpochEntry {
            epoch: 7,
            start_offset: 9
        })
    );
}

#[test]
fn an_unreadable_checkpoint_is_rebuilt_from_the_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), big_segments());
    fill(&mut log, 2);
    log.append_as_leader(&simple(2, 3000), 3, None)
        .expect("epoch 3");
    log.close().expect("close");
    let want = checkpointed(dir.path());
    assert_eq!(want.len(), 2);
    fs::write(dir.path().join(CHECKPOINT_FILE), "0\n2\n1 0\n3").expect("tear it");

    let log = open(dir.path(), big_segments());
    assert_eq!(log.leader_epochs().entries(), &want);
    log.close().expect("close");
    assert_eq!(checkpointed(dir.path()), want, "rewritten by the flush");

    // An empty log with a garbled checkpoint opens empty and writes a good file.
    let empty = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(empty.path()).expect("dir");
    fs::write(empty.path().join(CHECKPOINT_FILE), "garbage").expect("garble");
    let log = open(empty.path(), big_segments());
    assert!(log.leader_epochs().entries().is_empty());
    log.close().expect("close");
    assert!(checkpointed(empty.path()).is_empty());
}

#[test]
fn a_checkpoint_ahead_of_a_shortened_log_loses_the_lost_epochs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), big_segments());
    fill(&mut log, 2);
    log.append_as_leader(&simple(2, 3000), 3, None)
        .expect("epoch 3");
    log.flush().expect("flush");
    assert_eq!(checkpointed(dir.path()).len(), 2);
    drop(log);
    // The machine lost the epoch-3 batch but the checkpoint had reached the disk.
    let bytes = fs::read(last_segment_log(dir.path())).expect("read");
    let cut = batches(&bytes)
        .take(2)
        .map(|b| b.expect("batch").1.len())
        .sum::<usize>();
    OpenOptions::new()
        .write(true)
        .open(last_segment_log(dir.path()))
        .expect("open")
        .set_len(cut as u64)
        .expect("cut");
    let log = open(dir.path(), big_segments());
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(
        log.leader_epochs().entries(),
        &[EpochEntry {
            epoch: 1,
            start_offset: 0
        }]
    );
    assert_eq!(checkpointed(dir.path()), log.leader_epochs().entries());
}

#[test]
fn flush_policy_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t-0");
    let config = LogConfig {
        flush_interval_messages: Some(4),
        ..small_config()
    };
    let mut log = open(&path, config);
    fill(&mut log, 1);
    assert_eq!(log.unflushed_messages, 3);
    fill(&mut log, 1);
    assert_eq!(log.unflushed_messages, 0);
    log.delete().expect("delete");
    assert!(!path.exists());
}

#[test]
fn roll_by_index_entries_and_time() {
    let by_entries = LogConfig {
        max_index_entries: 2,
        ..big_segments()
    };
    let (_dir, log) = filled(by_entries, 12);
    assert!(log.segment_count() >= 3);
    let by_time = LogConfig {
        segment_ms: Some(0),
        ..big_segments()
    };
    let (_dir2, log) = filled(by_time, 3);
    assert_eq!(log.segment_count(), 3);
}

#[test]
fn rolled_segments_wait_for_their_fsync_outside_the_append() {
    let by_time = LogConfig {
        segment_ms: Some(0),
        ..big_segments()
    };
    let (_dir, mut log) = filled(by_time.clone(), 3);
    assert_eq!(log.segment_count(), 3);
    // Two rolls, synced later together; nothing left after.
    assert!(log.has_unsynced());
    log.take_unsynced().expect("rolled").sync().expect("sync");
    assert!(!log.has_unsynced());
    assert!(log.take_unsynced().is_none());
    // A flush syncs what a roll left, with the active segment.
    let (_dir, mut log) = filled(by_time, 2);
    assert!(log.has_unsynced());
    log.flush().expect("flush");
    assert!(!log.has_unsynced());
}

#[test]
fn log_is_shareable_and_handles_missing_timestamps() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Log>();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), small_config());
    for _ in 0..6 {
        let b = simple(2, -1);
        log.append_as_leader(&b, 0, None).expect("append");
    }
    log.roll().expect("roll");
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(log.offset_for_timestamp(0).expect("lookup"), None);
}

#[test]
fn tail_reads_see_each_append_and_nothing_truncated_away() {
    // Tail reads find their batch headers in memory (the segment's recent batches); they must
    // agree with the file through appends of different sizes, a truncation, and new batches
    // written where truncated ones were.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), big_segments());
    let mut bases = Vec::new();
    for i in 0..20usize {
        bases.push(log.log_end_offset());
        let b = simple(1 + i % 4, 1000 + i as i64);
        log.append_as_leader(&b, 1, None).expect("append");
        let leo = log.log_end_offset();
        for &base in bases.iter().rev().take(10) {
            let r = log.read(base, 1 << 20, i64::MAX, true).expect("read");
            assert_eq!(offsets(&loaded(&r)), (base..leo).collect::<Vec<_>>());
        }
        // A bound that takes only the first of the last two batches.
        if let [.., before_last, last] = bases[..] {
            let r = log.read(before_last, 1, i64::MAX, true).expect("read");
            assert_eq!(
                offsets(&loaded(&r)),
                (before_last..last).collect::<Vec<_>>()
            );
        }
    }
    let cut = bases[15];
    log.truncate_to(cut).expect("truncate");
    assert_eq!(log.log_end_offset(), cut);
    // Other record counts than before, so the batches at the old positions differ in size.
    log.append_as_leader(&simple(7, 5000), 2, None)
        .expect("append");
    log.append_as_leader(&simple(2, 5001), 2, None)
        .expect("append");
    let leo = log.log_end_offset();
    assert_eq!(leo, cut + 9);
    for from in [bases[14], cut, cut + 7] {
        let r = log.read(from, 1 << 20, i64::MAX, true).expect("read");
        assert_eq!(offsets(&loaded(&r)), (from..leo).collect::<Vec<_>>());
    }
    drop(log);
    let log = open(dir.path(), big_segments());
    assert_eq!(read_all(&log, 0), (0..leo).collect::<Vec<_>>());
}
