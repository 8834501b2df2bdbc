//! Lab 4A's shard master (the 2024 lab calls it shardctrler): a service that
//! assigns the key space's [`NSHARDS`] shards to replica groups, and records
//! every assignment as a numbered [`Config`].
//!
//! Built in steps. This step is the service's state machine, which every
//! replica runs on the same committed operations: `Join`, `Leave`, `Move` and
//! `Query` on a list of configurations ([`Configs`]), and the rebalancing that
//! spreads shards over groups as evenly as possible with the fewest moves.
//! It knows nothing of Raft or the network; the server that puts these
//! operations through Raft, and its clerk, come next (see notes/shardkv.md
//! when it exists, and the lab 4 issue).
//!
//! Every replica must compute the same configuration from the same
//! operations, so nothing here depends on a `HashMap`'s iteration order:
//! groups live in a `BTreeMap`, and every choice breaks ties by group id.

mod config;
mod rebalance;

pub use config::{Config, Configs, Gid, NSHARDS};
pub use rebalance::rebalance;
