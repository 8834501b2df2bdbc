//! A linearizability checker for recorded histories, after porcupine (the
//! checker the Go lab's kv tests use).
//!
//! A history is a list of operations, each with the time it was called and the
//! time it returned. It is linearizable if there is one sequential order of
//! all operations that (1) respects real time: an operation that returned
//! before another was called comes first, and (2) gives every operation the
//! output it actually had when run on the model, one after another.
//!
//! The search is porcupine's (Lowe's algorithm with memoization): walk the
//! call and return events in time order; try to linearize each pending call
//! (step the model; keep it if the output matches); when a return is reached
//! whose operation is not yet linearized, undo the last choice and try the
//! next. A cache of visited (set of linearized operations, model state) pairs
//! prunes repeated work. A model can split a history into independent parts
//! (per key, for a kv store), which are checked side by side: the history is
//! illegal if any part is (`check.rs` says how no part can hide another).
//!
//! The files: `search.rs` is the algorithm for one part, `memo.rs` its
//! bounded memo, `check.rs` the driver over parts, `visualize.rs` the HTML
//! page, `kv.rs` the key/value model and `history.rs` the JSON-lines format
//! the `lincheck` command reads.
//!
//! This module knows nothing of Raft or kvraft: a model and a history go in, a
//! verdict comes out.

mod check;
pub mod history;
pub mod kv;
mod memo;
mod search;
#[cfg(test)]
mod tests;
mod visualize;

pub use check::{
    check_operations, check_operations_verbose, check_operations_with, CheckOptions, CheckResult,
    LinearizationInfo, PartitionResult,
};
pub use visualize::{visualize, visualize_with, Annotation, PageOptions};

use std::fmt::Debug;
use std::hash::Hash;

/// One completed operation of a history.
#[derive(Clone, Debug)]
pub struct Operation<I, O> {
    /// Which client did it (for the visualization's rows).
    pub client_id: usize,
    /// What was asked.
    pub input: I,
    /// When it was called (any monotonic unit, e.g. nanoseconds since the test began).
    pub call: i64,
    /// What came back.
    pub output: O,
    /// When it returned; at or after `call`.
    pub ret: i64,
}

/// A sequential specification: what a correct single copy would do.
///
/// The bounds let the parts of a history be searched on several threads.
pub trait Model: Sync {
    /// The model's state (compared and hashed by the search's memo).
    type State: Clone + Eq + Hash + Debug + Send;
    /// An operation's input.
    type Input: Clone + Debug + Sync;
    /// An operation's output.
    type Output: Clone + Debug + Sync;

    /// Splits a history into parts that can be checked separately (indexes
    /// into `history`). The default keeps it whole.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
    }

    /// A name for one part, for the history page (e.g. "key 'x'").
    fn describe_partition(
        &self,
        history: &[Operation<Self::Input, Self::Output>],
        ops: &[usize],
    ) -> String {
        let _ = history;
        format!("{} operations", ops.len())
    }

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Runs `input` on `state`: the next state if the model's output equals
    /// `output`, `None` if this operation cannot have had that output here.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State>;

    /// A short description of an operation, for the history page's bars.
    fn describe_operation(&self, input: &Self::Input, output: &Self::Output) -> String {
        format!("{input:?} -> {output:?}")
    }

    /// An operation's input alone, for the page's details.
    fn describe_input(&self, input: &Self::Input) -> String {
        format!("{input:?}")
    }

    /// An operation's output alone, for the page's details.
    fn describe_output(&self, output: &Self::Output) -> String {
        format!("{output:?}")
    }

    /// A short description of a state, for the history page.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// The state after each operation of `run`, done one after another from
    /// the initial state, described for the history page. The default replays
    /// [`Model::step`]; a model whose states are compressed (kv's fingerprints)
    /// can say more by replaying its own way. Stops early if a step fails.
    fn describe_run(&self, run: &[&Operation<Self::Input, Self::Output>]) -> Vec<String> {
        let mut state = self.init();
        let mut out = Vec::with_capacity(run.len());
        for op in run {
            match self.step(&state, &op.input, &op.output) {
                Some(next) => state = next,
                None => break,
            }
            out.push(self.describe_state(&state));
        }
        out
    }
}
