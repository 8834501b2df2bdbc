//! What the two key/value services (kvraft and shardkv) share, below both:
//! the two kinds of write, and what a write does to a map.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which of the two writes a `PutAppend` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutOrAppend {
    /// Replace the value.
    Put,
    /// Append to the value.
    Append,
}

/// Applies one write to `map`.
pub fn write(map: &mut HashMap<String, String>, key: &str, value: &str, op: PutOrAppend) {
    match op {
        PutOrAppend::Put => {
            map.insert(key.to_string(), value.to_string());
        }
        PutOrAppend::Append => map.entry(key.to_string()).or_default().push_str(value),
    }
}
