//! The kvraft test harness: the Go lab's `kvraft/config.go`, on the cluster
//! kit (`raft::kit::Cluster`), which does the servers' lifecycle and the
//! network; this file adds what the kv tests count and check.

use super::suite::SuiteLock;
use parking_lot::Mutex;
use raft::kit::{ClientEnds, Cluster};
use raft::kvraft::{Clerk, KvServer};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tester allows an election to take this long.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// The tester's view of a kv cluster (Go `config`).
pub struct KvConfig {
    pub n: usize,
    cluster: Cluster<KvServer>,
    inner: Mutex<Inner>,
    start: Instant,
    ops: AtomicU64,
    lock: SuiteLock,
}

struct Inner {
    t0: Instant,
    rpcs0: u64,
}

/// A clerk and its ends' names (Go keeps `clerks map[*Clerk][]string`).
pub struct KvClient {
    pub ck: Clerk,
    pub ends: ClientEnds,
}

/// A running kv test's config; dropping it cleans up.
pub struct KvCfg(Arc<KvConfig>);

impl Deref for KvCfg {
    type Target = Arc<KvConfig>;
    fn deref(&self) -> &Arc<KvConfig> {
        &self.0
    }
}

impl Drop for KvCfg {
    fn drop(&mut self) {
        self.0.cleanup();
    }
}

/// Go `make_config(t, n, unreliable, maxraftstate)`; `None` is Go's -1.
pub fn make_config(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> KvCfg {
    let lock = SuiteLock::acquire();
    let cluster = Cluster::new(n, move |ends, me, persister| {
        KvServer::start(ends, me, persister, maxraftstate)
    });
    cluster.net.set_reliable(!unreliable);
    if unreliable {
        let what =
            "unreliable network for the whole test: 10% of messages lost, the rest delayed 0-26 ms";
        cluster.timeline().mark("network", what);
    }
    KvCfg(Arc::new(KvConfig {
        n,
        cluster,
        inner: Mutex::new(Inner {
            t0: Instant::now(),
            rpcs0: 0,
        }),
        start: Instant::now(),
        ops: AtomicU64::new(0),
        lock,
    }))
}

impl KvConfig {
    /// What the tester did and when, for the history page.
    pub fn timeline(&self) -> &raft::kit::Timeline {
        self.cluster.timeline()
    }

    pub fn arc(self: &Arc<Self>) -> Arc<KvConfig> {
        self.clone()
    }

    fn cleanup(&self) {
        self.cluster.cleanup();
        self.lock
            .end_test(self.start, self.cluster.net.seed(), "kvraft test");
    }

    fn check_timeout(&self) {
        super::suite::check_time_limit(self.start);
    }

    /// An enabled end straight to server `i` (see `Cluster::end_to`).
    pub fn end_to(&self, i: usize) -> labrpc::ClientEnd {
        self.cluster.end_to(i)
    }

    /// Server `i`'s saved persister (what a restart would start from).
    pub fn saved(&self, i: usize) -> Option<raft::Persister> {
        self.cluster.saved(i)
    }

    /// The largest raft state among the servers (Go `LogSize`).
    pub fn log_size(&self) -> usize {
        self.log_sizes().into_iter().max().unwrap_or(0)
    }

    /// Each server's raft state size, for failure messages.
    pub fn log_sizes(&self) -> Vec<usize> {
        self.cluster.persister_sizes().iter().map(|s| s.0).collect()
    }

    /// The largest snapshot among the servers (Go `SnapshotSize`).
    pub fn snapshot_size(&self) -> usize {
        let sizes = self.cluster.persister_sizes();
        sizes.iter().map(|s| s.1).max().unwrap_or(0)
    }

    pub fn all(&self) -> Vec<usize> {
        self.cluster.all()
    }

    pub fn connect_all(&self) {
        self.cluster.connect_all();
    }

    /// Two partitions, each fully connected inside (Go `partition`).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        self.cluster.partition(p1, p2);
    }

    /// A clerk with its own ends to every server, enabled only to `to` (Go `makeClient`).
    pub fn make_client(&self, to: &[usize]) -> KvClient {
        let (ends, names) = self.cluster.client_ends(to);
        KvClient {
            ck: Clerk::new(ends),
            ends: names,
        }
    }

    pub fn connect_client(&self, ends: &ClientEnds, to: &[usize]) {
        self.cluster.connect_client(ends, to);
    }

    pub fn disconnect_client(&self, ends: &ClientEnds, from: &[usize]) {
        self.cluster.disconnect_client(ends, from);
    }

    /// Shuts server `i` down, keeping its persistent state (Go `ShutdownServer`).
    pub fn shutdown_server(&self, i: usize) {
        self.cluster.shutdown_server(i);
    }

    /// Starts server `i` from its saved state (Go `StartServer`); call
    /// `shutdown_server` first to restart one.
    pub fn start_server(&self, i: usize) {
        self.cluster.start_server(i);
    }

    /// Breaks every running server's duplicate detection (see `broken_server_3a`).
    pub fn disable_duplicate_detection(&self) {
        self.cluster
            .for_each_server(KvServer::disable_duplicate_detection);
    }

    /// Which server thinks it leads, if any (Go `Leader`).
    pub fn leader(&self) -> Option<usize> {
        self.cluster.leader()
    }

    /// Two partitions with the current leader in the minority (Go `make_partition`).
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let l = self.leader().unwrap_or(0);
        let others: Vec<usize> = (0..self.n).filter(|&i| i != l).collect();
        let p1 = others[..self.n / 2 + 1].to_vec();
        let mut p2 = others[self.n / 2 + 1..].to_vec();
        p2.push(l);
        (p1, p2)
    }

    pub fn rpc_total(&self) -> u64 {
        self.cluster.rpc_total()
    }

    /// Starts a test: prints its description (Go `begin`).
    pub fn begin(&self, description: &str) {
        println!("{description} ...");
        self.cluster.timeline().mark("info", description);
        let mut inner = self.inner.lock();
        inner.t0 = Instant::now();
        inner.rpcs0 = self.rpc_total();
        self.ops.store(0, Ordering::Relaxed);
    }

    /// Counts one clerk operation (Go `op`).
    pub fn op(&self) {
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends a test that passed: time, servers, RPCs, clerk operations (Go `end`).
    pub fn end(&self) {
        self.check_timeout();
        let inner = self.inner.lock();
        let t = inner.t0.elapsed().as_secs_f64();
        let nrpc = self.rpc_total() - inner.rpcs0;
        let ops = self.ops.load(Ordering::Relaxed);
        println!("  ... Passed --  {t:4.1}  {} {nrpc:5} {ops:4}", self.n);
    }
}
