//! The kv server (Go `kvraft/server.go`): the `Get` and `PutAppend`
//! handlers, on the replicated state machine (`src/rsm/`), which does the
//! rest: start the op on Raft, wait for it to be applied to the [`Store`],
//! and answer `ErrWrongLeader` if this server lost its leadership meanwhile.

use super::common::{GetArgs, GetReply, KvErr, Op, PutAppendArgs, PutAppendReply};
use super::store::Store;
use crate::rsm::{Rsm, RsmServer};
use crate::{Persister, Raft, RaftError};
use labrpc::{ClientEnd, Service};

/// A kv server (Go `*KVServer`). Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct KvServer {
    rsm: Rsm<Store>,
}

impl KvServer {
    /// Starts a kv server and its Raft peer (Go `StartKVServer`). `servers[i]`
    /// reaches server `i`'s Raft. With `maxraftstate = Some(n)`, the server
    /// snapshots whenever Raft's persisted state reaches `n` bytes; `None`
    /// (Go's -1) never snapshots. Restores from the persister's snapshot.
    pub fn start(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
    ) -> Result<KvServer, RaftError> {
        let rsm = Rsm::start(servers, me, persister, maxraftstate, Store::default())?;
        Ok(KvServer { rsm })
    }

    /// The `KVServer` service (`Get`, `PutAppend`) for a labrpc server. A
    /// server that is gone or killed fails the call, as an unreachable one.
    pub fn service(&self) -> Service {
        let (a, b) = (self.rsm.downgrade(), self.rsm.downgrade());
        Service::new("KVServer")
            .method_or_fail("Get", move |args: GetArgs| {
                a.upgrade().map(|r| get(&r, args))
            })
            .method_or_fail("PutAppend", move |args: PutAppendArgs| {
                b.upgrade().map(|r| put_append(&r, args))
            })
    }

    /// Breaks the server on purpose: retried writes are applied again. Only
    /// for the test that shows the linearizability checker catching it.
    #[doc(hidden)]
    pub fn disable_duplicate_detection(&self) {
        self.rsm.tamper(|store| store.check_duplicates = false);
    }

    /// This server's replicated state machine.
    pub fn rsm(&self) -> &Rsm<Store> {
        &self.rsm
    }

    /// This server's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<Op> {
        self.rsm.raft()
    }

    /// Stops the server and its Raft peer; returns when their threads have exited.
    pub fn kill(&self) {
        self.rsm.kill();
    }
}

impl RsmServer for KvServer {
    type Machine = Store;
    fn rsm(&self) -> &Rsm<Store> {
        KvServer::rsm(self)
    }
    fn service(&self) -> Service {
        KvServer::service(self)
    }
}

fn get(rsm: &Rsm<Store>, args: GetArgs) -> GetReply {
    let (err, value) = match rsm.submit(Op::from(args)) {
        Ok(Some(value)) => (KvErr::Ok, value),
        Ok(None) => (KvErr::ErrNoKey, String::new()),
        Err(e) => (e.into(), String::new()),
    };
    GetReply { err, value }
}

fn put_append(rsm: &Rsm<Store>, args: PutAppendArgs) -> PutAppendReply {
    let err = rsm
        .submit(Op::from(args))
        .map_or_else(KvErr::from, |_| KvErr::Ok);
    PutAppendReply { err }
}
