//! What a peer checks before it believes a message or a persisted state.
//!
//! Raft's proofs assume every message was sent by a peer following Figure 2
//! and every saved state was written by this code. Bytes that cannot be
//! either (a vote requested by peer 7 of 3, entries whose terms go down, a
//! term of 2^64 - 1 that the next election would wrap to 0) are refused here,
//! in one place, before they change anything: a message is answered as a
//! rejection and logged under DROP, a state is `CorruptState`.
//!
//! These checks catch values that are impossible. A message that is possible
//! but false (a forged AppendEntries from a "new leader") passes them: Raft
//! does not defend against lying peers; the network's checksums defend
//! against garbled ones (notes/raft-design.md, "What is checked").

use super::log::{Entry, Log};
use super::rpc::{AppendEntriesArgs, InstallSnapshotArgs, RequestVoteArgs};

/// The largest term a peer holds, accepts from outside or restores from its
/// disk. No real cluster comes near it (one election a millisecond for a
/// hundred million years), so only a garbled or forged term reaches it.
///
/// One rule keeps every peer able to restart and to hear every other: a term
/// is valid if it is at most `MAX_TERM`, wherever it comes from, and a peer
/// only ever makes a new term by standing for election (`may_stand`), which
/// it does not do at `MAX_TERM`. So no peer can hold, save or send a term
/// that it or another peer would refuse.
pub const MAX_TERM: u64 = 1 << 62;
/// See [`MAX_TERM`].
pub const MAX_INDEX: u64 = 1 << 62;

/// Why a message or a state was refused.
pub(crate) type Refusal = String;

fn check(ok: bool, why: impl FnOnce() -> String) -> Result<(), Refusal> {
    if ok {
        Ok(())
    } else {
        Err(why())
    }
}

/// A message's term: at least 1 (nobody leads or stands in term 0) and at
/// most [`MAX_TERM`].
fn message_term(term: u64) -> Result<(), Refusal> {
    check((1..=MAX_TERM).contains(&term), || {
        format!("term {term} is out of range")
    })
}

/// Whether a peer in `term` may stand for election: the election's term,
/// `term + 1`, must itself be valid. A peer at the bound stays a follower.
pub(crate) fn may_stand(term: u64) -> bool {
    term < MAX_TERM
}

/// A sender's id must name another peer: a peer never messages itself.
fn sender(id: usize, n: usize, me: usize, what: &str) -> Result<(), Refusal> {
    check(id < n && id != me, || {
        format!("{what} S{id} is not another peer of {n}")
    })
}

/// A (index, term) pair that names a log position: index 0 is the empty
/// log's, with term 0; every entry after it has a term of at least 1.
fn position(index: u64, term: u64, at_most_term: u64, what: &str) -> Result<(), Refusal> {
    check(index <= MAX_INDEX, || {
        format!("{what} index {index} is too large")
    })?;
    check((index == 0) == (term == 0), || {
        format!("{what} {index}/{term}: only index 0 has term 0")
    })?;
    check(term <= at_most_term, || {
        format!("{what} term {term} is after the message's term {at_most_term}")
    })
}

/// Entries following `(prev_index, prev_term)`: terms never go down, are at
/// least 1 and at most `max_term`, and the last index fits.
fn entries<C>(
    prev_index: u64,
    prev_term: u64,
    entries: &[Entry<C>],
    max_term: u64,
) -> Result<(), Refusal> {
    check(
        (entries.len() as u64) <= MAX_INDEX - prev_index.min(MAX_INDEX),
        || {
            format!(
                "{} entries after {prev_index} run past the largest index",
                entries.len()
            )
        },
    )?;
    let mut prev = prev_term;
    for (k, e) in entries.iter().enumerate() {
        let index = prev_index + 1 + k as u64;
        check(e.term >= prev.max(1) && e.term <= max_term, || {
            format!(
                "entry {index} has term {} (previous {prev}, at most {max_term})",
                e.term
            )
        })?;
        prev = e.term;
    }
    Ok(())
}

