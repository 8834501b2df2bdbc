//! The client's side of any service on the rsm: numbering requests, and
//! finding the leader.
//!
//! A clerk does not know which server leads. It asks the one that answered
//! last, then each next one in turn; a server that is not the leader says so
//! (or does not answer), and the clerk moves on. Every clerk of every
//! service (and shardkv's servers pulling shards from another group) finds
//! its leader with [`LeaderHint`].

use super::RequestId;
use std::time::Duration;

/// Numbers a clerk's requests: a random clerk id, and 1, 2, 3, ... per
/// request (not per retry), as duplicate detection expects.
#[derive(Clone, Debug)]
pub struct Requests {
    client_id: u64,
    seq: u64,
}

impl Default for Requests {
    fn default() -> Self {
        Requests {
            client_id: rand::random(),
            seq: 0,
        }
    }
}

impl Requests {
    /// The next request's id.
    pub fn next_id(&mut self) -> RequestId {
        self.seq += 1;
        RequestId {
            client_id: self.client_id,
            seq: self.seq,
        }
    }
}

/// What a clerk makes of one server's answer (or silence).
#[derive(Debug)]
pub enum Answer<R> {
    /// Done: this is the reply.
    Done(R),
    /// Not the leader, no answer, or not yet: ask the next server.
    TryNext,
    /// Stop this round (shardkv: the group does not serve the key).
    GiveUp,
}

/// Which server of a replicated service to ask first: the one that answered
/// last, probably the leader.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeaderHint(usize);

impl LeaderHint {
    /// One round over `n` servers, starting at the hinted one: `ask(i)` for
    /// each in turn until one is [`Answer::Done`] (which becomes the hint) or
    /// says [`Answer::GiveUp`]. `None` if no server was done.
    pub fn round<R>(&mut self, n: usize, mut ask: impl FnMut(usize) -> Answer<R>) -> Option<R> {
        for k in 0..n {
            let i = (self.0 + k) % n;
            match ask(i) {
                Answer::Done(r) => {
                    self.0 = i;
                    return Some(r);
                }
                Answer::TryNext => {}
                Answer::GiveUp => return None,
            }
        }
        None
    }

    /// Rounds until a server is done, waiting `pause` after each round that
    /// was not (there is no leader to find yet, or this clerk is cut off).
    /// The pause is a pacing timer, not synchronization: nothing can tell a
    /// clerk when a leader is elected, so it asks again a little later.
    pub fn until_done<R>(
        &mut self,
        n: usize,
        pause: Duration,
        mut ask: impl FnMut(usize) -> Answer<R>,
    ) -> R {
        loop {
            if let Some(r) = self.round(n, &mut ask) {
                return r;
            }
            let _ = crossbeam_channel::after(pause).recv();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_last_server_that_answered() {
        let mut hint = LeaderHint::default();
        let mut asked = Vec::new();
        let r = hint.round(3, |i| {
            asked.push(i);
            if i == 2 {
                Answer::Done(i)
            } else {
                Answer::TryNext
            }
        });
        assert_eq!((r, asked), (Some(2), vec![0, 1, 2]));
        let mut asked = Vec::new();
        let r: Option<()> = hint.round(3, |i| {
            asked.push(i);
            Answer::TryNext
        });
        assert_eq!((r, asked), (None, vec![2, 0, 1]));
        let r: Option<()> = hint.round(3, |_| Answer::GiveUp);
        assert_eq!(r, None);
        let mut ids = Requests::default();
        assert_eq!((ids.next_id().seq, ids.next_id().seq), (1, 2));
    }
}
