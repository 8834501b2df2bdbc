//! The crate's one error type.

use std::fmt;

/// What can go wrong when a peer starts, or when a snapshot is handed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaftError {
    /// The persisted Raft state could not be decoded, or decodes to something
    /// Raft could never have written (a vote for a peer that does not exist, a
    /// log term from the future). Starting anyway could forget committed
    /// entries, so [`crate::Raft::make`] refuses.
    CorruptState(String),
    /// `Raft::make` was given an impossible configuration.
    BadConfig(String),
}

impl fmt::Display for RaftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftError::CorruptState(m) => write!(f, "corrupt persisted raft state: {m}"),
            RaftError::BadConfig(m) => write!(f, "bad raft configuration: {m}"),
        }
    }
}

impl std::error::Error for RaftError {}