/// A RequestVote that a candidate following Figure 2 could have sent.
pub(crate) fn request_vote(args: &RequestVoteArgs, n: usize, me: usize) -> Result<(), Refusal> {
    sender(args.candidate_id, n, me, "candidate")?;
    message_term(args.term)?;
    position(
        args.last_log_index,
        args.last_log_term,
        args.term,
        "last log",
    )
}

/// An AppendEntries that a leader following Figure 2 could have sent.
pub(crate) fn append_entries<C>(
    args: &AppendEntriesArgs<C>,
    n: usize,
    me: usize,
) -> Result<(), Refusal> {
    sender(args.leader_id, n, me, "leader")?;
    message_term(args.term)?;
    position(
        args.prev_log_index,
        args.prev_log_term,
        args.term,
        "previous",
    )?;
    check(args.leader_commit <= MAX_INDEX, || {
        format!("leader commit {} is too large", args.leader_commit)
    })?;
    entries(
        args.prev_log_index,
        args.prev_log_term,
        &args.entries,
        args.term,
    )
}

/// An InstallSnapshot that a leader following Figure 13 could have sent.
pub(crate) fn install_snapshot(
    args: &InstallSnapshotArgs,
    n: usize,
    me: usize,
) -> Result<(), Refusal> {
    sender(args.leader_id, n, me, "leader")?;
    message_term(args.term)?;
    check(args.last_included_index >= 1, || {
        "a snapshot of nothing (index 0)".to_string()
    })?;
    position(
        args.last_included_index,
        args.last_included_term,
        args.term,
        "snapshot",
    )
}

/// A reply's term: anything up to [`MAX_TERM`] may be real.
pub(crate) fn reply_term(term: u64) -> Result<(), Refusal> {
    check(term <= MAX_TERM, || {
        format!("reply term {term} is out of range")
    })
}

