//! The key/value model: Get, Put and Append on string keys (porcupine's `KvModel`).
//!
//! Values are compared by [`Fingerprint`], not kept whole. A kv test's clerks
//! append to their keys flat out, so a value grows to hundreds of kilobytes
//! and every Get returns all of it: tens of thousands of such outputs, and a
//! search cache holding a copy of the state per step, would take gigabytes.
//! A fingerprint is 24 bytes, and an Append updates it without rebuilding the
//! string. Two different values have the same fingerprint with probability
//! about 2^-120 per comparison.

use super::{Model, Operation};
use crate::small_string::SmallString;
use std::collections::BTreeMap;

/// What a kv operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvOp {
    /// Read the key.
    #[serde(alias = "Get", alias = "GET")]
    Get,
    /// Replace the key's value.
    #[serde(alias = "Put", alias = "PUT")]
    Put,
    /// Append to the key's value.
    #[serde(alias = "Append", alias = "APPEND")]
    Append,
}

/// A kv operation's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvInput {
    /// Get, Put or Append.
    pub op: KvOp,
    /// The key (a `SmallString`: a history holds one per operation).
    pub key: SmallString,
    /// The value written (empty for Get).
    pub value: SmallString,
}

/// A kv operation's output: what a Get read (the empty value for writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvOutput {
    /// The value's fingerprint.
    pub value: Fingerprint,
    /// The value's last characters, for the visualization.
    pub tail: SmallString,
}

impl KvOutput {
    /// The output of a Get that read `value` (or of a write, with "").
    pub fn new(value: &str) -> KvOutput {
        let cut = value
            .char_indices()
            .rev()
            .nth(TAIL - 1)
            .map_or(0, |(i, _)| i);
        KvOutput {
            value: Fingerprint::of(value),
            tail: value[cut..].into(),
        }
    }
}

/// Characters of a value kept for display.
const TAIL: usize = 40;

/// A kv history's operation.
pub type KvOperation = Operation<KvInput, KvOutput>;

const P: u64 = (1 << 61) - 1; // a Mersenne prime
const BASES: [u64; 2] = [1_000_003, 911_382_323];

/// Two polynomial hashes mod 2^61 - 1 and the length of a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    h: [u64; 2],
    len: u64,
}

/// `x mod P` for `x < 2^64`. Because `2^61 = 1 (mod P)`, the bits above the
/// 61st add to the bits below: a shift, a mask and an add instead of a
/// division (a `u128 %` is a call to a slow library routine, and a kv test
/// fingerprints every byte of every value a Get read).
const fn reduce(x: u64) -> u64 {
    let x = (x & P) + (x >> 61); // below 2^61 + 8
    if x >= P {
        x - P
    } else {
        x
    }
}

/// `a * b mod P` for `a, b < P` (the product is below 2^122).
const fn mul(a: u64, b: u64) -> u64 {
    reduce_wide(a as u128 * b as u128)
}

/// `x mod P` for `x < 2^122`: its bits above the 61st are below 2^61, and
/// their sum with the low bits below 2^62.
const fn reduce_wide(x: u128) -> u64 {
    reduce((x as u64 & P) + (x >> 61) as u64)
}

/// Bytes per step of `Fingerprint::of`'s chain.
const STEP: usize = 8;

/// `B^0 ..= B^STEP` for each base.
const POWERS: [[u64; STEP + 1]; 2] = [powers(BASES[0]), powers(BASES[1])];

const fn powers(base: u64) -> [u64; STEP + 1] {
    let mut p = [1u64; STEP + 1];
    let mut i = 1;
    while i <= STEP {
        p[i] = mul(p[i - 1], base);
        i += 1;
    }
    p
}

fn pow(mut b: u64, mut e: u64) -> u64 {
    let mut r = 1;
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, b);
        }
        b = mul(b, b);
        e >>= 1;
    }
    r
}

impl Fingerprint {
    /// The fingerprint of `s`: for each hash, `h = h * B + byte + 1` over the
    /// bytes, mod P. Computed eight bytes per step of that chain, which gives
    /// the same number: `h * B^8` plus the eight bytes' own polynomial, whose
    /// products do not wait on each other (a kv test fingerprints every byte
    /// of every value a Get read, so this is the harness's largest cost).
    pub fn of(s: &str) -> Fingerprint {
        let mut h = [0u64; 2];
        let mut chunks = s.as_bytes().chunks_exact(STEP);
        for chunk in &mut chunks {
            for (k, hk) in h.iter_mut().enumerate() {
                let powers = &POWERS[k];
                // Each term is below 2^8 * 2^61, so the eight add up below 2^72.
                let mut own: u128 = 0;
                for (j, &byte) in chunk.iter().enumerate() {
                    own += (byte as u128 + 1) * powers[STEP - 1 - j] as u128;
                }
                *hk = reduce(mul(*hk, powers[STEP]) + reduce_wide(own));
            }
        }
        for &byte in chunks.remainder() {
            for (k, hk) in h.iter_mut().enumerate() {
                *hk = reduce(mul(*hk, BASES[k]) + byte as u64 + 1);
            }
        }
        Fingerprint {
            h,
            len: s.len() as u64,
        }
    }

    /// The fingerprint of the concatenation of the strings behind `self` and `other`.
    pub fn concat(&self, other: &Fingerprint) -> Fingerprint {
        let mut h = [0u64; 2];
        for (k, hk) in h.iter_mut().enumerate() {
            *hk = reduce(mul(self.h[k], pow(BASES[k], other.len)) + other.h[k]);
        }
        Fingerprint {
            h,
            len: self.len + other.len,
        }
    }
}

