//! The demo's clients: clerk threads doing random Puts, Appends and Gets on a
//! few keys, recording every operation for the linearizability checker.

use crate::cluster::Cluster;
use parking_lot::Mutex;
use raft::linearizability::kv::{KvInput, KvOp, KvOperation, KvOutput};
use raft::linearizability::Operation;
use rand::Rng;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub const KEYS: usize = 4;

/// A clerk of either service (kvraft's or shardkv's), for the client loops.
pub trait KvClerk {
    fn put(&mut self, key: &str, value: &str);
    fn append(&mut self, key: &str, value: &str);
    fn get(&mut self, key: &str) -> String;
}

macro_rules! kv_clerk {
    ($($t:ty),*) => {$(
        impl KvClerk for $t {
            fn put(&mut self, key: &str, value: &str) {
                <$t>::put(self, key, value)
            }
            fn append(&mut self, key: &str, value: &str) {
                <$t>::append(self, key, value)
            }
            fn get(&mut self, key: &str) -> String {
                <$t>::get(self, key)
            }
        }
    )*};
}

kv_clerk!(raft::kvraft::Clerk, raft::shardkv::Clerk);

/// One random operation on `key` (2 in 10 a Put of `value`, 4 an Append of
/// it, 4 a Get), timed and recorded as the checker wants it.
pub fn random_op(
    ck: &mut impl KvClerk,
    rng: &mut impl Rng,
    me: usize,
    key: String,
    value: String,
    now: impl Fn() -> i64,
) -> KvOperation {
    let call = now();
    let (op, value, out) = match rng.random_range(0..10) {
        0..2 => {
            ck.put(&key, &value);
            (KvOp::Put, value, String::new())
        }
        2..6 => {
            ck.append(&key, &value);
            (KvOp::Append, value, String::new())
        }
        _ => {
            let out = ck.get(&key);
            (KvOp::Get, String::new(), out)
        }
    };
    Operation {
        client_id: me,
        input: KvInput {
            op,
            key: key.into(),
            value: value.into(),
        },
        call,
        output: KvOutput::new(&out),
        ret: now(),
    }
}

pub struct Clients {
    pub stop: Arc<AtomicBool>,
    pub ops: Arc<AtomicU64>,
    history: Arc<Mutex<Vec<KvOperation>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Clients {
    /// The kv demo's clients: `n` clerks of `cluster`, on keys `k0`..`k3`.
    pub fn start(cluster: &Arc<Cluster>, n: usize) -> Clients {
        let cluster = cluster.clone();
        Clients::spawn(
            n,
            |rng| format!("k{}", rng.random_range(0..KEYS)),
            move || cluster.clerk(),
        )
    }

    /// `n` clerk threads, each made by `clerk`, doing random operations on
    /// keys drawn by `key` until `finish`, every one recorded.
    pub fn spawn<C: KvClerk + 'static>(
        n: usize,
        key: fn(&mut rand::rngs::ThreadRng) -> String,
        clerk: impl Fn() -> C + Send + Sync + 'static,
    ) -> Clients {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let history = Arc::new(Mutex::new(Vec::new()));
        let clerk = Arc::new(clerk);
        let threads = (0..n)
            .map(|me| {
                let (clerk, stop, ops, history) =
                    (clerk.clone(), stop.clone(), ops.clone(), history.clone());
                std::thread::Builder::new()
                    .name(format!("demo-clerk-{me}"))
                    .spawn(move || {
                        let mut ck = clerk();
                        let mut rng = rand::rng();
                        let mut j = 0;
                        // The kit's clock, so the faults on the clusters'
                        // timelines line up with the operations on a page.
                        let now = raft::kit::clock_ns;
                        while !stop.load(Ordering::Acquire) {
                            let key = key(&mut rng);
                            let value = format!("{me}.{j};");
                            j += 1;
                            let op = random_op(&mut ck, &mut rng, me, key, value, now);
                            history.lock().push(op);
                            ops.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .expect("spawn clerk")
            })
            .collect();
        Clients {
            stop,
            ops,
            history,
            threads,
        }
    }

    /// Stops the clerks (each finishes its operation first) and returns the history.
    pub fn finish(self) -> Vec<KvOperation> {
        self.stop.store(true, Ordering::Release);
        for t in self.threads {
            let _ = t.join();
        }
        std::mem::take(&mut *self.history.lock())
    }
}

/// Operations per second over about the last second, from samples taken at
/// each frame (frames jitter, so the oldest sample kept is about a second old).
#[derive(Default)]
pub struct Rate {
    samples: std::collections::VecDeque<(f64, u64)>,
}

impl Rate {
    /// Records `ops` done by `elapsed` seconds; the rate over the last second.
    pub fn update(&mut self, elapsed: f64, ops: u64) -> f64 {
        self.samples.push_back((elapsed, ops));
        while self.samples.len() > 2 && elapsed - self.samples[1].0 >= 0.95 {
            self.samples.pop_front();
        }
        let (t_then, ops_then) = self.samples[0];
        (ops - ops_then) as f64 / (elapsed - t_then).max(0.001)
    }
}
