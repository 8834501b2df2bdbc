//! The demo's cluster: kv servers on a simulated network, with the fault
//! injections the schedule uses (crash, restart, partition, unreliable).

use labrpc::{ClientEnd, Network, Server};
use raft::kvraft::{Clerk, KvServer};
use raft::{Persister, Status};
use std::sync::atomic::{AtomicU64, Ordering};

/// One server slot: its persister survives crashes; `kv` is `None` while down.
struct Slot {
    kv: Option<KvServer>,
    persister: Persister,
    /// This incarnation's end names to the other servers.
    ends: Vec<String>,
    connected: bool,
}

pub struct Cluster {
    pub net: Network,
    n: usize,
    maxraftstate: Option<usize>,
    slots: parking_lot::Mutex<Vec<Slot>>,
    /// The minority side of the current partition, if any.
    minority: parking_lot::Mutex<Vec<usize>>,
    names: AtomicU64,
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
        let slots = (0..n)
            .map(|_| Slot {
                kv: None,
                persister: Persister::new(),
                ends: Vec::new(),
                connected: false,
            })
            .collect();
        let c = Cluster {
            net,
            n,
            maxraftstate,
            slots: parking_lot::Mutex::new(slots),
            minority: parking_lot::Mutex::new(Vec::new()),
            names: AtomicU64::new(0),
        };
        for i in 0..n {
            c.start(i);
        }
        c.connect_all();
        c
    }

    fn name(&self, what: &str) -> String {
        format!("{what}-{}", self.names.fetch_add(1, Ordering::Relaxed))
    }

    /// Starts (or restarts) server `i` from its persister, disconnected.
    pub fn start(&self, i: usize) {
        let ends: Vec<String> = (0..self.n).map(|_| self.name("peer")).collect();
        let clients: Vec<ClientEnd> = ends
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = self.net.make_end(name);
                self.net.connect(name, j);
                end
            })
            .collect();
        let persister = {
            let mut slots = self.slots.lock();
            slots[i].persister = slots[i].persister.copy();
            slots[i].ends = ends;
            slots[i].persister.clone()
        };
        let kv = KvServer::start(clients, i, persister, self.maxraftstate)
            .expect("persisted state is intact");
        let srv = Server::new();
        srv.add_service(kv.service());
        srv.add_service(kv.raft().service());
        self.net.add_server(i, srv);
        self.slots.lock()[i].kv = Some(kv);
    }

    /// Restarts crashed server `i` from its persister and connects it.
    pub fn restart(&self, i: usize) {
        self.start(i);
        self.set_links(i, true);
    }

    /// Crashes server `i`: cut off, removed from the network, killed. Its persister stays.
    pub fn crash(&self, i: usize) {
        self.set_links(i, false);
        self.net.delete_server(i);
        let kv = self.slots.lock()[i].kv.take();
        if let Some(kv) = kv {
            kv.kill();
        }
    }

    /// Enables or disables every end between server `i` and the connected others.
    fn set_links(&self, i: usize, on: bool) {
        let mut slots = self.slots.lock();
        slots[i].connected = on;
        for j in 0..self.n {
            if on && !slots[j].connected {
                continue;
            }
            if let Some(name) = slots[i].ends.get(j) {
                self.net.enable(name, on);
            }
            if let Some(name) = slots[j].ends.get(i) {
                self.net.enable(name, on);
            }
        }
    }

    pub fn connect_all(&self) {
        self.minority.lock().clear();
        for i in 0..self.n {
            self.set_links(i, true);
        }
    }

    /// Splits the servers in two groups that cannot reach each other.
    pub fn partition(&self, group: &[usize]) {
        *self.minority.lock() = group.to_vec();
        let slots = self.slots.lock();
        for i in 0..self.n {
            for j in 0..self.n {
                let same = group.contains(&i) == group.contains(&j);
                if let Some(name) = slots[i].ends.get(j) {
                    self.net
                        .enable(name, same && slots[i].connected && slots[j].connected);
                }
            }
        }
    }

    /// The server that believes it leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let slots = self.slots.lock();
        (0..self.n).find(|&i| {
            slots[i].connected
                && slots[i]
                    .kv
                    .as_ref()
                    .is_some_and(|kv| kv.raft().get_state().1)
        })
    }

    /// A clerk with its own ends to every server.
    pub fn clerk(&self) -> Clerk {
        let ends = (0..self.n)
            .map(|j| {
                let name = self.name("clerk");
                let end = self.net.make_end(&name);
                self.net.connect(&name, j);
                self.net.enable(&name, true);
                end
            })
            .collect();
        Clerk::new(ends)
    }

    pub fn views(&self) -> Vec<PeerView> {
        let minority = self.minority.lock().clone();
        let slots = self.slots.lock();
        slots
            .iter()
            .enumerate()
            .map(|(i, s)| PeerView {
                up: s.kv.is_some(),
                connected: s.connected,
                in_minority: minority.contains(&i),
                status: s.kv.as_ref().map(|kv| kv.raft().status()),
            })
            .collect()
    }

    /// Kills every server and stops the network.
    pub fn shutdown(&self) {
        let servers: Vec<KvServer> = self
            .slots
            .lock()
            .iter_mut()
            .filter_map(|s| s.kv.take())
            .collect();
        for kv in servers {
            kv.kill();
        }
        self.net.cleanup();
    }
}
