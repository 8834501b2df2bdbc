//! The shard master server (Go `shardmaster/server.go`): the four operations
//! go through Raft, and an applier thread applies them, in log order, to the
//! [`Configs`] every replica keeps.
//!
//! The request path is kvraft's (notes/kvraft.md): `start` the operation,
//! wait on a channel for the applier to reach its index, answer
//! `ErrWrongLeader` if another operation landed there, or when Raft says this
//! peer stopped leading (`step_downs`). Joins, Leaves and Moves
//! are applied at most once per request (a retried one is recognized by its
//! clerk's sequence number); Queries change nothing, so they need no such care.

use super::common::{SmErr, SmOp, SmReply};
use super::config::{Config, Configs};
use crate::debug::dlog;
use crate::kvraft::RequestId;
use crate::{ApplyMsg, Persister, Raft, RaftError};
use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a handler waits for its operation to commit (as in kvraft).
const COMMIT_TIMEOUT: Duration = Duration::from_millis(800);

/// A shard master server (Go `*ShardMaster`). Cloning gives another handle.
#[derive(Clone)]
pub struct ShardMaster {
    inner: Arc<Inner>,
}

struct Inner {
    me: usize,
    rf: Raft<SmOp>,
    state: Mutex<SmState>,
    dead: AtomicBool,
    kill_tx: Mutex<Option<Sender<()>>>,
    kill_rx: Receiver<()>,
    applier: Mutex<Option<JoinHandle<()>>>,
}

/// What a waiting handler gets: the configuration (for a Query), or why not.
type Answer = Result<Config, SmErr>;

struct SmState {
    configs: Configs,
    /// Each clerk's highest request number applied (duplicate detection).
    applied_seq: HashMap<u64, u64>,
    /// Log index -> the request waiting for it: its id, the term it was
    /// started in, and where its answer goes.
    waiters: HashMap<u64, (RequestId, u64, Sender<Answer>)>,
}

impl ShardMaster {
    /// Starts a shard master server and its Raft peer (Go `StartServer`).
    /// `servers[i]` reaches server `i`'s Raft. The shard master never
    /// snapshots: its state is a few configurations (as in the lab).
    pub fn start(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
    ) -> Result<ShardMaster, RaftError> {
        let (apply_tx, apply_rx) = unbounded();
        let rf = Raft::make(servers, me, persister, apply_tx)?;
        let (kill_tx, kill_rx) = bounded(0);
        let inner = Arc::new(Inner {
            me,
            rf,
            state: Mutex::new(SmState {
                configs: Configs::default(),
                applied_seq: HashMap::new(),
                waiters: HashMap::new(),
            }),
            dead: AtomicBool::new(false),
            kill_tx: Mutex::new(Some(kill_tx)),
            kill_rx,
            applier: Mutex::new(None),
        });
        let sm = inner.clone();
        let handle = std::thread::Builder::new()
            .name(format!("sm-S{me}-applier"))
            .spawn(move || sm.applier(apply_rx))
            .expect("spawn shard master applier");
        *inner.applier.lock() = Some(handle);
        Ok(ShardMaster { inner })
    }

    /// The `ShardMaster` service (`Join`, `Leave`, `Move`, `Query`) for a
    /// labrpc server. Each method takes an [`SmOp`] of its own kind.
    pub fn service(&self) -> Service {
        let mut service = Service::new("ShardMaster");
        for method in ["Join", "Leave", "Move", "Query"] {
            let sm = Arc::downgrade(&self.inner);
            // A server that is gone fails the call, as if unreachable.
            service = service.method_or_fail(method, move |op: SmOp| {
                sm.upgrade().map(|sm| sm.handle(method, op))
            });
        }
        service
    }

    /// This server's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<SmOp> {
        &self.inner.rf
    }

    /// Stops the server and its Raft peer; returns when their threads have exited.
    pub fn kill(&self) {
        let sm = &self.inner;
        sm.dead.store(true, Ordering::Release);
        drop(sm.kill_tx.lock().take()); // wakes handlers waiting for a commit
        sm.rf.kill(); // its applier exits and drops the apply channel's sender
        if let Some(h) = sm.applier.lock().take() {
            let _ = h.join();
        }
    }
}

