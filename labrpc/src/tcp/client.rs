//! The caller's side: one connection to one server, calls matched to replies
//! by number.

use super::frame::{self, Envelope};
use crate::call::Outcome;
use crate::end::PendingCall;
use crate::RpcError;
use crossbeam_channel::{bounded, Sender};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a call waits for its reply before it fails (a server that never
/// answers costs this much, not a stuck thread). Raft's own calls wait less
/// (`PendingCall::wait_deadline`).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// After a failed connect, calls fail at once for this long, doubling with
/// each failure up to [`MAX_BACKOFF`]: a dead server costs one connect
/// attempt per backoff, not one per call.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How long writing a request may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The TCP side of a [`crate::ClientEnd::tcp`]: one connection to `addr`,
/// opened at the first call and again after it breaks, closed when the last
/// clone is dropped. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub(crate) struct TcpEnd {
    inner: Arc<EndInner>,
}

struct EndInner {
    addr: SocketAddr,
    conn: Mutex<Option<Arc<Conn>>>,
    /// When the next connect may be tried, and the wait after that.
    retry: Mutex<(Instant, Duration)>,
    next_id: AtomicU64,
}

/// One open connection, and the calls waiting for replies on it.
struct Conn {
    /// The socket itself, to shut it down (clones of it read and write).
    socket: TcpStream,
    writer: Mutex<BufWriter<TcpStream>>,
    /// Calls waiting for a reply, by number, with when each expires.
    pending: Mutex<BTreeMap<u64, (Sender<Outcome>, Instant)>>,
    closed: AtomicBool,
}

impl Conn {
    /// Registers call `id`, and forgets the calls that have expired (their
    /// callers gave up; a server that never answers must not make this map
    /// grow). Numbers grow with time, so the expired calls come first.
    fn await_reply(&self, id: u64, tx: Sender<Outcome>, expires: Instant) {
        let mut pending = self.pending.lock();
        let now = Instant::now();
        while let Some(first) = pending.first_entry() {
            if first.get().1 > now {
                break;
            }
            first.remove();
        }
        pending.insert(id, (tx, expires));
    }

    /// Fails every waiting call and marks the connection unusable.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.socket.shutdown(Shutdown::Both);
        for (_, (tx, _)) in std::mem::take(&mut *self.pending.lock()) {
            let _ = tx.send(Err(RpcError::Failed));
        }
    }
}

