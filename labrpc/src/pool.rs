//! Reused threads that run RPC handlers.
//!
//! A handler may block (a kv server waits for its operation to commit), so
//! handlers cannot run on the timer thread. Go starts a goroutine per request;
//! here a request takes an idle worker, or a new worker is started. Workers
//! that stay idle retire, so a burst does not leave threads behind.
//!
//! Growth is bounded softly: past [`SOFT_CAP`] workers, a new one is started
//! only if requests have waited [`STARVED_AFTER`] without an idle worker, and
//! at most one per [`STARVED_AFTER`] (handlers may wait for other handlers,
//! so a hard cap could deadlock; unchecked growth under a burst on a busy
//! machine once started 85 threads for 1,000 quick calls).

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Workers started without waiting.
pub(crate) const SOFT_CAP: usize = 16;
/// How long a queued request waits before the pool grows past [`SOFT_CAP`].
pub(crate) const STARVED_AFTER: Duration = Duration::from_millis(5);
/// An idle worker exits after this long without work.
const IDLE_RETIRE: Duration = Duration::from_secs(5);
/// How long [`Pool::stop`] waits for running handlers before detaching them.
const STOP_GRACE: Duration = Duration::from_secs(2);

pub(crate) type Task = Box<dyn FnOnce() + Send>;

enum Msg {
    Run(Task),
    Stop,
}

pub(crate) struct Pool {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    shared: Arc<Counters>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stopped: AtomicBool,
    /// A starvation check is scheduled (see [`Pool::execute`]).
    check_pending: AtomicBool,
}

#[derive(Default)]
struct Counters {
    idle: AtomicUsize,
    live: AtomicUsize,
    /// Signalled (with `exit_lock`) when a worker exits, for [`Pool::stop`].
    exited: Condvar,
    exit_lock: Mutex<()>,
}

impl Pool {
    pub(crate) fn new() -> Pool {
        let (tx, rx) = unbounded();
        Pool {
            tx,
            rx,
            shared: Arc::default(),
            workers: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            check_pending: AtomicBool::new(false),
        }
    }

    /// Queues `task`. Returns true if the caller should check for starvation
    /// after [`STARVED_AFTER`] (no idle worker and the soft cap reached).
    pub(crate) fn execute(&self, task: Task) -> bool {
        if self.stopped.load(Ordering::Acquire) {
            return false;
        }
        let _ = self.tx.send(Msg::Run(task));
        if self.shared.idle.load(Ordering::Acquire) > 0 {
            return false;
        }
        if self.shared.live.load(Ordering::Acquire) < SOFT_CAP {
            self.spawn();
            return false;
        }
        // At the cap: one starvation check at a time, however many requests
        // are queued, so a burst grows the pool by one thread per check.
        !self.check_pending.swap(true, Ordering::AcqRel)
    }

    /// Called [`STARVED_AFTER`] after a request found no idle worker at the cap.
    /// Returns true if requests still starve and another check should follow.
    pub(crate) fn relieve_starvation(&self) -> bool {
        self.check_pending.store(false, Ordering::Release);
        if !self.rx.is_empty() && self.shared.idle.load(Ordering::Acquire) == 0 {
            self.spawn();
            return !self.rx.is_empty() && !self.check_pending.swap(true, Ordering::AcqRel);
        }
        false
    }

    fn spawn(&self) {
        let mut workers = self.workers.lock();
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        workers.retain(|w| !w.is_finished());
        self.shared.live.fetch_add(1, Ordering::AcqRel);
        let rx = self.rx.clone();
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("labrpc-handler".into())
            .spawn(move || worker(rx, shared))
            .expect("spawn labrpc handler thread");
        workers.push(handle);
    }

    /// Lets running handlers finish, then joins every worker. A handler still
    /// running after [`STOP_GRACE`] (one that sleeps for 20 s, say) is detached
    /// with a warning rather than holding up the test's cleanup.
    pub(crate) fn stop(&self) {
        let workers = {
            let mut w = self.workers.lock();
            self.stopped.store(true, Ordering::Release);
            std::mem::take(&mut *w)
        };
        for _ in 0..workers.len() {
            let _ = self.tx.send(Msg::Stop);
        }
        let deadline = Instant::now() + STOP_GRACE;
        let mut guard = self.shared.exit_lock.lock();
        while self.shared.live.load(Ordering::Acquire) > 0 {
            if self
                .shared
                .exited
                .wait_until(&mut guard, deadline)
                .timed_out()
            {
                break;
            }
        }
        let all_exiting = self.shared.live.load(Ordering::Acquire) == 0;
        drop(guard);
        let mut detached = 0;
        for w in workers {
            if all_exiting || w.is_finished() {
                let _ = w.join();
            } else {
                detached += 1;
            }
        }
        if detached > 0 {
            log::warn!(target: "DROP", "labrpc: {detached} handler thread(s) still busy at cleanup; detached");
        }
        // Queued tasks that never ran are dropped here; their calls report shutdown.
        while self.rx.try_recv().is_ok() {}
    }
}

fn worker(rx: Receiver<Msg>, shared: Arc<Counters>) {
    loop {
        shared.idle.fetch_add(1, Ordering::AcqRel);
        let msg = rx.recv_timeout(IDLE_RETIRE);
        shared.idle.fetch_sub(1, Ordering::AcqRel);
        match msg {
            Ok(Msg::Run(task)) => task(),
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                if !rx.is_empty() {
                    continue;
                }
                break;
            }
        }
    }
    let _guard = shared.exit_lock.lock();
    shared.live.fetch_sub(1, Ordering::AcqRel);
    shared.exited.notify_all();
}
