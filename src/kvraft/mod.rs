//! The fault-tolerant key/value service (the lab's `kvraft`): a [`Clerk`]
//! sends Get/Put/Append to [`KvServer`]s, which agree on their order through
//! Raft. See `notes/kvraft.md` for the path of one request.
//!
//! The server is two handlers on the replicated state machine
//! ([`crate::rsm`]), whose state machine is the [`Store`].

mod client;
mod common;
mod server;
mod store;

pub use client::Clerk;
pub use common::{
    GetArgs, GetReply, KvErr, Op, PutAppendArgs, PutAppendReply, PutOrAppend, RequestId,
};
pub use server::KvServer;
pub use store::Store;
