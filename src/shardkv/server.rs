//! The shardkv server (Go `shardkv/server.go`): one replica of one group.
//!
//! Its parts:
//! - the replicated state machine (`src/rsm/`) over the group's
//!   [`GroupState`]: it puts every operation through Raft and applies the
//!   group's log, in order, on every replica;
//! - the RPC handlers (`Get`, `PutAppend` from clerks; `PullShard`,
//!   `DeleteShard` from other groups), which submit operations to it;
//! - the **poller**, which every 100 ms, while this replica leads and the
//!   last change is complete, asks the shard master for the next
//!   configuration and proposes it;
//! - the **migrator**, which while this replica leads pulls the shards the
//!   group is waiting for from their old owners, and tells old owners to drop
//!   the shards that arrived (see `migration.rs`).
//!
//! Only the log changes the state: the poller and the migrator propose,
//! and every replica applies the same proposals in the same order.

use super::common::{
    ClientOp, DeleteShardArgs, DeleteShardReply, GetArgs, GetReply, PullShardArgs, PullShardReply,
    PutAppendArgs, PutAppendReply, ShardErr, ShardOp,
};
use super::group_state::{GroupState, Outcome};
use crate::debug::dlog;
use crate::rsm::{Rsm, RsmServer};
use crate::shardmaster::{self, Gid, NSHARDS};
use crate::{Persister, Raft, RaftError};
use crossbeam_channel::{select, Receiver};
use labrpc::{ClientEnd, Service};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the leader asks the shard master for the next configuration (the lab's 100 ms).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

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
    pub(super) rsm: Rsm<GroupState>,
    pub(super) make_end: MakeEnd,
    /// Ends made so far, by server name (one per server, not one per call).
    pub(super) ends: Mutex<HashMap<String, ClientEnd>>,
    /// Closed when the replica stops: the poller and the migrator select on it.
    pub(super) stopped: Receiver<()>,
    threads: Mutex<Vec<JoinHandle<()>>>,
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
        let group = GroupState::new(gid, me);
        let rsm = Rsm::start(servers, me, persister, maxraftstate, group)?;
        let inner = Arc::new(Inner {
            me,
            gid,
            stopped: rsm.stopped(),
            rsm,
            make_end,
            ends: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
        });
        let mut sm = shardmaster::Clerk::new(masters);
        inner.spawn("poller", move |s| s.poller(&mut sm));
        inner.spawn("migrator", |s| s.migrator());
        Ok(ShardKv { inner })
    }

    /// The `ShardKV` service (`Get`, `PutAppend`, and the group-to-group
    /// `PullShard`, `DeleteShard`) for a labrpc server. A server that is
    /// gone or stopped fails the call, as an unreachable one.
    pub fn service(&self) -> Service {
        let w = || Arc::downgrade(&self.inner);
        let (a, b, c, d) = (w(), w(), w(), w());
        Service::new("ShardKV")
            .method_or_fail("Get", move |args: GetArgs| live(&a).map(|s| s.get(args)))
            .method_or_fail("PutAppend", move |args: PutAppendArgs| {
                live(&b).map(|s| s.put_append(args))
            })
            .method_or_fail("PullShard", move |args: PullShardArgs| {
                live(&c).map(|s| s.pull_shard(args))
            })
            .method_or_fail("DeleteShard", move |args: DeleteShardArgs| {
                live(&d).map(|s| s.delete_shard(args))
            })
    }

    /// What this server knows of its group's shards, for dashboards (the
    /// demo's live view; not in the Go API).
    pub fn view(&self) -> GroupView {
        self.inner.rsm.read(|g| GroupView {
            config_num: g.config.num,
            shards: g.statuses(),
            recent: g.recent.iter().copied().collect(),
        })
    }

    /// This server's replicated state machine.
    pub fn rsm(&self) -> &Rsm<GroupState> {
        &self.inner.rsm
    }

    /// This server's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<ShardOp> {
        self.inner.rsm.raft()
    }

    /// Stops the server and its Raft peer; returns when their threads have exited.
    pub fn kill(&self) {
        let s = &self.inner;
        s.rsm.kill(); // closes `stopped`: the poller and the migrator return
        for t in std::mem::take(&mut *s.threads.lock()) {
            let _ = t.join();
        }
    }
}

