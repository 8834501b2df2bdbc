//! Duplicate detection: a request retried after a lost reply must be applied
//! once. Every request carries its clerk's id and a sequence number; the
//! state machine remembers, per clerk, the highest one applied.
//!
//! A clerk does one request at a time and numbers them 1, 2, 3, ..., so a
//! write numbered at most the highest applied is a retry. kvraft keeps one
//! [`DuplicateTable`]; shardkv keeps one per shard, so that it moves with the
//! shard (a write retried at the shard's new owner is still recognised).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Identifies a request across retries: the clerk's id and its sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// Random, chosen by the clerk when it is made.
    pub client_id: u64,
    /// 1 for the clerk's first request, then one more per request (not per retry).
    pub seq: u64,
}

/// Per clerk, the highest sequence number applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateTable {
    last_seq: HashMap<u64, u64>,
}

impl DuplicateTable {
    /// Whether request `id` has been applied already.
    pub fn is_duplicate(&self, id: RequestId) -> bool {
        self.last_seq
            .get(&id.client_id)
            .is_some_and(|&last| id.seq <= last)
    }

    /// Records `id` as applied. Returns false, recording nothing, if it was
    /// applied already: the caller then leaves the state as it is.
    pub fn first_time(&mut self, id: RequestId) -> bool {
        if self.is_duplicate(id) {
            return false;
        }
        self.last_seq.insert(id.client_id, id.seq);
        true
    }

    /// How many clerks it remembers.
    pub fn len(&self) -> usize {
        self.last_seq.len()
    }

    /// Whether it remembers no clerk.
    pub fn is_empty(&self) -> bool {
        self.last_seq.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_once() {
        let id = |client_id, seq| RequestId { client_id, seq };
        let mut t = DuplicateTable::default();
        assert!(t.first_time(id(1, 1)));
        assert!(!t.first_time(id(1, 1)), "a retry");
        assert!(t.first_time(id(2, 1)), "another clerk");
        assert!(t.first_time(id(1, 2)));
        assert!(t.is_duplicate(id(1, 1)) && !t.is_duplicate(id(1, 3)));
        assert_eq!(t.len(), 2);
    }
}
