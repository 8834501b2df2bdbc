//! The search: porcupine's `checkSingle`, over an index-linked list of events.

use super::{Model, Operation};
use std::collections::HashSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

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

/// What the search found, for [`super::visualize`]: per partition, its
/// operations and the longest partial linearization that includes each.
#[derive(Clone, Debug, Default)]
pub struct LinearizationInfo {
    pub(crate) partitions: Vec<PartitionInfo>,
}

#[derive(Clone, Debug)]
pub(crate) struct PartitionInfo {
    /// Indexes into the history.
    pub(crate) ops: Vec<usize>,
    /// For each operation of the partition (by position in `ops`), the longest
    /// linearized prefix found that contains it, as positions in `ops`.
    pub(crate) longest: Vec<Rc<Vec<usize>>>,
    pub(crate) ok: bool,
}

const NONE: usize = usize::MAX;

/// Checks `history` against `model`, giving up with `Unknown` after `timeout`.
pub fn check_operations<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    timeout: Option<Duration>,
) -> CheckResult {
    check(model, history, timeout, false).0
}

/// Like [`check_operations`], and also returns what the visualization needs.
pub fn check_operations_verbose<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    timeout: Option<Duration>,
) -> (CheckResult, LinearizationInfo) {
    check(model, history, timeout, true)
}

fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    timeout: Option<Duration>,
    verbose: bool,
) -> (CheckResult, LinearizationInfo) {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut info = LinearizationInfo::default();
    let mut result = CheckResult::Ok;
    for ops in model.partition(history) {
        let part: Vec<&Operation<M::Input, M::Output>> = ops.iter().map(|&i| &history[i]).collect();
        let (r, longest) = check_single(model, &part, deadline, verbose);
        info.partitions.push(PartitionInfo {
            ops,
            longest,
            ok: r == CheckResult::Ok,
        });
        match r {
            CheckResult::Ok => {}
            CheckResult::Illegal => {
                result = CheckResult::Illegal;
                if !verbose {
                    break;
                }
            }
            CheckResult::Unknown => {
                if result == CheckResult::Ok {
                    result = CheckResult::Unknown;
                }
                break;
            }
        }
    }
    (result, info)
}

/// The call and return events of n operations in one doubly linked list, in
/// time order. Node `2i` is operation i's call, `2i + 1` its return; node
/// `2n` is the head. Lifting an operation unlinks both of its events.
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
}

impl Events {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Events {
        let n = ops.len();
        let mut order: Vec<usize> = (0..2 * n).collect();
        // By time; at equal times calls come first, so touching operations
        // count as concurrent (as in porcupine).
        order.sort_by_key(|&e| {
            let op = ops[e / 2];
            if e % 2 == 0 {
                (op.call, 0)
            } else {
                (op.ret, 1)
            }
        });
        let head = 2 * n;
        let mut next = vec![NONE; 2 * n + 1];
        let mut prev = vec![NONE; 2 * n + 1];
        let mut last = head;
        for e in order {
            next[last] = e;
            prev[e] = last;
            last = e;
        }
        Events { next, prev }
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NONE {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NONE {
            self.prev[n] = e;
        }
    }

    /// Takes call event `c` and its return out of the list.
    fn lift(&mut self, c: usize) {
        self.unlink(c);
        self.unlink(c + 1);
    }

    /// Puts them back, in the reverse order.
    fn unlift(&mut self, c: usize) {
        self.relink(c + 1);
        self.relink(c);
    }
}

fn check_single<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    deadline: Option<Instant>,
    verbose: bool,
) -> (CheckResult, Vec<Rc<Vec<usize>>>) {
    let n = ops.len();
    let head = 2 * n;
    let mut events = Events::new(ops);
    let mut linearized = vec![0u64; n.div_ceil(64)];
    let mut cache: HashSet<(Vec<u64>, M::State)> = HashSet::new();
    // The choices made so far: (call event, state before it).
    let mut calls: Vec<(usize, M::State)> = Vec::new();
    let empty = Rc::new(Vec::new());
    let mut longest: Vec<Rc<Vec<usize>>> = (0..n).map(|_| empty.clone()).collect();
    let mut state = model.init();
    let mut entry = events.next[head];
    let mut steps = 0u64;
    while events.next[head] != NONE {
        steps += 1;
        if steps % 1024 == 0 && deadline.is_some_and(|d| Instant::now() > d) {
            return (CheckResult::Unknown, longest);
        }
        if entry % 2 == 0 {
            // A call: try to linearize this operation now.
            let op = entry / 2;
            let mut advanced = false;
            if let Some(new_state) = model.step(&state, &ops[op].input, &ops[op].output) {
                let mut lin = linearized.clone();
                lin[op / 64] |= 1 << (op % 64);
                if cache.insert((lin, new_state.clone())) {
                    calls.push((entry, std::mem::replace(&mut state, new_state)));
                    linearized[op / 64] |= 1 << (op % 64);
                    events.lift(entry);
                    entry = events.next[head];
                    advanced = true;
                }
            }
            if !advanced {
                entry = events.next[entry];
            }
        } else {
            // A return whose operation is not linearized yet: some earlier
            // choice was wrong. Undo the last one and try the next candidate.
            if verbose {
                record_longest(&calls, &mut longest);
            }
            let Some((call, prev_state)) = calls.pop() else {
                return (CheckResult::Illegal, longest);
            };
            state = prev_state;
            let op = call / 2;
            linearized[op / 64] &= !(1 << (op % 64));
            events.unlift(call);
            entry = events.next[call];
        }
    }
    let all = Rc::new(calls.iter().map(|(c, _)| c / 2).collect::<Vec<_>>());
    (CheckResult::Ok, vec![all; n])
}

