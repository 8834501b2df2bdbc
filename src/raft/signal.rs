//! The two halves of every wake-up between a peer's threads, written once.
//!
//! A thread that waits for the state to change checks it under the Raft lock
//! and then waits on a [`Signal`] (the wait releases the lock and takes it
//! back). A thread that changes what another waits for changes it under the
//! same lock and signals before letting go. Then no waiter can be between
//! its check and its wait when the signal comes, so no wake-up is lost
//! (notes/synchronization.md, "the missed wake-up"). [`Signal::notify_one`]
//! and [`Signal::notify_all`] take the locked state as a witness, so a signal
//! without the lock does not compile; [`Stop`] is `kill`'s flag, set and
//! signalled the same way. `raft/loom_models.rs` checks both under every
//! interleaving, and shows the schedule that loses a wake-up when the rule is
//! broken.

use crate::sync::{AtomicBool, Condvar, MutexGuard, Ordering};
use std::time::Instant;

/// A condition variable that is signalled only with the lock held.
pub(crate) struct Signal(Condvar);

impl Signal {
    pub(crate) fn new() -> Signal {
        Signal(Condvar::new())
    }

    /// Wakes one waiter. `_locked` is the state whose lock the caller holds
    /// and has just changed: the signal and the change are one step to any
    /// waiter.
    pub(crate) fn notify_one<T>(&self, _locked: &T) {
        self.0.notify_one();
    }

    /// Wakes every waiter (see [`Signal::notify_one`]).
    pub(crate) fn notify_all<T>(&self, _locked: &T) {
        self.0.notify_all();
    }

    /// Releases the lock, sleeps until a signal, takes the lock back. The
    /// caller checks again what it waits for: a wake-up can be spurious,
    /// and the state may have moved on meanwhile.
    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        self.0.wait(guard);
    }

    /// Waits until `stop` is set (`None`) or `take` finds work in the state
    /// (`Some`), checking both under the lock before every wait (the
    /// applier's loop).
    pub(crate) fn wait_for<T, W>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        stop: &Stop,
        mut take: impl FnMut(&mut T) -> Option<W>,
    ) -> Option<W> {
        loop {
            if stop.is_stopped() {
                return None;
            }
            if let Some(work) = take(guard) {
                return Some(work);
            }
            self.wait(guard);
        }
    }

    /// [`Signal::wait`], or until `deadline`, whichever comes first.
    pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) {
        self.0.wait_until(guard, deadline);
    }

    /// The bug of synchronization.md: a wake-up sent without the lock. Only
    /// in the loom models' build, for the model that shows it failing.
    #[cfg(all(loom, test))]
    pub(crate) fn notify_all_unlocked(&self) {
        self.0.notify_all();
    }
}

/// A peer's "killed" flag: set once, under the lock, with every waiter woken;
/// read anywhere, with or without the lock.
pub(crate) struct Stop(AtomicBool);

impl Stop {
    pub(crate) fn new() -> Stop {
        Stop(AtomicBool::new(false))
    }

    /// Sets the flag and wakes every thread waiting on `signals`. `locked`
    /// is the state whose lock the caller holds: a thread that has just seen
    /// the flag unset under that lock is already waiting by the time this
    /// runs, and is woken.
    pub(crate) fn stop<T>(&self, locked: &T, signals: &[&Signal]) {
        self.0.store(true, Ordering::Release);
        for s in signals {
            s.notify_all(locked);
        }
    }

    /// Whether [`Stop::stop`] has run.
    pub(crate) fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// The bug of synchronization.md: the flag set and the waiters woken
    /// without the lock. Only in the loom build, for its model.
    #[cfg(all(loom, test))]
    pub(crate) fn stop_unlocked(&self, signals: &[&Signal]) {
        self.0.store(true, Ordering::Release);
        for s in signals {
            s.notify_all_unlocked();
        }
    }
}
