//! Stable storage: the Go lab's `Persister`.
//!
//! The tests keep the bytes in memory and hand a [`Persister::copy`] to a
//! restarted peer, so that a killed peer that is still running cannot
//! scribble on its successor's state. A peer in a real process keeps them
//! on disk as well ([`Persister::on_disk`], `src/disk.rs`): every save is
//! also written to one file, atomically and durably, before the call
//! returns; the memory copy serves the reads.

use crate::disk::DiskFile;
use parking_lot::Mutex;
use std::path::Path;
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
    /// Where every save is also written, for a persister on disk.
    disk: Option<Arc<DiskFile>>,
}

impl Persister {
    /// Empty storage: a peer started on it begins at term 0 with an empty log.
    pub fn new() -> Persister {
        Persister::default()
    }

    /// Storage in the directory `dir` (created if missing): what a previous
    /// run saved there is read now, and every save from now on is written
    /// there before it returns (`sync`: with fsync; off only to measure what
    /// fsync costs). A file that is torn or corrupt is refused with its path
    /// and the reason, rather than starting a peer on it.
    pub fn on_disk(dir: &Path, sync: bool) -> Result<Persister, String> {
        let (file, loaded) = DiskFile::open(dir, sync)?;
        Ok(Persister {
            saved: Arc::new(Mutex::new(Saved {
                raft_state: loaded.raft_state,
                snapshot: loaded.snapshot.into(),
            })),
            disk: Some(Arc::new(file)),
        })
    }

    /// An independent copy of the current contents (Go `Copy`), in memory
    /// only, also for a persister on disk.
    pub fn copy(&self) -> Persister {
        let s = self.saved.lock();
        Persister {
            saved: Arc::new(Mutex::new(Saved {
                raft_state: s.raft_state.clone(),
                snapshot: s.snapshot.clone(), // shared: snapshots are never edited
            })),
            disk: None,
        }
    }

    /// Writes what `saved` holds to the disk, for a persister on disk; the
    /// caller holds the lock, so saves reach the file in the order they
    /// were made. A save that cannot be written stops the process: a peer
    /// that went on would answer RPCs (grant votes, acknowledge entries) on
    /// the strength of state it does not have, and could lose committed
    /// entries.
    fn write_through(&self, saved: &Saved) {
        if let Some(disk) = &self.disk {
            if let Err(e) = disk.write(&saved.raft_state, &saved.snapshot) {
                log::error!("persister: cannot save to disk: {e}; stopping");
                eprintln!("persister: cannot save to disk: {e}; stopping");
                std::process::exit(74); // EX_IOERR
            }
        }
    }

    /// Replaces the Raft state, keeping the snapshot.
    pub fn save_raft_state(&self, state: Vec<u8>) {
        let mut s = self.saved.lock();
        s.raft_state = state;
        self.write_through(&s);
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
        let r = edit(&mut s.raft_state);
        self.write_through(&s);
        r
    }

    /// Replaces the Raft state and the snapshot together, atomically: a reader
    /// never sees the new state with the old snapshot or the other way round.
    pub fn save_state_and_snapshot(&self, state: Vec<u8>, snapshot: Vec<u8>) {
        let mut s = self.saved.lock();
        s.raft_state = state;
        s.snapshot = snapshot.into();
        self.write_through(&s);
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
