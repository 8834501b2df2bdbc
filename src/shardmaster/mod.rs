//! Lab 4A's shard master (the 2024 lab calls it shardctrler): a service that
//! assigns the key space's [`NSHARDS`] shards to replica groups, and records
//! every assignment as a numbered [`Config`].
//!
//! The service's state machine, which every replica runs on the same
//! committed operations, is [`Configs`]: `Join`, `Leave`, `Move` and `Query`
//! on a list of configurations, with the rebalancing that spreads shards
//! over groups as evenly as possible with the fewest moves ([`rebalance`]).
//! [`ShardMaster`] submits those operations to the replicated state machine
//! ([`crate::rsm`]) whose state machine is [`SmState`] (the configurations
//! and a duplicate table), and [`Clerk`] is its client. notes/shardkv.md
//! explains the rebalancing.
//!
//! Every replica must compute the same configuration from the same
//! operations, so nothing here depends on a `HashMap`'s iteration order:
//! groups live in a `BTreeMap`, and every choice breaks ties by group id.

mod client;
mod common;
mod config;
mod machine;
mod rebalance;
mod server;

pub use client::Clerk;
pub use common::{SmErr, SmOp, SmReply};
pub use config::{Config, Configs, Gid, NSHARDS};
pub use machine::SmState;
pub use rebalance::rebalance;
pub use server::ShardMaster;
