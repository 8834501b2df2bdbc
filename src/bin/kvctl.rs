//! A client of `kvnode` servers: one operation, or a load that records its
//! history for `lincheck`.
//!
//! ```text
//! kvctl --servers A0,A1,... [--timeout SECS] get KEY
//! kvctl --servers A0,A1,... [--timeout SECS] put KEY VALUE
//! kvctl --servers A0,A1,... [--timeout SECS] append KEY VALUE
//! kvctl --servers A0,A1,... load [--clients N] [--keys N] [--seconds N] [--history FILE]
//! ```
//!
//! The clerk is the labs' (`raft::kvraft::Clerk`): it finds the leader and
//! retries until the operation is done, so an operation waits out elections
//! and crashes; `--timeout` (default 10 s) bounds that. `load` runs clerks
//! for `--seconds`, each doing random Gets, Puts and Appends one after
//! another, prints the count, rate and latencies, and with `--history`
//! writes every operation as JSON lines (`lincheck FILE` checks them). Each
//! clerk finishes the operation it is in when time is up; one still waiting
//! 5 s later (a majority of servers is down) makes the load fail, since its
//! history would be incomplete.

#[path = "common/args.rs"]
mod args;

use args::{addresses, number, parse_or_exit};
use crossbeam_channel::bounded;
use labrpc::ClientEnd;
use raft::kvraft::Clerk;
use raft::linearizability::history::{to_json_line, HistoryLine};
use raft::linearizability::kv::KvOp;
use rand::Rng;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: kvctl --servers A0,A1,... [--timeout SECS] get KEY | put KEY VALUE | append KEY VALUE
       kvctl --servers A0,A1,... load [--clients N] [--keys N] [--seconds N] [--history FILE]
  --servers      every server's address, as given to kvnode --peers
  --timeout      give up on a single operation after this long (default 10)
  load           random operations from --clients clerks (default 3) on --keys keys
                 (default 5) for --seconds (default 10); --history FILE writes them as JSON lines";

/// Grace after the load's end for operations in flight to finish.
const GRACE: Duration = Duration::from_secs(5);

enum Action {
    Get(String),
    Put(String, String),
    Append(String, String),
    Load {
        clients: usize,
        keys: usize,
        seconds: u64,
        history: Option<String>,
    },
}

fn parse(args: &[String]) -> Result<(Vec<SocketAddr>, u64, Action), String> {
    let mut servers = Vec::new();
    let mut timeout = 10;
    let mut it = args.iter();
    let mut rest = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--servers" => servers = addresses("--servers", it.next())?,
            "--timeout" => timeout = number("--timeout", it.next(), 1, 3600)?,
            "-h" | "--help" => return Err(String::new()),
            _ => rest.push(a.clone()),
        }
    }
    if servers.is_empty() {
        return Err("--servers is required".into());
    }
    let word = |i: usize, what: &str| {
        rest.get(i)
            .cloned()
            .ok_or(format!("{} needs {what}", rest[0]))
    };
    let action = match rest.first().map(String::as_str) {
        Some("get") if rest.len() == 2 => Action::Get(word(1, "a key")?),
        Some("put") if rest.len() == 3 => Action::Put(word(1, "a key")?, word(2, "a value")?),
        Some("append") if rest.len() == 3 => Action::Append(word(1, "a key")?, word(2, "a value")?),
        Some("load") => {
            let (mut clients, mut keys, mut seconds, mut history) = (3, 5, 10, None);
            let mut it = rest[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--clients" => clients = number("--clients", it.next(), 1, 100)?,
                    "--keys" => keys = number("--keys", it.next(), 1, 1000)?,
                    "--seconds" => seconds = number("--seconds", it.next(), 1, 3600)?,
                    "--history" => {
                        history = Some(it.next().ok_or("--history needs a file")?.clone())
                    }
                    other => return Err(format!("load: unknown argument {other:?}")),
                }
            }
            Action::Load {
                clients,
                keys,
                seconds,
                history,
            }
        }
        Some(other) => {
            return Err(format!(
                "{other:?}: expected get KEY, put KEY VALUE, append KEY VALUE or load"
            ))
        }
        None => return Err("no operation given".into()),
    };
    Ok((servers, timeout, action))
}

