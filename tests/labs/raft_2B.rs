//! Raft part 2B: log agreement (Go `TestBasicAgree3B` and friends; the 2024
//! lab calls this part 3B). Run with `cargo test --release 2b`.

use crate::common::raft_config::{make_config, rand_cmd, Cmd, RAFT_ELECTION_TIMEOUT};
use crate::common::suite::randstring;
use rand::Rng;
use std::thread::{self, sleep};
use std::time::Duration;

#[test]
fn basic_agree_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): basic agreement");

    for index in 1..=3u64 {
        let (nd, _) = cfg.n_committed(index);
        assert_eq!(nd, 0, "some have committed before start()");
        let xindex = cfg.one(index * 100, servers, false);
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
    }
    cfg.end();
}

/// Check, by counting the bytes of RPCs, that each command is sent to each
/// peer just once.
#[test]
fn rpc_bytes_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): RPC byte count");

    cfg.one(99, servers, false);
    let bytes0 = cfg.bytes_total();

    let iters = 10;
    let mut sent = 0u64;
    for index in 2..iters + 2 {
        let cmd = randstring(5000);
        sent += cmd.len() as u64;
        let xindex = cfg.one(cmd, servers, false);
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
    }

    let got = cfg.bytes_total() - bytes0;
    let expected = servers as u64 * sent;
    assert!(
        got <= expected + 50000,
        "too many RPC bytes; got {got}, expected {expected}"
    );
    cfg.end();
}

/// Test just failure of followers.
#[test]
fn follower_failure_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): test progressive failure of followers");

    cfg.one(101, servers, false);

    // Disconnect one follower from the network.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 1) % servers);

    // The leader and remaining follower should be able to agree despite the
    // disconnected follower.
    cfg.one(102, servers - 1, false);
    sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(103, servers - 1, false);

    // Disconnect the remaining follower.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect((leader2 + 1) % servers);
    cfg.disconnect((leader2 + 2) % servers);

    // Submit a command.
    let (index, _, ok) = cfg.start_on(leader2, Cmd::Int(104)).unwrap();
    assert!(ok, "leader rejected start()");
    assert_eq!(index, 4, "expected index 4, got {index}");

    sleep(2 * RAFT_ELECTION_TIMEOUT);

    // Check that command 104 did not commit.
    let (n, _) = cfg.n_committed(index);
    assert_eq!(n, 0, "{n} committed but no majority");
    cfg.end();
}

/// Test just failure of leaders.
#[test]
fn leader_failure_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): test failure of leaders");

    cfg.one(101, servers, false);

    // Disconnect the first leader.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // The remaining followers should elect a new leader.
    cfg.one(102, servers - 1, false);
    sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(103, servers - 1, false);

    // Disconnect the new leader.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Submit a command to each server.
    for i in 0..servers {
        cfg.start_on(i, Cmd::Int(104));
    }

    sleep(2 * RAFT_ELECTION_TIMEOUT);

    // Check that command 104 did not commit.
    let (n, _) = cfg.n_committed(4);
    assert_eq!(n, 0, "{n} committed but no majority");
    cfg.end();
}

/// Test that a follower participates after disconnect and re-connect.
#[test]
fn fail_agree_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): agreement after follower reconnects");

    cfg.one(101, servers, false);

    // Disconnect one follower from the network.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);

    // The leader and remaining follower should be able to agree despite the
    // disconnected follower.
    cfg.one(102, servers - 1, false);
    cfg.one(103, servers - 1, false);
    sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(104, servers - 1, false);
    cfg.one(105, servers - 1, false);

    // Re-connect.
    cfg.connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and be able
    // to agree on new commands.
    cfg.one(106, servers, true);
    sleep(RAFT_ELECTION_TIMEOUT);
    cfg.one(107, servers, true);
    cfg.end();
}

#[test]
fn fail_no_agree_2b() {
    let servers = 5;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): no agreement if too many followers disconnect");

    cfg.one(10, servers, false);

    // 3 of 5 followers disconnect.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);
    cfg.disconnect((leader + 2) % servers);
    cfg.disconnect((leader + 3) % servers);

    let (index, _, ok) = cfg.start_on(leader, Cmd::Int(20)).unwrap();
    assert!(ok, "leader rejected start()");
    assert_eq!(index, 2, "expected index 2, got {index}");

    sleep(2 * RAFT_ELECTION_TIMEOUT);

    let (n, _) = cfg.n_committed(index);
    assert_eq!(n, 0, "{n} committed but no majority");

    // Repair.
    cfg.connect((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.connect((leader + 3) % servers);

    // The disconnected majority may have chosen a leader from among their own
    // ranks, forgetting index 2.
    let leader2 = cfg.check_one_leader();
    let (index2, _, ok2) = cfg.start_on(leader2, Cmd::Int(30)).unwrap();
    assert!(ok2, "leader2 rejected start()");
    assert!((2..=3).contains(&index2), "unexpected index {index2}");

    cfg.one(1000, servers, true);
    cfg.end();
}

#[test]
fn concurrent_starts_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): concurrent start()s");

    let mut success = false;
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            sleep(Duration::from_secs(3));
        }

        let leader = cfg.check_one_leader();
        let rf = cfg.raft(leader).unwrap();
        let (_, term, ok) = rf.start(Cmd::Int(1));
        if !ok {
            continue; // leader moved on really quickly
        }

        let iters = 5;
        let handles: Vec<_> = (0..iters)
            .map(|ii| {
                let rf = rf.clone();
                thread::spawn(move || {
                    let (i, term1, ok) = rf.start(Cmd::Int(100 + ii));
                    (term1 == term && ok).then_some(i)
                })
            })
            .collect();
        let indexes: Vec<u64> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();

        for j in 0..servers {
            if cfg.raft(j).unwrap().get_state().0 != term {
                continue 'tries; // term changed -- can't expect low RPC counts
            }
        }

        let mut cmds = Vec::new();
        for index in indexes {
            match cfg.wait(index, servers, Some(term)) {
                Some(Cmd::Int(x)) => cmds.push(x),
                Some(other) => panic!("value {other} is not an int"),
                // Peers have moved on to later terms, so we can't expect all
                // start()s to have succeeded.
                None => continue 'tries,
            }
        }

        for ii in 0..iters {
            let x = 100 + ii;
            assert!(cmds.contains(&x), "cmd {x} missing in {cmds:?}");
        }
        success = true;
        break;
    }
    assert!(success, "term changed too often");
    cfg.end();
}

