//! One group's replicated state machine: its configuration, and each
//! shard's data and status. Every replica applies the same log to it.
//!
//! A shard's life at one group, driven by the log:
//!
//! ```text
//!            Reconfigure: ours now, from gid 0        Reconfigure: ours now, from another group
//!   Absent ─────────────────────────────► Serving   Absent ───────► Pulling ──InsertShard──► Confirming
//!      ▲                                   │  ▲                                                  │
//!      │ DeleteShard (the new owner has it)│  └────────────── ShardDone (old owner dropped it) ──┘
//!    Leaving ◄──────── Reconfigure: another group's now ─┘
//! ```
//!
//! A group serves a shard while it is `Serving` or `Confirming` (challenge 2:
//! a shard that arrived is served before the rest of the change completes,
//! and shards the change does not touch are served throughout). It takes the
//! next configuration only when every shard is `Serving` or `Absent`: one
//! change at a time, so a shard's old owner is always the previous
//! configuration's.

use super::common::{key2shard, ShardData, ShardErr, ShardOp};
use crate::debug::dlog;
use crate::rsm::StateMachine;
use crate::sealed::Kind;
use crate::shardmaster::{Config, Gid, NSHARDS};
use labrpc::codec;
use serde::{Deserialize, Serialize};

/// Where a shard stands at one group (see notes/shardkv.md's diagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Not ours; no data here.
    Absent,
    /// Ours; served.
    Serving,
    /// Ours under the current configuration; waiting for its data.
    Pulling,
    /// Ours, data here and served; the old owner has not yet dropped its copy.
    Confirming,
    /// Another group's now; kept until the new owner has it, not served.
    Leaving,
}

/// One shard's change of status at one group: what a dashboard shows of a
/// migration as it happens (the states last milliseconds; a view that only
/// sampled the statuses would rarely catch one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardChange {
    /// The configuration the group was at after the change.
    pub config_num: u64,
    /// The shard.
    pub shard: usize,
    /// Its status before.
    pub from: Status,
    /// Its status after.
    pub to: Status,
}

/// How many recent changes a replica remembers for dashboards.
const RECENT_CHANGES: usize = 64;

/// A shard at this group: its status and contents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Shard {
    pub(crate) status: Status,
    pub(crate) data: ShardData,
}

/// The group's state: what every replica agrees on through the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub(crate) gid: Gid,
    /// The replica's number, for the debug log only.
    #[serde(skip)]
    pub(crate) me: usize,
    /// The last [`RECENT_CHANGES`] status changes this replica applied, for
    /// dashboards; not part of the replicated state (not in snapshots).
    #[serde(skip)]
    pub(crate) recent: std::collections::VecDeque<ShardChange>,
    /// The configuration this group has reached.
    pub(crate) config: Config,
    /// The one before it: where shards that are `Pulling` come from.
    pub(crate) prev: Config,
    pub(crate) shards: Vec<Shard>,
}

/// What applying an operation gives its waiting handler.
pub(crate) type Outcome = Result<Option<String>, ShardErr>;

impl GroupState {
    pub(crate) fn new(gid: Gid, me: usize) -> GroupState {
        GroupState {
            gid,
            me,
            recent: Default::default(),
            config: Config::default(),
            prev: Config::default(),
            shards: (0..NSHARDS)
                .map(|_| Shard {
                    status: Status::Absent,
                    data: ShardData::default(),
                })
                .collect(),
        }
    }

    /// Whether this group serves `key` now.
    pub(crate) fn serves(&self, key: &str) -> bool {
        matches!(
            self.shards[key2shard(key)].status,
            Status::Serving | Status::Confirming
        )
    }

    /// Whether the current configuration's moves are all done, so the next
    /// may be taken.
    pub(crate) fn settled(&self) -> bool {
        self.shards
            .iter()
            .all(|s| matches!(s.status, Status::Serving | Status::Absent))
    }

    /// Every shard's status, in shard order.
    pub(crate) fn statuses(&self) -> Vec<Status> {
        self.shards.iter().map(|s| s.status).collect()
    }

    /// Shards in `status`.
    pub(crate) fn shards_in(&self, status: Status) -> Vec<usize> {
        (0..NSHARDS)
            .filter(|&s| self.shards[s].status == status)
            .collect()
    }

