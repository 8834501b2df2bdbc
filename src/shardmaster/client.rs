//! The shard master's clerk (Go `shardmaster/client.go`).

use super::common::{SmErr, SmOp, SmReply};
use super::config::{Config, Gid};
use crate::rsm::clerk::{Answer, LeaderHint, Requests};
use labrpc::ClientEnd;
use std::collections::BTreeMap;
use std::time::Duration;

/// After asking every server without success, wait this long (there is no
/// leader to find yet) before the next round; as kvraft's clerk does.
const ROUND_PAUSE: Duration = Duration::from_millis(20);

/// A client of the shard master (Go `*Clerk`). One request at a time.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    leader: LeaderHint,
    ids: Requests,
}

impl Clerk {
    /// A clerk that reaches server `i` through `servers[i]` (Go `MakeClerk`).
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk {
            servers,
            leader: LeaderHint::default(),
            ids: Requests::default(),
        }
    }

    /// Configuration `num`; -1 (or a number past the latest) for the latest.
    pub fn query(&mut self, num: i64) -> Config {
        let id = self.ids.next_id();
        self.call("Query", SmOp::Query { num, id })
    }

    /// Configuration `num` if a leader answers within one round of the
    /// servers; `None` otherwise. For a server's poller, which must not wait
    /// forever on an unreachable shard master (it would never notice `kill`).
    pub fn try_query(&mut self, num: i64) -> Option<Config> {
        let op = SmOp::Query {
            num,
            id: self.ids.next_id(),
        };
        let servers = &self.servers;
        self.leader.round(servers.len(), |i| {
            ask(&servers[i], "ShardMaster.Query", &op)
        })
    }

    /// Adds groups (gid -> servers) and rebalances.
    pub fn join(&mut self, servers: BTreeMap<Gid, Vec<String>>) {
        let id = self.ids.next_id();
        self.call("Join", SmOp::Join { servers, id });
    }

    /// Removes groups and rebalances.
    pub fn leave(&mut self, gids: &[Gid]) {
        let id = self.ids.next_id();
        let gids = gids.to_vec();
        self.call("Leave", SmOp::Leave { gids, id });
    }

    /// Assigns `shard` to `gid` (Go `Move`; `move` is a Rust keyword).
    pub fn move_shard(&mut self, shard: usize, gid: Gid) {
        let id = self.ids.next_id();
        self.call("Move", SmOp::Move { shard, gid, id });
    }

    /// Sends `op` to the likely leader, then to each server in turn, until
    /// one applies it.
    fn call(&mut self, method: &str, op: SmOp) -> Config {
        let full = format!("ShardMaster.{method}");
        let servers = &self.servers;
        self.leader
            .until_done(servers.len(), ROUND_PAUSE, |i| ask(&servers[i], &full, &op))
    }
}

/// One server's answer: done with a configuration, or ask the next.
fn ask(end: &ClientEnd, method: &str, op: &SmOp) -> Answer<Config> {
    match end.call::<SmOp, SmReply>(method, op) {
        Ok(SmReply {
            err: SmErr::Ok,
            config,
        }) => Answer::Done(config),
        _ => Answer::TryNext,
    }
}
