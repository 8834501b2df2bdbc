//! One kv server as its own process: the same `KvServer` and Raft as the
//! labs, over TCP (`labrpc::tcp`) and on a real disk (`Persister::on_disk`).
//!
//! ```text
//! kvnode --me I --peers A0,A1,...,An-1 --dir DIR [--maxraftstate BYTES] [--no-fsync] [--seconds N]
//! kvnode --local N --dir DIR [--seconds N] [--maxraftstate BYTES] [--no-fsync]
//! ```
//!
//! The first runs server `I` of the cluster whose servers listen at the
//! `--peers` addresses (its own is `A_I`), keeping its state in `DIR`; kill
//! it (even with `kill -9`) and start it again with the same arguments, and
//! it carries on from what it saved. The second starts `N` such processes on
//! 127.0.0.1, ports chosen by the OS, data in `DIR/0` .. `DIR/N-1`, prints
//! the `--servers` argument for `kvctl`, and stops them all (by process id)
//! after `--seconds`. Every process stops by itself after `--seconds`
//! (default 600): nothing is left running by accident.

#[path = "common/args.rs"]
mod args;

use args::{addresses, free_ports, number, parse_or_exit};
use labrpc::tcp::TcpServer;
use labrpc::{ClientEnd, Server};
use raft::kvraft::KvServer;
use raft::Persister;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: kvnode --me I --peers A0,A1,... --dir DIR [--maxraftstate BYTES] [--no-fsync] [--seconds N]
       kvnode --local N --dir DIR [--maxraftstate BYTES] [--no-fsync] [--seconds N]
  --me I             this server's number: it listens at the I-th address of --peers
  --peers A0,A1,...  every server's address (host:port), the same list for all
  --local N          start N servers on 127.0.0.1 (3 to 7) as child processes instead
  --dir DIR          where the server keeps its state (--local: DIR/0, DIR/1, ...)
  --maxraftstate B   snapshot when Raft's saved state reaches B bytes (default: never)
  --no-fsync         do not fsync saves (to measure what fsync costs; unsafe)
  --seconds N        stop after N seconds (default 600, at most 86400)";

struct Options {
    me: Option<usize>,
    peers: Vec<SocketAddr>,
    local: Option<usize>,
    dir: Option<PathBuf>,
    maxraftstate: Option<usize>,
    fsync: bool,
    seconds: u64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        me: None,
        peers: Vec::new(),
        local: None,
        dir: None,
        maxraftstate: None,
        fsync: true,
        seconds: 600,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--me" => o.me = Some(number("--me", it.next(), 0, 100)?),
            "--peers" => o.peers = addresses("--peers", it.next())?,
            "--local" => o.local = Some(number("--local", it.next(), 3, 7)?),
            "--dir" => o.dir = Some(it.next().ok_or("--dir needs a value")?.into()),
            "--maxraftstate" => {
                o.maxraftstate = Some(number("--maxraftstate", it.next(), 1, usize::MAX)?)
            }
            "--no-fsync" => o.fsync = false,
            "--seconds" => o.seconds = number("--seconds", it.next(), 1, 86_400)?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.dir.is_none() {
        return Err("--dir is required".into());
    }
    match (o.me, o.local) {
        (Some(me), None) if me < o.peers.len() => Ok(o),
        (Some(me), None) => Err(format!("--me {me}, but --peers lists {}", o.peers.len())),
        (None, Some(_)) if o.peers.is_empty() => Ok(o),
        (None, Some(_)) => Err("--local picks its own addresses; drop --peers".into()),
        _ => Err("give either --me and --peers, or --local".into()),
    }
}

fn main() -> ExitCode {
    let o = match parse_or_exit("kvnode", USAGE, parse) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    if let Err(e) = raft::debug::try_init() {
        eprintln!("kvnode: {e}");
        return ExitCode::from(2);
    }
    let result = match o.local {
        Some(n) => run_local(&o, n),
        None => run_node(&o),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvnode: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one server until `--seconds` have passed.
fn run_node(o: &Options) -> Result<(), String> {
    let me = o.me.expect("checked by parse");
    let dir = o.dir.as_ref().expect("checked by parse");
    let persister = Persister::on_disk(dir, o.fsync)?;
    let ends = o.peers.iter().map(|a| ClientEnd::tcp(*a)).collect();
    let kv = KvServer::start(ends, me, persister, o.maxraftstate).map_err(|e| e.to_string())?;
    let server = Server::new();
    server.add_service(kv.service());
    server.add_service(kv.raft().service());
    let tcp = TcpServer::start(&o.peers[me].to_string(), server)
        .map_err(|e| format!("cannot listen at {}: {e}", o.peers[me]))?;
    println!(
        "kvnode {me}: serving at {}, state in {}, for {} s",
        tcp.addr(),
        dir.display(),
        o.seconds
    );
    // The process's lifetime bound: the server's threads do the work; this
    // one waits on a timer until it is time to stop them.
    let _ = crossbeam_channel::after(Duration::from_secs(o.seconds)).recv();
    tcp.stop();
    kv.kill();
    Ok(())
}

/// Starts `n` servers as child processes on 127.0.0.1 and stops them after
/// `--seconds` (or when one of them fails).
fn run_local(o: &Options, n: usize) -> Result<(), String> {
    let dir = o.dir.as_ref().expect("checked by parse");
    let peers = free_ports(n)?;
    let list = peers
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let mut children: Vec<Child> = Vec::new();
    for i in 0..n {
        let mut cmd = Command::new(&exe);
        cmd.args(["--me", &i.to_string(), "--peers", &list])
            .arg("--dir")
            .arg(dir.join(i.to_string()))
            // Their own bound is a little later than ours, so that only
            // a server that failed exits before we stop them.
            .args(["--seconds", &(o.seconds + 10).to_string()]);
        if let Some(m) = o.maxraftstate {
            cmd.args(["--maxraftstate", &m.to_string()]);
        }
        if !o.fsync {
            cmd.arg("--no-fsync");
        }
        match cmd.spawn() {
            Ok(c) => children.push(c),
            Err(e) => {
                stop_all(&mut children);
                return Err(format!("cannot start server {i}: {e}"));
            }
        }
    }
    println!("kvnode: {n} servers; talk to them with: kvctl --servers {list} ...");
    // One thread per child waits for it to exit and says so; this thread
    // waits for the first exit or the end of --seconds, whichever comes first.
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let (exited_tx, exited) = crossbeam_channel::unbounded();
    for (i, mut c) in children.into_iter().enumerate() {
        let tx = exited_tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((i, c.wait()));
        });
    }
    let until = Instant::now() + Duration::from_secs(o.seconds);
    let failed = match exited.recv_deadline(until) {
        Ok((i, status)) => Some(format!("server {i} exited: {status:?}")),
        Err(_) => None,
    };
    // Stop the rest by process id; their waiting threads reap them.
    for pid in &pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    for _ in 0..n - usize::from(failed.is_some()) {
        if exited.recv_timeout(Duration::from_secs(5)).is_err() {
            break;
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Kills each child by its process id and reaps it.
fn stop_all(children: &mut [Child]) {
    for c in children.iter_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
}
