//! Where Raft's threads get their lock, condition variable and atomics.
//!
//! Normally these are parking_lot's `Mutex` and `Condvar` and std's atomics,
//! exactly as if Raft imported them itself. Built with `--cfg loom`, the same
//! names are loom's models of them, so the handshakes in `raft/signal.rs`
//! and the vote count in `raft/state.rs` can be run by the model checker
//! under every interleaving of the threads that use them (`raft/loom_models.rs`;
//! notes/synchronization.md shows how). Nothing else changes: the loom
//! types exist only in that build.
//!
//! Raft's own threads are started with `std::thread` in both builds: a model
//! starts its threads itself (with `loom::thread`), and loom has no
//! `JoinHandle::is_finished`, which `Shared::spawn` uses.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
pub(crate) use shim::{Condvar, Mutex, MutexGuard};

/// loom's `Mutex` and `Condvar` behind parking_lot's calls (`lock()` with no
/// poisoning, `MutexGuard::unlocked`, a condvar that waits on `&mut guard`),
/// so that the code above compiles unchanged against either. `track_caller`
/// makes loom's report of a deadlock name the caller's line, not this file's.
#[cfg(loom)]
mod shim {
    use std::ops::{Deref, DerefMut};
    use std::time::Instant;

    /// loom's mutex with parking_lot's `lock`.
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// A held lock; `None` only inside `unlocked` and `Condvar::wait`.
    pub(crate) struct MutexGuard<'a, T> {
        mutex: &'a Mutex<T>,
        guard: Option<loom::sync::MutexGuard<'a, T>>,
    }

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        #[track_caller]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard {
                mutex: self,
                guard: Some(self.0.lock().expect("a model thread panicked")),
            }
        }
    }

    impl<'a, T> MutexGuard<'a, T> {
        /// parking_lot's `MutexGuard::unlocked`: run `f` without the lock.
        #[track_caller]
        pub(crate) fn unlocked<R>(s: &mut Self, f: impl FnOnce() -> R) -> R {
            drop(s.guard.take());
            let r = f();
            s.guard = Some(s.mutex.0.lock().expect("a model thread panicked"));
            r
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.guard.as_ref().expect("the guard holds the lock")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.guard.as_mut().expect("the guard holds the lock")
        }
    }

    /// loom's condition variable with parking_lot's calls.
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }

        #[track_caller]
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let held = guard.guard.take().expect("the guard holds the lock");
            guard.guard = Some(self.0.wait(held).expect("a model thread panicked"));
        }

        /// loom never times a wait out: a deadline is modelled as one that
        /// may never come, which is what a model of lost wake-ups needs (a
        /// waiter must be woken by the signal, not rescued by its timer).
        #[track_caller]
        pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, _deadline: Instant) {
            self.wait(guard);
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}