impl RsmServer for ShardKv {
    type Machine = GroupState;
    fn rsm(&self) -> &Rsm<GroupState> {
        ShardKv::rsm(self)
    }
    fn service(&self) -> Service {
        ShardKv::service(self)
    }
    fn kill(&self) {
        ShardKv::kill(self)
    }
}

/// The server, if it is still there and running.
fn live(w: &Weak<Inner>) -> Option<Arc<Inner>> {
    w.upgrade().filter(|s| !s.rsm.killed())
}

/// A server's picture of its group: the configuration it has reached and
/// each shard's status there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// The configuration the group has reached.
    pub config_num: u64,
    /// Each shard's status at this group.
    pub shards: Vec<super::ShardStatus>,
    /// The last status changes this server applied, oldest first.
    pub recent: Vec<super::ShardChange>,
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

    fn get(&self, args: GetArgs) -> GetReply {
        let (err, value) = match self.submit_client_op(args.into()) {
            Ok(Some(value)) => (ShardErr::Ok, value),
            Ok(None) => (ShardErr::ErrNoKey, String::new()),
            Err(err) => (err, String::new()),
        };
        GetReply { err, value }
    }

    fn put_append(&self, args: PutAppendArgs) -> PutAppendReply {
        PutAppendReply {
            err: self
                .submit_client_op(args.into())
                .err()
                .unwrap_or(ShardErr::Ok),
        }
    }

    /// A clerk's operation: refused at once if this group does not serve the
    /// key now (the state machine checks again when it applies it: the group
    /// may reconfigure in between).
    fn submit_client_op(&self, op: ClientOp) -> Outcome {
        if !self.rsm.read(|g| g.serves(op.key())) {
            return Err(ShardErr::ErrWrongGroup);
        }
        self.rsm
            .submit(ShardOp::Client(op))
            .map_err(ShardErr::from)
            .and_then(|o| o)
    }

    /// Another group asks for a shard it took from this one. Answered from
    /// this replica's state, without the log: once a replica has applied the
    /// configuration that took the shard away, its contents can no longer
    /// change (no write to it is applied after that point in the log).
    fn pull_shard(&self, args: PullShardArgs) -> PullShardReply {
        let answer = if self.rsm.raft().get_state().1 {
            self.rsm
                .read(|g| g.shard_for_puller(args.config_num, args.shard))
        } else {
            Err(ShardErr::ErrWrongLeader)
        };
        match answer {
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
        if args.config_num < self.rsm.read(|g| g.config.num) {
            // We moved past that configuration: the copy was dropped already.
            return DeleteShardReply { err: ShardErr::Ok };
        }
        let op = ShardOp::DeleteShard {
            config_num: args.config_num,
            shard: args.shard,
        };
        let outcome = self.rsm.submit(op).map_err(ShardErr::from).and_then(|o| o);
        DeleteShardReply {
            err: outcome.err().unwrap_or(ShardErr::Ok),
        }
    }

    /// Waits `d`, or returns false at once if the replica stopped.
    pub(super) fn pause(&self, d: Duration) -> bool {
        select! {
            recv(self.stopped) -> _ => false,
            default(d) => !self.rsm.killed(),
        }
    }

    /// The poller thread: while leading and settled, ask for the next
    /// configuration and propose it. Also, once per term, commit what the
    /// log holds from earlier terms (`Rsm::commit_earlier_terms`: a group
    /// can have nothing to say, see notes/shardkv.md).
    fn poller(&self, sm: &mut shardmaster::Clerk) {
        while self.pause(POLL_INTERVAL) {
            self.rsm.commit_earlier_terms(ShardOp::Noop);
            let Some(next) = self.rsm.read(|g| g.settled().then_some(g.config.num + 1)) else {
                continue;
            };
            if !self.rsm.raft().get_state().1 {
                continue;
            }
            if let Some(config) = sm.try_query(next as i64) {
                if config.num == next {
                    dlog!("CLNT", self.me, 0, "G{} proposes config {next}", self.gid);
                    self.rsm.propose(ShardOp::Reconfigure(config));
                }
            }
        }
    }
}
