//! How a message crosses a TCP connection: a length-prefixed, checksummed
//! envelope.
//!
//! ```text
//!  magic "LRPC" (4) | length, u32 LE (4) | envelope (length bytes) | crc32c(envelope), u32 LE (4)
//! ```
//!
//! The length is checked against [`MAX_ENVELOPE`] before anything is
//! allocated for it, so a garbled or hostile length costs an error, not
//! gigabytes; the checksum is checked before the envelope is decoded. Any
//! failure is an [`io::Error`] that ends the connection: after a bad frame
//! the reader no longer knows where the next one starts.

use crate::{checksum, codec, RpcError};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// The bytes that start every frame.
const MAGIC: &[u8; 4] = b"LRPC";

/// The largest envelope accepted: the codec's limit on a value, plus room
/// for the envelope's own fields.
pub const MAX_ENVELOPE: usize = codec::MAX_ENCODED_LEN as usize + 4096;

/// What one frame carries.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) enum Envelope {
    /// A call: its number on this connection, `"Service.Method"`, and the
    /// request exactly as the simulated network carries it (the encoded
    /// arguments and their CRC, see [`crate::checksum::seal`]).
    Request {
        id: u64,
        svc_meth: String,
        frame: Vec<u8>,
    },
    /// The answer to the request numbered `id`: the reply's frame, or why
    /// the server could not give one.
    Reply {
        id: u64,
        outcome: Result<Vec<u8>, RpcError>,
    },
}

/// Writes `envelope` as one frame.
pub(crate) fn write(out: &mut impl Write, envelope: &Envelope) -> io::Result<()> {
    let body = codec::encode(envelope).map_err(|e| invalid(e.message))?;
    if body.len() > MAX_ENVELOPE {
        return Err(invalid(format!(
            "a {}-byte message is over the limit",
            body.len()
        )));
    }
    let mut frame = Vec::with_capacity(body.len() + 12);
    frame.extend_from_slice(MAGIC);
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&checksum::crc32c(&body).to_le_bytes());
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one frame. `Ok(None)`: the peer closed the connection between frames.
pub(crate) fn read(input: &mut impl Read) -> io::Result<Option<Envelope>> {
    let mut head = [0u8; 8];
    match input.read_exact(&mut head[..1]) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        r => r?,
    }
    input.read_exact(&mut head[1..])?;
    if &head[..4] != MAGIC {
        return Err(invalid(format!(
            "not a labrpc frame (starts {:02x?})",
            &head[..4]
        )));
    }
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if len > MAX_ENVELOPE {
        return Err(invalid(format!(
            "frame of {len} bytes is over the {MAX_ENVELOPE}-byte limit"
        )));
    }
    let mut body = vec![0u8; len + 4];
    input.read_exact(&mut body)?;
    let (body, tail) = body.split_at(len);
    let want = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let got = checksum::crc32c(body);
    if got != want {
        return Err(invalid(format!(
            "frame checksum mismatch over {len} bytes (sent {want:08x}, received {got:08x})"
        )));
    }
    codec::decode(body)
        .map(Some)
        .map_err(|e| invalid(e.message))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn frame_of(e: &Envelope) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, e).unwrap();
        out
    }

    fn samples() -> Vec<Envelope> {
        vec![
            Envelope::Request {
                id: 7,
                svc_meth: "Raft.AppendEntries".into(),
                frame: checksum::seal(vec![1, 2, 3]),
            },
            Envelope::Reply {
                id: 7,
                outcome: Ok(checksum::seal(vec![9; 300])),
            },
            Envelope::Reply {
                id: u64::MAX,
                outcome: Err(RpcError::UnknownMethod("Raft.Nope".into())),
            },
        ]
    }

    #[test]
    fn frames_round_trip_back_to_back() {
        let mut stream = Vec::new();
        for e in samples() {
            write(&mut stream, &e).unwrap();
        }
        let mut input = &stream[..];
        for e in samples() {
            assert_eq!(read(&mut input).unwrap(), Some(e));
        }
        assert_eq!(
            read(&mut input).unwrap(),
            None,
            "a clean end between frames"
        );
    }

    #[test]
    fn every_truncation_and_flipped_bit_is_an_error() {
        for e in samples() {
            let frame = frame_of(&e);
            for cut in 1..frame.len() {
                assert!(read(&mut &frame[..cut]).is_err(), "cut at {cut}");
            }
            for bit in 0..frame.len() * 8 {
                let mut bad = frame.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(read(&mut &bad[..]).is_err(), "bit {bit}");
            }
        }
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        let mut frame = MAGIC.to_vec();
        frame.extend_from_slice(&u32::MAX.to_le_bytes());
        let e = read(&mut &frame[..]).unwrap_err();
        assert!(e.to_string().contains("over the"), "{e}");
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = StdRng::seed_from_u64(6824);
        let valid = frame_of(&samples()[0]);
        for _ in 0..20_000 {
            let mut bytes: Vec<u8> = if rng.random_bool(0.5) {
                valid.clone()
            } else {
                let n = rng.random_range(0..64);
                (0..n).map(|_| rng.random()).collect()
            };
            for _ in 0..rng.random_range(0..4) {
                if !bytes.is_empty() {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] = rng.random();
                }
            }
            let _ = read(&mut &bytes[..]);
        }
    }
}
