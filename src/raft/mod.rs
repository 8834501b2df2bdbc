//! One Raft peer: the handle the service holds, and the state its threads share.
//!
//! Threads of one peer (see `notes/raft-design.md` for the full picture):
//!
//! | thread | file | waits on | woken by |
//! |---|---|---|---|
//! | state (1) | `state_machine.rs`, `check_quorum.rs` | `state_cv`, with a deadline | a vote thread (election won); anyone who sees a higher term (`observe_term`); the AppendEntries and InstallSnapshot handlers (a candidate steps down); `kill` |
//! | vote (1 per peer per election) | `election.rs` | the RequestVote reply | the network, `kill` |
//! | replication (1 per follower while leader) | `replication.rs` | `repl_cv`; the reply | `start` (new entries); the state thread (heartbeat due); `advance_commit` (tell followers the commit); a higher term (`observe_term`: stop); `kill` |
//! | applier (1) | `apply.rs` | `apply_cv` | a commit (`advance_commit`, or the AppendEntries handler); a snapshot to hand over (the InstallSnapshot handler); `kill` |
//!
//! The RPC handlers (`election.rs`, `append_entries.rs`, `snapshot.rs`) run
//! on labrpc's threads, take the lock, and signal as above.
//!
//! All of them share one `Mutex<State>`. Nobody holds it across an RPC or a
//! channel send.

mod append_entries;
mod apply;
mod check_quorum;
mod election;
mod log;
#[cfg(loom)]
mod loom_models;
mod persist;
mod replication;
#[cfg(test)]
mod restart_property;
mod rpc;
mod saved_state;
mod signal;
mod snapshot;
mod state;
mod state_machine;
mod validate;
pub mod wire;

pub use apply::ApplyMsg;
pub use log::Entry;

use crate::debug::dlog;
use crate::error::RaftError;
use crate::persister::Persister;
use crate::sync::Mutex;
use crossbeam_channel::{bounded, Receiver, Sender};
use labrpc::{ClientEnd, Service};
use serde::de::DeserializeOwned;
use serde::Serialize;
use signal::{Signal, Stop};
pub use state::Role;
use state::State;
use std::fmt::Debug;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What a command must be to travel in the log: cloneable (it is replicated),
/// sendable between threads, serializable (it crosses the network and goes to
/// stable storage), and printable in debug logs. Go uses `interface{}`.
pub trait Command: Clone + Send + Debug + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Debug + Serialize + DeserializeOwned + 'static> Command for T {}

/// What [`Raft::status`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The current term.
    pub term: u64,
    /// Follower, candidate or leader.
    pub role: Role,
    /// Index of the last log entry.
    pub last_log_index: u64,
    /// Highest index known to be committed.
    pub commit_index: u64,
    /// Highest index handed to the service.
    pub last_applied: u64,
    /// Last index covered by the snapshot (0 without one).
    pub snapshot_index: u64,
}

/// A Raft peer (Go `*Raft`). Cloning gives another handle to the same peer.
pub struct Raft<C: Command> {
    shared: Arc<Shared<C>>,
}

impl<C: Command> Clone for Raft<C> {
    fn clone(&self) -> Self {
        Raft {
            shared: self.shared.clone(),
        }
    }
}

