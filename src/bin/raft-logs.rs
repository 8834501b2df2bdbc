//! raft-logs: turns a debug log (`RAFT_LOG=1`) into one column per peer.
//!
//! ```text
//! raft-logs [FILE] [-c N] [--just T1,T2] [--ignore T1,T2] [-w WIDTH] [--color|--no-color]
//! ```
//!
//! Reads FILE, or standard input. A debug line (`001234 VOTE S2 T5 ...`) goes
//! in peer 2's column, with its time and topic in the gutter; any other line
//! (the harness's output, a panic, run-tests.sh's header) passes through at
//! full width. `-c N` sets the number of columns (default: the highest peer
//! seen in the first lines, plus one); `--just` and `--ignore` filter topics.
//!
//! `raft-logs --check-level LEVEL` only checks a `RAFT_LOG` value (exit 0 if
//! it is one, else the reason and exit 2): run-tests.sh asks it about `-v`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: raft-logs [FILE] [-c COLUMNS] [--just TOPICS] [--ignore TOPICS] [-w WIDTH] [--color|--no-color]
  FILE            a debug log (RAFT_LOG=1 output, or a run-tests.sh log); default: standard input
  -c COLUMNS      one column per peer, this many (default: guessed from the log)
  --just T1,T2    show only these topics (e.g. VOTE,LEAD)
  --ignore T1,T2  hide these topics (e.g. PERS,LOG1)
  -w WIDTH        total width in characters (default: $COLUMNS, else 160)
  --color, --no-color   colour topics (default: when writing to a terminal)
raft-logs --check-level LEVEL   only check a RAFT_LOG value: exit 0 if valid, else say why (exit 2)";

struct Options {
    file: Option<String>,
    columns: Option<usize>,
    just: Vec<String>,
    ignore: Vec<String>,
    width: usize,
    color: bool,
}

fn topics(s: &str) -> Vec<String> {
    s.split(',')
        .map(|t| t.trim().to_uppercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        file: None,
        columns: None,
        just: Vec::new(),
        ignore: Vec::new(),
        width: std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(160),
        color: io::stdout().is_terminal(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "-c" => {
                let v = value("-c")?;
                o.columns = Some(
                    v.parse()
                        .ok()
                        .filter(|&n: &usize| n > 0 && n <= 32)
                        .ok_or(format!("-c needs a number from 1 to 32, got {v:?}"))?,
                )
            }
            "-w" => {
                let v = value("-w")?;
                o.width = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n >= 40)
                    .ok_or(format!("-w needs a width of at least 40, got {v:?}"))?
            }
            "--just" => o.just = topics(&value("--just")?),
            "--ignore" => o.ignore = topics(&value("--ignore")?),
            "--color" => o.color = true,
            "--no-color" => o.color = false,
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with('-') => return Err(format!("unknown flag {f}")),
            f => {
                if o.file.replace(f.to_string()).is_some() {
                    return Err("give at most one FILE".into());
                }
            }
        }
    }
    Ok(o)
}

/// The topic of a debug line (`001234 VOTE ...`), if it is one.
fn topic_of(line: &str) -> Option<&str> {
    let mut parts = line.splitn(3, ' ');
    let time = parts.next()?;
    let topic = parts.next()?;
    let is_topic = topic.len() == 4
        && topic
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (time.len() >= 6 && time.bytes().all(|b| b.is_ascii_digit()) && is_topic).then_some(topic)
}

/// A peer's debug line, split: (time, topic, peer, the rest after the peer).
fn split(line: &str) -> Option<(&str, &str, usize, &str)> {
    topic_of(line)?;
    let mut parts = line.splitn(4, ' ');
    let (time, topic, peer) = (parts.next()?, parts.next()?, parts.next()?);
    let peer = peer.strip_prefix('S')?.parse().ok()?;
    Some((time, topic, peer, parts.next().unwrap_or("")))
}

fn colour(topic: &str) -> &'static str {
    match topic {
        "VOTE" => "\x1b[35m",
        "LEAD" => "\x1b[1;32m",
        "TERM" => "\x1b[33m",
        "TIMR" => "\x1b[90m",
        "LOG1" => "\x1b[36m",
        "LOG2" => "\x1b[34m",
        "CMIT" => "\x1b[32m",
        "APLY" => "\x1b[92m",
        "PERS" => "\x1b[37m",
        "SNAP" => "\x1b[95m",
        "DROP" | "WARN" | "ERRO" => "\x1b[31m",
        _ => "\x1b[0m",
    }
}

