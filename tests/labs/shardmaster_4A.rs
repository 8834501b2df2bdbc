//! Lab 4A: the shard master (Go `shardmaster/test_test.go`; the 2024 lab
//! calls it shardctrler, part 5A). Run with `cargo test --release 4a`.

use crate::common::suite::SuiteLock;
use raft::kit::Cluster;
use raft::shardmaster::{Clerk, Config, Gid, ShardMaster, NSHARDS};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// The tester's shard master cluster: the kit, plus the summary line and
/// the thread-leak check every suite has.
struct SmCfg {
    cluster: Arc<Cluster<ShardMaster>>,
    lock: SuiteLock,
    t0: Instant,
    rpcs0: u64,
    cmds0: u64,
}

impl SmCfg {
    fn new(n: usize) -> SmCfg {
        let lock = SuiteLock::acquire();
        let cluster = Arc::new(Cluster::new(n, ShardMaster::start));
        SmCfg {
            cluster,
            lock,
            t0: Instant::now(),
            rpcs0: 0,
            cmds0: 0,
        }
    }

    fn clerk(&self) -> Clerk {
        Clerk::new(self.cluster.client_ends(&self.cluster.all()).0)
    }

    fn begin(&mut self, what: &str) {
        println!("Test: {what} ...");
        self.t0 = Instant::now();
        self.rpcs0 = self.cluster.rpc_total();
        self.cmds0 = self.cluster.max_commit_index();
    }

    fn end(&self) {
        let t = self.t0.elapsed().as_secs_f64();
        let rpcs = self.cluster.rpc_total() - self.rpcs0;
        let n = self.cluster.all().len();
        let cmds = self.cluster.max_commit_index().saturating_sub(self.cmds0);
        println!("  ... Passed --  {t:4.1}  {n} {rpcs:5} {cmds:4}");
    }
}

impl Drop for SmCfg {
    fn drop(&mut self) {
        self.cluster.cleanup();
        if !thread::panicking() {
            self.lock.check_threads("shardmaster test");
        } else {
            eprintln!(
                "network seed: replay with LABRPC_SEED={}",
                self.cluster.net.seed()
            );
        }
    }
}

