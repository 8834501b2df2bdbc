//! The fault-tolerant key/value service (the lab's `kvraft`): a [`Clerk`]
//! sends Get/Put/Append to [`KvServer`]s, which agree on their order through
//! Raft. See `notes/kvraft.md` for the path of one request.
//!
//! kvraft uses only Raft's public API: `make`, `start`, `get_state`,
//! `snapshot`, `kill` and the apply channel.

mod client;
mod common;
mod server;
mod store;

pub use client::Clerk;
pub use common::{
    GetArgs, GetReply, KvErr, Op, PutAppendArgs, PutAppendReply, PutOrAppend, RequestId,
};
pub use server::KvServer;