/// Splits `s` into lines of at most `w` characters, at spaces where it can
/// (a word longer than a line is cut).
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(8);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        if !cur.is_empty() && cur.chars().count() + 1 + word.len() > w {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        while cur.chars().count() + word.len() > w {
            let room = w - cur.chars().count();
            cur.extend(word.drain(..room));
            lines.push(std::mem::take(&mut cur));
        }
        cur.extend(word);
    }
    lines.push(cur);
    lines
}

/// All lines of the input; a line that is not UTF-8 is an error naming it
/// (a binary file, or a log cut in the middle of a character).
fn read_lines(input: Box<dyn BufRead>) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for (i, bytes) in input.split(b'\n').enumerate() {
        let bytes = bytes.map_err(|e| format!("cannot read: {e}"))?;
        let line = String::from_utf8(bytes).map_err(|e| {
            format!(
                "line {}: not UTF-8 text (bad byte at column {}); is this a debug log?",
                i + 1,
                e.utf8_error().valid_up_to() + 1
            )
        })?;
        lines.push(line.strip_suffix('\r').map(String::from).unwrap_or(line));
    }
    Ok(lines)
}

/// Prints `lines` in columns; returns how many debug lines it saw.
fn run(o: &Options, lines: &[String], out: &mut dyn Write) -> io::Result<usize> {
    let mut seen = 0;
    let columns = o.columns.unwrap_or_else(|| {
        lines
            .iter()
            .filter_map(|l| split(l))
            .map(|(_, _, p, _)| p + 1)
            .max()
            .unwrap_or(1)
    });
    let gutter = 12; // "001234 VOTE "
    let colw = ((o.width.saturating_sub(gutter)) / columns).max(10);
    let header: String = (0..columns)
        .map(|p| format!("{:<colw$}", format!("S{p}")))
        .collect();
    let mut header_shown = false;
    for line in lines {
        let shown = |topic: &str| {
            (o.just.is_empty() || o.just.iter().any(|t| t == topic))
                && !o.ignore.iter().any(|t| t == topic)
        };
        let Some((time, topic, peer, rest)) = split(line) else {
            // Not a peer's line: a debug line of the harness or a clerk is
            // still filtered by topic; anything else passes through whole.
            if topic_of(line).is_none_or(shown) {
                writeln!(out, "{line}")?;
            }
            continue;
        };
        seen += 1;
        if !shown(topic) {
            continue;
        }
        if !header_shown {
            writeln!(out, "{:gutter$}{}", "", header.trim_end())?;
            header_shown = true;
        }
        let col = peer.min(columns - 1);
        for (k, piece) in wrap(rest, colw - 1).iter().enumerate() {
            let head = if k == 0 {
                format!("{time} {topic} ")
            } else {
                " ".repeat(gutter)
            };
            let pad = " ".repeat(col * colw);
            if o.color {
                writeln!(out, "{}{head}{pad}{piece}\x1b[0m", colour(topic))?;
            } else {
                writeln!(out, "{head}{pad}{piece}")?;
            }
        }
    }
    Ok(seen)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--check-level") {
        return match args.get(1).map(|level| raft::debug::check_level(level)) {
            Some(Ok(())) if args.len() == 2 => ExitCode::SUCCESS,
            Some(Err(e)) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
            _ => {
                eprintln!("raft-logs: usage: raft-logs --check-level LEVEL");
                ExitCode::from(2)
            }
        };
    }
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            // --help: stdout and success (and no panic if stdout is closed)
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("raft-logs: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let name = o.file.clone().unwrap_or_else(|| "standard input".into());
    let input: Box<dyn BufRead> = match &o.file {
        Some(f) => match std::fs::File::open(f) {
            Ok(file) => Box::new(io::BufReader::new(file)),
            Err(e) => {
                eprintln!("raft-logs: cannot open {f}: {e}");
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let lines = match read_lines(input) {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("raft-logs: {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match run(&o, &lines, &mut out) {
        Ok(0) => {
            eprintln!(
                "raft-logs: {name}: no debug lines in {} lines (they look like `001234 VOTE S2 T5 ...`; run the test with RAFT_LOG=1)",
                lines.len()
            );
            ExitCode::from(1)
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raft-logs: {e}");
            ExitCode::from(1)
        }
    }
}
