//! The handshakes between a peer's threads, model-checked with loom.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib loom -- --nocapture
//! ```
//!
//! loom runs each model below again and again, once for every way its
//! threads can interleave at the lock, the condition variable and the
//! atomics (up to its preemption bound), and fails on a deadlock or a broken
//! assertion in any of them. The models run the real `Signal`, `Stop`,
//! `State::stand_for_election` and `State::count_vote` of this crate, built
//! on loom's lock and condition variable (`crate::sync`); the threads around
//! them are the few lines of the Raft thread they stand for.
//!
//! Each bug of notes/synchronization.md is here twice: the code as it is,
//! which passes, and the bug put back, which loom must catch (those tests
//! pass only if the model fails). What a model does not show: timing. loom
//! never fires a wait's deadline (a deadline may never come), so a model that
//! passes proves the signal alone wakes the waiter; it says nothing about how
//! long anything takes.

use std::sync::atomic::{AtomicBool, Ordering};

/// Puts back the stale-vote bug in `State::count_vote`, for its model.
static STALE_VOTES: AtomicBool = AtomicBool::new(false);

/// Whether `State::count_vote` counts votes from earlier elections (the bug).
pub(crate) fn stale_votes_counted() -> bool {
    STALE_VOTES.load(Ordering::SeqCst)
}

