//! The replicated state machine (the 6.5840 lab's `rsm` package): the one
//! request path that every service on Raft shares.
//!
//! ```text
//!  clerk ──RPC──► service handler ──submit(op)──► Rsm ──start(op)──► Raft ──labrpc──► peers
//!                        ▲                         │                  │
//!                        └──── output or error ────┘◄── apply channel ┘
//! ```
//!
//! A service (kvraft, the shard master, shardkv) is a [`StateMachine`] and
//! RPC handlers. A handler calls [`Rsm::submit`], which starts the op on
//! Raft, registers a **waiter** under the log index and term that `start`
//! returned, and waits for it. The rsm's **applier thread** applies every
//! committed op, in log order, to the state machine, and hands the output to
//! the waiter at that index if the entry applied there is the waiter's own:
//! an index and a term name one entry (`ApplyMsg::Command`'s `term`), so an
//! entry of another term at that index means this peer lost its leadership
//! and the op may never commit (the answer is [`RsmErr::WrongLeader`]; the
//! clerk tries another server).
//!
//! The rsm also owns, once for every service: failing waiters as soon as
//! Raft says its leadership ended (`Raft::step_downs`), a timeout as the
//! backstop, snapshots (`snapshot_policy.rs`; sealed with the index they
//! cover, `snapshot.rs`), stopping for good on a snapshot it cannot apply
//! (fail-stop), and a once-per-term no-op for a service that asks for one.
//! Duplicate detection is the state machine's business; [`DuplicateTable`]
//! is the one table every service uses.

mod applier;
pub mod clerk;
mod dedup;
mod snapshot;
mod snapshot_policy;

pub use dedup::{DuplicateTable, RequestId};
pub use snapshot::{open_snapshot, seal_snapshot, take_snapshot};

use crate::debug::dlog;
use crate::sealed::Kind;
use crate::{Command, Persister, Raft, RaftError};
use crossbeam_channel::{bounded, select, Receiver, Sender};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long `submit` waits for its op to commit before answering
/// [`RsmErr::Timeout`] (the clerk then retries). Long enough for an
/// election; a lost leadership answers sooner (`step_downs`).
const COMMIT_TIMEOUT: Duration = Duration::from_millis(800);

/// Room in the apply channel: Raft's applier waits when the state machine is
/// this far behind, so a restarted peer's whole log is never queued at once.
const APPLY_CHANNEL_CAPACITY: usize = 256;

/// A service's state, as the rsm applies the log to it (Go's
/// `rsm.StateMachine`: `DoOp`, `Snapshot`, `Restore`). Every replica applies
/// the same ops in the same order, so every replica holds the same state.
pub trait StateMachine: Send + 'static {
    /// What goes in the log.
    type Op: Command;
    /// What applying an op gives the request that submitted it.
    type Output: Send + 'static;
    /// The magic its snapshots are sealed with (a kv snapshot is not a
    /// shardkv one).
    const SNAPSHOT_KIND: Kind = Kind::MachineSnapshot;

    /// Applies one committed op (Go `DoOp`). Must be deterministic: the same
    /// ops from the same state give the same state on every replica.
    fn apply(&mut self, op: Self::Op) -> Self::Output;

    /// Appends the state's bytes to `out`, for a snapshot (Go `Snapshot`,
    /// which returns them; appending lets the rsm write them straight into
    /// the sealed snapshot, without a copy of what may be a large state).
    fn snapshot(&self, out: &mut Vec<u8>);

    /// Replaces the state with one from the bytes [`StateMachine::snapshot`] wrote
    /// (Go `Restore`). Refuses, leaving the state as it was, bytes that are
    /// not such a state: the rsm then stops rather than diverge.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String>;
}

/// A server built on an [`Rsm`] (kvraft's, the shard master's, shardkv's):
/// its replicated state machine, and its own RPCs beside its Raft's. The
/// cluster kit starts, serves and kills every such server the same way.
pub trait RsmServer: Send + Sync + 'static {
    /// Its state machine.
    type Machine: StateMachine;
    /// Its replicated state machine.
    fn rsm(&self) -> &Rsm<Self::Machine>;
    /// Its own labrpc service (its clients' RPCs).
    fn service(&self) -> Service;
    /// Stops it: the rsm, its Raft peer, and any thread of its own; returns
    /// when they have exited.
    fn kill(&self) {
        self.rsm().kill()
    }
}

/// Why a submitted op has no output (Go's `rpc.ErrWrongLeader`, plus a timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsmErr {
    /// This peer is not the leader, lost its leadership before the op
    /// committed, or was killed: try another server.
    WrongLeader,
    /// The op did not commit in time (an election, a partition): try again.
    /// It may still commit; a service with a [`DuplicateTable`] applies a
    /// retried write once.
    Timeout,
}

