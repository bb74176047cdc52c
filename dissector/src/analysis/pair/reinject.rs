//! Reinjection verdicts: which segments at a sender's capture carry data (a DSN range) sent
//! before, and whether the original or the reinjection reached the other capture.
//!
//! Streaming: each segment with a DSS mapping ([`DataRec`]) is taken here, in order of
//! appearance at its capture, once its matching is final (its copy left the pending set), and
//! forgotten then. What is kept of the data sent before is, per capture and DSN space, which
//! segment first carried each byte ([`Piece`]s: disjoint DSN ranges), for the data first sent
//! within the matching window (and at most `max_pieces` ranges). A segment's original is then
//! found among the ranges it overlaps: at most one per byte of its payload, so the work is
//! linear in the bytes read (it was quadratic in the segments with a DSN range scan).
use std::collections::{BTreeMap, VecDeque};

use super::matcher::{DataRec, MAX_COVER_SPAN};
use super::model::{t_rel, Reinjection, ReinjectionSummary, CLIENT};
use crate::track::{Dir, ReinjectionVerdict};

/// The first copy of some data at the sender's capture, as the verdicts need it.
#[derive(Debug, Clone, Copy)]
struct Orig {
    /// Its index among the capture's records (order of appearance).
    idx: u64,
    flow: u32,
    ts: u64,
    frame: u64,
    dsn: u64,
    peer_ts: Option<u64>,
}

/// A DSN range whose bytes were first carried by `orig`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    end: u64,
    orig: Orig,
}

/// One capture's data sent so far.
#[derive(Debug, Default)]
struct SideState {
    /// Per flow: the end of the highest subflow sequence number sent so far.
    high: ahash::HashMap<u32, u32>,
    /// (4-byte DSN space, start) -> the range starting there.
    pieces: BTreeMap<(bool, u64), Piece>,
    /// The ranges in the order they were made: (time of their first copy, space, start, index).
    made: VecDeque<(u64, bool, u64, u64)>,
}

/// A reinjection found, its subflows named at the end.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) r: Reinjection,
    pub(super) flow: u32,
    pub(super) orig_flow: u32,
}

/// The reinjection verdicts of both captures, built as the records become final.
#[derive(Debug)]
pub(super) struct Reinjector {
    sides: [SideState; 2],
    pub(super) sums: [ReinjectionSummary; 2],
    /// The first `max_listed` per capture, in order of appearance.
    pub(super) found: [Vec<Found>; 2],
    pub(super) truncated: bool,
    max_listed: usize,
    window_ns: u64,
    max_pieces: usize,
    /// Ranges forgotten by the `max_pieces` cap before the window was over.
    pub(super) forgotten: u64,
    /// Scratch: the gaps a record fills.
    gaps: Vec<(u64, u64)>,
}

impl Reinjector {
    pub(super) fn new(max_listed: usize, window_ns: u64, max_pieces: usize) -> Self {
        Reinjector {
            sides: Default::default(),
            sums: Default::default(),
            found: Default::default(),
            truncated: false,
            max_listed,
            window_ns,
            max_pieces: max_pieces.max(1),
            forgotten: 0,
            gaps: Vec::new(),
        }
    }

