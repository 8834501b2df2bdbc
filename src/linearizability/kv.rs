//! The key/value model: Get, Put and Append on string keys (porcupine's `KvModel`).

use super::{Model, Operation};
use std::collections::BTreeMap;

/// What a kv operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// Read the key.
    Get,
    /// Replace the key's value.
    Put,
    /// Append to the key's value.
    Append,
}

/// A kv operation's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvInput {
    /// Get, Put or Append.
    pub op: KvOp,
    /// The key.
    pub key: String,
    /// The value written (empty for Get).
    pub value: String,
}

/// A kv operation's output: the value a Get read (empty for writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvOutput {
    /// The value read.
    pub value: String,
}

/// A kv history's operation.
pub type KvOperation = Operation<KvInput, KvOutput>;

/// The sequential kv store. Keys are independent, so the history is checked
/// key by key (porcupine's partitioning); the state is one key's value.
pub struct KvModel;

impl Model for KvModel {
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn partition(&self, history: &[KvOperation]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            by_key.entry(op.input.key.as_str()).or_default().push(i);
        }
        by_key.into_values().collect()
    }

    fn init(&self) -> String {
        // A key never written reads as "" (the lab's Get returns "" for ErrNoKey).
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: &KvOutput) -> Option<String> {
        match input.op {
            KvOp::Get => (output.value == *state).then(|| state.clone()),
            KvOp::Put => Some(input.value.clone()),
            KvOp::Append => Some(format!("{state}{}", input.value)),
        }
    }

    fn describe_operation(&self, input: &KvInput, output: &KvOutput) -> String {
        match input.op {
            KvOp::Get => format!("get('{}') -> '{}'", input.key, output.value),
            KvOp::Put => format!("put('{}', '{}')", input.key, input.value),
            KvOp::Append => format!("append('{}', '{}')", input.key, input.value),
        }
    }

    fn describe_state(&self, state: &String) -> String {
        format!("'{state}'")
    }
}
