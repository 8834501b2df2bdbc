//! The log viewer (`src/bin/raft-logs.rs`) on a captured log: a real failing
//! run of `backup_2b` against a Raft with the election restriction removed
//! (see notes/debugging.md).

use std::process::Command;

const LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/buggy-election.log");

fn viewer(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_raft-logs"))
        .args(args)
        .output()
        .expect("run raft-logs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn viewer_puts_each_peer_in_its_column() {
    let (code, out, _) = viewer(&[LOG, "-c", "5", "-w", "172", "--no-color"]);
    assert_eq!(code, 0);
    let colw = (172 - 12) / 5;
    // The header names the columns.
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("S0") && l.contains("S4")),
        "{out}"
    );
    // S0's vote for S3 sits in column 0, S3's victory in column 3.
    let vote = out
        .lines()
        .find(|l| l.contains("VOTE") && l[12..].starts_with("T13 granted vote to S3"))
        .expect("S0's vote");
    assert_eq!(vote.find("T13"), Some(12), "{vote}");
    let lead = out
        .lines()
        .find(|l| l.contains("leader with 3 votes"))
        .expect("S3 leads");
    assert_eq!(lead.find("T13"), Some(12 + 3 * colw), "{lead}");
    // Lines that are not debug lines pass through whole.
    assert!(out
        .lines()
        .any(|l| l.starts_with("apply error: commit index=2 server=3")));
    assert!(out.lines().any(|l| l == "running 1 test"));
}

#[test]
fn viewer_filters_topics() {
    let (code, out, _) = viewer(&[LOG, "--just", "vote,lead", "--no-color"]);
    assert_eq!(code, 0);
    let topics: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|t| {
            t.len() == 4
                && t.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .collect();
    assert!(!topics.is_empty());
    assert!(
        topics.iter().all(|t| *t == "VOTE" || *t == "LEAD"),
        "{topics:?}"
    );

    let (_, out, _) = viewer(&[LOG, "--ignore", "LOG1,LOG2,PERS", "--no-color"]);
    assert!(!out.contains(" LOG1 ") && !out.contains(" LOG2 "));
    assert!(out.contains(" VOTE "));
}

#[test]
fn viewer_colours_topics_on_request() {
    let (_, out, _) = viewer(&[LOG, "--just", "LEAD", "--color"]);
    assert!(out.contains("\u{1b}[1;32m"), "LEAD lines are bright green");
}

#[test]
fn viewer_reports_bad_usage() {
    let (code, _, err) = viewer(&["-c", "zero"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("-c needs a number") && err.contains("usage: raft-logs"),
        "{err}"
    );
    let (code, _, err) = viewer(&["--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown flag --frobnicate"));
    let (code, _, err) = viewer(&["/no/such/file.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot open /no/such/file.log"));
}

#[test]
fn viewer_explains_input_that_is_not_a_log() {
    let dir = std::env::temp_dir().join(format!("raft-logs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A binary file: named, with the line, not a bare "invalid UTF-8".
    let bin = dir.join("core.bin");
    std::fs::write(&bin, b"000001 VOTE S0 T1 ok\n\xff\xfe\x00\n").unwrap();
    let (code, _, err) = viewer(&[bin.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("core.bin: line 2: not UTF-8"), "{err}");
    // An empty file, or one without a single debug line, says so.
    for (name, text) in [("empty.log", ""), ("plain.log", "running 1 test\nok\n")] {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        let (code, _, err) = viewer(&[f.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}");
        assert!(
            err.contains("no debug lines") && err.contains("RAFT_LOG=1"),
            "{err}"
        );
    }
    let (code, out, _) = viewer(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("usage: raft-logs"));
    std::fs::remove_dir_all(dir).unwrap();
}
