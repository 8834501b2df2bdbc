//! Bad bytes at every boundary (not in the Go lab): garbled persisted Raft
//! states, garbled kv snapshots, garbled and impossible RPCs sent to live
//! peers, and garbled snapshot data through InstallSnapshot.
//!
//! Each test tries `FUZZ_CASES` inputs (1,000 by default; set it higher for a
//! longer run) from a fixed seed, and prints one line per boundary:
//! `tried / accepted unchanged / refused / panics / hangs / committed data
//! changed`. Every corrupt input must be refused, nothing may panic or hang,
//! and no committed entry or value may change; afterwards the cluster must
//! still commit. notes/raft-design.md ("What is checked") says what the
//! checksums and checks catch and what they cannot.

use crate::common::kv_config;
use crate::common::kv_generic::{check, put};
use crate::common::raft_config::{self, Cmd};
use labrpc::{checksum, codec, ClientEnd, Network, RpcError};
use raft::kvraft::{KvServer, Op};
use raft::rsm::{open_snapshot, seal_snapshot};
use raft::sealed::{self, Kind};
use raft::wire::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, PersistedLog, PersistedState,
    RequestVoteArgs, RequestVoteReply, MAX_TERM,
};
use raft::{Entry, Persister, Raft};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// Inputs per boundary; `FUZZ_CASES=N` for a longer run.
fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// The seed of every input generator here: a failure reproduces exactly.
const SEED: u64 = 0x6824_2026;

/// A persisted Raft state's payload.
type SavedState<C> = PersistedState<C>;

/// A saved state from its fields: term, vote, the snapshot's checksum, and
/// the log (snapshot index, snapshot term, entries).
fn state_of<C>(
    current_term: u64,
    voted_for: Option<usize>,
    snapshot_crc: u32,
    (base_index, base_term, entries): (u64, u64, Vec<Entry<C>>),
) -> SavedState<C> {
    PersistedState {
        current_term,
        voted_for,
        snapshot_crc,
        log: PersistedLog {
            base_index,
            base_term,
            entries,
        },
    }
}

/// A kv snapshot's index and the store's bytes, if it opens.
fn open_kv(bytes: &[u8]) -> Option<(u64, Vec<u8>)> {
    open_snapshot(Kind::KvSnapshot, bytes)
        .ok()
        .map(|(i, b)| (i, b.to_vec()))
}

/// What happened to the inputs at one boundary.
#[derive(Default)]
struct Tally {
    tried: usize,
    accepted_unchanged: usize,
    refused: usize,
    panics: usize,
    hangs: usize,
    changed: usize,
}

impl Tally {
    fn report(&self, boundary: &str) {
        println!(
            "  {boundary}: tried {} / accepted unchanged {} / refused {} / panics {} / hangs {} / committed data changed {}",
            self.tried, self.accepted_unchanged, self.refused, self.panics, self.hangs, self.changed
        );
    }

    /// Every input corrupt: all refused, none panicked, hung or changed data.
    fn assert_all_refused(&self, boundary: &str) {
        self.report(boundary);
        assert_eq!(self.panics, 0, "{boundary}: panics");
        assert_eq!(self.hangs, 0, "{boundary}: hangs");
        assert_eq!(self.changed, 0, "{boundary}: committed data changed");
        assert_eq!(
            self.refused, self.tried,
            "{boundary}: corrupt inputs accepted"
        );
    }
}

enum Guarded<T> {
    Done(T),
    Panicked,
    Hung,
}

/// Runs `f` on its own thread: a panic or a hang (10 s) is counted, not fatal.
fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Guarded<T> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(v)) => Guarded::Done(v),
        Ok(Err(_)) => Guarded::Panicked,
        Err(_) => Guarded::Hung,
    }
}

