//! The kv service's messages (Go `kvraft/common.go`).

pub use crate::kv::PutOrAppend;
pub use crate::rsm::RequestId;
use crate::rsm::RsmErr;
use serde::{Deserialize, Serialize};

/// The outcome of a request (Go's `Err` strings `OK`, `ErrNoKey`, `ErrWrongLeader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvErr {
    /// Done (Go `OK`).
    Ok,
    /// Get of a key that was never written (Go `ErrNoKey`); the value is "".
    ErrNoKey,
    /// This server is not the leader, or lost leadership before the request
    /// committed (Go `ErrWrongLeader`): try another server.
    ErrWrongLeader,
    /// The request did not commit in time (a partition, an election): try again.
    ErrTimeout,
}

impl From<RsmErr> for KvErr {
    fn from(e: RsmErr) -> KvErr {
        match e {
            RsmErr::WrongLeader => KvErr::ErrWrongLeader,
            RsmErr::Timeout => KvErr::ErrTimeout,
        }
    }
}

/// Arguments of `KVServer.Get`, `KVServer.PutAppend`, and the op in the
/// log: shared with shardkv ([`crate::kv`]).
pub use crate::kv::{ClientOp as Op, GetArgs, PutAppendArgs};

/// Reply of `KVServer.Get`.
pub type GetReply = crate::kv::GetReply<KvErr>;

/// Reply of `KVServer.PutAppend`.
pub type PutAppendReply = crate::kv::PutAppendReply<KvErr>;
