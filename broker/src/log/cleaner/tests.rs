//! The cleaner on real segment files: what stays, at which offsets, across passes, crashes
//! and concurrent changes to the log.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::*;
use crate::log::segment::segment_path;
use crate::log::{CleanupPolicy, LogConfig};
use crate::records::header::batches;

/// (key, value) of one record; `None` value is a tombstone.
type Kv<'a> = (&'a str, Option<&'a str>);

const NO_PRODUCER: (i64, i16, i32) = (-1, -1, -1);

/// One batch of `records` at timestamp `ts`, from `producer` (id, epoch, base sequence).
fn batch(records: &[Kv<'_>], ts: i64, producer: (i64, i16, i32), codec: Compression) -> Vec<u8> {
    let (pid, epoch, seq) = producer;
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if seq < 0 { -1 } else { seq + i as i32 },
            timestamp: ts,
            key: Some(Bytes::from(k.to_string())),
            value: v.map(|v| Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: codec,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
    buf.to_vec()
}

fn compacted(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        segment_ms: None,
        retention_ms: None,
        index_interval_bytes: 100,
        cleanup_policy: CleanupPolicy::COMPACT,
        delete_retention_ms: 1000,
        ..LogConfig::default()
    }
}

/// Every record in the log as offset → (key, value).
fn contents(log: &Log) -> BTreeMap<i64, (String, Option<String>)> {
    let mut out = BTreeMap::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX, true).expect("read");
        let data = r.data.load().expect("load");
        let mut last = None;
        for item in batches(&data) {
            let (h, bytes) = item.expect("batch");
            h.verify_crc(bytes).expect("crc");
            v2::for_each_record(&h, bytes, |rec| {
                let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                out.insert(
                    h.base_offset + i64::from(rec.offset_delta),
                    (rec.key.map(text).unwrap_or_default(), rec.value.map(text)),
                );
                Ok(())
            })
            .expect("records");
            last = Some(h.last_offset());
        }
        // Nothing left at or after `offset` (cleaned away up to the log end).
        let Some(last) = last else { break };
        offset = last + 1;
    }
    out
}

/// The log's records as key → (offset, value) (one per key after a whole cleaning).
fn by_key(log: &Log) -> BTreeMap<String, (i64, Option<String>)> {
    contents(log)
        .into_iter()
        .map(|(o, (k, v))| (k, (o, v)))
        .collect()
}

/// The latest (offset, value) of every key, by brute force over what was written.
fn latest(written: &[(i64, String, Option<String>)]) -> BTreeMap<String, (i64, Option<String>)> {
    let mut out = BTreeMap::new();
    for (offset, k, v) in written {
        out.insert(k.clone(), (*offset, v.clone()));
    }
    out
}

/// Appends `rounds` rounds over `keys` keys (value "r<round>"), one batch per round.
fn fill(
    log: &mut Log,
    keys: usize,
    rounds: usize,
    codec: Compression,
) -> Vec<(i64, String, Option<String>)> {
    let mut written = Vec::new();
    for round in 0..rounds {
        let names: Vec<String> = (0..keys).map(|k| format!("k{k}")).collect();
        let value = format!("r{round}");
        let kvs: Vec<Kv<'_>> = names
            .iter()
            .map(|k| (k.as_str(), Some(value.as_str())))
            .collect();
        let info = log
            .append_as_leader(&batch(&kvs, 1000, NO_PRODUCER, codec), 0, None)
            .expect("append");
        for (i, k) in names.iter().enumerate() {
            written.push((info.first_offset + i as i64, k.clone(), Some(value.clone())));
        }
    }
    written
}

/// Each producer's last batch, as the replica's producer state knows it.
fn producers_last(log: &Log) -> HashMap<i64, i64> {
    let headers = log
        .batch_headers_from(log.log_start_offset())
        .expect("headers");
    crate::replica::producer_state::ProducerStateManager::rebuild(&headers).last_offsets()
}

/// Swaps in every group of `output`, as the cleaner does; how many were.
fn swap_all(log: &mut Log, output: CleanOutput) -> usize {
    let mut swapped = 0;
    for group in output.into_groups() {
        if let Some(retired) = log.swap_cleaned(group).expect("swap") {
            retired.delete().expect("delete");
            swapped += 1;
        }
    }
    swapped
}

