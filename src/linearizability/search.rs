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

/// The set of linearized operations, numbered by call time, as the memo keys
/// it: small when the history is nearly sequential.
///
/// Porcupine keys its memo by a bit set of every operation, so a partition of
/// n operations costs n/8 bytes per entry, and a one-client history of 40,000
/// operations, whose search inserts one entry per operation, fills gigabytes.
/// But the set is almost a prefix. Number the operations by call time and let
/// p be the first one not linearized: every operation before p is in the set,
/// and every operation in the set after p was linearized while p was not,
/// which Lowe's search does only for an operation whose call it reached before
/// p's return (it backtracks at p's return). So the set lies within the
/// operations called no later than p returned, and the key is p and the bits
/// of the `window` operations from p on. The window is the most operations
/// ever called between one operation's call and its return, plus one: 1 or 2
/// for one client, about the number of clients for a few, n at worst (then the
/// key is one word longer than porcupine's). The key names the same set as
/// the full bit set, so the memo prunes exactly as porcupine's does.
struct Linearized {
    /// Bit r set: the operation with call rank r is linearized.
    bits: Vec<u64>,
    /// Each operation's call rank.
    rank: Vec<usize>,
    /// The lowest rank not linearized (n when all are).
    first_unset: usize,
    /// Bits of the window after `first_unset` the key holds (a multiple of 64).
    window: usize,
    /// The key: `first_unset`, then the window's bits from it on.
    key: Vec<u64>,
}

impl Linearized {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Linearized {
        let n = ops.len();
        // By call time; equal times in the partition's order.
        let mut by_call: Vec<usize> = (0..n).collect();
        by_call.sort_by_key(|&i| (ops[i].call, i));
        let mut rank = vec![0; n];
        for (r, &i) in by_call.iter().enumerate() {
            rank[i] = r;
        }
        // For each rank p, the ranks called no later than p's return (calls
        // come first at equal times, as in `Events`).
        let calls: Vec<i64> = by_call.iter().map(|&i| ops[i].call).collect();
        let widest = by_call
            .iter()
            .enumerate()
            .map(|(p, &i)| {
                calls
                    .partition_point(|&c| c <= ops[i].ret)
                    .saturating_sub(p)
            })
            .max()
            .unwrap_or(0);
        let window = widest.max(1).div_ceil(64) * 64;
        Linearized {
            bits: vec![0; n.div_ceil(64) + 1],
            rank,
            first_unset: 0,
            window,
            key: vec![0; 1 + window / 64],
        }
    }

    fn set(&mut self, op: usize) {
        let r = self.rank[op];
        self.bits[r / 64] |= 1 << (r % 64);
        if r == self.first_unset {
            // Move past the run of set bits that starts here.
            let mut w = r / 64;
            let mut word = self.bits[w] | ((1u64 << (r % 64)) - 1);
            while word == u64::MAX {
                w += 1;
                word = self.bits[w];
            }
            self.first_unset = w * 64 + word.trailing_ones() as usize;
        }
    }

    fn clear(&mut self, op: usize) {
        let r = self.rank[op];
        self.bits[r / 64] &= !(1 << (r % 64));
        self.first_unset = self.first_unset.min(r);
    }

    /// True if no operation past the window is linearized (what the proof
    /// above promises; checked in debug builds).
    fn nothing_beyond_window(&self) -> bool {
        let end = self.first_unset + self.window;
        match self.bits.get(end / 64) {
            None => true,
            Some(&word) => {
                word >> (end % 64) == 0 && self.bits[end / 64 + 1..].iter().all(|&w| w == 0)
            }
        }
    }

    /// The memo's key for the set as it is now.
    fn key(&mut self) -> &[u64] {
        let p = self.first_unset;
        let (w, shift) = (p / 64, p % 64);
        self.key[0] = p as u64;
        for k in 0..self.window / 64 {
            let lo = self.bits.get(w + k).copied().unwrap_or(0) >> shift;
            let hi = match shift {
                0 => 0,
                _ => self.bits.get(w + k + 1).copied().unwrap_or(0) << (64 - shift),
            };
            self.key[1 + k] = lo | hi;
        }
        debug_assert!(
            self.nothing_beyond_window(),
            "a linearized operation outside the window: the key would not name the set"
        );
        &self.key
    }
}

/// A search in progress over one partition's operations.
pub(crate) struct Search<'h, 'b, M: Model> {
    model: &'h M,
    ops: Vec<&'h Operation<M::Input, M::Output>>,
    events: Events,
    /// The operations in the current partial linearization.
    linearized: Linearized,
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
        let linearized = Linearized::new(&ops);
        let head = 2 * ops.len();
        Search {
            model,
            entry: events.next[head],
            events,
            memo: Memo::new(budget, linearized.key.len()),
            linearized,
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
        let new_state = self
            .model
            .step(&self.state, &self.ops[op].input, &self.ops[op].output);
        if let Some(new_state) = new_state {
            self.linearized.set(op);
            if self.memo.insert(self.linearized.key(), &new_state) {
                let before = std::mem::replace(&mut self.state, new_state);
                self.calls.push((self.entry, before));
                self.events.lift(self.entry);
                self.entry = self.events.next[2 * self.ops.len()];
                return;
            }
            self.linearized.clear(op);
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
        self.linearized.clear(call / 2);
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