impl TcpEnd {
    /// An end that connects to `addr` at its first call (and again after
    /// the connection breaks).
    pub(crate) fn new(addr: SocketAddr) -> TcpEnd {
        TcpEnd {
            inner: Arc::new(EndInner {
                addr,
                conn: Mutex::new(None),
                retry: Mutex::new((Instant::now(), FIRST_BACKOFF)),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Sends a request frame as given (the encoded arguments and their CRC).
    /// The call fails by itself after [`CALL_TIMEOUT`] (see [`PendingCall`]);
    /// one that cannot be sent (no connection, a broken one) has failed
    /// already when this returns.
    pub(crate) fn send_frame<R>(&self, svc_meth: &str, frame: Vec<u8>) -> PendingCall<R> {
        let (tx, rx) = bounded(1);
        let expires = Instant::now() + CALL_TIMEOUT;
        if let Err(e) = self.send(svc_meth, frame, tx.clone(), expires) {
            let _ = tx.send(Err(e));
        }
        PendingCall::new(rx, svc_meth, Some(expires))
    }

    fn send(
        &self,
        svc_meth: &str,
        frame: Vec<u8>,
        tx: Sender<Outcome>,
        expires: Instant,
    ) -> Result<(), RpcError> {
        let conn = self.connection()?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        conn.await_reply(id, tx, expires);
        let request = Envelope::Request {
            id,
            svc_meth: svc_meth.to_string(),
            frame,
        };
        let written = frame::write(&mut *conn.writer.lock(), &request);
        if let Err(e) = written {
            conn.pending.lock().remove(&id);
            log::warn!(target: "DROP", "labrpc tcp: {svc_meth} to {}: {e}", self.inner.addr);
            self.forget(&conn);
            conn.close(); // its reader thread ends too
            return Err(RpcError::Failed);
        }
        Ok(())
    }

    /// The open connection, or a new one (unless the last attempt failed
    /// too recently: then the call fails at once).
    fn connection(&self) -> Result<Arc<Conn>, RpcError> {
        let mut slot = self.inner.conn.lock();
        if let Some(c) = slot.as_ref().filter(|c| !c.closed.load(Ordering::SeqCst)) {
            return Ok(c.clone());
        }
        let mut retry = self.inner.retry.lock();
        if Instant::now() < retry.0 {
            return Err(RpcError::Failed);
        }
        match self.connect() {
            Ok(c) => {
                *retry = (Instant::now(), FIRST_BACKOFF);
                *slot = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                log::warn!(target: "DROP", "labrpc tcp: connect to {}: {e}", self.inner.addr);
                *retry = (Instant::now() + retry.1, (retry.1 * 2).min(MAX_BACKOFF));
                *slot = None;
                Err(RpcError::Failed)
            }
        }
    }

    fn connect(&self) -> io::Result<Arc<Conn>> {
        let stream = TcpStream::connect_timeout(&self.inner.addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let reader = BufReader::new(stream.try_clone()?);
        let conn = Arc::new(Conn {
            writer: Mutex::new(BufWriter::new(stream.try_clone()?)),
            socket: stream,
            pending: Mutex::new(BTreeMap::new()),
            closed: AtomicBool::new(false),
        });
        let reader_conn = conn.clone();
        thread::Builder::new()
            .name(format!("labrpc-tcp-reply-{}", self.inner.addr.port()))
            .spawn(move || read_replies(reader, reader_conn))?;
        Ok(conn)
    }

    fn forget(&self, conn: &Arc<Conn>) {
        let mut slot = self.inner.conn.lock();
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *slot = None;
        }
    }
}

impl Drop for EndInner {
    /// The last clone is gone: close the connection (its reader thread ends).
    fn drop(&mut self) {
        if let Some(c) = self.conn.get_mut().take() {
            c.close();
        }
    }
}

/// Hands each reply to the call waiting for it, until the connection ends;
/// then fails the calls still waiting.
fn read_replies(mut reader: BufReader<TcpStream>, conn: Arc<Conn>) {
    loop {
        match frame::read(&mut reader) {
            Ok(Some(Envelope::Reply { id, outcome })) => {
                if let Some((tx, _)) = conn.pending.lock().remove(&id) {
                    let _ = tx.send(outcome);
                }
            }
            Ok(Some(Envelope::Request { .. })) => {
                log::warn!(target: "DROP", "labrpc tcp: a request from a server; closing");
                break;
            }
            Ok(None) => break,
            Err(e) => {
                if !conn.closed.load(Ordering::SeqCst) {
                    log::warn!(target: "DROP", "labrpc tcp: reply stream: {e}");
                }
                break;
            }
        }
    }
    conn.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn expired_calls_are_forgotten_when_the_next_is_sent() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let conn = Conn {
            writer: Mutex::new(BufWriter::new(stream.try_clone().unwrap())),
            socket: stream,
            pending: Mutex::new(BTreeMap::new()),
            closed: AtomicBool::new(false),
        };
        let (tx, rx) = bounded(8);
        let now = Instant::now();
        conn.await_reply(1, tx.clone(), now - Duration::from_secs(2));
        conn.await_reply(2, tx.clone(), now - Duration::from_secs(1));
        conn.await_reply(3, tx.clone(), now + CALL_TIMEOUT);
        conn.await_reply(4, tx, now + CALL_TIMEOUT);
        let ids: Vec<u64> = conn.pending.lock().keys().copied().collect();
        assert_eq!(ids, [3, 4]);
        // Closing fails the calls still waiting, and only those.
        conn.close();
        assert_eq!(rx.try_iter().count(), 2);
    }
}