/// The whole of `log` cleaned at t=10000 into segments written aside, not swapped in yet.
fn cleaned_aside(log: &Log) -> CleanOutput {
    let snapshot = log.clean_snapshot(None, 10_000).expect("snapshot");
    clean(
        &snapshot,
        1 << 20,
        10_000,
        &producers_last(log),
        &mut |_| Ok(()),
    )
    .expect("clean")
}

/// One cleaning of `log`, as the cleaner runs it; `None` when nothing was cleanable.
fn clean_once(log: &mut Log, checkpoint: Option<i64>, memory: usize, now_ms: i64) -> Option<i64> {
    let snapshot = log.clean_snapshot(checkpoint, now_ms)?;
    let output = clean(&snapshot, memory, now_ms, &producers_last(log), &mut |_| {
        Ok(())
    })
    .expect("clean");
    let end = output.end_offset;
    swap_all(log, output);
    Some(end)
}

#[test]
fn cleaning_keeps_the_latest_record_of_every_key_at_its_offset() {
    for codec in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), compacted(600)).expect("open");
        let written = fill(&mut log, 10, 30, codec);
        assert!(log.segment_count() > 4);
        let before = log.size_bytes();
        let end = clean_once(&mut log, None, 1 << 20, 10_000).expect("cleanable");
        // Everything up to the active segment was mapped and cleaned.
        assert_eq!(end, log.active().base_offset());
        let got = contents(&log);
        // The active segment is neither mapped nor cleaned: in the cleaned range each key
        // keeps its latest record there.
        let cleaned_range: Vec<_> = written
            .iter()
            .filter(|(o, _, _)| *o < end)
            .cloned()
            .collect();
        let want = latest(&cleaned_range);
        let kept: BTreeMap<String, (i64, Option<String>)> = got
            .range(..end)
            .map(|(o, (k, v))| (k.clone(), (*o, v.clone())))
            .collect();
        assert_eq!(kept, want);
        assert_eq!(got.range(..end).count(), want.len());
        assert_eq!(got.range(end..).count(), 10, "the active segment untouched");
        assert!(
            log.size_bytes() < before,
            "{} -> {}",
            before,
            log.size_bytes()
        );
        // The cleaned log opens again with the same contents and offsets.
        log.close().expect("close");
        let log = Log::open(dir.path(), compacted(600)).expect("reopen");
        assert_eq!(contents(&log), got);
        assert_eq!(log.log_end_offset(), written.len() as i64);
    }
}

#[test]
fn a_small_key_map_cleans_in_several_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), compacted(2000)).expect("open");
    let mut written = Vec::new();
    // 200 distinct keys, each written twice, in batches of 10.
    for round in 0..2 {
        for chunk in 0..20 {
            let names: Vec<String> = (0..10).map(|i| format!("key{}", chunk * 10 + i)).collect();
            let value = format!("v{round}");
            let kvs: Vec<Kv<'_>> = names
                .iter()
                .map(|k| (k.as_str(), Some(value.as_str())))
                .collect();
            let info = log
                .append_as_leader(&batch(&kvs, 1000, NO_PRODUCER, Compression::None), 0, None)
                .expect("append");
            for (i, k) in names.iter().enumerate() {
                written.push((info.first_offset + i as i64, k.clone(), Some(value.clone())));
            }
        }
    }
    log.roll().expect("roll");
    // Room for ~45 keys: several passes, each moving the checkpoint on.
    let memory = 50 * offset_map::SLOT_BYTES;
    let mut checkpoint = None;
    let mut passes = 0;
    while let Some(end) = clean_once(&mut log, checkpoint, memory, 10_000) {
        passes += 1;
        assert!(checkpoint.is_none_or(|c| end > c), "no progress at {end}");
        checkpoint = Some(end);
        if end >= log.log_end_offset() {
            break;
        }
        assert!(passes < 50);
    }
    assert!(passes >= 5, "{passes} passes");
    let got = by_key(&log);
    assert_eq!(got, latest(&written));
}

