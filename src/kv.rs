//! What the two key/value services (kvraft and shardkv) share, below both:
//! the clerks' messages, the client operation that goes in the log, and
//! what it does to a map.

use crate::rsm::{DuplicateTable, RequestId};
use crate::small_string::SmallString;
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

/// Arguments of `Get` (kvraft's `KVServer.Get`, shardkv's `ShardKV.Get`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetArgs {
    /// The key.
    pub key: SmallString,
    /// Who asks (Gets change nothing, but carry it for the logs).
    pub id: RequestId,
}

/// Reply of `Get`; `E` is the service's error type.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetReply<E> {
    /// The outcome.
    pub err: E,
    /// The value, or "" if the key has none.
    pub value: String,
}

/// Arguments of `PutAppend`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendArgs {
    /// The key.
    pub key: SmallString,
    /// The value to put or append.
    pub value: SmallString,
    /// Put or Append.
    pub op: PutOrAppend,
    /// Who asks, for duplicate detection.
    pub id: RequestId,
}

/// Reply of `PutAppend`; `E` is the service's error type.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendReply<E> {
    /// The outcome.
    pub err: E,
}

/// A clerk's operation, as it goes in the log. Its key and value are
/// `SmallString`s: short ones cost no allocation in each server's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientOp {
    /// Read `key` (through the log, so the read is linearizable).
    Get {
        /// The key.
        key: SmallString,
        /// The request.
        id: RequestId,
    },
    /// Put or append `value` at `key`.
    PutAppend {
        /// The key.
        key: SmallString,
        /// The value.
        value: SmallString,
        /// Put or Append.
        op: PutOrAppend,
        /// The request, for duplicate detection.
        id: RequestId,
    },
}

impl From<GetArgs> for ClientOp {
    fn from(a: GetArgs) -> ClientOp {
        ClientOp::Get {
            key: a.key,
            id: a.id,
        }
    }
}

impl From<PutAppendArgs> for ClientOp {
    fn from(a: PutAppendArgs) -> ClientOp {
        ClientOp::PutAppend {
            key: a.key,
            value: a.value,
            op: a.op,
            id: a.id,
        }
    }
}

impl ClientOp {
    /// The request this operation came from.
    pub fn id(&self) -> RequestId {
        match self {
            ClientOp::Get { id, .. } | ClientOp::PutAppend { id, .. } => *id,
        }
    }

    /// The key it reads or writes.
    pub fn key(&self) -> &str {
        match self {
            ClientOp::Get { key, .. } | ClientOp::PutAppend { key, .. } => key,
        }
    }

    /// Applies the op to `map`: the value a Get reads (None for a missing
    /// key, and for writes). A write that `dups` says was applied before
    /// changes nothing.
    pub fn apply(
        self,
        map: &mut HashMap<String, String>,
        dups: &mut DuplicateTable,
    ) -> Option<String> {
        match self {
            ClientOp::Get { key, .. } => map.get(key.as_str()).cloned(),
            ClientOp::PutAppend { key, value, op, id } => {
                if dups.first_time(id) {
                    match (map.get_mut(key.as_str()), op) {
                        (Some(old), PutOrAppend::Put) => *old = value.into_string(),
                        (Some(old), PutOrAppend::Append) => old.push_str(&value),
                        (None, _) => {
                            map.insert(key.into_string(), value.into_string());
                        }
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_apply_once() {
        let (mut map, mut dups) = (HashMap::new(), DuplicateTable::default());
        let id = |seq| RequestId { client_id: 1, seq };
        let append = |seq, v: &str| ClientOp::PutAppend {
            key: "k".into(),
            value: v.into(),
            op: PutOrAppend::Append,
            id: id(seq),
        };
        append(1, "a").apply(&mut map, &mut dups);
        append(1, "a").apply(&mut map, &mut dups); // a retry
        append(2, "b").apply(&mut map, &mut dups);
        let get = ClientOp::Get {
            key: "k".into(),
            id: id(3),
        };
        assert_eq!(get.apply(&mut map, &mut dups).as_deref(), Some("ab"));
    }
}
