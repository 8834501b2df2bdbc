//! The demo's fault schedule: what goes wrong, and when (as a fraction of the run).

use crate::cluster::Cluster;

/// One scheduled fault.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    CrashLeader,
    RestartCrashed,
    PartitionLeaderInMinority,
    Heal,
    Unreliable(bool),
    CrashFollower,
}

/// When (fraction of the run) and what.
pub const SCHEDULE: &[(f64, Fault)] = &[
    (0.15, Fault::CrashLeader),
    (0.28, Fault::RestartCrashed),
    (0.38, Fault::PartitionLeaderInMinority),
    (0.52, Fault::Heal),
    (0.60, Fault::Unreliable(true)),
    (0.75, Fault::Unreliable(false)),
    (0.80, Fault::CrashFollower),
    (0.90, Fault::RestartCrashed),
];

/// Applies faults as they fall due, remembering what to undo.
pub struct Injector {
    next: usize,
    crashed: Vec<usize>,
    unreliable: bool,
}

impl Injector {
    pub fn new() -> Injector {
        Injector {
            next: 0,
            crashed: Vec::new(),
            unreliable: false,
        }
    }

    /// Whether the network is in unreliable mode now.
    pub fn unreliable(&self) -> bool {
        self.unreliable
    }

    /// Applies every fault due by `fraction` of the run; returns descriptions.
    pub fn advance(&mut self, cluster: &Cluster, n: usize, fraction: f64) -> Vec<String> {
        let mut done = Vec::new();
        while self.next < SCHEDULE.len() && SCHEDULE[self.next].0 <= fraction {
            done.push(self.apply(cluster, n, SCHEDULE[self.next].1));
            self.next += 1;
        }
        done
    }

    fn apply(&mut self, cluster: &Cluster, n: usize, fault: Fault) -> String {
        match fault {
            Fault::CrashLeader => match cluster.leader() {
                Some(l) => {
                    cluster.crash(l);
                    self.crashed.push(l);
                    format!("crash the leader, S{l}")
                }
                None => "crash the leader: there is none right now, skipped".into(),
            },
            Fault::CrashFollower => {
                let l = cluster.leader();
                let f = (0..n)
                    .find(|&i| Some(i) != l && !self.crashed.contains(&i))
                    .unwrap_or(0);
                cluster.crash(f);
                self.crashed.push(f);
                format!("crash a follower, S{f}")
            }
            Fault::RestartCrashed => {
                let list: Vec<String> = self.crashed.iter().map(|i| format!("S{i}")).collect();
                for i in self.crashed.drain(..) {
                    cluster.restart(i);
                }
                format!("restart {} from its persisted state", list.join(", "))
            }
            Fault::PartitionLeaderInMinority => {
                let l = cluster.leader().unwrap_or(0);
                let minority: Vec<usize> = std::iter::once(l)
                    .chain((0..n).filter(|&i| i != l).take((n - 1) / 2 - 1))
                    .collect();
                cluster.partition(&minority);
                let names: Vec<String> = minority.iter().map(|i| format!("S{i}")).collect();
                format!("partition: {} cut off in a minority", names.join(" and "))
            }
            Fault::Heal => {
                cluster.connect_all();
                "heal the partition".into()
            }
            Fault::Unreliable(on) => {
                cluster.net().set_reliable(!on);
                let what = if on {
                    "unreliable network"
                } else {
                    "reliable network again"
                };
                cluster.timeline().mark("network", what);
                self.unreliable = on;
                if on {
                    "unreliable network: 10% of messages lost, the rest delayed".into()
                } else {
                    "reliable network again".into()
                }
            }
        }
    }

    /// Undoes whatever is still broken at the end of the run.
    pub fn heal_all(&mut self, cluster: &Cluster) {
        cluster.net().set_reliable(true);
        for i in self.crashed.drain(..) {
            cluster.restart(i);
        }
        cluster.connect_all();
    }
}
