//! The one place where values become bytes and bytes become values.
//!
//! Go's labgob sits between callers and handlers so that they can never share
//! memory; here serde + bincode 1.3 play that part. Every encode and decode in
//! the project goes through this module, so the options (and the decode size
//! limit that keeps a corrupt length prefix from allocating gigabytes) are
//! the same on both sides.

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// The largest value (in encoded bytes) that [`encode`] writes or [`decode`] accepts.
pub const MAX_ENCODED_LEN: u64 = 64 << 20;

/// A value could not be encoded, or bytes could not be decoded as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    /// What went wrong, in words, including the type that was being decoded.
    pub message: String,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

fn options() -> impl Options {
    // Varint integers, little-endian, a size limit, and no trailing bytes allowed:
    // a payload that decodes must be exactly one value of the type.
    bincode::DefaultOptions::new()
        .with_limit(MAX_ENCODED_LEN)
        .reject_trailing_bytes()
}

/// Encodes `value` to bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    options().serialize(value).map_err(|e| CodecError {
        message: format!("encode {}: {e}", std::any::type_name::<T>()),
    })
}

/// Encodes `value` to the end of `buf` (the same bytes [`encode`] returns),
/// for a caller that lays several encodings end to end in one buffer. On an
/// error `buf` may hold part of the encoding after its old end.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
    options()
        .serialize_into(buf, value)
        .map_err(|e| CodecError {
            message: format!("encode {}: {e}", std::any::type_name::<T>()),
        })
}

/// Decodes bytes produced by [`encode`] as a `T`; any mismatch is an error, never a panic.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    options().deserialize(bytes).map_err(|e| CodecError {
        message: format!(
            "decode {} from {} bytes: {e}",
            std::any::type_name::<T>(),
            bytes.len()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let v = (7u64, String::from("x"), vec![1i32, -2]);
        let b = encode(&v).unwrap();
        assert_eq!(decode::<(u64, String, Vec<i32>)>(&b).unwrap(), v);
        // Truncated input and trailing garbage are both errors.
        assert!(decode::<(u64, String, Vec<i32>)>(&b[..b.len() - 1]).is_err());
        let mut longer = b.clone();
        longer.push(0);
        assert!(decode::<(u64, String, Vec<i32>)>(&longer).is_err());
        // A huge length prefix is refused by the limit, not allocated.
        let huge = encode(&u64::MAX).unwrap();
        assert!(decode::<Vec<u8>>(&huge).is_err());
    }
}
