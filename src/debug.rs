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

/// Installs the logger (once per process) and restarts its clock; the test
/// harness calls this when a test begins. Reads [`ENV_VAR`].
pub fn init() {
    *start().lock() = Instant::now();
    let filter = match std::env::var(ENV_VAR).unwrap_or_default().trim() {
        "" | "0" | "off" => Filter::Off,
        "1" | "all" | "debug" | "trace" => Filter::All,
        list => {
            let items: Vec<String> = list.split(',').map(|t| t.trim().to_uppercase()).collect();
            if items.iter().all(|t| t.starts_with('-')) {
                Filter::AllBut(items.iter().map(|t| t[1..].to_string()).collect())
            } else {
                Filter::Only(items)
            }
        }
    };
    let max = match filter {
        Filter::Off => LevelFilter::Warn,
        _ => LevelFilter::Debug,
    };
    if log::set_boxed_logger(Box::new(RaftLogger { filter })).is_ok() {
        log::set_max_level(max);
    }
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
