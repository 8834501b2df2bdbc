//! The kv server (Go `kvraft/server.go`): handlers that put operations through
//! Raft, and an applier thread that applies what commits.
//!
//! A request's path: the handler calls `rf.start(op)`, registers a waiter for
//! the log index it got, and waits on a channel (with a timeout) for the
//! applier to reach that index. The applier applies each committed op to the
//! [`Store`], and answers the waiter if the op applied at its index is the
//! waiter's own; if another op landed there, leadership was lost and the
//! answer is `ErrWrongLeader`, so the clerk tries elsewhere.
//!
//! A waiter does not wait for its whole timeout when this server stops
//! leading: Raft says so on its `step_downs` channel (deposed by a higher
//! term, or cut off from a majority), and the applier then fails every
//! waiter started in another term or on a server that no longer leads.

use super::common::{GetArgs, GetReply, KvErr, Op, PutAppendArgs, PutAppendReply, RequestId};
use super::store::Store;
use crate::debug::dlog;
use crate::snapshot_policy::SnapshotPolicy;
use crate::{ApplyMsg, Persister, Raft, RaftError};
use crossbeam_channel::{bounded, select, Receiver, Sender};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a handler waits for its operation to commit before answering
/// `ErrTimeout` (the clerk then retries). Long enough for an election. A lost
/// leadership answers sooner (`step_downs`); this is the backstop.
const COMMIT_TIMEOUT: Duration = Duration::from_millis(800);

/// Room in the apply channel: Raft's applier waits when the kv server is this
/// far behind, so a restarted server's whole log is never queued at once.
const APPLY_CHANNEL_CAPACITY: usize = 256;

/// A kv server (Go `*KVServer`). Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct KvServer {
    inner: Arc<Inner>,
}

struct Inner {
    me: usize,
    rf: Raft<Op>,
    persister: Persister,
    maxraftstate: Option<usize>,
    state: Mutex<KvState>,
    dead: AtomicBool,
    kill_tx: Mutex<Option<Sender<()>>>,
    kill_rx: Receiver<()>,
    applier: Mutex<Option<JoinHandle<()>>>,
}

/// What a handler waits for: the value read (for a Get), or why it failed.
type Answer = Result<Option<String>, KvErr>;

struct KvState {
    store: Store,
    last_applied: u64,
    /// Log index -> the request waiting for it.
    waiters: HashMap<u64, Waiter>,
}

/// A request waiting for the operation it started to be applied.
struct Waiter {
    id: RequestId,
    /// The term in which this server, as leader, started the operation.
    term: u64,
    /// Where its result goes (room for one: sending never blocks).
    tx: Sender<Answer>,
}

impl KvServer {
    /// Starts a kv server and its Raft peer (Go `StartKVServer`). `servers[i]`
    /// reaches server `i`'s Raft. With `maxraftstate = Some(n)`, the server
    /// snapshots whenever Raft's persisted state reaches `n` bytes; `None`
    /// (Go's -1) never snapshots. Restores from the persister's snapshot.
    pub fn start(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
    ) -> Result<KvServer, RaftError> {
        // Raft restarts from its snapshot: the entries it covers are in `store`.
        let snapshot = persister.read_snapshot();
        let (last_applied, store) = if snapshot.is_empty() {
            (0, Store::default())
        } else {
            Store::restore(&snapshot)
                .map_err(|e| RaftError::CorruptState(format!("kv snapshot: {e}")))?
        };
        let (apply_tx, apply_rx) = bounded(APPLY_CHANNEL_CAPACITY);
        let rf = Raft::make(servers, me, persister.clone(), apply_tx)?;
        // Raft's log starts right after the snapshot it saved; the store must
        // cover exactly that much, or entries would be skipped or applied twice.
        let raft_base = rf.status().snapshot_index;
        if raft_base != last_applied {
            rf.kill();
            return Err(RaftError::CorruptState(format!(
                "kv snapshot covers the log through {last_applied}, raft's snapshot through {raft_base}"
            )));
        }
        let (kill_tx, kill_rx) = bounded(0);
        let inner = Arc::new(Inner {
            me,
            rf,
            persister,
            maxraftstate,
            state: Mutex::new(KvState {
                store,
                last_applied,
                waiters: HashMap::new(),
            }),
            dead: AtomicBool::new(false),
            kill_tx: Mutex::new(Some(kill_tx)),
            kill_rx,
            applier: Mutex::new(None),
        });
        let kv = inner.clone();
        let handle = std::thread::Builder::new()
            .name(format!("kv-S{me}-applier"))
            .spawn(move || kv.applier(apply_rx))
            .expect("spawn kv applier");
        *inner.applier.lock() = Some(handle);
        Ok(KvServer { inner })
    }

