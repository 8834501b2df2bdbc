//! The replicated state machine: the key/value map and the duplicate table.
//!
//! Every server applies the same committed operations in the same order, so
//! every server holds the same `Store`. The duplicate table remembers, per
//! clerk, the highest write sequence number applied: a retried write (the
//! reply was lost, or the first leader died after committing it) is
//! recognised and applied once. The snapshot holds both, so duplicates are
//! still recognised after a restart from a snapshot.

use super::common::{Op, PutOrAppend};
use crate::sealed::{self, Kind};
use labrpc::codec;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The key/value map and the duplicate table.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Store {
    data: HashMap<String, String>,
    /// Client id -> highest write sequence number applied for it.
    last_seq: HashMap<u64, u64>,
    /// Off only in the test that shows the checker catching a broken server.
    #[serde(skip, default = "yes")]
    pub(crate) check_duplicates: bool,
}

fn yes() -> bool {
    true
}

impl Default for Store {
    fn default() -> Store {
        Store {
            data: HashMap::new(),
            last_seq: HashMap::new(),
            check_duplicates: true,
        }
    }
}

impl Store {
    /// Applies one committed operation; returns the value a Get reads (None
    /// for a missing key, and for writes).
    pub(crate) fn apply(&mut self, op: &Op) -> Option<String> {
        match op {
            Op::Get { key, .. } => self.data.get(key).cloned(),
            Op::PutAppend { key, value, op, id } => {
                if self.is_duplicate(id.client_id, id.seq) {
                    return None;
                }
                self.last_seq.insert(id.client_id, id.seq);
                match op {
                    PutOrAppend::Put => {
                        self.data.insert(key.clone(), value.clone());
                    }
                    PutOrAppend::Append => {
                        self.data.entry(key.clone()).or_default().push_str(value)
                    }
                }
                None
            }
        }
    }

    /// Whether the write `seq` of `client_id` has been applied already.
    pub(crate) fn is_duplicate(&self, client_id: u64, seq: u64) -> bool {
        self.check_duplicates
            && self
                .last_seq
                .get(&client_id)
                .is_some_and(|&last| seq <= last)
    }

    /// A snapshot of the store after applying the log through `index`: the
    /// index and the store, sealed ([`crate::sealed`]: magic, version,
    /// checksum), so that a garbled snapshot is refused, never half-believed.
    pub(crate) fn snapshot(&self, index: u64) -> Vec<u8> {
        let payload = codec::encode(&(index, self)).expect("a kv store always encodes");
        sealed::seal(Kind::KvSnapshot, &payload)
    }

    /// Rebuilds a store from a snapshot: (the last index it includes, the store).
    pub(crate) fn restore(bytes: &[u8]) -> Result<(u64, Store), String> {
        let payload = sealed::open(Kind::KvSnapshot, bytes)?;
        codec::decode(payload).map_err(|e| e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kvraft::common::RequestId;

    fn append(client_id: u64, seq: u64, v: &str) -> Op {
        Op::PutAppend {
            key: "k".into(),
            value: v.into(),
            op: PutOrAppend::Append,
            id: RequestId { client_id, seq },
        }
    }

    #[test]
    fn duplicates_apply_once_and_survive_a_snapshot() {
        let mut s = Store::default();
        s.apply(&append(1, 1, "a"));
        s.apply(&append(1, 1, "a")); // a retry
        s.apply(&append(2, 1, "b"));
        let (index, mut restored) = Store::restore(&s.snapshot(3)).unwrap();
        assert_eq!(index, 3);
        restored.apply(&append(2, 1, "b")); // a retry after a restart
        restored.apply(&append(1, 2, "c"));
        let get = Op::Get {
            key: "k".into(),
            id: RequestId {
                client_id: 3,
                seq: 1,
            },
        };
        assert_eq!(restored.apply(&get).as_deref(), Some("abc"));
        assert!(Store::restore(&[1, 2, 3]).is_err());
        // Every flipped bit of a real snapshot is refused.
        let snap = s.snapshot(3);
        for bit in 0..snap.len() * 8 {
            let mut bad = snap.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(Store::restore(&bad).is_err(), "bit {bit}");
        }
    }
}
