//! Stable storage, simulated: the Go lab's `Persister`.
//!
//! A real server would write to disk; the tests keep the bytes in memory and
//! hand a [`Persister::copy`] to a restarted peer, so that a killed peer that
//! is still running cannot scribble on its successor's state.

use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Default)]
struct Saved {
    raft_state: Vec<u8>,
    /// Shared, never edited: a leader sending it to a follower, the
    /// follower's applier handing it to its service and a copied persister
    /// all hold the same bytes.
    snapshot: Arc<[u8]>,
}

/// Holds one peer's persistent Raft state and its latest snapshot.
///
/// Clones share the same storage (like Go's `*Persister`); [`Persister::copy`]
/// makes an independent one.
#[derive(Clone, Default)]
pub struct Persister {
    saved: Arc<Mutex<Saved>>,
}

impl Persister {
    /// Empty storage: a peer started on it begins at term 0 with an empty log.
    pub fn new() -> Persister {
        Persister::default()
    }

    /// An independent copy of the current contents (Go `Copy`).
    pub fn copy(&self) -> Persister {
        let s = self.saved.lock();
        Persister {
            saved: Arc::new(Mutex::new(Saved {
                raft_state: s.raft_state.clone(),
                snapshot: s.snapshot.clone(), // shared: snapshots are never edited
            })),
        }
    }

    /// Replaces the Raft state, keeping the snapshot.
    pub fn save_raft_state(&self, state: Vec<u8>) {
        self.saved.lock().raft_state = state;
    }

    /// Edits the Raft state in place with `edit`, and replaces the snapshot
    /// with `snapshot` if one is given, as one atomic step: no reader sees
    /// the bytes half edited, or the new state with the old snapshot. Raft
    /// saves this way, touching only the bytes that changed (as a server
    /// would append to a file rather than rewrite it); an edit that fails
    /// leaves the bytes in whatever state it reached.
    pub fn edit_raft_state<R>(
        &self,
        snapshot: Option<Arc<[u8]>>,
        edit: impl FnOnce(&mut Vec<u8>) -> R,
    ) -> R {
        let mut s = self.saved.lock();
        if let Some(snapshot) = snapshot {
            s.snapshot = snapshot;
        }
        edit(&mut s.raft_state)
    }

    /// Replaces the Raft state and the snapshot together, atomically: a reader
    /// never sees the new state with the old snapshot or the other way round.
    pub fn save_state_and_snapshot(&self, state: Vec<u8>, snapshot: Vec<u8>) {
        let mut s = self.saved.lock();
        s.raft_state = state;
        s.snapshot = snapshot.into();
    }

    /// A copy of the Raft state bytes.
    pub fn read_raft_state(&self) -> Vec<u8> {
        self.saved.lock().raft_state.clone()
    }

    /// A copy of the snapshot bytes.
    pub fn read_snapshot(&self) -> Vec<u8> {
        self.saved.lock().snapshot.to_vec()
    }

    /// The snapshot bytes themselves, shared rather than copied (a leader
    /// sends them to followers this way).
    pub fn read_snapshot_shared(&self) -> Arc<[u8]> {
        self.saved.lock().snapshot.clone()
    }

    /// Size of the Raft state in bytes (the kv server compares it with `maxraftstate`).
    pub fn raft_state_size(&self) -> usize {
        self.saved.lock().raft_state.len()
    }

    /// Size of the snapshot in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.saved.lock().snapshot.len()
    }
}
