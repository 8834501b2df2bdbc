//! The rsm's applier thread: the apply channel in, the state machine and
//! the waiters out.

use super::snapshot::{open_snapshot, take_snapshot};
use super::snapshot_policy::SnapshotPolicy;
use super::{Inner, RsmErr, StateMachine};
use crate::debug::dlog;
use crate::ApplyMsg;
use crossbeam_channel::{select, Receiver};

impl<S: StateMachine> Inner<S> {
    /// The applier thread: applies committed ops and snapshots in log
    /// order, and fails the waiters of a leadership that ended.
    pub(super) fn applier(&self, apply_rx: Receiver<ApplyMsg<S::Op>>) {
        let step_downs = self.rf.step_downs();
        let mut snapshots = SnapshotPolicy::new(self.maxraftstate);
        loop {
            select! {
                recv(apply_rx) -> msg => match msg {
                    Ok(ApplyMsg::Command { index, term, command }) => {
                        let caught_up = apply_rx.is_empty();
                        self.apply_command(index, term, command, &mut snapshots, caught_up)
                    }
                    Ok(ApplyMsg::Snapshot { index, data, .. }) => {
                        if let Err(why) = self.install_snapshot(index, &data) {
                            return self.fail_stop(&why);
                        }
                    }
                    Err(_) => return, // Raft was killed: nothing more will come
                },
                recv(step_downs) -> _ => self.fail_orphaned_waiters(),
            }
        }
    }

    /// Applies the entry `index`/`term`, answers the waiter at `index`, and
    /// snapshots if Raft's saved state has grown too large.
    fn apply_command(
        &self,
        index: u64,
        term: u64,
        command: S::Op,
        snapshots: &mut SnapshotPolicy,
        caught_up: bool,
    ) {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return; // covered by a snapshot already installed
        }
        let output = st.sm.apply(command);
        st.last_applied = index;
        if let Some(w) = st.waiters.remove(&index) {
            // The waiter's own entry, or another leader's at its index?
            let _ = w.tx.send(if w.term == term {
                Ok(output)
            } else {
                Err(RsmErr::WrongLeader)
            });
        }
        if snapshots.due(self.persister.raft_state_size(), caught_up) {
            // Encoded under the lock (the state must hold still), handed to
            // Raft without it: saving takes Raft's lock and the persister's,
            // and handlers need not wait for that.
            let data = take_snapshot(&st.sm, index);
            drop(st);
            self.rf.snapshot(index, data);
            snapshots.taken(self.persister.raft_state_size());
        }
    }

    /// Replaces the state with a snapshot Raft delivered (from the leader).
    /// An error means the snapshot cannot be applied, and the replica must stop.
    fn install_snapshot(&self, index: u64, data: &[u8]) -> Result<(), String> {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return Ok(());
        }
        // Only an rsm writes these bytes. One that does not open, or covers
        // another index than Raft says, cannot be applied, and going on
        // without it would diverge.
        let (covered, bytes) = open_snapshot(S::SNAPSHOT_KIND, data)
            .map_err(|e| format!("the snapshot through {index} does not open: {e}"))?;
        if covered != index {
            return Err(format!(
                "the snapshot raft delivered through {index} covers {covered}"
            ));
        }
        st.sm
            .restore(bytes)
            .map_err(|e| format!("the snapshot through {index} is refused: {e}"))?;
        st.last_applied = index;
        // Waiters at covered indexes cannot tell whether their op is in it.
        st.waiters.retain(|&i, w| {
            i > index || {
                let _ = w.tx.send(Err(RsmErr::WrongLeader));
                false
            }
        });
        Ok(())
    }

    /// Raft says a leadership of this peer ended: an op started in another
    /// term than the current one, or on a peer that no longer leads, may
    /// never commit. Its waiter hears `WrongLeader` now, not after the
    /// timeout. (If it commits after all, a retried write is recognised as
    /// a duplicate.)
    fn fail_orphaned_waiters(&self) {
        let (term, is_leader) = self.rf.get_state();
        let mut st = self.state.lock();
        st.waiters.retain(|&index, w| {
            let alive = is_leader && w.term == term;
            if !alive {
                dlog!(
                    "CLNT",
                    self.me,
                    term,
                    "waiter at {index}: leadership of T{} lost",
                    w.term
                );
                let _ = w.tx.send(Err(RsmErr::WrongLeader));
            }
            alive
        });
    }

    /// Stops this replica for good because applying on would be wrong: says
    /// why once, fails every waiting request, and kills Raft so that the
    /// peer acknowledges nothing from now on (a silent replica, not a lying
    /// one). Its persister keeps the bad snapshot, so a restart fails too.
    fn fail_stop(&self, why: &str) {
        log::error!("rsm S{}: stopping: {why}", self.me);
        self.stop();
    }
}
