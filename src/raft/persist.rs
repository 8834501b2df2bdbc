//! Persistence (Figure 2: `currentTerm`, `votedFor` and `log[]` are "updated
//! on stable storage before responding to RPCs").
//!
//! The state is saved as a sealed blob ([`crate::sealed`]: magic, version,
//! CRC-32C) around the codec's encoding of `(currentTerm, votedFor,
//! snapshotCrc, log)`; `saved_state.rs` keeps those bytes up to date in
//! place, so a save costs what changed plus the checksum, not the whole log. The snapshot's checksum ties the state to the
//! snapshot saved beside it. `restore` checks the seal, then decodes, then
//! checks that the values are ones this code could have saved
//! (`validate::restored`), then that the snapshot is the one the state was
//! saved with: a garbled state is an error at `Raft::make`, never a changed
//! command or a silent reset to an empty log.

use super::log::Log;
use super::saved_state::Header;
use super::state::State;
use super::validate;
use super::Command;
use crate::debug::dlog;
use crate::error::RaftError;
use crate::sealed::{self, Kind};
use labrpc::checksum::crc32c;
use labrpc::codec;
use std::sync::Arc;

/// What `restore` recovers from the persister.
pub(crate) struct Restored<C> {
    pub(crate) current_term: u64,
    pub(crate) voted_for: Option<usize>,
    pub(crate) snapshot_crc: u32,
    pub(crate) log: Log<C>,
}

impl<C: Command> State<C> {
    /// Saves `currentTerm`, `votedFor` and the log. Call it, under the lock,
    /// after changing any of them and before the change is visible to another
    /// peer (a reply or an RPC). Clears `log_unsaved`.
    pub(crate) fn persist(&mut self) {
        let size = self.save(None);
        dlog!(
            "PERS",
            self.me,
            self.current_term,
            "saved: voted {:?}, log {}..={} ({size} bytes)",
            self.voted_for,
            self.log.base_index(),
            self.log.last_index(),
        );
    }

    /// Saves the state and a snapshot together (one atomic write).
    pub(crate) fn persist_with_snapshot(&mut self, snapshot: Arc<[u8]>) {
        self.snapshot_crc = crc32c(&snapshot);
        let len = snapshot.len();
        let size = self.save(Some(snapshot));
        dlog!(
            "PERS",
            self.me,
            self.current_term,
            "saved state ({size} bytes) and snapshot through {} ({len} bytes)",
            self.log.base_index(),
        );
    }

    /// Saves entries that `start` appended without saving, if there are any.
    /// Called before the leader shows its log to anyone: before it sends
    /// AppendEntries, and before it counts itself toward a commit.
    pub(crate) fn persist_if_unsaved(&mut self) {
        if self.log_unsaved {
            self.persist();
        }
    }

    /// The save itself: the persister's bytes are brought up to date in
    /// place, touching only what changed (`saved_state.rs`).
    fn save(&mut self, snapshot: Option<Arc<[u8]>>) -> usize {
        self.log_unsaved = false;
        let header = Header {
            current_term: self.current_term,
            voted_for: self.voted_for,
            snapshot_crc: self.snapshot_crc,
            base_index: self.log.base_index(),
            base_term: self.log.base_term(),
            entry_count: self.log.entries().len() as u64,
        };
        self.saved
            .save(&self.persister, &header, &mut self.log, snapshot)
            .unwrap_or_else(|e| {
                // Only a state over the codec's size limit gets here: a bug
                // in the service (it never snapshots), not bad input.
                panic!("S{}: cannot persist raft state: {e}", self.me)
            })
    }
}

/// Decodes and checks a persisted state and the snapshot saved with it, for
/// a cluster of `n` peers. No state and no snapshot mean a fresh peer.
pub(crate) fn restore<C: Command>(
    bytes: &[u8],
    snapshot: &[u8],
    n: usize,
) -> Result<Option<Restored<C>>, RaftError> {
    let corrupt = RaftError::CorruptState;
    if bytes.is_empty() {
        if !snapshot.is_empty() {
            return Err(corrupt(format!(
                "no raft state beside a snapshot of {} bytes",
                snapshot.len()
            )));
        }
        return Ok(None);
    }
    let payload = sealed::open(Kind::RaftState, bytes).map_err(corrupt)?;
    let (current_term, voted_for, snapshot_crc, log): (u64, Option<usize>, u32, Log<C>) =
        codec::decode(payload).map_err(|e| corrupt(e.message))?;
    validate::restored(current_term, voted_for, &log, snapshot.len(), n).map_err(corrupt)?;
    let actual = crc32c(snapshot);
    if actual != snapshot_crc {
        return Err(corrupt(format!(
            "the snapshot ({} bytes, checksum {actual:08x}) is not the one saved with \
             this state (checksum {snapshot_crc:08x})",
            snapshot.len()
        )));
    }
    Ok(Some(Restored {
        current_term,
        voted_for,
        snapshot_crc,
        log,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::Entry;

    /// The incrementally built bytes must be exactly what the codec writes for
    /// the tuple, through appends, truncation and compaction, or `restore`
    /// would reject (or misread) what `persist` saved.
    #[test]
    fn incremental_encoding_matches_the_codec() {
        let persister = crate::Persister::new();
        let mut st: State<String> = State::new(0, 3, persister.clone(), 1);
        let check = |st: &mut State<String>| {
            st.persist();
            let tuple = (st.current_term, st.voted_for, st.snapshot_crc, &st.log);
            let expect = sealed::seal(Kind::RaftState, &codec::encode(&tuple).unwrap());
            assert_eq!(persister.read_raft_state(), expect);
            let r = restore::<String>(&expect, &persister.read_snapshot(), 3)
                .unwrap()
                .unwrap();
            assert_eq!(r.log.entries(), st.log.entries());
        };
        check(&mut st);
        // The public layout (`raft::wire`) decodes what was saved.
        let saved = sealed::open(Kind::RaftState, &persister.read_raft_state())
            .unwrap()
            .to_vec();
        let w: crate::wire::PersistedState<String> = codec::decode(&saved).unwrap();
        assert_eq!(w.log.entries.len(), 0);
        st.current_term = 3;
        st.voted_for = Some(2);
        for i in 1..=10u64 {
            st.log.push(Entry {
                term: 1 + i / 4,
                command: "x".repeat(i as usize * 50),
            });
            check(&mut st);
        }
        st.log.truncate_from(7);
        check(&mut st);
        st.log.push(Entry {
            term: 3,
            command: "new".into(),
        });
        check(&mut st);
        st.log.compact_to(4, 2);
        check(&mut st);
        st.log.compact_to(20, 3); // past the end: the log is replaced
        check(&mut st);
        let w: crate::wire::PersistedState<String> =
            codec::decode(sealed::open(Kind::RaftState, &persister.read_raft_state()).unwrap())
                .unwrap();
        assert_eq!(
            (w.current_term, w.voted_for, w.snapshot_crc),
            (st.current_term, st.voted_for, st.snapshot_crc)
        );
        assert_eq!(
            (w.log.base_index, w.log.base_term, &w.log.entries[..]),
            (20, 3, st.log.entries())
        );
    }
}