    /// One record of capture `side` (its matching final), of a flow sent at that capture, in
    /// order of appearance; `idx` its index among the capture's records. A segment new in its
    /// subflow's sequence space (beyond all that subflow sent before: not a TCP retransmission,
    /// however re-segmented) whose DSN range overlaps data sent before, on another subflow or
    /// on the same one (as `analyze` counts them), is a reinjection; the original is the first
    /// such copy.
    pub(super) fn record(&mut self, side: usize, idx: u64, r: &DataRec, first_ts: [Option<u64>; 2]) {
        let side = side.min(1);
        let (snd, rcv) = (side, 1 - side);
        let s = &mut self.sides[side];
        let end_seq = r.rel_seq.wrapping_add(r.len);
        let fresh = match s.high.get_mut(&r.flow) {
            Some(h) if (r.rel_seq.wrapping_sub(*h) as i32) < 0 => {
                if (end_seq.wrapping_sub(*h) as i32) > 0 {
                    *h = end_seq;
                }
                false
            }
            Some(h) => {
                *h = end_seq;
                true
            }
            None => {
                s.high.insert(r.flow, end_seq);
                true
            }
        };
        // data first sent longer than the window ago is forgotten
        while let Some(&(t, class, start, i)) = s.made.front() {
            if t.saturating_add(self.window_ns) >= r.ts {
                break;
            }
            s.made.pop_front();
            if s.pieces.get(&(class, start)).is_some_and(|p| p.orig.idx == i) {
                s.pieces.remove(&(class, start));
            }
        }
        let (class, a, b) = (r.short, r.dsn, r.dsn.saturating_add(u64::from(r.len)));
        let lo = a.saturating_sub(u64::from(MAX_COVER_SPAN));
        let mut orig: Option<Orig> = None;
        let mut take = |o: Orig| {
            if o.dsn >= lo && orig.is_none_or(|x| o.idx < x.idx) {
                orig = Some(o);
            }
        };
        self.gaps.clear();
        if a < b {
            let mut cur = a;
            if let Some((_, p)) = s.pieces.range((class, 0)..=(class, a)).next_back() {
                if p.end > a {
                    take(p.orig);
                    cur = cur.max(p.end);
                }
            }
            for (&(_, start), p) in s.pieces.range((class, a + 1)..(class, b)) {
                take(p.orig);
                if start > cur {
                    self.gaps.push((cur, start));
                }
                cur = cur.max(p.end);
            }
            if cur < b {
                self.gaps.push((cur, b));
            }
        }
        let me = Orig { idx, flow: r.flow, ts: r.ts, frame: r.frame, dsn: r.dsn, peer_ts: r.peer_ts };
        for &(start, end) in &self.gaps {
            s.pieces.insert((class, start), Piece { end, orig: me });
            s.made.push_back((r.ts, class, start, idx));
        }
        while s.pieces.len() > self.max_pieces {
            let Some((_, class, start, i)) = s.made.pop_front() else { break };
            if s.pieces.get(&(class, start)).is_some_and(|p| p.orig.idx == i) {
                s.pieces.remove(&(class, start));
                self.forgotten += 1;
            }
        }
        let (true, false, Some(o)) = (fresh, r.probe, orig) else { return };
        let verdict = match (o.peer_ts, r.peer_ts) {
            (None, None) => ReinjectionVerdict::Lost,
            (None, Some(_)) => ReinjectionVerdict::Useful,
            (Some(a), Some(b)) if b < a => ReinjectionVerdict::Useful,
            _ => ReinjectionVerdict::Redundant,
        };
        let sum = &mut self.sums[side];
        sum.count += 1;
        sum.bytes += u64::from(r.len);
        match verdict {
            ReinjectionVerdict::Useful => sum.useful += 1,
            ReinjectionVerdict::Redundant => sum.redundant += 1,
            ReinjectionVerdict::Lost => sum.lost += 1,
        }
        if sum.count as usize > self.max_listed {
            self.truncated = true;
            return;
        }
        self.found[side].push(Found {
            r: Reinjection {
                direction: if side == CLIENT { Dir::C2s } else { Dir::S2c },
                subflow: String::new(),
                original_subflow: String::new(),
                dsn: r.dsn,
                len: r.len,
                frame: r.frame,
                t_rel: t_rel(r.ts, first_ts[snd]),
                original_frame: o.frame,
                original_t_rel: t_rel(o.ts, first_ts[snd]),
                original_arrived: o.peer_ts.map(|t| t_rel(t, first_ts[rcv])),
                reinjection_arrived: r.peer_ts.map(|t| t_rel(t, first_ts[rcv])),
                verdict,
            },
            flow: r.flow,
            orig_flow: o.flow,
        });
    }
}
