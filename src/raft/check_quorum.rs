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
/// three, 12 leaders elected after `figure8_unreliable_2c`'s final
/// reconnection stepped down in 46 runs, each costing another election under
/// the same late replies, and the test's final agreement sometimes missed its
/// 10 s; with five, none in 60 runs. The model in this file's tests
/// (`a_healthy_leader_under_long_reordering_keeps_leading`) gives the odds
/// for a healthy leader's first 3 s: 10% deposed with three intervals, 1% with
/// four, 0.03% with five. More than five would be too slow the other way: a leader
/// cut off must step down (after 500-600 ms) before the service's 800 ms
/// commit timeout, so that its waiting clients hear `ErrWrongLeader` and move
/// on.
pub(crate) const SILENT_HEARTBEATS: u32 = 5;

impl<C: Command> State<C> {
    /// Called by the leader's state thread at the end of each heartbeat
    /// interval: counts who answered during it, and says whether the leader
    /// still hears from a majority (itself included).
    pub(crate) fn majority_still_answers(&mut self) -> bool {
        self.majority_answers_within(SILENT_HEARTBEATS)
    }

    /// `majority_still_answers` with the window as a parameter, so that the
    /// tests can show what other windows would do.
    fn majority_answers_within(&mut self, window: u32) -> bool {
        let mut hearing = 1; // the leader itself
        for p in (0..self.n).filter(|&p| p != self.me) {
            if std::mem::take(&mut self.answered[p]) {
                self.silent[p] = 0;
            } else {
                self.silent[p] += 1;
            }
            if self.silent[p] < window {
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
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn leader_of(n: usize) -> State<u64> {
        let mut st = State::new(0, n, Persister::new(), 1);
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

    /// When the replies to a new leader's RPCs to one follower arrive, in ms
    /// after it won, on labrpc's unreliable network with long reordering:
    /// one RPC per heartbeat interval, a request delayed up to 27 ms; request
    /// and reply each lost one time in ten (a lost RPC is resent at once,
    /// once, as the replication thread does); two replies in three held back
    /// 200 ms plus a skewed random part up to 2 s (`labrpc/src/call.rs`).
    fn reply_times(rng: &mut StdRng, horizon_ms: u64) -> Vec<u64> {
        let mut replies = Vec::new();
        let (mut t, mut resent) = (0, false);
        while t < horizon_ms {
            let arrives = t + rng.random_range(0..27);
            let lost = rng.random_range(0..1000) < 100 || rng.random_range(0..1000) < 100;
            if lost && !resent {
                (t, resent) = (arrives, true); // resend at once, once
                continue;
            }
            if !lost {
                let late = rng.random_range(0..900) < 600;
                let delay = if late {
                    let skew = rng.random_range(0..2000);
                    200 + rng.random_range(0..=skew)
                } else {
                    0
                };
                replies.push(arrives + delay);
            }
            t = (t / HB + 1) * HB; // the next heartbeat
            resent = false;
        }
        replies
    }

    const HB: u64 = 100;

    /// The fraction of healthy five-peer leaderships (every follower
    /// reachable) that step down within their first 3 s with `window`.
    fn deposed_fraction(window: u32, leaderships: u32) -> f64 {
        let mut rng = StdRng::seed_from_u64(6824);
        let horizon = 3000;
        let mut deposed = 0;
        for _ in 0..leaderships {
            let mut answered = vec![vec![false; (horizon / HB) as usize]; 5];
            for row in answered.iter_mut().skip(1) {
                for at in reply_times(&mut rng, horizon) {
                    if let Some(slot) = row.get_mut((at / HB) as usize) {
                        *slot = true;
                    }
                }
            }
            let mut st = leader_of(5);
            for interval in 0..(horizon / HB) as usize {
                for (p, row) in answered.iter().enumerate().skip(1) {
                    st.answered[p] = row[interval];
                }
                if !st.majority_answers_within(window) {
                    deposed += 1;
                    break;
                }
            }
        }
        deposed as f64 / leaderships as f64
    }

    /// Why the window is five intervals (see `SILENT_HEARTBEATS`): print the
    /// odds with `cargo test --release --lib check_quorum -- --nocapture`.
    #[test]
    fn a_healthy_leader_under_long_reordering_keeps_leading() {
        let n = 20_000;
        let rates: Vec<(u32, f64)> = (2..=6).map(|w| (w, deposed_fraction(w, n))).collect();
        for (w, r) in &rates {
            eprintln!(
                "info: window {w}: {:.2}% of {n} healthy leaderships deposed in 3 s",
                r * 100.0
            );
        }
        let rate = |w: u32| rates.iter().find(|(x, _)| *x == w).unwrap().1;
        assert!(
            rate(3) > 0.05,
            "three intervals depose healthy leaders often"
        );
        assert!(
            rate(SILENT_HEARTBEATS) < 0.005,
            "the chosen window keeps them"
        );
    }
}
