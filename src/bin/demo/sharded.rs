//! `--sharded`: the lab 4 service live. A shard master and three replica
//! groups (gids 100-102, three servers each) on one network (the lab 4
//! setup, `raft::sharded`), clerks writing and reading keys in every shard,
//! and a schedule (`sharded_schedule.rs`): groups join, a group's leader
//! crashes and restarts, another group's leader is cut off in a minority, a
//! group leaves. The view (`sharded_view.rs`) shows who owns each shard,
//! every shard move as it happens, the rate, the faults in force, and at
//! the end the checker's verdict.

use crate::clients::{Clients, Rate};
use crate::sharded_schedule::Injector;
use crate::sharded_view::{self, Moves, Picture, LEGEND};
use crate::Options;
use labrpc::Network;
use raft::sharded::Sharded;
use raft::shardmaster::NSHARDS;
use rand::Rng;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Servers per group.
const SERVERS: usize = 3;

/// Runs the sharded demo; the exit code is the checker's verdict's.
pub fn run(o: &Options) -> ExitCode {
    let net = o.seed.map_or_else(Network::new, Network::with_seed);
    let seed = net.seed();
    let w = Arc::new(Sharded::new(net, &[100, 101, 102], SERVERS, Some(2000)));
    let mut mck = w.ctrler_clerk();
    mck.join(w.join_args(&[0]));
    let t0 = Instant::now();
    // Keys "0".."9": one in each shard.
    let w2 = w.clone();
    let clients = Clients::spawn(
        o.clients,
        |rng| rng.random_range(0..NSHARDS).to_string(),
        move || w2.clerk(),
    );
    let mut injector = Injector::default();
    let mut events: Vec<(f64, String)> = vec![(0.0, "group 100 joins".into())];
    let mut moves = Moves::default();
    let mut rate = Rate::default();
    let total = o.seconds as f64;
    let ticker = crate::ticker(o.tty);
    if !o.tty {
        println!("legend: time, ops, rate, faults in force | owners of shards 0-9 | per group: gid, its configuration, each shard's state ({LEGEND}), [each server's role and term: L leader, F follower, C candidate, x down]");
        println!("  0.0s event: group 100 joins");
    }
    loop {
        let elapsed = t0.elapsed().as_secs_f64();
        let ops = clients.ops.load(Ordering::Relaxed);
        let rate_now = rate.update(elapsed, ops);
        for e in injector.advance(&w, &mut mck, elapsed / total) {
            if !o.tty {
                println!("{elapsed:5.1}s event: {e}");
            }
            events.push((elapsed, e));
        }
        let pic = Picture::take(&w, &mut mck);
        let new_moves = moves.update(elapsed, &pic);
        let in_force = injector.in_force(&w);
        if o.tty {
            let header = format!(
                "sharded kv demo   {elapsed:5.1} s / {total:.0} s   seed {seed}   ops {ops} ({rate_now:.0}/s)   RPCs {}\nfaults in force: {in_force}",
                w.net.total_count()
            );
            print!("{}", sharded_view::screen(&header, &pic, &moves, &events));
        } else {
            for (t, m) in &moves.log[moves.log.len() - new_moves..] {
                println!("{t:5.1}s move: {m}");
            }
            let prefix =
                format!("{elapsed:5.1}s ops {ops:>6} ({rate_now:>4.0}/s) faults: {in_force}");
            println!("{}", sharded_view::line(&pic, &prefix));
        }
        let _ = std::io::stdout().flush();
        if elapsed >= total {
            break;
        }
        let _ = ticker.recv();
    }

    // Heal everything and let the clerks finish.
    injector.heal_all(&w);
    println!("\nhealing; waiting for the clients' last operations ...");
    let history = clients.finish();
    let rpcs = w.net.total_count();
    let pic = Picture::take(&w, &mut mck);
    w.cleanup();
    println!(
        "summary: shard master + {} groups of {SERVERS}, {} clients, {:.0} s, seed {seed}",
        w.groups.len(),
        o.clients,
        total
    );
    println!(
        "  configuration at the end: {} (owners {:?})",
        pic.config_num, pic.owners
    );
    println!("  RPCs sent:            {rpcs}");
    println!("  events:               {}", events.len());
    println!("  shard moves seen:     {}", moves.log.len());
    crate::report_verdict(
        &history,
        "sharded demo: the clients' history",
        &w.annotations(),
    )
}
