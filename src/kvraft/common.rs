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

/// Arguments of `KVServer.PutAppend`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendArgs {
    /// The key.
    pub key: String,
    /// The value to put or append.
    pub value: String,
    /// Put or Append.
    pub op: PutOrAppend,
    /// Who asks, for duplicate detection.
    pub id: RequestId,
}

/// Reply of `KVServer.PutAppend`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendReply {
    /// The outcome.
    pub err: KvErr,
}

/// Arguments of `KVServer.Get`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key.
    pub key: String,
    /// Who asks (Gets change nothing, but carry it for the logs).
    pub id: RequestId,
}

/// Reply of `KVServer.Get`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetReply {
    /// The outcome.
    pub err: KvErr,
    /// The value, or "" for `ErrNoKey`.
    pub value: String,
}

/// What goes in the Raft log: one client operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Read `key` (through the log, so the read is linearizable).
    Get {
        /// The key.
        key: String,
        /// The request.
        id: RequestId,
    },
    /// Put or append `value` at `key`.
    PutAppend {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Put or Append.
        op: PutOrAppend,
        /// The request, for duplicate detection.
        id: RequestId,
    },
}

impl Op {
    /// The request this operation came from.
    pub fn id(&self) -> RequestId {
        match self {
            Op::Get { id, .. } | Op::PutAppend { id, .. } => *id,
        }
    }
}
