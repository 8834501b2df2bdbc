//! The kvraft test harness: the Go lab's `kvraft/config.go`, ported.

use super::suite::{randstring, SuiteLock};
use labrpc::{ClientEnd, Network, Server};
use parking_lot::Mutex;
use raft::kvraft::{Clerk, KvServer};
use raft::Persister;
use rand::seq::SliceRandom;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The tester allows an election to take this long.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// The tester's view of a kv cluster (Go `config`).
pub struct KvConfig {
    pub n: usize,
    net: Network,
    maxraftstate: Option<usize>,
    inner: Mutex<Inner>,
    start: Instant,
    ops: AtomicU64,
    lock: SuiteLock,
}

struct Inner {
    kvservers: Vec<Option<KvServer>>,
    saved: Vec<Option<Persister>>,
    /// Names of each server's ends to the others (for its Raft).
    endnames: Vec<Option<Vec<String>>>,
    t0: Instant,
    rpcs0: u64,
}

/// The names of a clerk's ends, so the tester can connect and cut them (Go
/// keeps `clerks map[*Clerk][]string`). Cloneable: a test may keep it after
/// handing the clerk to a thread.
#[derive(Clone)]
pub struct ClientEnds(Arc<Vec<String>>);

/// A clerk and its ends' names.
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
    let cfg = KvCfg(Arc::new(KvConfig {
        n,
        net: Network::new(),
        maxraftstate,
        inner: Mutex::new(Inner {
            kvservers: vec![None; n],
            saved: vec![None; n],
            endnames: vec![None; n],
            t0: Instant::now(),
            rpcs0: 0,
        }),
        start: Instant::now(),
        ops: AtomicU64::new(0),
        lock,
    }));
    for i in 0..n {
        cfg.start_server(i);
    }
    cfg.connect_all();
    cfg.net.set_reliable(!unreliable);
    cfg
}

impl KvConfig {
    pub fn arc(self: &Arc<Self>) -> Arc<KvConfig> {
        self.clone()
    }

    fn cleanup(&self) {
        let servers: Vec<KvServer> = self
            .inner
            .lock()
            .kvservers
            .iter_mut()
            .filter_map(|s| s.take())
            .collect();
        for kv in servers {
            kv.kill();
        }
        self.net.cleanup();
        if thread::panicking() {
            eprintln!("network seed: replay with LABRPC_SEED={}", self.net.seed());
            return;
        }
        self.check_timeout();
        self.lock.check_threads("kvraft test");
    }

    fn check_timeout(&self) {
        // Enforce a two minute real-time limit on each test.
        if self.start.elapsed() > Duration::from_secs(120) {
            panic!("test took longer than 120 seconds");
        }
    }

    /// The largest raft state among the servers (Go `LogSize`).
    pub fn log_size(&self) -> usize {
        self.log_sizes().into_iter().max().unwrap_or(0)
    }

    /// Each server's raft state size, for failure messages.
    pub fn log_sizes(&self) -> Vec<usize> {
        let inner = self.inner.lock();
        inner
            .saved
            .iter()
            .flatten()
            .map(|p| p.raft_state_size())
            .collect()
    }

    /// The largest snapshot among the servers (Go `SnapshotSize`).
    pub fn snapshot_size(&self) -> usize {
        self.inner
            .lock()
            .saved
            .iter()
            .flatten()
            .map(|p| p.snapshot_size())
            .max()
            .unwrap_or(0)
    }

    fn connect_unlocked(&self, inner: &Inner, i: usize, to: &[usize]) {
        for &j in to {
            // outgoing, then incoming
            if let Some(names) = &inner.endnames[i] {
                self.net.enable(&names[j], true);
            }
            if let Some(names) = &inner.endnames[j] {
                self.net.enable(&names[i], true);
            }
        }
    }

    fn disconnect_unlocked(&self, inner: &Inner, i: usize, from: &[usize]) {
        for &j in from {
            if let Some(names) = &inner.endnames[i] {
                self.net.enable(&names[j], false);
            }
            if let Some(names) = &inner.endnames[j] {
                self.net.enable(&names[i], false);
            }
        }
    }

