//! Log compaction (§7, Figure 13): the service's snapshots, and InstallSnapshot
//! for followers that need entries the leader's log no longer holds.
//!
//! The service calls `Raft::snapshot(index, data)` when its state through
//! `index` is in `data`; Raft drops those entries and saves state and snapshot
//! in one write. A follower that receives a snapshot hands it to its service
//! through the applier thread, in order with the commands.

use super::replication::{Late, Outcome, Sent};
use super::rpc::{InstallSnapshotArgs, InstallSnapshotReply, INSTALL_SNAPSHOT};
use super::state::State;
use super::validate;
use super::{Command, Shared};
use crate::debug::dlog;
use crate::sync::MutexGuard;
use labrpc::RpcError;
use std::sync::Arc;
use std::time::Instant;

/// A snapshot received from the leader that the applier has yet to deliver.
pub(crate) struct PendingSnapshot {
    pub(crate) index: u64,
    pub(crate) term: u64,
    pub(crate) data: Arc<[u8]>,
}

impl<C: Command> Shared<C> {
    /// The service's snapshot through `index` (see `Raft::snapshot`).
    pub(crate) fn take_snapshot(&self, index: u64, data: Vec<u8>) {
        let mut st = self.state.lock();
        if index <= st.log.base_index() || index > st.last_applied {
            // Older than what we have, or of entries not yet applied: the
            // service cannot mean it. Ignore rather than corrupt the log.
            dlog!(
                "SNAP",
                self.me,
                st.current_term,
                "ignored snapshot through {index} (base {}, applied {})",
                st.log.base_index(),
                st.last_applied
            );
            return;
        }
        let term = st
            .log
            .term_at(index)
            .expect("index is between base and last applied");
        st.log.compact_to(index, term);
        st.persist_with_snapshot(data.into());
        dlog!(
            "SNAP",
            self.me,
            st.current_term,
            "snapshot through {index}/{term}; log now {}..={}",
            index,
            st.log.last_index()
        );
    }

    /// Sends the leader's snapshot to `peer` and waits until `deadline` for the
    /// reply (the lock is released while waiting).
    pub(crate) fn send_snapshot(
        &self,
        st: &mut MutexGuard<State<C>>,
        peer: usize,
        deadline: Instant,
    ) -> Outcome {
        let args = InstallSnapshotArgs {
            term: st.current_term,
            leader_id: self.me,
            last_included_index: st.log.base_index(),
            last_included_term: st.log.base_term(),
            data: st.persister.read_snapshot_shared(),
        };
        let sent = Sent {
            term: args.term,
            prev_log_index: args.last_included_index,
            n_entries: 0,
        };
        dlog!(
            "SNAP",
            self.me,
            st.current_term,
            "-> S{peer} snapshot through {}/{} ({} bytes)",
            args.last_included_index,
            args.last_included_term,
            args.data.len()
        );
        let (pending, reply) = MutexGuard::unlocked(st, || {
            let pending = self.send(peer, INSTALL_SNAPSHOT, &args);
            let reply = pending.wait_deadline(&self.kill_rx, deadline);
            (pending, reply)
        });
        match reply {
            Some(r) => self.on_snapshot_reply(st, peer, &sent, r),
            None => Outcome::Unanswered(Late::Snapshot(pending, sent)),
        }
    }

    /// Acts on an InstallSnapshot reply: the follower now holds everything
    /// through the snapshot's last index.
    pub(crate) fn on_snapshot_reply(
        &self,
        st: &mut State<C>,
        peer: usize,
        sent: &Sent,
        r: Result<InstallSnapshotReply, RpcError>,
    ) -> Outcome {
        let Ok(reply) = r else {
            return Outcome::Failed;
        };
        if !self.still_leader_for(st, sent, reply.term) {
            return Outcome::Answered;
        }
        st.match_index[peer] = st.match_index[peer].max(sent.prev_log_index);
        st.next_index[peer] = st.next_index[peer].max(sent.prev_log_index + 1);
        self.advance_commit(st);
        Outcome::Answered
    }

    /// InstallSnapshot RPC handler (Figure 13, "Receiver implementation").
    pub(crate) fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        let mut st = self.state.lock();
        if let Err(why) = validate::install_snapshot(&args, st.n, self.me) {
            dlog!(
                "DROP",
                self.me,
                st.current_term,
                "InstallSnapshot refused: {why}"
            );
            return InstallSnapshotReply {
                term: st.current_term,
            };
        }
        // Rule 1: reply immediately if term < currentTerm.
        if args.term < st.current_term {
            return InstallSnapshotReply {
                term: st.current_term,
            };
        }
        self.heard_from_leader(&mut st, args.term);
        let reply = InstallSnapshotReply {
            term: st.current_term,
        };
        let (index, term) = (args.last_included_index, args.last_included_term);
        if index <= st.commit_index {
            // We already have (and will apply) everything it holds.
            dlog!(
                "SNAP",
                self.me,
                st.current_term,
                "stale snapshot through {index} (commit {})",
                st.commit_index
            );
            return reply;
        }
        // Rules 6 and 7: keep the entries that follow the snapshot if our log
        // agrees with it there; otherwise discard the whole log.
        st.log.compact_to(index, term);
        st.commit_index = index;
        st.persist_with_snapshot(args.data.clone()); // shared, not copied
        dlog!(
            "SNAP",
            self.me,
            st.current_term,
            "installed snapshot through {index}/{term} from S{}",
            args.leader_id
        );
        // Rule 8: the service resets its state from the snapshot, via the applier.
        st.pending_snapshot = Some(PendingSnapshot {
            index,
            term,
            data: args.data,
        });
        self.apply_cv.notify_one(&st);
        reply
    }
}