/// A changed copy of `bytes`: flipped bits, an overwritten, zeroed, moved,
/// inserted or removed run, a truncation or an extension.
fn mutate(rng: &mut StdRng, bytes: &[u8]) -> Vec<u8> {
    loop {
        let mut b = bytes.to_vec();
        let len = b.len();
        let at = |rng: &mut StdRng, len: usize| rng.random_range(0..len.max(1));
        match rng.random_range(0..8) {
            0 if len > 0 => {
                for _ in 0..rng.random_range(1..=3) {
                    let bit = rng.random_range(0..len * 8);
                    b[bit / 8] ^= 1 << (bit % 8);
                }
            }
            1 if len > 0 => {
                let i = at(rng, len);
                b[i] = rng.random();
            }
            2 => b.truncate(at(rng, len)),
            3 => b.extend((0..rng.random_range(1..16)).map(|_| rng.random::<u8>())),
            4 if len > 0 => {
                let i = at(rng, len);
                let j = (i + rng.random_range(1..16)).min(len);
                b[i..j].fill(0);
            }
            5 if len > 1 => {
                let (i, j) = (at(rng, len), at(rng, len));
                let n = rng.random_range(1..16).min(len - i.max(j));
                let chunk = b[i..i + n].to_vec();
                b[j..j + n].copy_from_slice(&chunk);
            }
            6 => {
                let i = at(rng, len + 1).min(len);
                let junk: Vec<u8> = (0..rng.random_range(1..8)).map(|_| rng.random()).collect();
                b.splice(i..i, junk);
            }
            7 if len > 0 => {
                let i = at(rng, len);
                let j = (i + rng.random_range(1..16)).min(len);
                b.drain(i..j);
            }
            _ => continue,
        }
        if b != bytes {
            return b;
        }
    }
}

/// The payload of a sealed Raft state.
fn open_state<C: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<SavedState<C>> {
    codec::decode(sealed::open(Kind::RaftState, bytes).ok()?).ok()
}

/// A sealed Raft state around `state`: what only a buggy writer could save.
fn seal_state<C: serde::Serialize>(state: &SavedState<C>) -> Vec<u8> {
    sealed::seal(Kind::RaftState, &codec::encode(state).unwrap())
}

/// Whether `after` holds a different entry than `before` at an index both hold.
fn entries_differ<C: PartialEq>(before: &SavedState<C>, after: &SavedState<C>) -> bool {
    let (b_base, b_entries) = (&before.log.base_index, &before.log.entries);
    let (a_base, a_entries) = (&after.log.base_index, &after.log.entries);
    b_entries.iter().enumerate().any(|(k, e)| {
        let index = b_base + 1 + k as u64;
        index > *a_base
            && a_entries
                .get((index - a_base - 1) as usize)
                .is_some_and(|a| a != e)
    })
}

/// Persisted Raft states, garbled (and, built by hand, impossible ones under
/// a good seal), into `Raft::make`.
#[test]
fn garbled_raft_state_is_refused() {
    let servers = 3;
    let cfg = raft_config::make_config(servers, false, true);
    cfg.begin("Test (integrity): garbled persisted raft states are refused");
    for c in 1..=25u64 {
        cfg.one(c, servers, true);
    }
    cfg.crash1(0);
    let saved = cfg.saved(0).unwrap();
    let (state, snap) = (saved.read_raft_state(), saved.read_snapshot());
    assert!(!snap.is_empty(), "the peer has snapshotted");
    let original: SavedState<Cmd> = open_state(&state).expect("a good state opens");

    let mut rng = StdRng::seed_from_u64(SEED);
    let mut tally = Tally::default();
    let try_one = |tally: &mut Tally, st: Vec<u8>, sn: Vec<u8>| {
        tally.tried += 1;
        let (st2, sn2) = (st.clone(), sn.clone());
        let ends = cfg.fresh_ends();
        let outcome = guarded(move || {
            let p = Persister::new();
            p.save_state_and_snapshot(st2, sn2);
            let (tx, _rx) = crossbeam_channel::unbounded();
            Raft::<Cmd>::make(ends, 0, p, tx).map(|rf| rf.kill())
        });
        match outcome {
            Guarded::Done(Err(_)) => tally.refused += 1,
            Guarded::Done(Ok(())) => {
                let same_snapshot = sn == snap;
                match open_state::<Cmd>(&st) {
                    Some(after) if same_snapshot && !entries_differ(&original, &after) => {
                        tally.accepted_unchanged += 1
                    }
                    _ => tally.changed += 1,
                }
            }
            Guarded::Panicked => tally.panics += 1,
            Guarded::Hung => tally.hangs += 1,
        }
    };
    for k in 0..cases() {
        if k % 4 == 3 {
            try_one(&mut tally, state.clone(), mutate(&mut rng, &snap));
        } else {
            try_one(&mut tally, mutate(&mut rng, &state), snap.clone());
        }
    }
    // Impossible values under a good seal: only the checks can refuse these.
    let PersistedState {
        current_term: term,
        snapshot_crc: crc,
        log:
            PersistedLog {
                base_index: base,
                base_term,
                entries,
            },
        ..
    } = original.clone();
    let e = |t: u64| Entry {
        term: t,
        command: Cmd::Int(7),
    };
    let impossible: Vec<SavedState<Cmd>> = vec![
        state_of(u64::MAX, None, crc, (base, base_term, entries.clone())),
        state_of(MAX_TERM + 1, None, crc, (base, base_term, entries.clone())),
        state_of(term, Some(servers), crc, (base, base_term, entries.clone())),
        state_of(
            term,
            Some(usize::MAX),
            crc,
            (base, base_term, entries.clone()),
        ),
        state_of(0, Some(1), crc, (0, 0, vec![])),
        state_of(term, None, crc, (u64::MAX, base_term, entries.clone())),
        state_of(term, None, crc, (base, 0, entries.clone())),
        state_of(term, None, crc, (0, base_term, vec![])),
        state_of(term, None, crc, (base, base_term, vec![e(term + 1)])),
        state_of(
            term,
            None,
            crc,
            (base, base_term, vec![e(term), e(term - 1)]),
        ),
        state_of(term, None, crc, (base, base_term, vec![e(0)])),
        state_of(term, None, crc, (MAX_TERM, base_term, vec![e(term)])),
        state_of(term, None, crc, (0, 0, vec![])), // the snapshot beside index 0
        state_of(term, None, crc ^ 1, (base, base_term, entries.clone())),
    ];
    let n_impossible = impossible.len();
    for s in &impossible {
        try_one(&mut tally, seal_state(s), snap.clone());
    }
    println!(
        "  ({} garbled, {n_impossible} impossible under a good seal)",
        cases()
    );
    tally.assert_all_refused("raft state -> Raft::make");

    // The intact state still starts, and the cluster still commits.
    cfg.start1(0);
    cfg.connect(0);
    cfg.one(100u64, servers, true);
    cfg.end();
}

