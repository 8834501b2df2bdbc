//! Test harnesses shared by the suites: the Go lab's `config.go`s, ported.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod kv_config;
pub mod kv_generic;
pub mod raft_config;
pub mod rsm_config;
pub mod shardkv_config;
pub mod suite;
