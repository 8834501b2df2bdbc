//! Raft's messages and its one doorway to the network.
//!
//! The argument and reply structs are Figure 2's (plus InstallSnapshot from
//! Figure 13, and the conflict hint of the lab's fast log backup). This is the
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
pub(crate) struct RequestVoteArgs {
    pub(crate) term: u64,
    pub(crate) candidate_id: usize,
    pub(crate) last_log_index: u64,
    pub(crate) last_log_term: u64,
}

/// RequestVote results (Figure 2).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct RequestVoteReply {
    pub(crate) term: u64,
    pub(crate) vote_granted: bool,
}

/// AppendEntries arguments (Figure 2); no entries means a heartbeat.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AppendEntriesArgs<C> {
    pub(crate) term: u64,
    pub(crate) leader_id: usize,
    pub(crate) prev_log_index: u64,
    pub(crate) prev_log_term: u64,
    pub(crate) entries: Vec<Entry<C>>,
    pub(crate) leader_commit: u64,
}

/// AppendEntries results (Figure 2), with the follower's hint for fast backup:
/// on a mismatch, the term of its conflicting entry and the first index it
/// holds for that term (or, if its log is too short, its length + 1).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct AppendEntriesReply {
    pub(crate) term: u64,
    pub(crate) success: bool,
    pub(crate) conflict_index: u64,
    pub(crate) conflict_term: Option<u64>,
}

/// InstallSnapshot arguments (Figure 13), sent whole rather than in chunks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct InstallSnapshotArgs {
    pub(crate) term: u64,
    pub(crate) leader_id: usize,
    pub(crate) last_included_index: u64,
    pub(crate) last_included_term: u64,
    /// The snapshot, shared with the persister (the network still copies it).
    pub(crate) data: Arc<[u8]>,
}

/// InstallSnapshot results (Figure 13).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct InstallSnapshotReply {
    pub(crate) term: u64,
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
