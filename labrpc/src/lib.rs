//! # labrpc: the 6.824 simulated network, with threads instead of goroutines
//!
//! The lab's tests run every Raft peer in one process and connect them
//! through this network, which can lose, delay and reorder messages, cut
//! peers off, and replace ("reboot") servers. Its behaviour and constants are
//! the Go `labrpc`'s; see `notes/labrpc.md` for how threads replace goroutines.
//!
//! A tour: make a network, a server with a service, an end, and call.
//!
//! ```
//! use labrpc::{Network, Server, Service};
//!
//! let net = Network::new();
//! let server = Server::new();
//! server.add_service(Service::new("Echo").method("Upper", |s: String| s.to_uppercase()));
//! net.add_server("s0", server);
//!
//! let end = net.make_end("client-to-s0");
//! net.connect("client-to-s0", "s0");
//! net.enable("client-to-s0", true);
//!
//! let reply: String = end.call("Echo.Upper", &"hello".to_string()).unwrap();
//! assert_eq!(reply, "HELLO");
//! assert_eq!(net.count("s0"), 1);
//!
//! // Unplug the end: calls now fail, as a lost message would.
//! net.enable("client-to-s0", false);
//! assert!(end.call::<_, String>("Echo.Upper", &"x".to_string()).is_err());
//! ```
//!
//! Arguments and replies cross the network encoded ([`codec`]), so a handler
//! never shares memory with its caller, as with Go's labgob, and each carries
//! a checksum ([`checksum`]) that is checked before anything decodes it.
#![deny(missing_docs)]

mod call;
pub mod checksum;
pub mod codec;
mod end;
mod error;
mod network;
mod pool;
mod server;
pub mod tcp;
mod timer;

pub use end::{ClientEnd, PendingCall};
pub use error::RpcError;
pub use network::{Network, SEED_ENV};
pub use server::{Server, Service};

/// The number of OS threads in this process (Linux: `/proc/self/status`), or
/// `None` where that cannot be read. Tests use it to prove nothing leaks.
pub fn os_thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}