/// One replica of a replicated state machine: a Raft peer, the state machine
/// `S`, and the applier between them (Go `*rsm.RSM`). Cloning gives another
/// handle to the same replica.
pub struct Rsm<S: StateMachine> {
    inner: Arc<Inner<S>>,
}

impl<S: StateMachine> Clone for Rsm<S> {
    fn clone(&self) -> Self {
        Rsm {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<S: StateMachine> {
    me: usize,
    rf: Raft<S::Op>,
    persister: Persister,
    maxraftstate: Option<usize>,
    /// The rsm lock: the state machine and the waiters. Taken before Raft's
    /// lock (`submit` calls `start` under it), never after.
    state: Mutex<Machine<S>>,
    dead: AtomicBool,
    /// Dropped by `kill` (and fail-stop): wakes every waiting `submit`.
    kill_tx: Mutex<Option<Sender<()>>>,
    kill_rx: Receiver<()>,
    /// The term in which this peer last proposed a no-op.
    noop_term: AtomicU64,
    applier: Mutex<Option<JoinHandle<()>>>,
}

/// What the rsm lock guards.
struct Machine<S: StateMachine> {
    sm: S,
    /// The last log index applied to `sm`.
    last_applied: u64,
    /// Log index -> the request waiting for the op it started there.
    waiters: HashMap<u64, Waiter<S::Output>>,
}

/// A request waiting for the op it started to be applied.
struct Waiter<O> {
    /// The term in which this peer, as leader, started the op: with the
    /// index, the name of the entry the op went into.
    term: u64,
    /// Where the outcome goes (room for one: sending never blocks).
    tx: Sender<Result<O, RsmErr>>,
}

impl<S: StateMachine> Rsm<S> {
    /// Starts a replica (Go `MakeRSM`): its Raft peer on `servers` (peer `i`
    /// through `servers[i]`), restored from `persister`, and the applier.
    /// `sm` is the empty state; if the persister holds a snapshot, the state
    /// is restored from it. With `maxraftstate = Some(n)` the rsm snapshots
    /// whenever Raft's saved state reaches `n` bytes; `None` (Go's -1) never.
    ///
    /// Fails, starting nothing, if the snapshot does not open or does not
    /// cover exactly what Raft's saved state says it covers.
    pub fn start(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
        mut sm: S,
    ) -> Result<Rsm<S>, RaftError> {
        let corrupt = |m: String| RaftError::CorruptState(format!("snapshot: {m}"));
        let snapshot = persister.read_snapshot();
        let last_applied = if snapshot.is_empty() {
            0
        } else {
            let (index, bytes) = open_snapshot(S::SNAPSHOT_KIND, &snapshot).map_err(corrupt)?;
            sm.restore(bytes).map_err(corrupt)?;
            index
        };
        let (apply_tx, apply_rx) = bounded(APPLY_CHANNEL_CAPACITY);
        let rf = Raft::make(servers, me, persister.clone(), apply_tx)?;
        // Raft's log starts right after the snapshot it saved; the state must
        // cover exactly that much, or entries would be skipped or applied twice.
        let raft_base = rf.status().snapshot_index;
        if raft_base != last_applied {
            rf.kill();
            return Err(corrupt(format!(
                "it covers the log through {last_applied}, raft's snapshot through {raft_base}"
            )));
        }
        let (kill_tx, kill_rx) = bounded(0);
        let inner = Arc::new(Inner {
            me,
            rf,
            persister,
            maxraftstate,
            state: Mutex::new(Machine {
                sm,
                last_applied,
                waiters: HashMap::new(),
            }),
            dead: AtomicBool::new(false),
            kill_tx: Mutex::new(Some(kill_tx)),
            kill_rx,
            noop_term: AtomicU64::new(0),
            applier: Mutex::new(None),
        });
        let rsm = inner.clone();
        let handle = std::thread::Builder::new()
            .name(format!("rsm-S{me}-applier"))
            .spawn(move || rsm.applier(apply_rx))
            .expect("spawn rsm applier");
        *inner.applier.lock() = Some(handle);
        Ok(Rsm { inner })
    }

    /// Puts `op` through Raft and waits until it is applied (Go `Submit`):
    /// its output, or why there is none.
    pub fn submit(&self, op: S::Op) -> Result<S::Output, RsmErr> {
        let s = &self.inner;
        let (index, term, rx) = {
            let mut st = s.state.lock();
            if s.killed() {
                return Err(RsmErr::WrongLeader);
            }
            let (index, term, is_leader) = s.rf.start(op);
            if !is_leader {
                return Err(RsmErr::WrongLeader);
            }
            dlog!("CLNT", s.me, term, "submitted at index {index}");
            let (tx, rx) = bounded(1);
            // An older waiter at this index was from a lost leadership.
            if let Some(old) = st.waiters.insert(index, Waiter { term, tx }) {
                let _ = old.tx.send(Err(RsmErr::WrongLeader));
            }
            (index, term, rx)
        };
        select! {
            recv(rx) -> r => r.unwrap_or(Err(RsmErr::WrongLeader)),
            recv(s.kill_rx) -> _ => Err(RsmErr::WrongLeader),
            default(COMMIT_TIMEOUT) => {
                // Forget our waiter so the map does not grow; the op may
                // still commit later.
                let mut st = s.state.lock();
                if st.waiters.get(&index).is_some_and(|w| w.term == term) {
                    st.waiters.remove(&index);
                }
                Err(RsmErr::Timeout)
            }
        }
    }

    /// Starts `op` on Raft without waiting for it; whether this peer leads.
    /// For ops whose proposer needs no answer (shardkv's configuration
    /// changes and shard moves: applying one twice changes nothing).
    pub fn propose(&self, op: S::Op) -> bool {
        !self.inner.killed() && self.inner.rf.start(op).2
    }

    /// Proposes `noop` once per term if this peer leads and its log holds
    /// entries not yet committed. A new leader commits entries of earlier
    /// terms only by committing one of its own (Figure 8, §5.4.2); a service
    /// whose clients may fall silent (a shardkv group that only holds shards
    /// for others) calls this now and then, so that its log's tail does not
    /// stay uncommitted forever. The blank entry of §8, here because the
    /// lab's Raft API has none.
    pub fn commit_earlier_terms(&self, noop: S::Op) {
        let s = &self.inner;
        let (term, leader) = s.rf.get_state();
        if !leader || s.noop_term.load(Ordering::Acquire) == term {
            return;
        }
        let st = s.rf.status();
        if st.commit_index < st.last_log_index {
            s.noop_term.store(term, Ordering::Release);
            dlog!("CLNT", s.me, term, "proposes a no-op");
            self.propose(noop);
        }
    }

    /// Reads the state machine under the rsm lock (a handler's check, a
    /// dashboard's view). Keep `f` short: the applier waits meanwhile.
    pub fn read<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(&self.inner.state.lock().sm)
    }

    /// Changes the state machine outside the log. Only for tests that break
    /// a service on purpose (the kv test that switches duplicate detection off).
    #[doc(hidden)]
    pub fn tamper(&self, f: impl FnOnce(&mut S)) {
        f(&mut self.inner.state.lock().sm)
    }

    /// This replica's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<S::Op> {
        &self.inner.rf
    }

    /// A channel that is closed once this replica stops (killed, or stopped
    /// on a bad snapshot): a service's own threads select on it.
    pub fn stopped(&self) -> Receiver<()> {
        self.inner.kill_rx.clone()
    }

    /// Whether this replica has stopped.
    pub fn killed(&self) -> bool {
        self.inner.killed()
    }

    /// Stops the replica and its Raft peer; returns when their threads have
    /// exited. Every waiting `submit` returns [`RsmErr::WrongLeader`].
    pub fn kill(&self) {
        let s = &self.inner;
        s.stop();
        if let Some(h) = s.applier.lock().take() {
            let _ = h.join();
        }
    }
}

impl<S: StateMachine> Inner<S> {
    fn killed(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Marks the replica dead, wakes every waiter, and kills Raft (whose
    /// applier then drops the apply channel, and the rsm's applier exits).
    fn stop(&self) {
        self.dead.store(true, Ordering::Release);
        drop(self.kill_tx.lock().take());
        self.rf.kill();
    }
}

/// A handle to a replica that does not keep it alive: what an RPC handler on
/// a labrpc server holds (the network must not keep a dropped replica, and
/// its Raft peer's ends, alive).
pub struct WeakRsm<S: StateMachine>(Weak<Inner<S>>);

impl<S: StateMachine> Rsm<S> {
    /// A [`WeakRsm`] to this replica.
    pub fn downgrade(&self) -> WeakRsm<S> {
        WeakRsm(Arc::downgrade(&self.inner))
    }
}

impl<S: StateMachine> WeakRsm<S> {
    /// The replica, if it is still there and not stopped: a handler without
    /// one fails the call, as an unreachable server's would (a made-up
    /// reply would be acted on).
    pub fn upgrade(&self) -> Option<Rsm<S>> {
        self.0
            .upgrade()
            .filter(|inner| !inner.killed())
            .map(|inner| Rsm { inner })
    }
}
