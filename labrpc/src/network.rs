//! The network: who is connected to whom, and how reliable the wires are.

use crate::call::{self, Call};
use crate::pool::{Pool, STARVED_AFTER};
use crate::server::Server;
use crate::timer::Timer;
use crate::ClientEnd;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The environment variable that fixes the seed of the network's random choices.
pub const SEED_ENV: &str = "LABRPC_SEED";

/// A simulated network of client ends and servers, as the Go `labrpc.Network`.
///
/// Dropping the `Network` (or calling [`Network::cleanup`]) stops its threads;
/// calls in flight then fail with [`crate::RpcError::Shutdown`].
pub struct Network {
    inner: Arc<NetInner>,
}

/// The connection table and the knobs, read at the start of every call.
#[derive(Default)]
struct Table {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    /// End name -> (enabled, name of the server it is connected to).
    ends: HashMap<String, (bool, Option<String>)>,
    servers: HashMap<String, Arc<Server>>,
}

/// A snapshot of the table taken when a call enters the network.
pub(crate) struct Route {
    pub(crate) server_name: String,
    pub(crate) server: Arc<Server>,
    pub(crate) reliable: bool,
    pub(crate) long_reordering: bool,
}

/// A call whose handler is running, and the route it took there.
type RunningCall = (Arc<Call>, Arc<Route>);

pub(crate) struct NetInner {
    table: Mutex<Table>,
    rng: Mutex<StdRng>,
    seed: u64,
    /// How many seeds [`ClientEnd::derive_seed`] has handed out.
    seeds_derived: AtomicU64,
    total_count: AtomicU64,
    total_bytes: AtomicU64,
    done: AtomicBool,
    /// Calls whose handler is running, with where they went (see `call.rs`).
    running: Mutex<HashMap<u64, RunningCall>>,
    next_call_id: AtomicU64,
    pub(crate) timer: Timer,
    pub(crate) pool: Pool,
}

impl Network {
    /// A reliable network whose random choices come from `LABRPC_SEED` if set,
    /// else from a fresh random seed (see [`Network::seed`]).
    pub fn new() -> Network {
        let seed = match std::env::var(SEED_ENV) {
            Ok(s) => s
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{SEED_ENV}={s:?} is not an unsigned integer")),
            Err(_) => rand::random(),
        };
        Network::with_seed(seed)
    }

    /// A reliable network whose random choices replay from `seed`.
    pub fn with_seed(seed: u64) -> Network {
        log::debug!(target: "TEST", "labrpc: network seed {seed}");
        let table = Table {
            reliable: true,
            ..Table::default()
        };
        Network {
            inner: Arc::new(NetInner {
                table: Mutex::new(table),
                rng: Mutex::new(StdRng::seed_from_u64(seed)),
                seed,
                seeds_derived: AtomicU64::new(0),
                total_count: AtomicU64::new(0),
                total_bytes: AtomicU64::new(0),
                done: AtomicBool::new(false),
                running: Mutex::new(HashMap::new()),
                next_call_id: AtomicU64::new(0),
                timer: Timer::start(),
                pool: Pool::new(),
            }),
        }
    }

    /// The seed of this network's random choices; set `LABRPC_SEED` to replay them.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Creates a client end named `name`, not yet connected and disabled.
    pub fn make_end(&self, name: impl Display) -> ClientEnd {
        let name = name.to_string();
        let mut t = self.inner.table.lock();
        assert!(
            !t.ends.contains_key(&name),
            "labrpc: make_end: end {name:?} already exists"
        );
        t.ends.insert(name.clone(), (false, None));
        ClientEnd::new(name, self.inner.clone())
    }

    /// Adds (or replaces) the server called `name`.
    pub fn add_server(&self, name: impl Display, server: Arc<Server>) {
        let old = self
            .inner
            .table
            .lock()
            .servers
            .insert(name.to_string(), server);
        if old.is_some() {
            self.inner.fail_dead_calls();
        }
    }

    /// Removes the server called `name`: calls to it fail, and calls running in it
    /// have their replies discarded.
    pub fn delete_server(&self, name: impl Display) {
        self.inner.table.lock().servers.remove(&name.to_string());
        self.inner.fail_dead_calls();
    }

    /// Connects an end to a server name (which need not exist yet).
    pub fn connect(&self, end: impl Display, server: impl Display) {
        if let Some(e) = self.inner.table.lock().ends.get_mut(&end.to_string()) {
            e.1 = Some(server.to_string());
        }
    }

    /// Enables or disables an end; a disabled end's calls fail, as if unplugged.
    pub fn enable(&self, end: impl Display, enabled: bool) {
        if let Some(e) = self.inner.table.lock().ends.get_mut(&end.to_string()) {
            e.0 = enabled;
        }
        if !enabled {
            self.inner.fail_dead_calls();
        }
    }

    /// Reliable (the default) or unreliable: short delays and 10% loss each way.
    pub fn set_reliable(&self, yes: bool) {
        self.inner.table.lock().reliable = yes;
    }

    /// Whether calls to unreachable servers fail after up to 7 s rather than 100 ms.
    pub fn set_long_delays(&self, yes: bool) {
        self.inner.table.lock().long_delays = yes;
    }

