//! The state every peer keeps (Figure 2, "State"), behind the one Raft lock.
//!
//! Helpers here take `&mut State` and never lock by themselves: whoever calls
//! them already holds the lock, and the signature says so.

use super::log::Log;
use super::saved_state::SavedState;
use super::snapshot::PendingSnapshot;
use super::Command;
use crate::debug::dlog;
use crate::persister::Persister;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

/// The time between two heartbeats of a leader: at most ten per second, as the lab requires.
pub(crate) const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);

/// Election timeouts are drawn from this range (ms). The lab asks for a leader
/// within 5 s of a failure and at most 10 heartbeats a second, so the paper's
/// 150-300 ms is too short; several heartbeat intervals must fit in one timeout.
const ELECTION_TIMEOUT_MS: std::ops::Range<u64> = 400..700;

/// What a peer is doing now (Figure 2, "Rules for Servers").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Answers leaders and candidates; stands when its election timer fires.
    Follower,
    /// Asking for votes in its current term.
    Candidate,
    /// Leads its current term: the only peer that appends entries.
    Leader,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        })
    }
}

/// One peer's Raft state. Field names follow Figure 2.
pub(crate) struct State<C> {
    /// This peer's index in `peers`.
    pub(crate) me: usize,
    /// Number of peers, this one included.
    pub(crate) n: usize,

    // Persistent state on all servers (saved before answering or sending RPCs).
    /// Latest term this peer has seen.
    pub(crate) current_term: u64,
    /// Candidate that received this peer's vote in the current term.
    pub(crate) voted_for: Option<usize>,
    /// The log, with absolute indexes.
    pub(crate) log: Log<C>,
    /// CRC-32C of the snapshot saved beside the state: saved with the state,
    /// so that a restart can tell that the two belong together.
    pub(crate) snapshot_crc: u32,
    /// True when `start` has appended entries that are not saved yet. The
    /// leader saves them once for a whole batch, before any other peer can
    /// see them (`persist_if_unsaved`), instead of once per `start`.
    pub(crate) log_unsaved: bool,

    // Volatile state on all servers.
    pub(crate) role: Role,
    /// Highest index known to be committed.
    pub(crate) commit_index: u64,
    /// Highest index handed to the applier (sent or about to be sent on the apply channel).
    pub(crate) last_applied: u64,
    /// When a follower or candidate gives up waiting and starts an election.
    pub(crate) election_deadline: Instant,
    /// Where this peer's election timeouts come from: seeded from the
    /// network's seed (`Shared::new`), so a replayed run draws the same ones.
    timer_rng: StdRng,
    /// Votes received in the current election (candidate only).
    pub(crate) votes: usize,
    /// A snapshot received from the leader, not yet handed to the applier.
    pub(crate) pending_snapshot: Option<PendingSnapshot>,

    // Volatile state on leaders (reinitialized after election).
    /// For each peer, index of the next log entry to send to it.
    pub(crate) next_index: Vec<u64>,
    /// For each peer, highest index known to be replicated on it.
    pub(crate) match_index: Vec<u64>,
    /// For each peer, set when it must hear from the leader now: by the
    /// state thread when a heartbeat is due, by `advance_commit` when the
    /// commit index moved.
    pub(crate) heartbeat_due: Vec<bool>,
    /// For each peer, set when it answers an RPC of this leadership; the
    /// state thread clears it each heartbeat (`check_quorum.rs`).
    pub(crate) answered: Vec<bool>,
    /// For each peer, heartbeat intervals in a row in which it answered nothing.
    pub(crate) silent: Vec<u32>,

    /// Set once this peer has reported that its term is the last it may
    /// hold, so the error is logged once, not at every election timeout.
    pub(crate) reported_last_term: bool,

    /// Where the persistent state goes.
    pub(crate) persister: Persister,
    /// Where each saved entry's bytes lie, so a save edits only what changed.
    pub(crate) saved: SavedState,
}

