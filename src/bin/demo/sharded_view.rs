//! What the sharded demo shows: who owns each shard, each group's view of
//! its shards and its servers' Raft roles, the moves as they happen, the
//! faults in force.

use raft::sharded::Sharded;
use raft::shardkv::{GroupView, ShardChange, ShardStatus};
use raft::shardmaster::{Gid, NSHARDS};
use raft::Role;
use std::collections::HashSet;
use std::fmt::Write as _;

pub const LEGEND: &str = "S serving | P pulling (waiting for the data) | C arrived and served, old owner not yet told to drop it | L leaving (kept for the new owner) | . not here | x group unreachable";

fn status_char(s: ShardStatus) -> char {
    match s {
        ShardStatus::Serving => 'S',
        ShardStatus::Pulling => 'P',
        ShardStatus::Confirming => 'C',
        ShardStatus::Leaving => 'L',
        ShardStatus::Absent => '.',
    }
}

/// One picture of the world.
pub struct Picture {
    pub config_num: u64,
    pub owners: [Gid; NSHARDS],
    pub gids: Vec<Gid>,
    pub groups: Vec<Option<GroupView>>,
    /// Per group, each server's Raft role and term (`None`: down).
    pub rafts: Vec<Vec<Option<(Role, u64)>>>,
}

impl Picture {
    /// Group `gi`'s servers: "S0 leader T3 | S1 follower T3 | S2 down".
    fn rafts_long(&self, gi: usize) -> String {
        let each: Vec<String> = self.rafts[gi]
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                Some((role, term)) => format!("S{i} {role} T{term}"),
                None => format!("S{i} down"),
            })
            .collect();
        each.join(" | ")
    }

    /// The same in short: "L3 F3 x" (leader, follower, candidate; term).
    fn rafts_short(&self, gi: usize) -> String {
        let each: Vec<String> = self.rafts[gi]
            .iter()
            .map(|r| match r {
                Some((role, term)) => {
                    let c = match role {
                        Role::Leader => 'L',
                        Role::Candidate => 'C',
                        Role::Follower => 'F',
                    };
                    format!("{c}{term}")
                }
                None => "x".into(),
            })
            .collect();
        each.join(" ")
    }

    pub fn take(w: &Sharded, mck: &mut raft::shardmaster::Clerk) -> Picture {
        let c = mck.query(-1);
        Picture {
            config_num: c.num,
            owners: c.shards,
            gids: w.groups.iter().map(|g| g.gid).collect(),
            groups: (0..w.groups.len()).map(|gi| w.view(gi)).collect(),
            rafts: w
                .groups
                .iter()
                .map(|g| {
                    g.cluster
                        .all()
                        .into_iter()
                        .map(|i| g.cluster.raft_status(i).map(|s| (s.role, s.term)))
                        .collect()
                })
                .collect(),
        }
    }
}

/// Every shard move seen so far, each once, in the order seen. The views
/// carry each group's last status changes, so a move is caught even when it
/// began and ended between two frames.
#[derive(Default)]
pub struct Moves {
    seen: HashSet<(Gid, u64, usize, ShardStatus)>,
    pub log: Vec<(f64, String)>,
}

impl Moves {
    /// Adds the changes in `pic` not seen before; returns how many.
    pub fn update(&mut self, elapsed: f64, pic: &Picture) -> usize {
        let before = self.log.len();
        for (gi, v) in pic.groups.iter().enumerate() {
            let Some(v) = v else { continue };
            for &ShardChange {
                config_num,
                shard,
                from,
                to,
            } in &v.recent
            {
                if self.seen.insert((pic.gids[gi], config_num, shard, to)) {
                    self.log.push((
                        elapsed,
                        format!(
                            "shard {shard} at group {}: {from:?} -> {to:?} (config {config_num})",
                            pic.gids[gi]
                        ),
                    ));
                }
            }
        }
        self.log.len() - before
    }
}

/// The refreshed screen.
pub fn screen(header: &str, pic: &Picture, moves: &Moves, events: &[(f64, String)]) -> String {
    let mut out = String::from("\x1b[2J\x1b[H");
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "shard master: configuration {}", pic.config_num);
    let _ = writeln!(out);
    let mut row = String::from("shard        ");
    for s in 0..NSHARDS {
        let _ = write!(row, "{s:>5}");
    }
    let _ = writeln!(out, "{row}");
    let mut row = String::from("owner        ");
    for g in pic.owners {
        let _ = write!(row, "{g:>5}");
    }
    let _ = writeln!(out, "{row}");
    for (gi, v) in pic.groups.iter().enumerate() {
        let mut row = match v {
            Some(v) => format!("group {} c{:<3}", pic.gids[gi], v.config_num),
            None => format!("group {}     ", pic.gids[gi]),
        };
        for s in 0..NSHARDS {
            let c = v.as_ref().map_or('x', |v| status_char(v.shards[s]));
            let _ = write!(row, "{c:>5}");
        }
        let _ = writeln!(out, "{row}    {}", pic.rafts_long(gi));
    }
    let _ = writeln!(out, "\x1b[2m{LEGEND}\x1b[0m");
    let _ = writeln!(
        out,
        "\nshard moves ({} so far, the last 8):",
        moves.log.len()
    );
    for (t, m) in moves.log.iter().rev().take(8).rev() {
        let _ = writeln!(out, "  {t:5.1} s  {m}");
    }
    let _ = writeln!(out, "\nevents:");
    for (t, e) in events.iter().rev().take(8).rev() {
        let _ = writeln!(out, "  {t:5.1} s  {e}");
    }
    out
}

/// One status line (for `--no-tty`).
pub fn line(pic: &Picture, prefix: &str) -> String {
    let owners: Vec<String> = pic.owners.iter().map(|g| g.to_string()).collect();
    let groups: Vec<String> = pic
        .groups
        .iter()
        .enumerate()
        .map(|(gi, v)| match v {
            Some(v) => format!(
                "{} c{} {} [{}]",
                pic.gids[gi],
                v.config_num,
                v.shards.iter().map(|&s| status_char(s)).collect::<String>(),
                pic.rafts_short(gi)
            ),
            None => format!("{} x [{}]", pic.gids[gi], pic.rafts_short(gi)),
        })
        .collect();
    format!(
        "{prefix} | config {} owners {} | {}",
        pic.config_num,
        owners.join(" "),
        groups.join(" | ")
    )
}