    /// Applies one committed operation.
    pub(crate) fn apply_op(&mut self, op: ShardOp) -> Outcome {
        match op {
            ShardOp::Client(op) => {
                if !self.serves(op.key()) {
                    return Err(ShardErr::ErrWrongGroup);
                }
                let data = &mut self.shards[key2shard(op.key())].data;
                Ok(op.apply(&mut data.kv, &mut data.dups))
            }
            ShardOp::Noop => Ok(None),
            ShardOp::Reconfigure(next) => {
                if next.num == self.config.num + 1 && self.settled() {
                    self.reconfigure(next);
                }
                Ok(None)
            }
            // A shard number out of range is in no state: nothing to do.
            ShardOp::InsertShard { shard, .. }
            | ShardOp::DeleteShard { shard, .. }
            | ShardOp::ShardDone { shard, .. }
                if shard >= NSHARDS =>
            {
                Err(ShardErr::ErrWrongGroup)
            }
            ShardOp::InsertShard {
                config_num,
                shard,
                data,
            } => {
                let s = &mut self.shards[shard];
                if config_num == self.config.num && s.status == Status::Pulling {
                    s.data = data;
                    s.status = Status::Confirming;
                }
                Ok(None)
            }
            ShardOp::DeleteShard { config_num, shard } => {
                if config_num > self.config.num {
                    return Err(ShardErr::ErrNotReady);
                }
                let s = &mut self.shards[shard];
                if config_num == self.config.num && s.status == Status::Leaving {
                    s.status = Status::Absent;
                    s.data = ShardData::default();
                }
                Ok(None) // dropped now, or long ago
            }
            ShardOp::ShardDone { config_num, shard } => {
                let s = &mut self.shards[shard];
                if config_num == self.config.num && s.status == Status::Confirming {
                    s.status = Status::Serving;
                }
                Ok(None)
            }
        }
    }

    /// Takes configuration `next` (one past the current): each shard that
    /// changes hands starts its move.
    fn reconfigure(&mut self, next: Config) {
        for (s, shard) in self.shards.iter_mut().enumerate() {
            let (was, now) = (self.config.shards[s], next.shards[s]);
            if was == now {
                continue;
            }
            if now == self.gid {
                // A shard no group held has no data to pull.
                shard.status = if was == 0 {
                    Status::Serving
                } else {
                    Status::Pulling
                };
            } else if was == self.gid {
                // With no new owner (every group left), nobody will pull it.
                shard.status = if now == 0 {
                    Status::Absent
                } else {
                    Status::Leaving
                };
                if now == 0 {
                    shard.data = ShardData::default();
                }
            }
        }
        self.prev = std::mem::replace(&mut self.config, next);
    }

    /// The contents of `shard` for the group that took it in configuration
    /// `config_num`, if this group has reached that configuration and holds it.
    pub(crate) fn shard_for_puller(
        &self,
        config_num: u64,
        shard: usize,
    ) -> Result<ShardData, ShardErr> {
        if shard >= NSHARDS {
            return Err(ShardErr::ErrWrongGroup);
        }
        if self.config.num < config_num {
            return Err(ShardErr::ErrNotReady);
        }
        let s = &self.shards[shard];
        if self.config.num == config_num && s.status == Status::Leaving {
            Ok(s.data.clone())
        } else {
            // Dropped already: the puller has it (it asked us to drop it).
            Err(ShardErr::ErrNotReady)
        }
    }
}

impl StateMachine for GroupState {
    type Op = ShardOp;
    type Output = Outcome;
    const SNAPSHOT_KIND: Kind = Kind::ShardKvSnapshot;

    /// Applies `op`; a reconfiguration step that changes a shard's status
    /// is logged (INFO) and remembered in `recent`, as the story of a migration.
    fn apply(&mut self, op: ShardOp) -> Outcome {
        let name = (!matches!(op, ShardOp::Client(_))).then(|| op.name());
        let before = name.is_some().then(|| (self.config.num, self.statuses()));
        let outcome = self.apply_op(op);
        if let (Some(before), Some(name)) = (before, name) {
            let after = (self.config.num, self.statuses());
            for (shard, (&from, &to)) in before.1.iter().zip(&after.1).enumerate() {
                if from != to {
                    if self.recent.len() == RECENT_CHANGES {
                        self.recent.pop_front();
                    }
                    self.recent.push_back(ShardChange {
                        config_num: after.0,
                        shard,
                        from,
                        to,
                    });
                }
            }
            if after != before {
                dlog!(
                    "INFO",
                    self.me,
                    0,
                    "G{} applied {}: config {} shards {:?}",
                    self.gid,
                    name,
                    after.0,
                    after.1
                );
            }
        }
        outcome
    }

