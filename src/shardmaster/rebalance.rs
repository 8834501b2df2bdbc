//! Rebalancing: spread the shards over the groups as evenly as possible
//! (no group more than one shard above another), moving as few as possible.
//!
//! With `n` groups, each group ends with `NSHARDS / n` shards, and
//! `NSHARDS % n` of them with one more. Which groups get the extra one is the
//! only choice, and it decides how many shards move: give it to the groups
//! that hold the most shards now, and every other shard that can stay,
//! stays. So:
//!
//! 1. targets: groups by (shards held, most first; gid) get the extra shard;
//! 2. free: shards of groups that left (or of no group), and each group's
//!    shards above its target (its highest-numbered ones);
//! 3. give the free shards, lowest first, to the groups below their target,
//!    lowest gid first.
//!
//! Every tie is broken by gid or shard number, so every replica computes the
//! same assignment.

use super::config::{Gid, NSHARDS};
use std::collections::{BTreeMap, BTreeSet};

/// The assignment after rebalancing `shards` over `groups` (in any order,
/// repeats ignored). With no groups, every shard goes to gid 0.
pub fn rebalance(shards: &[Gid; NSHARDS], groups: impl IntoIterator<Item = Gid>) -> [Gid; NSHARDS] {
    let groups: BTreeSet<Gid> = groups.into_iter().filter(|&g| g != 0).collect();
    if groups.is_empty() {
        return [0; NSHARDS];
    }
    // Each group's shards now, lowest first.
    let mut held: BTreeMap<Gid, Vec<usize>> = groups.iter().map(|&g| (g, Vec::new())).collect();
    let mut free: Vec<usize> = Vec::new();
    for (s, g) in shards.iter().enumerate() {
        match held.get_mut(g) {
            Some(mine) => mine.push(s),
            None => free.push(s), // its group left, or it had none
        }
    }

    // 1. Targets: the extra shards go to the groups holding the most.
    let (base, extra) = (NSHARDS / groups.len(), NSHARDS % groups.len());
    let mut by_load: Vec<Gid> = groups.iter().copied().collect();
    by_load.sort_by_key(|g| (std::cmp::Reverse(held[g].len()), *g));
    let target: BTreeMap<Gid, usize> = by_load
        .iter()
        .enumerate()
        .map(|(rank, &g)| (g, base + usize::from(rank < extra)))
        .collect();

    // 2. Free each group's shards above its target.
    for (g, mine) in held.iter_mut() {
        while mine.len() > target[g] {
            free.push(mine.pop().expect("above target, so not empty"));
        }
    }
    free.sort_unstable();

    // 3. Fill the groups below their target.
    let mut free = free.into_iter();
    let mut out = [0; NSHARDS];
    for (&g, mine) in held.iter_mut() {
        while mine.len() < target[&g] {
            mine.push(free.next().expect("the targets add up to NSHARDS"));
        }
        for &s in mine.iter() {
            out[s] = g;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn counts(a: &[Gid; NSHARDS], groups: &BTreeSet<Gid>) -> Vec<usize> {
        groups
            .iter()
            .map(|g| a.iter().filter(|&x| x == g).count())
            .collect()
    }

    /// The fewest shards any balanced assignment must move, found by trying
    /// every choice of which groups get the extra shard.
    fn fewest_moves(before: &[Gid; NSHARDS], groups: &BTreeSet<Gid>) -> usize {
        let gs: Vec<Gid> = groups.iter().copied().collect();
        let (base, extra) = (NSHARDS / gs.len(), NSHARDS % gs.len());
        let held: Vec<usize> = gs
            .iter()
            .map(|g| before.iter().filter(|&x| x == g).count())
            .collect();
        let mut best_kept = 0;
        for mask in 0u32..(1 << gs.len()) {
            if mask.count_ones() as usize != extra {
                continue;
            }
            let kept: usize = (0..gs.len())
                .map(|i| held[i].min(base + usize::from(mask & (1 << i) != 0)))
                .sum();
            best_kept = best_kept.max(kept);
        }
        NSHARDS - best_kept
    }

    #[test]
    fn balanced_valid_minimal_and_deterministic_on_random_changes() {
        let mut rng = StdRng::seed_from_u64(4);
        for _ in 0..3000 {
            // A random assignment over some gids (some of which may leave),
            // and a random new set of groups (some new, some old).
            let old: Vec<Gid> = (1..=rng.random_range(1..=12)).collect();
            let mut before = [0; NSHARDS];
            for s in before.iter_mut() {
                *s = if rng.random_bool(0.1) {
                    0
                } else {
                    old[rng.random_range(0..old.len())]
                };
            }
            let groups: BTreeSet<Gid> = (1..=14).filter(|_| rng.random_bool(0.5)).collect();
            let after = rebalance(&before, groups.iter().copied());
            if groups.is_empty() {
                assert_eq!(after, [0; NSHARDS]);
                continue;
            }
            // Valid and balanced.
            assert!(after.iter().all(|g| groups.contains(g)), "{after:?}");
            let c = counts(&after, &groups);
            assert!(
                c.iter().max().unwrap() - c.iter().min().unwrap() <= 1,
                "{c:?}"
            );
            // Minimal: exactly as many moves as the best balanced assignment.
            let moved = (0..NSHARDS).filter(|&s| before[s] != after[s]).count();
            assert_eq!(
                moved,
                fewest_moves(&before, &groups),
                "{before:?} -> {after:?}"
            );
            // Deterministic: the order groups are given in does not matter.
            let mut shuffled: Vec<Gid> = groups.iter().rev().copied().collect();
            shuffled.push(*groups.first().unwrap()); // and repeats are ignored
            assert_eq!(rebalance(&before, shuffled), after);
        }
    }

    #[test]
    fn joins_take_only_what_the_new_groups_need() {
        // Go's "minimal transfers after joins": no shard moves between old groups.
        let mut a = rebalance(&[0; NSHARDS], 1..=10);
        assert!(counts(&a, &(1..=10).collect()).iter().all(|&c| c == 1));
        let b = rebalance(&a, 1..=15);
        for s in 0..NSHARDS {
            if (1..=10).contains(&b[s]) {
                assert_eq!(a[s], b[s], "shard {s} moved between old groups");
            }
        }
        // And leaves: the groups that stay keep what they had.
        a = rebalance(&b, 1..=10);
        for s in 0..NSHARDS {
            if (1..=10).contains(&b[s]) {
                assert_eq!(a[s], b[s], "shard {s} left a group that stayed");
            }
        }
    }

    #[test]
    fn more_groups_than_shards_leaves_some_without() {
        let a = rebalance(&[0; NSHARDS], 1..=13);
        let c = counts(&a, &(1..=13).collect());
        assert_eq!(c.iter().filter(|&&n| n == 1).count(), NSHARDS);
        assert_eq!(c.iter().filter(|&&n| n == 0).count(), 3);
        // Lowest gids first when nobody holds anything.
        assert_eq!(a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
}
