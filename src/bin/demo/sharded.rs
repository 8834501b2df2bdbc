//! `--sharded`: the lab 4 service live. A shard master and three replica
//! groups (gids 100-102, three servers each) on one network, clerks writing
//! and reading keys in every shard, and a schedule: groups join, a group's
//! leader crashes and restarts, another group's leader is cut off in a
//! minority, a group leaves. The view shows which group owns each shard and
//! the migrations in flight; at the end, the checker's verdict.

use crate::clients::Clients;
use crate::Options;
use labrpc::{ClientEnd, Network};
use parking_lot::Mutex;
use raft::kit::Cluster;
use raft::shardkv::{self, GroupView, MakeEnd, ShardKv, ShardStatus};
use raft::shardmaster::{self, Gid, ShardMaster, NSHARDS};
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

const GIDS: [Gid; 3] = [100, 101, 102];
const SERVERS: usize = 3;

/// A new, enabled end to the server called `server`.
fn end_to(net: &Network, server: &str) -> ClientEnd {
    let name = Alphanumeric.sample_string(&mut rand::rng(), 20);
    let end = net.make_end(&name);
    net.connect(&name, server);
    net.enable(&name, true);
    end
}

fn ctrler_ends(net: &Network) -> Vec<ClientEnd> {
    (0..3)
        .map(|j| end_to(net, &format!("ctrler-{j}")))
        .collect()
}

fn make_end(net: &Arc<Network>) -> MakeEnd {
    let net = net.clone();
    Arc::new(move |server: &str| end_to(&net, server))
}

struct World {
    net: Arc<Network>,
    ctl: Cluster<ShardMaster>,
    groups: Vec<Cluster<ShardKv>>,
    mck: Mutex<shardmaster::Clerk>,
}

impl World {
    fn new(net: Network) -> World {
        let net = Arc::new(net);
        let ctl = Cluster::named(net.clone(), "ctrler-", 3, ShardMaster::start);
        let groups = GIDS
            .iter()
            .map(|&gid| {
                let n2 = net.clone();
                Cluster::named(
                    net.clone(),
                    &format!("server-{gid}-"),
                    SERVERS,
                    move |ends, me, p| {
                        ShardKv::start(
                            ends,
                            me,
                            p,
                            Some(2000),
                            gid,
                            ctrler_ends(&n2),
                            make_end(&n2),
                        )
                    },
                )
            })
            .collect();
        let mck = Mutex::new(shardmaster::Clerk::new(ctrler_ends(&net)));
        World {
            net,
            ctl,
            groups,
            mck,
        }
    }

    fn join(&self, gi: usize) {
        let gid = GIDS[gi];
        let servers = (0..SERVERS).map(|i| format!("server-{gid}-{i}")).collect();
        self.mck.lock().join(BTreeMap::from([(gid, servers)]));
    }

    fn leave(&self, gi: usize) {
        self.mck.lock().leave(&[GIDS[gi]]);
    }

    /// Group `gi` as its leader (or any running server) sees it.
    fn view(&self, gi: usize) -> Option<GroupView> {
        let g = &self.groups[gi];
        let i = g
            .leader()
            .or_else(|| g.all().into_iter().find(|&i| g.server(i).is_some()))?;
        g.server(i).map(|s| s.view())
    }

    fn shutdown(&self) {
        for g in &self.groups {
            g.cleanup();
        }
        self.ctl.cleanup();
    }
}

/// The fault schedule, by fraction of the run: (when, what).
const SCHEDULE: [(f64, &str); 7] = [
    (0.10, "group 101 joins"),
    (0.25, "group 102 joins"),
    (0.35, "group 101's leader crashes"),
    (0.45, "group 101's crashed server restarts"),
    (0.55, "group 102's leader is cut off in a minority"),
    (0.68, "group 102's partition heals"),
    (0.75, "group 100 leaves"),
];

struct Injector {
    next: usize,
    crashed: Option<usize>,
}