#[cfg(test)]
mod models {
    use super::STALE_VOTES;
    use crate::persister::Persister;
    use crate::raft::signal::{Signal, Stop};
    use crate::raft::state::{Role, State};
    use crate::sync::{Mutex, MutexGuard};
    use std::sync::atomic::{AtomicUsize, Ordering};
    // std's Arc, not loom's: when loom stops a failing model it unwinds, and
    // dropping loom's Arc outside its run aborts the process.
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Models run one at a time, so a bug switched on for one is off in the rest.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Runs `model` under loom and prints how many interleavings it explored.
    fn explore(name: &str, stale_votes: bool, model: impl Fn() + Send + Sync + 'static) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        STALE_VOTES.store(stale_votes, Ordering::SeqCst);
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            loom::model(move || {
                counted.fetch_add(1, Ordering::Relaxed);
                model();
            })
        }));
        STALE_VOTES.store(false, Ordering::SeqCst);
        let runs = runs.load(Ordering::Relaxed);
        let took = started.elapsed();
        match outcome {
            Ok(()) => println!("loom: {name}: {runs} interleavings, all fine ({took:.2?})"),
            Err(failure) => {
                println!("loom: {name}: failed in interleaving {runs} ({took:.2?})");
                std::panic::resume_unwind(failure);
            }
        }
    }

    /// A deadline that never comes within a model (loom never times out anyway).
    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    /// A candidate in term 1 of a three-peer cluster: it has its own vote.
    fn candidate() -> State<u64> {
        let mut st = State::new(0, 3, Persister::new(), 1);
        st.stand_for_election();
        st
    }

    /// Bug 2, "the missed wake-up": the applier checks `killed` and waits; kill
    /// sets the flag and wakes it. With the lock (as `Raft::kill` does) the
    /// applier always wakes and returns.
    fn applier_and_kill(kill_under_the_lock: bool) {
        let state = Arc::new(Mutex::new(0u64));
        let (apply_cv, dead) = (Arc::new(Signal::new()), Arc::new(Stop::new()));
        let applier = {
            let (state, apply_cv, dead) = (state.clone(), apply_cv.clone(), dead.clone());
            loom::thread::spawn(move || {
                let mut st = state.lock();
                // Nothing is ever committed: only kill can end this wait.
                let work = apply_cv.wait_for(&mut st, &dead, |_| None::<()>);
                assert!(work.is_none());
            })
        };
        if kill_under_the_lock {
            let st = state.lock();
            dead.stop(&*st, &[&apply_cv]);
        } else {
            dead.stop_unlocked(&[&apply_cv]);
        }
        applier.join().unwrap();
    }

    #[test]
    fn loom_kill_always_wakes_the_applier() {
        explore("kill wakes the applier", false, || applier_and_kill(true));
    }

    #[test]
    #[should_panic(expected = "deadlock")]
    fn loom_kill_without_the_lock_can_lose_the_wake_up() {
        explore("kill without the lock", false, || applier_and_kill(false));
    }

    /// The state thread waits as a candidate; the vote thread that brings the
    /// majority makes it leader and signals. The candidate must see it.
    #[test]
    fn loom_the_winning_vote_wakes_the_state_thread() {
        explore("the winning vote wakes the state thread", false, || {
            let state = Arc::new(Mutex::new(candidate()));
            let state_cv = Arc::new(Signal::new());
            let vote_thread = {
                let (state, state_cv) = (state.clone(), state_cv.clone());
                loom::thread::spawn(move || {
                    let mut st = state.lock();
                    if st.count_vote(1, true, 1) {
                        state_cv.notify_one(&*st);
                    }
                })
            };
            // `Shared::candidate`: wait while still a candidate of term 1.
            let mut st = state.lock();
            while st.role == Role::Candidate && st.current_term == 1 {
                state_cv.wait_until(&mut st, far());
            }
            assert_eq!((st.role, st.current_term), (Role::Leader, 1));
            drop(st);
            vote_thread.join().unwrap();
        });
    }

    /// Bug 3, "acting on a stale term": a vote granted in term 1 arrives while
    /// the state thread starts the election of term 2. A leader of term 2 must
    /// have had a majority in term 2; one vote of term 1 must not make it one.
    fn stale_vote() {
        let state = Arc::new(Mutex::new(candidate()));
        let vote_thread = {
            let state = state.clone();
            loom::thread::spawn(move || {
                state.lock().count_vote(1, true, 1);
            })
        };
        {
            // The state thread: term 1's election timed out.
            let mut st = state.lock();
            if st.role == Role::Candidate {
                st.stand_for_election();
            }
        }
        vote_thread.join().unwrap();
        let st = state.lock();
        if st.role == Role::Leader {
            assert_eq!(
                st.current_term, 1,
                "a leader of term 2 with one vote of term 2"
            );
        }
    }

    #[test]
    fn loom_a_vote_counts_only_in_its_own_election() {
        explore("a vote counts only in its election", false, stale_vote);
    }

    #[test]
    #[should_panic(expected = "a leader of term 2 with one vote of term 2")]
    fn loom_a_stale_vote_can_elect_a_leader_nobody_voted_for() {
        explore("a stale vote counted", true, stale_vote);
    }

    /// Bug 1, "holding the lock across an RPC": two peers call each other, and
    /// each handler takes its own peer's lock. The caller either keeps its lock
    /// for the call, or gives it up for the call (`MutexGuard::unlocked`, as the
    /// vote and replication threads do).
    fn call_each_other(release_for_the_call: bool) {
        let peers = [Arc::new(Mutex::new(1u64)), Arc::new(Mutex::new(2u64))];
        let call = move |me: usize, peers: [Arc<Mutex<u64>>; 2]| {
            let mut st = peers[me].lock();
            // The handler of the other peer: it reads that peer's term.
            let handler = || *peers[1 - me].lock();
            let their_term = if release_for_the_call {
                MutexGuard::unlocked(&mut st, handler)
            } else {
                handler()
            };
            *st = (*st).max(their_term);
        };
        let other = {
            let peers = peers.clone();
            loom::thread::spawn(move || call(1, peers))
        };
        call(0, peers.clone());
        other.join().unwrap();
    }

    #[test]
    fn loom_peers_that_call_without_their_lock_never_deadlock() {
        explore("calls without the lock", false, || call_each_other(true));
    }

    #[test]
    #[should_panic(expected = "deadlock")]
    fn loom_peers_that_call_holding_their_lock_can_deadlock() {
        explore("calls holding the lock", false, || call_each_other(false));
    }
}
