//! Client ends: the caller's side of the network.

use crate::call::{Call, Outcome};
use crate::network::NetInner;
use crate::tcp::TcpEnd;
use crate::{checksum, codec, RpcError};
use crossbeam_channel::{bounded, select, Receiver, RecvTimeoutError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// One end of a wire, as the Go `labrpc.ClientEnd`. Cheap to clone.
///
/// Usually an end of the simulated network ([`crate::Network::make_end`]);
/// [`ClientEnd::tcp`] makes one backed by a TCP connection to another
/// process instead, with the same calls, replies and errors, so Raft and
/// the services run over either without a change.
#[derive(Clone)]
pub struct ClientEnd {
    name: Arc<str>,
    wire: Wire,
}

#[derive(Clone)]
enum Wire {
    Simulated(Arc<NetInner>),
    Tcp(TcpEnd),
}

impl ClientEnd {
    pub(crate) fn new(name: String, net: Arc<NetInner>) -> ClientEnd {
        ClientEnd {
            name: name.into(),
            wire: Wire::Simulated(net),
        }
    }

    /// An end that calls the [`crate::tcp::TcpServer`] at `addr`; its name
    /// is the address.
    pub fn tcp(addr: SocketAddr) -> ClientEnd {
        ClientEnd {
            name: addr.to_string().into(),
            wire: Wire::Tcp(TcpEnd::new(addr)),
        }
    }

    /// The end's name, as given to [`crate::Network::make_end`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A seed for randomness outside the network that replaying the network's
    /// seed should repeat (Raft's election timeouts): the n-th call on a
    /// network returns the same number whenever the network's seed is the
    /// same, and every call a different one. So a test that makes its peers
    /// in the same order replays their timeouts along with the network's
    /// drops and delays.
    /// (An end over TCP has no network seed: its seeds are random.)
    pub fn derive_seed(&self) -> u64 {
        match &self.wire {
            Wire::Simulated(net) => net.derive_seed(),
            Wire::Tcp(_) => rand::random(),
        }
    }

    /// Sends a request and blocks until the network delivers the reply or
    /// decides the call failed (Go `end.Call(svcMeth, &args, &reply)`).
    pub fn call<A: Serialize, R: DeserializeOwned>(
        &self,
        svc_meth: &str,
        args: &A,
    ) -> Result<R, RpcError> {
        self.call_async(svc_meth, args).wait()
    }

    /// Sends a request without waiting: the reply is collected later from the
    /// returned [`PendingCall`]. No thread waits for it meanwhile.
    pub fn call_async<A: Serialize, R: DeserializeOwned>(
        &self,
        svc_meth: &str,
        args: &A,
    ) -> PendingCall<R> {
        match codec::encode(args) {
            Ok(bytes) => self.send_frame(svc_meth, checksum::seal(bytes)),
            Err(e) => {
                let (tx, rx) = bounded(1);
                let _ = tx.send(Err(RpcError::BadArgs(e.message)));
                PendingCall::new(rx, svc_meth, None)
            }
        }
    }

    /// Sends `frame` exactly as given, as if the wire had delivered these
    /// bytes, and waits for the reply's payload (checksum checked, not
    /// decoded). For tests that feed servers garbled or hand-made messages;
    /// [`checksum::seal`] makes a frame that passes the checksum.
    pub fn call_raw(&self, svc_meth: &str, frame: Vec<u8>) -> Result<Vec<u8>, RpcError> {
        let pending: PendingCall<Vec<u8>> = self.send_frame(svc_meth, frame);
        let outcome = pending.outcome()?;
        checksum::open(&outcome)
            .map(|p| p.to_vec())
            .map_err(|e| RpcError::Corrupt(format!("reply to {svc_meth}: {e}")))
    }

    fn send_frame<R>(&self, svc_meth: &str, frame: Vec<u8>) -> PendingCall<R> {
        let net = match &self.wire {
            Wire::Simulated(net) => net,
            Wire::Tcp(end) => return end.send_frame(svc_meth, frame),
        };
        let (tx, rx) = bounded(1);
        let call = Call::new(self.name.clone(), svc_meth.to_string(), frame, tx);
        net.send(Arc::new(call));
        PendingCall::new(rx, svc_meth, None)
    }
}

/// A call in flight; [`PendingCall::wait`] collects its reply.
#[must_use = "a pending call does nothing unless its reply is awaited"]
pub struct PendingCall<R> {
    rx: Receiver<Outcome>,
    svc_meth: String,
    /// When the call fails by itself, if it does: a call over TCP to a
    /// server that never answers (paused, cut off) would otherwise wait
    /// forever. The simulated network fails its calls itself.
    expires: Option<Instant>,
    _reply: PhantomData<fn() -> R>,
}

impl<R> PendingCall<R> {
    /// A call whose outcome (the reply's frame, or why there is none) will
    /// arrive on `rx`, failing with [`RpcError::Failed`] at `expires` if
    /// nothing has by then.
    pub(crate) fn new(
        rx: Receiver<Outcome>,
        svc_meth: &str,
        expires: Option<Instant>,
    ) -> PendingCall<R> {
        PendingCall {
            rx,
            svc_meth: svc_meth.to_string(),
            expires,
            _reply: PhantomData,
        }
    }

    /// Waits for the outcome, or for the call to expire.
    fn outcome(&self) -> Outcome {
        match self.expires {
            None => self.rx.recv().unwrap_or(Err(RpcError::Shutdown)),
            Some(t) => match self.rx.recv_deadline(t) {
                Ok(outcome) => outcome,
                Err(RecvTimeoutError::Timeout) => Err(RpcError::Failed),
                Err(RecvTimeoutError::Disconnected) => Err(RpcError::Shutdown),
            },
        }
    }
}

impl<R: DeserializeOwned> PendingCall<R> {
    /// Blocks until the network delivers the reply or fails the call.
    pub fn wait(self) -> Result<R, RpcError> {
        let outcome = self.outcome();
        self.decode(outcome)
    }

    /// Waits until the reply (or failure) arrives, `cancel` receives a message
    /// or disconnects, or `deadline` passes. `None` means no outcome yet: the
    /// call is still in the network and may be asked again later (see
    /// [`PendingCall::try_result`]), or dropped, which discards its reply.
    /// Once this returns `Some`, the call is spent.
    pub fn wait_deadline(
        &self,
        cancel: &Receiver<()>,
        deadline: Instant,
    ) -> Option<Result<R, RpcError>> {
        // A call that expires before `deadline` fails then.
        let expires_first = self.expires.filter(|&t| t <= deadline);
        let until = expires_first.unwrap_or(deadline);
        select! {
            recv(self.rx) -> m => Some(self.decode(m.unwrap_or(Err(RpcError::Shutdown)))),
            recv(cancel) -> _ => None,
            default(until.saturating_duration_since(Instant::now())) => {
                expires_first.map(|_| Err(RpcError::Failed))
            }
        }
    }

    /// The outcome if it has arrived, without waiting.
    pub fn try_result(&self) -> Option<Result<R, RpcError>> {
        match self.rx.try_recv() {
            Ok(outcome) => Some(self.decode(outcome)),
            Err(crossbeam_channel::TryRecvError::Empty) => self
                .expires
                .filter(|&t| t <= Instant::now())
                .map(|_| Err(RpcError::Failed)),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Some(Err(RpcError::Shutdown)),
        }
    }

    fn decode(&self, outcome: Outcome) -> Result<R, RpcError> {
        let frame = outcome?;
        let bytes = checksum::open(&frame).map_err(|e| {
            log::error!(target: "DROP", "labrpc: reply to {}: {e}", self.svc_meth);
            RpcError::Corrupt(format!("reply to {}: {e}", self.svc_meth))
        })?;
        codec::decode(bytes).map_err(|e| {
            log::error!(target: "DROP", "labrpc: reply to {}: {e}", self.svc_meth);
            RpcError::BadReply(format!("{}: {e}", self.svc_meth))
        })
    }
}
