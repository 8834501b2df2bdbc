//! Command-line helpers the programs share (each program includes this file
//! with `#[path]`).

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

/// The program's arguments, parsed by `parse`, which returns an empty error
/// for `-h`/`--help`. `Err` is the exit status to return at once: 0 after
/// printing `usage` for `--help` (asked for, so on stdout, and no panic if
/// stdout is closed); 2 after printing what is wrong and `usage` on stderr.
pub fn parse_or_exit<T>(
    program: &str,
    usage: &str,
    parse: impl FnOnce(&[String]) -> Result<T, String>,
) -> Result<T, ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(parsed) => Ok(parsed),
        Err(e) if e.is_empty() => {
            let _ = writeln!(std::io::stdout(), "{usage}");
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{program}: {e}\n{usage}");
            Err(ExitCode::from(2))
        }
    }
}

/// The value after `flag`, parsed as a number from `lo` to `hi`.
pub fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    flag: &str,
    v: Option<&String>,
    lo: T,
    hi: T,
) -> Result<T, String> {
    let v = v.ok_or(format!("{flag} needs a value"))?;
    match v.parse::<T>() {
        Ok(x) if x >= lo && x <= hi => Ok(x),
        _ => Err(format!(
            "{flag} must be a number from {lo} to {hi}, got {v:?}"
        )),
    }
}

/// The value after `flag`, as comma-separated socket addresses
/// (`127.0.0.1:7001,127.0.0.1:7002`).
#[allow(dead_code)] // not every program takes addresses
pub fn addresses(flag: &str, v: Option<&String>) -> Result<Vec<SocketAddr>, String> {
    let v = v.ok_or(format!("{flag} needs a value"))?;
    v.split(',')
        .map(|a| {
            a.trim()
                .parse()
                .map_err(|_| format!("{flag}: {a:?} is not an address like 127.0.0.1:7001"))
        })
        .collect()
}

/// `n` ports on 127.0.0.1 that the OS picked and that were free a moment ago
/// (another process could take one before it is used: fine on a test machine).
#[allow(dead_code)] // not every program starts servers
pub fn free_ports(n: usize) -> Result<Vec<SocketAddr>, String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}")))
        .collect::<Result<_, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map_err(|e| e.to_string()))
        .collect()
}
