//! The shardkv RPCs' arguments and replies, the operations in a group's log,
//! and which shard a key lives in.

pub use crate::kv::PutOrAppend;
use crate::rsm::{DuplicateTable, RsmErr};
use crate::shardmaster::{Config, NSHARDS};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The shard a key belongs to (Go `key2shard`): its first byte, modulo
/// [`NSHARDS`]; the empty key is in shard 0.
pub fn key2shard(key: &str) -> usize {
    key.as_bytes().first().map_or(0, |&b| b as usize) % NSHARDS
}

/// Why a request did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardErr {
    /// Done.
    Ok,
    /// A Get of a key that has no value.
    ErrNoKey,
    /// This group does not serve the key's shard now (under the
    /// configuration it has reached): ask the shard master again.
    ErrWrongGroup,
    /// Not the leader; try another server of the group.
    ErrWrongLeader,
    /// No commit in time; try again.
    ErrTimeout,
    /// (Between groups) the group asked has not reached that configuration yet.
    ErrNotReady,
}

impl From<RsmErr> for ShardErr {
    fn from(e: RsmErr) -> ShardErr {
        match e {
            RsmErr::WrongLeader => ShardErr::ErrWrongLeader,
            RsmErr::Timeout => ShardErr::ErrTimeout,
        }
    }
}

/// Arguments of `ShardKV.Get`, `ShardKV.PutAppend`, and a clerk's op in
/// the log: shared with kvraft ([`crate::kv`]).
pub use crate::kv::{ClientOp, GetArgs, PutAppendArgs};

/// Reply of `ShardKV.Get`.
pub type GetReply = crate::kv::GetReply<ShardErr>;

/// Reply of `ShardKV.PutAppend`.
pub type PutAppendReply = crate::kv::PutAppendReply<ShardErr>;

/// One shard's contents: its keys and its own duplicate table, which moves
/// with it (a write retried at the new owner is still recognised).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardData {
    /// Key -> value.
    pub kv: HashMap<String, String>,
    /// The writes applied to this shard (it moves with the shard).
    pub dups: DuplicateTable,
}

/// Arguments of `ShardKV.PullShard` (group to group): the shard's contents
/// as they were when the configuration `config_num` took it away.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullShardArgs {
    /// The configuration that moved the shard.
    pub config_num: u64,
    /// The shard.
    pub shard: usize,
}

/// Reply of `ShardKV.PullShard`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullShardReply {
    /// Ok, ErrWrongLeader, or ErrNotReady (not at that configuration yet).
    pub err: ShardErr,
    /// The shard's contents (with Ok).
    pub data: ShardData,
}

/// Arguments of `ShardKV.DeleteShard` (group to group, challenge 1): the
/// new owner has the shard of configuration `config_num`; the old may drop it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteShardArgs {
    /// The configuration that moved the shard.
    pub config_num: u64,
    /// The shard.
    pub shard: usize,
}

/// Reply of `ShardKV.DeleteShard`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteShardReply {
    /// Ok (dropped, now or before), or why to retry.
    pub err: ShardErr,
}

/// What a group's Raft log holds: client operations, and the steps of a
/// reconfiguration, so that every replica takes them at the same point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ShardOp {
    /// A clerk's Get, Put or Append.
    Client(ClientOp),
    /// Move to the next configuration.
    Reconfigure(Config),
    /// A shard pulled from its old owner arrives.
    InsertShard {
        /// The configuration that moved it here.
        config_num: u64,
        /// The shard.
        shard: usize,
        /// Its contents.
        data: ShardData,
    },
    /// The old owner may drop a shard the new owner has (challenge 1).
    DeleteShard {
        /// The configuration that moved it away.
        config_num: u64,
        /// The shard.
        shard: usize,
    },
    /// Nothing: a new leader's blank entry, so that entries of earlier terms
    /// commit (see `ShardKv`'s poller).
    Noop,
    /// The old owner confirmed it dropped a shard this group pulled.
    ShardDone {
        /// The configuration that moved it here.
        config_num: u64,
        /// The shard.
        shard: usize,
    },
}

impl ShardOp {
    /// The op's name in the debug log (a client op's contents are not
    /// interesting there; a reconfiguration step's are).
    pub fn name(&self) -> String {
        match self {
            ShardOp::Client(_) => "client op".into(),
            ShardOp::Noop => "no-op".into(),
            ShardOp::Reconfigure(c) => format!("Reconfigure({})", c.num),
            ShardOp::InsertShard {
                config_num, shard, ..
            } => format!("InsertShard({config_num}, {shard})"),
            ShardOp::DeleteShard { config_num, shard } => {
                format!("DeleteShard({config_num}, {shard})")
            }
            ShardOp::ShardDone { config_num, shard } => format!("ShardDone({config_num}, {shard})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_by_first_byte() {
        assert_eq!(key2shard(""), 0);
        assert_eq!(key2shard("0"), b'0' as usize % NSHARDS);
        assert_eq!(key2shard("a"), key2shard("abc"));
        let shards: std::collections::BTreeSet<usize> =
            (0..10).map(|i| key2shard(&i.to_string())).collect();
        assert_eq!(shards.len(), NSHARDS, "keys \"0\"..\"9\" cover every shard");
    }
}
