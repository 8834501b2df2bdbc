//! The shard master's messages (Go `shardmaster/common.go`).

use super::config::{Config, Gid};
use crate::rsm::{RequestId, RsmErr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a request did not complete (Go's `WrongLeader` flag and `Err`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmErr {
    /// Done.
    Ok,
    /// This server is not the leader (or lost leadership before the request committed).
    ErrWrongLeader,
    /// The request did not commit in time; the clerk retries.
    ErrTimeout,
}

impl From<RsmErr> for SmErr {
    fn from(e: RsmErr) -> SmErr {
        match e {
            RsmErr::WrongLeader => SmErr::ErrWrongLeader,
            RsmErr::Timeout => SmErr::ErrTimeout,
        }
    }
}

/// An operation, as it goes through the Raft log. The arguments of the four
/// RPCs (`ShardMaster.Join`, `.Leave`, `.Move`, `.Query`) are these too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmOp {
    /// Add groups (gid -> its servers' names) and rebalance.
    Join {
        /// The groups.
        servers: BTreeMap<Gid, Vec<String>>,
        /// The clerk and its request number, for duplicate detection.
        id: RequestId,
    },
    /// Remove groups and rebalance.
    Leave {
        /// The groups.
        gids: Vec<Gid>,
        /// The clerk and its request number.
        id: RequestId,
    },
    /// Assign one shard to one group.
    Move {
        /// The shard.
        shard: usize,
        /// The group.
        gid: Gid,
        /// The clerk and its request number.
        id: RequestId,
    },
    /// Read configuration `num` (-1 or too large: the latest). It goes
    /// through the log too, so it sees every change that completed before it.
    Query {
        /// The configuration's number.
        num: i64,
        /// The clerk and its request number.
        id: RequestId,
    },
}

impl SmOp {
    /// Who asked, and which of their requests this is.
    pub fn id(&self) -> RequestId {
        match self {
            SmOp::Join { id, .. }
            | SmOp::Leave { id, .. }
            | SmOp::Move { id, .. }
            | SmOp::Query { id, .. } => *id,
        }
    }
}

/// The reply to any of the four RPCs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmReply {
    /// Whether it was done.
    pub err: SmErr,
    /// For a Query, the configuration (the default otherwise).
    pub config: Config,
}
