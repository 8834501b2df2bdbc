//! Real faults for real processes: `kvnode` servers killed with SIGKILL and
//! restarted from their disks, paused with SIGSTOP and resumed, while
//! `kvctl load` clerks work against them; then the clients' history is
//! checked for linearizability and every acknowledged write looked for.
//!
//! ```text
//! nemesis [--nodes 5] [--seconds 60] [--clients 3] [--keys 5] [--dir DIR] [--seed N]
//! ```
//!
//! Everything runs on 127.0.0.1 (ports the OS picks), for `--seconds` plus
//! a few seconds to finish, and every process started is stopped by its id
//! at the end, also when the run fails. At most a minority of servers is
//! down or paused at any moment, so the clients can always make progress.
//! Exit status: 0 linearizable and nothing lost; 1 a violation; 2 bad
//! arguments or a run that could not be carried out.

#[path = "common/args.rs"]
mod args;

use args::{free_ports, number, parse_or_exit};
use raft::linearizability::history::{read_raw_history, HistoryLine};
use raft::linearizability::kv::{KvModel, KvOp, KvOperation};
use raft::linearizability::{check_operations, CheckResult};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: nemesis [--nodes N] [--seconds N] [--clients N] [--keys N] [--dir DIR] [--seed N]
  --nodes N     kvnode servers (3 to 7, default 5)
  --seconds N   how long the clients run and the faults go on (default 60)
  --clients N   kvctl clerks (default 3)     --keys N   keys they use (default 5)
  --dir DIR     the servers' data (default: a new folder in the temporary directory)
  --seed N      the faults' random choices (default: random; printed)";

struct Options {
    nodes: usize,
    seconds: u64,
    clients: usize,
    keys: usize,
    dir: Option<PathBuf>,
    seed: Option<u64>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        nodes: 5,
        seconds: 60,
        clients: 3,
        keys: 5,
        dir: None,
        seed: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--nodes" => o.nodes = number("--nodes", it.next(), 3, 7)?,
            "--seconds" => o.seconds = number("--seconds", it.next(), 5, 3600)?,
            "--clients" => o.clients = number("--clients", it.next(), 1, 50)?,
            "--keys" => o.keys = number("--keys", it.next(), 1, 100)?,
            "--dir" => o.dir = Some(it.next().ok_or("--dir needs a value")?.into()),
            "--seed" => o.seed = Some(number("--seed", it.next(), 0, u64::MAX)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_or_exit("nemesis", USAGE, parse) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    match run(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("nemesis: {e}");
            ExitCode::from(2)
        }
    }
}

/// The programs next to this one (cargo builds them into the same folder).
fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let p = me.with_file_name(name);
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found (cargo build --release --bins)",
            p.display()
        ))
    }
}

/// The servers and what is being done to them. Dropping it kills them all.
struct Cluster {
    kvnode: PathBuf,
    peers: String,
    dir: PathBuf,
    lifetime: u64,
    nodes: Vec<Node>,
}

struct Node {
    child: Option<Child>,
    /// Paused with SIGSTOP until this moment.
    paused_until: Option<Instant>,
    /// Killed; to be restarted at this moment.
    down_until: Option<Instant>,
}

