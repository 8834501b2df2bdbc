//! The sharded demo's schedule: groups joining and leaving, a group's leader
//! crashing and coming back, another group's leader cut off in a minority.

use raft::sharded::Sharded;

/// One scheduled step; groups are numbered 0, 1, 2 (gids 100, 101, 102).
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Join(usize),
    Leave(usize),
    CrashLeader(usize),
    RestartCrashed(usize),
    CutOffLeader(usize),
    Heal(usize),
}

/// When (fraction of the run) and what. Group 0 joins before the clients start.
pub const SCHEDULE: &[(f64, Step)] = &[
    (0.10, Step::Join(1)),
    (0.25, Step::Join(2)),
    (0.35, Step::CrashLeader(1)),
    (0.45, Step::RestartCrashed(1)),
    (0.55, Step::CutOffLeader(2)),
    (0.68, Step::Heal(2)),
    (0.75, Step::Leave(0)),
];

/// Applies steps as they fall due, remembering what is broken.
#[derive(Default)]
pub struct Injector {
    next: usize,
    /// (group, server) shut down.
    crashed: Vec<(usize, usize)>,
    /// (group, server) cut off from the rest of its group.
    cut_off: Vec<(usize, usize)>,
}

impl Injector {
    /// Applies every step due by `fraction` of the run; returns descriptions.
    pub fn advance(
        &mut self,
        w: &Sharded,
        mck: &mut raft::shardmaster::Clerk,
        fraction: f64,
    ) -> Vec<String> {
        let mut done = Vec::new();
        while self.next < SCHEDULE.len() && SCHEDULE[self.next].0 <= fraction {
            done.push(self.apply(w, mck, SCHEDULE[self.next].1));
            self.next += 1;
        }
        done
    }

    fn apply(&mut self, w: &Sharded, mck: &mut raft::shardmaster::Clerk, step: Step) -> String {
        let gid = |gi: usize| w.groups[gi].gid;
        match step {
            Step::Join(gi) => {
                mck.join(w.join_args(&[gi]));
                format!("group {} joins", gid(gi))
            }
            Step::Leave(gi) => {
                mck.leave(&w.gids(&[gi]));
                format!("group {} leaves", gid(gi))
            }
            Step::CrashLeader(gi) => {
                let i = w.groups[gi].cluster.leader().unwrap_or(0);
                w.shutdown_server(gi, i);
                self.crashed.push((gi, i));
                format!("group {}'s leader S{i} crashes", gid(gi))
            }
            Step::RestartCrashed(gi) => {
                let mine: Vec<usize> = self
                    .crashed
                    .iter()
                    .filter(|c| c.0 == gi)
                    .map(|c| c.1)
                    .collect();
                self.crashed.retain(|c| c.0 != gi);
                for &i in &mine {
                    w.start_server(gi, i);
                }
                let names: Vec<String> = mine.iter().map(|i| format!("S{i}")).collect();
                format!(
                    "group {}: {} restarted from saved state",
                    gid(gi),
                    names.join(", ")
                )
            }
            Step::CutOffLeader(gi) => {
                let c = &w.groups[gi].cluster;
                let l = c.leader().unwrap_or(0);
                let others: Vec<usize> = c.all().into_iter().filter(|&i| i != l).collect();
                c.partition(&[l], &others);
                self.cut_off.push((gi, l));
                format!("group {}'s leader S{l} is cut off in a minority", gid(gi))
            }
            Step::Heal(gi) => {
                w.groups[gi].cluster.connect_all();
                self.cut_off.retain(|c| c.0 != gi);
                format!("group {}'s partition heals", gid(gi))
            }
        }
    }

    /// The faults in force now, in words ("none" when all is well).
    pub fn in_force(&self, w: &Sharded) -> String {
        let gid = |gi: usize| w.groups[gi].gid;
        let faults: Vec<String> = self
            .crashed
            .iter()
            .map(|&(gi, i)| format!("group {}'s S{i} down", gid(gi)))
            .chain(
                self.cut_off
                    .iter()
                    .map(|&(gi, i)| format!("group {}'s S{i} cut off", gid(gi))),
            )
            .collect();
        if faults.is_empty() {
            "none".into()
        } else {
            faults.join(", ")
        }
    }

    /// Undoes whatever is still broken at the end of the run.
    pub fn heal_all(&mut self, w: &Sharded) {
        for (gi, i) in self.crashed.drain(..) {
            w.start_server(gi, i);
        }
        self.cut_off.clear();
        for g in &w.groups {
            g.cluster.connect_all();
        }
    }
}