    pub fn all(&self) -> Vec<usize> {
        (0..self.n).collect()
    }

    pub fn connect_all(&self) {
        let inner = self.inner.lock();
        for i in 0..self.n {
            self.connect_unlocked(&inner, i, &self.all());
        }
    }

    /// Two partitions, each fully connected inside (Go `partition`).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        let inner = self.inner.lock();
        for &i in p1 {
            self.disconnect_unlocked(&inner, i, p2);
            self.connect_unlocked(&inner, i, p1);
        }
        for &i in p2 {
            self.disconnect_unlocked(&inner, i, p1);
            self.connect_unlocked(&inner, i, p2);
        }
    }

    /// A clerk with its own ends to every server, enabled only to `to` (Go `makeClient`).
    pub fn make_client(&self, to: &[usize]) -> KvClient {
        let endnames: Vec<String> = (0..self.n).map(|_| randstring(20)).collect();
        let mut ends: Vec<ClientEnd> = endnames
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = self.net.make_end(name);
                self.net.connect(name, j);
                end
            })
            .collect();
        ends.shuffle(&mut rand::rng()); // Go `random_handles`
        let client = KvClient {
            ck: Clerk::new(ends),
            ends: ClientEnds(Arc::new(endnames)),
        };
        self.connect_client(&client.ends, to);
        client
    }

    pub fn connect_client(&self, ends: &ClientEnds, to: &[usize]) {
        for &j in to {
            self.net.enable(&ends.0[j], true);
        }
    }

    pub fn disconnect_client(&self, ends: &ClientEnds, from: &[usize]) {
        for &j in from {
            self.net.enable(&ends.0[j], false);
        }
    }

    /// Shuts server `i` down, keeping its persistent state (Go `ShutdownServer`).
    pub fn shutdown_server(&self, i: usize) {
        let kv = {
            let mut inner = self.inner.lock();
            self.disconnect_unlocked(&inner, i, &self.all());
            // Disable client connections to the server before making the new
            // persister, so the server cannot answer a request whose result
            // lands only in the superseded persister.
            self.net.delete_server(i);
            if let Some(p) = &inner.saved[i] {
                inner.saved[i] = Some(p.copy());
            }
            inner.kvservers[i].take()
        };
        if let Some(kv) = kv {
            kv.kill();
        }
    }

    /// Starts server `i` from its saved state (Go `StartServer`); call
    /// `shutdown_server` first to restart one.
    pub fn start_server(&self, i: usize) {
        let names: Vec<String> = (0..self.n).map(|_| randstring(20)).collect();
        let ends: Vec<ClientEnd> = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = self.net.make_end(name);
                self.net.connect(name, j);
                end
            })
            .collect();
        let persister = {
            let mut inner = self.inner.lock();
            inner.endnames[i] = Some(names);
            let p = inner.saved[i]
                .as_ref()
                .map_or_else(Persister::new, |p| p.copy());
            inner.saved[i] = Some(p.clone());
            p
        };
        let kv = KvServer::start(ends, i, persister, self.maxraftstate).expect("KvServer::start");
        let srv = Server::new();
        srv.add_service(kv.service());
        srv.add_service(kv.raft().service());
        self.inner.lock().kvservers[i] = Some(kv);
        self.net.add_server(i, srv);
    }

    /// Breaks every running server's duplicate detection (see `broken_server_3a`).
    pub fn disable_duplicate_detection(&self) {
        for kv in self.inner.lock().kvservers.iter().flatten() {
            kv.disable_duplicate_detection();
        }
    }

    /// Which server thinks it leads, if any (Go `Leader`).
    pub fn leader(&self) -> Option<usize> {
        let inner = self.inner.lock();
        (0..self.n).find(|&i| {
            inner.kvservers[i]
                .as_ref()
                .is_some_and(|kv| kv.raft().get_state().1)
        })
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
        self.net.total_count()
    }

    /// Starts a test: prints its description (Go `begin`).
    pub fn begin(&self, description: &str) {
        println!("{description} ...");
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