impl Injector {
    fn advance(&mut self, w: &World, fraction: f64) -> Vec<String> {
        let mut done = Vec::new();
        while self.next < SCHEDULE.len() && SCHEDULE[self.next].0 <= fraction {
            let (_, what) = SCHEDULE[self.next];
            let detail = match self.next {
                0 => {
                    w.join(1);
                    String::new()
                }
                1 => {
                    w.join(2);
                    String::new()
                }
                2 => {
                    let g = &w.groups[1];
                    let i = g.leader().unwrap_or(0);
                    g.shutdown_server(i);
                    self.crashed = Some(i);
                    format!(" (server {i})")
                }
                3 => {
                    if let Some(i) = self.crashed.take() {
                        let g = &w.groups[1];
                        g.start_server(i);
                        g.connect(i, &g.all());
                    }
                    String::new()
                }
                4 => {
                    let g = &w.groups[2];
                    let l = g.leader().unwrap_or(0);
                    let others: Vec<usize> = g.all().into_iter().filter(|&i| i != l).collect();
                    g.partition(&[l], &others);
                    format!(" (server {l})")
                }
                5 => {
                    w.groups[2].connect_all();
                    String::new()
                }
                _ => {
                    w.leave(0);
                    String::new()
                }
            };
            done.push(format!("{what}{detail}"));
            self.next += 1;
        }
        done
    }
}

fn status_char(s: ShardStatus) -> char {
    match s {
        ShardStatus::Serving => 'S',
        ShardStatus::Pulling => 'P',
        ShardStatus::Confirming => 'C',
        ShardStatus::Leaving => 'L',
        ShardStatus::Absent => '.',
    }
}

const LEGEND: &str = "S serving | P pulling (waiting for the data) | C arrived and served, old owner not yet told to drop it | L leaving (kept for the new owner) | . not here | x group unreachable";

/// One picture of the world: the owners and each group's view.
struct Picture {
    config_num: u64,
    owners: [Gid; NSHARDS],
    groups: Vec<Option<GroupView>>,
}

impl Picture {
    fn take(w: &World) -> Picture {
        let c = w.mck.lock().query(-1);
        Picture {
            config_num: c.num,
            owners: c.shards,
            groups: (0..GIDS.len()).map(|gi| w.view(gi)).collect(),
        }
    }

    /// Migrations in flight: "shard from->to (state)".
    fn moving(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (gi, v) in self.groups.iter().enumerate() {
            let Some(v) = v else { continue };
            for (s, st) in v.shards.iter().enumerate() {
                if matches!(st, ShardStatus::Pulling | ShardStatus::Confirming) {
                    out.push(format!("shard {s} -> {} ({st:?})", GIDS[gi]));
                }
            }
        }
        out
    }

    fn screen(&self, header: &str, events: &[(f64, String)]) -> String {
        let mut out = String::from("\x1b[2J\x1b[H");
        let _ = writeln!(out, "{header}");
        let _ = writeln!(out, "shard master: configuration {}", self.config_num);
        let _ = writeln!(out);
        let mut row = String::from("shard        ");
        for s in 0..NSHARDS {
            let _ = write!(row, "{s:>5}");
        }
        let _ = writeln!(out, "{row}");
        let mut row = String::from("owner        ");
        for g in self.owners {
            let _ = write!(row, "{g:>5}");
        }
        let _ = writeln!(out, "{row}");
        for (gi, v) in self.groups.iter().enumerate() {
            let mut row = match v {
                Some(v) => format!("group {} c{:<3}", GIDS[gi], v.config_num),
                None => format!("group {}     ", GIDS[gi]),
            };
            for s in 0..NSHARDS {
                let c = v.as_ref().map_or('x', |v| status_char(v.shards[s]));
                let _ = write!(row, "{c:>5}");
            }
            let _ = writeln!(out, "{row}");
        }
        let _ = writeln!(out, "\x1b[2m{LEGEND}\x1b[0m");
        let moving = self.moving();
        let _ = writeln!(
            out,
            "\nmigrations in flight: {}",
            if moving.is_empty() {
                "none".to_string()
            } else {
                moving.join(", ")
            }
        );
        let _ = writeln!(out, "\nevents:");
        for (t, e) in events.iter().rev().take(8).rev() {
            let _ = writeln!(out, "  {t:5.1} s  {e}");
        }
        out
    }

