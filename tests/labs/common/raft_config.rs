//! The Raft test harness: the Go lab's `raft/config.go`, ported, on the
//! cluster kit (`raft::kit::Cluster`).
//!
//! A [`Cfg`] owns `n` peers on the kit, which restarts them from copies of
//! their persisters and cuts them off and reconnects them. Each peer here is a
//! bare Raft with the tester's applier ([`TesterPeer`]), which checks every
//! ApplyMsg as it arrives: two peers applying different commands at the same
//! index, or a peer skipping an index, ends the test binary at once with both
//! values (as Go's `log.Fatalf` does), since nothing after it can be trusted.

use super::suite::{randstring, SuiteLock};
use crossbeam_channel::{unbounded, Receiver};
use labrpc::{codec, ClientEnd, Network, Service};
use parking_lot::Mutex;
use raft::kit::{Cluster, Replica};
use raft::{ApplyMsg, Persister, Raft, RaftError, Status};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The tester allows an election to take this long (Go `RaftElectionTimeout`).
pub const RAFT_ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);
/// The snapshotting applier snapshots after every this many entries.
pub const SNAPSHOT_INTERVAL: u64 = 10;
/// 2D: the largest raft state (bytes) allowed after snapshots.
pub const MAX_LOG_SIZE: usize = 2000;

/// A test command. Go's tests put `int`s and `string`s in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmd {
    Int(u64),
    Str(String),
}

