//! Moving shards between groups: the migrator thread of a group's leader.
//!
//! ```text
//!  new owner (leader)                               old owner (leader)
//!  applies Reconfigure(n): shard s Pulling          applies Reconfigure(n): shard s Leaving
//!     ── PullShard(n, s) ──────────────────────────►  (ErrNotReady until it reaches n)
//!     ◄──────────────────────────── data of s, frozen at n
//!  proposes InsertShard(n, s, data); applied:
//!  s Confirming, served from now on
//!     ── DeleteShard(n, s) ────────────────────────►  proposes DeleteShard(n, s); applied:
//!     ◄────────────────────────────────────── Ok      s Absent, its data dropped (challenge 1)
//!  proposes ShardDone(n, s); applied: s Serving
//! ```
//!
//! Every step is idempotent and keyed by the configuration number, so a
//! lost reply, a new leader redoing a step, or a replica applying a
//! proposal twice changes nothing. The pulls and deletes of one round go to
//! all the shards' old owners at once, one scoped thread per shard, so one
//! unreachable group (a test kills one) does not hold up the others.

use super::common::{
    DeleteShardArgs, DeleteShardReply, PullShardArgs, PullShardReply, ShardErr, ShardOp,
};
use super::group_state::Status;
use super::server::Inner;
use crate::rsm::clerk::{Answer, LeaderHint};
use labrpc::ClientEnd;
use std::time::{Duration, Instant};

/// How often the migrator looks for work while it leads.
const MIGRATE_INTERVAL: Duration = Duration::from_millis(50);
/// How long one call to another group's server may take.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// One step to take for one shard this round.
enum Step {
    Pull,
    Delete,
}

impl Inner {
    /// The migrator thread.
    pub(super) fn migrator(&self) {
        while self.pause(MIGRATE_INTERVAL) {
            if !self.rsm.raft().get_state().1 {
                continue;
            }
            // What to do, and whom to ask, read under the rsm lock.
            let work: Vec<(Step, usize, u64, Vec<String>)> = self.rsm.read(|g| {
                let old_owner = |s: usize| {
                    g.prev
                        .groups
                        .get(&g.prev.shards[s])
                        .cloned()
                        .unwrap_or_default()
                };
                let pulls = g
                    .shards_in(Status::Pulling)
                    .into_iter()
                    .map(|s| (Step::Pull, s));
                let deletes = g
                    .shards_in(Status::Confirming)
                    .into_iter()
                    .map(|s| (Step::Delete, s));
                pulls
                    .chain(deletes)
                    .map(|(step, s)| (step, s, g.config.num, old_owner(s)))
                    .collect()
            });
            if work.is_empty() {
                continue;
            }
            std::thread::scope(|scope| {
                for (step, shard, num, servers) in &work {
                    scope.spawn(move || match step {
                        Step::Pull => self.pull(*shard, *num, servers),
                        Step::Delete => self.delete(*shard, *num, servers),
                    });
                }
            });
        }
    }

    /// Asks the old owner's servers, in turn, for `shard` as of
    /// configuration `num`; proposes it when one answers.
    fn pull(&self, shard: usize, num: u64, servers: &[String]) {
        let args = PullShardArgs {
            config_num: num,
            shard,
        };
        let data = LeaderHint::default().round(servers.len(), |i| {
            match self.call(&servers[i], "ShardKV.PullShard", &args) {
                Some(PullShardReply {
                    err: ShardErr::Ok,
                    data,
                }) => Answer::Done(data),
                _ => Answer::TryNext,
            }
        });
        if let Some(data) = data {
            self.rsm.propose(ShardOp::InsertShard {
                config_num: num,
                shard,
                data,
            });
        }
    }

    /// Tells the old owner it may drop `shard`; proposes `ShardDone` once it
    /// has (or had already).
    fn delete(&self, shard: usize, num: u64, servers: &[String]) {
        let args = DeleteShardArgs {
            config_num: num,
            shard,
        };
        let dropped = LeaderHint::default().round(servers.len(), |i| {
            match self.call(&servers[i], "ShardKV.DeleteShard", &args) {
                Some(DeleteShardReply { err: ShardErr::Ok }) => Answer::Done(()),
                _ => Answer::TryNext,
            }
        });
        if dropped.is_some() {
            self.rsm.propose(ShardOp::ShardDone {
                config_num: num,
                shard,
            });
        }
    }

    /// One call to server `name`, given up after [`CALL_TIMEOUT`] or at `kill`.
    fn call<A: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        method: &str,
        args: &A,
    ) -> Option<R> {
        let end: ClientEnd = self
            .ends
            .lock()
            .entry(name.to_string())
            .or_insert_with(|| (self.make_end)(name))
            .clone();
        let pending = end.call_async(method, args);
        pending
            .wait_deadline(&self.stopped, Instant::now() + CALL_TIMEOUT)
            .and_then(|r| r.ok())
    }
}
