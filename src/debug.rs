//! Debug logging in the lab's style: one line per event, off by default.
//!
//! Every line reads `TIME TOPC Sx Ty message`, for example
//! `001234 VOTE S2 T5 granted vote to S1 (its last log 7/4, mine 6/4)`:
//! milliseconds since the test began, a four-letter topic, the peer and its
//! term. The topic is the `log` target, so lines can be filtered by topic.
//!
//! Turn it on with the environment variable [`ENV_VAR`] (`RAFT_LOG`):
//! `RAFT_LOG=1` (or `all`) prints every topic; `RAFT_LOG=VOTE,LEAD` prints
//! those topics only; `RAFT_LOG=-TIMR,-PERS` prints all but those.
//! Without it, only warnings and errors are printed.

use log::{Level, LevelFilter, Log, Metadata, Record};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable that turns debug lines on.
pub const ENV_VAR: &str = "RAFT_LOG";

/// The topics used by this crate, as a reader's index.
pub const TOPICS: &[&str] = &[
    "TIMR", "VOTE", "LEAD", "TERM", "LOG1", "LOG2", "CMIT", "APLY", "PERS", "SNAP", "DROP", "CLNT",
    "TEST", "INFO",
];

enum Filter {
    Off,
    All,
    Only(Vec<String>),
    AllBut(Vec<String>),
}

struct RaftLogger {
    filter: Filter,
}

static START: OnceLock<Mutex<Instant>> = OnceLock::new();

fn start() -> &'static Mutex<Instant> {
    START.get_or_init(|| Mutex::new(Instant::now()))
}

impl RaftLogger {
    fn topic_on(&self, topic: &str) -> bool {
        match &self.filter {
            Filter::Off => false,
            Filter::All => true,
            Filter::Only(t) => t.iter().any(|x| x == topic),
            Filter::AllBut(t) => !t.iter().any(|x| x == topic),
        }
    }
}

impl Log for RaftLogger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= Level::Warn || (m.level() <= Level::Debug && self.topic_on(m.target()))
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let ms = start().lock().elapsed().as_millis();
        let topic = if r.target().len() == 4 {
            r.target()
        } else {
            "INFO"
        };
        let line = format!("{ms:06} {topic} {}\n", r.args());
        // One write per line, so lines from different threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Reads a `RAFT_LOG` value. A topic this crate does not use is an error,
/// not a filter that silently prints nothing.
fn parse_filter(value: &str) -> Result<Filter, String> {
    match value.trim().to_lowercase().as_str() {
        "" | "0" | "off" | "false" | "no" => return Ok(Filter::Off),
        "1" | "all" | "on" | "true" | "yes" | "debug" | "trace" => return Ok(Filter::All),
        _ => {}
    }
    let items: Vec<String> = value
        .split(',')
        .map(|t| t.trim().to_uppercase())
        .filter(|t| !t.is_empty())
        .collect();
    let negated = items.iter().filter(|t| t.starts_with('-')).count();
    if negated != 0 && negated != items.len() {
        return Err(format!(
            "{ENV_VAR}={value}: mix of topics and -topics; give either the topics to show or the ones to hide"
        ));
    }
    let names: Vec<String> = items
        .iter()
        .map(|t| t.trim_start_matches('-').to_string())
        .collect();
    if let Some(bad) = names.iter().find(|t| !TOPICS.contains(&t.as_str())) {
        return Err(format!(
            "{ENV_VAR}={value}: unknown topic {bad:?}; the topics are {} (or 1 for all, 0 for none)",
            TOPICS.join(" ")
        ));
    }
    Ok(if negated > 0 {
        Filter::AllBut(names)
    } else {
        Filter::Only(names)
    })
}

/// Checks a `RAFT_LOG` value without installing anything: `Err` says what is
/// wrong with it, as [`try_init`] would (run-tests.sh checks `-v` with it,
/// through `raft-logs --check-level`, before it runs any test).
pub fn check_level(value: &str) -> Result<(), String> {
    parse_filter(value).map(|_| ())
}

/// Installs the logger (once per process) and restarts its clock; the test
/// harness calls this when a test begins. Reads [`ENV_VAR`].
///
/// # Panics
///
/// If `RAFT_LOG` names a topic that does not exist: a misspelt topic would
/// otherwise log nothing, and the student would think nothing happened.
pub fn init() {
    if let Err(e) = try_init() {
        panic!("{e}");
    }
}

/// [`init`], returning a bad `RAFT_LOG` as an error (for binaries, which
/// print it and exit).
pub fn try_init() -> Result<(), String> {
    *start().lock() = Instant::now();
    let filter = parse_filter(&std::env::var(ENV_VAR).unwrap_or_default())?;
    let max = match filter {
        Filter::Off => LevelFilter::Warn,
        _ => LevelFilter::Debug,
    };
    if log::set_boxed_logger(Box::new(RaftLogger { filter })).is_ok() {
        log::set_max_level(max);
    }
    Ok(())
}

/// Logs one debug line for peer `$me` at term `$term` under a four-letter topic.
macro_rules! dlog {
    ($topic:literal, $me:expr, $term:expr, $($arg:tt)*) => {
        if ::log::log_enabled!(target: $topic, ::log::Level::Debug) {
            ::log::debug!(target: $topic, "S{} T{} {}", $me, $term, format_args!($($arg)*));
        }
    };
}
pub(crate) use dlog;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_log_values() {
        assert!(matches!(parse_filter(""), Ok(Filter::Off)));
        assert!(matches!(parse_filter("true"), Ok(Filter::All)));
        assert!(matches!(parse_filter("1"), Ok(Filter::All)));
        assert!(matches!(parse_filter("vote, lead"), Ok(Filter::Only(t)) if t == ["VOTE", "LEAD"]));
        assert!(
            matches!(parse_filter("-PERS,-TIMR"), Ok(Filter::AllBut(t)) if t == ["PERS", "TIMR"])
        );
        let e = parse_filter("VOET").err().unwrap();
        assert!(
            e.contains("unknown topic \"VOET\"") && e.contains("VOTE"),
            "{e}"
        );
        assert!(parse_filter("VOTE,-PERS").is_err());
    }
}
