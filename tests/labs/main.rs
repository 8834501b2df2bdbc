//! The lab's test suites, one module per suite, in one test binary: the
//! harness (`common`, the Go `config.go`s) is compiled once, and
//! `cargo test --release 2b` prints one block of results instead of one per
//! suite. Test names carry their part (`backup_2b`), so `cargo test 2b` and
//! `./run-tests.sh 2B` select a part as `go test -run 2B` does; the full
//! name of a test is `<suite>::<test>` (`raft_2b::backup_2b`).

mod common;

mod kvraft_3a;
mod kvraft_3b;
mod lincheck;
mod looper_selftest;
mod raft_2a;
mod raft_2b;
mod raft_2c;
mod raft_2d;
mod raft_logs_viewer;
mod shardmaster_4a;
