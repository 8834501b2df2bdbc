//! [`Cluster`]: the replicas, their ends, and their saved state.

use super::Timeline;
use crate::rsm::RsmServer;
use crate::{Persister, RaftError, Role, Status};
use labrpc::{ClientEnd, Network, Server, Service};
use parking_lot::Mutex;
use rand::distr::{Alphanumeric, SampleString};
use rand::seq::SliceRandom;
use std::sync::Arc;

/// One server of a replicated service, as the kit starts, serves and kills it.
pub trait Replica: Send + Sync + 'static {
    /// The labrpc services to register on the server (the service's and its Raft's).
    fn services(&self) -> Vec<Service>;
    /// Its Raft peer's role and indexes.
    fn raft_status(&self) -> Status;
    /// Stops it; returns when its threads have exited.
    fn kill(&self);
}

/// Every server on the replicated state machine looks alike to the kit:
/// its own service and its Raft's on one labrpc server, Raft's status, and
/// `kill`. (The Raft tester's bare peer is the other kind of replica.)
impl<T: RsmServer> Replica for T {
    fn services(&self) -> Vec<Service> {
        vec![self.service(), self.rsm().raft().service()]
    }
    fn raft_status(&self) -> Status {
        self.rsm().raft().status()
    }
    fn kill(&self) {
        RsmServer::kill(self)
    }
}

/// Starts replica `me` with ends to its peers and a persister: a service's
/// `start`, with any extra arguments already bound (e.g. `ShardMaster::start`).
pub trait Starter<R>:
    Fn(Vec<ClientEnd>, usize, Persister) -> Result<R, RaftError> + Send + Sync + 'static
{
}

impl<R, F> Starter<R> for F where
    F: Fn(Vec<ClientEnd>, usize, Persister) -> Result<R, RaftError> + Send + Sync + 'static
{
}

/// The names of a client's ends, one per server, so the tester can cut them.
#[derive(Clone, Debug)]
pub struct ClientEnds(Arc<Vec<String>>);

/// `n` replicas of a service on one network (Go `config`).
pub struct Cluster<R: Replica> {
    /// The network; tests may set its modes (reliable, long delays, reordering).
    /// Shared by every cluster on it (see [`Cluster::named`]).
    pub net: Arc<Network>,
    /// Server `i` is `"{prefix}{i}"` on the network ("" for one cluster alone).
    prefix: String,
    n: usize,
    starter: Box<dyn Starter<R>>,
    inner: Mutex<Inner<R>>,
    /// Every crash, restart and partition made through this cluster.
    timeline: Timeline,
}

struct Inner<R> {
    servers: Vec<Option<R>>,
    saved: Vec<Option<Persister>>,
    /// Names of each server's ends to the others (for its Raft).
    endnames: Vec<Option<Vec<String>>>,
}

fn fresh_name() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

impl<R: Replica> Cluster<R> {
    /// Starts `n` replicas with `starter`, all connected, on a reliable network.
    pub fn new(n: usize, starter: impl Starter<R>) -> Cluster<R> {
        Cluster::with_network(Network::new(), n, starter)
    }

    /// [`Cluster::new`] on a network of the caller's (a seeded one, to replay).
    pub fn with_network(net: Network, n: usize, starter: impl Starter<R>) -> Cluster<R> {
        Cluster::named(Arc::new(net), "", n, starter)
    }

    /// A cluster whose servers are named `"{prefix}0"`, `"{prefix}1"`, ...
    /// on `net`, so that several clusters share one network (lab 4: the
    /// shard master and each replica group are clusters; a group's servers
    /// reach another group's by name).
    pub fn named(
        net: Arc<Network>,
        prefix: &str,
        n: usize,
        starter: impl Starter<R>,
    ) -> Cluster<R> {
        let cluster = Cluster {
            net,
            prefix: prefix.to_string(),
            n,
            starter: Box::new(starter),
            inner: Mutex::new(Inner {
                servers: (0..n).map(|_| None).collect(),
                saved: vec![None; n],
                endnames: vec![None; n],
            }),
            timeline: Timeline::default(),
        };
        for i in 0..n {
            cluster.start_server(i);
        }
        cluster.connect_all();
        cluster
    }

