//! The kv service's state machine: the key/value map and the duplicate table.
//!
//! Every server applies the same committed operations in the same order, so
//! every server holds the same `Store`. The duplicate table remembers, per
//! clerk, the highest write applied: a retried write (the reply was lost, or
//! the first leader died after committing it) is applied once. The snapshot
//! holds both, so duplicates are still recognised after a restart.

use super::common::Op;
use crate::rsm::{DuplicateTable, StateMachine};
use crate::sealed::Kind;
use labrpc::codec;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The key/value map and the duplicate table.
#[derive(Debug, Serialize, Deserialize)]
pub struct Store {
    data: HashMap<String, String>,
    dups: DuplicateTable,
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
            dups: DuplicateTable::default(),
            check_duplicates: true,
        }
    }
}

impl StateMachine for Store {
    type Op = Op;
    /// The value a Get reads (None for a missing key, and for writes).
    type Output = Option<String>;
    const SNAPSHOT_KIND: Kind = Kind::KvSnapshot;

    fn apply(&mut self, op: Op) -> Option<String> {
        if !self.check_duplicates {
            self.dups = DuplicateTable::default(); // a server that forgets
        }
        op.apply(&mut self.data, &mut self.dups)
    }

    /// The map and the duplicate table, in the codec's bytes.
    fn snapshot(&self, out: &mut Vec<u8>) {
        codec::encode_into(&(&self.data, &self.dups), out).expect("a kv store always encodes")
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (data, dups) = codec::decode(bytes).map_err(|e| e.message)?;
        self.data = data;
        self.dups = dups;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::PutOrAppend;
    use crate::rsm::RequestId;

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
        s.apply(append(1, 1, "a"));
        s.apply(append(1, 1, "a")); // a retry
        s.apply(append(2, 1, "b"));
        let mut restored = Store::default();
        let mut bytes = Vec::new();
        s.snapshot(&mut bytes);
        restored.restore(&bytes).unwrap();
        restored.apply(append(2, 1, "b")); // a retry after a restart
        restored.apply(append(1, 2, "c"));
        let get = Op::Get {
            key: "k".into(),
            id: RequestId {
                client_id: 3,
                seq: 1,
            },
        };
        assert_eq!(restored.apply(get).as_deref(), Some("abc"));
        assert!(restored.restore(&[1, 2, 3]).is_err());
    }
}
