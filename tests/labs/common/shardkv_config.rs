//! The shardkv tester (Go `shardkv/config.go`), on the cluster kit: one
//! network with a shard master cluster (`ctrler-0..2`) and three replica
//! groups (gids 100, 101, 102; servers `server-<gid>-<i>`), each a kit
//! cluster; clerks that reach any server by name.

use super::suite::{randstring, SuiteLock};
use labrpc::{ClientEnd, Network};
use parking_lot::Mutex;
use raft::kit::Cluster;
use raft::shardkv::{Clerk, MakeEnd, ShardKv};
use raft::shardmaster::{self, Gid, ShardMaster};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Shard master servers, as in the Go tester.
const NCTRLERS: usize = 3;
/// Replica groups.
pub const NGROUPS: usize = 3;

/// A replica group: its gid and its servers.
pub struct Group {
    pub gid: Gid,
    pub cluster: Cluster<ShardKv>,
}

/// The tester's view (Go `config`).
pub struct ShardKvConfig {
    pub net: Arc<Network>,
    /// Servers per group.
    pub n: usize,
    pub maxraftstate: Option<usize>,
    pub ctl: Cluster<ShardMaster>,
    /// The tester's own clerk of the shard master (Go `cfg.mck`).
    pub mck: Mutex<shardmaster::Clerk>,
    pub groups: Vec<Group>,
    start: Instant,
    t0: Mutex<Instant>,
    rpcs0: AtomicU64,
    ops: AtomicU64,
    lock: SuiteLock,
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
        self.0.cleanup();
    }
}

/// Go `servername(gid, i)`.
pub fn server_name(gid: Gid, i: usize) -> String {
    format!("server-{gid}-{i}")
}

/// Ends from new names to each shard master server.
fn ctrler_ends(net: &Network) -> Vec<ClientEnd> {
    (0..NCTRLERS)
        .map(|j| enabled_end(net, &format!("ctrler-{j}")))
        .collect()
}

/// A new, enabled end to the server called `server`.
fn enabled_end(net: &Network, server: &str) -> ClientEnd {
    let name = randstring(20);
    let end = net.make_end(&name);
    net.connect(&name, server);
    net.enable(&name, true);
    end
}

/// Go `make_end` for servers and clerks: an end to any server by name.
fn make_end_fn(net: &Arc<Network>) -> MakeEnd {
    let net = net.clone();
    Arc::new(move |server: &str| enabled_end(&net, server))
}

/// Go `make_config(t, n, unreliable, maxraftstate)`.
pub fn make_config(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> ShardKvCfg {
    let lock = SuiteLock::acquire();
    let net = Arc::new(Network::new());
    net.set_reliable(!unreliable);
    let ctl = Cluster::named(net.clone(), "ctrler-", NCTRLERS, ShardMaster::start);
    let groups = (0..NGROUPS)
        .map(|gi| {
            let gid = 100 + gi as Gid;
            let net2 = net.clone();
            let cluster = Cluster::named(
                net.clone(),
                &format!("server-{gid}-"),
                n,
                move |ends, me, persister| {
                    ShardKv::start(
                        ends,
                        me,
                        persister,
                        maxraftstate,
                        gid,
                        ctrler_ends(&net2),
                        make_end_fn(&net2),
                    )
                },
            );
            Group { gid, cluster }
        })
        .collect();
    let mck = Mutex::new(shardmaster::Clerk::new(ctrler_ends(&net)));
    ShardKvCfg(Arc::new(ShardKvConfig {
        net,
        n,
        maxraftstate,
        ctl,
        mck,
        groups,
        start: Instant::now(),
        t0: Mutex::new(Instant::now()),
        rpcs0: AtomicU64::new(0),
        ops: AtomicU64::new(0),
        lock,
    }))
}

impl ShardKvConfig {
    pub fn arc(self: &Arc<Self>) -> Arc<ShardKvConfig> {
        self.clone()
    }

    fn cleanup(&self) {
        for g in &self.groups {
            g.cluster.cleanup();
        }
        self.ctl.cleanup();
        if thread::panicking() {
            eprintln!("network seed: replay with LABRPC_SEED={}", self.net.seed());
            return;
        }
        if self.start.elapsed() > Duration::from_secs(120) {
            panic!("test took longer than 120 seconds");
        }
        self.lock.check_threads("shardkv test");
    }

    /// A clerk with its own ends to the shard master and to any server (Go `makeClient`).
    pub fn make_client(&self) -> Clerk {
        Clerk::new(ctrler_ends(&self.net), make_end_fn(&self.net))
    }

    /// Counts one clerk operation.
    pub fn op(&self) {
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Go `join(gi)`: group `gi` joins.
    pub fn join(&self, gi: usize) {
        self.joinm(&[gi]);
    }

    /// Go `joinm(gis)`: groups join together.
    pub fn joinm(&self, gis: &[usize]) {
        let m: BTreeMap<Gid, Vec<String>> = gis
            .iter()
            .map(|&gi| {
                let gid = self.groups[gi].gid;
                (gid, (0..self.n).map(|i| server_name(gid, i)).collect())
            })
            .collect();
        self.mck.lock().join(m);
    }

    /// Go `leave(gi)`.
    pub fn leave(&self, gi: usize) {
        self.leavem(&[gi]);
    }

    /// Go `leavem(gis)`.
    pub fn leavem(&self, gis: &[usize]) {
        let gids: Vec<Gid> = gis.iter().map(|&gi| self.groups[gi].gid).collect();
        self.mck.lock().leave(&gids);
    }

    /// Go `ShutdownServer(gi, i)`.
    pub fn shutdown_server(&self, gi: usize, i: usize) {
        self.groups[gi].cluster.shutdown_server(i);
    }

    /// Go `StartServer(gi, i)`: from its saved state, connected to its group.
    pub fn start_server(&self, gi: usize, i: usize) {
        let c = &self.groups[gi].cluster;
        c.start_server(i);
        c.connect(i, &c.all());
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
