//! Who carried which bytes first, so that a duplicate (a retransmission on the same subflow, or a
//! reinjection on another, RFC 8684 §3.3.6) can be attributed to its first carrier.
//!
//! The history is a bounded queue of first-seen runs; runs of one subflow that continue each
//! other are coalesced, so a bulk transfer takes one entry per switch of subflow, not one per
//! packet. When full, the oldest run is forgotten and its duplicates become unattributed.

use std::collections::VecDeque;

use super::summary::{Dup, Insert};

/// How many recent history entries are searched for a run to extend.
const COALESCE_LOOKBACK: usize = 8;

/// A first-seen run `[start, end)` of relative offsets from one subflow.
#[derive(Clone, Copy, Debug)]
struct Origin {
    start: u64,
    end: u64,
    subflow: u32,
    first_frame: u64,
    first_ts_ns: u64,
    last_frame: u64,
    last_ts_ns: u64,
}

impl Origin {
    /// `bytes` duplicated bytes of this run, the lowest at absolute `dsn`.
    fn dup(&self, dsn: u64, bytes: u64) -> Dup {
        Dup {
            subflow: self.subflow,
            dsn,
            bytes,
            first_frame: self.first_frame,
            first_ts_ns: self.first_ts_ns,
            last_frame: self.last_frame,
            last_ts_ns: self.last_ts_ns,
        }
    }
}

/// Who carried the piece being inserted.
#[derive(Clone, Copy)]
pub(super) struct Carrier {
    pub(super) subflow: u32,
    pub(super) frame: u64,
    pub(super) ts_ns: u64,
}

/// The first-seen runs, oldest first, at most `cap` of them.
#[derive(Debug)]
pub(super) struct History {
    runs: VecDeque<Origin>,
    cap: usize,
}

impl History {
    pub(super) fn new(cap: usize) -> Self {
        History { runs: VecDeque::new(), cap }
    }

    /// Attributes duplicate `[x, y)` to the subflows that carried it first; returns how many
    /// bytes were attributed. `start` turns relative offsets into DSNs.
    pub(super) fn attribute(&self, x: u64, y: u64, start: u64, out: &mut Insert) -> u64 {
        let mut covered = 0;
        for o in self.runs.iter().rev() {
            let (lo, hi) = (o.start.max(x), o.end.min(y));
            if lo < hi && out.add_dup(o.dup(start.wrapping_add(lo), hi - lo)) {
                covered += hi - lo;
            }
        }
        covered
    }

    /// Records `[x, y)` as first seen from `who`, extending a recent run of the same subflow
    /// that ends at `x`.
    pub(super) fn record(&mut self, x: u64, y: u64, who: Carrier) {
        if self.cap == 0 {
            return;
        }
        if let Some(o) = self.runs.iter_mut().rev().take(COALESCE_LOOKBACK).find(|o| o.subflow == who.subflow && o.end == x) {
            o.end = y;
            o.last_frame = who.frame;
            o.last_ts_ns = who.ts_ns;
            return;
        }
        if self.runs.len() >= self.cap {
            self.runs.pop_front();
        }
        self.runs.push_back(Origin {
            start: x,
            end: y,
            subflow: who.subflow,
            first_frame: who.frame,
            first_ts_ns: who.ts_ns,
            last_frame: who.frame,
            last_ts_ns: who.ts_ns,
        });
    }
}
