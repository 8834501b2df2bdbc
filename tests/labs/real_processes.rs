//! The kv service off the simulator: `kvnode` processes on TCP and disk,
//! `kvctl`, and the `nemesis` that kills and pauses them. Everything binds
//! 127.0.0.1 only, runs for a bounded time, and stops what it started.

use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("real-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Five servers, three clerks, ten seconds of kill -9 and SIGSTOP: the
/// history must be linearizable and every acknowledged write still there.
#[test]
fn nemesis_kills_and_pauses_servers_and_nothing_is_lost() {
    let dir = scratch("nemesis");
    let out = Command::new(env!("CARGO_BIN_EXE_nemesis"))
        .args(["--seconds", "10", "--seed", "6824"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run nemesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "nemesis failed ({}); data in {}",
        out.status,
        dir.display()
    );
    assert!(
        stdout.contains("verdict linearizable, 0 acknowledged writes lost"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server whose saved file is damaged refuses to start, naming the file.
#[test]
fn kvnode_refuses_a_damaged_state_file() {
    let dir = scratch("damaged");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("raft.state"), b"RFTF\x01 not a whole file").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kvnode"))
        .args(["--me", "0", "--peers", "127.0.0.1:1", "--seconds", "5"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run kvnode");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("raft.state") && stderr.contains("checksum"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad flags: a usage error (exit 2) that says what is wrong, before
/// anything starts.
#[test]
fn the_programs_refuse_bad_arguments() {
    for (exe, args, says) in [
        (
            env!("CARGO_BIN_EXE_kvnode"),
            vec!["--me", "3", "--peers", "127.0.0.1:1", "--dir", "x"],
            "--me 3",
        ),
        (
            env!("CARGO_BIN_EXE_kvnode"),
            vec!["--dir", "x"],
            "either --me",
        ),
        (
            env!("CARGO_BIN_EXE_kvctl"),
            vec!["--servers", "nowhere", "get", "k"],
            "not an address",
        ),
        (
            env!("CARGO_BIN_EXE_kvctl"),
            vec!["--servers", "127.0.0.1:1", "frob"],
            "expected get",
        ),
        (
            env!("CARGO_BIN_EXE_nemesis"),
            vec!["--nodes", "2"],
            "--nodes must be",
        ),
    ] {
        let out = Command::new(exe).args(&args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// A client with no cluster to talk to gives up after its timeout.
#[test]
fn kvctl_gives_up_after_its_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kvctl"))
        .args(["--servers", &port.to_string(), "--timeout", "1", "get", "k"])
        .output()
        .expect("run kvctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no answer within 1 s"), "{stderr}");
}
