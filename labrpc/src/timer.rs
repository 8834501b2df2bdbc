//! One thread that runs short jobs at their deadlines.
//!
//! Go's labrpc uses `time.AfterFunc` for every delayed reply and every delayed
//! failure; goroutines are cheap, threads are not. Here all delays share one
//! thread holding a heap of deadlines, so a thousand delayed replies cost a
//! thousand heap entries, not a thousand stacks.

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A job run on the timer thread. It must be quick and must never block.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Entry {
    at: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed, so that the std max-heap pops the earliest deadline first;
    // `seq` keeps jobs with equal deadlines in the order they were added.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Handle to the timer thread.
pub(crate) struct Timer {
    tx: Mutex<Option<Sender<(Instant, Job)>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Timer {
    pub(crate) fn start() -> Timer {
        let (tx, rx) = unbounded();
        let thread = std::thread::Builder::new()
            .name("labrpc-timer".into())
            .spawn(move || run(rx))
            .expect("spawn labrpc timer thread");
        Timer {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Runs `job` on the timer thread after `delay`. After [`Timer::stop`] the
    /// job is dropped unrun (its captured reply channel then reports shutdown).
    pub(crate) fn after(&self, delay: Duration, job: Job) {
        if let Some(tx) = self.tx.lock().as_ref() {
            let _ = tx.send((Instant::now() + delay, job));
        }
    }

    /// Stops the thread and drops every pending job.
    pub(crate) fn stop(&self) {
        drop(self.tx.lock().take());
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

fn run(rx: Receiver<(Instant, Job)>) {
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let next = heap.peek().map(|e: &Entry| e.at);
        let received = match next {
            Some(at) => rx.recv_deadline(at),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok((at, job)) => {
                seq += 1;
                heap.push(Entry { at, seq, job });
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|e| e.at <= now) {
            let entry = heap.pop().expect("peeked");
            (entry.job)();
        }
    }
}
