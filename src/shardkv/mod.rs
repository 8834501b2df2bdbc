//! Lab 4B: the sharded key/value service. Each replica group is a Raft
//! cluster serving the shards the shard master assigns it; groups move
//! through configurations one at a time, through their own logs, and hand
//! shards (with their duplicate tables) to each other as configurations
//! change. Both challenges: a group drops the shards it gave away once the
//! new owner has them, and keeps serving the shards a change does not touch
//! (and each incoming shard as soon as it has arrived).
//!
//! [`ShardKv`] is a server: handlers, a poller and a migrator on the
//! replicated state machine ([`crate::rsm`]) whose state machine is the
//! group's [`GroupState`]. [`Clerk`] is a client. notes/shardkv.md explains the
//! configurations as log entries, the migration protocol and who waits on what.

mod client;
mod common;
mod group_state;
mod migration;
mod server;

pub use client::Clerk;
pub use common::{
    key2shard, ClientOp, DeleteShardArgs, DeleteShardReply, GetArgs, GetReply, PullShardArgs,
    PullShardReply, PutAppendArgs, PutAppendReply, PutOrAppend, ShardData, ShardErr, ShardOp,
};
pub use group_state::{GroupState, ShardChange, Status as ShardStatus};
pub use server::{GroupView, MakeEnd, ShardKv};
