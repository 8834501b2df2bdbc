//! The lab's test suites, one module per suite, in one test binary: the
//! harness (`common`, the Go `config.go`s) is compiled once, and
//! `cargo test --release 2B` prints one block of results instead of one per
//! suite. A test's full name is `<suite>::<test>` (`raft_2B::backup_2b`): the
//! suite names the part in capitals, as Go does, and the test in lower case,
//! so `cargo test 2B`, `cargo test 2b` and `./run-tests.sh 2B` all select
//! part 2B, as `go test -run 2B` does.

// Module names carry the lab part in capitals (see above).
#![allow(non_snake_case)]

mod common;

mod integrity;
mod kvraft_3A;
mod kvraft_3B;
mod lincheck;
mod looper_selftest;
mod notes_snippets;
mod raft_2A;
mod raft_2B;
mod raft_2C;
mod raft_2D;
mod raft_logs_viewer;
mod real_processes;
mod rsm;
mod shardkv_4B;
mod shardmaster_4A;
