//! The driver: split the history into partitions, search them side by side,
//! and combine their verdicts.
//!
//! The verdict over partitions (P-compositionality): **illegal** as soon as
//! any partition is illegal; **unknown** only if none is illegal and some
//! partition was still undecided at the deadline; **ok** if all are ok.
//!
//! No partition may hide another. A history with one key that is very hard
//! to decide and one that is plainly illegal must be called illegal, whatever
//! the keys are named. So the partitions take turns: a few workers (one per
//! core) take a partition from a queue, search it for a slice of steps, and
//! put it back at the end if it is still undecided. The first illegal
//! partition stops every worker; so does the deadline, which every search
//! checks every few hundred steps.

use super::memo::MemoBudget;
use super::search::Search;
use super::{Model, Operation};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Steps a partition searches before the next one gets its turn (a few
/// milliseconds: most partitions of a passing test finish within one).
const SLICE: u64 = 32 * 1024;

/// The verdict on a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Some order of the operations explains every output.
    Ok,
    /// No order does: the system is not linearizable.
    Illegal,
    /// The time limit passed first (the Go tests then pass, with a note).
    Unknown,
}

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Give up with [`CheckResult::Unknown`] after this long (`None`: never).
    pub timeout: Option<Duration>,
    /// Bytes the searches' memos may hold together (default 512 MiB). A memo
    /// that would outgrow its share forgets and starts again: slower, never wrong.
    pub memo_budget: usize,
    /// Threads searching at once (0: one per core).
    pub workers: usize,
    /// Keep what the history page needs, and go on after an illegal
    /// partition so the page can show every one (still within the timeout).
    pub verbose: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            memo_budget: 512 << 20,
            workers: 0,
            verbose: false,
        }
    }
}

/// What the check found, per partition (for [`super::visualize`] and for
/// tools that report which keys are illegal).
#[derive(Clone, Debug, Default)]
pub struct LinearizationInfo {
    /// One entry per partition, in the model's partition order.
    pub partitions: Vec<PartitionResult>,
}

/// One partition's outcome.
#[derive(Clone, Debug)]
pub struct PartitionResult {
    /// Its operations, as indexes into the history.
    pub ops: Vec<usize>,
    /// Its own verdict (`Unknown` also when the check stopped before it was decided).
    pub result: CheckResult,
    /// The longest partial linearization found (history indexes, in order):
    /// all of `ops` when the result is `Ok`. Empty unless checked verbosely.
    pub linearization: Vec<usize>,
    /// For an illegal partition, the operation that could not be placed
    /// after `linearization`: where the history breaks.
    pub blocker: Option<usize>,
    /// Times this partition's memo was emptied to stay within the budget.
    pub memo_resets: usize,
}

/// Checks `history` against `model`, giving up with `Unknown` after `timeout`.
pub fn check_operations<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    timeout: Option<Duration>,
) -> CheckResult {
    let options = CheckOptions {
        timeout,
        ..CheckOptions::default()
    };
    check_operations_with(model, history, &options).0
}

/// Like [`check_operations`], and also returns what the history page needs.
pub fn check_operations_verbose<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    timeout: Option<Duration>,
) -> (CheckResult, LinearizationInfo) {
    let options = CheckOptions {
        timeout,
        verbose: true,
        ..CheckOptions::default()
    };
    check_operations_with(model, history, &options)
}

/// A partition waiting in the queue: not started yet, or paused.
enum Turn<'h, 'b, M: Model> {
    Fresh(usize),
    Paused(usize, Box<Search<'h, 'b, M>>),
}

/// Checks `history` against `model` as `options` say.
pub fn check_operations_with<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    options: &CheckOptions,
) -> (CheckResult, LinearizationInfo) {
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let parts = model.partition(history);
    let budget = MemoBudget::new(options.memo_budget);
    let queue: Mutex<VecDeque<Turn<M>>> = Mutex::new((0..parts.len()).map(Turn::Fresh).collect());
    let outcomes: Mutex<Vec<Option<PartitionResult>>> = Mutex::new(vec![None; parts.len()]);
    let illegal_found = AtomicBool::new(false);
    let stop = || {
        (illegal_found.load(Ordering::Relaxed) && !options.verbose)
            || deadline.is_some_and(|d| Instant::now() >= d)
    };

    let worker = || loop {
        if stop() {
            return;
        }
        let Some(turn) = queue.lock().pop_front() else {
            return; // the rest are being searched by the other workers
        };
        let (p, mut search) = match turn {
            Turn::Fresh(p) => {
                let ops = parts[p].iter().map(|&i| &history[i]).collect();
                (
                    p,
                    Box::new(Search::new(model, ops, &budget, options.verbose)),
                )
            }
            Turn::Paused(p, search) => (p, search),
        };
        let result = search.run(SLICE, &stop);
        match result {
            None if !stop() => queue.lock().push_back(Turn::Paused(p, search)),
            _ => {
                let result = result.unwrap_or(CheckResult::Unknown);
                if result == CheckResult::Illegal {
                    illegal_found.store(true, Ordering::Relaxed);
                }
                outcomes.lock()[p] = Some(outcome(&parts[p], result, &search));
            }
        }
    };

    let workers = match options.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(parts.len());
    if workers <= 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(worker);
            }
        });
    }

    // Partitions still queued when the check stopped are undecided, but the
    // paused ones have a partial linearization worth showing.
    for turn in queue.into_inner() {
        if let Turn::Paused(p, search) = turn {
            outcomes.lock()[p] = Some(outcome(&parts[p], CheckResult::Unknown, &search));
        }
    }
    let partitions: Vec<PartitionResult> = outcomes
        .into_inner()
        .into_iter()
        .zip(parts)
        .map(|(o, ops)| {
            o.unwrap_or(PartitionResult {
                ops,
                result: CheckResult::Unknown,
                linearization: Vec::new(),
                blocker: None,
                memo_resets: 0,
            })
        })
        .collect();
    let verdict = combine(partitions.iter().map(|p| p.result));
    (verdict, LinearizationInfo { partitions })
}

/// Illegal if any is; else unknown if any is; else ok.
fn combine(results: impl Iterator<Item = CheckResult>) -> CheckResult {
    let mut verdict = CheckResult::Ok;
    for r in results {
        match r {
            CheckResult::Illegal => return CheckResult::Illegal,
            CheckResult::Unknown => verdict = CheckResult::Unknown,
            CheckResult::Ok => {}
        }
    }
    verdict
}

fn outcome<M: Model>(ops: &[usize], result: CheckResult, search: &Search<M>) -> PartitionResult {
    let (longest, blocker) = search.longest();
    PartitionResult {
        ops: ops.to_vec(),
        result,
        linearization: longest.iter().map(|&k| ops[k]).collect(),
        // Only an illegal partition breaks somewhere; an undecided one's last
        // backtrack says nothing about the history.
        blocker: blocker
            .filter(|_| result == CheckResult::Illegal)
            .map(|k| ops[k]),
        memo_resets: search.memo_resets(),
    }
}