impl<C: Command> State<C> {
    /// A follower in term 0 with an empty log; its election timeouts are
    /// drawn from `timer_seed` (so a replayed seed replays them).
    pub(crate) fn new(me: usize, n: usize, persister: Persister, timer_seed: u64) -> State<C> {
        let mut st = State {
            me,
            n,
            current_term: 0,
            voted_for: None,
            log: Log::new(),
            snapshot_crc: 0,
            log_unsaved: false,
            role: Role::Follower,
            commit_index: 0,
            last_applied: 0,
            election_deadline: Instant::now(),
            timer_rng: StdRng::seed_from_u64(timer_seed),
            votes: 0,
            pending_snapshot: None,
            next_index: vec![1; n],
            match_index: vec![0; n],
            heartbeat_due: vec![false; n],
            answered: vec![false; n],
            silent: vec![0; n],
            reported_last_term: false,
            persister,
            saved: SavedState::default(),
        };
        st.reset_election_timer();
        st
    }

    /// Figure 2, "All Servers": if a message carries a term newer than ours,
    /// adopt it and become a follower. Returns true if the term changed; the
    /// caller must then wake the threads that wait on the role and save the
    /// new term and vote (`Shared::observe_term` does both).
    pub(crate) fn adopt_newer_term(&mut self, term: u64) -> bool {
        if term <= self.current_term {
            return false;
        }
        dlog!(
            "TERM",
            self.me,
            self.current_term,
            "-> T{term}, {:?} -> Follower",
            self.role
        );
        if self.role == Role::Leader {
            // A deposed leader's election deadline is long past; give the new
            // leader a full timeout to reach us before we run against it.
            self.reset_election_timer();
        }
        self.current_term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        true
    }

    /// Picks a new random election deadline from now (a follower that hears
    /// from the leader, a peer that grants a vote, a candidate starting over).
    pub(crate) fn reset_election_timer(&mut self) {
        let timeout = Duration::from_millis(self.timer_rng.random_range(ELECTION_TIMEOUT_MS));
        self.election_deadline = Instant::now() + timeout;
    }

    /// Figure 2, "Candidates", on conversion to candidate: increment
    /// currentTerm, vote for self, reset the election timer.
    pub(crate) fn stand_for_election(&mut self) {
        self.role = Role::Candidate;
        self.current_term += 1;
        self.voted_for = Some(self.me);
        self.votes = 1;
        self.reset_election_timer();
    }

    /// Counts `peer`'s answer to the RequestVote this peer sent in
    /// `sent_term`; returns true if it made this peer leader (Figure 2,
    /// "Candidates": votes from a majority). The RPC took time: a vote counts
    /// only in the election it was asked for. A vote from term 5 counted in
    /// term 6 would elect a leader nobody voted for in term 6 (two leaders in
    /// one term; notes/synchronization.md, "acting on a stale term").
    pub(crate) fn count_vote(&mut self, sent_term: u64, granted: bool, peer: usize) -> bool {
        let same_election = self.role == Role::Candidate && self.current_term == sent_term;
        #[cfg(loom)] // the bug, for the model that shows it (loom_models.rs)
        let same_election = same_election
            || (self.role == Role::Candidate && super::loom_models::stale_votes_counted());
        if !same_election || !granted {
            return false;
        }
        self.votes += 1;
        dlog!(
            "VOTE",
            self.me,
            self.current_term,
            "vote from S{peer}: {} of {}",
            self.votes,
            self.majority()
        );
        if self.votes == self.majority() {
            self.become_leader();
            return true;
        }
        false
    }

    /// A majority of `n` peers.
    pub(crate) fn majority(&self) -> usize {
        self.n / 2 + 1
    }

    /// Makes this peer the leader of its current term (Figure 2, "Leaders":
    /// reinitialize `nextIndex` and `matchIndex` after election).
    pub(crate) fn become_leader(&mut self) {
        dlog!(
            "LEAD",
            self.me,
            self.current_term,
            "leader with {} votes, last log {}/{}",
            self.votes,
            self.log.last_index(),
            self.log.last_term()
        );
        self.role = Role::Leader;
        let next = self.log.last_index() + 1;
        self.next_index = vec![next; self.n];
        self.match_index = vec![0; self.n];
        self.match_index[self.me] = self.log.last_index();
        self.heartbeat_due = vec![true; self.n];
        self.answered = vec![false; self.n];
        self.silent = vec![0; self.n];
    }
}
