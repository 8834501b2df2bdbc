//! A property of persistence: whatever a peer saves, it can restart from.
//!
//! Two tests. The first drives one peer through random sequences of Raft's
//! own steps (the three RPC handlers, election timeouts, winning, `start`,
//! the service's snapshots, replies carrying terms), with terms drawn at and
//! near [`MAX_TERM`]; after every step the bytes in the persister must
//! restore, and give back exactly the term, vote and log the peer holds.
//! The second builds saved states by hand around the edges of what is valid
//! (terms at the bound, a snapshot beside index 0) and checks that `restore`
//! accepts exactly those an independent statement of the rules allows.
//!
//! The peer runs no threads: `Shared::new` builds it, and it is marked dead
//! so that an election spawns no vote threads. Every step is then a plain
//! call under the lock, and a failing seed replays exactly.

use super::log::Entry;
use super::persist::restore;
use super::rpc::{AppendEntriesArgs, InstallSnapshotArgs, RequestVoteArgs};
use super::state::{Role, State};
use super::validate::{self, MAX_TERM};
use super::Shared;
use crate::persister::Persister;
use crate::sealed::{self, Kind};
use labrpc::checksum::crc32c;
use labrpc::{codec, Network};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

const PEERS: usize = 3;
const ME: usize = 0;

/// A peer with no threads, restored from `persister`. Its ends lead nowhere
/// (and nothing sends on them).
fn peer(persister: Persister) -> Arc<Shared<u64>> {
    let net = Network::new();
    let ends = (0..PEERS).map(|i| net.make_end(format!("p{i}"))).collect();
    let shared = Shared::new(ends, ME, persister).expect("the saved state restores");
    // Stopped: no vote or replication threads start.
    shared.dead.stop(&*shared.state.lock(), &[]);
    shared
}

/// A term for a message: mostly near the peer's own, often at the bound.
fn some_term(rng: &mut StdRng, current: u64) -> u64 {
    match rng.random_range(0..10) {
        0 => MAX_TERM - 1,
        1 => MAX_TERM,
        2 => MAX_TERM + 1,
        3 => rng.random(),
        4 => current.saturating_sub(1),
        5..=7 => current,
        _ => current.saturating_add(1),
    }
}

/// One of Raft's own steps, chosen at random.
fn step(rng: &mut StdRng, s: &Arc<Shared<u64>>) {
    let (current, last, last_term, base) = {
        let st = s.state.lock();
        (
            st.current_term,
            st.log.last_index(),
            st.log.last_term(),
            st.log.base_index(),
        )
    };
    let other = rng.random_range(1..PEERS);
    match rng.random_range(0..8) {
        0 => {
            let term = some_term(rng, current);
            s.request_vote(RequestVoteArgs {
                term,
                candidate_id: other,
                last_log_index: last + rng.random_range(0..2),
                last_log_term: last_term.max(1).min(term),
            });
        }
        1 => {
            let term = some_term(rng, current);
            let prev = rng.random_range(0..=last);
            let prev_term = s.state.lock().log.term_at(prev).unwrap_or(last_term);
            let entries = (0..rng.random_range(0..3))
                .map(|_| Entry {
                    term,
                    command: rng.random(),
                })
                .collect();
            s.append_entries(AppendEntriesArgs {
                term,
                leader_id: other,
                prev_log_index: prev,
                prev_log_term: prev_term,
                entries,
                leader_commit: rng.random_range(0..=last + 2),
            });
        }
        2 => {
            let term = some_term(rng, current);
            let index = rng.random_range(1..=last + 3);
            let data: Vec<u8> = (0..rng.random_range(0..8)).map(|_| rng.random()).collect();
            s.install_snapshot(InstallSnapshotArgs {
                term,
                leader_id: other,
                last_included_index: index,
                last_included_term: rng.random_range(1..=term.clamp(1, MAX_TERM)),
                data: data.into(),
            });
            // The applier hands the snapshot over; nothing of it is saved.
            s.state.lock().pending_snapshot = None;
        }
        3 | 4 => {
            // The election timeout fires: the state thread's candidate().
            let mut st = s.state.lock();
            if st.role != Role::Leader {
                s.start_election(&mut st);
                if st.role == Role::Candidate && rng.random_bool(0.5) {
                    st.become_leader(); // the votes came in
                }
            }
        }
        5 => {
            // `start` on a leader, then the save before the entry is sent.
            let mut st = s.state.lock();
            if st.role == Role::Leader {
                let term = st.current_term;
                st.log.push(Entry {
                    term,
                    command: rng.random(),
                });
                st.log_unsaved = true;
                st.persist_if_unsaved();
            }
        }
        6 => {
            // The applier catches up, and the service snapshots.
            let applied = {
                let mut st = s.state.lock();
                st.last_applied = st.commit_index;
                st.last_applied
            };
            if applied > base {
                let index = rng.random_range(base + 1..=applied);
                s.take_snapshot(index, index.to_le_bytes().to_vec());
            }
        }
        _ => {
            // A reply (to a vote or an AppendEntries) carrying a term.
            let term = some_term(rng, current);
            let mut st = s.state.lock();
            if validate::reply_term(term).is_ok() {
                s.observe_term(&mut st, term);
            }
        }
    }
}