fn main() -> ExitCode {
    let (servers, timeout, action) = match parse_or_exit("kvctl", USAGE, parse) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    let ends: Vec<ClientEnd> = servers.iter().map(|a| ClientEnd::tcp(*a)).collect();
    let result = match action {
        Action::Load {
            clients,
            keys,
            seconds,
            history,
        } => load(&ends, clients, keys, seconds, history.as_deref()),
        one => single(ends, one, Duration::from_secs(timeout)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvctl: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One operation, given up after `timeout` (the clerk itself retries forever).
fn single(ends: Vec<ClientEnd>, action: Action, timeout: Duration) -> Result<(), String> {
    let (tx, rx) = bounded(1);
    std::thread::spawn(move || {
        let mut ck = Clerk::new(ends);
        let out = match action {
            Action::Get(k) => ck.get(&k),
            Action::Put(k, v) => {
                ck.put(&k, &v);
                "ok".into()
            }
            Action::Append(k, v) => {
                ck.append(&k, &v);
                "ok".into()
            }
            Action::Load { .. } => unreachable!("load is not a single operation"),
        };
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(timeout).map_err(|_| {
        format!(
            "no answer within {} s (is a majority of servers up?)",
            timeout.as_secs()
        )
    })?;
    println!("{out}");
    Ok(())
}

/// What one clerk recorded.
#[derive(Default)]
struct Record {
    done: Vec<HistoryLine>,
    latencies: Vec<Duration>,
}

fn load(
    ends: &[ClientEnd],
    clients: usize,
    keys: usize,
    seconds: u64,
    history: Option<&str>,
) -> Result<(), String> {
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(seconds);
    let ns = move || t0.elapsed().as_nanos() as i64;
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, Record)>();
    for c in 0..clients {
        let (ends, tx) = (ends.to_vec(), tx.clone());
        std::thread::spawn(move || {
            let mut ck = Clerk::new(ends);
            let mut rng = rand::rng();
            let mut rec = Record::default();
            let mut n = 0u64;
            while Instant::now() < until {
                let key = rng.random_range(0..keys).to_string();
                let r: u32 = rng.random_range(0..100);
                let (op, value) = match r {
                    0..50 => (KvOp::Get, String::new()),
                    50..60 => (KvOp::Put, format!("p{c}.{n} ")),
                    _ => (KvOp::Append, format!("a{c}.{n} ")),
                };
                n += 1;
                let mut line = HistoryLine {
                    client: c,
                    op,
                    key: key.clone(),
                    value: value.clone(),
                    output: String::new(),
                    call: ns(),
                    ret: 0,
                };
                match op {
                    KvOp::Get => line.output = ck.get(&key),
                    KvOp::Put => ck.put(&key, &value),
                    KvOp::Append => ck.append(&key, &value),
                }
                line.ret = ns();
                rec.latencies
                    .push(Duration::from_nanos((line.ret - line.call) as u64));
                rec.done.push(line);
            }
            let _ = tx.send((c, rec));
        });
    }
    drop(tx);
    // Collect each clerk's record, waiting at most GRACE past the end.
    let mut records: Vec<Option<Record>> = (0..clients).map(|_| None).collect();
    let deadline = until + GRACE;
    while records.iter().any(Option::is_none) {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((c, rec)) => records[c] = Some(rec),
            Err(_) => break,
        }
    }
    let stuck = records.iter().filter(|r| r.is_none()).count();
    if stuck > 0 {
        return Err(format!(
            "{stuck} of {clients} clerks still waiting {} s after the end (is a majority of servers up?)",
            GRACE.as_secs()
        ));
    }
    let (mut lines, mut latencies) = (Vec::new(), Vec::new());
    for rec in records.into_iter().flatten() {
        lines.extend(rec.done);
        latencies.extend(rec.latencies);
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    let secs = t0.elapsed().as_secs_f64().min(seconds as f64);
    println!(
        "load: {} operations in {seconds} s by {clients} clerks: {:.0}/s, latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lines.len(),
        lines.len() as f64 / secs,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3,
    );
    if let Some(path) = history {
        lines.sort_by_key(|l| l.call);
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?,
        );
        for l in &lines {
            writeln!(out, "{}", to_json_line(l)).map_err(|e| format!("{path}: {e}"))?;
        }
        out.flush().map_err(|e| format!("{path}: {e}"))?;
        println!("load: history in {path} (check it: lincheck {path})");
    }
    Ok(())
}
