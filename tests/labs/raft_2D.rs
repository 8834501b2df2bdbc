//! Raft part 2D: log compaction (Go `TestSnapshotBasic3D` and friends; the
//! 2024 lab calls this part 3D). Run with `cargo test --release 2d`.

use crate::common::raft_config::{make_config, rand_cmd, MAX_LOG_SIZE, SNAPSHOT_INTERVAL};
use rand::Rng;

fn snap_common(name: &str, disconnect: bool, reliable: bool, crash: bool) {
    let iters = 30;
    let servers = 3;
    let cfg = make_config(servers, !reliable, true);
    cfg.begin(name);

    cfg.one(rand_cmd(), servers, true);
    let mut leader1 = cfg.check_one_leader();

    for i in 0..iters {
        let (mut victim, mut sender) = ((leader1 + 1) % servers, leader1);
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }

        if disconnect {
            cfg.disconnect(victim);
            cfg.one(rand_cmd(), servers - 1, true);
        }
        if crash {
            cfg.crash1(victim);
            cfg.one(rand_cmd(), servers - 1, true);
        }

        // Perhaps send enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + rand::rng().random_range(0..SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            cfg.start_on(sender, rand_cmd());
        }

        // Let applier threads catch up with the start()s.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an
            // InstallSnapshot RPC isn't required for snapshot_basic_2d.
            cfg.one(rand_cmd(), servers, true);
        } else {
            cfg.one(rand_cmd(), servers - 1, true);
        }

        let size = cfg.log_size();
        assert!(size < MAX_LOG_SIZE, "log size too large: {size} bytes");

        if disconnect {
            // Reconnect a follower, who may be behind and need to receive a
            // snapshot to catch up.
            cfg.connect(victim);
            cfg.one(rand_cmd(), servers, true);
            leader1 = cfg.check_one_leader();
        }
        if crash {
            cfg.start1(victim);
            cfg.connect(victim);
            cfg.one(rand_cmd(), servers, true);
            leader1 = cfg.check_one_leader();
        }
    }
    cfg.end();
}

#[test]
fn snapshot_basic_2d() {
    snap_common("Test (2D): snapshots basic", false, true, false);
}

#[test]
fn snapshot_install_2d() {
    snap_common(
        "Test (2D): install snapshots (disconnect)",
        true,
        true,
        false,
    );
}

#[test]
fn snapshot_install_unreliable_2d() {
    snap_common(
        "Test (2D): install snapshots (disconnect+unreliable)",
        true,
        false,
        false,
    );
}

#[test]
fn snapshot_install_crash_2d() {
    snap_common("Test (2D): install snapshots (crash)", false, true, true);
}

#[test]
fn snapshot_install_uncrash_2d() {
    snap_common(
        "Test (2D): install snapshots (unreliable+crash)",
        false,
        false,
        true,
    );
}

/// Do the servers persist the snapshots, and restart using the snapshot along
/// with the tail of the log?
#[test]
fn snapshot_all_crash_2d() {
    let servers = 3;
    let iters = 5;
    let cfg = make_config(servers, false, true);
    cfg.begin("Test (2D): crash and restart all servers");

    cfg.one(rand_cmd(), servers, true);

    for _ in 0..iters {
        // Perhaps enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + rand::rng().random_range(0..SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            cfg.one(rand_cmd(), servers, true);
        }

        let index1 = cfg.one(rand_cmd(), servers, true);

        // Crash all.
        for i in 0..servers {
            cfg.crash1(i);
        }

        // Revive all.
        for i in 0..servers {
            cfg.start1(i);
            cfg.connect(i);
        }

        let index2 = cfg.one(rand_cmd(), servers, true);
        assert!(index2 > index1, "index decreased from {index1} to {index2}");
    }
    cfg.end();
}

/// Do servers correctly initialize their in-memory copy of the snapshot,
/// making sure that future writes to persistent state don't lose state?
#[test]
fn snapshot_init_2d() {
    let servers = 3;
    let cfg = make_config(servers, false, true);
    cfg.begin("Test (2D): snapshot initialization after crash");
    cfg.one(rand_cmd(), servers, true);

    // Enough ops to make a snapshot.
    for _ in 0..=SNAPSHOT_INTERVAL {
        cfg.one(rand_cmd(), servers, true);
    }

    // Crash all, then revive all.
    for i in 0..servers {
        cfg.crash1(i);
    }
    for i in 0..servers {
        cfg.start1(i);
        cfg.connect(i);
    }

    // A single op, to get something written back to persistent storage.
    cfg.one(rand_cmd(), servers, true);

    // Crash all, then revive all.
    for i in 0..servers {
        cfg.crash1(i);
    }
    for i in 0..servers {
        cfg.start1(i);
        cfg.connect(i);
    }

    // Do another op to trigger a potential bug.
    cfg.one(rand_cmd(), servers, true);
    cfg.end();
}
