//! The `lincheck` command, run as a student would: on histories that are
//! ok, illegal, undecidable and malformed, and on a history recorded from
//! this project's kv service (`KV_HISTORY_DIR` writes the same format).

use crate::common::kv_config::make_config;
use crate::common::kv_generic::{append, get, put, spawn_clients_and_wait, OpLog};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lincheck-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs lincheck; its exit code, stdout and stderr.
fn lincheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lincheck"))
        .args(args)
        .output()
        .expect("lincheck runs");
    (
        out.status.code().expect("lincheck exits, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line(
    client: usize,
    op: &str,
    key: &str,
    value: &str,
    output: &str,
    call: i64,
    ret: i64,
) -> String {
    format!(
        r#"{{"client":{client},"op":"{op}","key":"{key}","value":"{value}","output":"{output}","call":{call},"return":{ret}}}"#
    )
}

fn write(dir: &std::path::Path, name: &str, lines: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn lincheck_exit_codes() {
    let dir = scratch("codes");
    let ok = write(
        &dir,
        "ok.jsonl",
        &[
            line(0, "put", "x", "1", "", 0, 10),
            line(1, "append", "x", "2", "", 5, 20),
            line(2, "get", "x", "", "12", 25, 30),
            line(2, "get", "y", "", "", 31, 32),
        ],
    );
    let illegal = write(
        &dir,
        "illegal.jsonl",
        &[
            line(0, "put", "x", "1", "", 0, 10),
            line(0, "put", "x", "2", "", 20, 30),
            line(1, "get", "x", "", "1", 40, 50),
            line(2, "put", "y", "1", "", 0, 10),
        ],
    );
    // Forty concurrent appends and an impossible read: no search decides it soon.
    let mut hard: Vec<String> = (0..40)
        .map(|i| line(i, "append", "h", &format!("<{i}>"), "", 0, 1000))
        .collect();
    hard.push(line(99, "get", "h", "", "impossible", 0, 1000));
    let hard = write(&dir, "hard.jsonl", &hard);
    let malformed = write(
        &dir,
        "bad.jsonl",
        &[
            line(0, "put", "x", "1", "", 0, 10),
            r#"{"client":0,"op":"put","key":"x","call":30,"return":20}"#.to_string(),
        ],
    );

    let (code, out, _) = lincheck(&[&ok]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verdict: linearizable"), "{out}");

    let page = dir.join("illegal.html");
    let (code, out, _) = lincheck(&[&illegal, "--html", page.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("illegal: key 'x'"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("\"verdict\":\"illegal\"") && !html.contains("http"),
        "a self-contained page"
    );

    assert!(
        out.contains("key 'x' breaks at line 3: client 1, get('x') -> '1' (call 40, return 50)"),
        "the verdict names the line where the history breaks: {out}"
    );
    assert!(
        html.contains("line 3 of the file: call 40, return 50"),
        "the page tells each operation's line and the file's own times"
    );
    // What happened meanwhile, drawn above the operations; a bad events file
    // is refused with its line, and --events without a page is a usage error.
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"time\":15,\"end\":35,\"kind\":\"partition\",\"text\":\"[0] | [1 2]\"}\n\n{\"time\":38,\"kind\":\"crash\",\"text\":\"S1 down\"}\n",
    )
    .unwrap();
    let with_events = [
        illegal.as_str(),
        "--html",
        page.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ];
    let (code, out, _) = lincheck(&with_events);
    assert_eq!(code, 1, "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("[15,35,\"partition\",\"[0] | [1 2]\"]")
            && html.contains("[38,-1,\"crash\",\"S1 down\"]"),
        "the events are on the page, on the history's clock"
    );
    std::fs::write(
        &events,
        "{\"time\":15,\"end\":5,\"kind\":\"partition\",\"text\":\"x\"}\n",
    )
    .unwrap();
    let (code, _, err) = lincheck(&with_events);
    assert_eq!(code, 2);
    assert!(err.contains("line 1") && err.contains("before"), "{err}");
    let (code, _, err) = lincheck(&[&illegal, "--events", events.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--html"), "{err}");

    // The same without --html (the check stops at the first illegal key), and
    // with blank lines, which the line numbers count.
    let spaced = std::fs::read_to_string(&illegal)
        .unwrap()
        .replace('\n', "\n\n");
    let spaced = write(&dir, "spaced.jsonl", &[spaced]);
    let (code, out, _) = lincheck(&[&spaced]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("breaks at line 5: client 1"), "{out}");

    let (code, out, _) = lincheck(&[&hard, "--timeout", "0.3"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("undecided: key 'h'"), "{out}");

    let (code, _, err) = lincheck(&[&malformed]);
    assert_eq!(code, 2);
    assert!(err.contains("line 2") && err.contains("before"), "{err}");

    for bad_flags in [
        &["--timeout", "soon", &ok][..],
        &["--frobnicate", &ok],
        &[],
        &[&ok, &ok],
    ] {
        let (code, _, err) = lincheck(bad_flags);
        assert_eq!(code, 2, "{bad_flags:?}: {err}");
        assert!(err.contains("usage"), "{err}");
    }
    let (code, _, _) = lincheck(&["/nonexistent/history.jsonl"]);
    assert_eq!(code, 2);
    let empty = write(&dir, "empty.jsonl", &[]);
    let (code, _, err) = lincheck(&[&empty]);
    assert_eq!(code, 2);
    assert!(err.contains("no operations"), "{err}");
    let (code, out, _) = lincheck(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("exit status"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn lincheck_reads_a_history_recorded_from_kvraft() {
    let dir = scratch("kv");
    let path = dir.join("kv.jsonl");
    let cfg = make_config(3, false, None);
    cfg.begin("Test: lincheck on a history recorded from the kv service");
    let oplog = Arc::new(OpLog::dumping_to(&path));
    let (c, log) = (cfg.arc(), oplog.clone());
    spawn_clients_and_wait(&cfg, 5, move |me, ck| {
        for n in 0..40 {
            let key = format!("k{}", (me + n) % 3);
            match n % 3 {
                0 => put(&c, ck, &key, &format!("{me}.{n};"), Some(&log), me),
                1 => append(&c, ck, &key, &format!("{me}.{n};"), Some(&log), me),
                _ => drop(get(&c, ck, &key, Some(&log), me)),
            }
        }
    });
    let history = oplog.take(); // flushes the file
    assert_eq!(history.len(), 200);
    cfg.end();

    let file = path.to_str().unwrap();
    let (code, out, err) = lincheck(&[file, "--ns"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("200 operations, 3 keys, 5 clients"), "{out}");

    // The same history with one read changed to a value nobody wrote.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let g = lines
        .iter()
        .position(|l| l.contains(r#""op":"get""#))
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&lines[g]).unwrap();
    v["output"] = "nobody wrote this".into();
    lines[g] = v.to_string();
    let bad = write(&dir, "bad.jsonl", &lines);
    let (code, out, _) = lincheck(&[&bad]);
    assert_eq!(code, 1, "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}