/// What the peer's threads share.
pub(crate) struct Shared<C> {
    pub(crate) me: usize,
    pub(crate) peers: Vec<ClientEnd>,
    /// The Raft lock.
    pub(crate) state: Mutex<State<C>>,
    /// The state thread waits here for a role change or its deadline.
    pub(crate) state_cv: Signal,
    /// Replication threads wait here for entries to send or a heartbeat due.
    pub(crate) repl_cv: Signal,
    /// The applier waits here for commits and snapshots.
    pub(crate) apply_cv: Signal,
    /// Set by `kill` (see `signal.rs`).
    dead: Stop,
    /// The state thread sends here when a leadership ends (see `Raft::step_downs`).
    step_down_tx: Sender<()>,
    step_down_rx: Receiver<()>,
    /// Dropped by `kill`: every RPC wait and channel send selects on `kill_rx`.
    kill_tx: Mutex<Option<Sender<()>>>,
    pub(crate) kill_rx: Receiver<()>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<C: Command> Raft<C> {
    /// Creates a peer and starts its threads (Go `Make`).
    ///
    /// `peers[i]` reaches peer `i`; `peers[me]` is this peer's own end, unused.
    /// The peer starts from whatever `persister` holds; committed entries are
    /// sent on `apply_ch` as they commit. Fails, without starting anything, if
    /// the persisted state is corrupt (see [`RaftError::CorruptState`]).
    pub fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg<C>>,
    ) -> Result<Raft<C>, RaftError> {
        let shared = Shared::new(peers, me, persister)?;
        {
            let st = shared.state.lock();
            shared.spawn(&st, "state", |s| s.run());
            shared.spawn(&st, "applier", move |s| s.applier(apply_ch));
        }
        Ok(Raft { shared })
    }

    /// Proposes `command` for the log (Go `Start`). Returns at once with the
    /// index it will have if it commits, the current term, and whether this
    /// peer believes it is the leader (if not, nothing was appended).
    pub fn start(&self, command: C) -> (u64, u64, bool) {
        let s = &self.shared;
        let mut st = s.state.lock();
        if s.killed() || st.role != Role::Leader {
            return (0, st.current_term, false);
        }
        let term = st.current_term;
        let index = st.log.push(Entry { term, command });
        st.match_index[s.me] = index;
        // Saved by the replication thread before it sends the entry (one save
        // for all the entries started meanwhile), or by advance_commit.
        st.log_unsaved = true;
        s.advance_commit(&mut st); // commits at once only in a cluster of one
        dlog!("LOG1", s.me, term, "start: entry {index}");
        s.repl_cv.notify_all(&st); // replicate now, not at the next heartbeat
        (index, term, true)
    }

    /// The current term, and whether this peer believes it is the leader (Go `GetState`).
    pub fn get_state(&self) -> (u64, bool) {
        let st = self.shared.state.lock();
        (st.current_term, st.role == Role::Leader)
    }

    /// A read-only picture of the peer for dashboards and tools (not in the Go
    /// API; the tests use only `get_state`).
    pub fn status(&self) -> Status {
        let st = self.shared.state.lock();
        Status {
            term: st.current_term,
            role: st.role,
            last_log_index: st.log.last_index(),
            commit_index: st.commit_index,
            last_applied: st.last_applied,
            snapshot_index: st.log.base_index(),
        }
    }

    /// The service has saved its state through `index` in `snapshot`: Raft may
    /// drop those log entries (Go `Snapshot`). State and snapshot are saved
    /// together. Ignored if `index` is not applied yet or already snapshotted.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.shared.take_snapshot(index, snapshot);
    }

    /// A channel that gets a message whenever this peer stops being the
    /// leader of a term: deposed by a higher term, stepped down because a
    /// majority stopped answering (check-quorum), or killed. Messages
    /// coalesce (at most one is pending), so on each one look again with
    /// [`Raft::get_state`]. Not in the Go API: a kv server uses it to fail at
    /// once the requests waiting for commands it started as leader, which
    /// may now never commit. Meant for one receiver, the service.
    pub fn step_downs(&self) -> Receiver<()> {
        self.shared.step_down_rx.clone()
    }

    /// The `Raft` service with this peer's RPC handlers, for a labrpc server
    /// (Go `labrpc.MakeService(rf)`).
    pub fn service(&self) -> Service {
        rpc::service(&self.shared)
    }

    /// Stops the peer (Go `Kill`): every thread of the peer exits, and this
    /// call returns once they have. Idempotent. From then on the peer's RPC
    /// handlers fail every call, as an unreachable peer's would.
    pub fn kill(&self) {
        let s = &self.shared;
        {
            let st = s.state.lock();
            drop(s.kill_tx.lock().take());
            // Under the lock, so that no thread can check `killed()` and then
            // miss this wake-up before it waits.
            s.dead.stop(&st, &[&s.state_cv, &s.repl_cv, &s.apply_cv]);
        }
        loop {
            let threads = std::mem::take(&mut *s.threads.lock());
            if threads.is_empty() {
                break;
            }
            for t in threads {
                let _ = t.join();
            }
        }
    }

    /// Whether `kill` has been called.
    pub fn killed(&self) -> bool {
        self.shared.killed()
    }
}

