//! Lab 4's setup, written once: a shard master and replica groups on one
//! simulated network, each a [`Cluster`] of the kit. The 4B test harness,
//! the sharded demo and the benchmarks all build on it.
//!
//! Names on the network, as in the Go tester: the shard master's servers are
//! `ctrler-0..`, group `gid`'s are `server-<gid>-<i>`. A server reaches
//! another group's servers, and a clerk any server, by name ([`MakeEnd`]).

use crate::kit::{Cluster, Timeline};
use crate::linearizability::Annotation;
use crate::shardkv::{self, GroupView, MakeEnd, ShardKv};
use crate::shardmaster::{self, Gid, ShardMaster};
use labrpc::{ClientEnd, Network};
use rand::distr::{Alphanumeric, SampleString};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Shard master servers, as in the Go tester.
pub const NCTRLERS: usize = 3;

/// Group `gid`'s server `i`'s name (Go `servername`).
pub fn server_name(gid: Gid, i: usize) -> String {
    format!("server-{gid}-{i}")
}

/// A replica group: its gid and its servers.
pub struct Group {
    /// The group's id.
    pub gid: Gid,
    /// Its servers.
    pub cluster: Cluster<ShardKv>,
}

/// A shard master and replica groups on one network.
pub struct Sharded {
    /// The network they share.
    pub net: Arc<Network>,
    /// The shard master's servers.
    pub ctl: Cluster<ShardMaster>,
    /// The replica groups.
    pub groups: Vec<Group>,
    /// Servers per group.
    pub n: usize,
    /// What the tester did beside the clusters' own crashes and partitions
    /// (groups joining and leaving, the network's mode).
    pub timeline: Timeline,
}

impl Sharded {
    /// Starts the shard master and one group of `n` servers per gid in
    /// `gids`, all on `net`; no group has joined yet.
    pub fn new(net: Network, gids: &[Gid], n: usize, maxraftstate: Option<usize>) -> Sharded {
        let net = Arc::new(net);
        let ctl = Cluster::named(net.clone(), "ctrler-", NCTRLERS, ShardMaster::start);
        let groups = gids
            .iter()
            .map(|&gid| {
                let net2 = net.clone();
                let cluster = Cluster::named(
                    net.clone(),
                    &format!("server-{gid}-"),
                    n,
                    move |ends, me, persister| {
                        ShardKv::start(
                            ends,
                            me,
                            persister,
                            maxraftstate,
                            gid,
                            ctrler_ends(&net2),
                            make_end(&net2),
                        )
                    },
                );
                Group { gid, cluster }
            })
            .collect();
        Sharded {
            net,
            ctl,
            groups,
            n,
            timeline: Timeline::default(),
        }
    }

    /// Everything on every timeline (the shard master's, each group's, and
    /// this one's), in time order, for a history page.
    pub fn annotations(&self) -> Vec<Annotation> {
        let mut all = self.timeline.annotations();
        all.extend(self.ctl.timeline().annotations());
        for g in &self.groups {
            all.extend(g.cluster.timeline().annotations());
        }
        all.sort_by_key(|a| a.time);
        all
    }

    /// A clerk of the shard master with its own ends.
    pub fn ctrler_clerk(&self) -> shardmaster::Clerk {
        shardmaster::Clerk::new(ctrler_ends(&self.net))
    }

    /// A shardkv clerk with its own ends to the shard master and to any server.
    pub fn clerk(&self) -> shardkv::Clerk {
        shardkv::Clerk::new(ctrler_ends(&self.net), make_end(&self.net))
    }

    /// What a Join of groups `gis` (indexes into `groups`) names: each
    /// group's gid and its servers.
    pub fn join_args(&self, gis: &[usize]) -> BTreeMap<Gid, Vec<String>> {
        gis.iter()
            .map(|&gi| {
                let gid = self.groups[gi].gid;
                (gid, (0..self.n).map(|i| server_name(gid, i)).collect())
            })
            .collect()
    }

    /// The gids of groups `gis`.
    pub fn gids(&self, gis: &[usize]) -> Vec<Gid> {
        gis.iter().map(|&gi| self.groups[gi].gid).collect()
    }

    /// Starts group `gi`'s server `i` from its saved state, connected to its group.
    pub fn start_server(&self, gi: usize, i: usize) {
        let c = &self.groups[gi].cluster;
        c.start_server(i);
        c.connect(i, &c.all());
    }

    /// Shuts group `gi`'s server `i` down, keeping its saved state.
    pub fn shutdown_server(&self, gi: usize, i: usize) {
        self.groups[gi].cluster.shutdown_server(i);
    }

    /// Group `gi` as its leader (or, without one, any running server) sees it.
    pub fn view(&self, gi: usize) -> Option<GroupView> {
        let g = &self.groups[gi].cluster;
        let i = g
            .leader()
            .or_else(|| g.all().into_iter().find(|&i| g.server(i).is_some()))?;
        g.server(i).map(|s| s.view())
    }

    /// Kills every server, then shuts the network down.
    pub fn cleanup(&self) {
        for g in &self.groups {
            g.cluster.cleanup();
        }
        self.ctl.cleanup();
    }
}

/// A new, enabled end to the server called `server`.
fn enabled_end(net: &Network, server: &str) -> ClientEnd {
    let name = Alphanumeric.sample_string(&mut rand::rng(), 20);
    let end = net.make_end(&name);
    net.connect(&name, server);
    net.enable(&name, true);
    end
}

/// Ends from new names to each shard master server.
fn ctrler_ends(net: &Network) -> Vec<ClientEnd> {
    (0..NCTRLERS)
        .map(|j| enabled_end(net, &format!("ctrler-{j}")))
        .collect()
}

/// Go `make_end`: an end to any server by name.
fn make_end(net: &Arc<Network>) -> MakeEnd {
    let net = net.clone();
    Arc::new(move |server: &str| enabled_end(&net, server))
}
