//! Client ends: the caller's side of the network.

use crate::call::{Call, Outcome};
use crate::network::NetInner;
use crate::{codec, RpcError};
use crossbeam_channel::{bounded, select, Receiver};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

/// One end of a simulated wire, as the Go `labrpc.ClientEnd`. Cheap to clone.
#[derive(Clone)]
pub struct ClientEnd {
    name: Arc<str>,
    net: Arc<NetInner>,
}

impl ClientEnd {
    pub(crate) fn new(name: String, net: Arc<NetInner>) -> ClientEnd {
        ClientEnd {
            name: name.into(),
            net,
        }
    }

    /// The end's name, as given to [`crate::Network::make_end`].
    pub fn name(&self) -> &str {
        &self.name
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
        let (tx, rx) = bounded(1);
        match codec::encode(args) {
            Ok(bytes) => {
                let call = Call::new(self.name.clone(), svc_meth.to_string(), bytes, tx);
                self.net.send(Arc::new(call));
            }
            Err(e) => {
                let _ = tx.send(Err(RpcError::BadArgs(e.message)));
            }
        }
        PendingCall {
            rx,
            svc_meth: svc_meth.to_string(),
            _reply: PhantomData,
        }
    }
}

/// A call in flight; [`PendingCall::wait`] collects its reply.
#[must_use = "a pending call does nothing unless its reply is awaited"]
pub struct PendingCall<R> {
    rx: Receiver<Outcome>,
    svc_meth: String,
    _reply: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> PendingCall<R> {
    /// Blocks until the network delivers the reply or fails the call.
    pub fn wait(self) -> Result<R, RpcError> {
        let outcome = self.rx.recv().unwrap_or(Err(RpcError::Shutdown));
        self.decode(outcome)
    }

    /// Like [`PendingCall::wait`], but gives up with [`RpcError::Cancelled`]
    /// when `cancel` receives a message or disconnects, or at `deadline`.
    /// The network still finishes the call; its reply is then discarded.
    pub fn wait_or_cancel(
        self,
        cancel: &Receiver<()>,
        deadline: Option<Instant>,
    ) -> Result<R, RpcError> {
        let far = Instant::now() + std::time::Duration::from_secs(3600);
        let outcome = select! {
            recv(self.rx) -> m => m.unwrap_or(Err(RpcError::Shutdown)),
            recv(cancel) -> _ => Err(RpcError::Cancelled),
            recv(crossbeam_channel::at(deadline.unwrap_or(far))) -> _ => Err(RpcError::Cancelled),
        };
        self.decode(outcome)
    }

    fn decode(&self, outcome: Outcome) -> Result<R, RpcError> {
        let bytes = outcome?;
        codec::decode(&bytes).map_err(|e| {
            log::error!(target: "DROP", "labrpc: reply to {}: {e}", self.svc_meth);
            RpcError::BadReply(format!("{}: {e}", self.svc_meth))
        })
    }
}