/// Runs `work` on `n` clerks at once, each on its own thread, with gids
/// 1..=n (Go's goroutine-per-clerk loops), and waits for all of them.
fn concurrently(cfg: &SmCfg, n: u64, work: fn(&mut Clerk, Gid)) {
    let handles: Vec<_> = (1..=n)
        .map(|gid| {
            let mut ck = cfg.clerk();
            thread::Builder::new()
                .name(format!("tester-clerk-{gid}"))
                .spawn(move || work(&mut ck, gid))
                .unwrap()
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
}

fn servers(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn abc() -> Vec<String> {
    servers(&["a", "b", "c"])
}

/// Go `check`: the latest configuration has exactly `groups`, every shard is
/// on one of them, and no group has more than one shard above another.
fn check(ck: &mut Clerk, groups: &[Gid]) {
    let c = ck.query(-1);
    assert_eq!(
        c.groups.len(),
        groups.len(),
        "wanted {groups:?} groups, got {:?}",
        c.groups.keys()
    );
    for g in groups {
        assert!(c.groups.contains_key(g), "missing group {g}");
    }
    if !groups.is_empty() {
        for (s, g) in c.shards.iter().enumerate() {
            assert!(c.groups.contains_key(g), "shard {s} -> invalid group {g}");
        }
    }
    let counts = c.shard_counts();
    if let (Some(min), Some(max)) = (counts.values().min(), counts.values().max()) {
        assert!(
            max <= &(min + 1),
            "max {max} too much larger than min {min}"
        );
    }
}

/// Shards owned by groups `1..=old` in `before` stay with them in `after`
/// (Go's "minimal transfers" checks).
fn check_no_moves_among(before: &Config, after: &Config, old: Gid) {
    for s in 0..NSHARDS {
        if (1..=old).contains(&after.shards[s]) {
            assert_eq!(
                before.shards[s], after.shards[s],
                "non-minimal transfer: shard {s} moved between groups that stayed"
            );
        }
    }
}

#[test]
fn basic_4a() {
    const NSERVERS: usize = 3;
    let mut cfg = SmCfg::new(NSERVERS);
    let mut ck = cfg.clerk();

    cfg.begin("Basic leave/join");
    let mut cfa = vec![ck.query(-1)];
    check(&mut ck, &[]);
    ck.join(BTreeMap::from([(1, servers(&["x", "y", "z"]))]));
    check(&mut ck, &[1]);
    cfa.push(ck.query(-1));
    ck.join(BTreeMap::from([(2, abc())]));
    check(&mut ck, &[1, 2]);
    cfa.push(ck.query(-1));
    ck.join(BTreeMap::from([(2, abc())]));
    check(&mut ck, &[1, 2]);
    cfa.push(ck.query(-1));
    let c = ck.query(-1);
    assert_eq!(
        c.groups[&1],
        servers(&["x", "y", "z"]),
        "wrong servers for gid 1"
    );
    assert_eq!(c.groups[&2], abc(), "wrong servers for gid 2");
    ck.leave(&[1]);
    check(&mut ck, &[2]);
    cfa.push(ck.query(-1));
    ck.leave(&[1]);
    check(&mut ck, &[2]);
    cfa.push(ck.query(-1));
    cfg.end();

    cfg.begin("Historical queries");
    for s in 0..NSERVERS {
        cfg.cluster.shutdown_server(s);
        for c in &cfa {
            assert_eq!(
                ck.query(c.num as i64),
                *c,
                "configuration {} changed",
                c.num
            );
        }
        cfg.cluster.start_server(s);
        cfg.cluster.connect_all();
    }
    cfg.end();

    cfg.begin("Move");
    ck.join(BTreeMap::from([(503, servers(&["3a", "3b", "3c"]))]));
    ck.join(BTreeMap::from([(504, servers(&["4a", "4b", "4c"]))]));
    for i in 0..NSHARDS {
        let cf = ck.query(-1);
        let to = if i < NSHARDS / 2 { 503 } else { 504 };
        ck.move_shard(i, to);
        if cf.shards[i] != to {
            assert!(ck.query(-1).num > cf.num, "Move should increase Config.num");
        }
    }
    let c = ck.query(-1);
    for i in 0..NSHARDS {
        let want = if i < NSHARDS / 2 { 503 } else { 504 };
        assert_eq!(c.shards[i], want, "expected shard {i} on gid {want}");
    }
    ck.leave(&[503]);
    ck.leave(&[504]);
    cfg.end();

    cfg.begin("Concurrent leave/join");
    const NPARA: u64 = 10;
    concurrently(&cfg, NPARA, |ck, gid| {
        ck.join(BTreeMap::from([(gid + 1000, abc())]));
        ck.join(BTreeMap::from([(gid, abc())]));
        ck.leave(&[gid + 1000]);
    });
    check(&mut ck, &(1..=NPARA).collect::<Vec<_>>());
    cfg.end();

    cfg.begin("Minimal transfers after joins");
    let c1 = ck.query(-1);
    for i in 0..5 {
        ck.join(BTreeMap::from([(NPARA + 1 + i, abc())]));
    }
    let c2 = ck.query(-1);
    check_no_moves_among(&c1, &c2, NPARA);
    cfg.end();

    cfg.begin("Minimal transfers after leaves");
    for i in 0..5 {
        ck.leave(&[NPARA + 1 + i]);
    }
    let c3 = ck.query(-1);
    check_no_moves_among(&c2, &c3, NPARA);
    cfg.end();
}

#[test]
fn multi_4a() {
    const NSERVERS: usize = 3;
    let mut cfg = SmCfg::new(NSERVERS);
    let mut ck = cfg.clerk();

    cfg.begin("Multi-group join/leave");
    check(&mut ck, &[]);
    ck.join(BTreeMap::from([(1, servers(&["x", "y", "z"])), (2, abc())]));
    check(&mut ck, &[1, 2]);
    ck.join(BTreeMap::from([(3, servers(&["j", "k", "l"]))]));
    check(&mut ck, &[1, 2, 3]);
    ck.join(BTreeMap::from([(2, abc())]));
    check(&mut ck, &[1, 2, 3]);
    let c = ck.query(-1);
    assert_eq!(c.groups[&1], servers(&["x", "y", "z"]));
    assert_eq!(c.groups[&2], abc());
    assert_eq!(c.groups[&3], servers(&["j", "k", "l"]));
    ck.leave(&[1, 3]);
    check(&mut ck, &[2]);
    assert_eq!(ck.query(-1).groups[&2], abc());
    cfg.end();

    cfg.begin("Concurrent multi leave/join");
    const NPARA: u64 = 10;
    concurrently(&cfg, NPARA, |ck, gid| {
        ck.join(BTreeMap::from([
            (gid, abc()),
            (gid + 1000, abc()),
            (gid + 2000, abc()),
        ]));
        ck.leave(&[gid + 1000, gid + 2000]);
    });
    check(&mut ck, &(1..=NPARA).collect::<Vec<_>>());
    cfg.end();

    cfg.begin("Minimal transfers after multijoins");
    let c1 = ck.query(-1);
    ck.join((0..5).map(|i| (NPARA + 1 + i, abc())).collect());
    let c2 = ck.query(-1);
    check_no_moves_among(&c1, &c2, NPARA);
    cfg.end();

    cfg.begin("Minimal transfers after multileaves");
    ck.leave(&(0..5).map(|i| NPARA + 1 + i).collect::<Vec<_>>());
    let c3 = ck.query(-1);
    check_no_moves_among(&c2, &c3, NPARA);
    cfg.end();
}
