//! Leader election (Figure 2: RequestVote RPC, "Candidates"; §5.2, §5.4.1).
//!
//! The state thread starts an election; one **vote thread** per peer asks for
//! that peer's vote and counts it under the lock. The vote thread that brings
//! the count to a majority makes the peer leader on the spot and signals the
//! state thread, which then runs the leader's loop (the design note's lesson:
//! settle a result where it arises instead of passing it back up).

use super::rpc::{RequestVoteArgs, RequestVoteReply, REQUEST_VOTE};
use super::state::{Role, State};
use super::validate;
use super::{Command, Shared};
use crate::debug::dlog;
use std::sync::Arc;
use std::time::Instant;

impl<C: Command> Shared<C> {
    /// Figure 2, "Candidates": increment currentTerm, vote for self, reset the
    /// election timer, send RequestVote RPCs to all other servers.
    ///
    /// A peer whose term has reached [`validate::MAX_TERM`] does not stand:
    /// the next term would be one that it, and every other peer, refuses
    /// (see [`validate::may_stand`]).
    pub(crate) fn start_election(self: &Arc<Self>, st: &mut State<C>) {
        if !validate::may_stand(st.current_term) {
            self.decline_to_stand(st);
            return;
        }
        st.stand_for_election();
        st.persist();
        dlog!(
            "VOTE",
            self.me,
            st.current_term,
            "election: last log {}/{}",
            st.log.last_index(),
            st.log.last_term()
        );
        if st.votes >= st.majority() {
            st.become_leader(); // a cluster of one
            return;
        }
        let args = RequestVoteArgs {
            term: st.current_term,
            candidate_id: self.me,
            last_log_index: st.log.last_index(),
            last_log_term: st.log.last_term(),
        };
        // A vote that arrives after this election timed out is of no use.
        let deadline = st.election_deadline;
        for peer in (0..self.peers.len()).filter(|&p| p != self.me) {
            let args = args.clone();
            self.spawn(st, &format!("vote-{peer}"), move |s| {
                s.vote_thread(peer, args, deadline)
            });
        }
    }

    /// The term is at the bound: stay a follower (still accepting entries
    /// from a leader of this term) and say so once, as an error: only a
    /// forged or garbled term can bring a cluster here.
    fn decline_to_stand(&self, st: &mut State<C>) {
        if !st.reported_last_term {
            st.reported_last_term = true;
            log::error!(
                "S{}: term {} is the last a peer may hold; not standing for election",
                self.me,
                st.current_term
            );
        }
        st.role = Role::Follower;
        st.reset_election_timer();
    }

    /// One vote thread: ask `peer`, then count its answer.
    fn vote_thread(&self, peer: usize, args: RequestVoteArgs, deadline: Instant) {
        let pending = self.send::<_, RequestVoteReply>(peer, REQUEST_VOTE, &args);
        let reply = match pending.wait_deadline(&self.kill_rx, deadline) {
            Some(Ok(reply)) => reply,
            _ => return, // lost, timed out, or killed: no vote
        };
        let mut st = self.state.lock();
        if let Err(why) = validate::reply_term(reply.term) {
            dlog!(
                "DROP",
                self.me,
                st.current_term,
                "vote reply from S{peer}: {why}"
            );
            return;
        }
        if self.observe_term(&mut st, reply.term) {
            return;
        }
        if st.count_vote(args.term, reply.vote_granted, peer) {
            self.state_cv.notify_one(&st); // the state thread runs the leader's loop
        }
    }

    /// RequestVote RPC handler (Figure 2, "Receiver implementation").
    pub(crate) fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        let mut st = self.state.lock();
        if let Err(why) = validate::request_vote(&args, st.n, self.me) {
            dlog!(
                "DROP",
                self.me,
                st.current_term,
                "RequestVote refused: {why}"
            );
            return RequestVoteReply {
                term: st.current_term,
                vote_granted: false,
            };
        }
        // A newer term is saved below, with the vote if one is granted: one
        // write, before the reply leaves (Figure 2: persist before responding).
        let newer_term = self.observe_term_unsaved(&mut st, args.term);
        let mut reply = RequestVoteReply {
            term: st.current_term,
            vote_granted: false,
        };
        // Rule 1: reply false if term < currentTerm.
        if args.term < st.current_term {
            dlog!(
                "VOTE",
                self.me,
                st.current_term,
                "refused S{}: its term {} is old",
                args.candidate_id,
                args.term
            );
            return reply;
        }
        // Rule 2: grant if votedFor is null or candidateId, and the candidate's
        // log is at least as up-to-date as ours (§5.4.1: compare last terms,
        // then lengths).
        let free = st.voted_for.is_none_or(|v| v == args.candidate_id);
        let up_to_date =
            (args.last_log_term, args.last_log_index) >= (st.log.last_term(), st.log.last_index());
        if free && up_to_date {
            st.voted_for = Some(args.candidate_id);
            st.reset_election_timer();
            reply.vote_granted = true;
        }
        if newer_term || reply.vote_granted {
            st.persist();
        }
        dlog!(
            "VOTE",
            self.me,
            st.current_term,
            "{} S{} (its last log {}/{}, mine {}/{}, voted for {:?})",
            if reply.vote_granted {
                "granted vote to"
            } else {
                "refused"
            },
            args.candidate_id,
            args.last_log_index,
            args.last_log_term,
            st.log.last_index(),
            st.log.last_term(),
            st.voted_for
        );
        reply
    }
}
