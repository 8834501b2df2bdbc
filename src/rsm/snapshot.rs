//! The rsm's snapshot format: the log index it covers and the state
//! machine's bytes, sealed ([`crate::sealed`]: magic, version, checksum).
//!
//! ```text
//!   sealed(kind, [ index: u64, little-endian ][ the state machine's bytes ])
//! ```
//!
//! The index is checked against the index Raft delivers the snapshot at: a
//! snapshot that covers another part of the log than Raft says cannot be
//! applied.

use super::StateMachine;
use crate::sealed::{self, Kind};

/// The snapshot of `sm` after applying the log through `index`, written in
/// one buffer: header, index, then the machine's bytes, appended in place.
pub fn take_snapshot<S: StateMachine>(sm: &S, index: u64) -> Vec<u8> {
    let mut blob = Vec::new();
    sealed::begin(&mut blob);
    blob.extend_from_slice(&index.to_le_bytes());
    sm.snapshot(&mut blob);
    sealed::finish(S::SNAPSHOT_KIND, &mut blob);
    blob
}

/// The bytes of a snapshot of `state` (a state machine's own bytes) after
/// applying the log through `index` (for tools and tests that build one).
pub fn seal_snapshot(kind: Kind, index: u64, state: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(8 + state.len());
    payload.extend_from_slice(&index.to_le_bytes());
    payload.extend_from_slice(state);
    sealed::seal(kind, &payload)
}

/// Opens a snapshot: the index it covers and the state machine's bytes.
pub fn open_snapshot(kind: Kind, bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    let payload = sealed::open(kind, bytes)?;
    if payload.len() < 8 {
        return Err(format!("{} bytes, too short for the index", payload.len()));
    }
    let (index, state) = payload.split_at(8);
    let index = u64::from_le_bytes(index.try_into().expect("8 bytes"));
    Ok((index, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine whose state is a few bytes.
    struct Bytes(Vec<u8>);

    impl StateMachine for Bytes {
        type Op = u8;
        type Output = ();
        const SNAPSHOT_KIND: Kind = Kind::KvSnapshot;
        fn apply(&mut self, op: u8) {
            self.0.push(op)
        }
        fn snapshot(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0)
        }
        fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
            self.0 = bytes.to_vec();
            Ok(())
        }
    }

    #[test]
    fn written_in_place_as_sealed() {
        let sm = Bytes(b"state".to_vec());
        assert_eq!(
            take_snapshot(&sm, 42),
            seal_snapshot(Kind::KvSnapshot, 42, b"state")
        );
    }

    #[test]
    fn round_trip_and_refusals() {
        let blob = seal_snapshot(Kind::KvSnapshot, 42, b"state");
        assert_eq!(
            open_snapshot(Kind::KvSnapshot, &blob).unwrap(),
            (42, &b"state"[..])
        );
        assert!(open_snapshot(Kind::ShardKvSnapshot, &blob).is_err());
        let short = sealed::seal(Kind::KvSnapshot, &[1, 2, 3]);
        assert!(open_snapshot(Kind::KvSnapshot, &short).is_err());
        for bit in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(open_snapshot(Kind::KvSnapshot, &bad).is_err(), "bit {bit}");
        }
    }
}