    fn line(&self, elapsed: f64, ops: u64, rate: f64) -> String {
        let owners: Vec<String> = self.owners.iter().map(|g| g.to_string()).collect();
        let groups: Vec<String> = self
            .groups
            .iter()
            .enumerate()
            .map(|(gi, v)| match v {
                Some(v) => format!(
                    "{} c{} {}",
                    GIDS[gi],
                    v.config_num,
                    v.shards.iter().map(|&s| status_char(s)).collect::<String>()
                ),
                None => format!("{} x", GIDS[gi]),
            })
            .collect();
        let moving = self.moving();
        format!(
            "{elapsed:5.1}s ops {ops:>6} (now {rate:>4.0}/s) | config {} owners {} | {} | moving: {}",
            self.config_num,
            owners.join(" "),
            groups.join(" | "),
            if moving.is_empty() { "none".to_string() } else { moving.join(", ") }
        )
    }
}

/// Runs the sharded demo; the exit code is the checker's verdict's.
pub fn run(o: &Options) -> ExitCode {
    let net = o.seed.map_or_else(Network::new, Network::with_seed);
    let seed = net.seed();
    let w = World::new(net);
    w.join(0);
    let t0 = Instant::now();
    // Keys "0".."9": one in each shard.
    let (net, n) = (w.net.clone(), o.clients);
    let clients = Clients::spawn(
        n,
        t0,
        |rng| rng.random_range(0..NSHARDS).to_string(),
        move || shardkv::Clerk::new(ctrler_ends(&net), make_end(&net)),
    );
    let mut injector = Injector {
        next: 0,
        crashed: None,
    };
    let mut events: Vec<(f64, String)> = vec![(0.0, "group 100 joins".into())];
    let total = o.seconds as f64;
    let ticker = crate::ticker(o.tty);
    if !o.tty {
        println!("legend: owners of shards 0-9 | per group: gid, its configuration, each shard's state ({LEGEND})");
        println!("  0.0s event: group 100 joins");
    }
    let mut last = (0.0, 0u64);
    loop {
        let elapsed = t0.elapsed().as_secs_f64();
        let ops = clients.ops.load(Ordering::Relaxed);
        let rate = (ops - last.1) as f64 / (elapsed - last.0).max(0.001);
        if elapsed - last.0 >= 0.95 {
            last = (elapsed, ops);
        }
        for e in injector.advance(&w, elapsed / total) {
            if !o.tty {
                println!("{elapsed:5.1}s event: {e}");
            }
            events.push((elapsed, e));
        }
        let pic = Picture::take(&w);
        if o.tty {
            let header = format!(
                "sharded kv demo   {elapsed:5.1} s / {total:.0} s   seed {seed}   ops {ops}   RPCs {}",
                w.net.total_count()
            );
            print!("{}", pic.screen(&header, &events));
        } else {
            println!("{}", pic.line(elapsed, ops, rate));
        }
        let _ = std::io::stdout().flush();
        if elapsed >= total {
            break;
        }
        let _ = ticker.recv();
    }

    // Heal everything and let the clerks finish.
    for g in &w.groups {
        g.connect_all();
    }
    println!("\nhealing; waiting for the clients' last operations ...");
    let history = clients.finish();
    let rpcs = w.net.total_count();
    let pic = Picture::take(&w);
    w.shutdown();
    println!(
        "summary: shard master + {} groups of {SERVERS}, {} clients, {:.0} s, seed {seed}",
        GIDS.len(),
        o.clients,
        total
    );
    println!(
        "  configuration at the end: {} (owners {:?})",
        pic.config_num, pic.owners
    );
    println!("  RPCs sent:            {rpcs}");
    println!("  events:               {}", events.len());
    crate::report_verdict(&history, "sharded demo: the clients' history")
}
