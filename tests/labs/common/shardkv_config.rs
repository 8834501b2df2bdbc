//! The shardkv tester (Go `shardkv/config.go`), on the cluster kit: one
//! network with a shard master cluster (`ctrler-0..2`) and three replica
//! groups (gids 100, 101, 102; servers `server-<gid>-<i>`), each a kit
//! cluster; clerks that reach any server by name.
//!
//! Every clerk operation of a test is recorded ([`ShardKvConfig::record`]),
//! so that a test that fails, at any check, leaves a history page with the
//! failure and the tester's faults on it (written as the test unwinds).

use super::kv_generic::{self, OpLog};
use super::suite::SuiteLock;
use labrpc::Network;
use parking_lot::Mutex;
use raft::linearizability::kv::{KvOp, KvOperation};
use raft::sharded::Sharded;
use raft::shardkv::Clerk;
use raft::shardmaster;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::Instant;

/// Replica groups.
pub const NGROUPS: usize = 3;

/// The tester's view (Go `config`): the lab 4 setup (`raft::sharded`), and
/// what the tests count.
pub struct ShardKvConfig {
    pub setup: Sharded,
    pub maxraftstate: Option<usize>,
    /// The tester's own clerk of the shard master (Go `cfg.mck`).
    pub mck: Mutex<shardmaster::Clerk>,
    start: Instant,
    t0: Mutex<Instant>,
    rpcs0: AtomicU64,
    ops: AtomicU64,
    /// Every clerk operation so far, one client per thread (`clients`).
    history: OpLog,
    clients: Mutex<HashMap<ThreadId, usize>>,
    /// The check that failed, if one did: what it said, the key it read.
    failure: Mutex<Option<(String, Option<String>)>>,
    lock: SuiteLock,
}

impl Deref for ShardKvConfig {
    type Target = Sharded;
    fn deref(&self) -> &Sharded {
        &self.setup
    }
}

/// A running test's config; dropping it cleans up.
pub struct ShardKvCfg(Arc<ShardKvConfig>);

impl Deref for ShardKvCfg {
    type Target = Arc<ShardKvConfig>;
    fn deref(&self) -> &Arc<ShardKvConfig> {
        &self.0
    }
}

impl Drop for ShardKvCfg {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.write_failure_page();
        }
        self.0.cleanup();
    }
}