impl Inner {
    /// One RPC: the operation must be of the method's kind.
    fn handle(&self, method: &str, op: SmOp) -> SmReply {
        let kind_matches = matches!(
            (method, &op),
            ("Join", SmOp::Join { .. })
                | ("Leave", SmOp::Leave { .. })
                | ("Move", SmOp::Move { .. })
                | ("Query", SmOp::Query { .. })
        );
        let result = if kind_matches {
            self.submit(op)
        } else {
            Err(SmErr::ErrWrongLeader) // a malformed request is never applied
        };
        match result {
            Ok(config) => SmReply {
                err: SmErr::Ok,
                config,
            },
            Err(err) => SmReply {
                err,
                config: Config::default(),
            },
        }
    }

    /// Puts `op` through Raft and waits for it to be applied.
    fn submit(&self, op: SmOp) -> Answer {
        let id = op.id();
        let rx = {
            let mut st = self.state.lock();
            if self.dead.load(Ordering::Acquire) {
                return Err(SmErr::ErrWrongLeader);
            }
            let (index, term, is_leader) = self.rf.start(op);
            if !is_leader {
                return Err(SmErr::ErrWrongLeader);
            }
            dlog!("CLNT", self.me, term, "started {id:?} at index {index}");
            let (tx, rx) = bounded(1);
            if let Some((_, _, old)) = st.waiters.insert(index, (id, term, tx)) {
                let _ = old.send(Err(SmErr::ErrWrongLeader));
            }
            rx
        };
        select! {
            recv(rx) -> r => r.unwrap_or(Err(SmErr::ErrWrongLeader)),
            recv(self.kill_rx) -> _ => Err(SmErr::ErrWrongLeader),
            default(COMMIT_TIMEOUT) => {
                self.state.lock().waiters.retain(|_, (w, _, _)| *w != id);
                Err(SmErr::ErrTimeout)
            }
        }
    }

    /// The applier thread: applies committed operations in log order, and
    /// fails the waiters of a leadership that ended (as kvraft's).
    fn applier(&self, apply_rx: Receiver<ApplyMsg<SmOp>>) {
        let step_downs = self.rf.step_downs();
        loop {
            select! {
                recv(apply_rx) -> msg => match msg {
                    Ok(ApplyMsg::Command { index, command }) => self.apply_command(index, command),
                    Ok(ApplyMsg::Snapshot { .. }) => {
                        // Only a peer that snapshots can send one, and none does.
                        log::error!(target: "DROP", "S{}: shard master got a snapshot; ignored", self.me);
                    }
                    Err(_) => return, // Raft was killed
                },
                recv(step_downs) -> _ => self.fail_orphaned_waiters(),
            }
        }
    }

    /// Applies one committed operation and answers its waiter.
    fn apply_command(&self, index: u64, command: SmOp) {
        let mut st = self.state.lock();
        let id = command.id();
        let config = st.apply(command);
        if let Some((waiter, _, tx)) = st.waiters.remove(&index) {
            let _ = tx.send(if waiter == id {
                Ok(config)
            } else {
                Err(SmErr::ErrWrongLeader) // another leader's op took our index
            });
        }
    }

    /// Raft says a leadership of this peer ended: fail at once the waiters
    /// whose operation may now never commit (see kvraft's).
    fn fail_orphaned_waiters(&self) {
        let (term, is_leader) = self.rf.get_state();
        self.state.lock().waiters.retain(|_, (_, started, tx)| {
            let alive = is_leader && *started == term;
            if !alive {
                let _ = tx.send(Err(SmErr::ErrWrongLeader));
            }
            alive
        });
    }
}

impl SmState {
    /// Applies one committed operation; returns the configuration a Query
    /// asked for (the latest for the others).
    fn apply(&mut self, op: SmOp) -> Config {
        let id = op.id();
        let fresh = self
            .applied_seq
            .get(&id.client_id)
            .is_none_or(|&s| id.seq > s);
        match op {
            SmOp::Query { num, .. } => return self.configs.query(num),
            _ if !fresh => {} // a retry of a change already made
            SmOp::Join { servers, .. } => self.configs.join(&servers),
            SmOp::Leave { gids, .. } => self.configs.leave(&gids),
            SmOp::Move { shard, gid, .. } => {
                self.configs.move_shard(shard, gid);
            }
        }
        if fresh {
            self.applied_seq.insert(id.client_id, id.seq);
        }
        self.configs.latest().clone()
    }
}
