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
//! (per key, for a kv store), which are checked separately.
//!
//! This module knows nothing of Raft or kvraft: a model and a history go in, a
//! verdict comes out.

pub mod kv;
mod search;
mod visualize;

pub use search::{check_operations, check_operations_verbose, CheckResult, LinearizationInfo};
pub use visualize::visualize;

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
pub trait Model {
    /// The model's state (compared and hashed by the search's cache).
    type State: Clone + Eq + Hash + Debug;
    /// An operation's input.
    type Input: Clone + Debug;
    /// An operation's output.
    type Output: Clone + Debug;

    /// Splits a history into parts that can be checked separately (indexes
    /// into `history`). The default keeps it whole.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
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

    /// A short description of an operation, for the visualization.
    fn describe_operation(&self, input: &Self::Input, output: &Self::Output) -> String {
        format!("{input:?} -> {output:?}")
    }

    /// A short description of a state, for the visualization.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}