    /// The `KVServer` service (`Get`, `PutAppend`) for a labrpc server.
    pub fn service(&self) -> Service {
        let (a, b) = (Arc::downgrade(&self.inner), Arc::downgrade(&self.inner));
        Service::new("KVServer")
            .method("Get", move |args: GetArgs| match a.upgrade() {
                Some(kv) => kv.get(args),
                None => GetReply {
                    err: KvErr::ErrWrongLeader,
                    value: String::new(),
                },
            })
            .method("PutAppend", move |args: PutAppendArgs| match b.upgrade() {
                Some(kv) => kv.put_append(args),
                None => PutAppendReply {
                    err: KvErr::ErrWrongLeader,
                },
            })
    }

    /// Breaks the server on purpose: retried writes are applied again. Only
    /// for the test that shows the linearizability checker catching it.
    #[doc(hidden)]
    pub fn disable_duplicate_detection(&self) {
        self.inner.state.lock().store.check_duplicates = false;
    }

    /// This server's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<Op> {
        &self.inner.rf
    }

    /// Stops the server and its Raft peer; returns when their threads have exited.
    pub fn kill(&self) {
        let kv = &self.inner;
        kv.dead.store(true, Ordering::Release);
        drop(kv.kill_tx.lock().take()); // wakes handlers waiting for a commit
        kv.rf.kill(); // its applier exits and drops the apply channel's sender
        if let Some(h) = kv.applier.lock().take() {
            let _ = h.join();
        }
    }
}

impl Inner {
    fn get(&self, args: GetArgs) -> GetReply {
        let op = Op::Get {
            key: args.key,
            id: args.id,
        };
        match self.submit(op) {
            Ok(Some(value)) => GetReply {
                err: KvErr::Ok,
                value,
            },
            Ok(None) => GetReply {
                err: KvErr::ErrNoKey,
                value: String::new(),
            },
            Err(err) => GetReply {
                err,
                value: String::new(),
            },
        }
    }

    fn put_append(&self, args: PutAppendArgs) -> PutAppendReply {
        let op = Op::PutAppend {
            key: args.key,
            value: args.value,
            op: args.op,
            id: args.id,
        };
        PutAppendReply {
            err: self.submit(op).err().unwrap_or(KvErr::Ok),
        }
    }

    /// Puts `op` through Raft and waits for it to be applied.
    fn submit(&self, op: Op) -> Result<Option<String>, KvErr> {
        let id = op.id();
        let rx = {
            let mut st = self.state.lock();
            if self.dead.load(Ordering::Acquire) {
                return Err(KvErr::ErrWrongLeader);
            }
            if matches!(op, Op::PutAppend { .. }) && st.store.is_duplicate(id.client_id, id.seq) {
                dlog!(
                    "CLNT",
                    self.me,
                    self.rf.get_state().0,
                    "{id:?} applied already"
                );
                return Ok(None); // applied already; the first reply was lost
            }
            let (index, term, is_leader) = self.rf.start(op);
            if !is_leader {
                return Err(KvErr::ErrWrongLeader);
            }
            dlog!("CLNT", self.me, term, "started {id:?} at index {index}");
            let (tx, rx) = bounded(1);
            // An older waiter at this index was from a lost leadership.
            if let Some(old) = st.waiters.insert(index, Waiter { id, term, tx }) {
                let _ = old.tx.send(Err(KvErr::ErrWrongLeader));
            }
            rx
        };
        select! {
            recv(rx) -> r => r.unwrap_or(Err(KvErr::ErrWrongLeader)),
            recv(self.kill_rx) -> _ => Err(KvErr::ErrWrongLeader),
            default(COMMIT_TIMEOUT) => {
                // Forget our waiter so the map does not grow; the op may still
                // commit later, and duplicate detection makes a retry safe.
                self.state.lock().waiters.retain(|_, w| w.id != id);
                Err(KvErr::ErrTimeout)
            }
        }
    }