#[test]
fn tombstones_stay_for_delete_retention_after_the_first_cleaning_that_reaches_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), compacted(1 << 20)).expect("open");
    let b = batch(
        &[("a", Some("1")), ("b", Some("1"))],
        1000,
        NO_PRODUCER,
        Compression::Lz4,
    );
    log.append_as_leader(&b, 0, None).expect("append");
    let t = batch(&[("a", None)], 1000, NO_PRODUCER, Compression::Lz4);
    log.append_as_leader(&t, 0, None).expect("append");
    log.roll().expect("roll");
    // First cleaning at t=10000: "a"=1 goes, its tombstone stays with horizon 11000.
    let end = clean_once(&mut log, None, 1 << 20, 10_000).expect("clean");
    let got = contents(&log);
    assert_eq!(got.get(&2), Some(&("a".to_string(), None)));
    assert!(!got.contains_key(&0));
    // Before the horizon the tombstone stays, whatever the checkpoint.
    clean_once(&mut log, None, 1 << 20, 10_999);
    assert!(contents(&log).contains_key(&2));
    // At the horizon it goes; "b" stays; "a" does not come back.
    clean_once(&mut log, Some(end), 1 << 20, 11_000);
    clean_once(&mut log, None, 1 << 20, 11_000);
    let got = contents(&log);
    assert_eq!(
        got.into_values().collect::<Vec<_>>(),
        vec![("b".to_string(), Some("1".to_string()))]
    );
}

#[test]
fn a_producers_last_batch_survives_as_an_empty_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), compacted(1 << 20)).expect("open");
    // Producer 7 writes k0,k1 (sequences 0-1), producer 8 then overwrites both.
    let p7 = batch(
        &[("k0", Some("a")), ("k1", Some("a"))],
        1000,
        (7, 0, 0),
        Compression::None,
    );
    log.append_as_leader(&p7, 0, None).expect("append");
    let p8 = batch(
        &[("k0", Some("b")), ("k1", Some("b"))],
        1000,
        (8, 0, 0),
        Compression::None,
    );
    log.append_as_leader(&p8, 0, None).expect("append");
    log.roll().expect("roll");
    clean_once(&mut log, None, 1 << 20, 10_000).expect("clean");
    let headers = log.batch_headers_from(0).expect("headers");
    let h7 = headers
        .iter()
        .find(|h| h.producer_id == 7)
        .expect("producer 7's batch");
    assert_eq!(h7.records_count, 0);
    assert_eq!(
        (h7.base_offset, h7.last_offset(), h7.last_sequence()),
        (0, 1, 1)
    );
    assert_eq!(contents(&log).len(), 2);
    // Once producer 7 wrote again (here into the active segment), the emptied batch is no
    // longer its last and goes, as in Kafka.
    let p7 = batch(&[("k2", Some("c"))], 1000, (7, 0, 2), Compression::None);
    log.append_as_leader(&p7, 0, None).expect("append");
    clean_once(&mut log, None, 1 << 20, 10_000).expect("clean");
    let headers = log.batch_headers_from(0).expect("headers");
    let offsets: Vec<i64> = headers.iter().map(|h| h.base_offset).collect();
    assert_eq!(offsets, vec![2, 4]);
}

#[test]
fn batches_across_read_chunks_and_larger_than_one_are_cleaned_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), compacted(64 << 20)).expect("open");
    // Batches of 1 KiB up to 1.5 MiB around the reader's 1 MiB chunks, over 20 keys.
    let mut written = Vec::new();
    for (i, size) in [
        700, 300_000, 1_500_000, 90_000, 1_048_576, 5, 400_000, 2_000_000,
    ]
    .iter()
    .cycle()
    .take(40)
    .enumerate()
    {
        let value = format!("{i}-{}", "v".repeat(*size));
        let key = format!("k{}", i % 20);
        let b = batch(
            &[(key.as_str(), Some(value.as_str()))],
            1000,
            NO_PRODUCER,
            Compression::None,
        );
        let info = log.append_as_leader(&b, 0, None).expect("append");
        written.push((info.first_offset, key, Some(value)));
    }
    log.roll().expect("roll");
    clean_once(&mut log, None, 1 << 20, 10_000).expect("clean");
    let got = by_key(&log);
    assert_eq!(got, latest(&written));
}

#[test]
fn a_segment_cut_inside_a_batch_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), compacted(64 << 20)).expect("open");
    fill(&mut log, 5, 4, Compression::None);
    log.roll().expect("roll");
    let snapshot = log.clean_snapshot(None, 10_000).expect("snapshot");
    // The file loses its last bytes under the cleaner (the snapshot still counts them).
    let path = segment_path(dir.path(), 0, "log");
    let len = fs::metadata(&path).expect("stat").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(len - 3)
        .expect("truncate");
    match clean(&snapshot, 1 << 20, 10_000, &HashMap::new(), &mut |_| Ok(())) {
        Err(LogError::Corrupt(msg)) => assert!(msg.contains("past the end"), "{msg}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a cut batch was cleaned"),
    }
}

