//! The search's memo: the set of (linearized operations, model state) pairs
//! already visited, held within a memory budget.
//!
//! Lowe's algorithm only prunes with this set; it never needs it to be
//! complete. So when the memo would grow past the budget (shared by all the
//! partitions of one check) it forgets everything and starts again: the
//! search then repeats work it had done (time), but never skips work it had
//! not (correctness).
//!
//! Why not a `HashSet<(Vec<u64>, State)>`, as the first checker had: that
//! allocates one `Vec` per entry, so a memo of ten million entries is ten
//! million allocations to make and to free, and their size can only be
//! guessed. Here the bit sets live end to end in fixed-size chunks, the states
//! beside them, and the tables hold indexes: few allocations, measured
//! exactly, freed quickly (which matters: a check that times out must still
//! free its memo before it returns).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A memory budget shared by the memos of one check.
#[derive(Debug)]
pub(crate) struct MemoBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoBudget {
    pub(crate) fn new(limit: usize) -> MemoBudget {
        MemoBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget if they fit.
    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&u| u <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes held by all memos now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// Entries per chunk of the arena.
const CHUNK: usize = 1024;
/// Tables per memo; an entry's table is picked by its hash's top bits.
const SHARDS: usize = 64;
/// Slots a table starts with.
const FIRST_SLOTS: usize = 16;
const EMPTY: u32 = u32::MAX;

/// Room for `CHUNK` entries, allocated once and never moved.
struct Chunk<S> {
    bits: Vec<u64>,
    states: Vec<S>,
    hashes: Vec<u64>,
}

/// One shard's open-addressing table (linear probing, at most half full)
/// of indexes into the arena.
#[derive(Default)]
struct Table {
    slots: Vec<u32>,
    len: usize,
}

/// A set of (bit set of `words` words, state) pairs, bounded by a budget.
///
/// Growth never stops the search for long: entries go into fixed-size chunks
/// that are never copied, and the index is split into 64 tables that each
/// double on their own, so the longest pause (one table's rebuild) is a
/// 64th of what one big table's would be. The search polls its deadline
/// between inserts, so this is what keeps a check within its time limit.
pub(crate) struct Memo<'b, S> {
    budget: &'b MemoBudget,
    words: usize,
    /// Bytes taken from the budget for the chunks and tables.
    held: usize,
    chunks: Vec<Chunk<S>>,
    len: usize,
    tables: Vec<Table>,
    /// How many times the memo forgot everything to stay in budget.
    resets: usize,
}

impl<'b, S: Eq + Hash> Memo<'b, S> {
    /// An empty memo; it takes nothing from the budget until it is used.
    pub(crate) fn new(budget: &'b MemoBudget, words: usize) -> Memo<'b, S> {
        Memo {
            budget,
            words,
            held: 0,
            chunks: Vec::new(),
            len: 0,
            tables: (0..SHARDS).map(|_| Table::default()).collect(),
            resets: 0,
        }
    }

    fn chunk_bytes(&self) -> usize {
        CHUNK * (self.words * 8 + std::mem::size_of::<S>() + 8)
    }

    /// Adds the pair; true if it was not there (the search should go on from
    /// it), false if it was (the search has been there: prune).
    pub(crate) fn insert(&mut self, bits: &[u64], state: &S) -> bool
    where
        S: Clone,
    {
        debug_assert_eq!(bits.len(), self.words);
        let hash = hash_of(bits, state);
        let shard = (hash >> 58) as usize;
        if self.contains(shard, bits, state, hash) {
            return false;
        }
        if !self.make_room(shard) {
            // Over budget: forget everything and start again.
            self.release();
            self.resets += 1;
            if !self.make_room(shard) {
                return true; // nothing left in the budget: search without a memo
            }
        }
        let chunk = &mut self.chunks[self.len / CHUNK];
        chunk.bits.extend_from_slice(bits);
        chunk.states.push(state.clone());
        chunk.hashes.push(hash);
        self.place(shard, self.len as u32, hash);
        self.tables[shard].len += 1;
        self.len += 1;
        true
    }

    fn hash_at(&self, i: usize) -> u64 {
        self.chunks[i / CHUNK].hashes[i % CHUNK]
    }

    fn contains(&self, shard: usize, bits: &[u64], state: &S, hash: u64) -> bool {
        let slots = &self.tables[shard].slots;
        if slots.is_empty() {
            return false;
        }
        let mask = slots.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let e = slots[slot];
            if e == EMPTY {
                return false;
            }
            let (chunk, k) = (&self.chunks[e as usize / CHUNK], e as usize % CHUNK);
            if chunk.hashes[k] == hash
                && chunk.bits[k * self.words..(k + 1) * self.words] == *bits
                && chunk.states[k] == *state
            {
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }

    fn place(&mut self, shard: usize, index: u32, hash: u64) {
        let slots = &mut self.tables[shard].slots;
        let mask = slots.len() - 1;
        let mut slot = hash as usize & mask;
        while slots[slot] != EMPTY {
            slot = (slot + 1) & mask;
        }
        slots[slot] = index;
    }

    /// Makes room for one more entry in the arena and in `shard`'s table,
    /// if the budget allows.
    fn make_room(&mut self, shard: usize) -> bool {
        if self.len >= EMPTY as usize - 1 {
            return false;
        }
        if self.len == self.chunks.len() * CHUNK {
            let bytes = self.chunk_bytes();
            if !self.budget.take(bytes) {
                return false;
            }
            self.held += bytes;
            self.chunks.push(Chunk {
                bits: Vec::with_capacity(CHUNK * self.words),
                states: Vec::with_capacity(CHUNK),
                hashes: Vec::with_capacity(CHUNK),
            });
        }
        let table = &self.tables[shard];
        if 2 * (table.len + 1) > table.slots.len() {
            let old = table.slots.len();
            let new = (2 * old).max(FIRST_SLOTS);
            if !self.budget.take((new - old) * 4) {
                return false;
            }
            self.held += (new - old) * 4;
            let old_slots = std::mem::replace(&mut self.tables[shard].slots, vec![EMPTY; new]);
            for e in old_slots.into_iter().filter(|&e| e != EMPTY) {
                self.place(shard, e, self.hash_at(e as usize));
            }
        }
        true
    }

    /// Frees everything and returns its bytes to the budget.
    fn release(&mut self) {
        self.chunks = Vec::new();
        self.tables = (0..SHARDS).map(|_| Table::default()).collect();
        self.len = 0;
        self.budget.give_back(self.held);
        self.held = 0;
    }

    /// Entries held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Times the memo forgot everything to stay in budget.
    pub(crate) fn resets(&self) -> usize {
        self.resets
    }
}

impl<S> Drop for Memo<'_, S> {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

fn hash_of<S: Hash>(bits: &[u64], state: &S) -> u64 {
    let mut h = FxHasher(0);
    for &w in bits {
        h.write_u64(w);
    }
    state.hash(&mut h);
    fmix64(h.finish())
}

/// rustc's Fx hash: one multiply per word. Fast, weak on its own, so its
/// result goes through a finalizer before it picks a slot.
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_pairs_and_tells_them_apart() {
        let budget = MemoBudget::new(1 << 30);
        let mut memo: Memo<u32> = Memo::new(&budget, 2);
        assert!(memo.insert(&[1, 0], &7));
        assert!(!memo.insert(&[1, 0], &7));
        assert!(memo.insert(&[1, 0], &8), "same bits, other state");
        assert!(memo.insert(&[0, 1], &7), "same state, other bits");
        // Many entries: growth keeps every one of them.
        for i in 0..100_000u64 {
            assert!(memo.insert(&[i, i / 3], &((i % 5) as u32)));
        }
        for i in 0..100_000u64 {
            assert!(!memo.insert(&[i, i / 3], &((i % 5) as u32)));
        }
        assert_eq!(memo.len(), 100_003);
        assert_eq!(memo.resets(), 0);
    }

    #[test]
    fn stays_within_its_budget_by_forgetting() {
        // Room for about ten thousand entries of 8 + 4 + 8 bytes (and their slots).
        let budget = MemoBudget::new(200_000);
        let mut memo: Memo<u32> = Memo::new(&budget, 1);
        for i in 0..1_000_000u64 {
            memo.insert(&[i], &1);
            assert!(budget.used() <= 200_000);
        }
        assert!(memo.resets() > 0);
        assert!(memo.len() < 10_000);
        drop(memo);
        assert_eq!(budget.used(), 0, "a dropped memo gives its bytes back");
    }

    #[test]
    fn an_exhausted_budget_means_no_pruning_not_wrong_pruning() {
        let budget = MemoBudget::new(10);
        let mut memo: Memo<u32> = Memo::new(&budget, 1);
        // Nothing fits: every pair counts as new, every time.
        assert!(memo.insert(&[1], &1));
        assert!(memo.insert(&[1], &1));
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn memos_share_one_budget() {
        // Room for three memos' first chunk and table, not four.
        let first = CHUNK * (8 + 4 + 8) + FIRST_SLOTS * 4;
        let budget = MemoBudget::new(3 * first);
        let mut memos: Vec<Memo<u32>> = (0..4).map(|_| Memo::new(&budget, 1)).collect();
        for m in &mut memos[..3] {
            assert!(m.insert(&[5], &5) && !m.insert(&[5], &5));
        }
        assert_eq!(budget.used(), 3 * first);
        let d = &mut memos[3];
        assert!(d.insert(&[5], &5) && d.insert(&[5], &5), "d got no room");
        drop(memos);
        assert_eq!(budget.used(), 0);
    }
}
