//! Which broker coordinates a group: rendezvous (highest-random-weight) hashing over the live
//! broker ids. Every broker that sees the same live set computes the same answer; a broker
//! joining takes over only the groups it now wins, and a broker leaving hands over only the
//! groups it held, each to its runner-up.
//!
//! The hash is FNV-1a (64 bit) over the group's bytes, a zero byte and the broker id, finished
//! with the splitmix64 mixer so ids that differ in one bit spread well. It is fixed forever:
//! changing it would move every group at once during a rolling upgrade.

/// FNV-1a 64-bit offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The weight of `broker_id` for `group`; the live broker with the highest weight wins.
pub fn weight(group: &str, broker_id: i32) -> u64 {
    let mut h = FNV_OFFSET;
    let id = broker_id.to_be_bytes();
    let bytes = group
        .as_bytes()
        .iter()
        .chain(std::iter::once(&0u8))
        .chain(id.iter());
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    splitmix64(h)
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The coordinator of `group` among `live` broker ids; `None` if no broker is live. Ties (a
/// 2^-64 event) go to the smaller id, so the answer never depends on the order of `live`.
pub fn coordinator_for(group: &str, live: &[i32]) -> Option<i32> {
    live.iter()
        .copied()
        .max_by_key(|&id| (weight(group, id), std::cmp::Reverse(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> Vec<String> {
        (0..2000).map(|i| format!("group-{i}")).collect()
    }

    #[test]
    fn stable_values() {
        // Pinned: a change here moves groups between brokers across versions.
        assert_eq!(coordinator_for("grp1", &[]), None);
        assert_eq!(coordinator_for("grp1", &[7]), Some(7));
        let a = coordinator_for("grp1", &[1, 2, 3]);
        assert_eq!(a, coordinator_for("grp1", &[3, 1, 2]));
        assert_eq!(weight("grp1", 1), weight("grp1", 1));
        assert_ne!(weight("grp1", 1), weight("grp1", 2));
        assert_ne!(weight("grp1", 1), weight("grp2", 1));
    }

    #[test]
    fn adding_a_broker_moves_only_the_groups_it_wins() {
        let before = [1, 2, 3];
        let after = [1, 2, 3, 4];
        let mut moved = 0;
        for g in groups() {
            let old = coordinator_for(&g, &before);
            let new = coordinator_for(&g, &after);
            if old != new {
                assert_eq!(new, Some(4), "{g} moved from {old:?} to {new:?}");
                moved += 1;
            }
        }
        // About a quarter of the groups, never all of them.
        assert!((300..700).contains(&moved), "moved {moved} of 2000");
    }

    #[test]
    fn removing_a_broker_moves_only_its_groups() {
        let before = [1, 2, 3];
        let after = [1, 3];
        let mut moved = 0;
        for g in groups() {
            let old = coordinator_for(&g, &before);
            let new = coordinator_for(&g, &after);
            if old != Some(2) {
                assert_eq!(old, new, "{g} moved although broker 2 did not hold it");
            } else {
                moved += 1;
            }
        }
        assert!((450..900).contains(&moved), "broker 2 held {moved} of 2000");
    }

    #[test]
    fn spread_is_even() {
        let live = [1, 2, 3, 4, 5];
        let mut counts = [0usize; 6];
        for g in groups() {
            if let Some(id) = coordinator_for(&g, &live) {
                counts[id as usize] += 1;
            }
        }
        for &c in &counts[1..] {
            assert!((300..500).contains(&c), "{counts:?}");
        }
    }
}
