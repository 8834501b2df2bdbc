//! The clerk (Go `kvraft/client.go`): finds the leader and retries until done.

use super::common::{GetArgs, GetReply, KvErr, PutAppendArgs, PutAppendReply, PutOrAppend};
use crate::rsm::clerk::{Answer, LeaderHint, Requests};
use labrpc::ClientEnd;
use std::time::Duration;

/// After asking every server without success (an election is under way, or
/// this clerk is cut off), wait this long before the next round.
const ROUND_PAUSE: Duration = Duration::from_millis(20);

/// A client of the kv service (Go `*Clerk`). One clerk does one request at a
/// time; make one per thread.
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

    /// The current value of `key`, or "" if it has none. Retries forever.
    pub fn get(&mut self, key: &str) -> String {
        let args = GetArgs {
            key: key.into(),
            id: self.ids.next_id(),
        };
        let reply: GetReply = self.until_done("KVServer.Get", &args, |r: &GetReply| r.err);
        reply.value
    }

    /// Sets `key` to `value`. Retries forever.
    pub fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, PutOrAppend::Put);
    }

    /// Appends `value` to `key`'s value. Retries forever; applied exactly once.
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
            self.until_done("KVServer.PutAppend", &args, |r: &PutAppendReply| r.err);
    }

    /// Sends the request to the likely leader, then to each server in turn,
    /// until one answers `Ok` or `ErrNoKey`.
    fn until_done<A, R>(&mut self, method: &str, args: &A, err: impl Fn(&R) -> KvErr) -> R
    where
        A: serde::Serialize,
        R: serde::de::DeserializeOwned,
    {
        let servers = &self.servers;
        self.leader.until_done(servers.len(), ROUND_PAUSE, |i| {
            match servers[i].call::<A, R>(method, args) {
                Ok(reply) => match err(&reply) {
                    KvErr::Ok | KvErr::ErrNoKey => Answer::Done(reply),
                    e => {
                        log::debug!(target: "CLNT", "{method} to end {i}: {e:?}");
                        Answer::TryNext
                    }
                },
                Err(e) => {
                    log::debug!(target: "CLNT", "{method} to end {i}: {e}");
                    Answer::TryNext
                }
            }
        })
    }
}
