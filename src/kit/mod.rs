//! The cluster kit: n replicas of a Raft-backed service on one simulated
//! network, with the tester's powers (the Go labs' `config.go`): start a
//! server, shut it down keeping its persistent state, restart it from a copy
//! of that state, connect and partition servers, and make clients with their
//! own ends that the tester can cut.
//!
//! A scenario in a dozen lines:
//!
//! ```
//! use raft::kit::Cluster;
//! use raft::shardmaster::{Clerk, ShardMaster};
//! use std::collections::BTreeMap;
//!
//! let cluster = Cluster::new(3, |ends, me, persister| ShardMaster::start(ends, me, persister));
//! let mut ck = Clerk::new(cluster.client_ends(&cluster.all()).0);
//! ck.join(BTreeMap::from([(1, vec!["a".to_string()])]));
//! cluster.shutdown_server(0); // crash one; its persister is kept
//! cluster.start_server(0); // restart it from a copy of what it had saved
//! cluster.connect_all();
//! assert_eq!(ck.query(-1).shards, [1; 10]);
//! cluster.cleanup();
//! ```
//!
//! The Raft, kv and shard master test harnesses, the demo and the benchmarks
//! all build on it: each adds only what it counts and checks. Every crash,
//! restart and partition it makes goes on its [`Timeline`], which a history
//! page draws above the clients' operations.

mod cluster;
mod timeline;

pub use cluster::{ClientEnds, Cluster, Replica, Starter};
pub use timeline::{clock_ns, Timeline};
