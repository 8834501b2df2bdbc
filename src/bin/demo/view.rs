//! The demo's display: a refreshed table on a terminal, one line per second otherwise.

use crate::cluster::PeerView;
use std::fmt::Write as _;

pub struct Frame<'a> {
    pub elapsed: f64,
    pub total: f64,
    pub seed: u64,
    pub ops: u64,
    /// Operations per second over the last second (the average hides a slow phase).
    pub rate_now: f64,
    /// The network's mode now: reliable or not, partitioned or not.
    pub unreliable: bool,
    pub rpcs: u64,
    pub peers: &'a [PeerView],
    pub events: &'a [(f64, String)],
}

fn peer_cells(p: &PeerView) -> (String, String, String, String, String, String) {
    match &p.status {
        Some(s) => (
            s.role.to_string(),
            s.term.to_string(),
            s.last_log_index.to_string(),
            s.commit_index.to_string(),
            s.last_applied.to_string(),
            s.snapshot_index.to_string(),
        ),
        None => (
            "down".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ),
    }
}

/// What the table's columns mean, in one line.
pub const LEGEND: &str =
    "log: last index | commit: commit index | applied: applied by kv | snapshot: last index in it";

/// What the one-line format's fields mean.
pub const LINE_LEGEND: &str = "legend: ops total (now: last second) | net mode | per peer: S<i> <F|C|L> T<term> log <last index> c<commit> a<applied> s<snapshot index>";

/// The whole network's mode, for the header.
fn network_mode(f: &Frame) -> &'static str {
    let split = f
        .peers
        .iter()
        .any(|p| p.up && (!p.connected || p.in_minority));
    match (f.unreliable, split) {
        (false, false) => "reliable",
        (false, true) => "reliable, PARTITIONED",
        (true, false) => "UNRELIABLE (10% of messages lost, 0-26 ms delays)",
        (true, true) => "UNRELIABLE and PARTITIONED",
    }
}

/// The full-screen table (ANSI: clear, home).
pub fn screen(f: &Frame) -> String {
    let mut out = String::from("\x1b[2J\x1b[H");
    let avg = f.ops as f64 / f.elapsed.max(0.001);
    let _ = writeln!(
        out,
        "raft kv demo   {:5.1} s / {:.0} s   seed {}   ops {} (now {:.0}/s, average {:.0}/s)   RPCs {}",
        f.elapsed, f.total, f.seed, f.ops, f.rate_now, avg, f.rpcs
    );
    let _ = writeln!(out, "network: {}", network_mode(f));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "peer  state       term     log  commit  applied  snapshot  network"
    );
    for (i, p) in f.peers.iter().enumerate() {
        let (role, term, log, commit, applied, snap) = peer_cells(p);
        let net = if !p.up {
            "crashed"
        } else if !p.connected {
            "cut off"
        } else if p.in_minority {
            "partitioned (minority)"
        } else {
            "up"
        };
        let colour = match role.as_str() {
            "leader" => "\x1b[1;32m",
            "candidate" => "\x1b[33m",
            "down" => "\x1b[31m",
            _ => "",
        };
        let _ = writeln!(out, "{colour}S{i:<4} {role:<10} {term:>5} {log:>7} {commit:>7} {applied:>8} {snap:>9}  {net}\x1b[0m");
    }
    let _ = writeln!(out, "\x1b[2m{LEGEND}\x1b[0m");
    let _ = writeln!(out);
    let _ = writeln!(out, "faults:");
    for (t, e) in f.events.iter().rev().take(8).rev() {
        let _ = writeln!(out, "  {t:5.1} s  {e}");
    }
    out
}

/// One line for logs and CI.
pub fn line(f: &Frame) -> String {
    let net = match network_mode(f) {
        "reliable" => "reliable",
        "reliable, PARTITIONED" => "PARTITIONED",
        "UNRELIABLE and PARTITIONED" => "UNRELIABLE+PARTITIONED",
        _ => "UNRELIABLE",
    };
    let mut out = format!(
        "{:5.1}s ops {:>6} (now {:>5.0}/s) rpcs {:>7} | net {net} |",
        f.elapsed, f.ops, f.rate_now, f.rpcs
    );
    for (i, p) in f.peers.iter().enumerate() {
        let (role, term, log, commit, applied, snap) = peer_cells(p);
        let r = role.chars().next().unwrap_or('?').to_ascii_uppercase();
        if p.status.is_some() {
            let _ = write!(
                out,
                " S{i} {r} T{term} log {log} c{commit} a{applied} s{snap} |"
            );
        } else {
            let _ = write!(out, " S{i} down |");
        }
    }
    out
}
