//! The search for one partition: porcupine's `checkSingle` (Lowe's algorithm
//! with a memo), written so it can stop after a number of steps and be
//! resumed later, maybe on another thread. That is what lets the driver
//! (`check.rs`) give every partition its turn.

use super::memo::{Memo, MemoBudget};
use super::{CheckResult, Model, Operation};

const NONE: usize = usize::MAX;

/// How often (in steps) the search asks whether it should stop.
const POLL_EVERY: u64 = 256;

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

/// A search in progress over one partition's operations.
pub(crate) struct Search<'h, 'b, M: Model> {
    model: &'h M,
    ops: Vec<&'h Operation<M::Input, M::Output>>,
    events: Events,
    /// Bit i set: operation i is in the current partial linearization.
    linearized: Vec<u64>,
    memo: Memo<'b, M::State>,
    /// The choices made so far: (call event, model state before it).
    calls: Vec<(usize, M::State)>,
    state: M::State,
    /// The event the search looks at next.
    entry: usize,
    verbose: bool,
    /// The longest partial linearization seen (operation positions, in order).
    longest: Vec<usize>,
    /// How many of `calls`' first entries are `longest`'s first entries:
    /// keeping `longest` up to date then copies only what changed.
    common: usize,
    /// The operation whose return forced the search back from `longest`:
    /// it could not be placed after it. This is where the history breaks.
    blocker: Option<usize>,
}

impl<'h, 'b, M: Model> Search<'h, 'b, M> {
    /// Prepares the search of `ops`. With `verbose`, it also keeps what the
    /// history page needs (the longest linearization and where it broke).
    pub(crate) fn new(
        model: &'h M,
        ops: Vec<&'h Operation<M::Input, M::Output>>,
        budget: &'b MemoBudget,
        verbose: bool,
    ) -> Self {
        let events = Events::new(&ops);
        let words = ops.len().div_ceil(64);
        let head = 2 * ops.len();
        Search {
            model,
            entry: events.next[head],
            events,
            linearized: vec![0; words],
            memo: Memo::new(budget, words),
            calls: Vec::new(),
            state: model.init(),
            verbose,
            longest: Vec::new(),
            common: 0,
            blocker: None,
            ops,
        }
    }

    /// Runs up to `steps` steps; `stop` is asked every few hundred. Returns
    /// the verdict, or `None` if the steps ran out or `stop` said so first.
    pub(crate) fn run(&mut self, steps: u64, stop: &dyn Fn() -> bool) -> Option<CheckResult> {
        let head = 2 * self.ops.len();
        let mut taken = 0u64;
        while self.events.next[head] != NONE {
            taken += 1;
            if taken % POLL_EVERY == 0 && (taken >= steps || stop()) {
                self.note_longest(None);
                return None;
            }
            if self.entry % 2 == 0 {
                self.try_call();
            } else if !self.backtrack() {
                return Some(CheckResult::Illegal);
            }
        }
        self.note_longest(None);
        Some(CheckResult::Ok)
    }

    /// At a call: linearize the operation here if the model gives its output
    /// and the memo has not seen the result; else move on to the next event.
    fn try_call(&mut self) {
        let op = self.entry / 2;
        let (word, bit) = (op / 64, 1u64 << (op % 64));
        let new_state = self
            .model
            .step(&self.state, &self.ops[op].input, &self.ops[op].output);
        if let Some(new_state) = new_state {
            self.linearized[word] |= bit;
            if self.memo.insert(&self.linearized, &new_state) {
                let before = std::mem::replace(&mut self.state, new_state);
                self.calls.push((self.entry, before));
                self.events.lift(self.entry);
                self.entry = self.events.next[2 * self.ops.len()];
                return;
            }
            self.linearized[word] &= !bit;
        }
        self.entry = self.events.next[self.entry];
    }

    /// At a return whose operation is not linearized yet: some earlier
    /// choice was wrong. Undo the last one and try the next candidate after
    /// it. False if there is no choice left to undo: the history is illegal.
    fn backtrack(&mut self) -> bool {
        self.note_longest(Some(self.entry / 2));
        let Some((call, before)) = self.calls.pop() else {
            return false;
        };
        self.state = before;
        self.common = self.common.min(self.calls.len());
        let op = call / 2;
        self.linearized[op / 64] &= !(1 << (op % 64));
        self.events.unlift(call);
        self.entry = self.events.next[call];
        true
    }

    /// Keeps the current partial linearization if it is the longest yet.
    fn note_longest(&mut self, blocker: Option<usize>) {
        let longer = self.calls.len() > self.longest.len()
            || (self.calls.len() == self.longest.len() && self.blocker.is_none());
        if self.verbose && longer {
            self.longest.truncate(self.common);
            self.longest
                .extend(self.calls[self.common..].iter().map(|(c, _)| c / 2));
            self.common = self.calls.len();
            self.blocker = blocker;
        }
    }

    /// The longest linearization found and the operation it broke on, as
    /// positions among this search's operations.
    pub(crate) fn longest(&self) -> (&[usize], Option<usize>) {
        (&self.longest, self.blocker)
    }

    /// Times the memo forgot everything to stay within its budget.
    pub(crate) fn memo_resets(&self) -> usize {
        self.memo.resets()
    }
}
