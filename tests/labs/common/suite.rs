//! What every suite's harness needs: one test at a time, a thread-leak check,
//! and the Go lab's random strings.
//!
//! The lab's timing assumptions (a leader within 5 s, RPC counts per idle
//! second) hold only when a test has the machine to itself, as under `go
//! test`. So tests of one binary take turns through [`SuiteLock`], whatever
//! `--test-threads` says; and while a test holds it, the process's thread
//! count is meaningful, which lets cleanup prove no thread leaked.

use parking_lot::{Condvar, Mutex};
use rand::distr::{Alphanumeric, SampleString};
use std::time::{Duration, Instant};

static BUSY: Mutex<bool> = Mutex::new(false);
static FREE: Condvar = Condvar::new();

/// Name prefixes of the threads this project starts (Raft peers, the
/// network, the testers' appliers and clerks). Nothing else counts as a leak.
const OUR_THREADS: &[&str] = &["raft-", "labrpc-", "tester-", "rsm-", "skv-"];

/// Names of this process's threads that belong to the project (Linux: read
/// from `/proc/self/task/*/comm`; elsewhere the list is empty).
pub fn project_threads() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| OUR_THREADS.iter().any(|p| name.starts_with(p)))
        .collect()
}

/// Held by a running test; dropping it lets the next test run.
pub struct SuiteLock {
    _private: (),
}

impl SuiteLock {
    /// Waits for the running test (if any) to finish.
    pub fn acquire() -> SuiteLock {
        let mut busy = BUSY.lock();
        while *busy {
            FREE.wait(&mut busy);
        }
        *busy = true;
        raft::debug::init();
        keep_large_buffers_mapped();
        SuiteLock { _private: () }
    }

    /// What every harness does once its servers are gone: after a panic,
    /// print the network seed to replay; otherwise hold the test to the
    /// lab's two-minute limit (counted from `started`) and check that no
    /// thread of the project is left.
    pub fn end_test(&self, started: Instant, seed: u64, what: &str) {
        if std::thread::panicking() {
            eprintln!("network seed: replay with LABRPC_SEED={seed}");
            return;
        }
        check_time_limit(started);
        self.check_threads(what);
    }

    /// Fails the test if any thread the project started is still alive a few
    /// seconds after cleanup (say, a Raft peer whose `kill` left one behind).
    pub fn check_threads(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = project_threads();
            if left.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{what}: {} thread(s) still alive after cleanup: {left:?}",
                    left.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SuiteLock {
    fn drop(&mut self) {
        release_freed_memory();
        *BUSY.lock() = false;
        FREE.notify_one();
    }
}

/// Hands the memory the finished test freed back to the operating system
/// before the next test starts. glibc's allocator keeps freed memory mapped
/// in its per-thread arenas, and the kv tests' hundreds of short-lived
/// threads spread their allocations over many arenas, so without this one
/// pass of a suite grows to the sum of what its tests left behind rather
/// than the most one test needed (notes/performance.md has the figures).
/// Only the test binaries do this; the libraries leave the allocator alone.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only walks glibc's own heaps under their locks
        // and returns free pages to the kernel; it touches no live memory.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Fixes glibc's mmap threshold at its default, 128 KiB, once per test
/// binary. Left alone, glibc raises the threshold to the size of each large
/// buffer freed (up to 32 MiB): once a crashed server's log is freed, a
/// restarted server's log and saved bytes grow inside the heap instead of in
/// mappings of their own, and every buffer a growing `Vec` leaves behind stays
/// resident. A fixed threshold keeps each large buffer its own mapping, grown
/// by `mremap` and returned to the kernel when freed (`persist_concurrent_3a`:
/// 1.14-1.30 KB of peak RSS per operation with the dynamic threshold,
/// 0.93-0.98 fixed; notes/performance.md). Only the test binaries do this; the
/// libraries leave the allocator alone.
fn keep_large_buffers_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3; // glibc's malloc.h
                                                      // SAFETY: mallopt sets one of glibc's allocator parameters under its
                                                      // own lock; it touches no memory of ours.
        ONCE.call_once(|| unsafe {
            mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        });
    }
}

/// Fails the test if it has run longer than the lab's two minutes.
pub fn check_time_limit(started: Instant) {
    if started.elapsed() > Duration::from_secs(120) {
        panic!("test took longer than 120 seconds");
    }
}

/// A random string of `n` letters and digits (Go `randstring`).
pub fn randstring(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), n)
}
