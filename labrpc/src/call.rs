//! The life of one call, step by step, with the Go labrpc's constants.
//!
//! ```text
//!  send ──► dead end? ── yes ──► timer: fail after rand(100) ms (rand(7000) with long delays)
//!             │ no
//!             ▼
//!     unreliable: timer: rand(27) ms ──► deliver ──► unreliable: drop 10% ──► fail
//!                                          │
//!                      pool: run handler ◄─┘──► server dies meanwhile ──► fail
//!                            │
//!                            ▼ handler_done
//!          server died meanwhile? ──► fail      unreliable: drop reply 10% ──► fail
//!          long reordering: 2/3 of replies ──► timer: 200 + rand(1 + rand(2000)) ms ──► reply
//!          otherwise ──► reply
//! ```
//! Whichever of "reply" and "fail" comes first wins; the other is discarded,
//! so a reply from a server that died while the handler ran is never delivered.
//!
//! Go polls a running handler's server every 100 ms to see whether it died.
//! Here the network keeps a table of running handlers and fails their calls
//! at the moment a server is deleted or replaced or an end disabled
//! ([`crate::Network::delete_server`]): the same rule, applied without a poll
//! (and without the race a poll has with a test that deletes a server and
//! expects the stuck call back within 100 ms).

use crate::network::{NetInner, Route};
use crate::RpcError;
use crossbeam_channel::Sender;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// The outcome a caller receives: the reply's frame, or why there is none.
pub(crate) type Outcome = Result<Vec<u8>, RpcError>;

/// One request in flight.
pub(crate) struct Call {
    pub(crate) end: Arc<str>,
    pub(crate) svc_meth: String,
    pub(crate) args: Vec<u8>,
    reply: Mutex<Option<Sender<Outcome>>>,
}

impl Call {
    pub(crate) fn new(end: Arc<str>, svc_meth: String, args: Vec<u8>, tx: Sender<Outcome>) -> Call {
        Call {
            end,
            svc_meth,
            args,
            reply: Mutex::new(Some(tx)),
        }
    }

    /// Delivers the outcome if none was delivered yet.
    pub(crate) fn finish(&self, outcome: Outcome) {
        if let Some(tx) = self.reply.lock().take() {
            // The caller may have given up (cancelled); nobody to tell then.
            let _ = tx.send(outcome);
        }
    }
}

/// Step 1: count the request, then route it or schedule its failure.
pub(crate) fn send(net: &Arc<NetInner>, call: Arc<Call>) {
    net.add_request(payload_len(&call.args));
    if net.is_done() {
        call.finish(Err(RpcError::Shutdown));
        return;
    }
    match net.route(&call.end) {
        Ok(route) => {
            let delay = if route.reliable { 0 } else { net.rand(27) };
            let n = net.clone();
            net.after_ms(delay, Box::new(move || deliver(&n, call, route)));
        }
        Err(long_delays) => {
            // Simulate no reply and an eventual timeout.
            let ms = if long_delays {
                net.rand(7000)
            } else {
                net.rand(100)
            };
            net.after_ms(ms, Box::new(move || call.finish(Err(RpcError::Failed))));
        }
    }
}

/// Step 2: maybe lose the request; otherwise run the handler and watch the server.
fn deliver(net: &Arc<NetInner>, call: Arc<Call>, route: Route) {
    if !route.reliable && net.rand(1000) < 100 {
        call.finish(Err(RpcError::Failed));
        return;
    }
    let route = Arc::new(route);
    // Registered before the handler starts, so a server that dies from now on
    // fails this call at once (see the module docs).
    let id = net.register_running(call.clone(), route.clone());
    let n = net.clone();
    net.run_handler(Box::new(move || {
        let outcome = route.server.dispatch(&call.svc_meth, &call.args);
        n.unregister_running(id);
        handler_done(&n, &call, &route, outcome);
    }));
}

/// Step 3: the handler returned; decide whether and when the reply arrives.
fn handler_done(net: &Arc<NetInner>, call: &Arc<Call>, route: &Route, outcome: Outcome) {
    // A server that died while the handler ran must not be heard from.
    if net.is_server_dead(&call.end, route) {
        call.finish(Err(RpcError::Failed));
        return;
    }
    let reply = match outcome {
        Ok(reply) => reply,
        Err(e) => {
            call.finish(Err(e));
            return;
        }
    };
    if !route.reliable && net.rand(1000) < 100 {
        call.finish(Err(RpcError::Failed));
    } else if route.long_reordering && net.rand(900) < 600 {
        // Delay the reply: 200 ms, plus a skewed random part up to 2 s.
        let ms = 200 + net.rand(1 + net.rand(2000));
        let (n, c) = (net.clone(), call.clone());
        net.timer.after(
            Duration::from_millis(ms),
            Box::new(move || {
                n.add_reply_bytes(payload_len(&reply));
                c.finish(Ok(reply));
            }),
        );
    } else {
        net.add_reply_bytes(payload_len(&reply));
        call.finish(Ok(reply));
    }
}

/// The bytes counted for a frame: its payload, as the Go labrpc counts the
/// encoded arguments (the checksum is the wire's, not the message's).
fn payload_len(frame: &[u8]) -> usize {
    frame.len().saturating_sub(crate::checksum::FRAME_OVERHEAD)
}
