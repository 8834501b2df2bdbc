//! kvraft part 3A: the key/value service without snapshots (Go `TestBasic4A`
//! and friends; the 2024 lab calls this part 4A). Run with `cargo test --release 3a`.

use crate::common::kv_config::{make_config, ELECTION_TIMEOUT};
use crate::common::kv_generic::{
    append, check, check_concurrent_appends, generic_test, generic_test_speed, get, put,
    spawn_clients_and_wait,
};
use crossbeam_channel::{select, unbounded};
use raft::kvraft::{KvErr, PutAppendArgs, PutAppendReply, PutOrAppend, RequestId};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn basic_3a() {
    generic_test("3A", 1, 5, false, false, false, None, false);
}

#[test]
fn speed_3a() {
    generic_test_speed("3A", None);
}

#[test]
fn concurrent_3a() {
    generic_test("3A", 5, 5, false, false, false, None, false);
}

#[test]
fn unreliable_3a() {
    generic_test("3A", 5, 5, true, false, false, None, false);
}

#[test]
fn unreliable_one_key_3a() {
    let nservers = 3;
    let cfg = make_config(nservers, true, None);
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: concurrent append to same key, unreliable (3A)");

    put(&cfg, &mut ck, "k", "", None, 0);

    const NCLIENT: usize = 5;
    const UPTO: usize = 10;
    let c = cfg.arc();
    spawn_clients_and_wait(&cfg, NCLIENT, move |me, myck| {
        for n in 0..UPTO {
            append(&c, myck, "k", &format!("x {me} {n} y"), None, 0);
        }
    });

    let vx = get(&cfg, &mut ck, "k", None, 0);
    check_concurrent_appends(&vx, &[UPTO; NCLIENT]);
    cfg.end();
}

/// Submit a request in the minority partition and check that it does not go
/// through until the partition heals. The leader in the original network ends
/// up in the minority partition.
#[test]
fn one_partition_3a() {
    let nservers = 5;
    let cfg = make_config(nservers, false, None);
    let mut ck = cfg.make_client(&cfg.all());

    put(&cfg, &mut ck, "1", "13", None, 0);

    cfg.begin("Test: progress in majority (3A)");

    let (p1, p2) = cfg.make_partition();
    cfg.partition(&p1, &p2);

    let mut ckp1 = cfg.make_client(&p1); // connect ckp1 to p1
    let ckp2a = cfg.make_client(&p2); // connect ckp2a to p2
    let ckp2b = cfg.make_client(&p2); // connect ckp2b to p2
    let (ends2a, ends2b) = (ckp2a.ends.clone(), ckp2b.ends.clone());

    put(&cfg, &mut ckp1, "1", "14", None, 0);
    check(&cfg, &mut ckp1, "1", "14");
    cfg.end();

    cfg.begin("Test: no progress in minority (3A)");
    let (done0_tx, done0) = unbounded();
    let (done1_tx, done1) = unbounded();
    let c = cfg.arc();
    let t0 = thread::spawn(move || {
        let mut ckp2a = ckp2a;
        put(&c, &mut ckp2a, "1", "15", None, 0);
        let _ = done0_tx.send(());
        ckp2a
    });
    let c = cfg.arc();
    let t1 = thread::spawn(move || {
        let mut ckp2b = ckp2b; // a different clerk in p2
        get(&c, &mut ckp2b, "1", None, 0);
        let _ = done1_tx.send(());
        ckp2b
    });

    select! {
        recv(done0) -> _ => panic!("Put in minority completed"),
        recv(done1) -> _ => panic!("Get in minority completed"),
        default(Duration::from_secs(1)) => {}
    }

    check(&cfg, &mut ckp1, "1", "14");
    put(&cfg, &mut ckp1, "1", "16", None, 0);
    check(&cfg, &mut ckp1, "1", "16");
    cfg.end();

    cfg.begin("Test: completion after heal (3A)");

    cfg.connect_all();
    cfg.connect_client(&ends2a, &cfg.all());
    cfg.connect_client(&ends2b, &cfg.all());

    thread::sleep(ELECTION_TIMEOUT);

    if done0.recv_timeout(Duration::from_millis(30 * 100)).is_err() {
        panic!("Put did not complete");
    }
    if done1.recv_timeout(Duration::from_millis(30 * 100)).is_err() {
        panic!("Get did not complete");
    }
    let _ = (t0.join(), t1.join());

    check(&cfg, &mut ck, "1", "15");
    cfg.end();
}

