//! The shardkv clerk (Go `shardkv/client.go`): finds the group that serves a
//! key's shard in its copy of the configuration, asks that group's servers,
//! and on `ErrWrongGroup` (or no answer) asks the shard master for the latest
//! configuration and tries again.

use super::common::{
    key2shard, GetArgs, GetReply, PutAppendArgs, PutAppendReply, PutOrAppend, ShardErr,
};
use super::server::MakeEnd;
use crate::rsm::clerk::{Answer, LeaderHint, Requests};
use crate::shardmaster::{self, Config, Gid};
use labrpc::ClientEnd;
use std::collections::HashMap;
use std::time::Duration;

/// After a round without success, wait this long before asking the shard
/// master again (the lab's 100 ms): a pacing timer, not synchronization.
const ROUND_PAUSE: Duration = Duration::from_millis(100);

/// A shardkv client (Go `*Clerk`). One request at a time.
pub struct Clerk {
    sm: shardmaster::Clerk,
    config: Config,
    make_end: MakeEnd,
    ends: HashMap<String, ClientEnd>,
    /// The server of each group that answered last (likely its leader).
    leaders: HashMap<Gid, LeaderHint>,
    ids: Requests,
}

impl Clerk {
    /// A clerk that reaches the shard master through `masters` and any
    /// server through `make_end` (Go `MakeClerk`).
    pub fn new(masters: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk {
            sm: shardmaster::Clerk::new(masters),
            config: Config::default(),
            make_end,
            ends: HashMap::new(),
            leaders: HashMap::new(),
            ids: Requests::default(),
        }
    }

    /// The value of `key` ("" if it has none). Keeps trying until it succeeds.
    pub fn get(&mut self, key: &str) -> String {
        let args = GetArgs {
            key: key.into(),
            id: self.ids.next_id(),
        };
        let reply: GetReply = self.until_done(key, "ShardKV.Get", &args, |r: &GetReply| r.err);
        reply.value
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutOrAppend::Put);
    }

    /// Appends `value` to `key`'s value.
    pub fn append(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutOrAppend::Append);
    }

    fn put_append(&mut self, key: &str, value: &str, op: PutOrAppend) {
        let args = PutAppendArgs {
            key: key.into(),
            value: value.into(),
            op,
            id: self.ids.next_id(),
        };
        let _: PutAppendReply =
            self.until_done(key, "ShardKV.PutAppend", &args, |r: &PutAppendReply| r.err);
    }

    /// Sends `args` to the group serving `key`'s shard until one of its
    /// servers completes it; the same request (same id) all along, so a
    /// write is applied once even if it reaches two groups in turn.
    fn until_done<A, R>(
        &mut self,
        key: &str,
        method: &str,
        args: &A,
        err: impl Fn(&R) -> ShardErr,
    ) -> R
    where
        A: serde::Serialize,
        R: serde::de::DeserializeOwned,
    {
        let shard = key2shard(key);
        loop {
            let gid = self.config.shards[shard];
            if let Some(servers) = self.config.groups.get(&gid) {
                let (ends, make_end) = (&mut self.ends, &self.make_end);
                let hint = self.leaders.entry(gid).or_default();
                let done = hint.round(servers.len(), |i| {
                    let end = ends
                        .entry(servers[i].clone())
                        .or_insert_with(|| make_end(&servers[i]));
                    // A failed call (lost, or the server is down): try the next server.
                    match end.call::<A, R>(method, args) {
                        Ok(reply) => match err(&reply) {
                            ShardErr::Ok | ShardErr::ErrNoKey => Answer::Done(reply),
                            ShardErr::ErrWrongGroup => Answer::GiveUp,
                            _ => Answer::TryNext,
                        },
                        Err(_) => Answer::TryNext,
                    }
                });
                if let Some(reply) = done {
                    return reply;
                }
            }
            let _ = crossbeam_channel::after(ROUND_PAUSE).recv();
            self.config = self.sm.query(-1);
        }
    }
}
