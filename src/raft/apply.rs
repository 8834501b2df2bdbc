//! Delivering committed entries to the service (Figure 2, "All Servers": if
//! commitIndex > lastApplied, apply log[lastApplied + 1]).
//!
//! One **applier thread** per peer waits on `apply_cv` until there is
//! something to deliver, copies it out under the lock, and sends it on the
//! apply channel with the lock released: a slow service must never hold up
//! the Raft lock (and with it heartbeats and elections).

use super::state::State;
use super::{Command, Shared};
use crate::debug::dlog;
use crate::sync::MutexGuard;
use crossbeam_channel::{select, Sender};

/// At most this many committed entries are copied out of the log per batch:
/// a peer that learns at once that thousands of entries are committed (a
/// restart) hands them over a batch at a time, not all in one copy.
const MAX_APPLY_BATCH: usize = 256;

/// What a peer hands its service on the apply channel (Go `ApplyMsg`).
///
/// Go's one struct with `CommandValid` / `SnapshotValid` flags becomes an enum:
/// a message is either a command or a snapshot, never both.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyMsg<C> {
    /// A committed command, at log `index` (Go `CommandValid`, `Command`, `CommandIndex`).
    Command {
        /// The entry's log index; every peer applies the same command here.
        index: u64,
        /// The term of the entry (not in Go's struct). An index and a term
        /// name one entry for good (the Log Matching property): a service
        /// that called `start` and got `(index, term)` knows that the entry
        /// applied at `index` is its own command exactly when its term is
        /// `term` (`src/rsm/` answers its waiting requests so).
        term: u64,
        /// The command given to `start`.
        command: C,
    },
    /// A snapshot from the leader that replaces the service's state (Go
    /// `SnapshotValid`, `Snapshot`, `SnapshotTerm`, `SnapshotIndex`).
    Snapshot {
        /// The last log index the snapshot includes.
        index: u64,
        /// The term of that entry.
        term: u64,
        /// The service's state, as its `snapshot` call gave it (shared with
        /// the persister, not copied; Go's `[]byte`).
        data: std::sync::Arc<[u8]>,
    },
}

impl<C: Command> Shared<C> {
    /// The applier thread's loop.
    pub(crate) fn applier(&self, apply_ch: Sender<ApplyMsg<C>>) {
        let mut st = self.state.lock();
        // Each turn: wait for something to deliver, or for kill (None).
        while let Some(batch) = self.apply_cv.wait_for(&mut st, &self.dead, next_batch) {
            // Send without the lock; kill() unblocks a send to a full channel.
            let delivered = MutexGuard::unlocked(&mut st, || {
                batch.into_iter().all(|msg| {
                    select! {
                        send(apply_ch, msg) -> r => r.is_ok(),
                        recv(self.kill_rx) -> _ => false,
                    }
                })
            });
            if !delivered {
                return; // killed, or the service dropped its receiver
            }
        }
    }
}

/// Takes what is ready to apply, in log order: a pending snapshot first (it
/// covers everything before it), then committed entries; `None` if nothing is.
fn next_batch<C: Command>(st: &mut State<C>) -> Option<Vec<ApplyMsg<C>>> {
    if let Some(snap) = st.pending_snapshot.take() {
        if snap.index > st.last_applied {
            dlog!(
                "APLY",
                st.me,
                st.current_term,
                "snapshot through {}/{}",
                snap.index,
                snap.term
            );
            st.last_applied = snap.index;
            return Some(vec![ApplyMsg::Snapshot {
                index: snap.index,
                term: snap.term,
                data: snap.data,
            }]);
        }
    }
    if st.last_applied >= st.commit_index {
        return None;
    }
    let from = st.last_applied + 1;
    let to = st
        .commit_index
        .min(st.last_applied + MAX_APPLY_BATCH as u64);
    let batch: Vec<ApplyMsg<C>> = st
        .log
        .entries_from(from, (to - from + 1) as usize)
        .into_iter()
        .zip(from..)
        .map(|(e, index)| ApplyMsg::Command {
            index,
            term: e.term,
            command: e.command,
        })
        .collect();
    dlog!("APLY", st.me, st.current_term, "applying {from}..={to}");
    st.last_applied = to;
    Some(batch)
}