impl Cluster {
    fn start(&mut self, i: usize) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join(format!("node-{i}.log")))
            .map_err(|e| format!("node log: {e}"))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&self.kvnode)
            .args(["--me", &i.to_string(), "--peers", &self.peers])
            .arg("--dir")
            .arg(self.dir.join(i.to_string()))
            .args([
                "--seconds",
                &self.lifetime.to_string(),
                "--maxraftstate",
                "20000",
            ])
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start kvnode {i}: {e}"))?;
        self.nodes[i].child = Some(child);
        Ok(())
    }

    fn signal(&self, i: usize, sig: &str) {
        if let Some(c) = &self.nodes[i].child {
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
        }
    }

    fn faulty(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.paused_until.is_some() || n.down_until.is_some())
            .count()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = Command::new("kill")
                    .args(["-CONT", &c.id().to_string()])
                    .status();
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn run(o: &Options) -> Result<bool, String> {
    let seed = o.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = o
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("nemesis-{}", std::process::id())));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (kvnode, kvctl) = (sibling("kvnode")?, sibling("kvctl")?);
    let addrs = free_ports(o.nodes)?;
    let peers = addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "nemesis: {} servers, {} clerks, {} s, seed {seed}, data and logs in {}",
        o.nodes,
        o.clients,
        o.seconds,
        dir.display()
    );
    let mut cluster = Cluster {
        kvnode,
        peers: peers.clone(),
        dir: dir.clone(),
        lifetime: o.seconds + 120,
        nodes: (0..o.nodes)
            .map(|_| Node {
                child: None,
                paused_until: None,
                down_until: None,
            })
            .collect(),
    };
    for i in 0..o.nodes {
        cluster.start(i)?;
    }
    let history = dir.join("history.jsonl");
    let load = Command::new(&kvctl)
        .args(["--servers", &peers, "load"])
        .args([
            "--clients",
            &o.clients.to_string(),
            "--keys",
            &o.keys.to_string(),
        ])
        .args(["--seconds", &o.seconds.to_string()])
        .arg("--history")
        .arg(&history)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start kvctl: {e}"))?;
    // A thread waits for the load to end and hands over what it printed.
    let (load_tx, load_done) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = load_tx.send(load.wait_with_output());
    });

    // The faults, until the clients' time is up (or the load ends early:
    // then there is nothing left to disturb).
    let minority = (o.nodes - 1) / 2;
    let until = Instant::now() + Duration::from_secs(o.seconds);
    let (mut kills, mut pauses) = (0, 0);
    let mut ended_early = None;
    while Instant::now() < until {
        let pace = Duration::from_millis(rng.random_range(300..1500));
        if let Ok(out) = load_done.recv_timeout(pace) {
            ended_early = Some(out);
            break;
        }
        let now = Instant::now();
        for i in 0..o.nodes {
            if cluster.nodes[i].paused_until.is_some_and(|t| t <= now) {
                cluster.signal(i, "-CONT");
                cluster.nodes[i].paused_until = None;
            }
            if cluster.nodes[i].down_until.is_some_and(|t| t <= now) {
                cluster.start(i)?;
                cluster.nodes[i].down_until = None;
            }
        }
        if cluster.faulty() >= minority {
            continue;
        }
        let healthy: Vec<usize> = (0..o.nodes)
            .filter(|&i| {
                cluster.nodes[i].paused_until.is_none() && cluster.nodes[i].down_until.is_none()
            })
            .collect();
        let i = healthy[rng.random_range(0..healthy.len())];
        let back = now + Duration::from_millis(rng.random_range(500..3000));
        if rng.random_bool(0.6) {
            if let Some(mut c) = cluster.nodes[i].child.take() {
                let _ = c.kill(); // SIGKILL: no goodbye, only what is on disk survives
                let _ = c.wait();
            }
            cluster.nodes[i].down_until = Some(back);
            kills += 1;
        } else {
            cluster.signal(i, "-STOP");
            cluster.nodes[i].paused_until = Some(back);
            pauses += 1;
        }
    }
    // Heal everything so the clerks can finish.
    for i in 0..o.nodes {
        if cluster.nodes[i].paused_until.take().is_some() {
            cluster.signal(i, "-CONT");
        }
        if cluster.nodes[i].down_until.take().is_some() {
            cluster.start(i)?;
        }
    }
    let out = match ended_early {
        Some(out) => out,
        None => load_done
            .recv()
            .map_err(|_| "kvctl: its waiting thread is gone".to_string())?,
    }
    .map_err(|e| format!("kvctl: {e}"))?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        return Err(format!("kvctl load failed ({})", out.status));
    }
    let final_reads = read_final_values(&kvctl, &peers, o.keys)?;
    drop(cluster);
    println!("nemesis: {kills} kill -9 and restart, {pauses} SIGSTOP/SIGCONT pauses");
    judge(&history, &final_reads, o.clients)
}

/// Each key's value once everything has healed.
fn read_final_values(
    kvctl: &Path,
    peers: &str,
    keys: usize,
) -> Result<Vec<(String, String)>, String> {
    (0..keys)
        .map(|k| {
            let out = Command::new(kvctl)
                .args(["--servers", peers, "--timeout", "30", "get", &k.to_string()])
                .output()
                .map_err(|e| format!("kvctl get: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "final read of key {k}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let v = String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string();
            Ok((k.to_string(), v))
        })
        .collect()
}

/// The verdict: the history with the final reads appended (after every
/// other operation), checked for linearizability; and every acknowledged
/// Append that no Put can have overwritten, looked for in its key's value.
fn judge(history: &Path, final_reads: &[(String, String)], clients: usize) -> Result<bool, String> {
    let file = std::fs::File::open(history).map_err(|e| format!("{}: {e}", history.display()))?;
    let mut lines = read_raw_history(std::io::BufReader::new(file))
        .map_err(|e| format!("{}: {e}", history.display()))?;
    let end = lines.iter().map(|l| l.ret).max().unwrap_or(0);
    for (n, (key, value)) in final_reads.iter().enumerate() {
        let t = end + 1 + 2 * n as i64;
        lines.push(HistoryLine {
            client: clients,
            op: KvOp::Get,
            key: key.clone(),
            value: String::new(),
            output: value.clone(),
            call: t,
            ret: t + 1,
        });
    }
    let ops: Vec<KvOperation> = lines
        .iter()
        .map(|l| l.to_operation())
        .collect::<Result<_, _>>()?;
    let verdict = check_operations(&KvModel, &ops, None);
    let finals: HashMap<&str, &str> = final_reads
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut acked_appends = 0;
    let mut lost = Vec::new();
    for a in lines
        .iter()
        .filter(|l| l.op == KvOp::Append && l.client < clients)
    {
        acked_appends += 1;
        let overwritable = lines
            .iter()
            .any(|p| p.op == KvOp::Put && p.key == a.key && p.ret >= a.call);
        if !overwritable
            && !finals
                .get(a.key.as_str())
                .is_some_and(|v| v.contains(&a.value))
        {
            lost.push(a.value.clone());
        }
    }
    println!(
        "nemesis: {} operations ({} acknowledged appends checked), verdict {}, {} acknowledged writes lost",
        lines.len(),
        acked_appends,
        match verdict {
            CheckResult::Ok => "linearizable",
            CheckResult::Illegal => "NOT linearizable",
            CheckResult::Unknown => "undecided",
        },
        lost.len()
    );
    if !lost.is_empty() {
        println!("nemesis: lost: {:?}", &lost[..lost.len().min(10)]);
    }
    Ok(verdict != CheckResult::Illegal && lost.is_empty())
}