    /// Whether two out of three replies are held back 200 ms to 2.2 s.
    pub fn set_long_reordering(&self, yes: bool) {
        self.inner.table.lock().long_reordering = yes;
    }

    /// Requests delivered to the server called `name` (Go `GetCount`).
    pub fn count(&self, name: impl Display) -> u64 {
        let t = self.inner.table.lock();
        t.servers.get(&name.to_string()).map_or(0, |s| s.count())
    }

    /// Every request sent on this network, delivered or not (Go `GetTotalCount`).
    pub fn total_count(&self) -> u64 {
        self.inner.total_count.load(Ordering::Relaxed)
    }

    /// Bytes of every request sent and every reply delivered (Go `GetTotalBytes`).
    pub fn total_bytes(&self) -> u64 {
        self.inner.total_bytes.load(Ordering::Relaxed)
    }

    /// Stops the network's threads; later and pending calls fail with `Shutdown`.
    pub fn cleanup(&self) {
        if !self.inner.done.swap(true, Ordering::AcqRel) {
            self.inner.timer.stop();
            self.inner.pool.stop();
            // Servers hold services, services hold their owners (a Raft peer),
            // and peers hold client ends of this network: drop the table so
            // that no such cycle outlives the network.
            let table = std::mem::take(&mut *self.inner.table.lock());
            drop(table);
            self.inner.running.lock().clear();
        }
    }
}

impl Default for Network {
    fn default() -> Self {
        Network::new()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.cleanup();
    }
}

impl NetInner {
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// A random number in `0..n` from the network's seeded generator.
    pub(crate) fn rand(&self, n: u64) -> u64 {
        self.rng.lock().random_range(0..n)
    }

    pub(crate) fn add_request(&self, bytes: usize) {
        self.total_count.fetch_add(1, Ordering::Relaxed);
        self.total_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_reply_bytes(&self, bytes: usize) {
        self.total_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Where a call from `end` goes now, or `Err(long_delays)` if it goes nowhere.
    pub(crate) fn route(&self, end: &str) -> Result<Route, bool> {
        let t = self.table.lock();
        match t.ends.get(end) {
            Some((true, Some(name))) => match t.servers.get(name) {
                Some(server) => Ok(Route {
                    server_name: name.clone(),
                    server: server.clone(),
                    reliable: t.reliable,
                    long_reordering: t.long_reordering,
                }),
                None => Err(t.long_delays),
            },
            _ => Err(t.long_delays),
        }
    }

    /// Go `isServerDead`: the end was disabled, or its server deleted or replaced.
    pub(crate) fn is_server_dead(&self, end: &str, route: &Route) -> bool {
        let t = self.table.lock();
        let enabled = t.ends.get(end).is_some_and(|e| e.0);
        let same = t
            .servers
            .get(&route.server_name)
            .is_some_and(|s| Arc::ptr_eq(s, &route.server));
        !enabled || !same
    }

    /// Remembers a call whose handler is about to run; returns its id.
    pub(crate) fn register_running(&self, call: Arc<Call>, route: Arc<Route>) -> u64 {
        let id = self.next_call_id.fetch_add(1, Ordering::Relaxed);
        self.running.lock().insert(id, (call, route));
        id
    }

    pub(crate) fn unregister_running(&self, id: u64) {
        self.running.lock().remove(&id);
    }

    /// Fails every running call whose server just died (Go finds these by
    /// polling every 100 ms; we are told when it happens).
    fn fail_dead_calls(&self) {
        let running: Vec<_> = self.running.lock().values().cloned().collect();
        for (call, route) in running {
            if self.is_server_dead(&call.end, &route) {
                call.finish(Err(crate::RpcError::Failed));
            }
        }
    }

    /// Runs a handler on the pool, growing it if requests starve.
    pub(crate) fn run_handler(self: &Arc<Self>, task: Box<dyn FnOnce() + Send>) {
        if self.pool.execute(task) {
            self.check_starvation_later();
        }
    }

    /// Schedules the pool's starvation check, and the next one while requests still starve.
    fn check_starvation_later(self: &Arc<Self>) {
        let net = self.clone();
        self.timer.after(
            STARVED_AFTER,
            Box::new(move || {
                if net.pool.relieve_starvation() {
                    net.check_starvation_later();
                }
            }),
        );
    }

    /// Schedules `f` after `ms` milliseconds (at once when `ms` is 0).
    pub(crate) fn after_ms(&self, ms: u64, f: Box<dyn FnOnce() + Send>) {
        if ms == 0 {
            f();
        } else {
            self.timer.after(Duration::from_millis(ms), f);
        }
    }

    /// Entry point of every call: see [`call::send`].
    /// The next seed derived from the network's (see [`ClientEnd::derive_seed`]).
    pub(crate) fn derive_seed(&self) -> u64 {
        let n = self.seeds_derived.fetch_add(1, Ordering::Relaxed) + 1;
        // SplitMix64's finalizer: seeds n and n + 1 give unrelated streams,
        // and none equals the network's own seed.
        let mut z = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn send(self: &Arc<Self>, call: Arc<Call>) {
        call::send(self, call);
    }
}
