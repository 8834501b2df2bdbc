//! Raft part 2C: persistence (Go `TestPersist13C` and friends; the 2024 lab
//! calls this part 3C). Run with `cargo test --release 2c`.

use crate::common::raft_config::{make_config, rand_cmd, Cmd, RAFT_ELECTION_TIMEOUT};
use rand::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, sleep};
use std::time::Duration;

fn rand_below(n: u64) -> u64 {
    rand::rng().random_range(0..n)
}

#[test]
fn persist1_2c() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2C): basic persistence");

    cfg.one(11, servers, true);

    // Crash and re-start all.
    for i in 0..servers {
        cfg.start1(i);
    }
    for i in 0..servers {
        cfg.disconnect(i);
        cfg.connect(i);
    }

    cfg.one(12, servers, true);

    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);
    cfg.start1(leader1);
    cfg.connect(leader1);

    cfg.one(13, servers, true);

    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);
    cfg.one(14, servers - 1, true);
    cfg.start1(leader2);
    cfg.connect(leader2);

    cfg.wait(4, servers, None); // wait for leader2 to join before killing i3

    let i3 = (cfg.check_one_leader() + 1) % servers;
    cfg.disconnect(i3);
    cfg.one(15, servers - 1, true);
    cfg.start1(i3);
    cfg.connect(i3);

    cfg.one(16, servers, true);
    cfg.end();
}

#[test]
fn persist2_2c() {
    let servers = 5;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2C): more persistence");

    let mut index = 1;
    for _ in 0..5 {
        cfg.one(10 + index, servers, true);
        index += 1;

        let leader1 = cfg.check_one_leader();

        cfg.disconnect((leader1 + 1) % servers);
        cfg.disconnect((leader1 + 2) % servers);

        cfg.one(10 + index, servers - 2, true);
        index += 1;

        cfg.disconnect(leader1 % servers);
        cfg.disconnect((leader1 + 3) % servers);
        cfg.disconnect((leader1 + 4) % servers);

        cfg.start1((leader1 + 1) % servers);
        cfg.start1((leader1 + 2) % servers);
        cfg.connect((leader1 + 1) % servers);
        cfg.connect((leader1 + 2) % servers);

        sleep(RAFT_ELECTION_TIMEOUT);

        cfg.start1((leader1 + 3) % servers);
        cfg.connect((leader1 + 3) % servers);

        cfg.one(10 + index, servers - 2, true);
        index += 1;

        cfg.connect((leader1 + 4) % servers);
        cfg.connect(leader1 % servers);
    }

    cfg.one(1000, servers, true);
    cfg.end();
}

#[test]
fn persist3_2c() {
    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2C): partitioned leader and one follower crash, leader restarts");

    cfg.one(101, 3, true);

    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 2) % servers);

    cfg.one(102, 2, true);

    cfg.crash1(leader % servers);
    cfg.crash1((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start1(leader % servers);
    cfg.connect(leader % servers);

    cfg.one(103, 2, true);

    cfg.start1((leader + 1) % servers);
    cfg.connect((leader + 1) % servers);

    cfg.one(104, servers, true);
    cfg.end();
}

/// The scenarios of Figure 8 of the extended Raft paper. Each iteration asks
/// a leader, if there is one, to insert a command in the log. If there is a
/// leader, it fails quickly with high probability (perhaps before the command
/// commits), or crashes after a while with low probability (most likely after
/// committing it). If too few servers are up for a majority, perhaps start
/// one. A leader in a new term may try to finish replicating entries that
/// have not committed yet.
#[test]
fn figure8_2c() {
    let servers = 5;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2C): Figure 8");

    cfg.one(rand_cmd(), 1, true);

    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if let Some((_, _, true)) = cfg.start_on(i, rand_cmd()) {
                leader = Some(i);
            }
        }

        if rand_below(1000) < 100 {
            let ms = rand_below(RAFT_ELECTION_TIMEOUT.as_millis() as u64 / 2);
            sleep(Duration::from_millis(ms));
        } else {
            sleep(Duration::from_millis(rand_below(13)));
        }

        if let Some(leader) = leader {
            cfg.crash1(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = rand_below(servers as u64) as usize;
            if cfg.raft(s).is_none() {
                cfg.start1(s);
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
            cfg.connect(i);
        }
    }

    cfg.one(rand_cmd(), servers, true);
    cfg.end();
}