    /// Stops this server for good because applying on would be wrong: says
    /// why once, fails every waiting request, and kills Raft so that the peer
    /// acknowledges nothing from now on (a silent replica, not a lying one).
    /// Its persister keeps the bad snapshot, so a restart on it fails too.
    fn fail_stop(&self, why: &str) {
        log::error!("kv S{}: stopping: {why}", self.me);
        self.dead.store(true, Ordering::Release);
        drop(self.kill_tx.lock().take());
        self.rf.kill();
    }

    /// The applier thread: applies committed operations and snapshots in log
    /// order, and fails the waiters of a leadership that ended.
    fn applier(&self, apply_rx: Receiver<ApplyMsg<Op>>) {
        let step_downs = self.rf.step_downs();
        let mut snapshots = SnapshotPolicy::new(self.maxraftstate);
        loop {
            select! {
                recv(apply_rx) -> msg => match msg {
                    Ok(ApplyMsg::Command { index, command }) => {
                        let caught_up = apply_rx.is_empty();
                        self.apply_command(index, command, &mut snapshots, caught_up)
                    }
                    Ok(ApplyMsg::Snapshot { index, data, .. }) => {
                        if let Err(why) = self.install_snapshot(index, &data) {
                            return self.fail_stop(&why);
                        }
                    }
                    Err(_) => return, // Raft was killed: nothing more will come
                },
                recv(step_downs) -> _ => self.fail_orphaned_waiters(),
            }
        }
    }

    /// Applies one committed operation, answers its waiter, and snapshots if
    /// Raft's state has grown too large.
    fn apply_command(
        &self,
        index: u64,
        command: Op,
        snapshots: &mut SnapshotPolicy,
        caught_up: bool,
    ) {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return; // covered by a snapshot we already installed
        }
        let result = st.store.apply(&command);
        st.last_applied = index;
        if let Some(w) = st.waiters.remove(&index) {
            // Our op, or another leader's op at the index we were given?
            let answer = if w.id == command.id() {
                Ok(result)
            } else {
                Err(KvErr::ErrWrongLeader)
            };
            let _ = w.tx.send(answer);
        }
        if snapshots.due(self.persister.raft_state_size(), caught_up) {
            // Encoded under the lock (the store must hold still), handed to
            // Raft without it: saving takes Raft's lock and the persister's,
            // and handlers need not wait for that.
            let data = st.store.snapshot(index);
            drop(st);
            self.rf.snapshot(index, data);
            snapshots.taken(self.persister.raft_state_size());
        }
    }

    /// Replaces the store with a snapshot Raft delivered (from the leader).
    /// An error means the snapshot cannot be applied, and the server must stop.
    fn install_snapshot(&self, index: u64, data: &[u8]) -> Result<(), String> {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return Ok(());
        }
        // Only a kv server writes these bytes. One that does not open, or
        // covers another index than Raft says, cannot be applied, and going
        // on without it would diverge.
        match Store::restore(data) {
            Ok((covered, store)) if covered == index => {
                let check = st.store.check_duplicates;
                st.store = store;
                st.store.check_duplicates = check;
            }
            Ok((covered, _)) => {
                return Err(format!(
                    "the snapshot raft delivered through {index} covers {covered}"
                ))
            }
            Err(e) => return Err(format!("the snapshot through {index} does not open: {e}")),
        }
        st.last_applied = index;
        // Waiters at covered indexes cannot tell whether their op is in it.
        st.waiters.retain(|&i, w| {
            i > index || {
                let _ = w.tx.send(Err(KvErr::ErrWrongLeader));
                false
            }
        });
        Ok(())
    }

    /// Raft says a leadership of this peer ended: an operation started in
    /// another term than the current one, or on a peer that no longer leads,
    /// may never commit. Its waiter hears `ErrWrongLeader` now, not after the
    /// commit timeout. (If it does commit after all, the clerk's retry is
    /// recognised as a duplicate.)
    fn fail_orphaned_waiters(&self) {
        let (term, is_leader) = self.rf.get_state();
        let mut st = self.state.lock();
        st.waiters.retain(|&index, w| {
            let alive = is_leader && w.term == term;
            if !alive {
                dlog!(
                    "CLNT",
                    self.me,
                    term,
                    "{:?} at {index}: leadership of T{} lost",
                    w.id,
                    w.term
                );
                let _ = w.tx.send(Err(KvErr::ErrWrongLeader));
            }
            alive
        });
    }
}
