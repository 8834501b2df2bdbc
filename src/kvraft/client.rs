//! The clerk (Go `kvraft/client.go`): finds the leader and retries until done.

use super::common::{
    GetArgs, GetReply, KvErr, PutAppendArgs, PutAppendReply, PutOrAppend, RequestId,
};
use labrpc::ClientEnd;
use std::time::Duration;

/// After asking every server without success (an election is under way, or
/// this clerk is cut off), wait this long before the next round, so a clerk
/// does not spin while there is no leader to find.
const ROUND_PAUSE: Duration = Duration::from_millis(20);

/// A client of the kv service (Go `*Clerk`). One clerk does one request at a
/// time; make one per thread.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    /// The server that answered last time: probably the leader.
    leader: usize,
    client_id: u64,
    seq: u64,
}

impl Clerk {
    /// A clerk that reaches server `i` through `servers[i]` (Go `MakeClerk`).
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk {
            servers,
            leader: 0,
            client_id: rand::random(),
            seq: 0,
        }
    }

    /// The current value of `key`, or "" if it has none. Retries forever.
    pub fn get(&mut self, key: &str) -> String {
        self.seq += 1;
        let args = GetArgs {
            key: key.to_string(),
            id: self.id(),
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
        self.seq += 1;
        let args = PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            op,
            id: self.id(),
        };
        let _: PutAppendReply =
            self.until_done("KVServer.PutAppend", &args, |r: &PutAppendReply| r.err);
    }

    fn id(&self) -> RequestId {
        RequestId {
            client_id: self.client_id,
            seq: self.seq,
        }
    }

    /// Sends the request to the likely leader, then to each server in turn,
    /// until one answers `Ok` or `ErrNoKey`.
    fn until_done<A, R>(&mut self, method: &str, args: &A, err: impl Fn(&R) -> KvErr) -> R
    where
        A: serde::Serialize,
        R: serde::de::DeserializeOwned,
    {
        let n = self.servers.len();
        loop {
            for _ in 0..n {
                let tag = format!(
                    "C{} {method} #{} to end {}",
                    self.client_id % 10000,
                    self.seq,
                    self.leader
                );
                match self.servers[self.leader].call::<A, R>(method, args) {
                    Ok(reply) => match err(&reply) {
                        KvErr::Ok | KvErr::ErrNoKey => return reply,
                        e => log::debug!(target: "CLNT", "{tag}: {e:?}"),
                    },
                    Err(e) => log::debug!(target: "CLNT", "{tag}: {e}"),
                }
                self.leader = (self.leader + 1) % n;
            }
            // A pacing timer, not synchronization: nothing can tell a clerk
            // when a leader is elected, so it asks again a little later.
            let _ = crossbeam_channel::after(ROUND_PAUSE).recv();
        }
    }
}
