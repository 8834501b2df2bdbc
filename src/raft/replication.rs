//! Log replication (Figure 2: AppendEntries RPC, "Leaders"; §5.3, §5.4).
//!
//! While a peer leads, one **replication thread** per follower sends it
//! AppendEntries (or, when the follower needs entries the log no longer holds,
//! InstallSnapshot: see `snapshot.rs`). The thread waits on `repl_cv` while
//! there is nothing to send; `start()` wakes it for new entries, the state
//! thread wakes it when a heartbeat is due, and `advance_commit` wakes it when
//! the commit index moves, so neither agreement nor a follower's learning that
//! an entry committed waits for the next heartbeat.
//!
//! A thread waits for its reply at most one heartbeat interval. A reply that
//! comes later (the network may hold it back for seconds) is kept and handled
//! when it arrives, while the thread goes on sending heartbeats: a slow or
//! unreachable follower costs one RPC per heartbeat, never a stalled leader.

use super::rpc::{AppendEntriesArgs, AppendEntriesReply, APPEND_ENTRIES};
use super::state::{Role, State, HEARTBEAT_INTERVAL};
use super::validate;
use super::{Command, Shared};
use crate::debug::dlog;
use crate::sync::MutexGuard;
use labrpc::{PendingCall, RpcError};
use std::sync::Arc;
use std::time::Instant;

/// At most this many entries in one AppendEntries.
const MAX_ENTRIES_PER_RPC: usize = 1000;
/// At most this many unanswered RPCs kept per follower; older ones are dropped.
const MAX_LATE: usize = 32;

/// What the leader remembers about an AppendEntries it sent.
pub(crate) struct Sent {
    pub(crate) term: u64,
    pub(crate) prev_log_index: u64,
    pub(crate) n_entries: u64,
}

/// How an RPC went, as the replication thread sees it.
pub(crate) enum Outcome {
    /// The follower answered (whatever it said).
    Answered,
    /// The network failed the call.
    Failed,
    /// No answer by the deadline; the call may still be answered later.
    Unanswered(Late),
}

/// An RPC whose reply the thread stopped waiting for.
pub(crate) enum Late {
    Append(PendingCall<AppendEntriesReply>, Sent),
    Snapshot(PendingCall<super::rpc::InstallSnapshotReply>, Sent),
}

impl<C: Command> Shared<C> {
    /// Starts one replication thread per follower for the leader of `term`.
    pub(crate) fn spawn_replicators(self: &Arc<Self>, st: &State<C>) {
        let term = st.current_term;
        for peer in (0..self.peers.len()).filter(|&p| p != self.me) {
            self.spawn(st, &format!("repl-{peer}"), move |s| {
                s.replicator(peer, term)
            });
        }
    }

    /// The replication thread for `peer` while this peer leads `term`: the
    /// leader's replicate loop, top to bottom.
    fn replicator(&self, peer: usize, term: u64) {
        // RPCs whose reply did not come by their deadline, in case it comes later.
        let mut late: Vec<Late> = Vec::new();
        // RPCs in a row that got no answer. A lost message is resent at once,
        // once; after that new entries wait for the next heartbeat, so an
        // unreachable follower costs one RPC per heartbeat, not a tight loop.
        let mut failures = 0;
        let mut st = self.state.lock();
        while self.leads(&st, term) {
            // 1. Act on replies that arrived after their RPC's deadline.
            self.handle_late_replies(&mut st, peer, &mut late);
            if !self.leads(&st, term) {
                break;
            }
            // 2. Sleep until a heartbeat is due or there are entries to send.
            let behind = st.next_index[peer] <= st.log.last_index();
            let send_now = st.heartbeat_due[peer] || (behind && failures < 2);
            if !send_now {
                self.repl_cv.wait(&mut st);
                continue;
            }
            // 3. Send what the follower needs next: entries, or the snapshot
            //    if we no longer hold the entries it needs (see snapshot.rs).
            //    The lock is released while the RPC is in flight.
            st.heartbeat_due[peer] = false;
            let deadline = Instant::now() + HEARTBEAT_INTERVAL;
            let outcome = if st.next_index[peer] <= st.log.base_index() {
                self.send_snapshot(&mut st, peer, deadline)
            } else {
                self.send_append(&mut st, peer, deadline)
            };
            // 4. Count failures; keep an unanswered RPC, its reply may come.
            match outcome {
                Outcome::Answered => {
                    failures = 0;
                    st.answered[peer] = true;
                }
                Outcome::Failed => {
                    failures += 1;
                    // The network lost it: resend at once, once, whether it
                    // carried entries or was only a heartbeat.
                    st.heartbeat_due[peer] |= failures == 1;
                }
                Outcome::Unanswered(call) => {
                    failures += 1;
                    if late.len() == MAX_LATE {
                        late.remove(0); // the oldest is the least likely to come
                    }
                    late.push(call);
                }
            }
        }
    }

    /// True while this peer is alive and still the leader of `term`.
    fn leads(&self, st: &State<C>, term: u64) -> bool {
        !self.killed() && st.role == Role::Leader && st.current_term == term
    }