/// A RequestVote's bytes, from its fields in order.
fn rv(
    term: u64,
    candidate_id: usize,
    last_log_index: u64,
    last_log_term: u64,
) -> Result<Vec<u8>, codec::CodecError> {
    codec::encode(&RequestVoteArgs {
        term,
        candidate_id,
        last_log_index,
        last_log_term,
    })
}

/// An AppendEntries's bytes, from its fields in order.
fn ae(
    term: u64,
    leader_id: usize,
    prev_log_index: u64,
    prev_log_term: u64,
    entries: Vec<Entry<Cmd>>,
    leader_commit: u64,
) -> Result<Vec<u8>, codec::CodecError> {
    codec::encode(&AppendEntriesArgs {
        term,
        leader_id,
        prev_log_index,
        prev_log_term,
        entries,
        leader_commit,
    })
}

/// An InstallSnapshot's bytes, from its fields in order.
fn is(
    term: u64,
    leader_id: usize,
    last_included_index: u64,
    last_included_term: u64,
    data: Vec<u8>,
) -> Result<Vec<u8>, codec::CodecError> {
    codec::encode(&InstallSnapshotArgs {
        term,
        leader_id,
        last_included_index,
        last_included_term,
        data: data.into(),
    })
}

/// Garbled frames and impossible messages, sent to every peer of a live
/// cluster: every one refused, no impossible term adopted, and the
/// harness's check that every peer applies the same command at each index
/// holds throughout.
#[test]
fn garbled_and_impossible_rpcs_are_refused() {
    let servers = 3;
    let cfg = raft_config::make_config(servers, false, false);
    cfg.begin("Test (integrity): garbled and impossible RPCs are refused");
    for c in 1..=10u64 {
        cfg.one(c, servers, true);
    }
    let leader = cfg.check_one_leader();
    let ends: Vec<ClientEnd> = (0..servers).map(|i| cfg.end_to(i)).collect();
    let term = cfg.raft(leader).unwrap().get_state().0;
    let last = cfg.raft(leader).unwrap().status().last_log_index;
    let mut rng = StdRng::seed_from_u64(SEED);
    let cmd = |x| Entry {
        term,
        command: Cmd::Int(x),
    };

    // Messages a peer following Figure 2 could never send, each with one
    // impossible field, to a random peer (whoever "sends" is someone else).
    let mut tally = Tally::default();
    for _ in 0..cases() {
        let to = rng.random_range(0..servers);
        let other = (to + rng.random_range(1..servers)) % servers;
        let huge = rng.random_range(MAX_TERM + 1..=u64::MAX);
        let small = rng.random_range(1..=last);
        let (method, payload) = match rng.random_range(0..14) {
            0 => (
                "RequestVote",
                rv(term + 1, servers + rng.random_range(0..9), last, term),
            ),
            1 => ("RequestVote", rv(term + 1, to, last, term)),
            2 => ("RequestVote", rv(huge, other, last, term)),
            3 => ("RequestVote", rv(term + 1, other, last, term + 2)),
            4 => ("RequestVote", rv(term + 1, other, 0u64, term)),
            5 => (
                "AppendEntries",
                ae(term, servers + 1, last, term, vec![cmd(1)], last),
            ),
            6 => (
                "AppendEntries",
                ae(huge, other, last, term, Vec::<Entry<Cmd>>::new(), last),
            ),
            7 => (
                "AppendEntries",
                ae(term, other, last, term + 1, Vec::<Entry<Cmd>>::new(), last),
            ),
            8 => {
                let down = vec![
                    cmd(1),
                    Entry {
                        term: term - 1,
                        command: Cmd::Int(2),
                    },
                ];
                ("AppendEntries", ae(term, other, last, term, down, last))
            }
            9 => {
                let future = vec![Entry {
                    term: term + 1,
                    command: Cmd::Int(3),
                }];
                ("AppendEntries", ae(term, other, last, term, future, last))
            }
            10 => (
                "AppendEntries",
                ae(term, other, huge, term, vec![cmd(4)], huge),
            ),
            11 => ("InstallSnapshot", is(term, other, huge, term, vec![1u8; 8])),
            12 => (
                "InstallSnapshot",
                is(term, other, small, term + 1, vec![1u8; 8]),
            ),
            _ => (
                "InstallSnapshot",
                is(term, servers + 2, small, term, vec![1u8; 8]),
            ),
        };
        let frame = checksum::seal(payload.unwrap());
        let end = ends[to].clone();
        let method = format!("Raft.{method}");
        let m = method.clone();
        tally.tried += 1;
        match guarded(move || end.call_raw(&m, frame)) {
            Guarded::Done(Ok(reply)) => {
                let refused = match method.as_str() {
                    "Raft.RequestVote" => {
                        codec::decode::<RequestVoteReply>(&reply).is_ok_and(|r| !r.vote_granted)
                    }
                    "Raft.AppendEntries" => {
                        codec::decode::<AppendEntriesReply>(&reply).is_ok_and(|r| !r.success)
                    }
                    _ => codec::decode::<u64>(&reply).is_ok_and(|t| t < MAX_TERM),
                };
                if refused {
                    tally.refused += 1
                } else {
                    tally.changed += 1
                }
            }
            Guarded::Done(Err(e)) => panic!("{method}: the call failed: {e}"),
            Guarded::Panicked => tally.panics += 1,
            Guarded::Hung => tally.hangs += 1,
        }
    }
    for i in 0..servers {
        let st = cfg.raft(i).unwrap().status();
        assert!(
            st.term < 1000,
            "S{i} adopted an impossible term {}",
            st.term
        );
        assert_eq!(
            st.snapshot_index, 0,
            "S{i} installed an impossible snapshot"
        );
    }
    tally.assert_all_refused("impossible RPC arguments -> live peers");

    // Real messages (a heartbeat from the leader, a vote request, a
    // snapshot), garbled in flight, and frames of random bytes: the
    // checksum refuses them before anything decodes them.
    let mut tally = Tally::default();
    for k in 0..cases() {
        let to = (leader + 1 + rng.random_range(0..servers - 1)) % servers;
        let (method, frame) = if k % 5 == 4 {
            let n = rng.random_range(0..64);
            ("Raft.AppendEntries", (0..n).map(|_| rng.random()).collect())
        } else {
            let (method, payload) = match k % 3 {
                0 => (
                    "Raft.AppendEntries",
                    ae(term, leader, last, term, Vec::<Entry<Cmd>>::new(), last),
                ),
                1 => ("Raft.RequestVote", rv(term, leader, last, term)),
                _ => (
                    "Raft.InstallSnapshot",
                    is(term, leader, last, term, vec![9u8; 32]),
                ),
            };
            (method, mutate(&mut rng, &checksum::seal(payload.unwrap())))
        };
        let end = ends[to].clone();
        tally.tried += 1;
        match guarded(move || end.call_raw(method, frame)) {
            Guarded::Done(Err(RpcError::Corrupt(_))) => tally.refused += 1,
            Guarded::Done(_) => tally.changed += 1,
            Guarded::Panicked => tally.panics += 1,
            Guarded::Hung => tally.hangs += 1,
        }
    }
    tally.assert_all_refused("garbled RPC frames -> live peers");

    cfg.one(99u64, servers, true);
    cfg.end();
}

