//! The follower's side of log replication: the AppendEntries RPC handler
//! (Figure 2, "AppendEntries RPC", receiver implementation; §5.3).
//!
//! The leader's side, the replication threads that send these RPCs, is in
//! `replication.rs`.

use super::log::Entry;
use super::rpc::{AppendEntriesArgs, AppendEntriesReply};
use super::state::State;
use super::validate;
use super::{Command, Shared};
use crate::debug::dlog;

impl<C: Command> Shared<C> {
    /// AppendEntries RPC handler (Figure 2, "Receiver implementation").
    pub(crate) fn append_entries(&self, args: AppendEntriesArgs<C>) -> AppendEntriesReply {
        let mut st = self.state.lock();
        let mut reply = AppendEntriesReply {
            term: st.current_term,
            ..Default::default()
        };
        if let Err(why) = validate::append_entries(&args, st.n, self.me) {
            self.refuse_append(&st, &why);
            return reply;
        }
        // Rule 1: reply false if term < currentTerm.
        if args.term < st.current_term {
            dlog!(
                "LOG2",
                self.me,
                st.current_term,
                "refused S{}: its term {} is old",
                args.leader_id,
                args.term
            );
            return reply;
        }
        self.heard_from_leader(&mut st, args.term);
        reply.term = st.current_term;

        let (mut prev, mut prev_term, mut entries) =
            (args.prev_log_index, args.prev_log_term, args.entries);
        if prev < st.log.base_index() {
            // Our snapshot already covers the start of this message: those
            // entries are committed, so skip them.
            let skip = (st.log.base_index() - prev) as usize;
            // The message's entry at our snapshot's index, if it has one,
            // must be the snapshot's: a leader's log holds every committed
            // entry. One that disagrees is refused, not half-applied (the
            // entries after it could go below the snapshot's term).
            if let Some(e) = entries.get(skip - 1) {
                if e.term != st.log.base_term() {
                    self.refuse_append(
                        &st,
                        &format!(
                            "entry {} has term {}, our snapshot says {}",
                            st.log.base_index(),
                            e.term,
                            st.log.base_term()
                        ),
                    );
                    return reply;
                }
            }
            entries.drain(..skip.min(entries.len()));
            prev = st.log.base_index();
            prev_term = st.log.base_term();
        }
        // Rule 2: reply false if the log has no entry at prevLogIndex whose
        // term matches prevLogTerm; say where our log diverges.
        match st.log.term_at(prev) {
            None => {
                reply.conflict_index = st.log.last_index() + 1;
                dlog!(
                    "LOG2",
                    self.me,
                    st.current_term,
                    "no entry {prev}: log ends at {}",
                    st.log.last_index()
                );
                return reply;
            }
            Some(t) if t != prev_term => {
                reply.conflict_term = Some(t);
                reply.conflict_index = st.log.first_index_of_term(t, prev);
                dlog!(
                    "LOG2",
                    self.me,
                    st.current_term,
                    "entry {prev} has term {t}, leader says {prev_term}: hint {}",
                    reply.conflict_index
                );
                return reply;
            }
            Some(_) => {}
        }
        let last_new = prev + entries.len() as u64;
        match self.append_new_entries(&mut st, prev, entries) {
            Ok(true) => st.persist(),
            Ok(false) => {}
            Err(why) => {
                self.refuse_append(&st, &why);
                return reply;
            }
        }
        // Rule 5: commitIndex = min(leaderCommit, index of last new entry).
        let commit = args.leader_commit.min(last_new);
        if commit > st.commit_index {
            dlog!(
                "CMIT",
                self.me,
                st.current_term,
                "commit {} -> {commit} (leader S{})",
                st.commit_index,
                args.leader_id
            );
            st.commit_index = commit;
            self.apply_cv.notify_one(&st);
        }
        reply.success = true;
        reply
    }

    /// Logs why an AppendEntries is refused (the caller answers it as a refusal).
    fn refuse_append(&self, st: &State<C>, why: &str) {
        dlog!(
            "DROP",
            self.me,
            st.current_term,
            "AppendEntries refused: {why}"
        );
    }

    /// Rules 3 and 4: an existing entry that conflicts with a new one (same
    /// index, different term) is deleted with all that follow it; entries not
    /// already in the log are appended. Entries that match are left alone, so a
    /// late, shorter AppendEntries never truncates what a newer one added.
    /// Returns whether the log changed.
    ///
    /// A leader never asks to delete a committed entry (Leader Completeness,
    /// §5.4.3); a message that does is refused whole, before it changes
    /// anything (a conflict comes before any append in this loop).
    fn append_new_entries(
        &self,
        st: &mut State<C>,
        prev: u64,
        entries: Vec<Entry<C>>,
    ) -> Result<bool, String> {
        let mut changed = false;
        for (k, e) in entries.into_iter().enumerate() {
            let index = prev + 1 + k as u64;
            match st.log.term_at(index) {
                Some(t) if t == e.term => continue,
                Some(t) if index <= st.commit_index => {
                    return Err(format!(
                        "it would replace committed entry {index} (term {t}) with one of term {}",
                        e.term
                    ));
                }
                Some(_) => {
                    dlog!(
                        "LOG2",
                        self.me,
                        st.current_term,
                        "conflict at {index}: truncating {}..={}",
                        index,
                        st.log.last_index()
                    );
                    st.log.truncate_from(index);
                }
                None => {}
            }
            st.log.push(e);
            changed = true;
        }
        if changed {
            dlog!(
                "LOG2",
                self.me,
                st.current_term,
                "log now ends at {}/{}",
                st.log.last_index(),
                st.log.last_term()
            );
        }
        Ok(changed)
    }
}
