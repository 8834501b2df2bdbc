//! The shard master server (Go `shardmaster/server.go`): the four RPCs, each
//! an operation submitted to the replicated state machine (`src/rsm/`),
//! which applies them in log order to every replica's [`SmState`].

use super::common::{SmErr, SmOp, SmReply};
use super::config::Config;
use super::machine::SmState;
use crate::rsm::{Rsm, RsmServer};
use crate::{Persister, Raft, RaftError};
use labrpc::{ClientEnd, Service};

/// A shard master server (Go `*ShardMaster`). Cloning gives another handle.
#[derive(Clone)]
pub struct ShardMaster {
    rsm: Rsm<SmState>,
}

impl ShardMaster {
    /// Starts a shard master server and its Raft peer (Go `StartServer`).
    /// `servers[i]` reaches server `i`'s Raft. The shard master never
    /// snapshots: its state is a few configurations (as in the lab).
    pub fn start(
        servers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
    ) -> Result<ShardMaster, RaftError> {
        let rsm = Rsm::start(servers, me, persister, None, SmState::default())?;
        Ok(ShardMaster { rsm })
    }

    /// The `ShardMaster` service (`Join`, `Leave`, `Move`, `Query`) for a
    /// labrpc server. Each method takes an [`SmOp`] of its own kind.
    pub fn service(&self) -> Service {
        let mut service = Service::new("ShardMaster");
        for method in ["Join", "Leave", "Move", "Query"] {
            let rsm = self.rsm.downgrade();
            // A server that is gone fails the call, as if unreachable.
            service = service.method_or_fail(method, move |op: SmOp| {
                rsm.upgrade().map(|rsm| handle(&rsm, method, op))
            });
        }
        service
    }

    /// This server's replicated state machine.
    pub fn rsm(&self) -> &Rsm<SmState> {
        &self.rsm
    }

    /// This server's Raft peer (its service goes on the same labrpc server).
    pub fn raft(&self) -> &Raft<SmOp> {
        self.rsm.raft()
    }

    /// Stops the server and its Raft peer; returns when their threads have exited.
    pub fn kill(&self) {
        self.rsm.kill();
    }
}

impl RsmServer for ShardMaster {
    type Machine = SmState;
    fn rsm(&self) -> &Rsm<SmState> {
        ShardMaster::rsm(self)
    }
    fn service(&self) -> Service {
        ShardMaster::service(self)
    }
}

/// One RPC: the operation must be of the method's kind.
fn handle(rsm: &Rsm<SmState>, method: &str, op: SmOp) -> SmReply {
    let kind_matches = matches!(
        (method, &op),
        ("Join", SmOp::Join { .. })
            | ("Leave", SmOp::Leave { .. })
            | ("Move", SmOp::Move { .. })
            | ("Query", SmOp::Query { .. })
    );
    let result = if kind_matches {
        rsm.submit(op).map_err(SmErr::from)
    } else {
        Err(SmErr::ErrWrongLeader) // a malformed request is never applied
    };
    match result {
        Ok(config) => SmReply {
            err: SmErr::Ok,
            config,
        },
        Err(err) => SmReply {
            err,
            config: Config::default(),
        },
    }
}
