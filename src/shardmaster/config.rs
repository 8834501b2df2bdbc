//! Configurations and the operations that make new ones (Go `shardmaster/common.go`
//! and the apply side of `server.go`).

use super::rebalance::rebalance;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The number of shards (Go `NShards`).
pub const NSHARDS: usize = 10;

/// A replica group's id. 0 is "no group": the shards of a configuration with
/// no groups are all assigned to 0.
pub type Gid = u64;

/// One configuration: which group serves each shard, and the servers of each
/// group (Go `Config`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The configuration's number; the first is 0, with no groups.
    pub num: u64,
    /// `shards[s]` is the group that serves shard `s`.
    pub shards: [Gid; NSHARDS],
    /// Each group's servers (labrpc end names), in the order given to Join.
    pub groups: BTreeMap<Gid, Vec<String>>,
}

impl Config {
    /// How many shards each group serves now (every group, even with none).
    pub fn shard_counts(&self) -> BTreeMap<Gid, usize> {
        let mut counts: BTreeMap<Gid, usize> = self.groups.keys().map(|&g| (g, 0)).collect();
        for g in self.shards {
            if let Some(c) = counts.get_mut(&g) {
                *c += 1;
            }
        }
        counts
    }
}

/// The shard master's state: every configuration so far, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configs {
    configs: Vec<Config>,
}

impl Default for Configs {
    fn default() -> Self {
        Configs {
            configs: vec![Config::default()],
        }
    }
}

impl Configs {
    /// The latest configuration.
    pub fn latest(&self) -> &Config {
        self.configs
            .last()
            .expect("there is always configuration 0")
    }

    /// Go `Query(num)`: configuration `num`, or the latest if `num` is
    /// negative or past the latest.
    pub fn query(&self, num: i64) -> Config {
        usize::try_from(num)
            .ok()
            .and_then(|n| self.configs.get(n))
            .unwrap_or_else(|| self.latest())
            .clone()
    }

    /// Go `Join(servers)`: new groups (or new server lists for groups already
    /// in), then rebalance. A gid of 0 is not a group and is ignored.
    pub fn join(&mut self, groups: &BTreeMap<Gid, Vec<String>>) {
        let mut next = self.next();
        for (&gid, servers) in groups.iter().filter(|(&g, _)| g != 0) {
            next.groups.insert(gid, servers.clone());
        }
        next.shards = rebalance(&next.shards, next.groups.keys().copied());
        self.configs.push(next);
    }

    /// Go `Leave(gids)`: the groups go, their shards go to the others.
    pub fn leave(&mut self, gids: &[Gid]) {
        let mut next = self.next();
        for gid in gids {
            next.groups.remove(gid);
        }
        next.shards = rebalance(&next.shards, next.groups.keys().copied());
        self.configs.push(next);
    }

    /// Go `Move(shard, gid)`: one shard to one group, no rebalancing (for
    /// tests and operators). Refused (false, no new configuration) if the
    /// shard does not exist or the group is not in the configuration.
    pub fn move_shard(&mut self, shard: usize, gid: Gid) -> bool {
        if shard >= NSHARDS || !self.latest().groups.contains_key(&gid) {
            return false;
        }
        let mut next = self.next();
        next.shards[shard] = gid;
        self.configs.push(next);
        true
    }

    /// A copy of the latest configuration, numbered as the next one.
    fn next(&self) -> Config {
        let mut next = self.latest().clone();
        next.num += 1;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn join(c: &mut Configs, gids: &[Gid]) {
        let m = gids
            .iter()
            .map(|&g| (g, servers(&["a", "b", "c"])))
            .collect();
        c.join(&m);
    }

    /// Go's `check`: the groups are those expected, every shard is on one of
    /// them, and no group has more than one shard above another.
    fn check(c: &Configs, groups: &[Gid]) {
        let latest = c.latest();
        assert_eq!(latest.groups.keys().copied().collect::<Vec<_>>(), groups);
        if !groups.is_empty() {
            for (s, g) in latest.shards.iter().enumerate() {
                assert!(
                    latest.groups.contains_key(g),
                    "shard {s} -> invalid group {g}"
                );
            }
        }
        let counts = latest.shard_counts();
        let (min, max) = (counts.values().min(), counts.values().max());
        if let (Some(min), Some(max)) = (min, max) {
            assert!(
                max - min <= 1,
                "max {max} too much larger than min {min}: {latest:?}"
            );
        }
    }

    #[test]
    fn basic_join_leave_and_queries() {
        let mut c = Configs::default();
        check(&c, &[]);
        assert_eq!(c.query(-1).shards, [0; NSHARDS]);
        c.join(&BTreeMap::from([(1, servers(&["x", "y", "z"]))]));
        check(&c, &[1]);
        assert_eq!(c.latest().shards, [1; NSHARDS]);
        join(&mut c, &[2]);
        check(&c, &[1, 2]);
        join(&mut c, &[2]); // again: same groups, balanced, a new number
        check(&c, &[1, 2]);
        assert_eq!(c.latest().num, 3);
        assert_eq!(c.latest().groups[&1], servers(&["x", "y", "z"]));
        c.leave(&[1]);
        check(&c, &[2]);
        assert_eq!(c.latest().shards, [2; NSHARDS]);
        c.leave(&[1]); // not there: nothing moves
        check(&c, &[2]);
        // Historical queries; out of range means latest.
        assert_eq!(c.query(1).groups.len(), 1);
        assert_eq!(c.query(2).num, 2);
        assert_eq!(c.query(99), *c.latest());
        c.leave(&[2]);
        assert_eq!(
            c.latest().shards,
            [0; NSHARDS],
            "no groups: shards to gid 0"
        );
    }

    #[test]
    fn move_assigns_one_shard_and_numbers_a_config() {
        let mut c = Configs::default();
        join(&mut c, &[503, 504]);
        for s in 0..NSHARDS {
            assert!(c.move_shard(s, if s < NSHARDS / 2 { 503 } else { 504 }));
        }
        let l = c.latest();
        assert!(l.shards[..5].iter().all(|&g| g == 503) && l.shards[5..].iter().all(|&g| g == 504));
        let before = c.latest().num;
        assert!(!c.move_shard(NSHARDS, 503), "no such shard");
        assert!(!c.move_shard(0, 999), "no such group");
        assert_eq!(c.latest().num, before);
    }

    #[test]
    fn gid_zero_is_not_a_group() {
        let mut c = Configs::default();
        join(&mut c, &[0, 7]);
        check(&c, &[7]);
    }
}