#[test]
fn unreliable_agree_2c() {
    let servers = 5;
    let cfg = make_config(servers, true, false);
    cfg.begin("Test (2C): unreliable agreement");

    let mut handles = Vec::new();
    for iters in 1..50u64 {
        for j in 0..4u64 {
            let c = cfg.arc();
            handles.push(thread::spawn(move || {
                c.one(100 * iters + j, 1, true);
            }));
        }
        cfg.one(iters, 1, true);
    }

    cfg.set_unreliable(false);

    for h in handles {
        h.join().unwrap();
    }

    cfg.one(100, servers, true);
    cfg.end();
}

#[test]
fn figure8_unreliable_2c() {
    let servers = 5;
    let cfg = make_config(servers, true, false);
    cfg.begin("Test (2C): Figure 8 (unreliable)");

    cfg.one(rand_below(10000), 1, true);

    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            cfg.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let (_, _, ok) = cfg.start_on(i, Cmd::Int(rand_below(10000))).unwrap();
            if ok && cfg.connected(i) {
                leader = Some(i);
            }
        }

        if rand_below(1000) < 100 {
            let ms = rand_below(RAFT_ELECTION_TIMEOUT.as_millis() as u64 / 2);
            sleep(Duration::from_millis(ms));
        } else {
            sleep(Duration::from_millis(rand_below(13)));
        }

        if let Some(leader) = leader {
            if rand_below(1000) < RAFT_ELECTION_TIMEOUT.as_millis() as u64 / 2 {
                cfg.disconnect(leader);
                nup -= 1;
            }
        }

        if nup < 3 {
            let s = rand_below(servers as u64) as usize;
            if !cfg.connected(s) {
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.connected(i) {
            cfg.connect(i);
        }
    }

    cfg.one(rand_below(10000), servers, true);
    cfg.end();
}

fn internal_churn(unreliable: bool) {
    let servers = 5;
    let cfg = make_config(servers, unreliable, false);
    if unreliable {
        cfg.begin("Test (2C): unreliable churn");
    } else {
        cfg.begin("Test (2C): churn");
    }

    let stop = Arc::new(AtomicBool::new(false));

    // Concurrent clients: each returns the values it saw committed.
    let ncli = 3;
    let clients: Vec<_> = (0..ncli)
        .map(|me: u64| {
            let (cfg, stop) = (cfg.arc(), stop.clone());
            thread::spawn(move || {
                let mut values = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let x = rand_cmd();
                    let mut index = None;
                    for i in 0..servers {
                        // Try them all; maybe one of them is a leader.
                        if let Some((index1, _, true)) = cfg.start_on(i, x.clone()) {
                            index = Some(index1);
                        }
                    }
                    if let Some(index) = index {
                        // Maybe the leader will commit our value, maybe not;
                        // but don't wait forever.
                        for to in [10, 20, 50, 100, 200] {
                            let (nd, cmd) = cfg.n_committed(index);
                            if nd > 0 {
                                if cmd.as_ref() == Some(&x) {
                                    values.push(x.clone());
                                }
                                break;
                            }
                            sleep(Duration::from_millis(to));
                        }
                    } else {
                        sleep(Duration::from_millis(79 + me * 17));
                    }
                }
                values
            })
        })
        .collect();

    for _ in 0..20 {
        if rand_below(1000) < 200 {
            let i = rand_below(servers as u64) as usize;
            cfg.disconnect(i);
        }

        if rand_below(1000) < 500 {
            let i = rand_below(servers as u64) as usize;
            if cfg.raft(i).is_none() {
                cfg.start1(i);
            }
            cfg.connect(i);
        }

        if rand_below(1000) < 200 {
            let i = rand_below(servers as u64) as usize;
            if cfg.raft(i).is_some() {
                cfg.crash1(i);
            }
        }

        // Make crash/restart infrequent enough that the peers can often keep
        // up, but not so infrequent that everything has settled down from one
        // change to the next. Pick a value smaller than the election timeout,
        // but not hugely smaller.
        sleep(RAFT_ELECTION_TIMEOUT * 7 / 10);
    }

    sleep(RAFT_ELECTION_TIMEOUT);
    cfg.set_unreliable(false);
    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
        }
        cfg.connect(i);
    }

    stop.store(true, Ordering::Release);

    let mut values = Vec::new();
    for c in clients {
        values.extend(c.join().expect("client failed"));
    }

    sleep(RAFT_ELECTION_TIMEOUT);

    let last_index = cfg.one(rand_cmd(), servers, true);

    let mut really = Vec::new();
    for index in 1..=last_index {
        match cfg.wait(index, servers, None) {
            Some(v @ Cmd::Int(_)) => really.push(v),
            other => panic!("not an int: {other:?}"),
        }
    }

    for v1 in &values {
        assert!(really.contains(v1), "didn't find a value: {v1}");
    }
    cfg.end();
}