impl From<u64> for Cmd {
    fn from(x: u64) -> Cmd {
        Cmd::Int(x)
    }
}
impl From<String> for Cmd {
    fn from(s: String) -> Cmd {
        Cmd::Str(s)
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cmd::Int(x) => write!(f, "{x}"),
            Cmd::Str(s) if s.len() > 16 => write!(f, "{:?}...({} bytes)", &s[..16], s.len()),
            Cmd::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A random command, as the Go tests' `rand.Int()`.
pub fn rand_cmd() -> Cmd {
    Cmd::Int(rand::rng().random_range(0..1 << 62))
}

/// One peer as the tester runs it: a Raft instance and the applier thread
/// that reads and checks its apply channel.
#[derive(Clone)]
pub struct TesterPeer {
    rf: Raft<Cmd>,
    applier: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Replica for TesterPeer {
    fn services(&self) -> Vec<Service> {
        vec![self.rf.service()]
    }
    fn raft_status(&self) -> Status {
        self.rf.status()
    }
    /// Kills the peer, then waits for its applier: the killed peer's apply
    /// channel may still hold messages it sent before it died, and they are
    /// checked against this instance's state before a restart resets it.
    fn kill(&self) {
        self.rf.kill();
        if let Some(h) = self.applier.lock().take() {
            let _ = h.join();
        }
    }
}

/// What the appliers check against: every peer's applied commands.
struct Checker {
    inner: Mutex<Inner>,
    /// Whether the appliers snapshot (2D).
    snapshot: bool,
}

struct Inner {
    /// Each peer's applied commands by index.
    logs: Vec<HashMap<u64, Cmd>>,
    last_applied: Vec<u64>,
    apply_err: Vec<Option<String>>,
    max_index: u64,
}

/// The tester's view of the cluster (Go `config`).
pub struct Config {
    pub n: usize,
    cluster: Cluster<TesterPeer>,
    checker: Arc<Checker>,
    connected: Mutex<Vec<bool>>,
    finished: AtomicBool,
    start: Instant,
    stats: Mutex<Stats>,
    lock: SuiteLock,
}

/// begin()/end() statistics.
struct Stats {
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
    max_index0: u64,
}

/// A running test's config; dropping it cleans up (Go `defer cfg.cleanup()`).
pub struct Cfg(Arc<Config>);

impl Deref for Cfg {
    type Target = Arc<Config>;
    fn deref(&self) -> &Arc<Config> {
        &self.0
    }
}

impl Drop for Cfg {
    fn drop(&mut self) {
        self.0.cleanup();
    }
}

/// Go `make_config(t, n, unreliable, snapshot)`.
pub fn make_config(n: usize, unreliable: bool, snapshot: bool) -> Cfg {
    let lock = SuiteLock::acquire();
    let checker = Arc::new(Checker {
        inner: Mutex::new(Inner {
            logs: vec![HashMap::new(); n],
            last_applied: vec![0; n],
            apply_err: vec![None; n],
            max_index: 0,
        }),
        snapshot,
    });
    let net = Network::new();
    net.set_reliable(!unreliable);
    net.set_long_delays(true);
    let c = checker.clone();
    let cluster = Cluster::with_network(net, n, move |ends, i, persister| {
        c.start_peer(ends, i, persister)
    });
    Cfg(Arc::new(Config {
        n,
        cluster,
        checker,
        connected: Mutex::new(vec![true; n]),
        finished: AtomicBool::new(false),
        start: Instant::now(),
        stats: Mutex::new(Stats {
            t0: Instant::now(),
            rpcs0: 0,
            bytes0: 0,
            max_index0: 0,
        }),
        lock,
    }))
}

/// Ends the test binary on an apply error, as Go's `log.Fatalf` does: the
/// error was seen on an applier thread, and every later check would be void.
fn apply_fatal(msg: &str) -> ! {
    eprintln!("apply error: {msg}");
    std::process::exit(1);
}

impl Checker {
    /// Starts peer `i` from `persister` (Go `start1`'s second half): its
    /// applied state is what its snapshot holds, then Raft and its applier.
    fn start_peer(
        self: &Arc<Self>,
        ends: Vec<ClientEnd>,
        i: usize,
        persister: Persister,
    ) -> Result<TesterPeer, RaftError> {
        {
            let mut inner = self.inner.lock();
            inner.last_applied[i] = 0;
            let snapshot = persister.read_snapshot();
            if !snapshot.is_empty() {
                // Mimic a kv server, which reads its snapshot when it starts.
                if let Err(e) = ingest_snap(&mut inner, i, &snapshot, None) {
                    panic!("{e}");
                }
            }
        }
        let (tx, rx) = unbounded();
        let rf = Raft::make(ends, i, persister, tx)?;
        let checker = self.clone();
        let snap_rf = self.snapshot.then(|| rf.clone());
        let handle = thread::Builder::new()
            .name(format!("tester-applier-{i}"))
            .spawn(move || checker.applier(i, rx, snap_rf))
            .expect("spawn applier");
        Ok(TesterPeer {
            rf,
            applier: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// Reads peer `i`'s apply channel and checks each message (Go `applier` and
    /// `applierSnap`). With `snap_rf`, snapshots every [`SNAPSHOT_INTERVAL`] entries.
    fn applier(&self, i: usize, rx: Receiver<ApplyMsg<Cmd>>, snap_rf: Option<Raft<Cmd>>) {
        for m in rx {
            let mut inner = self.inner.lock();
            let err = match m {
                ApplyMsg::Snapshot { index, data, .. } => {
                    if snap_rf.is_none() {
                        continue; // the plain applier ignores snapshots
                    }
                    ingest_snap(&mut inner, i, &data, Some(index)).err()
                }
                ApplyMsg::Command { index, command, .. } => {
                    let mut err = None;
                    if index != inner.last_applied[i] + 1 {
                        err = Some(format!(
                            "server {i} apply out of order, expected index {}, got {index}",
                            inner.last_applied[i] + 1
                        ));
                    }
                    if err.is_none() {
                        let (e, prev_ok) = check_logs(&mut inner, i, index, &command);
                        err = e;
                        if index > 1 && !prev_ok && err.is_none() {
                            err = Some(format!("server {i} apply out of order {index}"));
                        }
                    }
                    inner.last_applied[i] = index;
                    if let (Some(rf), None) = (&snap_rf, &err) {
                        if (index + 1) % SNAPSHOT_INTERVAL == 0 {
                            let xlog: Vec<Option<Cmd>> = (0..=index)
                                .map(|j| inner.logs[i].get(&j).cloned())
                                .collect();
                            let bytes = codec::encode(&(index, xlog)).expect("encode snapshot");
                            drop(inner);
                            rf.snapshot(index, bytes);
                            continue;
                        }
                    }
                    err
                }
            };
            if let Some(e) = err {
                inner.apply_err[i] = Some(e.clone());
                apply_fatal(&e);
            }
        }
    }
}

impl Config {
    /// Another handle to this config, for threads the test starts.
    pub fn arc(self: &Arc<Self>) -> Arc<Config> {
        self.clone()
    }

    /// The network's seed (replay a run with `LABRPC_SEED`).
    pub fn seed(&self) -> u64 {
        self.cluster.net.seed()
    }

    /// Peer `i`, unless it is crashed.
    pub fn raft(&self, i: usize) -> Option<Raft<Cmd>> {
        self.cluster.server(i).map(|p| p.rf)
    }

    /// Whether peer `i` is connected.
    pub fn connected(&self, i: usize) -> bool {
        self.connected.lock()[i]
    }

    /// `start(cmd)` on peer `i` if it is up: Some((index, term, is_leader)).
    pub fn start_on(&self, i: usize, cmd: Cmd) -> Option<(u64, u64, bool)> {
        self.raft(i).map(|rf| rf.start(cmd))
    }

    /// Shuts peer `i` down but keeps its persistent state (Go `crash1`): cut
    /// off, removed from the network, its persister copied, killed.
    pub fn crash1(&self, i: usize) {
        log::debug!(target: "TEST", "crash S{i}");
        self.connected.lock()[i] = false;
        self.cluster.shutdown_server(i);
    }

    /// Starts or restarts peer `i` from its saved state (Go `start1`), with
    /// fresh end names so the old instance's ends cannot reach anyone. It
    /// starts disconnected; `connect` attaches it.
    pub fn start1(self: &Arc<Self>, i: usize) {
        self.crash1(i);
        self.cluster.start_server(i);
    }

    /// Kills everything; checks the time limit and that no thread leaked.
    fn cleanup(&self) {
        self.finished.store(true, Ordering::Release);
        self.cluster.cleanup();
        self.lock.end_test(self.start, self.seed(), "raft test");
    }

    fn check_timeout(&self) {
        super::suite::check_time_limit(self.start);
    }

    pub fn check_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Attaches peer `i` to the connected peers (Go `connect`).
    pub fn connect(&self, i: usize) {
        let mut connected = self.connected.lock();
        connected[i] = true;
        let peers: Vec<usize> = (0..self.n).filter(|&j| connected[j]).collect();
        log::debug!(target: "TEST", "connect S{i}: connected now {peers:?}");
        self.cluster.connect(i, &peers);
    }

    /// Detaches peer `i` from the network (Go `disconnect`).
    pub fn disconnect(&self, i: usize) {
        self.connected.lock()[i] = false;
        log::debug!(target: "TEST", "disconnect S{i}");
        self.cluster.disconnect(i, &self.cluster.all());
    }

    pub fn rpc_count(&self, server: usize) -> u64 {
        self.cluster.net.count(server)
    }

    pub fn rpc_total(&self) -> u64 {
        self.cluster.net.total_count()
    }

    pub fn set_unreliable(&self, unreliable: bool) {
        self.cluster.net.set_reliable(!unreliable);
    }

    pub fn bytes_total(&self) -> u64 {
        self.cluster.net.total_bytes()
    }

    pub fn set_long_reordering(&self, yes: bool) {
        self.cluster.net.set_long_reordering(yes);
    }

    /// Checks that one connected peer thinks it is the leader, and no other
    /// connected peer thinks so in the same term; retries for a while in case
    /// an election is needed (Go `checkOneLeader`).
    pub fn check_one_leader(&self) -> usize {
        for _ in 0..10 {
            let ms = 450 + rand::rng().random_range(0..100);
            thread::sleep(Duration::from_millis(ms));
            let mut leaders: HashMap<u64, Vec<usize>> = HashMap::new();
            for i in 0..self.n {
                if let (true, Some(rf)) = (self.connected(i), self.raft(i)) {
                    if let (term, true) = rf.get_state() {
                        leaders.entry(term).or_default().push(i);
                    }
                }
            }
            let mut last_term_with_leader = None;
            for (term, ls) in &leaders {
                if ls.len() > 1 {
                    panic!("term {term} has {} (>1) leaders: {ls:?}", ls.len());
                }
                last_term_with_leader = last_term_with_leader.max(Some(*term));
            }
            if let Some(t) = last_term_with_leader {
                return leaders[&t][0];
            }
        }
        panic!("expected one leader, got none");
    }

    /// Checks that every connected peer agrees on the term (Go `checkTerms`).
    pub fn check_terms(&self) -> u64 {
        let mut term = None;
        for i in 0..self.n {
            if let (true, Some(rf)) = (self.connected(i), self.raft(i)) {
                let xterm = rf.get_state().0;
                match term {
                    None => term = Some(xterm),
                    Some(t) if t != xterm => panic!("servers disagree on term: {t} and {xterm}"),
                    _ => {}
                }
            }
        }
        term.expect("no connected server")
    }

    /// Checks that no connected peer thinks it is the leader (Go `checkNoLeader`).
    pub fn check_no_leader(&self) {
        for i in 0..self.n {
            if let (true, Some(rf)) = (self.connected(i), self.raft(i)) {
                if rf.get_state().1 {
                    panic!(
                        "expected no leader among connected servers, but {i} claims to be leader"
                    );
                }
            }
        }
    }

    /// How many peers have applied `index`, and what (Go `nCommitted`).
    pub fn n_committed(&self, index: u64) -> (usize, Option<Cmd>) {
        let inner = self.checker.inner.lock();
        let mut count = 0;
        let mut cmd: Option<Cmd> = None;
        for i in 0..self.n {
            if let Some(e) = &inner.apply_err[i] {
                panic!("{e}");
            }
            if let Some(cmd1) = inner.logs[i].get(&index) {
                if let Some(c) = &cmd {
                    if c != cmd1 {
                        panic!("committed values do not match: index {index}, {c}, {cmd1}");
                    }
                }
                count += 1;
                cmd = Some(cmd1.clone());
            }
        }
        (count, cmd)
    }

    /// Waits for at least `n` peers to apply `index`, but not forever (Go
    /// `wait`). `None` if some peer moved past `start_term` (Go returns -1).
    pub fn wait(&self, index: u64, n: usize, start_term: Option<u64>) -> Option<Cmd> {
        let mut to = Duration::from_millis(10);
        for _ in 0..30 {
            if self.n_committed(index).0 >= n {
                break;
            }
            thread::sleep(to);
            if to < Duration::from_secs(1) {
                to *= 2;
            }
            if let Some(st) = start_term {
                for i in 0..self.n {
                    if let Some(rf) = self.raft(i) {
                        if rf.get_state().0 > st {
                            return None; // someone has moved on
                        }
                    }
                }
            }
        }
        let (nd, cmd) = self.n_committed(index);
        if nd < n {
            panic!("only {nd} decided for index {index}; wanted {n}");
        }
        cmd
    }

    /// A complete agreement on `cmd`, by at least `expected_servers` peers,
    /// within about 10 s; returns its index (Go `one`). With `retry`, the
    /// command may be submitted again if a leader fails just after `start`.
    pub fn one(&self, cmd: impl Into<Cmd>, expected_servers: usize, retry: bool) -> u64 {
        let cmd = cmd.into();
        let t0 = Instant::now();
        let mut starts = 0;
        while t0.elapsed() < Duration::from_secs(10) && !self.check_finished() {
            // Try all the servers; maybe one is the leader.
            let mut index = None;
            for _ in 0..self.n {
                starts = (starts + 1) % self.n;
                let rf = if self.connected(starts) {
                    self.raft(starts)
                } else {
                    None
                };
                if let Some(rf) = rf {
                    let (index1, _, ok) = rf.start(cmd.clone());
                    if ok {
                        index = Some(index1);
                        break;
                    }
                }
            }
            if let Some(index) = index {
                // Somebody claimed to be the leader and to have submitted our
                // command; wait a while for agreement.
                let t1 = Instant::now();
                while t1.elapsed() < Duration::from_secs(2) {
                    let (nd, cmd1) = self.n_committed(index);
                    if nd > 0 && nd >= expected_servers && cmd1.as_ref() == Some(&cmd) {
                        return index;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                if !retry {
                    panic!("one({cmd}) failed to reach agreement");
                }
            } else {
                thread::sleep(Duration::from_millis(50));
            }
        }
        if !self.check_finished() {
            panic!("one({cmd}) failed to reach agreement");
        }
        0
    }

    /// Starts a test: prints its description (Go `begin`).
    pub fn begin(&self, description: &str) {
        println!("{description} ...");
        let mut stats = self.stats.lock();
        stats.t0 = Instant::now();
        stats.rpcs0 = self.rpc_total();
        stats.bytes0 = self.bytes_total();
        stats.max_index0 = self.checker.inner.lock().max_index;
    }

    /// Ends a test that passed: prints time, peers, RPCs, bytes and agreements (Go `end`).
    pub fn end(&self) {
        self.check_timeout();
        let stats = self.stats.lock();
        let t = stats.t0.elapsed().as_secs_f64();
        let nrpc = self.rpc_total() - stats.rpcs0;
        let nbytes = self.bytes_total() - stats.bytes0;
        let ncmds = self.checker.inner.lock().max_index - stats.max_index0;
        println!(
            "  ... Passed --  {t:4.1}  {} {nrpc:4} {nbytes:7} {ncmds:4}",
            self.n
        );
    }

    /// Peer `i`'s saved persister (what a restart would start from).
    pub fn saved(&self, i: usize) -> Option<Persister> {
        self.cluster.saved(i)
    }

    /// Client ends from a fresh set of names, as `start1` makes for peer `i`.
    pub fn fresh_ends(&self) -> Vec<labrpc::ClientEnd> {
        (0..self.n)
            .map(|_| self.cluster.net.make_end(randstring(20)))
            .collect()
    }

    /// An enabled end straight to peer `i` (see `Cluster::end_to`).
    pub fn end_to(&self, i: usize) -> labrpc::ClientEnd {
        self.cluster.end_to(i)
    }

    /// The largest persisted raft state among the peers (Go `LogSize`).
    pub fn log_size(&self) -> usize {
        let sizes = self.cluster.persister_sizes();
        sizes.iter().map(|s| s.0).max().unwrap_or(0)
    }
}

/// Records that peer `i` applied `cmd` at `index`; reports a different value
/// applied there by another peer. Returns (error, whether `index - 1` was applied).
fn check_logs(inner: &mut Inner, i: usize, index: u64, cmd: &Cmd) -> (Option<String>, bool) {
    let mut err = None;
    for (j, log) in inner.logs.iter().enumerate() {
        if let Some(old) = log.get(&index) {
            if old != cmd {
                // Some server has already committed a different value here!
                err = Some(format!(
                    "commit index={index} server={i} {cmd} != server={j} {old}"
                ));
            }
        }
    }
    let prev_ok = inner.logs[i].contains_key(&(index - 1));
    inner.logs[i].insert(index, cmd.clone());
    inner.max_index = inner.max_index.max(index);
    (err, prev_ok)
}

/// Loads a snapshot written by the snapshotting applier into peer `i`'s view
/// (Go `ingestSnap`); `index`, if given, must match the snapshot's own.
fn ingest_snap(
    inner: &mut Inner,
    i: usize,
    snapshot: &[u8],
    index: Option<u64>,
) -> Result<(), String> {
    let (last_included, xlog): (u64, Vec<Option<Cmd>>) =
        codec::decode(snapshot).map_err(|e| format!("server {i} snapshot decode error: {e}"))?;
    if index.is_some_and(|ix| ix != last_included) {
        return Err(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
    }
    inner.logs[i] = xlog
        .into_iter()
        .enumerate()
        .filter_map(|(j, c)| c.map(|c| (j as u64, c)))
        .collect();
    inner.last_applied[i] = last_included;
    Ok(())
}
