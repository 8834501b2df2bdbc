//! Servers and services: where a `"Service.Method"` request finds its handler.
//!
//! Go's `labrpc.MakeService(rf)` finds the methods by reflection. Rust has no
//! reflection, so a [`Service`] is built by naming each method and giving a
//! typed closure; the closure is wrapped so that it takes and returns bytes.

use crate::RpcError;
use crate::{checksum, codec};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

type Handler = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, RpcError> + Send + Sync>;

/// A named set of methods, like a Go type whose exported methods are RPC handlers.
pub struct Service {
    name: String,
    methods: HashMap<String, Handler>,
}

impl Service {
    /// An empty service; requests for `"<name>.<Method>"` come here.
    pub fn new(name: &str) -> Service {
        Service {
            name: name.to_string(),
            methods: HashMap::new(),
        }
    }

    /// Registers `handler` as `"<service>.<method>"`. Arguments arrive decoded as
    /// `A`; the returned `R` is encoded and sent back as the reply.
    pub fn method<A, R, F>(self, method: &str, handler: F) -> Service
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.method_or_fail(method, move |args| Some(handler(args)))
    }

    /// Like [`Service::method`], for a handler that may have nobody to answer
    /// for (the object it serves is gone): `None` fails the call with
    /// [`RpcError::Failed`], as a server that is gone does. A made-up reply
    /// instead would be acted on by the caller as if someone had said it.
    pub fn method_or_fail<A, R, F>(mut self, method: &str, handler: F) -> Service
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> Option<R> + Send + Sync + 'static,
    {
        let full = format!("{}.{}", self.name, method);
        let wrapped = move |bytes: &[u8]| -> Result<Vec<u8>, RpcError> {
            let args: A = codec::decode(bytes).map_err(|e| {
                log::error!(target: "DROP", "labrpc: {full}: {e}");
                RpcError::BadArgs(format!("{full}: {e}"))
            })?;
            let reply = handler(args).ok_or(RpcError::Failed)?;
            codec::encode(&reply).map_err(|e| RpcError::BadReply(e.message))
        };
        self.methods.insert(method.to_string(), Box::new(wrapped));
        self
    }

    /// The service's name, the part before the dot.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A server: a set of services reachable at one name on the [`crate::Network`].
///
/// Replacing a server (adding a new `Server` under the same name) is how the
/// tests model a reboot: calls that were running in the old one fail.
#[derive(Default)]
pub struct Server {
    services: Mutex<HashMap<String, Arc<Service>>>,
    count: AtomicU64,
    reported: Mutex<HashSet<String>>,
}

impl Server {
    /// A server with no services yet.
    pub fn new() -> Arc<Server> {
        Arc::new(Server::default())
    }

    /// Makes `service`'s methods callable on this server.
    pub fn add_service(&self, service: Service) {
        self.services
            .lock()
            .insert(service.name.clone(), Arc::new(service));
    }

    /// How many requests were delivered to this server.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Runs the handler for `svc_meth` (e.g. `"Raft.AppendEntries"`) on the
    /// request frame `frame`; returns the reply's frame.
    pub(crate) fn dispatch(&self, svc_meth: &str, frame: &[u8]) -> Result<Vec<u8>, RpcError> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let args = checksum::open(frame).map_err(|e| {
            log::error!(target: "DROP", "labrpc: request {svc_meth}: {e}");
            RpcError::Corrupt(format!("request {svc_meth}: {e}"))
        })?;
        let (svc_name, meth) = svc_meth.split_once('.').unwrap_or((svc_meth, ""));
        let service = self.services.lock().get(svc_name).cloned();
        match service.as_ref().and_then(|s| s.methods.get(meth)) {
            Some(handler) => handler(args).map(checksum::seal),
            None => {
                // Log each unknown name once per server: a typo in a method name
                // would otherwise flood the log at every heartbeat.
                if self.reported.lock().insert(svc_meth.to_string()) {
                    let known: Vec<String> = self.services.lock().keys().cloned().collect();
                    log::error!(
                        target: "DROP",
                        "labrpc: unknown method {svc_meth:?} (services here: {known:?})"
                    );
                }
                Err(RpcError::UnknownMethod(svc_meth.to_string()))
            }
        }
    }
}
