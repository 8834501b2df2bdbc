//! Why a call failed.

use std::fmt;

/// Why [`crate::ClientEnd::call`] returned no reply.
///
/// The Go labrpc returns only `false`; a Raft peer must treat every variant
/// the same way (the call failed, maybe the server never saw it). The variants
/// exist so that a student reading a log can tell a dropped packet from a typo
/// in a method name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RpcError {
    /// The network lost the request or the reply, or the server was
    /// disconnected, deleted or replaced while the call was in flight.
    Failed,
    /// No service or method of that name on the server.
    UnknownMethod(String),
    /// The server could not decode the arguments as its handler's type.
    BadArgs(String),
    /// The reply did not decode as the caller's reply type.
    BadReply(String),
    /// The request or the reply failed its checksum: it changed on the way
    /// (see [`crate::checksum`]). Nothing decoded it.
    Corrupt(String),
    /// The network has been cleaned up.
    Shutdown,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Failed => f.write_str("call failed (lost, or server unreachable)"),
            RpcError::UnknownMethod(m) => write!(f, "unknown method {m}"),
            RpcError::BadArgs(m) => write!(f, "bad arguments: {m}"),
            RpcError::BadReply(m) => write!(f, "bad reply: {m}"),
            RpcError::Corrupt(m) => write!(f, "corrupt message: {m}"),
            RpcError::Shutdown => f.write_str("network shut down"),
        }
    }
}

impl std::error::Error for RpcError {}
