//! Tiny tests that exist to test `run-tests.sh` itself (see `.ci/test-run-tests.sh`).
//! They pass under a plain `cargo test`; `RUN_TESTS_SELFTEST` makes one fail or hang.

use std::time::Duration;

fn mode() -> String {
    std::env::var("RUN_TESTS_SELFTEST").unwrap_or_default()
}

#[test]
fn looper_selftest_pass() {
    println!("looper self-test: passing");
}

#[test]
fn looper_selftest_fail() {
    assert_ne!(mode(), "fail", "looper self-test: failing on purpose");
}

#[test]
fn looper_selftest_hang() {
    if mode() == "hang" {
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        let _ = rx.recv_timeout(Duration::from_secs(3600));
    }
}
