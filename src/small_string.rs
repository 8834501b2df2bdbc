//! `SmallString`: a string that keeps up to 22 bytes inside itself.
//!
//! Why it exists: a kv operation's key and value are a few bytes ("k",
//! "x 3 17 y"), and an operation sits, decoded, in the log of every server.
//! As `String`s, each is a heap allocation that the allocator rounds up to 32
//! bytes, two per operation per server: on `concurrent_3a` (five servers, no
//! snapshots) about 320 bytes of each operation's 1.3 KB. A `SmallString` is
//! the size of a `String` (24 bytes) and holds a short text in those bytes,
//! so a short key or value costs no allocation; a longer one is a boxed
//! `str`, exactly its length.
//!
//! It reads as a `&str` (`Deref`, `Borrow<str>`, `as_str`), compares and
//! hashes as one (so a `HashMap<String, _>` can be looked up with it), and
//! crosses the codec exactly as a `String` does: the same bytes on the wire
//! and on disk, so changing a field from `String` to `SmallString` changes
//! no encoded byte.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// How many bytes a `SmallString` holds without allocating.
pub const INLINE_CAPACITY: usize = 22;

/// A string stored inline when it is at most [`INLINE_CAPACITY`] bytes long,
/// boxed otherwise. See the module's documentation for why.
#[derive(Clone)]
pub struct SmallString(Repr);

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]` is the text: always a whole UTF-8 string, copied from a
    /// `str`, so cutting at `len` never splits a character.
    Inline {
        len: u8,
        bytes: [u8; INLINE_CAPACITY],
    },
    Heap(Box<str>),
}

impl SmallString {
    /// The empty string.
    pub const fn new() -> SmallString {
        SmallString(Repr::Inline {
            len: 0,
            bytes: [0; INLINE_CAPACITY],
        })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => std::str::from_utf8(&bytes[..*len as usize])
                .expect("inline bytes are always copied whole from a str"),
            Repr::Heap(s) => s,
        }
    }

    /// Whether the text is held inline (no heap allocation).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The text as a `String` (moves a boxed text, copies an inline one).
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Inline { .. } => self.as_str().to_owned(),
            Repr::Heap(s) => s.into_string(),
        }
    }

    fn inline(s: &str) -> Option<SmallString> {
        let len = s.len();
        if len > INLINE_CAPACITY {
            return None;
        }
        let mut bytes = [0; INLINE_CAPACITY];
        bytes[..len].copy_from_slice(s.as_bytes());
        Some(SmallString(Repr::Inline {
            len: len as u8,
            bytes,
        }))
    }
}

impl Default for SmallString {
    fn default() -> SmallString {
        SmallString::new()
    }
}

impl From<&str> for SmallString {
    fn from(s: &str) -> SmallString {
        SmallString::inline(s).unwrap_or_else(|| SmallString(Repr::Heap(s.into())))
    }
}

impl From<String> for SmallString {
    /// A long `String` becomes the box in its own allocation, shrunk to its
    /// length (which may move it, if it had spare capacity).
    fn from(s: String) -> SmallString {
        SmallString::inline(&s).unwrap_or_else(|| SmallString(Repr::Heap(s.into_boxed_str())))
    }
}

impl From<SmallString> for String {
    fn from(s: SmallString) -> String {
        s.into_string()
    }
}

impl Deref for SmallString {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SmallString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SmallString {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SmallString {
    fn eq(&self, other: &SmallString) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SmallString {}

impl PartialEq<str> for SmallString {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SmallString {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for SmallString {
    fn partial_cmp(&self, other: &SmallString) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallString {
    fn cmp(&self, other: &SmallString) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SmallString {
    /// As a `str` hashes, so that `Borrow<str>` lookups find it.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for SmallString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SmallString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl Serialize for SmallString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SmallString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SmallString, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = SmallString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SmallString, E> {
                Ok(SmallString::from(s))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<SmallString, E> {
                Ok(SmallString::from(s))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn is_the_size_of_a_string() {
        assert_eq!(
            std::mem::size_of::<SmallString>(),
            std::mem::size_of::<String>()
        );
    }

    #[test]
    fn short_texts_are_inline_and_long_ones_boxed() {
        for len in [0, 1, 8, INLINE_CAPACITY, INLINE_CAPACITY + 1, 100] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(text.len(), len);
            for s in [
                SmallString::from(text.as_str()),
                SmallString::from(text.clone()),
            ] {
                assert_eq!(s.as_str(), text);
                assert_eq!(s.is_inline(), len <= INLINE_CAPACITY, "length {len}");
                assert_eq!(s.clone().into_string(), text);
            }
        }
    }

    #[test]
    fn compares_and_hashes_as_its_text() {
        let mut map: HashMap<String, u32> = HashMap::new();
        map.insert("key".to_string(), 1);
        let key = SmallString::from("key");
        assert_eq!(map.get(key.as_str()), Some(&1));
        let mut set = std::collections::HashSet::new();
        set.insert(SmallString::from("a".repeat(40)));
        assert!(set.contains("a".repeat(40).as_str()));
        let (short, long) = (SmallString::from("a"), SmallString::from("b".repeat(30)));
        assert!(short < long && short.as_str() < long.as_str());
        assert_eq!(SmallString::from("x"), "x");
        assert_eq!(format!("{:?} {}", key, key), "\"key\" key");
    }

    #[test]
    fn encodes_exactly_as_a_string_does() {
        for text in ["", "k", "x 4 1017 y", &"long value ".repeat(10)] {
            let as_string = labrpc::codec::encode(&text.to_string()).unwrap();
            let as_small = labrpc::codec::encode(&SmallString::from(text)).unwrap();
            assert_eq!(as_string, as_small);
            let back: SmallString = labrpc::codec::decode(&as_string).unwrap();
            assert_eq!(back, text);
        }
        // Bytes that are not UTF-8 are refused, as for a String.
        let mut bad = labrpc::codec::encode(&"ab".to_string()).unwrap();
        let n = bad.len();
        bad[n - 1] = 0xff;
        assert!(labrpc::codec::decode::<SmallString>(&bad).is_err());
    }
}
