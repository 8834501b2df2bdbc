//! The state thread: one loop over Follower, Candidate and Leader.
//!
//! This is the design note's "raft state machine thread". It holds the lock
//! except while it waits on `state_cv`, always with a deadline: the election
//! timeout as a follower or candidate, the heartbeat interval as a leader.
//! Other threads change the role (a vote thread wins the election, a handler
//! sees a higher term) and signal `state_cv`; the loop then runs the new
//! role's function.

use super::state::{Role, State, HEARTBEAT_INTERVAL};
use super::{Command, Shared};
use crate::debug::dlog;
use crate::sync::MutexGuard;
use std::sync::Arc;
use std::time::Instant;

type Guard<'a, C> = MutexGuard<'a, State<C>>;

impl<C: Command> Shared<C> {
    /// The state thread's body.
    pub(crate) fn run(self: &Arc<Self>) {
        let mut st = self.state.lock();
        while !self.killed() {
            match st.role {
                Role::Follower => self.follower(&mut st),
                Role::Candidate => self.candidate(&mut st),
                Role::Leader => self.leader(&mut st),
            }
        }
    }

    /// Figure 2, "Followers": if the election timeout elapses without hearing
    /// from a current leader or granting a vote, become a candidate.
    fn follower(&self, st: &mut Guard<C>) {
        while !self.killed() && st.role == Role::Follower {
            if Instant::now() >= st.election_deadline {
                dlog!(
                    "TIMR",
                    self.me,
                    st.current_term,
                    "election timeout as follower"
                );
                st.role = Role::Candidate;
                return;
            }
            // Woken early by kill or a role change; a heartbeat just moves the
            // deadline, which we read again when this wait ends.
            let deadline = st.election_deadline;
            self.state_cv.wait_until(st, deadline);
        }
    }

    /// Figure 2, "Candidates": start an election, then wait until it is won
    /// (a vote thread made us leader), lost (a handler made us follower), or
    /// timed out (return, and the loop starts the next election).
    fn candidate(self: &Arc<Self>, st: &mut Guard<C>) {
        self.start_election(st);
        let term = st.current_term;
        while !self.killed() && st.role == Role::Candidate && st.current_term == term {
            if Instant::now() >= st.election_deadline {
                dlog!(
                    "TIMR",
                    self.me,
                    st.current_term,
                    "election timeout as candidate"
                );
                return;
            }
            let deadline = st.election_deadline;
            self.state_cv.wait_until(st, deadline);
        }
    }

    /// Figure 2, "Leaders": start the replication threads, then every
    /// heartbeat interval mark a heartbeat due for each follower and wake
    /// them, until a higher term ends this leadership, or until a majority
    /// has stopped answering (check-quorum, see `check_quorum.rs`). Either
    /// way the service hears of it (`Raft::step_downs`).
    fn leader(self: &Arc<Self>, st: &mut Guard<C>) {
        let term = st.current_term;
        self.spawn_replicators(st);
        while !self.killed() && st.role == Role::Leader && st.current_term == term {
            st.heartbeat_due.iter_mut().for_each(|d| *d = true);
            self.repl_cv.notify_all(&st);
            let deadline = Instant::now() + HEARTBEAT_INTERVAL;
            while !self.killed() && st.role == Role::Leader && Instant::now() < deadline {
                self.state_cv.wait_until(st, deadline);
            }
            // One heartbeat interval has passed: who answered during it?
            if st.role == Role::Leader && !st.majority_still_answers() {
                dlog!(
                    "LEAD",
                    self.me,
                    st.current_term,
                    "stepping down: no majority answered (silent {:?})",
                    st.silent
                );
                st.role = Role::Follower;
                st.reset_election_timer();
                self.repl_cv.notify_all(&st); // the replication threads stop
            }
        }
        dlog!(
            "LEAD",
            self.me,
            st.current_term,
            "no longer leader of T{term}"
        );
        // Never blocks: one message pending is enough to say "look again".
        let _ = self.step_down_tx.try_send(());
    }
}