    fn snapshot(&self, out: &mut Vec<u8>) {
        codec::encode_into(self, out).expect("a group's state always encodes")
    }

    /// Refuses another group's state, and a state without [`NSHARDS`] shards.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let group: GroupState = codec::decode(bytes).map_err(|e| e.message)?;
        if group.shards.len() != NSHARDS {
            return Err(format!("{} shards, not {NSHARDS}", group.shards.len()));
        }
        if group.gid != self.gid {
            return Err(format!("it is group {}'s, not {}'s", group.gid, self.gid));
        }
        *self = GroupState {
            me: self.me,
            ..group
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{ClientOp, PutOrAppend};
    use crate::rsm::RequestId;
    use std::collections::BTreeMap;

    fn config(num: u64, shards: [Gid; NSHARDS]) -> Config {
        let groups: BTreeMap<Gid, Vec<String>> = shards
            .iter()
            .filter(|&&g| g != 0)
            .map(|&g| (g, vec![format!("server-{g}-0")]))
            .collect();
        Config {
            num,
            shards,
            groups,
        }
    }

    fn put(key: &str, value: &str, seq: u64) -> ShardOp {
        ShardOp::Client(ClientOp::PutAppend {
            key: key.into(),
            value: value.into(),
            op: PutOrAppend::Put,
            id: RequestId { client_id: 1, seq },
        })
    }

    #[test]
    fn a_shard_moves_and_is_dropped_by_its_old_owner() {
        let (mut a, mut b) = (GroupState::new(100, 0), GroupState::new(101, 0));
        let c1 = config(1, [100; NSHARDS]);
        let mut c2_shards = [100; NSHARDS];
        c2_shards[key2shard("x")] = 101;
        let c2 = config(2, c2_shards);
        for g in [&mut a, &mut b] {
            g.apply_op(ShardOp::Reconfigure(c1.clone())).unwrap();
        }
        a.apply_op(put("x", "1", 1)).unwrap();
        assert_eq!(b.apply_op(put("x", "2", 2)), Err(ShardErr::ErrWrongGroup));
        for g in [&mut a, &mut b] {
            g.apply_op(ShardOp::Reconfigure(c2.clone())).unwrap();
        }
        let s = key2shard("x");
        assert_eq!(a.shards[s].status, Status::Leaving);
        assert_eq!(b.shards[s].status, Status::Pulling);
        assert!(
            !a.serves("x") && !b.serves("x"),
            "nobody serves it mid-move"
        );
        assert!(!b.settled(), "b may not take configuration 3 yet");
        let data = a.shard_for_puller(2, s).unwrap();
        b.apply_op(ShardOp::InsertShard {
            config_num: 2,
            shard: s,
            data,
        })
        .unwrap();
        assert!(b.serves("x"), "served as soon as it arrived (challenge 2)");
        // The retried write is recognised at the new owner.
        b.apply_op(put("x", "stale", 1)).unwrap();
        assert_eq!(
            b.apply_op(ShardOp::Client(ClientOp::Get {
                key: "x".into(),
                id: RequestId {
                    client_id: 2,
                    seq: 1
                }
            })),
            Ok(Some("1".into()))
        );
        a.apply_op(ShardOp::DeleteShard {
            config_num: 2,
            shard: s,
        })
        .unwrap();
        assert_eq!(a.shards[s].status, Status::Absent);
        assert!(a.shards[s].data.kv.is_empty(), "challenge 1: dropped");
        b.apply_op(ShardOp::ShardDone {
            config_num: 2,
            shard: s,
        })
        .unwrap();
        assert!(a.settled() && b.settled());
        // Shard numbers out of range (a garbled request) change nothing.
        let before = a.clone();
        for op in [
            ShardOp::DeleteShard {
                config_num: 2,
                shard: NSHARDS,
            },
            ShardOp::ShardDone {
                config_num: 2,
                shard: usize::MAX,
            },
        ] {
            assert_eq!(a.apply_op(op), Err(ShardErr::ErrWrongGroup));
        }
        assert_eq!(a.shard_for_puller(2, NSHARDS), Err(ShardErr::ErrWrongGroup));
        assert_eq!(a, before);
        // Replays change nothing.
        let before = b.clone();
        b.apply_op(ShardOp::Reconfigure(c2)).unwrap();
        assert_eq!(b, before);
    }
}
