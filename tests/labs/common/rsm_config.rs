//! The rsm test harness: the 2025 Go lab's `kvraft1/rsm/test.go`, on the
//! cluster kit. Three servers, each an [`Rsm`] over a counter; the tests
//! submit straight to the servers' rsms, as Go's do.

use super::suite::SuiteLock;
use labrpc::{codec, ClientEnd, Service};
use parking_lot::Mutex;
use raft::kit::Cluster;
use raft::rsm::{Rsm, RsmServer, StateMachine};
use raft::{Persister, RaftError};
use serde::{Deserialize, Serialize};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Servers in every rsm test (Go `NSRV`).
pub const NSRV: usize = 3;
/// How long `one_partition` keeps trying (Go `NSEC`).
pub const NSEC: Duration = Duration::from_secs(10);

/// The counter's ops (Go `Inc`, `Dec`, `Null`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterOp {
    Inc,
    Dec,
    Null,
}

/// The test's state machine: one counter (Go `rsmSrv`'s `counter`).
#[derive(Debug, Default)]
pub struct Counter {
    pub n: i64,
}

impl StateMachine for Counter {
    type Op = CounterOp;
    /// The counter after the op.
    type Output = i64;

    fn apply(&mut self, op: CounterOp) -> i64 {
        match op {
            CounterOp::Inc => self.n += 1,
            CounterOp::Dec => self.n -= 1,
            CounterOp::Null => {}
        }
        self.n
    }

    fn snapshot(&self, out: &mut Vec<u8>) {
        codec::encode_into(&self.n, out).unwrap()
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.n = codec::decode(bytes).map_err(|e| e.message)?;
        Ok(())
    }
}

/// One server: an rsm over a counter, with no RPCs of its own.
#[derive(Clone)]
pub struct CounterServer {
    rsm: Rsm<Counter>,
}

impl RsmServer for CounterServer {
    type Machine = Counter;
    fn rsm(&self) -> &Rsm<Counter> {
        &self.rsm
    }
    fn service(&self) -> Service {
        Service::new("Counter")
    }
}

fn start(
    ends: Vec<ClientEnd>,
    me: usize,
    persister: Persister,
    maxraftstate: Option<usize>,
) -> Result<CounterServer, RaftError> {
    let rsm = Rsm::start(ends, me, persister, maxraftstate, Counter::default())?;
    Ok(CounterServer { rsm })
}

/// The tester's view of an rsm group (Go `Test`).
pub struct RsmTest {
    pub maxraftstate: Option<usize>,
    cluster: Cluster<CounterServer>,
    /// The server that answered last (Go `ts.leader`).
    leader: Mutex<usize>,
    connected: Mutex<Vec<bool>>,
    t0: Mutex<Instant>,
    rpcs0: AtomicU64,
    ops: AtomicU64,
    start: Instant,
    lock: SuiteLock,
}

/// A running rsm test; dropping it cleans up.
pub struct RsmCfg(Arc<RsmTest>);

impl Deref for RsmCfg {
    type Target = Arc<RsmTest>;
    fn deref(&self) -> &Arc<RsmTest> {
        &self.0
    }
}

impl Drop for RsmCfg {
    fn drop(&mut self) {
        self.0.cleanup();
    }
}

/// Go `makeTest(t, maxraftstate)`; `None` is Go's -1.
pub fn make_test(maxraftstate: Option<usize>) -> RsmCfg {
    let lock = SuiteLock::acquire();
    let cluster = Cluster::new(NSRV, move |ends, me, p| start(ends, me, p, maxraftstate));
    RsmCfg(Arc::new(RsmTest {
        maxraftstate,
        cluster,
        leader: Mutex::new(0),
        connected: Mutex::new(vec![true; NSRV]),
        t0: Mutex::new(Instant::now()),
        rpcs0: AtomicU64::new(0),
        ops: AtomicU64::new(0),
        start: Instant::now(),
        lock,
    }))
}

impl RsmTest {
    pub fn arc(self: &Arc<Self>) -> Arc<RsmTest> {
        self.clone()
    }

    fn cleanup(&self) {
        self.cluster.cleanup();
        self.lock
            .end_test(self.start, self.cluster.net.seed(), "rsm test");
    }

    /// Starts a test: prints its description (Go `Begin`).
    pub fn begin(&self, description: &str) {
        println!("{description} ...");
        *self.t0.lock() = Instant::now();
        self.rpcs0
            .store(self.cluster.rpc_total(), Ordering::Relaxed);
        self.ops.store(0, Ordering::Relaxed);
    }

