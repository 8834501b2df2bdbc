//! The persisted Raft state's bytes, kept up to date in place.
//!
//! `persist()` (persist.rs) reads as Figure 2 says: save `currentTerm`,
//! `votedFor` and `log[]`. Encoding the whole log on every save would cost
//! time proportional to the log, many times a second; keeping a second,
//! encoded copy of the log beside the persister's would double its memory.
//! Instead the bytes in the persister are the only encoded copy, and each
//! save edits them where they lie: it drops the encodings of entries a
//! snapshot now covers, cuts those of entries the log no longer has, appends
//! those of new entries, rewrites the small header, and re-seals. A real
//! server would do the same to a file (truncate, append, rewrite the header).
//!
//! The seal's checksum is kept the same way. Checksumming the whole state on
//! every save cost more CPU than everything else a kv operation does
//! (`perf`: half of a `concurrent_3a` run, the log being megabytes by its
//! end); instead each saved entry remembers the CRC of the entries up to and
//! including it, so an append checksums only its own bytes, a truncation
//! looks its CRC up, and the seal combines the header's CRC with the
//! entries' ([`crc32c_combine`]). Only a compaction, whose remaining entries
//! now start elsewhere, checksums them again (the few a snapshot leaves).
//!
//! The bytes are always exactly `sealed::seal(RaftState, codec::encode(&(term,
//! vote, snapshot_crc, log)))`, so `persist::restore` decodes them in one
//! call; the tests below check that through appends, truncations and
//! compactions.
//!
//! Layout: `| seal (9) | header: term, vote, snapshot_crc, base index, base
//! term, entry count | entry | entry | ... |`, where the header is what the
//! codec writes for the tuple's fields before the log's entries.

use super::log::Log;
use crate::persister::Persister;
use crate::sealed::{self, Kind, HEADER_LEN};
use labrpc::checksum::{crc32c, crc32c_append, crc32c_combine};
use labrpc::codec::{self, CodecError};
use serde::Serialize;
use std::sync::Arc;

/// What this peer knows about the bytes it saved last: where each entry's
/// encoding lies, so the next save touches only what changed.
#[derive(Default)]
pub(crate) struct SavedState {
    /// Where the entries start in the saved bytes (0: nothing is known about
    /// them, e.g. after a restart, so the next save writes them all).
    entries_start: usize,
    /// The log's base index when it was last saved: the saved entries are
    /// `base_index + 1 ..= base_index + ends.len()`.
    base_index: u64,
    /// `ends[k]` is where the encoding of saved entry `k` ends, counted from
    /// `entries_start`.
    ends: Vec<usize>,
    /// `crcs[k]` is the CRC-32C of the entries' bytes up to `ends[k]`.
    crcs: Vec<u32>,
}

/// The fields saved before the entries, in the codec's order for the tuple
/// `(current_term, voted_for, snapshot_crc, log)` (a `Log` is its base index,
/// base term, then its entries as a sequence: their count, then each one).
#[derive(Serialize)]
pub(crate) struct Header {
    pub(crate) current_term: u64,
    pub(crate) voted_for: Option<usize>,
    pub(crate) snapshot_crc: u32,
    pub(crate) base_index: u64,
    pub(crate) base_term: u64,
    pub(crate) entry_count: u64,
}

impl SavedState {
    /// Brings the persister's bytes up to date with `header` and `log`, in
    /// place, and replaces the snapshot with `snapshot` in the same step if
    /// one is given. Entries from `log.unsaved_from()` on are written again;
    /// those before it are known to be saved already; afterwards the whole
    /// log is. Returns the size of the saved state.
    pub(crate) fn save<C: Serialize + Clone>(
        &mut self,
        persister: &Persister,
        header: &Header,
        log: &mut Log<C>,
        snapshot: Option<Arc<[u8]>>,
    ) -> Result<usize, CodecError> {
        let header = codec::encode(header)?;
        let size = persister.edit_raft_state(snapshot, |bytes| self.edit(bytes, &header, log))?;
        log.mark_saved();
        Ok(size)
    }

