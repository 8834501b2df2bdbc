//! Benchmarks of Raft and kvraft on the simulated network (the rows of the
//! README's Results and notes/performance.md): commit latency and throughput, an idle cluster's CPU
//! and RPC rate, kv operation latency and throughput, raft state size under
//! snapshots, and the linearizability checker's speed.
//!
//! `cargo bench --bench raft_bench` runs the full version; `-- --quick` (or
//! `BENCH_QUICK=1`) a short one. Each figure prints as `BENCH <name> <value> <unit>`.

use crossbeam_channel::{unbounded, Receiver};
use labrpc::{ClientEnd, Network, Server};
use raft::kit::Cluster as Kit;
use raft::kvraft::{Clerk, KvServer};
use raft::linearizability::kv::{KvInput, KvModel, KvOp, KvOperation, KvOutput};
use raft::linearizability::{
    check_operations, check_operations_with, CheckOptions, CheckResult, Operation,
};
use raft::{ApplyMsg, Persister, Raft};
use rand::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn quick() -> bool {
    std::env::args().any(|a| a == "--quick") || std::env::var("BENCH_QUICK").is_ok()
}

fn bench(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.3} {unit}");
}

/// The system allocator, counting the bytes allocated now and the most
/// allocated at once since `reset_peak`: a figure of memory that does not
/// depend on the allocator's caching or on what the OS counts as resident.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts a new peak at what is allocated now; returns that baseline.
fn reset_peak() -> usize {
    let now = ALLOCATED.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// `n` peers' ends on `net`: `ends[i][j]` goes from i to j, all enabled.
fn wire(net: &Network, n: usize, tag: &str) -> Vec<Vec<ClientEnd>> {
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let name = format!("{tag}-{i}-{j}");
                    let end = net.make_end(&name);
                    net.connect(&name, j);
                    net.enable(&name, true);
                    end
                })
                .collect()
        })
        .collect()
}

struct Cluster {
    net: Network,
    rafts: Vec<Raft<u64>>,
    applies: Vec<Receiver<ApplyMsg<u64>>>,
}

fn raft_cluster(n: usize) -> Cluster {
    let net = Network::new();
    let mut rafts = Vec::new();
    let mut applies = Vec::new();
    for (i, ends) in wire(&net, n, "r").into_iter().enumerate() {
        let (tx, rx) = unbounded();
        let rf = Raft::make(ends, i, Persister::new(), tx).unwrap();
        let srv = Server::new();
        srv.add_service(rf.service());
        net.add_server(i, srv);
        rafts.push(rf);
        applies.push(rx);
    }
    Cluster {
        net,
        rafts,
        applies,
    }
}

