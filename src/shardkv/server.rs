//! The shardkv server (Go `shardkv/server.go`): one replica of one group.
//!
//! Its threads:
//! - the RPC handlers (`Get`, `PutAppend` from clerks; `PullShard`,
//!   `DeleteShard` from other groups), which put operations through Raft and
//!   wait on a channel for the applier, as kvraft's do;
//! - the **applier**, which applies the group's log to [`GroupState`] in
//!   order and answers the waiting handlers;
//! - the **poller**, which every 100 ms, while this replica leads and the
//!   last change is complete, asks the shard master for the next
//!   configuration and puts it in the log;
//! - the **migrator**, which while this replica leads pulls the shards the
//!   group is waiting for from their old owners, and tells old owners to drop
//!   the shards that arrived (see `migration.rs`).
//!
//! Only the log changes the state: the poller and the migrator propose,
//! and every replica applies the same proposals in the same order.

use super::common::{
    DeleteShardArgs, DeleteShardReply, GetArgs, GetReply, PullShardArgs, PullShardReply,
    PutAppendArgs, PutAppendReply, ShardErr, ShardOp,
};
use super::group_state::{GroupState, Outcome};
use crate::debug::dlog;
use crate::sealed::{self, Kind};
use crate::shardmaster::{self, Gid, NSHARDS};
use crate::snapshot_policy::SnapshotPolicy;
use crate::{ApplyMsg, Persister, Raft, RaftError};
use crossbeam_channel::{bounded, select, Receiver, Sender};
use labrpc::{codec, ClientEnd, Service};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a handler waits for its operation to commit (as in kvraft).
const COMMIT_TIMEOUT: Duration = Duration::from_millis(800);
/// How often the leader asks the shard master for the next configuration (the lab's 100 ms).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Room in the apply channel (as kvraft's): Raft's applier waits when the
/// applier is this far behind, instead of queueing a restarted log at once.
const APPLY_CHANNEL_CAPACITY: usize = 256;

/// Makes an end to a server by its name (Go `make_end`): how a server
/// reaches another group, and a clerk any group.
pub type MakeEnd = Arc<dyn Fn(&str) -> ClientEnd + Send + Sync>;

/// A shardkv server (Go `*ShardKV`). Cloning gives another handle.
#[derive(Clone)]
pub struct ShardKv {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) me: usize,
    pub(super) gid: Gid,
    pub(super) rf: Raft<ShardOp>,
    persister: Persister,
    maxraftstate: Option<usize>,
    pub(super) make_end: MakeEnd,
    /// Ends made so far, by server name (one per server, not one per call).
    pub(super) ends: Mutex<HashMap<String, ClientEnd>>,
    pub(super) state: Mutex<ServerState>,
    dead: AtomicBool,
    kill_tx: Mutex<Option<Sender<()>>>,
    pub(super) kill_rx: Receiver<()>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

pub(super) struct ServerState {
    pub(super) group: GroupState,
    last_applied: u64,
    /// Log index -> the request waiting for it.
    waiters: HashMap<u64, Waiter>,
}

/// A request waiting for the operation it started to be applied (as in kvraft).
struct Waiter {
    op: ShardOp,
    /// The term in which this server, as leader, started the operation.
    term: u64,
    /// Where its outcome goes (room for one: sending never blocks).
    tx: Sender<Outcome>,
}

