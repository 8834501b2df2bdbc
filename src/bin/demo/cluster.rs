//! The demo's cluster: kv servers on the cluster kit (`raft::kit::Cluster`),
//! plus what the view shows and the schedule needs: which servers are up,
//! connected, or on the minority side of a partition.

use labrpc::Network;
use parking_lot::Mutex;
use raft::kit::Cluster as Kit;
use raft::kvraft::{Clerk, KvServer};
use raft::Status;

pub struct Cluster {
    kit: Kit<KvServer>,
    n: usize,
    /// Per server: connected to the others (whether it runs, the kit knows).
    connected: Mutex<Vec<bool>>,
    /// The minority side of the current partition, if any.
    minority: Mutex<Vec<usize>>,
}

/// What the view shows of one server.
pub struct PeerView {
    pub up: bool,
    pub connected: bool,
    pub in_minority: bool,
    pub status: Option<Status>,
}

impl Cluster {
    pub fn new(net: Network, n: usize, maxraftstate: Option<usize>) -> Cluster {
        let kit = Kit::with_network(net, n, move |ends, me, persister| {
            KvServer::start(ends, me, persister, maxraftstate)
        });
        Cluster {
            kit,
            n,
            connected: Mutex::new(vec![true; n]),
            minority: Mutex::new(Vec::new()),
        }
    }

    /// The kit's record of every crash, restart and cut link, for the page.
    pub fn timeline(&self) -> &raft::kit::Timeline {
        self.kit.timeline()
    }

    /// The network (its modes, its counters).
    pub fn net(&self) -> &Network {
        &self.kit.net
    }

    /// Restarts crashed server `i` from its persister and connects it to the
    /// connected others.
    pub fn restart(&self, i: usize) {
        self.kit.start_server(i);
        let mut connected = self.connected.lock();
        let peers: Vec<usize> = (0..self.n).filter(|&j| connected[j]).collect();
        self.kit.connect(i, &peers);
        connected[i] = true;
    }

    /// Crashes server `i`: cut off, removed from the network, killed. Its persister stays.
    pub fn crash(&self, i: usize) {
        self.kit.shutdown_server(i);
        self.connected.lock()[i] = false;
    }

    pub fn connect_all(&self) {
        self.minority.lock().clear();
        let mut connected = self.connected.lock();
        let up: Vec<usize> = (0..self.n)
            .filter(|&i| self.kit.raft_status(i).is_some())
            .collect();
        for &i in &up {
            self.kit.connect(i, &up);
            connected[i] = true;
        }
    }

    /// Splits the servers in two groups that cannot reach each other.
    pub fn partition(&self, group: &[usize]) {
        *self.minority.lock() = group.to_vec();
        let others: Vec<usize> = (0..self.n).filter(|i| !group.contains(i)).collect();
        self.kit.partition(group, &others);
    }

    /// The server that believes it leads, if any.
    pub fn leader(&self) -> Option<usize> {
        self.kit.leader()
    }

    /// A clerk with its own ends to every server.
    pub fn clerk(&self) -> Clerk {
        Clerk::new(self.kit.client_ends(&self.kit.all()).0)
    }

    pub fn views(&self) -> Vec<PeerView> {
        let minority = self.minority.lock().clone();
        let connected = self.connected.lock().clone();
        (0..self.n)
            .map(|i| {
                let status = self.kit.raft_status(i);
                PeerView {
                    up: status.is_some(),
                    connected: connected[i],
                    in_minority: minority.contains(&i),
                    status,
                }
            })
            .collect()
    }

    /// Kills every server and stops the network.
    pub fn shutdown(&self) {
        self.kit.cleanup();
    }
}