impl Cluster {
    fn leader(&self) -> usize {
        loop {
            if let Some(i) = (0..self.rafts.len()).find(|&i| self.rafts[i].get_state().1) {
                return i;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(self) {
        for rf in &self.rafts {
            rf.kill();
        }
        self.net.cleanup();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn raft_commit_latency(n_ops: usize) {
    let c = raft_cluster(3);
    let l = c.leader();
    let mut lat = Vec::with_capacity(n_ops);
    for i in 0..n_ops as u64 {
        let t = Instant::now();
        let (index, _, ok) = c.rafts[l].start(i);
        assert!(ok, "leader changed during the benchmark");
        loop {
            match c.applies[l].recv().unwrap() {
                ApplyMsg::Command { index: ix, .. } if ix == index => break,
                _ => {}
            }
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!(
        "raft commit, one at a time (3 peers, reliable): p50 {p50:?}, p99 {p99:?} over {n_ops}"
    );
    bench("raft_commit_p50", p50.as_secs_f64() * 1e6, "us");
    bench("raft_commit_p99", p99.as_secs_f64() * 1e6, "us");
    c.kill();
}

fn raft_throughput(secs: f64) {
    let c = raft_cluster(3);
    let l = c.leader();
    let applied = Arc::new(AtomicU64::new(0));
    let rx = c.applies[l].clone();
    let counter = applied.clone();
    let reader = thread::spawn(move || {
        for m in rx {
            if let ApplyMsg::Command { .. } = m {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let t0 = Instant::now();
    let mut x = 0u64;
    while t0.elapsed().as_secs_f64() < secs {
        // Keep at most 10,000 entries in flight, so the figure is commits, not queueing.
        if x - applied.load(Ordering::Relaxed) < 10_000 {
            c.rafts[l].start(x);
            x += 1;
        } else {
            thread::yield_now();
        }
    }
    let done = applied.load(Ordering::Relaxed);
    let rate = done as f64 / t0.elapsed().as_secs_f64();
    println!(
        "raft throughput, one proposer (3 peers, reliable): {rate:.0} commits/s ({done} applied)"
    );
    bench("raft_commits_per_s", rate, "/s");
    c.kill();
    reader.join().unwrap();
}

fn raft_idle(secs: u64) {
    let c = raft_cluster(5);
    c.leader();
    thread::sleep(Duration::from_secs(1));
    let (cpu0, rpc0, t0) = (cpu_seconds(), c.net.total_count(), Instant::now());
    thread::sleep(Duration::from_secs(secs));
    let cpu = cpu_seconds() - cpu0;
    let rpcs = (c.net.total_count() - rpc0) as f64 / t0.elapsed().as_secs_f64();
    println!("idle 5-peer cluster for {secs} s: {cpu:.2} CPU s, {rpcs:.1} RPCs/s");
    bench("raft_idle_cpu", cpu * 10.0 / secs as f64, "s");
    bench("raft_idle_rpcs_per_s", rpcs, "/s");
    c.kill();
}

/// A kv service on the cluster kit, with a clerk maker.
struct KvCluster(Kit<KvServer>);

fn kv_cluster(n: usize, maxraftstate: Option<usize>) -> KvCluster {
    KvCluster(Kit::new(n, move |ends, me, persister| {
        KvServer::start(ends, me, persister, maxraftstate)
    }))
}

impl KvCluster {
    fn clerk(&self) -> Clerk {
        Clerk::new(self.0.client_ends(&self.0.all()).0)
    }

    fn kill(self) {
        self.0.cleanup();
    }
}

impl std::ops::Deref for KvCluster {
    type Target = Kit<KvServer>;
    fn deref(&self) -> &Kit<KvServer> {
        &self.0
    }
}

fn kv_latency(n_ops: usize) {
    let c = kv_cluster(3, None);
    let mut ck = c.clerk();
    ck.get("warm-up"); // waits for a leader
    let mut lat = Vec::with_capacity(n_ops);
    for i in 0..n_ops {
        let t = Instant::now();
        match i % 3 {
            0 => ck.put("k", &i.to_string()),
            1 => ck.append("k", "x"),
            _ => {
                ck.get("k");
            }
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    let p50 = percentile(&lat, 0.5);
    println!(
        "kv sequential ops (3 servers, one clerk): p50 {p50:?}, p99 {:?}",
        percentile(&lat, 0.99)
    );
    bench("kv_seq_op_p50", p50.as_secs_f64() * 1e6, "us");
    c.kill();
}

fn kv_throughput(clerks: usize, secs: f64) {
    let c = kv_cluster(3, None);
    c.clerk().get("warm-up");
    let c = Arc::new(c);
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..clerks)
        .map(|i| {
            let (c, stop, ops) = (c.clone(), stop.clone(), ops.clone());
            thread::spawn(move || {
                let mut ck = c.clerk();
                let key = format!("k{}", i % 10);
                while !stop.load(Ordering::Relaxed) {
                    ck.put(&key, "v");
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs_f64(secs));
    let rate = ops.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());
    println!("kv throughput, {clerks} clerks (3 servers): {rate:.0} ops/s");
    bench("kv_ops_per_s", rate, "/s");
    Arc::try_unwrap(c).ok().expect("clerks are done").kill();
}

/// Where the unreliable slowdown comes from, part 1: one commit at a time on
/// 5 Raft peers with labrpc unreliable, from `start` to the leader's apply
/// channel (no clerk, no kv server).
fn raft_unreliable_commit(secs: f64) {
    let c = raft_cluster(5);
    c.net.set_reliable(false);
    let mut lat = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < secs {
        let l = c.leader();
        let t = Instant::now();
        let (index, term, ok) = c.rafts[l].start(lat.len() as u64);
        if !ok {
            continue;
        }
        loop {
            match c.applies[l].recv_timeout(Duration::from_secs(2)) {
                Ok(ApplyMsg::Command { index: ix, .. }) if ix == index => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if c.rafts[l].get_state() == (term, true) {
            lat.push(t.elapsed());
        }
    }
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
    println!(
        "raft commit, one at a time (5 peers, unreliable): mean {mean:?} p50 {:?} p90 {:?} over {}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        lat.len()
    );
    bench(
        "raft_unreliable_commit_mean",
        mean.as_secs_f64() * 1e3,
        "ms",
    );
    c.kill();
}

/// The demo's unreliable phase, measured: `clerks` clerks on 5 servers with
/// labrpc in unreliable mode (each request delayed 0-26 ms, 10% of requests
/// and 10% of replies lost). Latency per operation, ops/s, RPCs per operation.
fn kv_unreliable(clerks: usize, secs: f64) {
    let c = kv_cluster(5, None);
    c.clerk().get("warm-up");
    c.net.set_reliable(false);
    let c = Arc::new(c);
    let stop = Arc::new(AtomicBool::new(false));
    let rpcs0 = c.net.total_count();
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clerks)
        .map(|i| {
            let (c, stop) = (c.clone(), stop.clone());
            thread::spawn(move || {
                let mut ck = c.clerk();
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    ck.append(&format!("k{i}"), "x");
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut lat: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let elapsed = t0.elapsed().as_secs_f64();
    let rpcs = c.net.total_count() - rpcs0;
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
    println!(
        "kv unreliable, {clerks} clerk(s), 5 servers: {:.0} ops/s, latency mean {mean:?} p50 {:?} p90 {:?} max {:?}, {:.1} RPCs per op",
        lat.len() as f64 / elapsed,
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        lat[lat.len() - 1],
        rpcs as f64 / lat.len() as f64
    );
    bench(
        &format!("kv_unreliable_{clerks}_clerks_ops_per_s"),
        lat.len() as f64 / elapsed,
        "/s",
    );
    Arc::try_unwrap(c).ok().expect("clerks are done").kill();
}

fn kv_state_ratio(n_ops: usize) {
    let max = 1000;
    let c = kv_cluster(3, Some(max));
    let mut ck = c.clerk();
    let mut worst = 0;
    for i in 0..n_ops {
        ck.append(&format!("k{}", i % 7), "x");
        if i % 100 == 0 {
            let sizes = c.persister_sizes();
            worst = worst.max(sizes.iter().map(|s| s.0).max().unwrap());
        }
    }
    let ratio = worst as f64 / max as f64;
    println!(
        "raft state under snapshots: at most {worst} bytes over {n_ops} ops (maxraftstate {max})"
    );
    println!("BENCH kv_raft_state_ratio {ratio:.2} x");
    c.kill();
}

/// A history from a linearizable in-memory store: each client's operations
/// follow one another, each with a random interval, and each takes effect at
/// a random instant inside its interval (its linearization point).
fn generated_history(ops: usize, clients: usize, keys: usize) -> Vec<KvOperation> {
    let mut rng = rand::rng();
    let mut clock = vec![0i64; clients];
    let mut history: Vec<KvOperation> = Vec::with_capacity(ops);
    let mut points = Vec::with_capacity(ops);
    for i in 0..ops {
        let c = i % clients;
        let call = clock[c] + rng.random_range(0..50);
        let ret = call + rng.random_range(1..200);
        clock[c] = ret + 1;
        points.push(rng.random_range(call..=ret));
        let op = [KvOp::Get, KvOp::Put, KvOp::Append][rng.random_range(0..3)];
        let value = if op == KvOp::Get {
            String::new()
        } else {
            format!("{i}.")
        };
        let key = format!("k{}", rng.random_range(0..keys));
        history.push(Operation {
            client_id: c,
            input: KvInput {
                op,
                key: key.into(),
                value: value.into(),
            },
            call,
            output: KvOutput::new(""),
            ret,
        });
    }
    // Run the operations in linearization-point order to learn what each Get read.
    let mut order: Vec<usize> = (0..ops).collect();
    order.sort_by_key(|&i| points[i]);
    let mut store: HashMap<String, String> = HashMap::new();
    for i in order {
        let input = history[i].input.clone();
        match input.op {
            KvOp::Get => {
                history[i].output = KvOutput::new(store.get(input.key.as_str()).map_or("", |v| v))
            }
            KvOp::Put => {
                store.insert(input.key.into_string(), input.value.into_string());
            }
            KvOp::Append => store
                .entry(input.key.into_string())
                .or_default()
                .push_str(&input.value),
        }
    }
    history
}

fn checker_speed(runs: usize) {
    let mut times = Vec::new();
    let mut undecided = 0;
    for _ in 0..runs {
        let h = generated_history(2000, 50, 10);
        let t = Instant::now();
        let r = check_operations(&KvModel, &h, Some(Duration::from_secs(10)));
        times.push(t.elapsed());
        // Lowe's search is exponential in the worst case: now and then a
        // random history of 50 overlapping clients takes seconds (porcupine
        // searches the same way). Undecided is not wrong; illegal would be.
        assert_ne!(
            r,
            CheckResult::Illegal,
            "a generated linearizable history was called illegal"
        );
        undecided += usize::from(r == CheckResult::Unknown);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "checker: 2,000 ops, 50 clients, 10 keys: median {median:?}, max {:?} over {runs} histories ({undecided} undecided in 10 s)",
        times[times.len() - 1]
    );
    bench("checker_history_ms", median.as_secs_f64() * 1e3, "ms");
}

/// The `checker_one_client_100k` rows: one client's 100,000 operations on one
/// key, one after another (the shape of the one-client kv tests, longer):
/// how long the check takes and the most memory it held at once.
fn checker_one_client() {
    let n = 100_000;
    let history: Vec<KvOperation> = (0..n)
        .map(|i| {
            let t = 10 * i as i64;
            let v = (i / 2).to_string();
            let (op, value, output) = if i % 2 == 0 {
                (KvOp::Put, v, String::new())
            } else {
                (KvOp::Get, String::new(), v)
            };
            Operation {
                client_id: 0,
                input: KvInput {
                    op,
                    key: "k".into(),
                    value: value.into(),
                },
                call: t,
                output: KvOutput::new(&output),
                ret: t + 5,
            }
        })
        .collect();
    let base = reset_peak();
    let t = Instant::now();
    let r = check_operations(&KvModel, &history, Some(Duration::from_secs(60)));
    let took = t.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    assert_eq!(r, CheckResult::Ok, "a sequential history was not found ok");
    println!(
        "checker: one client, 100,000 sequential operations: {took:?}, {:.1} MB at most",
        peak as f64 / 1e6
    );
    bench("checker_one_client_100k_ms", took.as_secs_f64() * 1e3, "ms");
    bench("checker_one_client_100k_peak_mb", peak as f64 / 1e6, "MB");
}

/// A history recorded from the kv service: `clients` clerks, each doing
/// `per_client` random operations on `keys` keys, one after another.
fn recorded_history(clients: usize, per_client: usize, keys: usize) -> Vec<KvOperation> {
    let c = kv_cluster(3, None);
    c.clerk().get("warm-up");
    let c = Arc::new(c);
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|me| {
            let c = c.clone();
            thread::spawn(move || {
                let mut ck = c.clerk();
                let mut rng = rand::rng();
                let mut mine = Vec::with_capacity(per_client);
                for j in 0..per_client {
                    let key = format!("k{}", rng.random_range(0..keys));
                    let value = format!("{me}.{j};");
                    let call = t0.elapsed().as_nanos() as i64;
                    let (op, out) = match rng.random_range(0..3) {
                        0 => (KvOp::Get, ck.get(&key)),
                        1 => (KvOp::Put, {
                            ck.put(&key, &value);
                            String::new()
                        }),
                        _ => (KvOp::Append, {
                            ck.append(&key, &value);
                            String::new()
                        }),
                    };
                    let value = if op == KvOp::Get {
                        String::new()
                    } else {
                        value
                    };
                    mine.push(Operation {
                        client_id: me,
                        input: KvInput {
                            op,
                            key: key.into(),
                            value: value.into(),
                        },
                        call,
                        output: KvOutput::new(&out),
                        ret: t0.elapsed().as_nanos() as i64,
                    });
                }
                mine
            })
        })
        .collect();
    let history = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    Arc::try_unwrap(c).ok().expect("clerks are done").kill();
    history
}

/// The `checker_50_clients_ms` row: 50 clerks, 2,000 operations
/// recorded from the kv service on 10 keys; each history checked with one
/// worker and with one per core, for the speed-up of searching keys side by side.
fn checker_recorded(histories: usize) {
    let (mut one, mut all, mut undecided) = (Vec::new(), Vec::new(), 0);
    for _ in 0..histories {
        let h = recorded_history(50, 40, 10);
        for (workers, times) in [(1, &mut one), (0, &mut all)] {
            let options = CheckOptions {
                timeout: Some(Duration::from_secs(10)),
                workers,
                ..CheckOptions::default()
            };
            let t = Instant::now();
            let (r, _) = check_operations_with(&KvModel, &h, &options);
            times.push(t.elapsed());
            assert_ne!(
                r,
                CheckResult::Illegal,
                "the kv service's history is illegal"
            );
            undecided += usize::from(r == CheckResult::Unknown);
        }
    }
    one.sort();
    all.sort();
    let (one, all) = (one[one.len() / 2], all[all.len() / 2]);
    println!(
        "checker: 2,000 ops recorded from kv, 50 clients, 10 keys: median {all:?} (one worker: {one:?}, speed-up {:.2}x) over {histories} histories ({undecided} checks undecided in 10 s)",
        one.as_secs_f64() / all.as_secs_f64()
    );
    bench("checker_50_clients_ms", all.as_secs_f64() * 1e3, "ms");
    bench(
        "checker_50_clients_one_worker_ms",
        one.as_secs_f64() * 1e3,
        "ms",
    );
}

/// How far past its time limit an undecidable check returns: three keys of
/// forty fully concurrent appends and an impossible read.
fn checker_deadline(runs: usize) {
    let mut h = Vec::new();
    for k in 0..3 {
        for i in 0..40 {
            h.push(Operation {
                client_id: 100 * k + i,
                input: KvInput {
                    op: KvOp::Append,
                    key: format!("k{k}").into(),
                    value: format!("<{i}>").into(),
                },
                call: 0,
                output: KvOutput::new(""),
                ret: 1000,
            });
        }
        h.push(Operation {
            client_id: 100 * k + 99,
            input: KvInput {
                op: KvOp::Get,
                key: format!("k{k}").into(),
                value: Default::default(),
            },
            call: 0,
            output: KvOutput::new("impossible"),
            ret: 1000,
        });
    }
    let limit = Duration::from_secs(1);
    let mut worst = Duration::ZERO;
    for _ in 0..runs {
        let t = Instant::now();
        let r = check_operations(&KvModel, &h, Some(limit));
        assert_eq!(r, CheckResult::Unknown);
        worst = worst.max(t.elapsed().saturating_sub(limit));
    }
    println!("checker: 1 s limit on an undecidable history: worst overrun {worst:?} over {runs} runs (bound: 70 ms)");
    bench(
        "checker_deadline_overrun_ms",
        worst.as_secs_f64() * 1e3,
        "ms",
    );
}

/// The `persister_disk_save` rows: one save of a persister on disk (a 4 KB
/// Raft state and a 16 KB snapshot, one file written, renamed and, with
/// fsync, flushed with its directory), with fsync and without: what
/// durability costs per save on this machine's disk.
fn persister_disk_save(saves: usize) {
    let dir = std::env::temp_dir().join(format!("raft-bench-disk-{}", std::process::id()));
    let state = vec![7u8; 4096];
    let snapshot = vec![9u8; 16 * 1024];
    for (sync, name) in [
        (true, "persister_disk_save_fsync_us"),
        (false, "persister_disk_save_nosync_us"),
    ] {
        let _ = std::fs::remove_dir_all(&dir);
        let p = Persister::on_disk(&dir, sync).expect("a scratch directory");
        p.save_state_and_snapshot(state.clone(), snapshot.clone());
        let mut took: Vec<Duration> = (0..saves)
            .map(|_| {
                let t0 = Instant::now();
                p.save_raft_state(state.clone());
                t0.elapsed()
            })
            .collect();
        took.sort();
        bench(name, percentile(&took, 0.5).as_secs_f64() * 1e6, "us");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let q = quick();
    println!(
        "raft/kvraft benchmarks ({} mode)",
        if q { "quick" } else { "full" }
    );
    // `cargo bench -- checker unreliable` runs only the groups whose names
    // contain those words (raft, kv, kv-unreliable, disk, checker; all by default).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want =
        |group: &str| filters.is_empty() || filters.iter().any(|f| group.contains(f.as_str()));
    if want("raft") {
        raft_commit_latency(if q { 500 } else { 5000 });
        raft_throughput(if q { 1.0 } else { 5.0 });
        raft_idle(if q { 3 } else { 10 });
    }
    if want("kv") {
        kv_latency(if q { 500 } else { 5000 });
        kv_throughput(100, if q { 2.0 } else { 5.0 });
        kv_state_ratio(if q { 2000 } else { 20_000 });
    }
    if want("kv-unreliable") {
        raft_unreliable_commit(if q { 2.0 } else { 10.0 });
        kv_unreliable(1, if q { 2.0 } else { 10.0 });
        kv_unreliable(3, if q { 2.0 } else { 10.0 });
    }
    if want("disk") {
        persister_disk_save(if q { 50 } else { 500 });
    }
    if want("checker") {
        checker_speed(if q { 3 } else { 11 });
        checker_one_client();
        checker_recorded(if q { 2 } else { 7 });
        checker_deadline(if q { 3 } else { 20 });
    }
}