impl ShardKv {
    /// Starts a server of group `gid` and its Raft peer (Go `StartServer`):
    /// `servers[i]` reaches server `i` of the group, `masters` the shard
    /// master's servers, and `make_end` any server by name. Snapshots as
    /// kvraft does with `maxraftstate`; restores from the persister.
    pub fn start(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
        gid: Gid,
        masters: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> Result<ShardKv, RaftError> {
        let corrupt = |m: String| RaftError::CorruptState(format!("shardkv snapshot: {m}"));
        let snapshot = persister.read_snapshot();
        let (last_applied, group) = if snapshot.is_empty() {
            (0, GroupState::new(gid))
        } else {
            restore(&snapshot).map_err(corrupt)?
        };
        if group.gid != gid {
            return Err(corrupt(format!("it is group {}'s, not {gid}'s", group.gid)));
        }
        let (apply_tx, apply_rx) = bounded(APPLY_CHANNEL_CAPACITY);
        let rf = Raft::make(servers, me, persister.clone(), apply_tx)?;
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
            gid,
            rf,
            persister,
            maxraftstate,
            make_end,
            ends: Mutex::new(HashMap::new()),
            state: Mutex::new(ServerState {
                group,
                last_applied,
                waiters: HashMap::new(),
            }),
            dead: AtomicBool::new(false),
            kill_tx: Mutex::new(Some(kill_tx)),
            kill_rx,
            threads: Mutex::new(Vec::new()),
        });
        let mut sm = shardmaster::Clerk::new(masters);
        inner.spawn("applier", move |s| s.applier(apply_rx));
        inner.spawn("poller", move |s| s.poller(&mut sm));
        inner.spawn("migrator", |s| s.migrator());
        Ok(ShardKv { inner })
    }

    /// The `ShardKV` service (`Get`, `PutAppend`, and the group-to-group
    /// `PullShard`, `DeleteShard`) for a labrpc server.
    pub fn service(&self) -> Service {
        let w = || Arc::downgrade(&self.inner);
        let (a, b, c, d) = (w(), w(), w(), w());
        Service::new("ShardKV")
            .method_or_fail("Get", move |args: GetArgs| a.upgrade().map(|s| s.get(args)))
            .method_or_fail("PutAppend", move |args: PutAppendArgs| {
                b.upgrade().map(|s| s.put_append(args))
            })
            .method_or_fail("PullShard", move |args: PullShardArgs| {
                c.upgrade().map(|s| s.pull_shard(args))
            })
            .method_or_fail("DeleteShard", move |args: DeleteShardArgs| {
                d.upgrade().map(|s| s.delete_shard(args))
            })
    }

    /// What this server knows of its group's shards, for dashboards (the
    /// demo's live view; not in the Go API).
    pub fn view(&self) -> GroupView {
        let st = self.inner.state.lock();
        GroupView {
            config_num: st.group.config.num,
            shards: st.group.statuses(),
        }
    }

    /// This server's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<ShardOp> {
        &self.inner.rf
    }

    /// Stops the server and its Raft peer; returns when their threads have exited.
    pub fn kill(&self) {
        let s = &self.inner;
        s.dead.store(true, Ordering::Release);
        drop(s.kill_tx.lock().take()); // wakes waiting handlers, the poller and the migrator
        s.rf.kill(); // its applier exits and drops the apply channel's sender
        for t in std::mem::take(&mut *s.threads.lock()) {
            let _ = t.join();
        }
    }
}

/// A server's picture of its group: the configuration it has reached and
/// each shard's status there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// The configuration the group has reached.
    pub config_num: u64,
    /// Each shard's status at this group.
    pub shards: Vec<super::ShardStatus>,
}

/// A reconfiguration step, named for the debug log.
fn op_name(op: &ShardOp) -> String {
    match op {
        ShardOp::Get { .. } | ShardOp::PutAppend { .. } => "client op".into(),
        ShardOp::Noop => "no-op".into(),
        ShardOp::Reconfigure(c) => format!("Reconfigure({})", c.num),
        ShardOp::InsertShard {
            config_num, shard, ..
        } => format!("InsertShard({config_num}, {shard})"),
        ShardOp::DeleteShard { config_num, shard } => format!("DeleteShard({config_num}, {shard})"),
        ShardOp::ShardDone { config_num, shard } => format!("ShardDone({config_num}, {shard})"),
    }
}

/// The snapshot's bytes: the index it covers and the group's state, sealed.
fn snapshot_bytes(index: u64, group: &GroupState) -> Vec<u8> {
    let payload = codec::encode(&(index, group)).expect("a group's state always encodes");
    sealed::seal(Kind::ShardKvSnapshot, &payload)
}

fn restore(bytes: &[u8]) -> Result<(u64, GroupState), String> {
    let payload = sealed::open(Kind::ShardKvSnapshot, bytes)?;
    let (index, group): (u64, GroupState) = codec::decode(payload).map_err(|e| e.message)?;
    if group.shards.len() != NSHARDS {
        return Err(format!("{} shards, not {NSHARDS}", group.shards.len()));
    }
    Ok((index, group))
}

impl Inner {
    fn spawn(self: &Arc<Self>, what: &str, f: impl FnOnce(Arc<Self>) + Send + 'static) {
        let me = self.clone();
        let handle = std::thread::Builder::new()
            .name(format!("skv-G{}-S{}-{what}", self.gid, self.me))
            .spawn(move || f(me))
            .expect("spawn shardkv thread");
        self.threads.lock().push(handle);
    }

