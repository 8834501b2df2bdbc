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
use std::time::Instant;

pub const KEYS: usize = 4;

pub struct Clients {
    pub stop: Arc<AtomicBool>,
    pub ops: Arc<AtomicU64>,
    history: Arc<Mutex<Vec<KvOperation>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Clients {
    pub fn start(cluster: &Arc<Cluster>, n: usize, t0: Instant) -> Clients {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let history = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..n)
            .map(|me| {
                let (cluster, stop, ops, history) =
                    (cluster.clone(), stop.clone(), ops.clone(), history.clone());
                std::thread::Builder::new()
                    .name(format!("demo-clerk-{me}"))
                    .spawn(move || {
                        let mut ck = cluster.clerk();
                        let mut rng = rand::rng();
                        let mut j = 0;
                        let now = || t0.elapsed().as_nanos() as i64;
                        while !stop.load(Ordering::Acquire) {
                            let key = format!("k{}", rng.random_range(0..KEYS));
                            let value = format!("{me}.{j};");
                            j += 1;
                            let call = now();
                            let (op, out) = match rng.random_range(0..10) {
                                0..2 => {
                                    ck.put(&key, &value);
                                    (KvOp::Put, String::new())
                                }
                                2..6 => {
                                    ck.append(&key, &value);
                                    (KvOp::Append, String::new())
                                }
                                _ => (KvOp::Get, ck.get(&key)),
                            };
                            let value = if op == KvOp::Get {
                                String::new()
                            } else {
                                value
                            };
                            history.lock().push(Operation {
                                client_id: me,
                                input: KvInput { op, key, value },
                                call,
                                output: KvOutput::new(&out),
                                ret: now(),
                            });
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
        let h = self.history.lock();
        h.clone()
    }
}