/// The saved bytes restore, to exactly what the peer holds.
fn assert_restores(st: &State<u64>, persister: &Persister, what: &str) {
    let bytes = persister.read_raft_state();
    if bytes.is_empty() {
        return; // nothing saved yet: a fresh peer
    }
    let r = restore::<u64>(&bytes, &persister.read_snapshot(), PEERS)
        .unwrap_or_else(|e| panic!("{what}: the saved state does not restore: {e}"))
        .expect("a state was saved");
    assert_eq!(r.current_term, st.current_term, "{what}: term");
    assert_eq!(r.voted_for, st.voted_for, "{what}: vote");
    assert_eq!(r.log.base_index(), st.log.base_index(), "{what}: base");
    assert_eq!(r.log.base_term(), st.log.base_term(), "{what}: base term");
    assert_eq!(r.log.entries(), st.log.entries(), "{what}: entries");
}

#[test]
fn every_saved_state_restores() {
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let persister = Persister::new();
        let mut s = peer(persister.clone());
        for k in 0..60 {
            step(&mut rng, &s);
            let what = format!("seed {seed}, step {k}");
            assert_restores(&s.state.lock(), &persister, &what);
            let st = s.state.lock();
            assert!(st.current_term <= MAX_TERM, "{what}: term past the bound");
            drop(st);
            if rng.random_bool(0.05) {
                s = peer(persister.clone()); // a restart, then go on
            }
        }
    }
}

/// What a saved state must be, said independently of validate.rs: terms at
/// most the bound, a vote only in a term, and index 0 only with term 0 and
/// no snapshot.
fn allowed(term: u64, vote: Option<usize>, base: u64, base_term: u64, snapshot: &[u8]) -> bool {
    term <= MAX_TERM
        && (vote.is_none() || term >= 1)
        && base_term <= term
        && (base == 0) == (base_term == 0)
        && (base >= 1 || snapshot.is_empty())
}

#[test]
fn restore_accepts_exactly_the_valid_states() {
    let mut rng = StdRng::seed_from_u64(21);
    let mut accepted = 0;
    for _ in 0..5000 {
        let near = |rng: &mut StdRng| match rng.random_range(0..6) {
            0 => 0,
            1 => 1,
            2 => MAX_TERM - 1,
            3 => MAX_TERM,
            4 => MAX_TERM + 1,
            _ => rng.random_range(0..5),
        };
        let term = near(&mut rng);
        let base = rng.random_range(0..3);
        let base_term = near(&mut rng);
        let vote = rng.random_bool(0.5).then_some(1usize);
        let snapshot: Vec<u8> = (0..rng.random_range(0..3)).map(|_| 7).collect();
        // The log as it is encoded: base index, base term, entries.
        let log = (base, base_term, Vec::<Entry<u64>>::new());
        let payload = codec::encode(&(term, vote, crc32c(&snapshot), log)).unwrap();
        let bytes = sealed::seal(Kind::RaftState, &payload);
        let ok = restore::<u64>(&bytes, &snapshot, PEERS).is_ok();
        let expect = allowed(term, vote, base, base_term, &snapshot);
        assert_eq!(
            ok, expect,
            "term {term}, vote {vote:?}, base {base}/{base_term}, snapshot {snapshot:?}"
        );
        accepted += ok as usize;
    }
    assert!(
        accepted > 100,
        "the cases reach valid states too ({accepted})"
    );
}
