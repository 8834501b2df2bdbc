//! The shard master's state machine: the configurations, and which clerks'
//! changes have been applied (a retried Join, Leave or Move applies once;
//! Queries change nothing, so they need no such care).

use super::common::SmOp;
use super::config::{Config, Configs};
use crate::rsm::{DuplicateTable, StateMachine};
use labrpc::codec;

/// Every configuration so far, and the duplicate table.
#[derive(Debug, Default)]
pub struct SmState {
    configs: Configs,
    dups: DuplicateTable,
}

impl StateMachine for SmState {
    type Op = SmOp;
    /// The configuration a Query asked for; the latest for the others.
    type Output = Config;

    fn apply(&mut self, op: SmOp) -> Config {
        if let SmOp::Query { num, .. } = op {
            return self.configs.query(num);
        }
        if self.dups.first_time(op.id()) {
            match op {
                SmOp::Join { servers, .. } => self.configs.join(&servers),
                SmOp::Leave { gids, .. } => self.configs.leave(&gids),
                SmOp::Move { shard, gid, .. } => {
                    self.configs.move_shard(shard, gid);
                }
                SmOp::Query { .. } => unreachable!("answered above"),
            }
        }
        self.configs.latest().clone()
    }

    fn snapshot(&self, out: &mut Vec<u8>) {
        codec::encode_into(&(&self.configs, &self.dups), out).expect("configurations always encode")
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (configs, dups) = codec::decode(bytes).map_err(|e| e.message)?;
        self.configs = configs;
        self.dups = dups;
        Ok(())
    }
}