    /// Acts on each kept RPC whose reply has arrived, and keeps waiting for
    /// the others.
    fn handle_late_replies(&self, st: &mut State<C>, peer: usize, late: &mut Vec<Late>) {
        for call in std::mem::take(late) {
            match call {
                Late::Append(pending, sent) => match pending.try_result() {
                    Some(reply) => {
                        let outcome = self.on_append_reply(st, peer, &sent, reply);
                        st.answered[peer] |= matches!(outcome, Outcome::Answered);
                    }
                    None => late.push(Late::Append(pending, sent)),
                },
                Late::Snapshot(pending, sent) => match pending.try_result() {
                    Some(reply) => {
                        let outcome = self.on_snapshot_reply(st, peer, &sent, reply);
                        st.answered[peer] |= matches!(outcome, Outcome::Answered);
                    }
                    None => late.push(Late::Snapshot(pending, sent)),
                },
            }
        }
    }

    /// Sends AppendEntries to `peer` and waits (without the lock) until
    /// `deadline` for the reply, which it then acts on.
    fn send_append(
        &self,
        st: &mut MutexGuard<State<C>>,
        peer: usize,
        deadline: Instant,
    ) -> Outcome {
        st.persist_if_unsaved(); // entries start() appended must be saved before anyone sees them
        let prev = st.next_index[peer] - 1;
        let args = AppendEntriesArgs {
            term: st.current_term,
            leader_id: self.me,
            prev_log_index: prev,
            prev_log_term: st
                .log
                .term_at(prev)
                .expect("prev is at or after the log's base"),
            entries: st.log.entries_from(prev + 1, MAX_ENTRIES_PER_RPC),
            leader_commit: st.commit_index,
        };
        let sent = Sent {
            term: args.term,
            prev_log_index: prev,
            n_entries: args.entries.len() as u64,
        };
        dlog!(
            "LOG1",
            self.me,
            st.current_term,
            "-> S{peer} append {} after {}/{}, commit {}",
            sent.n_entries,
            prev,
            args.prev_log_term,
            args.leader_commit
        );
        // One unlocked section: encode and send (the encoding copies the
        // entries, so `args` can go), then wait for the reply.
        let (pending, reply) = MutexGuard::unlocked(st, || {
            let pending = self.send(peer, APPEND_ENTRIES, &args);
            drop(args);
            let reply = pending.wait_deadline(&self.kill_rx, deadline);
            (pending, reply)
        });
        match reply {
            Some(r) => self.on_append_reply(st, peer, &sent, r),
            None => Outcome::Unanswered(Late::Append(pending, sent)),
        }
    }

    /// Acts on an AppendEntries reply (Figure 2, "Leaders", last two rules).
    fn on_append_reply(
        &self,
        st: &mut State<C>,
        peer: usize,
        sent: &Sent,
        r: Result<AppendEntriesReply, RpcError>,
    ) -> Outcome {
        let Ok(reply) = r else {
            return Outcome::Failed; // lost, or nobody there to answer
        };
        if !self.still_leader_for(st, sent, reply.term) {
            return Outcome::Answered;
        }
        if reply.success {
            // The follower's log matches ours through prev + the entries sent.
            let matched = sent.prev_log_index + sent.n_entries;
            if matched > st.match_index[peer] {
                st.match_index[peer] = matched;
            }
            st.next_index[peer] = st.next_index[peer].max(matched + 1);
            self.advance_commit(st);
            return Outcome::Answered;
        }
        // Fast backup: skip the follower's whole conflicting term at once.
        let next = match reply.conflict_term {
            Some(t) => st
                .log
                .last_index_of_term(t)
                .map_or(reply.conflict_index, |i| i + 1),
            None => reply.conflict_index,
        };
        st.next_index[peer] = next.clamp(st.match_index[peer] + 1, st.log.last_index() + 1);
        dlog!(
            "LOG1",
            self.me,
            st.current_term,
            "S{peer} mismatch after {}: next {} (hint {:?}/{})",
            sent.prev_log_index,
            st.next_index[peer],
            reply.conflict_term,
            reply.conflict_index
        );
        Outcome::Answered
    }

    /// The prologue of every reply the leader handles: adopt a newer term the
    /// reply carries, and say whether this peer is still the leader of the term
    /// in which it sent the RPC (if not, the reply is stale and is ignored).
    /// A reply whose term cannot be real is ignored too.
    pub(crate) fn still_leader_for(&self, st: &mut State<C>, sent: &Sent, reply_term: u64) -> bool {
        if let Err(why) = validate::reply_term(reply_term) {
            dlog!("DROP", self.me, st.current_term, "reply ignored: {why}");
            return false;
        }
        !self.observe_term(st, reply_term)
            && st.role == Role::Leader
            && st.current_term == sent.term
    }

    /// Figure 2, "Leaders": if there is an N > commitIndex held by a majority
    /// with log[N].term == currentTerm, set commitIndex = N. Only entries of
    /// the current term commit by counting (§5.4.2, the Figure 8 problem).
    /// When the commit index moves, the followers are told at once (an
    /// AppendEntries carries `leader_commit`) rather than at the next heartbeat.
    pub(crate) fn advance_commit(&self, st: &mut State<C>) {
        let mut matched = st.match_index.clone();
        matched[self.me] = st.log.last_index();
        matched.sort_unstable();
        let n = matched[st.n - st.majority()];
        if n > st.commit_index && st.log.term_at(n) == Some(st.current_term) {
            // The leader counted its own log: it must be saved first.
            st.persist_if_unsaved();
            dlog!(
                "CMIT",
                self.me,
                st.current_term,
                "commit {} -> {n} (match {:?})",
                st.commit_index,
                st.match_index
            );
            st.commit_index = n;
            self.apply_cv.notify_one(&st);
            for p in (0..st.n).filter(|&p| p != self.me) {
                st.heartbeat_due[p] = true;
            }
            self.repl_cv.notify_all(&st);
        }
    }
}