#[test]
fn reliable_churn_2c() {
    internal_churn(false);
}

#[test]
fn unreliable_churn_2c() {
    internal_churn(true);
}

/// Not in the Go suite: a peer whose persisted state is truncated or garbled
/// must refuse to start (an error from `Raft::make` naming the cause), never
/// start empty and forget entries it had promised were committed. The bytes
/// stay as they were, so nothing is lost by trying.
#[test]
fn corrupt_persisted_state_2c() {
    use labrpc::codec;
    use raft::sealed::Kind;
    use raft::{Entry, Persister, Raft, RaftError};

    let servers = 3;
    let cfg = make_config(servers, false, false);
    cfg.begin("Test (2C): corrupt persisted state is refused");
    for c in 1..=5u64 {
        cfg.one(c, servers, true);
    }
    cfg.crash1(0);
    let good = cfg.saved(0).unwrap().read_raft_state();
    assert!(!good.is_empty());

    let try_make = |bytes: Vec<u8>, snapshot: Vec<u8>| -> (Result<(), RaftError>, Vec<u8>) {
        let p = Persister::new();
        p.save_state_and_snapshot(bytes, snapshot);
        let (tx, _rx) = crossbeam_channel::unbounded();
        let r = Raft::<Cmd>::make(cfg.fresh_ends(), 0, p.clone(), tx).map(|rf| rf.kill());
        (r, p.read_raft_state())
    };
    // A state with a good seal around the codec's bytes of `value`: what
    // only a buggy writer (or a forger) could produce.
    let sealed = |value: &dyn Fn() -> Vec<u8>| raft::sealed::seal(Kind::RaftState, &value());

    let no_log: (u64, u64, Vec<Entry<Cmd>>) = (0, 0, Vec::new());
    let future_entry: (u64, u64, Vec<Entry<Cmd>>) = (
        0,
        0,
        vec![Entry {
            term: 9,
            command: Cmd::Int(1),
        }],
    );
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10; // inside the last entry's command
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            vec![],
            "checksum",
        ),
        ("garbage", vec![0xff; 40], vec![], "magic"),
        ("one flipped bit", flipped, vec![], "checksum"),
        (
            "trailing bytes",
            [good.clone(), vec![1, 2, 3]].concat(),
            vec![],
            "checksum",
        ),
        (
            "a snapshot it was not saved with",
            good.clone(),
            vec![1, 2, 3],
            "snapshot",
        ),
        (
            "a snapshot and no state",
            vec![],
            vec![1, 2, 3],
            "no raft state",
        ),
        (
            "vote for S9",
            sealed(&|| codec::encode(&(5u64, Some(9usize), 0u32, &no_log)).unwrap()),
            vec![],
            "S9",
        ),
        (
            "entry from the future",
            sealed(&|| codec::encode(&(5u64, None::<usize>, 0u32, &future_entry)).unwrap()),
            vec![],
            "term 9",
        ),
        (
            "a term that would wrap",
            sealed(&|| codec::encode(&(u64::MAX, None::<usize>, 0u32, &no_log)).unwrap()),
            vec![],
            "out of range",
        ),
    ];
    for (what, bytes, snapshot, cause) in cases {
        let (r, after) = try_make(bytes.clone(), snapshot);
        match r {
            Err(RaftError::CorruptState(m)) => {
                assert!(
                    m.contains(cause),
                    "{what}: error {m:?} does not name the cause {cause:?}"
                )
            }
            other => panic!("{what}: Raft::make gave {other:?}, expected CorruptState"),
        }
        assert_eq!(
            after, bytes,
            "{what}: a failed start changed the persisted bytes"
        );
    }

    // The intact state still starts, and the peer catches up with the others.
    cfg.start1(0);
    cfg.connect(0);
    cfg.one(6, servers, true);
    cfg.end();
}
