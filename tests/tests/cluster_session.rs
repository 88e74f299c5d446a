//! ZooKeeper session expiry of a partition leader (SIGSTOP for longer than
//! `zookeeper.session.timeout.ms`, then SIGCONT), on a three-node ZooKeeper ensemble: the
//! cluster elects another leader; the old one, once awake, acknowledges nothing the cluster
//! does not have, stops taking writes, re-registers and rejoins the ISR.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use tests::multi::{produce_direct, MultiCluster};
use tests::process::signal;
use tests::traffic::consume_all;
use tests::OrPanic;

const DEADLINE: Duration = Duration::from_secs(40);
const TOPIC: &str = "expiry";
/// NOT_LEADER_OR_FOLLOWER.
const NOT_LEADER: i16 = 6;

fn pid(c: &mut MultiCluster, id: i32) -> u32 {
    c.broker(id).pid().or_panic("broker process")
}

/// Total size of a partition's segment files (grows with every append).
fn log_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn expired_leader_stops_leading_and_rejoins_the_isr() {
    let settings = [
        ("min.insync.replicas", "2"),
        ("replica.lag.time.max.ms", "10000"),
        // Leadership stays where the expiry put it (no preferred-leader return meanwhile).
        ("auto.leader.rebalance.enable", "false"),
    ];
    let mut c = MultiCluster::start_on_ensemble("expiry", 3, 3, &settings).or_panic("cluster");
    c.create_topic(TOPIC, 3, 3, &[]).or_panic("create topic");
    let parts = c.wait_isr_size(TOPIC, 3, 3, DEADLINE).or_panic("ISRs");
    // A partition led by a broker that is not the controller: the leader's expiry alone.
    let controller = c.controller().or_panic("controller");
    let (&partition, (old, _)) = parts
        .iter()
        .find(|(_, (l, _))| *l != controller)
        .or_panic("a partition led by a non-controller");
    let old = *old;
    let followers: Vec<i32> = (1..=3).filter(|b| *b != old).collect();
    let old_addr = c.broker(old).bootstrap();
    let write = |addr: &str, acks: i16, value: &str| {
        produce_direct(
            addr,
            TOPIC,
            partition,
            acks,
            Duration::from_secs(10),
            &[value],
        )
    };
    for i in 0..5 {
        let (code, offset) = write(&old_addr, -1, &format!("before-{i}")).or_panic("produce");
        assert_eq!((code, offset), (0, i), "committed write {i}");
    }

    // The followers pause, so the next acks=all write reaches only the leader and waits there.
    for f in &followers {
        signal(pid(&mut c, *f), "STOP").or_panic("SIGSTOP follower");
    }
    let dir = c.broker(old).partition_dir(TOPIC, partition);
    let size = log_bytes(&dir);
    let addr = old_addr.clone();
    let parked = thread::spawn(move || {
        produce_direct(
            &addr,
            TOPIC,
            partition,
            -1,
            Duration::from_secs(30),
            &["parked"],
        )
    });
    c.wait_for(DEADLINE, "the parked write appended on the leader", |_| {
        Ok(log_bytes(&dir) > size)
    })
    .or_panic("append");

    // The leader freezes past its session timeout; the followers resume and take over.
    signal(pid(&mut c, old), "STOP").or_panic("SIGSTOP leader");
    let stopped_at = Instant::now();
    for f in &followers {
        signal(pid(&mut c, *f), "CONT").or_panic("SIGCONT follower");
    }
    let follower_addr = c.broker(followers[0]).bootstrap();
    c.wait_for(DEADLINE, "a new leader", |_| {
        let parts = MultiCluster::partitions_from(&follower_addr, TOPIC)?;
        Ok(parts
            .get(&partition)
            .is_some_and(|(l, isr)| *l >= 0 && *l != old && !isr.contains(&old)))
    })
    .or_panic("election after expiry");
    println!("new leader {:?} after SIGSTOP", stopped_at.elapsed());
    let parts = MultiCluster::partitions_from(&follower_addr, TOPIC).or_panic("metadata");
    let new = parts[&partition].0;
    let new_addr = c.broker(new).bootstrap();
    // A follower's long poll was already at the leader when it stopped; its answer may carry
    // the parked record, which that follower appends on waking up: the new leader's log then
    // ends at 6, and "parked" is committed although its producer was told to retry (as in
    // Kafka, a retriable error does not mean the write is lost).
    let (code, base) = write(&new_addr, -1, "after-0").or_panic("produce");
    assert_eq!(code, 0);
    assert!((5..=6).contains(&base), "new leader's log ends at {base}");
    for i in 1..5 {
        let (code, offset) = write(&new_addr, -1, &format!("after-{i}")).or_panic("produce");
        assert_eq!((code, offset), (0, base + i), "write {i} to the new leader");
    }

    // The old leader wakes up with its acks=all write still waiting, and a new one arrives.
    signal(pid(&mut c, old), "CONT").or_panic("SIGCONT leader");
    let woke_at = Instant::now();
    let addr = old_addr.clone();
    let early = thread::spawn(move || {
        produce_direct(
            &addr,
            TOPIC,
            partition,
            -1,
            Duration::from_secs(15),
            &["early"],
        )
    });
    // Once it has heard from the controller it refuses writes.
    let mut accepted_acks1 = 0;
    c.wait_for(DEADLINE, "the old leader refusing writes", |_| {
        let (code, _) = write(&old_addr, 1, "late")?;
        if code == 0 {
            accepted_acks1 += 1;
        }
        Ok(code == NOT_LEADER)
    })
    .or_panic("NOT_LEADER_OR_FOLLOWER from the old leader");
    println!(
        "old leader refuses writes {:?} after SIGCONT ({accepted_acks1} acks=1 writes taken \
         before that)",
        woke_at.elapsed()
    );
    let ids = c.zk_ls("/brokers/ids").or_panic("ls");
    assert!(ids.contains(&old.to_string()), "re-registered: {ids:?}");
    c.wait_for(DEADLINE, "the old leader back in the ISR", |c| {
        Ok(c.partitions(TOPIC)?
            .get(&partition)
            .is_some_and(|(l, isr)| *l == new && isr.len() == 3))
    })
    .or_panic("ISR");
    println!(
        "old leader back in the ISR {:?} after SIGCONT",
        woke_at.elapsed()
    );

    // What the old leader acknowledged must be in the log, where it said.
    let parked = parked
        .join()
        .expect("producing thread")
        .or_panic("parked produce");
    let early = early
        .join()
        .expect("producing thread")
        .or_panic("early produce");
    println!("parked write answered {parked:?}, early write answered {early:?}");
    let log: BTreeMap<i64, String> = consume_all(&c.bootstrap(), TOPIC, Duration::from_secs(5))
        .or_panic("consume")
        .into_iter()
        .filter(|r| r.partition == partition)
        .map(|r| (r.offset, r.value))
        .collect();
    for i in 0..5 {
        assert_eq!(
            log.get(&i).map(String::as_str),
            Some(format!("before-{i}").as_str())
        );
        assert_eq!(
            log.get(&(base + i)).map(String::as_str),
            Some(format!("after-{i}").as_str())
        );
    }
    // Both waited for replication on a leader that lost its leadership meanwhile: Kafka
    // answers NOT_LEADER_OR_FOLLOWER, so that the client retries on the new leader.
    // Unless a follower took the parked record before the freeze: then the old leader may see
    // it replicated when it wakes and acknowledge it, truthfully (checked below).
    assert!(
        parked.0 == NOT_LEADER || (parked.0 == 0 && base == 6),
        "parked write: {parked:?}"
    );
    assert_eq!(early.0, NOT_LEADER, "early write: {early:?}");
    for (what, (code, offset)) in [("parked", parked), ("early", early)] {
        if code == 0 {
            assert_eq!(
                log.get(&offset).map(String::as_str),
                Some(what),
                "the old leader acknowledged {what:?} at offset {offset}, but the log has \
                 something else there: {log:?}"
            );
        }
    }
    assert!(
        !log.values().any(|v| v == "early"),
        "a write the deposed leader took after losing its session survived: {log:?}"
    );
    let parked_survived = log.values().any(|v| v == "parked");
    assert_eq!(
        parked_survived,
        base == 6,
        "\"parked\" may survive only where a follower fetched it before the freeze: {log:?}"
    );
}