#[test]
fn many_partitions_one_client_3a() {
    generic_test("3A", 1, 5, false, false, true, None, false);
}

#[test]
fn many_partitions_many_clients_3a() {
    generic_test("3A", 5, 5, false, false, true, None, false);
}

#[test]
fn persist_one_client_3a() {
    generic_test("3A", 1, 5, false, true, false, None, false);
}

#[test]
fn persist_concurrent_3a() {
    generic_test("3A", 5, 5, false, true, false, None, false);
}

#[test]
fn persist_concurrent_unreliable_3a() {
    generic_test("3A", 5, 5, true, true, false, None, false);
}

#[test]
fn persist_partition_3a() {
    generic_test("3A", 5, 5, false, true, true, None, false);
}

#[test]
fn persist_partition_unreliable_3a() {
    generic_test("3A", 5, 5, true, true, true, None, false);
}

#[test]
fn persist_partition_unreliable_linearizable_3a() {
    generic_test("3A", 15, 7, true, true, true, None, true);
}

/// Not in the Go suite: the checker must catch a broken server. With
/// duplicate detection switched off, an unreliable network makes clerks retry
/// appends whose replies were lost, the retries are applied twice, and some
/// later Get sees a value no order of the operations explains. The checker
/// must call the history illegal and write its visualization.
#[test]
fn broken_server_is_caught_3a() {
    use crate::common::kv_generic::{check_and_visualize, OpLog};
    use raft::linearizability::CheckResult;
    use std::sync::Arc;

    let nservers = 3;
    let cfg = make_config(nservers, true, None);
    cfg.disable_duplicate_detection();
    cfg.begin("Test: checker catches a server without duplicate detection (3A)");
    let oplog = Arc::new(OpLog::default());
    let (c, log) = (cfg.arc(), oplog.clone());
    spawn_clients_and_wait(&cfg, 3, move |me, myck| {
        for n in 0..30 {
            append(&c, myck, "k", &format!("x {me} {n} y"), Some(&log), me);
            get(&c, myck, "k", Some(&log), me);
        }
    });
    let (result, page) = check_and_visualize(&oplog.take(), &cfg.timeline().annotations());
    assert!(page.is_some(), "no page written for an illegal history");
    assert_eq!(
        result,
        CheckResult::Illegal,
        "a server that applies retried appends twice passed the checker"
    );
    cfg.end();
}

/// Not in the Go lab: a leader cut off in a minority must not keep a request
/// waiting for the whole commit timeout (800 ms). It stops leading within
/// about five heartbeats when no majority answers (check-quorum), and Raft
/// tells the kv server, which answers the waiting request `ErrWrongLeader`
/// so that the clerk moves on. Without that the answer is `ErrTimeout`.
#[test]
fn minority_leader_fails_fast_3a() {
    let nservers = 5;
    let cfg = make_config(nservers, false, None);
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin("Test: a leader cut off in a minority fails its requests fast (3A)");

    put(&cfg, &mut ck, "k", "a", None, 0);
    let leader = cfg.leader().expect("a leader has just committed a put");
    let minority = [leader, (leader + 1) % nservers];
    let majority: Vec<usize> = (0..nservers).filter(|i| !minority.contains(i)).collect();
    let to_leader = cfg.end_to(leader);
    cfg.partition(&minority, &majority);

    // The old leader still believes it leads, so it starts the operation and
    // waits for it to commit, which it cannot.
    let started = Instant::now();
    let args = PutAppendArgs {
        key: "k".into(),
        value: "b".into(),
        op: PutOrAppend::Append,
        id: RequestId {
            client_id: 0x5ca1ab1e,
            seq: 1,
        },
    };
    let reply: PutAppendReply = to_leader
        .call("KVServer.PutAppend", &args)
        .expect("a reliable network delivers the reply");
    let waited = started.elapsed();
    assert_eq!(
        reply.err,
        KvErr::ErrWrongLeader,
        "the request to the cut-off leader ended after {waited:?} with {:?}",
        reply.err
    );
    eprintln!("info: the cut-off leader answered ErrWrongLeader after {waited:?}");

    // The majority goes on; the minority's append never happened.
    put(&cfg, &mut ck, "k", "c", None, 0);
    cfg.connect_all();
    check(&cfg, &mut ck, "k", "c");
    cfg.end();
}
