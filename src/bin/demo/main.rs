//! The live demo (the README's first command): a kv service on a cluster of
//! Raft peers, clients writing and reading, and a schedule of faults (a crashed
//! leader, a partition, an unreliable network, a crashed follower), shown live,
//! ending with the linearizability checker's verdict on everything the
//! clients saw.
//!
//! With `--sharded`, lab 4's service instead: a shard master and three
//! replica groups, groups joining and leaving, shards moving (`sharded.rs`).
//!
//! ```text
//! cargo run --release -- [--sharded] [--seconds 30] [--peers 5] [--clients 3] [--seed N] [--no-tty]
//! ```

#[path = "../common/args.rs"]
mod args;
mod clients;
mod cluster;
mod schedule;
mod sharded;
mod sharded_schedule;
mod sharded_view;
mod view;

use args::{number, parse_or_exit};
use clients::Clients;
use cluster::Cluster;
use labrpc::Network;
use raft::linearizability::kv::{KvModel, KvOperation};
use raft::linearizability::{
    check_operations_verbose, visualize_with, Annotation, CheckResult, PageOptions,
};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: demo [--sharded] [--seconds N] [--peers N] [--clients N] [--seed N] [--no-tty]
  --sharded     lab 4: a shard master and three replica groups of 3 servers, shards moving
                between groups as they join and leave (--peers does not apply)
  --seconds N   how long to run (default 30, at least 5)
  --peers N     kv servers, each with its Raft peer (default 5, from 3 to 7)
  --clients N   clerks writing and reading at once (default 3, from 1 to 20)
  --seed N      the network's random seed (default: random; the summary prints it)
  --no-tty      one status line per second instead of a refreshed table";

struct Options {
    sharded: bool,
    seconds: u64,
    peers: usize,
    clients: usize,
    seed: Option<u64>,
    tty: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        sharded: false,
        seconds: 30,
        peers: 5,
        clients: 3,
        seed: None,
        tty: std::io::stdout().is_terminal(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => o.seconds = number("--seconds", it.next(), 5, 3600)?,
            "--peers" => o.peers = number("--peers", it.next(), 3, 7)?,
            "--clients" => o.clients = number("--clients", it.next(), 1, 20)?,
            "--seed" => o.seed = Some(number("--seed", it.next(), 0, u64::MAX)?),
            "--no-tty" => o.tty = false,
            "--sharded" => o.sharded = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_or_exit("demo", USAGE, parse) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    if let Err(e) = raft::debug::try_init() {
        eprintln!("demo: {e}");
        return ExitCode::from(2);
    }
    if o.sharded {
        return sharded::run(&o);
    }
    let net = o.seed.map_or_else(Network::new, Network::with_seed);
    let seed = net.seed();
    let cluster = Arc::new(Cluster::new(net, o.peers, Some(4000)));
    let t0 = Instant::now();
    let clients = Clients::start(&cluster, o.clients);
    let mut injector = schedule::Injector::new();
    let mut events: Vec<(f64, String)> = Vec::new();
    let total = o.seconds as f64;
    let ticker = ticker(o.tty);
    if !o.tty {
        println!("{}", view::LINE_LEGEND);
    }
    let mut rate = clients::Rate::default();
    loop {
        let elapsed = t0.elapsed().as_secs_f64();
        let ops = clients.ops.load(std::sync::atomic::Ordering::Relaxed);
        let rate_now = rate.update(elapsed, ops);
        for e in injector.advance(&cluster, o.peers, elapsed / total) {
            if !o.tty {
                println!("{elapsed:5.1}s fault: {e}");
            }
            events.push((elapsed, e));
        }
        let peers = cluster.views();
        let frame = view::Frame {
            elapsed,
            total,
            seed,
            ops,
            rate_now,
            unreliable: injector.unreliable(),
            rpcs: cluster.net().total_count(),
            peers: &peers,
            events: &events,
        };
        if o.tty {
            print!("{}", view::screen(&frame));
        } else {
            println!("{}", view::line(&frame));
        }
        let _ = std::io::stdout().flush();
        if elapsed >= total {
            break;
        }
        let _ = ticker.recv();
    }

    // Heal everything and let the clerks finish what they were doing.
    injector.heal_all(&cluster);
    println!("\nhealing the cluster; waiting for the clients' last operations ...");
    // Give the clerks a second on the healed cluster (a timer, not a handshake:
    // `finish` below is what waits for them).
    let _ = crossbeam_channel::after(Duration::from_secs(1)).recv();
    let history = clients.finish();
    let final_terms: Vec<String> = cluster
        .views()
        .iter()
        .filter_map(|p| p.status.as_ref().map(|s| s.term.to_string()))
        .collect();
    let rpcs = cluster.net().total_count();
    cluster.shutdown();

    println!();
    println!(
        "summary: {} peers, {} clients, {:.0} s, seed {seed}",
        o.peers, o.clients, total
    );
    println!("  RPCs sent:            {rpcs}");
    println!("  final terms:          {}", final_terms.join(" "));
    println!("  faults injected:      {}", events.len());
    report_verdict(
        &history,
        "demo: the clients' history",
        &cluster.timeline().annotations(),
    )
}

/// The display's refresh timer: four times a second on a terminal, once a
/// second for a plain log. Nothing else waits on it.
fn ticker(tty: bool) -> crossbeam_channel::Receiver<Instant> {
    crossbeam_channel::tick(if tty {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(1)
    })
}

/// Checks the clients' history for linearizability and prints the verdict
/// (and, if it is not, where its page is); the exit code says which.
fn report_verdict(history: &[KvOperation], title: &str, annotations: &[Annotation]) -> ExitCode {
    println!("  operations completed: {}", history.len());
    println!("checking them for linearizability ...");
    let (result, info) = check_operations_verbose(&KvModel, history, Some(Duration::from_secs(20)));
    match result {
        CheckResult::Ok => {
            println!("  verdict:              linearizable");
            ExitCode::SUCCESS
        }
        CheckResult::Unknown => {
            println!("  verdict:              unknown (the checker ran out of time; as in the lab, not a failure)");
            ExitCode::SUCCESS
        }
        CheckResult::Illegal => {
            let path =
                std::env::temp_dir().join(format!("demo-history-{}.html", std::process::id()));
            let page = PageOptions {
                title: title.into(),
                nanoseconds: true,
                annotations: annotations.to_vec(),
                ..PageOptions::default()
            };
            let _ = visualize_with(&KvModel, history, &info, &page, &path);
            println!(
                "  verdict:              NOT linearizable; see {}",
                path.display()
            );
            ExitCode::from(1)
        }
    }
}