#[test]
fn records_younger_than_the_compaction_lag_are_not_cleaned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        min_compaction_lag_ms: 5000,
        ..compacted(300)
    };
    let mut log = Log::open(dir.path(), config).expect("open");
    for ts in [1000, 1000, 9000, 9000] {
        let b = batch(
            &[("k", Some("v")), ("j", Some("w"))],
            ts,
            NO_PRODUCER,
            Compression::None,
        );
        log.append_as_leader(&b, 0, None).expect("append");
        log.roll().expect("roll");
    }
    // At t=10000 the two batches of t=9000 are within the lag.
    let snapshot = log.clean_snapshot(None, 10_000).expect("snapshot");
    assert_eq!(snapshot.first_uncleanable, 4);
    let end = clean_once(&mut log, None, 1 << 20, 10_000).expect("clean");
    assert_eq!(end, 4);
    assert_eq!(
        contents(&log).keys().copied().collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6, 7]
    );
}

#[test]
fn a_group_changed_since_the_snapshot_is_not_swapped_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        retention_ms: Some(1),
        cleanup_policy: CleanupPolicy {
            delete: true,
            compact: true,
        },
        ..compacted(300)
    };
    let mut log = Log::open(dir.path(), config).expect("open");
    fill(&mut log, 3, 6, Compression::None);
    let output = cleaned_aside(&log);
    // Retention deletes segments meanwhile (timestamps 1000 are long past).
    assert!(log.enforce_retention(10_000).expect("retention") > 0);
    let contents_before = contents(&log);
    assert_eq!(swap_all(&mut log, output), 0);
    assert_eq!(contents(&log), contents_before);
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cleaned") || n.contains("swap"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Copies the files of `from` into `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("ls").filter_map(|e| e.ok()) {
        fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn a_swap_interrupted_at_any_step_completes_or_is_discarded_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), compacted(600)).expect("open");
    let written = fill(&mut log, 5, 20, Compression::Snappy);
    log.roll().expect("roll");
    let want = latest(&written);
    let output = cleaned_aside(&log);
    let group = &output.groups[0];
    let base = group.replaces[0].base;
    let check = |state: &Path, what: &str| {
        let log = Log::open(state, compacted(600)).expect(what);
        let got = by_key(&log);
        assert_eq!(got, want, "{what}");
        let names: Vec<String> = fs::read_dir(state)
            .expect("ls")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.contains("cleaned") && !n.contains("swap") && !n.contains("deleted")),
            "{what}: {names:?}"
        );
    };
    let crashes = tempfile::tempdir().expect("tempdir");
    // Crash with the cleaned files written but not renamed: discarded.
    let s1 = crashes.path().join("crash-cleaned");
    copy_dir(dir.path(), &s1);
    check(&s1, "after writing .cleaned");
    // Crash after the rename to .swap, old segments still there: the swap wins.
    let s2 = crashes.path().join("crash-swap");
    copy_dir(dir.path(), &s2);
    for suffix in ["log", "index", "timeindex"] {
        fs::rename(
            segment_path(&s2, base, &format!("{suffix}.cleaned")),
            segment_path(&s2, base, &format!("{suffix}.swap")),
        )
        .expect("rename");
    }
    check(&s2, "after renaming to .swap");
    // Crash after some of the old segments were renamed .deleted, then after all were, then
    // after their deletion began.
    for (name, retired) in [
        ("crash-retiring", 1),
        ("crash-retired", group.replaces.len()),
    ] {
        let s3 = crashes.path().join(name);
        copy_dir(&s2, &s3);
        for old in &group.replaces[..retired] {
            for suffix in ["log", "index", "timeindex"] {
                fs::rename(
                    segment_path(&s3, old.base, suffix),
                    segment_path(&s3, old.base, &format!("{suffix}.deleted")),
                )
                .expect("rename");
            }
        }
        check(&s3, name);
    }
    let s4 = crashes.path().join("crash-deleting");
    copy_dir(&s2, &s4);
    for old in &group.replaces {
        for suffix in ["log", "index", "timeindex"] {
            fs::remove_file(segment_path(&s4, old.base, suffix)).expect("rm");
        }
    }
    check(&s4, "after deleting the old segments");
    drop(output);
}
