//! What Raft puts on the wire and on the disk, as types (`raft::wire`): the
//! six RPC messages, the persisted state's layout, and the bounds a peer
//! checks. Raft itself uses these; a tool or a test that speaks to a peer
//! (the integrity fuzzer) builds real messages from them, so a field that
//! moves moves for both.

use super::log::Entry;
use serde::{Deserialize, Serialize};

pub use super::rpc::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply,
    RequestVoteArgs, RequestVoteReply,
};
pub use super::validate::{MAX_INDEX, MAX_TERM};

/// A persisted Raft state's payload, inside its seal (`sealed::Kind::RaftState`):
/// Figure 2's persistent state, plus the checksum of the snapshot saved
/// beside it. What `persist()` writes decodes as this (a test in
/// `persist.rs` says so).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersistedState<C> {
    /// `currentTerm`.
    pub current_term: u64,
    /// `votedFor`.
    pub voted_for: Option<usize>,
    /// CRC-32C of the snapshot saved beside this state (that of no bytes
    /// without one).
    pub snapshot_crc: u32,
    /// `log[]`.
    pub log: PersistedLog<C>,
}

/// The log as persisted: the snapshot's last index and term (0/0 without
/// one), then the entries after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersistedLog<C> {
    /// The snapshot's last included index.
    pub base_index: u64,
    /// The snapshot's last included term.
    pub base_term: u64,
    /// The entries after it, oldest first.
    pub entries: Vec<Entry<C>>,
}
