//! lincheck: checks a key/value history, recorded by any system, for
//! linearizability, with the same checker the kv tests use.
//!
//! ```text
//! lincheck FILE.jsonl [--timeout SECS] [--html OUT.html] [--events EVENTS.jsonl] [--ns] [--memo-mb MB] [--workers N]
//! ```
//!
//! One JSON object per line (see `raft::linearizability::history`):
//! `{"client":0,"op":"get","key":"k","output":"v","call":123,"return":456}`.
//! Exit status: 0 linearizable, 1 not linearizable, 3 undecided within the
//! time limit, 2 bad input or bad flags (with the line number and reason; a
//! file with no operations counts as bad input: it is more likely the wrong
//! file than an empty history).

use raft::linearizability::history::{read_annotations, read_history_lines};
use raft::linearizability::kv::{KvModel, KvOperation};
use raft::linearizability::{
    check_operations_with, visualize_with, CheckOptions, CheckResult, Model, PageOptions,
};
use std::collections::BTreeSet;
use std::io::BufReader;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: lincheck FILE.jsonl [--timeout SECS] [--html OUT.html] [--events EVENTS.jsonl] [--ns] [--memo-mb MB] [--workers N]
  FILE.jsonl      a kv history, one JSON object per line ('-' for standard input):
                  {\"client\":0,\"op\":\"get|put|append\",\"key\":\"k\",\"value\":\"v\",\"output\":\"out\",\"call\":123,\"return\":456}
                  value: what a put/append wrote; output: what a get read (ignored for writes);
                  call/return: integers that grow with time
  --timeout SECS  give up after this long and say 'unknown' (default 60)
  --html OUT      write a page showing the history, each key's verdict and where it breaks
  --events FILE   what happened meanwhile, drawn on the page above the clients, one object per line:
                  {\"time\":123,\"end\":456,\"kind\":\"partition|crash|network|check|info\",\"text\":\"...\"}
                  (times on the history's clock; end only for something that lasted)
  --ns            times are nanoseconds (the page shows milliseconds)
  --memo-mb MB    memory the search's memo may use (default 512)
  --workers N     threads searching at once (default: one per core)
exit status: 0 linearizable, 1 not linearizable, 3 unknown (time limit), 2 bad input";

struct Args {
    file: String,
    timeout: Duration,
    html: Option<String>,
    events: Option<String>,
    ns: bool,
    memo_mb: usize,
    workers: usize,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut file = None;
    let mut a = Args {
        file: String::new(),
        timeout: Duration::from_secs(60),
        html: None,
        events: None,
        ns: false,
        memo_mb: 512,
        workers: 0,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--timeout" => {
                let v = value("--timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or(format!(
                        "--timeout: {v:?} is not a positive number of seconds"
                    ))?;
                a.timeout = Duration::from_secs_f64(secs);
            }
            "--html" => a.html = Some(value("--html")?),
            "--events" => a.events = Some(value("--events")?),
            "--ns" => a.ns = true,
            "--memo-mb" => {
                let v = value("--memo-mb")?;
                a.memo_mb = v
                    .parse()
                    .ok()
                    .filter(|&m: &usize| m < (1 << 40))
                    .ok_or(format!("--memo-mb: {v:?} is not a number of megabytes"))?;
            }
            "--workers" => {
                let v = value("--workers")?;
                a.workers = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| (1..=1024).contains(&n))
                    .ok_or(format!("--workers: {v:?} is not a number from 1 to 1024"))?;
            }
            f if f.starts_with('-') && f != "-" => return Err(format!("unknown flag {f}")),
            f if file.is_none() => file = Some(f.to_string()),
            f => return Err(format!("one history at a time (got {f:?} too)")),
        }
    }
    a.file = file.ok_or("no history file given")?;
    if a.events.is_some() && a.html.is_none() {
        return Err("--events is drawn on the page: give --html too".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        let _ = writeln!(std::io::stdout(), "{USAGE}"); // no panic if stdout is closed
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lincheck: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let read = if args.file == "-" {
        read_history_lines(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&args.file) {
            Ok(f) => read_history_lines(BufReader::new(f)),
            Err(e) => {
                eprintln!("lincheck: cannot open {}: {e}", args.file);
                return ExitCode::from(2);
            }
        }
    };
    let (history, lines) = match read {
        Ok(h) => h,
        Err(e) => {
            eprintln!("lincheck: {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let annotations = match &args.events {
        None => Vec::new(),
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => match read_annotations(BufReader::new(f)) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("lincheck: {path}: {e}");
                    return ExitCode::from(2);
                }
            },
            Err(e) => {
                eprintln!("lincheck: cannot open {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if history.is_empty() {
        // Trivially linearizable, but far more likely the wrong file.
        eprintln!("lincheck: {}: no operations to check", args.file);
        return ExitCode::from(2);
    }
    let keys: BTreeSet<&str> = history.iter().map(|o| o.input.key.as_str()).collect();
    let clients: BTreeSet<usize> = history.iter().map(|o| o.client_id).collect();
    println!(
        "{}: {} operations, {} keys, {} clients",
        args.file,
        history.len(),
        keys.len(),
        clients.len()
    );

    let options = CheckOptions {
        timeout: Some(args.timeout),
        memo_budget: args.memo_mb << 20,
        workers: args.workers,
        verbose: args.html.is_some(),
    };
    let start = Instant::now();
    let (verdict, info) = check_operations_with(&KvModel, &history, &options);
    let took = start.elapsed();
    // Without --html the check stops at the first illegal key, so the keys
    // it had not decided by then are not "unknown": only list those when no
    // key was illegal, or when everything was checked.
    let complete = args.html.is_some() || verdict != CheckResult::Illegal;
    for (want, label) in [
        (CheckResult::Illegal, "illegal"),
        (CheckResult::Unknown, "undecided"),
    ] {
        let names: Vec<String> = info
            .partitions
            .iter()
            .filter(|p| p.result == want)
            .map(|p| KvModel.describe_partition(&history, &p.ops))
            .collect();
        if !names.is_empty() && (want == CheckResult::Illegal || complete) {
            println!("{label}: {}", names.join(", "));
        }
    }
    for p in info
        .partitions
        .iter()
        .filter(|p| p.result == CheckResult::Illegal)
    {
        let blocker = p.blocker.or_else(|| blocker_of(&history, &p.ops, &options));
        if let Some(b) = blocker {
            let op = &history[b];
            println!(
                "  {} breaks at line {}: client {}, {} (call {}, return {}): no order of the operations before it gives this output",
                KvModel.describe_partition(&history, &p.ops),
                lines[b],
                op.client_id,
                KvModel.describe_operation(&op.input, &op.output),
                op.call,
                op.ret
            );
        }
    }
    let (word, code) = match verdict {
        CheckResult::Ok => ("linearizable", 0),
        CheckResult::Illegal => ("NOT linearizable", 1),
        CheckResult::Unknown => (
            "unknown: the time limit passed before every key was decided",
            3,
        ),
    };
    println!("verdict: {word} (checked in {:.3} s)", took.as_secs_f64());
    if let Some(out) = &args.html {
        // The page counts time from the first call; each operation's hover
        // says where it is in the file, with the file's own times.
        let op_labels = history
            .iter()
            .zip(&lines)
            .map(|(op, line)| {
                format!(
                    "line {line} of the file: call {}, return {}",
                    op.call, op.ret
                )
            })
            .collect();
        let page = PageOptions {
            title: format!("lincheck: {}", args.file),
            nanoseconds: args.ns,
            op_labels,
            annotations,
            ..PageOptions::default()
        };
        match visualize_with(&KvModel, &history, &info, &page, out.as_ref()) {
            Ok(()) => println!("history page: {out}"),
            Err(e) => {
                eprintln!("lincheck: cannot write {out}: {e}");
                return ExitCode::from(2);
            }
        }
    } else if verdict != CheckResult::Ok {
        println!("(--html OUT.html draws the history and where it breaks)");
    }
    ExitCode::from(code)
}

/// Where an illegal key's history breaks, found by checking that key alone
/// again, keeping what a page would show (a check that stops at the first
/// illegal key does not keep it). An index into `history`.
fn blocker_of(history: &[KvOperation], ops: &[usize], options: &CheckOptions) -> Option<usize> {
    let sub: Vec<KvOperation> = ops.iter().map(|&i| history[i].clone()).collect();
    let verbose = CheckOptions {
        verbose: true,
        ..options.clone()
    };
    let (_, info) = check_operations_with(&KvModel, &sub, &verbose);
    let part = info.partitions.first()?;
    part.blocker.map(|b| ops[b])
}