/// Go `make_config(t, n, unreliable, maxraftstate)`: gids 100, 101, 102.
pub fn make_config(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> ShardKvCfg {
    let lock = SuiteLock::acquire();
    let net = Network::new();
    net.set_reliable(!unreliable);
    let setup = Sharded::new(net, &[100, 101, 102], n, maxraftstate);
    if unreliable {
        let what = "unreliable network: 10% of messages lost, the rest delayed 0-26 ms";
        setup.timeline.mark("network", what);
    }
    let mck = Mutex::new(setup.ctrler_clerk());
    ShardKvCfg(Arc::new(ShardKvConfig {
        setup,
        maxraftstate,
        mck,
        start: Instant::now(),
        t0: Mutex::new(Instant::now()),
        rpcs0: AtomicU64::new(0),
        ops: AtomicU64::new(0),
        history: OpLog::default(),
        clients: Mutex::new(HashMap::new()),
        failure: Mutex::new(None),
        lock,
    }))
}

impl ShardKvConfig {
    pub fn arc(self: &Arc<Self>) -> Arc<ShardKvConfig> {
        self.clone()
    }

    fn cleanup(&self) {
        self.setup.cleanup();
        self.lock
            .end_test(self.start, self.net.seed(), "shardkv test");
    }

    /// A clerk with its own ends to the shard master and to any server (Go `makeClient`).
    pub fn make_client(&self) -> Clerk {
        self.setup.clerk()
    }

    /// Counts one clerk operation.
    pub fn op(&self) {
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a clerk operation that was called at `call` (`kv_generic::now_ns`) and
    /// has just returned `out`. Each thread is one client of the history.
    pub fn record(&self, op: KvOp, key: &str, value: &str, out: &str, call: i64) {
        let client = {
            let mut clients = self.clients.lock();
            let next = clients.len();
            *clients.entry(thread::current().id()).or_insert(next)
        };
        kv_generic::record(Some(&self.history), client, op, key, value, out, call);
    }

    /// The history recorded so far, handed over (the record is left empty).
    pub fn take_history(&self) -> Vec<KvOperation> {
        self.history.take()
    }

    /// A check failed (of `key`, if it read one): marks it on the timeline
    /// and fails the test with `why` (the history page is written as the
    /// test unwinds, with that key's part open).
    #[track_caller]
    pub fn fail(&self, key: Option<&str>, why: &str) -> ! {
        let line = kv_generic::one_line(why);
        self.setup
            .timeline
            .mark("check", format!("check failed: {line}"));
        *self.failure.lock() = Some((line, key.map(str::to_string)));
        panic!("{why}");
    }

    /// The failing test's page: its history with the faults and the failed
    /// check (or, if the test failed elsewhere, that it did). Nothing if the
    /// history was handed over already (its own check wrote the page).
    fn write_failure_page(&self) {
        let history = self.history.take();
        if history.is_empty() {
            return;
        }
        let (why, key) = self.failure.lock().take().unwrap_or_else(|| {
            let why = "the test failed (its message is above)";
            (why.to_string(), None)
        });
        kv_generic::failure_page(&history, &self.annotations(), &why, key.as_deref());
    }

    /// Go `join(gi)`: group `gi` joins.
    pub fn join(&self, gi: usize) {
        self.joinm(&[gi]);
    }

    /// Go `joinm(gis)`: groups join together.
    pub fn joinm(&self, gis: &[usize]) {
        let m = self.setup.join_args(gis);
        let gids: Vec<_> = m.keys().collect();
        self.setup.timeline.mark("info", format!("join {gids:?}"));
        self.mck.lock().join(m);
    }

    /// Go `leave(gi)`.
    pub fn leave(&self, gi: usize) {
        self.leavem(&[gi]);
    }

    /// Go `leavem(gis)`.
    pub fn leavem(&self, gis: &[usize]) {
        let gids = self.setup.gids(gis);
        self.setup.timeline.mark("info", format!("leave {gids:?}"));
        self.mck.lock().leave(&gids);
    }

    /// Go `ShutdownGroup(gi)`.
    pub fn shutdown_group(&self, gi: usize) {
        for i in 0..self.n {
            self.shutdown_server(gi, i);
        }
    }

    /// Go `StartGroup(gi)`.
    pub fn start_group(&self, gi: usize) {
        for i in 0..self.n {
            self.start_server(gi, i);
        }
    }

    /// Go `checklogs`: no server's Raft state far above `maxraftstate`, and
    /// no snapshot at all without one.
    pub fn checklogs(&self) {
        for g in &self.groups {
            for (i, (raft, snap)) in g.cluster.persister_sizes().into_iter().enumerate() {
                match self.maxraftstate {
                    Some(max) => assert!(
                        raft <= 8 * max,
                        "server {i} of group {}: raft state {raft} bytes, but maxraftstate {max}",
                        g.gid
                    ),
                    None => assert_eq!(
                        snap, 0,
                        "maxraftstate is -1, but group {}'s server {i} has a snapshot",
                        g.gid
                    ),
                }
            }
        }
    }

    /// Raft state plus snapshot bytes over every server (challenge 1's bound).
    pub fn total_persisted(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| g.cluster.persister_sizes())
            .map(|(raft, snap)| raft + snap)
            .sum()
    }

    /// Every server's picture of its group (configuration reached, each
    /// shard's state, role) and the shard master's latest configuration:
    /// what a stuck test prints.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        if let Some(c) = self.ctl.leader().and_then(|i| self.ctl.server(i)) {
            let _ = writeln!(out, "shard master leader's latest: {:?}", c.raft().status());
        }
        let latest = self.mck.lock().try_query(-1);
        let _ = writeln!(out, "latest configuration: {latest:?}");
        for g in &self.groups {
            for i in g.cluster.all() {
                match g.cluster.server(i) {
                    Some(s) => {
                        let v = s.view();
                        let st = s.raft().status();
                        let _ = writeln!(
                            out,
                            "group {} server {i}: config {} shards {:?} raft {} T{} commit {} applied {}",
                            g.gid, v.config_num, v.shards, st.role, st.term, st.commit_index, st.last_applied
                        );
                    }
                    None => {
                        let _ = writeln!(out, "group {} server {i}: down", g.gid);
                    }
                }
            }
        }
        out
    }

    fn rpc_total(&self) -> u64 {
        self.net.total_count()
    }

    pub fn begin(&self, description: &str) {
        println!("{description} ...");
        self.setup.timeline.mark("info", description);
        *self.t0.lock() = Instant::now();
        self.rpcs0.store(self.rpc_total(), Ordering::Relaxed);
        self.ops.store(0, Ordering::Relaxed);
    }

    /// The Go lab's summary line: time, servers per group, RPCs, operations.
    pub fn end(&self) {
        let t = self.t0.lock().elapsed().as_secs_f64();
        let rpcs = self.rpc_total() - self.rpcs0.load(Ordering::Relaxed);
        let ops = self.ops.load(Ordering::Relaxed);
        println!("  ... Passed --  {t:4.1}  {} {rpcs:5} {ops:4}", self.n);
    }
}
