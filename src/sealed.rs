//! Sealed blobs: the format of every byte string this crate persists.
//!
//! ```text
//!  offset  0      4        5            9
//!          magic  version  crc32c(LE)   payload (the codec's bytes)
//! ```
//!
//! The magic says what the blob is (a Raft state is not a kv snapshot), the
//! version which layout the payload has, and the CRC-32C
//! ([`labrpc::checksum`]) covers the payload. [`open`] checks all three before
//! anything decodes the payload, so a flipped bit on the "disk" is a clear
//! error instead of a changed command. A checksum catches accidents, not a
//! writer that lies: see "What is checked" in notes/raft-design.md.

use labrpc::checksum::crc32c;

/// Bytes before the payload: magic, version, checksum.
pub const HEADER_LEN: usize = 9;

/// What a sealed blob holds, by its 4-byte magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Raft's persistent state: `currentTerm`, `votedFor`, the log.
    RaftState,
    /// A kv server's snapshot: the index it covers, the store, the duplicate table.
    KvSnapshot,
    /// A shardkv server's snapshot: the index it covers and its group's state.
    ShardKvSnapshot,
    /// The snapshot of a state machine that has no kind of its own (the
    /// shard master's, the rsm tests' counter): the index it covers and the
    /// machine's bytes.
    MachineSnapshot,
    /// A persister's file on disk: the Raft state and the snapshot together.
    PersistedFile,
}

impl Kind {
    fn magic(self) -> &'static [u8; 4] {
        match self {
            Kind::RaftState => b"RFTS",
            Kind::KvSnapshot => b"KVSN",
            Kind::ShardKvSnapshot => b"SKVS",
            Kind::MachineSnapshot => b"SMSN",
            Kind::PersistedFile => b"RFTF",
        }
    }

    /// The layout this build writes and reads.
    fn version(self) -> u8 {
        1
    }
}

/// Seals `payload` as a blob of `kind`.
pub fn seal(kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(HEADER_LEN + payload.len());
    begin(&mut blob);
    blob.extend_from_slice(payload);
    finish(kind, &mut blob);
    blob
}

/// Clears `buf` and reserves the header; append the payload, then [`finish`].
/// (Raft builds its state in a reused buffer this way, without a copy.)
pub fn begin(buf: &mut Vec<u8>) {
    buf.clear();
    buf.resize(HEADER_LEN, 0);
}

/// Writes the header of a blob whose payload follows [`begin`]'s reserved bytes.
pub fn finish(kind: Kind, buf: &mut [u8]) {
    let crc = crc32c(&buf[HEADER_LEN..]);
    finish_with_crc(kind, buf, crc);
}

/// [`finish`] for a writer that already knows its payload's CRC-32C (Raft
/// keeps its saved state's checksum up to date as the bytes change, rather
/// than reading megabytes of log on every save: `raft/saved_state.rs`).
/// Debug builds check the claim against the bytes.
pub fn finish_with_crc(kind: Kind, buf: &mut [u8], crc: u32) {
    debug_assert_eq!(
        crc,
        crc32c(&buf[HEADER_LEN..]),
        "{kind:?}: wrong payload CRC"
    );
    buf[..4].copy_from_slice(kind.magic());
    buf[4] = kind.version();
    buf[5..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
}

/// The payload of a blob of `kind`, or why these bytes are not one.
pub fn open(kind: Kind, blob: &[u8]) -> Result<&[u8], String> {
    if blob.len() < HEADER_LEN {
        return Err(format!(
            "{kind:?}: {} bytes is shorter than the {HEADER_LEN}-byte header",
            blob.len()
        ));
    }
    if &blob[..4] != kind.magic() {
        return Err(format!(
            "{kind:?}: magic {:?} is not {:?}",
            String::from_utf8_lossy(&blob[..4]),
            String::from_utf8_lossy(kind.magic())
        ));
    }
    if blob[4] != kind.version() {
        return Err(format!(
            "{kind:?}: format version {} (this build reads {})",
            blob[4],
            kind.version()
        ));
    }
    let want = u32::from_le_bytes([blob[5], blob[6], blob[7], blob[8]]);
    let payload = &blob[HEADER_LEN..];
    let got = crc32c(payload);
    if got != want {
        return Err(format!(
            "{kind:?}: checksum mismatch over {} bytes (saved {want:08x}, read {got:08x})",
            payload.len()
        ));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_flipped_bit() {
        let blob = seal(Kind::KvSnapshot, b"index 7, x=1");
        assert_eq!(open(Kind::KvSnapshot, &blob).unwrap(), b"index 7, x=1");
        for bit in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(open(Kind::KvSnapshot, &bad).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn wrong_kind_short_and_truncated_blobs_are_refused() {
        let blob = seal(Kind::RaftState, b"state");
        let e = open(Kind::KvSnapshot, &blob).unwrap_err();
        assert!(e.contains("magic"), "{e}");
        assert!(open(Kind::RaftState, &blob[..8]).is_err());
        assert!(open(Kind::RaftState, &blob[..blob.len() - 1]).is_err());
        assert!(open(Kind::RaftState, b"").is_err());
        let mut v2 = blob.clone();
        v2[4] = 2;
        assert!(open(Kind::RaftState, &v2).unwrap_err().contains("version"));
        // An empty payload is a valid blob.
        assert_eq!(
            open(Kind::RaftState, &seal(Kind::RaftState, b"")).unwrap(),
            b""
        );
    }
}
