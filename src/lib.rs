//! # A Rust port of the MIT 6.824 Raft labs: threads, a `Mutex` and a `Condvar`
//!
//! This crate is the lab's Raft (parts 2A-2D) with the lab's API, built the
//! way a student's 2A design write-up describes (not the lab's own
//! sleep-loop advice; `notes/raft-design.md` compares the two): each peer
//! runs a **state thread** that
//! waits on a condition variable, **vote threads** and **replication threads**
//! that do the RPCs and signal it, and an **applier thread** that feeds
//! committed commands to the service. `notes/raft-design.md` tells the whole
//! story; `src/raft/mod.rs` has the map of threads.
//!
//! On Raft: [`rsm`], the replicated state machine every service stands on
//! (the 2025 lab's `rsm` package), and on it [`kvraft`] (lab 3's key/value
//! service), [`shardmaster`] and [`shardkv`] (lab 4's sharded service);
//! [`kit`] runs clusters of any of them with the tester's powers, and
//! [`sharded`] is lab 4's setup on it; [`linearizability`] checks what their
//! clients saw. [`wire`] has Raft's messages and persisted layout as types. Everything persisted is [`sealed`] (magic, version,
//! checksum), and every message crosses the network checksummed. Keys and
//! values are [`small_string`]s: short ones cost no allocation in each
//! server's log.
//!
//! The life of a peer, in the order a service sees it:
//!
//! ```
//! use labrpc::{Network, Server};
//! use raft::{ApplyMsg, Persister, Raft};
//!
//! // Three peers on a simulated network: peer i reaches peer j through end "i-j".
//! let net = Network::new();
//! let n = 3;
//! let mut peers = Vec::new();
//! let mut apply_rxs = Vec::new();
//! for i in 0..n {
//!     let ends = (0..n)
//!         .map(|j| {
//!             let end = net.make_end(format!("{i}-{j}"));
//!             net.connect(format!("{i}-{j}"), j);
//!             net.enable(format!("{i}-{j}"), true);
//!             end
//!         })
//!         .collect();
//!     let (tx, rx) = crossbeam_channel::unbounded();
//!     let rf: Raft<String> = Raft::make(ends, i, Persister::new(), tx).unwrap();
//!     let server = Server::new();
//!     server.add_service(rf.service());
//!     net.add_server(i, server);
//!     peers.push(rf);
//!     apply_rxs.push(rx);
//! }
//!
//! // Wait for a leader, then propose a command to it.
//! let (leader, index) = loop {
//!     if let Some(i) = (0..n).find(|&i| peers[i].get_state().1) {
//!         let (index, _term, is_leader) = peers[i].start("x = 1".to_string());
//!         if is_leader {
//!             break (i, index);
//!         }
//!     }
//!     std::thread::sleep(std::time::Duration::from_millis(50));
//! };
//!
//! // Every peer's service receives it on its apply channel, at that index.
//! let msg = apply_rxs[leader].recv().unwrap();
//! let ApplyMsg::Command { index: i, command, .. } = msg else { panic!("{msg:?}") };
//! assert_eq!((i, command.as_str()), (index, "x = 1"));
//!
//! for rf in &peers {
//!     rf.kill(); // every thread of the peer has exited when this returns
//! }
//! ```
#![deny(missing_docs)]

pub mod debug;
mod disk;
mod error;
pub mod kit;
pub mod kv;
pub mod kvraft;
pub mod linearizability;
mod persister;
mod raft;
pub mod rsm;
pub mod sealed;
pub mod sharded;
pub mod shardkv;
pub mod shardmaster;
pub mod small_string;
mod sync;

pub use error::RaftError;
pub use persister::Persister;
pub use raft::{wire, ApplyMsg, Command, Entry, Raft, Role, Status};