    fn edit<C: Serialize + Clone>(
        &mut self,
        bytes: &mut Vec<u8>,
        header: &[u8],
        log: &Log<C>,
    ) -> Result<usize, CodecError> {
        if self.entries_start == 0 || log.base_index() < self.base_index {
            // Nothing known (or the log went back, which it never does):
            // start from empty bytes.
            *self = SavedState::default();
            bytes.clear();
            self.base_index = log.base_index();
        }
        // 1. The header, whose length can change (the codec writes numbers
        //    in as few bytes as they need; a vote is one byte or several).
        let old_start = self.entries_start.max(HEADER_LEN);
        bytes.resize(bytes.len().max(old_start), 0);
        bytes.splice(HEADER_LEN..old_start, header.iter().copied());
        self.entries_start = HEADER_LEN + header.len();
        // 2. Entries a snapshot now covers.
        let covered = ((log.base_index() - self.base_index) as usize).min(self.ends.len());
        if covered > 0 {
            let cut = self.ends[covered - 1];
            bytes.drain(self.entries_start..self.entries_start + cut);
            self.ends.drain(..covered);
            self.ends.iter_mut().for_each(|e| *e -= cut);
            self.checksum_entries_again(bytes);
        }
        self.base_index = log.base_index();
        // 3. Entries the log no longer has, or that changed since they were saved.
        let first_changed = log.unsaved_from().max(log.base_index() + 1);
        let keep = ((first_changed - log.base_index() - 1) as usize).min(self.ends.len());
        self.ends.truncate(keep);
        self.crcs.truncate(keep);
        bytes.truncate(self.entries_start + self.ends.last().copied().unwrap_or(0));
        // 4. New entries.
        let mut crc = self.crcs.last().copied().unwrap_or(0);
        for entry in log.entries_from_ref(log.base_index() + 1 + keep as u64) {
            let start = bytes.len();
            codec::encode_into(entry, bytes)?;
            crc = crc32c_append(crc, &bytes[start..]);
            self.ends.push(bytes.len() - self.entries_start);
            self.crcs.push(crc);
        }
        let payload = bytes.len() - HEADER_LEN;
        if payload as u64 > codec::MAX_ENCODED_LEN {
            return Err(CodecError {
                message: format!("{payload} bytes is over the codec's limit"),
            });
        }
        // 5. The seal: the header's CRC followed by the entries'.
        let entries_len = self.ends.last().copied().unwrap_or(0) as u64;
        let crc = crc32c_combine(crc32c(header), crc, entries_len);
        sealed::finish_with_crc(Kind::RaftState, bytes, crc);
        Ok(bytes.len())
    }

    /// Recomputes `crcs` from the entries' bytes (after a compaction moved them).
    fn checksum_entries_again(&mut self, bytes: &[u8]) {
        let entries = &bytes[self.entries_start..];
        self.crcs.clear();
        let (mut crc, mut start) = (0, 0);
        for &end in &self.ends {
            crc = crc32c_append(crc, &entries[start..end]);
            self.crcs.push(crc);
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::Entry;

    /// Saves `log` and checks the bytes against a fresh encoding of the tuple.
    fn save_and_check(
        saved: &mut SavedState,
        p: &Persister,
        term: u64,
        vote: Option<usize>,
        log: &mut Log<String>,
    ) {
        let header = Header {
            current_term: term,
            voted_for: vote,
            snapshot_crc: 7,
            base_index: log.base_index(),
            base_term: log.base_term(),
            entry_count: log.entries().len() as u64,
        };
        saved.save(p, &header, log, None).unwrap();
        let tuple = (term, vote, 7u32, &*log);
        let expect = sealed::seal(Kind::RaftState, &codec::encode(&tuple).unwrap());
        assert_eq!(p.read_raft_state(), expect);
    }

    fn push(log: &mut Log<String>, term: u64, len: usize) {
        log.push(Entry {
            term,
            command: "x".repeat(len),
        });
    }

    #[test]
    fn edits_in_place_match_a_fresh_encoding() {
        let p = Persister::new();
        let mut saved = SavedState::default();
        let mut log: Log<String> = Log::new();
        save_and_check(&mut saved, &p, 0, None, &mut log);
        for i in 1..=10 {
            push(&mut log, 1 + i / 4, i as usize * 50);
            save_and_check(&mut saved, &p, 3, Some(2), &mut log);
        }
        // A vote that changes the header's length, a term that needs more bytes.
        save_and_check(&mut saved, &p, 300, None, &mut log);
        save_and_check(&mut saved, &p, 70_000, Some(1), &mut log);
        // Truncate and append in one save, then several appends in one save.
        log.truncate_from(7);
        push(&mut log, 9, 3);
        save_and_check(&mut saved, &p, 70_000, Some(1), &mut log);
        push(&mut log, 9, 1);
        push(&mut log, 9, 1000);
        save_and_check(&mut saved, &p, 70_000, Some(1), &mut log);
        // Compaction keeping a suffix; then one that replaces the log.
        log.compact_to(4, 2);
        save_and_check(&mut saved, &p, 70_000, Some(1), &mut log);
        log.truncate_from(6);
        log.compact_to(5, 2);
        push(&mut log, 10, 5);
        save_and_check(&mut saved, &p, 70_001, None, &mut log);
        log.compact_to(40, 10);
        save_and_check(&mut saved, &p, 70_001, None, &mut log);
        push(&mut log, 11, 5);
        save_and_check(&mut saved, &p, 70_001, None, &mut log);
    }

    #[test]
    fn a_restarted_peer_rewrites_everything_once() {
        let p = Persister::new();
        let mut log: Log<String> = Log::new();
        for i in 1..=5 {
            push(&mut log, i, 10);
        }
        save_and_check(&mut SavedState::default(), &p, 5, None, &mut log);
        // After a restart nothing is known about the bytes: a save writes them all.
        let mut fresh = SavedState::default();
        push(&mut log, 5, 10);
        save_and_check(&mut fresh, &p, 5, Some(0), &mut log);
        push(&mut log, 5, 10);
        save_and_check(&mut fresh, &p, 5, Some(0), &mut log);
    }
}