    /// Ends a test that passed: time, servers, RPCs, ops committed (Go `End`).
    pub fn end(&self) {
        let t = self.t0.lock().elapsed().as_secs_f64();
        let nrpc = self.cluster.rpc_total() - self.rpcs0.load(Ordering::Relaxed);
        let ops = self.ops.load(Ordering::Relaxed);
        println!("  ... Passed --  {t:4.1}  {NSRV} {nrpc:5} {ops:4}");
    }

    /// Server `i`'s rsm, if it is running.
    pub fn rsm(&self, i: usize) -> Option<Rsm<Counter>> {
        self.cluster.server(i).map(|s| s.rsm)
    }

    /// Submits `op` to the servers of `p` (all if `None`), starting with the
    /// last that answered, until one applies it; gives up after [`NSEC`]
    /// (Go `onePartition`). The counter after the op.
    pub fn one_partition(&self, p: Option<&[usize]>, op: CounterOp) -> Option<i64> {
        let t0 = Instant::now();
        while t0.elapsed() < NSEC {
            let mut index = *self.leader.lock();
            for _ in 0..NSRV {
                let in_p = p.is_none_or(|p| p.contains(&index));
                if self.connected.lock()[index] && in_p {
                    if let Some(rsm) = self.rsm(index) {
                        if let Ok(n) = rsm.submit(op) {
                            *self.leader.lock() = index;
                            self.ops.fetch_add(1, Ordering::Relaxed);
                            return Some(n);
                        }
                    }
                }
                index = (index + 1) % NSRV;
            }
            thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Go `oneInc`: the counter after one more increment.
    pub fn one_inc(&self) -> i64 {
        self.one_partition(None, CounterOp::Inc)
            .expect("no server applied an increment within NSEC")
    }

    /// Go `oneNull`.
    pub fn one_null(&self) -> Option<i64> {
        self.one_partition(None, CounterOp::Null)
    }

    /// Waits until `nsrv` servers' counters read `v` (Go `checkCounter`).
    pub fn check_counter(&self, v: i64, nsrv: usize) {
        let mut to = Duration::from_millis(10);
        let mut n = 0;
        for _ in 0..30 {
            n = self.count_value(v);
            if n >= nsrv {
                return;
            }
            thread::sleep(to);
            if to < Duration::from_secs(1) {
                to *= 2;
            }
        }
        panic!("check_counter: only {n} servers have {v} instead of {nsrv}");
    }

    fn count_value(&self, v: i64) -> usize {
        (0..NSRV)
            .filter_map(|i| self.rsm(i))
            .filter(|rsm| rsm.read(|c| c.n) == v)
            .count()
    }

    /// Cuts the last server that answered off from everyone (Go `disconnectLeader`).
    pub fn disconnect_leader(&self) -> usize {
        let l = *self.leader.lock();
        self.cluster.disconnect(l, &self.cluster.all());
        self.connected.lock()[l] = false;
        l
    }

    /// Connects server `i` to every connected server (Go `ConnectOne`).
    pub fn connect(&self, i: usize) {
        let to: Vec<usize> = {
            let mut c = self.connected.lock();
            c[i] = true;
            (0..NSRV).filter(|&j| c[j]).collect()
        };
        self.cluster.connect(i, &to);
    }

    /// A server that believes it leads (Go `Leader`).
    pub fn leader(&self) -> Option<usize> {
        self.cluster.leader()
    }

    /// Two partitions, `p2` holding only `l` (Go `MakePartition`), applied.
    pub fn partition_off(&self, l: usize) -> (Vec<usize>, Vec<usize>) {
        let p1: Vec<usize> = (0..NSRV).filter(|&i| i != l).collect();
        let p2 = vec![l];
        self.cluster.partition(&p1, &p2);
        (p1, p2)
    }

    /// Shuts every server down, keeping their state (Go `Group.Shutdown`).
    pub fn shutdown_all(&self) {
        for i in 0..NSRV {
            self.cluster.shutdown_server(i);
        }
    }

    /// Restarts every server from its state and connects all (Go `StartServers`).
    pub fn start_all(&self) {
        for i in 0..NSRV {
            self.cluster.start_server(i);
        }
        self.cluster.connect_all();
        self.connected.lock().fill(true);
    }

    /// The largest Raft state among the servers (Go `LogSize`).
    pub fn log_size(&self) -> usize {
        let sizes = self.cluster.persister_sizes();
        sizes.iter().map(|s| s.0).max().unwrap_or(0)
    }
}
