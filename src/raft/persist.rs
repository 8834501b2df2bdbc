//! Persistence (Figure 2: `currentTerm`, `votedFor` and `log[]` are "updated
//! on stable storage before responding to RPCs").
//!
//! The state is encoded with the project's one codec; decoding checks what it
//! reads, so a truncated or garbled state is an error at `Raft::make`, never a
//! silent reset to an empty log (which would forget committed entries).

use super::log::Log;
use super::state::State;
use super::Command;
use crate::debug::dlog;
use crate::error::RaftError;
use labrpc::codec;

/// What `restore` recovers from the persister.
pub(crate) struct Restored<C> {
    pub(crate) current_term: u64,
    pub(crate) voted_for: Option<usize>,
    pub(crate) log: Log<C>,
}

impl<C: Command> State<C> {
    fn encode(&self) -> Vec<u8> {
        codec::encode(&(self.current_term, self.voted_for, &self.log)).unwrap_or_else(|e| {
            // Only a state over the codec's size limit gets here: a bug in the
            // service (it never snapshots), not bad input.
            panic!("S{}: cannot persist raft state: {e}", self.me)
        })
    }

    /// Saves `currentTerm`, `votedFor` and the log. Call it, under the lock,
    /// after changing any of them and before the change is visible to another
    /// peer (a reply or an RPC).
    pub(crate) fn persist(&self) {
        let bytes = self.encode();
        dlog!(
            "PERS",
            self.me,
            self.current_term,
            "saved: voted {:?}, log {}..={} ({} bytes)",
            self.voted_for,
            self.log.base_index(),
            self.log.last_index(),
            bytes.len()
        );
        self.persister.save_raft_state(bytes);
    }

    /// Saves the state and a snapshot together (one atomic write).
    pub(crate) fn persist_with_snapshot(&self, snapshot: Vec<u8>) {
        let bytes = self.encode();
        dlog!(
            "PERS",
            self.me,
            self.current_term,
            "saved state ({} bytes) and snapshot through {} ({} bytes)",
            bytes.len(),
            self.log.base_index(),
            snapshot.len()
        );
        self.persister.save_state_and_snapshot(bytes, snapshot);
    }
}

/// Decodes and checks persisted state for a cluster of `n` peers. Empty bytes
/// mean a fresh peer.
pub(crate) fn restore<C: Command>(
    bytes: &[u8],
    n: usize,
) -> Result<Option<Restored<C>>, RaftError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let (current_term, voted_for, log): (u64, Option<usize>, Log<C>) =
        codec::decode(bytes).map_err(|e| RaftError::CorruptState(e.message))?;
    if let Some(v) = voted_for {
        if v >= n {
            return Err(RaftError::CorruptState(format!(
                "voted for S{v}, but there are only {n} peers"
            )));
        }
    }
    let mut prev = log.base_term();
    for (i, e) in log.entries().iter().enumerate() {
        let index = log.base_index() + 1 + i as u64;
        if e.term < prev || e.term > current_term {
            return Err(RaftError::CorruptState(format!(
                "log entry {index} has term {} (previous term {prev}, current term {current_term})",
                e.term
            )));
        }
        prev = e.term;
    }
    if log.base_term() > current_term {
        return Err(RaftError::CorruptState(format!(
            "snapshot term {} is after current term {current_term}",
            log.base_term()
        )));
    }
    Ok(Some(Restored {
        current_term,
        voted_for,
        log,
    }))
}
