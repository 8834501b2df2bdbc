//! The same calls over real TCP connections, between processes.
//!
//! A [`TcpServer`] serves a [`crate::Server`]'s services (the same
//! `Service` handlers the simulated network dispatches to) on a socket; a
//! [`crate::ClientEnd::tcp`] calls them by `"Service.Method"` with the same
//! argument and reply types, and returns the same [`crate::RpcError`]s. What the
//! simulated network decides by dice, a real one does by itself: a server
//! that is down fails the call at connect time, one that never answers fails
//! it after [`client::CALL_TIMEOUT`], a broken connection fails every call
//! waiting on it. Threads, not an async runtime: one per connection to read,
//! one per request to run its handler.
//!
//! Frames ([`frame`]): a length checked against a limit before anything is
//! allocated, an encoded envelope, its CRC-32C. A bad frame ends its
//! connection (with a log line), never the process.

pub mod client;
pub mod frame;
mod server;

pub(crate) use client::TcpEnd;
pub use server::TcpServer;