/// The sequential kv store. Keys are independent, so the history is checked
/// key by key (porcupine's partitioning); the state is one key's value.
pub struct KvModel;

impl Model for KvModel {
    type State = Fingerprint;
    type Input = KvInput;
    type Output = KvOutput;

    fn partition(&self, history: &[KvOperation]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            by_key.entry(op.input.key.as_str()).or_default().push(i);
        }
        by_key.into_values().collect()
    }

    fn init(&self) -> Fingerprint {
        // A key never written reads as "" (the lab's Get returns "" for ErrNoKey).
        Fingerprint::default()
    }

    fn step(&self, state: &Fingerprint, input: &KvInput, output: &KvOutput) -> Option<Fingerprint> {
        match input.op {
            KvOp::Get => (output.value == *state).then_some(*state),
            KvOp::Put => Some(Fingerprint::of(&input.value)),
            KvOp::Append => Some(state.concat(&Fingerprint::of(&input.value))),
        }
    }

    fn describe_operation(&self, input: &KvInput, output: &KvOutput) -> String {
        match input.op {
            KvOp::Get if output.value.len as usize > output.tail.len() => {
                format!(
                    "get('{}') -> '...{}' ({} bytes)",
                    input.key, output.tail, output.value.len
                )
            }
            KvOp::Get => format!("get('{}') -> '{}'", input.key, output.tail),
            KvOp::Put => format!("put('{}', '{}')", input.key, input.value),
            KvOp::Append => format!("append('{}', '{}')", input.key, input.value),
        }
    }

    fn describe_input(&self, input: &KvInput) -> String {
        match input.op {
            KvOp::Get => format!("get('{}')", input.key),
            KvOp::Put => format!("put('{}', '{}')", input.key, input.value),
            KvOp::Append => format!("append('{}', '{}')", input.key, input.value),
        }
    }

    fn describe_output(&self, output: &KvOutput) -> String {
        if output.value.len as usize > output.tail.len() {
            format!("'...{}' ({} bytes)", output.tail, output.value.len)
        } else {
            format!("'{}'", output.tail)
        }
    }

    fn describe_partition(&self, history: &[KvOperation], ops: &[usize]) -> String {
        ops.first()
            .map_or_else(String::new, |&i| format!("key '{}'", history[i].input.key))
    }

    fn describe_state(&self, state: &Fingerprint) -> String {
        format!("a value of {} bytes", state.len)
    }

    /// Replays the run on the value's last characters (enough to show), not
    /// on fingerprints, so the page can say what the value ended with.
    fn describe_run(&self, run: &[&KvOperation]) -> Vec<String> {
        let mut tail = String::new();
        let mut len = 0u64;
        run.iter()
            .map(|op| {
                match op.input.op {
                    KvOp::Get => {
                        tail.replace_range(.., &op.output.tail);
                        len = op.output.value.len;
                    }
                    KvOp::Put => {
                        tail.replace_range(.., &op.input.value);
                        len = op.input.value.len() as u64;
                    }
                    KvOp::Append => {
                        tail.push_str(&op.input.value);
                        len += op.input.value.len() as u64;
                    }
                }
                let cut = tail
                    .char_indices()
                    .rev()
                    .nth(TAIL - 1)
                    .map_or(0, |(i, _)| i);
                tail.drain(..cut);
                if len as usize > tail.len() {
                    format!("'...{tail}' ({len} bytes)")
                } else {
                    format!("'{tail}'")
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compose_like_strings() {
        let (a, b) = ("x 0 1 y", "x 1 7 y");
        assert_eq!(
            Fingerprint::of(a).concat(&Fingerprint::of(b)),
            Fingerprint::of(&format!("{a}{b}"))
        );
        assert_eq!(Fingerprint::default(), Fingerprint::of(""));
        assert_ne!(Fingerprint::of("ab"), Fingerprint::of("ba"));
        assert_ne!(Fingerprint::of("a"), Fingerprint::of("a\\0"));
        assert_eq!(KvOutput::new(&"z".repeat(100)).tail.len(), 40);
    }

    /// The definition, a byte at a time.
    fn of_bytewise(s: &str) -> [u64; 2] {
        let mut h = [0u64; 2];
        for &byte in s.as_bytes() {
            for k in 0..2 {
                h[k] = ((h[k] as u128 * BASES[k] as u128 + byte as u128 + 1) % P as u128) as u64;
            }
        }
        h
    }

    #[test]
    fn eight_bytes_a_step_is_the_definition() {
        let text: String = (0..300u32)
            .map(|i| char::from_u32(0x20 + (i * 7919) % 0x3000).unwrap_or('x'))
            .collect();
        for end in 0..text.len() {
            if let Some(prefix) = text.get(..end) {
                assert_eq!(
                    Fingerprint::of(prefix).h,
                    of_bytewise(prefix),
                    "{end} bytes"
                );
            }
        }
        let all_ff = "\u{10ffff}".repeat(50); // the largest bytes UTF-8 has
        assert_eq!(Fingerprint::of(&all_ff).h, of_bytewise(&all_ff));
    }

    #[test]
    fn the_mersenne_reduction_is_the_remainder() {
        // Against the plain `%`, at the edges and on a spread of values.
        let mut edges = vec![0, 1, P - 1, P - 2, 1 << 60, BASES[0], BASES[1]];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            edges.push(x % P);
        }
        for &a in &edges {
            for &b in edges.iter().take(200) {
                assert_eq!(mul(a, b) as u128, a as u128 * b as u128 % P as u128);
                assert_eq!(reduce(a + b), (a + b) % P);
            }
        }
        for x in [P, P + 1, 2 * P, u64::MAX, u64::MAX - 1, 1 << 63] {
            assert_eq!(reduce(x), x % P);
        }
    }
}