#[test]
fn rejoin_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): rejoin of partitioned leader");

    cfg.one(101, servers, true);

    // Leader network failure.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // Make the old leader try to agree on some entries.
    for c in [102, 103, 104] {
        cfg.start_on(leader1, Cmd::Int(c));
    }

    // The new leader commits, also for index 2.
    cfg.one(103, 2, true);

    // New leader network failure.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Old leader connected again.
    cfg.connect(leader1);

    cfg.one(104, 2, true);

    // All together now.
    cfg.connect(leader2);

    cfg.one(105, servers, true);
    cfg.end();
}

#[test]
fn backup_2b() {
    let servers = 5;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): leader backs up quickly over incorrect follower logs");

    cfg.one(rand_cmd(), servers, true);

    // Put the leader and one follower in a partition.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 2) % servers);
    cfg.disconnect((leader1 + 3) % servers);
    cfg.disconnect((leader1 + 4) % servers);

    // Submit lots of commands that won't commit.
    for _ in 0..50 {
        cfg.start_on(leader1, rand_cmd());
    }

    sleep(RAFT_ELECTION_TIMEOUT / 2);

    cfg.disconnect(leader1 % servers);
    cfg.disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    cfg.connect((leader1 + 2) % servers);
    cfg.connect((leader1 + 3) % servers);
    cfg.connect((leader1 + 4) % servers);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(rand_cmd(), 3, true);
    }

    // Now another partitioned leader and one follower.
    let leader2 = cfg.check_one_leader();
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    cfg.disconnect(other);

    // Lots more commands that won't commit.
    for _ in 0..50 {
        cfg.start_on(leader2, rand_cmd());
    }

    sleep(RAFT_ELECTION_TIMEOUT / 2);

    // Bring the original leader back to life.
    for i in 0..servers {
        cfg.disconnect(i);
    }
    cfg.connect(leader1 % servers);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect(other);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(rand_cmd(), 3, true);
    }

    // Now everyone.
    for i in 0..servers {
        cfg.connect(i);
    }
    cfg.one(rand_cmd(), servers, true);
    cfg.end();
}

#[test]
fn count_2b() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2B): RPC counts aren't too high");

    let rpcs = || (0..servers).map(|j| cfg.rpc_count(j)).sum::<u64>();

    cfg.check_one_leader();

    let mut total1 = rpcs();
    assert!(
        (1..=30).contains(&total1),
        "too many or few RPCs ({total1}) to elect initial leader"
    );

    let mut total2 = 0;
    let mut success = false;
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            sleep(Duration::from_secs(3));
        }

        let leader = cfg.check_one_leader();
        total1 = rpcs();

        let iters = 10;
        let rf = cfg.raft(leader).unwrap();
        let (starti, term, ok) = rf.start(Cmd::Int(1));
        if !ok {
            continue; // leader moved on really quickly
        }
        let mut cmds = Vec::new();
        for i in 1..iters + 2 {
            let x = rand::rng().random_range(0..1u64 << 31);
            cmds.push(x);
            let (index1, term1, ok) = rf.start(Cmd::Int(x));
            if term1 != term || !ok {
                continue 'tries; // term changed while starting
            }
            assert_eq!(starti + i, index1, "start() failed");
        }

        for i in 1..iters + 1 {
            match cfg.wait(starti + i, servers, Some(term)) {
                None => continue 'tries, // term changed -- try again
                Some(Cmd::Int(ix)) if ix == cmds[i as usize - 1] => {}
                Some(other) => panic!(
                    "wrong value {other} committed for index {}; expected {cmds:?}",
                    starti + i
                ),
            }
        }

        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if cfg.raft(j).unwrap().get_state().0 != term {
                // Term changed -- can't expect low RPC counts; keep going to update total2.
                failed = true;
            }
            total2 += cfg.rpc_count(j);
        }
        if failed {
            continue 'tries;
        }

        let limit = (iters + 1 + 3) * 3;
        assert!(
            total2 - total1 <= limit,
            "too many RPCs ({}) for {iters} entries",
            total2 - total1
        );
        success = true;
        break;
    }
    assert!(success, "term changed too often");

    sleep(RAFT_ELECTION_TIMEOUT);

    let total3: u64 = rpcs();
    assert!(
        total3 - total2 <= 3 * 20,
        "too many RPCs ({}) for 1 second of idleness",
        total3 - total2
    );
    cfg.end();
}