    pub(super) fn killed(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    fn get(&self, args: GetArgs) -> GetReply {
        let op = ShardOp::Get {
            key: args.key,
            id: args.id,
        };
        match self.submit_client_op(op) {
            Ok(Some(value)) => GetReply {
                err: ShardErr::Ok,
                value,
            },
            Ok(None) => GetReply {
                err: ShardErr::ErrNoKey,
                value: String::new(),
            },
            Err(err) => GetReply {
                err,
                value: String::new(),
            },
        }
    }

    fn put_append(&self, args: PutAppendArgs) -> PutAppendReply {
        let op = ShardOp::PutAppend {
            key: args.key,
            value: args.value,
            op: args.op,
            id: args.id,
        };
        PutAppendReply {
            err: self.submit_client_op(op).err().unwrap_or(ShardErr::Ok),
        }
    }

    /// A clerk's operation: refused at once if this group does not serve the
    /// key now (the applier checks again when it commits: the group may
    /// reconfigure in between).
    fn submit_client_op(&self, op: ShardOp) -> Outcome {
        let key = match &op {
            ShardOp::Get { key, .. } | ShardOp::PutAppend { key, .. } => key,
            _ => unreachable!("only clerks' operations come here"),
        };
        if !self.state.lock().group.serves(key) {
            return Err(ShardErr::ErrWrongGroup);
        }
        self.submit(op)
    }

    /// Another group asks for a shard it took from this one. Answered from
    /// this replica's state, without the log: once a replica has applied the
    /// configuration that took the shard away, its contents can no longer
    /// change (no write to it is applied after that point in the log).
    fn pull_shard(&self, args: PullShardArgs) -> PullShardReply {
        if !self.rf.get_state().1 {
            return PullShardReply {
                err: ShardErr::ErrWrongLeader,
                data: Default::default(),
            };
        }
        match self
            .state
            .lock()
            .group
            .shard_for_puller(args.config_num, args.shard)
        {
            Ok(data) => PullShardReply {
                err: ShardErr::Ok,
                data,
            },
            Err(err) => PullShardReply {
                err,
                data: Default::default(),
            },
        }
    }

    /// The new owner has a shard: drop our copy (challenge 1), through the log.
    fn delete_shard(&self, args: DeleteShardArgs) -> DeleteShardReply {
        if args.shard >= NSHARDS {
            return DeleteShardReply {
                err: ShardErr::ErrWrongGroup, // no such shard: never in the log
            };
        }
        if args.config_num < self.state.lock().group.config.num {
            // We moved past that configuration: the copy was dropped already.
            return DeleteShardReply { err: ShardErr::Ok };
        }
        let op = ShardOp::DeleteShard {
            config_num: args.config_num,
            shard: args.shard,
        };
        DeleteShardReply {
            err: self.submit(op).err().unwrap_or(ShardErr::Ok),
        }
    }

    /// Puts `op` through Raft and waits for the applier to apply it.
    fn submit(&self, op: ShardOp) -> Outcome {
        let rx = {
            let mut st = self.state.lock();
            if self.killed() {
                return Err(ShardErr::ErrWrongLeader);
            }
            let (index, term, is_leader) = self.rf.start(op.clone());
            if !is_leader {
                return Err(ShardErr::ErrWrongLeader);
            }
            dlog!(
                "CLNT",
                self.me,
                term,
                "G{} started {op:?} at {index}",
                self.gid
            );
            let (tx, rx) = bounded(1);
            if let Some(old) = st.waiters.insert(index, Waiter { op, term, tx }) {
                let _ = old.tx.send(Err(ShardErr::ErrWrongLeader));
            }
            rx
        };
        select! {
            recv(rx) -> r => r.unwrap_or(Err(ShardErr::ErrWrongLeader)),
            recv(self.kill_rx) -> _ => Err(ShardErr::ErrWrongLeader),
            default(COMMIT_TIMEOUT) => Err(ShardErr::ErrTimeout),
        }
    }

    /// Proposes `op` without waiting for it (the poller's and the migrator's
    /// proposals: applying one twice changes nothing).
    pub(super) fn propose(&self, op: ShardOp) {
        let _ = self.rf.start(op);
    }

    /// The applier thread: applies the log, in order, to the group's state,
    /// and fails the waiters of a leadership that ended (as kvraft's).
    fn applier(&self, apply_rx: Receiver<ApplyMsg<ShardOp>>) {
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

    /// Applies one committed operation, answers its waiter, and snapshots
    /// if Raft's state has grown too large.
    fn apply_command(
        &self,
        index: u64,
        command: ShardOp,
        snapshots: &mut SnapshotPolicy,
        caught_up: bool,
    ) {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return; // covered by a snapshot we installed
        }
        let step = !matches!(command, ShardOp::Get { .. } | ShardOp::PutAppend { .. });
        let before = step.then(|| (st.group.config.num, st.group.statuses()));
        let outcome = st.group.apply(&command);
        st.last_applied = index;
        if let Some(before) = before {
            let after = (st.group.config.num, st.group.statuses());
            if after != before {
                dlog!(
                    "INFO",
                    self.me,
                    0,
                    "G{} applied {} at {index}: config {} shards {:?}",
                    self.gid,
                    op_name(&command),
                    after.0,
                    after.1
                );
            }
        }
        if let Some(w) = st.waiters.remove(&index) {
            let answer = if w.op == command {
                outcome
            } else {
                Err(ShardErr::ErrWrongLeader)
            };
            let _ = w.tx.send(answer);
        }
        if snapshots.due(self.persister.raft_state_size(), caught_up) {
            // Encode under the lock (a consistent copy); hand it to Raft without it.
            let bytes = snapshot_bytes(index, &st.group);
            drop(st);
            self.rf.snapshot(index, bytes);
            snapshots.taken(self.persister.raft_state_size());
        }
    }

    /// Replaces the group's state with a snapshot Raft delivered. An error
    /// means it cannot be applied, and the server must stop.
    fn install_snapshot(&self, index: u64, data: &[u8]) -> Result<(), String> {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return Ok(());
        }
        match restore(data) {
            Ok((covered, group)) if covered == index && group.gid == self.gid => {
                st.group = group;
                st.last_applied = index;
            }
            Ok((covered, group)) => {
                return Err(format!(
                    "the snapshot raft delivered through {index} is group {}'s through {covered}",
                    group.gid
                ))
            }
            Err(e) => return Err(format!("the snapshot through {index} does not open: {e}")),
        }
        // Waiters at covered indexes cannot tell whether their op is in it.
        st.waiters.retain(|&i, w| {
            i > index || {
                let _ = w.tx.send(Err(ShardErr::ErrWrongLeader));
                false
            }
        });
        Ok(())
    }