/// A kv cluster that has snapshotted, with server 0 shut down.
struct KvWithSnapshot {
    cfg: kv_config::KvCfg,
    /// Server 0's saved Raft state and kv snapshot.
    state: Vec<u8>,
    snap: Vec<u8>,
    /// The keys and values the clerk wrote.
    kvs: Vec<(String, String)>,
}

fn kv_with_snapshot(description: &str) -> KvWithSnapshot {
    let cfg = kv_config::make_config(3, false, Some(1000));
    cfg.begin(description);
    let mut ck = cfg.make_client(&cfg.all());
    let kvs: Vec<(String, String)> = (0..30)
        .map(|k| (format!("k{k}"), format!("v{k}-{}", "x".repeat(40))))
        .collect();
    for (k, v) in &kvs {
        put(&cfg, &mut ck, k, v, None, 0);
    }
    // A follower learns of the last commits a moment after the clerk hears
    // of them, and snapshots when it applies them: wait for that (on a busy
    // machine it can take a while) before taking server 0 down.
    let deadline = Instant::now() + Duration::from_secs(10);
    while cfg.saved(0).is_some_and(|p| p.snapshot_size() == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    cfg.shutdown_server(0);
    let saved = cfg.saved(0).unwrap();
    let (state, snap) = (saved.read_raft_state(), saved.read_snapshot());
    assert!(!snap.is_empty(), "server 0 has snapshotted");
    KvWithSnapshot {
        cfg,
        state,
        snap,
        kvs,
    }
}

/// After the fuzzing: server 0 restarts from its intact state and every
/// value the clerk wrote reads back.
fn kv_still_serves(cfg: &kv_config::KvCfg, kvs: &[(String, String)]) {
    cfg.start_server(0);
    cfg.connect_all();
    let mut ck = cfg.make_client(&cfg.all());
    for (k, v) in kvs {
        check(cfg, &mut ck, k, v);
    }
    cfg.end();
}

/// Ends that lead nowhere, for a server started only to see whether it starts.
fn ends_nowhere(net: &Network, n: usize) -> Vec<ClientEnd> {
    (0..n)
        .map(|_| net.make_end(format!("nowhere-{}", rand::random::<u64>())))
        .collect()
}

/// Garbled kv snapshots into `KvServer::start`: under Raft's own record of
/// the snapshot's checksum (Raft refuses), and with that record rewritten to
/// match (the kv server's seal refuses), plus well-sealed snapshots that
/// cover another index than Raft's log starts after.
#[test]
fn garbled_kv_snapshot_is_refused() {
    let KvWithSnapshot {
        cfg,
        state,
        snap,
        kvs,
    } = kv_with_snapshot("Test (integrity): garbled kv snapshots are refused");
    let original: SavedState<Op> = open_state(&state).expect("a good state opens");
    let kv_original = open_kv(&snap).expect("the kv snapshot opens");
    let nowhere = Network::new();
    // The saved state, rewritten to name `snapshot`'s checksum.
    let bound_to = |snapshot: &[u8]| {
        let mut s = original.clone();
        s.snapshot_crc = checksum::crc32c(snapshot);
        seal_state(&s)
    };

    let mut rng = StdRng::seed_from_u64(SEED);
    let mut tally = Tally::default();
    let try_one = |tally: &mut Tally, st: Vec<u8>, sn: Vec<u8>| {
        tally.tried += 1;
        let ends = ends_nowhere(&nowhere, 3);
        let sn2 = sn.clone();
        let outcome = guarded(move || {
            let p = Persister::new();
            p.save_state_and_snapshot(st, sn2);
            KvServer::start(ends, 0, p, Some(1000)).map(|kv| kv.kill())
        });
        match outcome {
            Guarded::Done(Err(_)) => tally.refused += 1,
            Guarded::Done(Ok(())) => {
                if open_kv(&sn).as_ref() == Some(&kv_original) {
                    tally.accepted_unchanged += 1
                } else {
                    tally.changed += 1
                }
            }
            Guarded::Panicked => tally.panics += 1,
            Guarded::Hung => tally.hangs += 1,
        }
    };
    for k in 0..cases() {
        let bad = mutate(&mut rng, &snap);
        let st = if k % 2 == 0 {
            state.clone()
        } else {
            bound_to(&bad)
        };
        try_one(&mut tally, st, bad);
    }
    // Well sealed, well bound, but covering another index than Raft's.
    let index = kv_original.0;
    for other in [0, 1, index - 1, index + 1, index + 5, u64::MAX] {
        let snapshot = seal_snapshot(Kind::KvSnapshot, other, &kv_original.1);
        try_one(&mut tally, bound_to(&snapshot), snapshot);
    }
    try_one(&mut tally, bound_to(&[]), Vec::new()); // no snapshot at all
    tally.assert_all_refused("kv snapshot -> KvServer::start");
    nowhere.cleanup();
    kv_still_serves(&cfg, &kvs);
}

/// Snapshot data through InstallSnapshot into a live kv server: a snapshot
/// that does not open, or covers another index than the message says, stops
/// the server (it acknowledges nothing more) and its restart on the same
/// persister fails; the intact snapshot is installed.
#[test]
fn garbled_install_snapshot_stops_the_kv_server() {
    let KvWithSnapshot { cfg, snap, kvs, .. } =
        kv_with_snapshot("Test (integrity): garbled InstallSnapshot data stops the kv server");
    let (index, store) = open_kv(&snap).expect("the kv snapshot opens");
    let net = Network::new();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut tally = Tally::default();
    let mut restarts_refused = 0;
    let mut stopped = 0;
    for k in 0..cases() {
        // One in fifty is the intact snapshot, the control.
        let control = k % 50 == 0;
        let data = match k % 7 {
            _ if control => snap.clone(),
            0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
            1 => seal_snapshot(Kind::KvSnapshot, index + rng.random_range(1..10), &store),
            _ => mutate(&mut rng, &snap),
        };
        let p = Persister::new();
        let kv = KvServer::start(ends_nowhere(&net, 3), 0, p.clone(), Some(1000)).unwrap();
        let server = labrpc::Server::new();
        server.add_service(kv.raft().service());
        let name = format!("victim-{k}");
        net.add_server(&name, server);
        let end = net.make_end(format!("fuzzer-{k}"));
        net.connect(format!("fuzzer-{k}"), &name);
        net.enable(format!("fuzzer-{k}"), true);
        let frame = checksum::seal(is(1000, 1, index, 1, data).unwrap());
        tally.tried += 1;
        let e = end.clone();
        match guarded(move || e.call_raw("Raft.InstallSnapshot", frame)) {
            Guarded::Done(Ok(_)) => {}
            Guarded::Done(Err(err)) => panic!("InstallSnapshot failed: {err}"),
            Guarded::Panicked => tally.panics += 1,
            Guarded::Hung => tally.hangs += 1,
        }
        // The kv server stops itself, or (the control) goes on.
        let deadline = Instant::now() + Duration::from_millis(if control { 200 } else { 5000 });
        while !kv.raft().killed() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if kv.raft().killed() {
            stopped += 1;
            // It acknowledges nothing now.
            let vote = checksum::seal(rv(2000, 2, index + 100, 5).unwrap());
            let r = end.call_raw("Raft.RequestVote", vote);
            assert_eq!(r, Err(RpcError::Failed), "a stopped server answered");
            if KvServer::start(ends_nowhere(&net, 3), 0, p.clone(), Some(1000)).is_err() {
                restarts_refused += 1;
            }
            if control {
                tally.changed += 1; // the intact snapshot was refused: a bug
            } else {
                tally.refused += 1;
            }
        } else if control {
            tally.accepted_unchanged += 1;
        } else {
            tally.changed += 1; // garbled data accepted
        }
        kv.kill();
        net.delete_server(&name);
    }
    let controls = cases().div_ceil(50);
    tally.report("snapshot data -> InstallSnapshot -> kv server");
    println!("  ({stopped} servers stopped themselves; {restarts_refused} restarts on their persisters refused)");
    assert_eq!(tally.panics + tally.hangs + tally.changed, 0);
    assert_eq!(
        tally.accepted_unchanged, controls,
        "every control installed"
    );
    assert_eq!(
        tally.refused,
        tally.tried - controls,
        "every garbled snapshot refused"
    );
    assert_eq!(
        restarts_refused, stopped,
        "a stopped server's restart must fail"
    );
    net.cleanup();
    kv_still_serves(&cfg, &kvs);
}

/// Whatever a peer persists, its own restart must accept. An AppendEntries
/// that starts below the peer's snapshot and disagrees with it there (its
/// entries' terms would then go below the snapshot's) is refused, and the
/// saved state still starts.
#[test]
fn append_entries_that_disagree_with_the_snapshot_are_refused() {
    let _lock = crate::common::suite::SuiteLock::acquire();
    let net = Network::new();
    let snapshot = b"the service's state through 10".to_vec();
    // Term 3; the snapshot covers the log through index 10, of term 2.
    let state: SavedState<Cmd> = state_of(3, None, checksum::crc32c(&snapshot), (10, 2, vec![]));
    let p = Persister::new();
    p.save_state_and_snapshot(seal_state(&state), snapshot);
    let (tx, _rx) = crossbeam_channel::unbounded();
    let rf = Raft::<Cmd>::make(ends_nowhere(&net, 3), 0, p.clone(), tx).unwrap();
    let server = labrpc::Server::new();
    server.add_service(rf.service());
    net.add_server("peer", server);
    let end = net.make_end("tester");
    net.connect("tester", "peer");
    net.enable("tester", true);

    let e = |term| Entry {
        term,
        command: Cmd::Int(term),
    };
    // An AppendEntries from S1 in term 3 after index 9 (term 1); whether it succeeded.
    let append = |entries: Vec<Entry<Cmd>>| -> bool {
        let frame = checksum::seal(ae(3, 1, 9, 1, entries, 0).unwrap());
        let reply = end.call_raw("Raft.AppendEntries", frame).unwrap();
        codec::decode::<AppendEntriesReply>(&reply).unwrap().success
    };
    // Entries 10 and 11 of term 1; entry 10 is the snapshot's, of term 2.
    assert!(
        !append(vec![e(1), e(1)]),
        "an AppendEntries that disagrees with the snapshot was accepted"
    );
    // One that agrees is taken.
    assert!(append(vec![e(2), e(3)]));
    assert_eq!(rf.status().last_log_index, 11);
    rf.kill();
    // What it saved starts.
    let (tx, _rx) = crossbeam_channel::unbounded();
    let again = Raft::<Cmd>::make(ends_nowhere(&net, 3), 0, p.copy(), tx)
        .expect("a peer's own saved state must start");
    assert_eq!(again.status().last_log_index, 11);
    again.kill();
    net.cleanup();
}

/// A saved state whose log starts at index 0 (no snapshot) beside a
/// snapshot's bytes, its checksum recorded as usual: the peer would hand
/// the service the snapshot and then entries from index 1 again. Refused.
#[test]
fn a_snapshot_beside_index_zero_is_refused() {
    let _lock = crate::common::suite::SuiteLock::acquire();
    let net = Network::new();
    let snapshot = b"a service's state".to_vec();
    let e = Entry {
        term: 1,
        command: Cmd::Int(1),
    };
    let state: SavedState<Cmd> = state_of(1, None, checksum::crc32c(&snapshot), (0, 0, vec![e]));
    let p = Persister::new();
    p.save_state_and_snapshot(seal_state(&state), snapshot);
    let (tx, _rx) = crossbeam_channel::unbounded();
    match Raft::<Cmd>::make(ends_nowhere(&net, 3), 0, p, tx) {
        Ok(rf) => {
            rf.kill();
            panic!("a snapshot beside a log that starts at index 0 was accepted");
        }
        Err(e) => assert!(e.to_string().contains("index 0"), "{e}"),
    }
    net.cleanup();
}

/// A term at or near the bound, forged into one RequestVote to S0 of a
/// healthy cluster. The peers may lose liveness (none can stand for
/// election past the bound), but every peer must keep a saved state that
/// it can restart from, holding every committed entry.
fn forged_term_leaves_peers_restartable(forged: u64, description: &str) {
    let servers = 3;
    let cfg = raft_config::make_config(servers, false, false);
    cfg.begin(description);
    for c in 1..=5u64 {
        cfg.one(c, servers, true);
    }
    let frame = checksum::seal(rv(forged, 1, 0, 0).unwrap()); // from "S1", log 0/0
    let reply = cfg.end_to(0).call_raw("Raft.RequestVote", frame).unwrap();
    assert!(
        !codec::decode::<RequestVoteReply>(&reply)
            .unwrap()
            .vote_granted,
        "vote granted"
    );
    // The leader hears the term in S0's replies and steps down; whoever
    // stands next stands at forged + 1.
    if forged < MAX_TERM {
        let leader = cfg.check_one_leader();
        let (term, _) = cfg.raft(leader).unwrap().get_state();
        assert_eq!(term, MAX_TERM, "the leader after the forged term");
        cfg.one(6u64, servers, true); // the last term still serves
        cfg.crash1(leader); // and nobody may stand after it
    }
    // Several election timeouts: every peer that would stand has tried.
    std::thread::sleep(Duration::from_millis(2500));
    let committed = if forged < MAX_TERM { 6 } else { 5 };
    for i in 0..servers {
        if let Some(rf) = cfg.raft(i) {
            let st = rf.status();
            assert!(st.term <= MAX_TERM, "S{i} holds term {}", st.term);
            assert_ne!(st.role, raft::Role::Leader, "S{i} leads past the bound");
        }
        cfg.crash1(i);
        let saved = cfg.saved(i).unwrap();
        let (tx, _rx) = crossbeam_channel::unbounded();
        let rf = Raft::<Cmd>::make(cfg.fresh_ends(), i, saved.copy(), tx)
            .unwrap_or_else(|e| panic!("S{i} cannot restart from what it saved: {e}"));
        rf.kill();
        let state: SavedState<Cmd> = open_state(&saved.read_raft_state()).unwrap();
        let commands: Vec<Cmd> = state
            .log
            .entries
            .iter()
            .map(|e| e.command.clone())
            .collect();
        let expect: Vec<Cmd> = (1..=committed).map(Cmd::Int).collect();
        assert!(
            commands.starts_with(&expect),
            "S{i} lost committed entries: {commands:?}"
        );
    }
    cfg.end();
}

/// A forged term of exactly the bound: no peer may stand again.
#[test]
fn a_forged_term_at_the_bound_leaves_every_peer_restartable() {
    forged_term_leaves_peers_restartable(
        MAX_TERM,
        "Test (integrity): a forged term at the bound leaves every peer restartable",
    );
}

/// A forged term one below the bound: one more election, one more leader,
/// and after it crashes none may stand.
#[test]
fn a_forged_term_below_the_bound_leaves_every_peer_restartable() {
    forged_term_leaves_peers_restartable(
        MAX_TERM - 1,
        "Test (integrity): a forged term below the bound leaves every peer restartable",
    );
}

/// Random payloads, past the checksum (so the decoders and handlers see
/// them), into each of `targets` in turn: each is answered or refused, none
/// panics or hangs.
fn random_payloads(targets: &[(ClientEnd, &'static str)], boundary: &str) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut tally = Tally::default();
    for k in 0..cases() {
        let (end, method) = targets[k % targets.len()].clone();
        let payload: Vec<u8> = (0..rng.random_range(0..48)).map(|_| rng.random()).collect();
        tally.tried += 1;
        match guarded(move || end.call_raw(method, checksum::seal(payload))) {
            // A reply means the bytes decoded as a request: it was served.
            Guarded::Done(Ok(_)) => tally.accepted_unchanged += 1,
            Guarded::Done(Err(_)) => tally.refused += 1,
            Guarded::Panicked => tally.panics += 1,
            Guarded::Hung => tally.hangs += 1,
        }
    }
    println!(
        "  {boundary}: tried {} / decoded and answered {} / refused {} / panics {} / hangs {}",
        tally.tried, tally.accepted_unchanged, tally.refused, tally.panics, tally.hangs
    );
    assert_eq!(tally.panics + tally.hangs, 0, "{boundary}");
}

/// Random payloads into the kv server's methods; it still serves after.
#[test]
fn random_payloads_into_the_kv_service() {
    let kv = kv_config::make_config(3, false, Some(1000));
    kv.begin("Test (integrity): random payloads into the kv service");
    let mut ck = kv.make_client(&kv.all());
    ck.ck.put("a", "1");
    let targets = [
        (kv.end_to(0), "KVServer.Get"),
        (kv.end_to(1), "KVServer.PutAppend"),
    ];
    random_payloads(&targets, "random payloads -> kv server");
    assert_eq!(ck.ck.get("a"), "1", "kv still serves");
    kv.end();
}

/// Random payloads into the shard master's and a shardkv server's methods;
/// both still serve after.
#[test]
fn random_payloads_into_the_shard_services() {
    use crate::common::shardkv_config;
    let cfg = shardkv_config::make_config(3, false, Some(1000));
    cfg.begin("Test (integrity): random payloads into the shard master and shardkv");
    cfg.join(0);
    let mut ck = cfg.make_client();
    ck.put("a", "1");
    let g = &cfg.groups[0].cluster;
    let targets = [
        (cfg.ctl.end_to(0), "ShardMaster.Join"),
        (cfg.ctl.end_to(1), "ShardMaster.Leave"),
        (cfg.ctl.end_to(2), "ShardMaster.Move"),
        (cfg.ctl.end_to(0), "ShardMaster.Query"),
        (g.end_to(0), "ShardKV.Get"),
        (g.end_to(1), "ShardKV.PutAppend"),
        (g.end_to(2), "ShardKV.PullShard"),
        (g.end_to(0), "ShardKV.DeleteShard"),
    ];
    random_payloads(&targets, "random payloads -> shard master, shardkv");
    assert_eq!(ck.get("a"), "1", "shardkv still serves");
    cfg.join(1); // and the shard master still takes changes
    assert_eq!(ck.get("a"), "1");
    cfg.end();
}
