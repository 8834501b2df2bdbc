//! Check-quorum (Raft thesis §6.2): a leader that no longer hears from a
//! majority steps down instead of leading nobody.
//!
//! Figure 2 never makes a leader step down on its own: a leader cut off in a
//! minority stays leader until a message with a higher term reaches it, which
//! cannot happen while it is cut off. Safety does not suffer (nothing it
//! starts can commit), but its service does: a kv handler waiting for a
//! command started there would wait for its whole commit timeout. With this
//! rule the peer learns within about three heartbeats that it is no longer
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
/// counts toward the leader's majority. Three: a lost heartbeat (or a stall)
/// is normal, and a failed heartbeat is resent at once. Two was tried and
/// is too few: in the tests' long-reordering mode two thirds of the replies
/// come 200 ms or more late, so a healthy new leader often heard from nobody
/// in its first two intervals, stepped down, and `figure8_unreliable_2c`
/// failed to agree in time (1 run of 3, beside 17-27 step-downs per run).
pub(crate) const SILENT_HEARTBEATS: u32 = 3;

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
    fn a_leader_nobody_answers_steps_down_after_three_intervals() {
        let mut st = leader_of(3);
        assert!(st.majority_still_answers(), "one silent interval");
        assert!(st.majority_still_answers(), "two");
        assert!(!st.majority_still_answers(), "three: step down");
    }

    #[test]
    fn one_follower_of_two_is_enough_in_three() {
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
        assert!(!st.majority_still_answers(), "peer 2 silent 3: 2 of 5");
        st.answered[3] = true;
        st.answered[1] = true;
        assert!(st.majority_still_answers(), "peer 3 answered: 3 of 5");
    }
}
