//! Check-quorum (Raft thesis §6.2): a leader that no longer hears from a
//! majority steps down instead of leading nobody.
//!
//! Figure 2 never makes a leader step down on its own: a leader cut off in a
//! minority stays leader until a message with a higher term reaches it, which
//! cannot happen while it is cut off. Safety does not suffer (nothing it
//! starts can commit), but its service does: a kv handler waiting for a
//! command started there would wait for its whole commit timeout. With this
//! rule the peer learns within about five heartbeats that it is no longer
//! leading anyone, and the service is told (`Raft::step_downs`).
//!
//! How it is counted: the replication threads set `answered[peer]` whenever
//! the follower answers an RPC of this leadership; the state thread, once per
//! heartbeat, turns the flags into `silent[peer]`, the heartbeat intervals
//! in a row in which that follower answered nothing. The count is in
//! heartbeats, not in seconds, so a machine that stalls all threads for a
//! while adds one silent interval, not several: a busy laptop does not depose
//! a healthy leader.

use super::state::State;
use super::Command;

/// A follower silent for this many heartbeat intervals in a row no longer
/// counts toward the leader's majority.
///
/// Why five. A new leader has no replies in flight yet, and in the tests'
/// long-reordering mode two replies in three come 200 ms to 2.2 s late, so a
/// healthy new leader may hear from nobody for its first few intervals. With
/// three, one new leader in eight stepped down within 300 ms of winning
/// (15 step-downs after the final reconnection in 35 runs of
/// `figure8_unreliable_2c`), each costing another election under the same
/// late replies, and the test's final agreement sometimes missed its 10 s.
/// With five, a model of that network deposes about one healthy leader in a
/// thousand. More than five would be too slow the other way: a leader cut off
/// must step down (after 500-600 ms) before the service's 800 ms commit
/// timeout, so that its waiting clients hear `ErrWrongLeader` and move on.
pub(crate) const SILENT_HEARTBEATS: u32 = 5;

impl<C: Command> State<C> {
    /// Called by the leader's state thread at the end of each heartbeat
    /// interval: counts who answered during it, and says whether the leader
    /// still hears from a majority (itself included).
    pub(crate) fn majority_still_answers(&mut self) -> bool {
        let mut hearing = 1; // the leader itself
        for p in (0..self.n).filter(|&p| p != self.me) {
            if std::mem::take(&mut self.answered[p]) {
                self.silent[p] = 0;
            } else {
                self.silent[p] += 1;
            }
            if self.silent[p] < SILENT_HEARTBEATS {
                hearing += 1;
            }
        }
        hearing >= self.majority()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Persister;

    fn leader_of(n: usize) -> State<u64> {
        let mut st = State::new(0, n, Persister::new());
        st.become_leader();
        st
    }

    #[test]
    fn a_leader_nobody_answers_steps_down_after_five_intervals() {
        let mut st = leader_of(3);
        for silent in 1..SILENT_HEARTBEATS {
            assert!(st.majority_still_answers(), "{silent} silent intervals");
        }
        assert!(!st.majority_still_answers(), "five: step down");
        assert_eq!(
            SILENT_HEARTBEATS, 5,
            "the notes and the tests' comments say five"
        );
    }

    #[test]
    fn one_follower_of_two_is_enough() {
        let mut st = leader_of(3);
        for _ in 0..10 {
            st.answered[2] = true;
            assert!(st.majority_still_answers());
        }
        assert_eq!(st.silent[1], 10);
    }

    #[test]
    fn five_peers_need_two_followers() {
        let mut st = leader_of(5);
        st.answered[1] = true;
        st.answered[2] = true;
        assert!(st.majority_still_answers());
        for silent in 1..SILENT_HEARTBEATS {
            st.answered[1] = true;
            assert!(
                st.majority_still_answers(),
                "peer 2 silent {silent}: counts"
            );
        }
        st.answered[1] = true;
        assert!(!st.majority_still_answers(), "peer 2 silent 5: 2 of 5");
        st.answered[3] = true;
        st.answered[1] = true;
        assert!(st.majority_still_answers(), "peer 3 answered: 3 of 5");
    }
}