/// Remembers, for each operation in the current partial linearization, the
/// longest one seen that contains it.
fn record_longest<S>(calls: &[(usize, S)], longest: &mut [Rc<Vec<usize>>]) {
    let mut seq: Option<Rc<Vec<usize>>> = None;
    for (c, _) in calls {
        let op = c / 2;
        if calls.len() > longest[op].len() {
            let s = seq.get_or_insert_with(|| Rc::new(calls.iter().map(|(c, _)| c / 2).collect()));
            longest[op] = s.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::kv::{KvInput, KvModel, KvOp, KvOperation, KvOutput};
    use super::*;

    fn op(
        client: usize,
        kind: KvOp,
        key: &str,
        value: &str,
        out: &str,
        call: i64,
        ret: i64,
    ) -> KvOperation {
        Operation {
            client_id: client,
            input: KvInput {
                op: kind,
                key: key.into(),
                value: value.into(),
            },
            call,
            output: KvOutput::new(out),
            ret,
        }
    }

    fn verdict(h: &[KvOperation]) -> CheckResult {
        check_operations(&KvModel, h, Some(Duration::from_secs(5)))
    }

    #[test]
    fn sequential_and_concurrent_good_histories() {
        use KvOp::*;
        // One client, in order.
        let h = vec![
            op(0, Put, "x", "a", "", 0, 10),
            op(0, Append, "x", "b", "", 20, 30),
            op(0, Get, "x", "", "ab", 40, 50),
        ];
        assert_eq!(verdict(&h), CheckResult::Ok);
        // Two concurrent writes; each read sees some order consistent with time.
        let h = vec![
            op(0, Put, "x", "1", "", 0, 100),
            op(1, Put, "x", "2", "", 10, 90),
            op(2, Get, "x", "", "1", 95, 110), // 2 then 1
            op(3, Get, "x", "", "1", 120, 130),
        ];
        assert_eq!(verdict(&h), CheckResult::Ok);
        // A read concurrent with a write may see either value.
        let h = vec![
            op(0, Put, "y", "old", "", 0, 5),
            op(0, Put, "y", "new", "", 10, 50),
            op(1, Get, "y", "", "old", 20, 30),
            op(2, Get, "y", "", "new", 25, 60),
        ];
        assert_eq!(verdict(&h), CheckResult::Ok);
        // Keys are independent; a missing key reads "".
        let h = vec![
            op(0, Put, "a", "1", "", 0, 10),
            op(1, Get, "b", "", "", 0, 10),
        ];
        assert_eq!(verdict(&h), CheckResult::Ok);
    }

    #[test]
    fn stale_read_after_a_write_returned_is_illegal() {
        use KvOp::*;
        let h = vec![
            op(0, Put, "x", "1", "", 0, 10),
            op(0, Put, "x", "2", "", 20, 30),
            op(1, Get, "x", "", "1", 40, 50), // the write of 2 had returned
        ];
        assert_eq!(verdict(&h), CheckResult::Illegal);
    }

    #[test]
    fn concurrent_writes_seen_in_two_orders_is_illegal() {
        use KvOp::*;
        // Writes of 1 and 2 overlap, but one reader sees 1 then 2 and
        // another, later, sees 2 then 1: no single order explains both.
        let h = vec![
            op(0, Put, "x", "1", "", 0, 100),
            op(1, Put, "x", "2", "", 0, 100),
            op(2, Get, "x", "", "1", 10, 20),
            op(2, Get, "x", "", "2", 30, 40),
            op(3, Get, "x", "", "2", 50, 60),
            op(3, Get, "x", "", "1", 70, 80),
        ];
        assert_eq!(verdict(&h), CheckResult::Illegal);
    }

    #[test]
    fn lost_or_duplicated_append_is_illegal() {
        use KvOp::*;
        // An append that returned but is missing from a later read.
        let h = vec![
            op(0, Append, "k", "a", "", 0, 10),
            op(1, Append, "k", "b", "", 5, 15),
            op(2, Get, "k", "", "a", 20, 30),
        ];
        assert_eq!(verdict(&h), CheckResult::Illegal);
        // An append applied twice (a retry without duplicate detection).
        let h = vec![
            op(0, Append, "k", "a", "", 0, 10),
            op(1, Get, "k", "", "aa", 20, 30),
        ];
        assert_eq!(verdict(&h), CheckResult::Illegal);
    }

    #[test]
    fn time_limit_gives_unknown() {
        use KvOp::*;
        // Many fully concurrent appends and an impossible read: the search
        // must try a great many orders before it can say Illegal.
        let mut h: Vec<KvOperation> = (0..40)
            .map(|i| op(i, Append, "k", &format!("<{i}>"), "", 0, 1000))
            .collect();
        h.push(op(99, Get, "k", "", "impossible", 0, 1000));
        let r = check_operations(&KvModel, &h, Some(Duration::from_millis(50)));
        assert_eq!(r, CheckResult::Unknown);
    }
}
