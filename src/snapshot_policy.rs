//! When a kv service (kvraft, shardkv) asks Raft to snapshot.
//!
//! Raft's saved state grows with every entry; at `maxraftstate` bytes the
//! service hands Raft a snapshot and Raft drops the entries it covers. The
//! rule below keeps that to once per crossing of the limit.

/// When a service snapshots: when Raft's saved state reaches
/// `maxraftstate`, but not again until the state has grown by half that
/// much since the last snapshot. Right after a snapshot the state can still
/// be above the limit (entries committed but not applied here yet are not in
/// it), and snapshotting after every operation then would encode the whole
/// store each time for a few bytes saved.
pub(crate) struct SnapshotPolicy {
    max: Option<usize>,
    /// Raft's state size right after the last snapshot.
    floor: usize,
}

impl SnapshotPolicy {
    /// Snapshots at `max` bytes of Raft state; never with `None` (Go's -1).
    pub(crate) fn new(max: Option<usize>) -> SnapshotPolicy {
        SnapshotPolicy { max, floor: 0 }
    }

    /// Whether to snapshot, with Raft's state now `size` bytes.
    pub(crate) fn due(&self, size: usize) -> bool {
        self.max
            .is_some_and(|max| size >= max && size >= self.floor + max / 2)
    }

    /// A snapshot was taken; Raft's state is now `size` bytes.
    pub(crate) fn taken(&mut self, size: usize) {
        self.floor = size;
    }
}

#[cfg(test)]
mod tests {
    use super::SnapshotPolicy;

    #[test]
    fn snapshots_once_per_crossing_unless_the_state_keeps_growing() {
        let mut p = SnapshotPolicy::new(Some(1000));
        assert!(!p.due(999));
        assert!(p.due(1000));
        p.taken(100); // the usual case: the snapshot cut the log
        assert!(!p.due(999));
        assert!(p.due(1000));
        p.taken(900); // most of the log was not applied yet
        assert!(!p.due(1000), "not after every operation");
        assert!(!p.due(1399));
        assert!(p.due(1400), "but once it has grown by half the limit");
        assert!(!SnapshotPolicy::new(None).due(usize::MAX));
    }
}