/// A restored state that this code could have saved for `n` peers, beside a
/// snapshot of `snapshot_len` bytes.
pub(crate) fn restored<C: Clone>(
    current_term: u64,
    voted_for: Option<usize>,
    log: &Log<C>,
    snapshot_len: usize,
    n: usize,
) -> Result<(), Refusal> {
    check(current_term <= MAX_TERM, || {
        format!("current term {current_term} is out of range")
    })?;
    if let Some(v) = voted_for {
        check(v < n, || {
            format!("voted for S{v}, but there are only {n} peers")
        })?;
        check(current_term >= 1, || "a vote in term 0".to_string())?;
    }
    position(log.base_index(), log.base_term(), current_term, "snapshot")?;
    // Index 0 means "no snapshot": a snapshot's bytes beside it would be a
    // state the log does not account for (the service would restore it, then
    // be handed entries from index 1 again).
    check(log.base_index() >= 1 || snapshot_len == 0, || {
        format!("a snapshot of {snapshot_len} bytes, but the log starts at index 0")
    })?;
    entries(
        log.base_index(),
        log.base_term(),
        log.entries(),
        current_term,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ae(term: u64, prev: (u64, u64), terms: &[u64]) -> AppendEntriesArgs<u8> {
        AppendEntriesArgs {
            term,
            leader_id: 1,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries: terms
                .iter()
                .map(|&t| Entry {
                    term: t,
                    command: 0,
                })
                .collect(),
            leader_commit: 0,
        }
    }

    #[test]
    fn append_entries_checks() {
        assert!(append_entries(&ae(3, (0, 0), &[1, 1, 3]), 3, 0).is_ok());
        assert!(append_entries(&ae(3, (4, 2), &[2, 3]), 3, 0).is_ok());
        assert!(append_entries(&ae(3, (4, 2), &[]), 3, 0).is_ok());
        let bad = [
            ae(3, (0, 0), &[2, 1]),      // terms go down
            ae(3, (0, 0), &[4]),         // entry from the future
            ae(3, (4, 2), &[1]),         // below the previous entry's term
            ae(3, (0, 0), &[0]),         // term 0 after index 0
            ae(3, (4, 0), &[]),          // index 4 with term 0
            ae(3, (0, 2), &[]),          // index 0 with term 2
            ae(3, (4, 5), &[]),          // previous term from the future
            ae(u64::MAX, (0, 0), &[]),   // a term that would wrap
            ae(0, (0, 0), &[]),          // term 0: nobody leads it
            ae(3, (MAX_INDEX, 1), &[1]), // past the largest index
            ae(3, (u64::MAX, 1), &[]),
        ];
        for (k, a) in bad.iter().enumerate() {
            assert!(append_entries(a, 3, 0).is_err(), "case {k}");
        }
        let mut a = ae(3, (0, 0), &[]);
        a.leader_id = 3;
        assert!(append_entries(&a, 3, 0).is_err(), "no such peer");
        a.leader_id = 0;
        assert!(append_entries(&a, 3, 0).is_err(), "from myself");
    }

    #[test]
    fn request_vote_and_snapshot_checks() {
        let rv = |id, term, li, lt| RequestVoteArgs {
            term,
            candidate_id: id,
            last_log_index: li,
            last_log_term: lt,
        };
        assert!(request_vote(&rv(1, 5, 0, 0), 3, 0).is_ok());
        assert!(request_vote(&rv(2, 5, 9, 5), 3, 0).is_ok());
        assert!(request_vote(&rv(7, 5, 9, 5), 3, 0).is_err());
        assert!(request_vote(&rv(0, 5, 9, 5), 3, 0).is_err());
        assert!(request_vote(&rv(1, 5, 9, 6), 3, 0).is_err());
        assert!(request_vote(&rv(1, u64::MAX, 0, 0), 3, 0).is_err());
        let is = |term, index, lt| InstallSnapshotArgs {
            term,
            leader_id: 2,
            last_included_index: index,
            last_included_term: lt,
            data: Vec::new().into(),
        };
        assert!(install_snapshot(&is(4, 10, 3), 3, 0).is_ok());
        assert!(install_snapshot(&is(4, 0, 0), 3, 0).is_err());
        assert!(install_snapshot(&is(4, u64::MAX, 3), 3, 0).is_err());
        assert!(install_snapshot(&is(4, 10, 5), 3, 0).is_err());
        assert!(reply_term(MAX_TERM).is_ok() && reply_term(u64::MAX).is_err());
    }

    /// Every term a peer may hold is one it may send, save and restore; the
    /// only term it makes itself, `term + 1` by an election, is made only
    /// where that stays true.
    #[test]
    fn the_term_bound_is_one_rule() {
        for term in [1, 2, MAX_TERM - 2, MAX_TERM - 1, MAX_TERM] {
            assert!(message_term(term).is_ok(), "message term {term}");
            assert!(reply_term(term).is_ok(), "reply term {term}");
            assert!(restored::<u8>(term, Some(1), &Log::new(), 0, 3).is_ok());
            if may_stand(term) {
                assert!(message_term(term + 1).is_ok(), "election after {term}");
                assert!(restored::<u8>(term + 1, Some(0), &Log::new(), 0, 3).is_ok());
            }
        }
        assert!(!may_stand(MAX_TERM));
        assert!(message_term(MAX_TERM + 1).is_err());
        assert!(restored::<u8>(MAX_TERM + 1, None, &Log::new(), 0, 3).is_err());
    }

    #[test]
    fn index_zero_means_no_snapshot() {
        let empty = Log::<u8>::new();
        assert!(restored(3, None, &empty, 0, 3).is_ok());
        assert!(restored(3, None, &empty, 1, 3).is_err());
        let mut log = Log::<u8>::new();
        log.compact_to(5, 2);
        assert!(restored(3, None, &log, 10, 3).is_ok());
    }
}
