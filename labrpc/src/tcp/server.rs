//! The server side: accept connections, run each request's handler, answer.

use super::frame::{self, Envelope};
use crate::{RpcError, Server};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::{self, BufReader, BufWriter};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Requests of one connection whose handlers may run at once; past this a
/// request is answered `Failed` at once (a server that is swamped).
const MAX_RUNNING_PER_CONNECTION: usize = 256;

/// How long writing a reply may take before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Server`]'s services, reachable over TCP.
///
/// One thread accepts connections; each connection has a thread that reads
/// its requests, and each request runs its handler on a thread of its own
/// (a kv handler waits for its command to commit, so one slow request must
/// not hold up the next). Replies go back on the same connection, tagged
/// with the request's number, in whatever order the handlers finish.
pub struct TcpServer {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    /// Every open connection, so that `stop` can close them.
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl TcpServer {
    /// Listens on `bind` (e.g. `"127.0.0.1:0"`: a port the OS picks; see
    /// [`TcpServer::addr`]) and serves `server`'s services there.
    pub fn start(bind: &str, server: Arc<Server>) -> io::Result<TcpServer> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(HashMap::new()));
        let acceptor = {
            let (stopping, conns) = (stopping.clone(), conns.clone());
            thread::Builder::new()
                .name(format!("labrpc-tcp-accept-{}", addr.port()))
                .spawn(move || accept_loop(listener, server, stopping, conns))?
        };
        Ok(TcpServer {
            addr,
            stopping,
            conns,
            acceptor: Some(acceptor),
        })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection (their callers' calls fail),
    /// and returns once the accepting thread has ended. Handlers still
    /// running finish on their own; their replies have nowhere to go.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocked accept() with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        for (_, c) in self.conns.lock().drain() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        if self.acceptor.is_some() {
            self.shut();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    server: Arc<Server>,
    stopping: Arc<AtomicBool>,
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
) {
    let mut next = 0u64;
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(kept) = stream.try_clone() else {
            continue;
        };
        next += 1;
        let id = next;
        conns.lock().insert(id, kept);
        let (server, conns) = (server.clone(), conns.clone());
        let spawned = thread::Builder::new()
            .name("labrpc-tcp-conn".into())
            .spawn(move || {
                if let Err(e) = serve(stream, &server) {
                    log::warn!(target: "DROP", "labrpc tcp: connection closed: {e}");
                }
                conns.lock().remove(&id);
            });
        if spawned.is_err() {
            log::error!(target: "DROP", "labrpc tcp: no thread for a new connection");
        }
    }
}

/// Reads requests until the peer closes the connection or sends a bad frame.
fn serve(stream: TcpStream, server: &Arc<Server>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let writer = Arc::new(Mutex::new(BufWriter::new(stream.try_clone()?)));
    let running = Arc::new(AtomicUsize::new(0));
    let mut reader = BufReader::new(stream);
    while let Some(envelope) = frame::read(&mut reader)? {
        let Envelope::Request {
            id,
            svc_meth,
            frame,
        } = envelope
        else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a reply sent to a server",
            ));
        };
        if running.fetch_add(1, Ordering::SeqCst) >= MAX_RUNNING_PER_CONNECTION {
            running.fetch_sub(1, Ordering::SeqCst);
            answer(&writer, id, Err(RpcError::Failed))?;
            continue;
        }
        let (server, writer, running) = (server.clone(), writer.clone(), running.clone());
        thread::Builder::new()
            .name("labrpc-tcp-handler".into())
            .spawn(move || {
                let outcome = server.dispatch(&svc_meth, &frame);
                running.fetch_sub(1, Ordering::SeqCst);
                // A failed write means the connection is gone; its reader
                // thread sees that too and ends.
                let _ = answer(&writer, id, outcome);
            })?;
    }
    Ok(())
}

fn answer(
    writer: &Mutex<BufWriter<TcpStream>>,
    id: u64,
    outcome: Result<Vec<u8>, RpcError>,
) -> io::Result<()> {
    frame::write(&mut *writer.lock(), &Envelope::Reply { id, outcome })
}
