//! Raft's messages and its one doorway to the network.
//!
//! The argument and reply structs are Figure 2's (plus InstallSnapshot from
//! Figure 13, and the conflict hint of the lab's fast log backup), public as
//! `raft::wire` so that tools and tests build real messages. This is the
//! only file that knows labrpc's API: a real transport would replace it and
//! nothing else.

use super::log::Entry;
use super::{Command, Shared};
use labrpc::{PendingCall, Service};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Weak};

/// The service name under which a peer's handlers are registered.
pub(crate) const SERVICE: &str = "Raft";
pub(crate) const REQUEST_VOTE: &str = "Raft.RequestVote";
pub(crate) const APPEND_ENTRIES: &str = "Raft.AppendEntries";
pub(crate) const INSTALL_SNAPSHOT: &str = "Raft.InstallSnapshot";

/// RequestVote arguments (Figure 2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    /// The candidate's term.
    pub term: u64,
    /// The candidate asking for the vote.
    pub candidate_id: usize,
    /// Index of the candidate's last log entry (§5.4).
    pub last_log_index: u64,
    /// Term of the candidate's last log entry.
    pub last_log_term: u64,
}

/// RequestVote results (Figure 2).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The current term, for the candidate to update itself.
    pub term: u64,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// AppendEntries arguments (Figure 2); no entries means a heartbeat.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppendEntriesArgs<C> {
    /// The leader's term.
    pub term: u64,
    /// So the follower knows who leads.
    pub leader_id: usize,
    /// Index of the log entry just before the new ones.
    pub prev_log_index: u64,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: u64,
    /// Entries to store (empty for a heartbeat).
    pub entries: Vec<Entry<C>>,
    /// The leader's commit index.
    pub leader_commit: u64,
}

/// AppendEntries results (Figure 2), with the follower's hint for fast backup:
/// on a mismatch, the term of its conflicting entry and the first index it
/// holds for that term (or, if its log is too short, its length + 1).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The current term, for the leader to update itself.
    pub term: u64,
    /// True if the follower held an entry matching `prev_log_index` and `prev_log_term`.
    pub success: bool,
    /// On a mismatch: where the leader should back up to.
    pub conflict_index: u64,
    /// On a mismatch: the term of the follower's conflicting entry, if it has one there.
    pub conflict_term: Option<u64>,
}

/// InstallSnapshot arguments (Figure 13), sent whole rather than in chunks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    /// The leader's term.
    pub term: u64,
    /// So the follower knows who leads.
    pub leader_id: usize,
    /// The snapshot replaces every entry up to and including this index.
    pub last_included_index: u64,
    /// Term of the entry at `last_included_index`.
    pub last_included_term: u64,
    /// The snapshot, shared with the persister (the network still copies it).
    pub data: Arc<[u8]>,
}

/// InstallSnapshot results (Figure 13).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The current term, for the leader to update itself.
    pub term: u64,
}

/// Builds the `Raft` service whose handlers call into `shared`.
///
/// The handlers hold a `Weak`: the network's server must not keep a peer
/// alive after the tests drop it. A handler whose peer is gone, or killed,
/// fails the call, as an unreachable server would: a dead peer acknowledges
/// nothing (a service that stops itself on bad data relies on that), and a
/// made-up default reply would be acted on (a refusal with no hint resets the
/// leader's `next_index` and it resends at once).
pub(crate) fn service<C: Command>(shared: &Arc<Shared<C>>) -> Service {
    let (w1, w2, w3): (Weak<Shared<C>>, _, _) = (
        Arc::downgrade(shared),
        Arc::downgrade(shared),
        Arc::downgrade(shared),
    );
    Service::new(SERVICE)
        .method_or_fail("RequestVote", move |args: RequestVoteArgs| {
            live(w1.upgrade()).map(|s| s.request_vote(args))
        })
        .method_or_fail("AppendEntries", move |args: AppendEntriesArgs<C>| {
            live(w2.upgrade()).map(|s| s.append_entries(args))
        })
        .method_or_fail("InstallSnapshot", move |args: InstallSnapshotArgs| {
            live(w3.upgrade()).map(|s| s.install_snapshot(args))
        })
}

/// The peer, if it is still there and not killed.
fn live<C: Command>(peer: Option<Arc<Shared<C>>>) -> Option<Arc<Shared<C>>> {
    peer.filter(|s| !s.killed())
}

impl<C: Command> Shared<C> {
    /// Sends `args` to `peer` without waiting. Call it without the lock held:
    /// it encodes the arguments.
    pub(crate) fn send<A: Serialize, R: DeserializeOwned>(
        &self,
        peer: usize,
        method: &str,
        args: &A,
    ) -> PendingCall<R> {
        self.peers[peer].call_async(method, args)
    }
}