impl<C: Command> Shared<C> {
    /// A peer restored from `persister`, with none of its threads started
    /// (`Raft::make` starts them; the restart property test drives the
    /// handlers and the election by hand).
    pub(crate) fn new(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
    ) -> Result<Arc<Shared<C>>, RaftError> {
        let n = peers.len();
        if me >= n {
            return Err(RaftError::BadConfig(format!(
                "me = {me}, but only {n} peers"
            )));
        }
        let mut st = State::new(me, n, persister.clone(), peers[me].derive_seed());
        let saved =
            persist::restore::<C>(&persister.read_raft_state(), &persister.read_snapshot(), n)?;
        if let Some(r) = saved {
            st.current_term = r.current_term;
            st.voted_for = r.voted_for;
            st.snapshot_crc = r.snapshot_crc;
            st.log = r.log;
            // Entries in the snapshot are committed and applied (the service
            // restores its state from the snapshot itself).
            st.commit_index = st.log.base_index();
            st.last_applied = st.log.base_index();
        }
        dlog!(
            "INFO",
            me,
            st.current_term,
            "started: log {}..={}, voted for {:?}",
            st.log.base_index(),
            st.log.last_index(),
            st.voted_for
        );
        let (kill_tx, kill_rx) = bounded(0);
        let (step_down_tx, step_down_rx) = bounded(1);
        Ok(Arc::new(Shared {
            me,
            peers,
            state: Mutex::new(st),
            state_cv: Signal::new(),
            repl_cv: Signal::new(),
            apply_cv: Signal::new(),
            dead: Stop::new(),
            step_down_tx,
            step_down_rx,
            kill_tx: Mutex::new(Some(kill_tx)),
            kill_rx,
            threads: Mutex::new(Vec::new()),
        }))
    }

    pub(crate) fn killed(&self) -> bool {
        self.dead.is_stopped()
    }

    /// Starts a thread of this peer. Taking `&State` proves the caller holds
    /// the lock, which `kill` also takes: no thread starts after `kill` began.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        _locked: &State<C>,
        what: &str,
        f: impl FnOnce(Arc<Self>) + Send + 'static,
    ) {
        if self.killed() {
            return;
        }
        let me = self.clone();
        let handle = std::thread::Builder::new()
            .name(format!("raft-S{}-{what}", self.me))
            .spawn(move || f(me))
            .expect("spawn raft thread");
        let mut threads = self.threads.lock();
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
    }

    /// Figure 2, "All Servers": a newer term in any message makes us a follower
    /// of that term. Wakes the state thread and the replication threads so they
    /// notice. Returns true if the term changed.
    pub(crate) fn observe_term(&self, st: &mut State<C>, term: u64) -> bool {
        let newer = self.observe_term_unsaved(st, term);
        if newer {
            st.persist();
        }
        newer
    }

    /// [`Shared::observe_term`] without the save, for a handler that saves
    /// once for the new term and for what it does next (`request_vote`).
    pub(crate) fn observe_term_unsaved(&self, st: &mut State<C>, term: u64) -> bool {
        let newer = st.adopt_newer_term(term);
        if newer {
            self.state_cv.notify_one(&st);
            self.repl_cv.notify_all(&st);
        }
        newer
    }

    /// A message from the leader of `term` (at least ours): adopt the term,
    /// and as a candidate step down (§5.2: a leader of our term has won);
    /// either way, wait a full election timeout before standing.
    pub(crate) fn heard_from_leader(&self, st: &mut State<C>, term: u64) {
        self.observe_term(st, term);
        if st.role == Role::Candidate {
            st.role = Role::Follower;
            self.state_cv.notify_one(&st);
        }
        st.reset_election_timer();
    }
}
