//! The replicated log, indexed the way the paper indexes it.
//!
//! Indexes are absolute and start at 1, as in the paper. After a snapshot the
//! entries up to `base_index` are gone; the log remembers the index and term
//! of the last of them (the snapshot's `lastIncludedIndex/Term`, Figure 13),
//! and every conversion between an absolute index and a position in `entries`
//! happens in this file and nowhere else.

use serde::{Deserialize, Serialize};

/// One log entry: a command and the term in which a leader received it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The leader's term when the entry was created.
    pub term: u64,
    /// The client's command.
    pub command: C,
}

/// The log: entries after `base_index`, plus the index/term of the entry
/// before them (0/0 for an unsnapshotted log: the paper's empty log).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Log<C> {
    base_index: u64,
    base_term: u64,
    entries: Vec<Entry<C>>,
    /// The first index whose entry may differ from the one last saved: the
    /// save starts writing there (`saved_state.rs`). Not itself persisted.
    #[serde(skip)]
    unsaved_from: u64,
}

impl<C: Clone> Log<C> {
    /// An empty log.
    pub(crate) fn new() -> Log<C> {
        Log {
            base_index: 0,
            base_term: 0,
            entries: Vec::new(),
            unsaved_from: 1,
        }
    }

    /// The snapshot's last included index (0 without a snapshot).
    pub(crate) fn base_index(&self) -> u64 {
        self.base_index
    }

    /// The snapshot's last included term (0 without a snapshot).
    pub(crate) fn base_term(&self) -> u64 {
        self.base_term
    }

    /// The entries still held, oldest first.
    pub(crate) fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }

    /// Index of the last entry (the snapshot's index if no entry follows it).
    pub(crate) fn last_index(&self) -> u64 {
        self.base_index + self.entries.len() as u64
    }

    /// Term of the last entry.
    pub(crate) fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    fn pos(&self, index: u64) -> usize {
        debug_assert!(index > self.base_index && index <= self.last_index());
        (index - self.base_index - 1) as usize
    }

    /// Term of the entry at `index`, if the log still knows it (the base counts).
    pub(crate) fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.base_index {
            Some(self.base_term)
        } else if index > self.base_index && index <= self.last_index() {
            Some(self.entries[self.pos(index)].term)
        } else {
            None
        }
    }

    /// Copies of the entries from `from` (inclusive) to the end, at most `max`.
    /// `from` must be after the snapshot: the callers (the applier, a
    /// replication thread) rely on getting exactly the entries they asked for.
    pub(crate) fn entries_from(&self, from: u64, max: usize) -> Vec<Entry<C>> {
        assert!(
            from > self.base_index,
            "entries_from({from}): entries through {} are in the snapshot",
            self.base_index
        );
        let rest = self.entries_from_ref(from);
        rest[..rest.len().min(max)].to_vec()
    }

    /// The entries from `from` (inclusive) to the end, borrowed; empty past
    /// the end. `from` must be after the snapshot.
    pub(crate) fn entries_from_ref(&self, from: u64) -> &[Entry<C>] {
        assert!(
            from > self.base_index,
            "entries_from_ref({from}): in the snapshot"
        );
        if from > self.last_index() {
            return &[];
        }
        &self.entries[self.pos(from)..]
    }

    /// Appends one entry; returns its index.
    pub(crate) fn push(&mut self, entry: Entry<C>) -> u64 {
        self.entries.push(entry);
        let index = self.last_index();
        self.unsaved_from = self.unsaved_from.min(index);
        index
    }

    /// Drops the entry at `index` and everything after it.
    pub(crate) fn truncate_from(&mut self, index: u64) {
        if index <= self.last_index() {
            let keep = index.saturating_sub(self.base_index + 1) as usize;
            self.entries.truncate(keep);
            self.unsaved_from = self.unsaved_from.min(index);
        }
    }

    /// The first index holding an entry of `term` at or before `index`
    /// (for the follower's conflict hint in fast log backup).
    pub(crate) fn first_index_of_term(&self, term: u64, index: u64) -> u64 {
        let mut i = index;
        while i > self.base_index + 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index holding an entry of `term`, if any (for the leader's side
    /// of fast log backup).
    pub(crate) fn last_index_of_term(&self, term: u64) -> Option<u64> {
        (self.base_index + 1..=self.last_index())
            .rev()
            .find(|&i| self.term_at(i) == Some(term))
    }

    /// The first index whose entry may differ from the saved one.
    pub(crate) fn unsaved_from(&self) -> u64 {
        self.unsaved_from
    }

    /// Everything in the log is saved now.
    pub(crate) fn mark_saved(&mut self) {
        self.unsaved_from = self.last_index() + 1;
    }

    /// Forgets entries up to and including `index`, which becomes the new base
    /// (a snapshot now covers them). Entries after `index` are kept if this log
    /// agrees with the snapshot at `index`; otherwise the whole log is replaced.
    pub(crate) fn compact_to(&mut self, index: u64, term: u64) {
        if index <= self.base_index {
            return;
        }
        if self.term_at(index) == Some(term) {
            let drop = self.pos(index) + 1;
            self.entries.drain(..drop);
        } else {
            self.entries.clear();
            self.unsaved_from = self.unsaved_from.min(index + 1);
        }
        self.base_index = index;
        self.base_term = term;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with_terms(terms: &[u64]) -> Log<u64> {
        let mut l = Log::new();
        for (i, &t) in terms.iter().enumerate() {
            l.push(Entry {
                term: t,
                command: i as u64 + 1,
            });
        }
        l
    }

    #[test]
    fn indexing_and_truncation() {
        let mut l = log_with_terms(&[1, 1, 2, 3, 3]);
        assert_eq!((l.last_index(), l.last_term()), (5, 3));
        assert_eq!(l.term_at(0), Some(0));
        assert_eq!(l.term_at(3), Some(2));
        assert_eq!(l.term_at(6), None);
        assert_eq!(l.first_index_of_term(3, 5), 4);
        assert_eq!(l.last_index_of_term(1), Some(2));
        assert_eq!(l.last_index_of_term(7), None);
        assert_eq!(l.entries_from(4, 10).len(), 2);
        assert_eq!(l.entries_from(2, 2).len(), 2);
        l.truncate_from(3);
        assert_eq!(l.last_index(), 2);
    }

    #[test]
    fn compaction_keeps_absolute_indexes() {
        let mut l = log_with_terms(&[1, 1, 2, 3, 3]);
        l.compact_to(3, 2);
        assert_eq!((l.base_index(), l.base_term()), (3, 2));
        assert_eq!(l.last_index(), 5);
        assert_eq!(l.entries_from(4, 1)[0].command, 4);
        assert_eq!(l.entries_from(4, 9).len(), 2);
        assert_eq!(l.entries_from(6, 9).len(), 0, "past the end: nothing");
        assert_eq!(l.term_at(3), Some(2));
        assert_eq!(l.first_index_of_term(3, 5), 4);
        // A snapshot past the end, or disagreeing, replaces the log.
        l.compact_to(9, 4);
        assert_eq!((l.last_index(), l.last_term()), (9, 4));
        assert!(l.entries().is_empty());
    }

    #[test]
    #[should_panic(expected = "in the snapshot")]
    fn entries_from_inside_the_snapshot_is_a_bug() {
        // The applier and the replication threads ask for exactly what they
        // need; entries the snapshot covers are gone, so asking is a bug.
        let mut l = log_with_terms(&[1, 1, 2, 3, 3]);
        l.compact_to(3, 2);
        let _ = l.entries_from(3, 9);
    }
}
