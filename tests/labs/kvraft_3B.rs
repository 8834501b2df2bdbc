//! kvraft part 3B: the key/value service with snapshots (Go `TestSnapshotRPC4B`
//! and friends; the 2024 lab calls this part 4B). Run with `cargo test --release 3b`.

use crate::common::kv_config::{make_config, ELECTION_TIMEOUT};
use crate::common::kv_generic::{check, generic_test, generic_test_speed, put};
use std::thread::sleep;

/// If one server falls behind and then rejoins, does it catch up through
/// InstallSnapshot? Also checks that the majority discards committed log
/// entries even if the minority does not respond.
#[test]
fn snapshot_rpc_3b() {
    let nservers = 3;
    let maxraftstate = 1000;
    let cfg = make_config(nservers, false, Some(maxraftstate));
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: InstallSnapshot RPC (3B)");

    put(&cfg, &mut ck, "a", "A", None, 0);
    check(&cfg, &mut ck, "a", "A");

    // A bunch of puts into the majority partition.
    cfg.partition(&[0, 1], &[2]);
    {
        let mut ck1 = cfg.make_client(&[0, 1]);
        for i in 0..50 {
            put(&cfg, &mut ck1, &i.to_string(), &i.to_string(), None, 0);
        }
        sleep(ELECTION_TIMEOUT);
        put(&cfg, &mut ck1, "b", "B", None, 0);
    }

    // Check that the majority partition has thrown away most of its log entries.
    let sz = cfg.log_size();
    assert!(
        sz <= 2 * maxraftstate,
        "logs were not trimmed ({sz} > 2*{maxraftstate}; by server {:?})",
        cfg.log_sizes()
    );

    // Now make a group that requires the participation of the lagging
    // server, so that it has to catch up.
    cfg.partition(&[0, 2], &[1]);
    {
        let mut ck1 = cfg.make_client(&[0, 2]);
        put(&cfg, &mut ck1, "c", "C", None, 0);
        put(&cfg, &mut ck1, "d", "D", None, 0);
        check(&cfg, &mut ck1, "a", "A");
        check(&cfg, &mut ck1, "b", "B");
        check(&cfg, &mut ck1, "1", "1");
        check(&cfg, &mut ck1, "49", "49");
    }

    // Now everybody.
    cfg.partition(&[0, 1, 2], &[]);

    put(&cfg, &mut ck, "e", "E", None, 0);
    check(&cfg, &mut ck, "c", "C");
    check(&cfg, &mut ck, "e", "E");
    check(&cfg, &mut ck, "1", "1");
    cfg.end();
}

/// Are the snapshots not too big? 500 bytes is generous for these operations.
#[test]
fn snapshot_size_3b() {
    let nservers = 3;
    let maxraftstate = 1000;
    let maxsnapshotstate = 500;
    let cfg = make_config(nservers, false, Some(maxraftstate));
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: snapshot size is reasonable (3B)");

    for _ in 0..200 {
        put(&cfg, &mut ck, "x", "0", None, 0);
        check(&cfg, &mut ck, "x", "0");
        put(&cfg, &mut ck, "x", "1", None, 0);
        check(&cfg, &mut ck, "x", "1");
    }

    // Check that the servers have thrown away most of their log entries.
    let sz = cfg.log_size();
    assert!(
        sz <= 2 * maxraftstate,
        "logs were not trimmed ({sz} > 2*{maxraftstate}; by server {:?})",
        cfg.log_sizes()
    );

    // Check that the snapshots are not unreasonably large.
    let ssz = cfg.snapshot_size();
    assert!(
        ssz <= maxsnapshotstate,
        "snapshot too large ({ssz} > {maxsnapshotstate})"
    );
    cfg.end();
}

#[test]
fn speed_3b() {
    generic_test_speed("3B", Some(1000));
}

#[test]
fn snapshot_recover_3b() {
    generic_test("3B", 1, 5, false, true, false, Some(1000), false);
}

#[test]
fn snapshot_recover_many_clients_3b() {
    generic_test("3B", 20, 5, false, true, false, Some(1000), false);
}

#[test]
fn snapshot_unreliable_3b() {
    generic_test("3B", 5, 5, true, false, false, Some(1000), false);
}

#[test]
fn snapshot_unreliable_recover_3b() {
    generic_test("3B", 5, 5, true, true, false, Some(1000), false);
}

#[test]
fn snapshot_unreliable_recover_concurrent_partition_3b() {
    generic_test("3B", 5, 5, true, true, true, Some(1000), false);
}

#[test]
fn snapshot_unreliable_recover_concurrent_partition_linearizable_3b() {
    generic_test("3B", 15, 7, true, true, true, Some(1000), true);
}