    /// Server `i`'s name on the network.
    pub fn name(&self, i: usize) -> String {
        format!("{}{i}", self.prefix)
    }

    /// What this cluster's tester did and when (crashes, restarts,
    /// partitions), for a history page; tests add their own marks to it.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Server `i` as the timeline names it: `S2`, or `{prefix}2` (`server-101-2`).
    fn label(&self, i: usize) -> String {
        if self.prefix.is_empty() {
            format!("S{i}")
        } else {
            self.name(i)
        }
    }

    /// `[0 1 2]`, or `[server-101-0 ...]`, for the timeline.
    fn labels(&self, servers: &[usize]) -> String {
        let names: Vec<String> = servers.iter().map(|&i| self.label(i)).collect();
        format!("[{}]", names.join(" "))
    }

    /// Every server's number.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n).collect()
    }

    /// Starts server `i` from a copy of its saved state (a fresh one the
    /// first time), disconnected from the others (Go `StartServer`).
    ///
    /// # Panics
    ///
    /// If the service refuses to start from that state (a corrupt persister).
    pub fn start_server(&self, i: usize) {
        let (names, ends) = self.fresh_ends();
        let persister = {
            let mut inner = self.inner.lock();
            inner.endnames[i] = Some(names);
            let p = inner.saved[i]
                .as_ref()
                .map_or_else(Persister::new, Persister::copy);
            inner.saved[i] = Some(p.clone());
            p
        };
        let replica = (self.starter)(ends, i, persister)
            .unwrap_or_else(|e| panic!("server {i} would not start: {e}"));
        let server = Server::new();
        for service in replica.services() {
            server.add_service(service);
        }
        self.inner.lock().servers[i] = Some(replica);
        self.net.add_server(self.name(i), server);
        self.timeline.end(&format!("down {}", self.label(i))); // restarted
    }

    /// One end to each server, under names never used before, connected but
    /// not yet enabled: a new incarnation's (or client's) own links, which
    /// the tester can cut without touching anyone else's.
    fn fresh_ends(&self) -> (Vec<String>, Vec<ClientEnd>) {
        let names: Vec<String> = (0..self.n).map(|_| fresh_name()).collect();
        let ends = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let end = self.net.make_end(name);
                self.net.connect(name, self.name(j));
                end
            })
            .collect();
        (names, ends)
    }

    /// Shuts server `i` down, keeping its persistent state (Go `ShutdownServer`).
    pub fn shutdown_server(&self, i: usize) {
        let down = self.label(i);
        self.timeline
            .begin(&format!("down {down}"), "crash", format!("{down} down"));
        let replica = {
            let mut inner = self.inner.lock();
            self.cut(&inner, i, &self.all(), false);
            // Delete the server before copying its persister, so it cannot
            // answer a request whose effect lands only in the old copy.
            self.net.delete_server(self.name(i));
            if let Some(p) = &inner.saved[i] {
                inner.saved[i] = Some(p.copy());
            }
            inner.servers[i].take()
        };
        if let Some(r) = replica {
            r.kill();
        }
    }

    /// Enables (or cuts) the links between server `i` and each of `to`, both ways.
    fn cut(&self, inner: &Inner<R>, i: usize, to: &[usize], enabled: bool) {
        for &j in to {
            for (a, b) in [(i, j), (j, i)] {
                if let Some(names) = &inner.endnames[a] {
                    self.net.enable(&names[b], enabled);
                }
            }
        }
    }

    /// Connects server `i` to each of `to`, both ways (Go `connect`).
    pub fn connect(&self, i: usize, to: &[usize]) {
        self.cut(&self.inner.lock(), i, to, true);
        let text = format!("{} connected to {}", self.label(i), self.labels(to));
        self.timeline.mark("network", text);
    }

    /// Cuts server `i` off from each of `from`, both ways (Go `disconnect`).
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        self.cut(&self.inner.lock(), i, from, false);
        let text = format!("{} cut off from {}", self.label(i), self.labels(from));
        self.timeline.mark("network", text);
    }

    /// Connects every server to every other.
    pub fn connect_all(&self) {
        let inner = self.inner.lock();
        for i in 0..self.n {
            self.cut(&inner, i, &self.all(), true);
        }
        self.timeline.end("partition");
    }

    /// Two partitions, each fully connected inside, none between.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        let text = format!("partition {} | {}", self.labels(p1), self.labels(p2));
        self.timeline.begin("partition", "partition", text);
        let inner = self.inner.lock();
        for (mine, other) in [(p1, p2), (p2, p1)] {
            for &i in mine {
                self.cut(&inner, i, other, false);
                self.cut(&inner, i, mine, true);
            }
        }
    }

    /// Ends from a new client to every server (in random order, as Go's
    /// `random_handles`), enabled only to `to`; and their names.
    pub fn client_ends(&self, to: &[usize]) -> (Vec<ClientEnd>, ClientEnds) {
        let (names, mut ends) = self.fresh_ends();
        ends.shuffle(&mut rand::rng());
        let names = ClientEnds(Arc::new(names));
        self.connect_client(&names, to);
        (ends, names)
    }

    /// One enabled end straight to server `i`, under a new name: for a test
    /// that speaks a server's RPCs itself (the fuzz tests send Raft messages
    /// through it, garbled or hand-made, with [`ClientEnd::call_raw`]).
    pub fn end_to(&self, i: usize) -> ClientEnd {
        let name = fresh_name();
        let end = self.net.make_end(&name);
        self.net.connect(&name, self.name(i));
        self.net.enable(&name, true);
        end
    }

    /// Enables a client's ends to `to`.
    pub fn connect_client(&self, ends: &ClientEnds, to: &[usize]) {
        for &j in to {
            self.net.enable(&ends.0[j], true);
        }
    }

    /// Cuts a client's ends to `from`.
    pub fn disconnect_client(&self, ends: &ClientEnds, from: &[usize]) {
        for &j in from {
            self.net.enable(&ends.0[j], false);
        }
    }

    /// A server that believes it leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let inner = self.inner.lock();
        (0..self.n).find(|&i| {
            inner.servers[i]
                .as_ref()
                .is_some_and(|r| r.raft_status().role == Role::Leader)
        })
    }

    /// A handle to server `i`; `None` while it is shut down.
    pub fn server(&self, i: usize) -> Option<R>
    where
        R: Clone,
    {
        self.inner.lock().servers[i].clone()
    }

    /// Server `i`'s persister: what it saves to while running, and what a
    /// restart would start from (a copy of) once it is shut down.
    pub fn saved(&self, i: usize) -> Option<Persister> {
        self.inner.lock().saved[i].clone()
    }

    /// Server `i`'s Raft role and indexes; `None` while it is shut down.
    pub fn raft_status(&self, i: usize) -> Option<Status> {
        self.inner.lock().servers[i].as_ref().map(R::raft_status)
    }

    /// The highest commit index among the running servers: how many
    /// commands the service has agreed on (the summary line's last column).
    pub fn max_commit_index(&self) -> u64 {
        let inner = self.inner.lock();
        inner
            .servers
            .iter()
            .flatten()
            .map(|r| r.raft_status().commit_index)
            .max()
            .unwrap_or(0)
    }

    /// Each server's saved state: (Raft state bytes, snapshot bytes), from
    /// the persisters the kit keeps (a shut-down server's too).
    pub fn persister_sizes(&self) -> Vec<(usize, usize)> {
        let inner = self.inner.lock();
        inner
            .saved
            .iter()
            .flatten()
            .map(|p| (p.raft_state_size(), p.snapshot_size()))
            .collect()
    }

    /// Runs `f` on every running server.
    pub fn for_each_server(&self, f: impl FnMut(&R)) {
        self.inner.lock().servers.iter().flatten().for_each(f);
    }

    /// RPCs sent on the network so far.
    pub fn rpc_total(&self) -> u64 {
        self.net.total_count()
    }

    /// Kills every server and shuts the network down.
    pub fn cleanup(&self) {
        let servers: Vec<R> = self
            .inner
            .lock()
            .servers
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for r in servers {
            r.kill();
        }
        self.net.cleanup();
    }
}

/// A cluster cleans up when dropped, so a scenario that forgets
/// [`Cluster::cleanup`] leaks no threads (calling it first is harmless).
impl<R: Replica> Drop for Cluster<R> {
    fn drop(&mut self) {
        self.cleanup();
    }
}