    /// Raft says a leadership of this peer ended: fail at once the waiters
    /// whose operation may now never commit (see kvraft's).
    fn fail_orphaned_waiters(&self) {
        let (term, is_leader) = self.rf.get_state();
        let mut st = self.state.lock();
        st.waiters.retain(|_, w| {
            let alive = is_leader && w.term == term;
            if !alive {
                let _ = w.tx.send(Err(ShardErr::ErrWrongLeader));
            }
            alive
        });
    }

    /// Stops this server for good (as kvraft's `fail_stop`): applying on
    /// without the snapshot would make this replica diverge.
    fn fail_stop(&self, why: &str) {
        log::error!("shardkv G{} S{}: stopping: {why}", self.gid, self.me);
        self.dead.store(true, Ordering::Release);
        drop(self.kill_tx.lock().take());
        self.rf.kill();
    }

    /// A new leader commits entries of earlier terms only by committing one
    /// of its own (Figure 8, §5.4.2). kvraft always gets one from its clerks,
    /// but a group can have nothing to say: after all its servers restart,
    /// a group that only holds shards for others to pull (`Leaving`) gets no
    /// client operation, proposes no configuration (it is not settled), and
    /// its log's last entries (say the `DeleteShard` it already answered) would
    /// stay uncommitted, its state stale, forever. So a leader whose commit
    /// index lags its log proposes a no-op once per term: the blank entry
    /// that §8 of the paper has every leader commit at the start of its term,
    /// here in the service because the lab's Raft API has none.
    fn commit_earlier_terms(&self, noop_term: &mut u64) {
        let (term, leader) = self.rf.get_state();
        if !leader || *noop_term == term {
            return;
        }
        let st = self.rf.status();
        if st.commit_index < st.last_log_index {
            *noop_term = term;
            dlog!("CLNT", self.me, term, "G{} proposes a no-op", self.gid);
            self.propose(ShardOp::Noop);
        }
    }

    /// Waits `d`, or returns false at once if the server is killed.
    pub(super) fn pause(&self, d: Duration) -> bool {
        select! {
            recv(self.kill_rx) -> _ => false,
            default(d) => !self.killed(),
        }
    }

    /// The poller thread: while leading and settled, ask for the next
    /// configuration and propose it. Also, once per term, commit what the
    /// log holds from earlier terms (see `commit_earlier_terms`).
    fn poller(&self, sm: &mut shardmaster::Clerk) {
        let mut noop_term = 0;
        while self.pause(POLL_INTERVAL) {
            self.commit_earlier_terms(&mut noop_term);
            let next = {
                let st = self.state.lock();
                if !st.group.settled() {
                    continue;
                }
                st.group.config.num + 1
            };
            if !self.rf.get_state().1 {
                continue;
            }
            if let Some(config) = sm.try_query(next as i64) {
                if config.num == next {
                    dlog!("CLNT", self.me, 0, "G{} proposes config {next}", self.gid);
                    self.propose(ShardOp::Reconfigure(config));
                }
            }
        }
    }
}
