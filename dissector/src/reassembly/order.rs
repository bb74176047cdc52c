//! The receiver's view of one direction (issue 14): how long each piece of new data waited
//! before it became deliverable in order (head-of-line blocking), which pieces arrived above
//! the next expected DSN (data-level reordering) and how much the data-level reordering buffer
//! held over time.
//!
//! Times are capture timestamps: a piece "arrives" at its frame's timestamp and "becomes
//! deliverable" at the timestamp of the frame that moved the delivery point past its end (all
//! lower DSNs had arrived). At a receiver-side capture this is the wait the application felt
//! (less the receiving host's own processing); at a sender-side capture it is an estimate.
//!
//! # Memory
//! Per open direction: the pieces still waiting (at most [`MAX_WAITING`], the rest are counted
//! in `untracked_segments` and left out of the delay figures), one reordering mark per waiting
//! out-of-order arrival (same bound), and fixed-size histograms ([`Hist`], allocated on the
//! first non-zero value) per direction and per subflow (at most [`MAX_SUBFLOWS`] subflows
//! apart; later ones are pooled in the last entry, `subflow: None`).
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::hist::Hist;

/// Most pieces tracked while they wait, per direction.
pub const MAX_WAITING: usize = 1 << 14;
/// Most subflows with their own head-of-line figures, per direction.
pub const MAX_SUBFLOWS: usize = 16;

/// Head-of-line figures of the pieces one subflow carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubflowWait {
    /// The carrier's opaque id (as given to `Reassembler::insert`); `None` pools subflows past
    /// [`MAX_SUBFLOWS`].
    pub subflow: Option<u32>,
    /// Pieces with new data-level bytes, and those bytes.
    pub segments: u64,
    pub bytes: u64,
    /// Of those, the ones that had to wait (delay > 0), and their new bytes.
    pub waited_segments: u64,
    pub waited_bytes: u64,
    /// Head-of-line delay per piece, nanoseconds (pieces that became deliverable).
    pub delay_ns: Hist,
}

impl SubflowWait {
    fn settle(&mut self, delay: u64, bytes: u64) {
        self.delay_ns.add(delay, 1);
        if delay > 0 {
            self.waited_segments += 1;
            self.waited_bytes += bytes;
        }
    }
}

/// The receiver's view of one direction, at the end of the stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderSummary {
    /// All subflows together.
    pub all: SubflowWait,
    pub by_subflow: Vec<SubflowWait>,
    /// Pieces not followed because [`MAX_WAITING`] were already waiting.
    pub untracked_segments: u64,
    /// Pieces that never became deliverable (a hole before them was never filled).
    pub undelivered_segments: u64,
    pub undelivered_bytes: u64,
    /// Pieces whose first new byte lay above the next expected DSN, and their new bytes.
    pub out_of_order_segments: u64,
    pub out_of_order_bytes: u64,
    /// Per out-of-order piece: its first byte's distance above the next expected DSN (bytes),
    /// and the time until the byte that was expected then arrived (ns; pieces whose mark was
    /// followed).
    pub distance_bytes: Hist,
    pub distance_ns: Hist,
    /// Bytes seen above the delivery point (the data-level reordering buffer), weighted by how
    /// long (ns) it held them, from the first to the last piece of the direction.
    pub occupancy: Hist,
    pub occupancy_max: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Wait {
    end: u64,
    ts_ns: u64,
    slot: u32,
    bytes: u64,
}

/// Follows the pieces of one direction until they become deliverable.
///
/// Settling pops from sorted queues: pieces waiting by their end, marks by the delivery point at
/// their arrival (which only grows, so marks arrive in order). Waiting pieces mostly arrive in
/// order of their end too (a later piece of a fast subflow ends higher): those go to the back of
/// `waits` at O(1); the others to the heap `late`.
#[derive(Debug, Default)]
pub(super) struct Order {
    waits: VecDeque<Wait>,
    late: BinaryHeap<Reverse<Wait>>,
    /// (next expected offset when an out-of-order piece arrived, its time).
    marks: VecDeque<(u64, u64)>,
    occupancy: u64,
    since_ns: Option<u64>,
    /// The last carrier and its slot (consecutive pieces mostly come on one subflow).
    last_slot: Option<(u32, usize)>,
    pub(super) s: OrderSummary,
}

impl Order {
    fn slot(&mut self, subflow: u32) -> usize {
        if let Some((_, i)) = self.last_slot.filter(|l| l.0 == subflow) {
            return i;
        }
        let i = self.find_slot(subflow);
        self.last_slot = Some((subflow, i));
        i
    }

    fn find_slot(&mut self, subflow: u32) -> usize {
        let by = &mut self.s.by_subflow;
        if let Some(i) = by.iter().position(|w| w.subflow == Some(subflow)) {
            return i;
        }
        if by.len() + 1 < MAX_SUBFLOWS {
            by.push(SubflowWait { subflow: Some(subflow), ..SubflowWait::default() });
            return by.len() - 1;
        }
        if let Some(i) = by.iter().position(|w| w.subflow.is_none()) {
            return i;
        }
        by.push(SubflowWait::default());
        by.len() - 1
    }

    /// One piece `[start, end)` (relative offsets) carrying `new_bytes` new bytes arrived at
    /// `ts_ns` on `subflow`, when the delivery point was `before`; it is now `after` and the
    /// reordering buffer holds `occupancy` bytes.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn piece(
        &mut self,
        start: u64,
        end: u64,
        new_bytes: u64,
        subflow: u32,
        ts_ns: u64,
        before: u64,
        after: u64,
        occupancy: u64,
    ) {
        if let Some(since) = self.since_ns {
            self.s.occupancy.add(self.occupancy, ts_ns.saturating_sub(since));
        }
        self.since_ns = Some(ts_ns);
        self.occupancy = occupancy;
        self.s.occupancy_max = self.s.occupancy_max.max(occupancy);
        if new_bytes > 0 {
            let slot = self.slot(subflow);
            for w in std::iter::once(&mut self.s.all).chain(self.s.by_subflow.get_mut(slot)) {
                w.segments += 1;
                w.bytes += new_bytes;
            }
            if start > before {
                self.s.out_of_order_segments += 1;
                self.s.out_of_order_bytes += new_bytes;
                self.s.distance_bytes.add(start - before, 1);
                if self.marks.len() < MAX_WAITING {
                    self.marks.push_back((before, ts_ns));
                }
            }
            if end <= after {
                for w in std::iter::once(&mut self.s.all).chain(self.s.by_subflow.get_mut(slot)) {
                    w.settle(0, new_bytes);
                }
            } else if self.waits.len() + self.late.len() < MAX_WAITING {
                let w = Wait { end, ts_ns, slot: slot as u32, bytes: new_bytes };
                if self.waits.back().is_none_or(|b| b.end <= end) {
                    self.waits.push_back(w);
                } else {
                    self.late.push(Reverse(w));
                }
            } else {
                self.s.untracked_segments += 1;
            }
        }
        if after > before {
            self.advanced(after, ts_ns);
        }
    }

    /// The delivery point moved to `to` at `ts_ns` (a piece filled a hole, or a hole was given up).
    pub(super) fn advanced(&mut self, to: u64, ts_ns: u64) {
        loop {
            let w = match (self.waits.front().copied().filter(|w| w.end <= to), self.late.peek().map(|r| r.0).filter(|w| w.end <= to)) {
                (Some(w), _) => {
                    self.waits.pop_front();
                    w
                }
                (None, Some(w)) => {
                    self.late.pop();
                    w
                }
                (None, None) => break,
            };
            let delay = ts_ns.saturating_sub(w.ts_ns);
            self.s.all.settle(delay, w.bytes);
            if let Some(s) = self.s.by_subflow.get_mut(w.slot as usize) {
                s.settle(delay, w.bytes);
            }
        }
        while let Some((at, t)) = self.marks.front().copied() {
            if at >= to {
                break;
            }
            self.marks.pop_front();
            self.s.distance_ns.add(ts_ns.saturating_sub(t), 1);
        }
    }

    /// The stream ended: what still waits never became deliverable.
    pub(super) fn finish(&mut self) -> OrderSummary {
        for w in self.waits.drain(..).chain(self.late.drain().map(|r| r.0)) {
            self.s.undelivered_segments += 1;
            self.s.undelivered_bytes += w.bytes;
        }
        self.marks.clear();
        std::mem::take(&mut self.s)
    }

    /// Memory held beyond the struct, bytes (approximate).
    pub(super) fn memory_bytes(&self) -> usize {
        let hists = |w: &SubflowWait| w.delay_ns.memory_bytes();
        (self.waits.capacity() + self.late.capacity()) * std::mem::size_of::<Wait>()
            + self.marks.capacity() * 16
            + hists(&self.s.all)
            + self.s.by_subflow.iter().map(hists).sum::<usize>()
            + self.s.distance_bytes.memory_bytes()
            + self.s.distance_ns.memory_bytes()
            + self.s.occupancy.memory_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_piece_waits_until_the_hole_below_it_is_filled() {
        let mut o = Order::default();
        // [0, 10) on subflow 1 at 0 ms: in order.
        o.piece(0, 10, 10, 1, 0, 0, 10, 0);
        // [20, 30) on subflow 2 at 5 ms: out of order by 10 bytes, buffer holds 10.
        o.piece(20, 30, 10, 2, 5 * MS, 10, 10, 10);
        // [10, 20) on subflow 1 at 25 ms fills the hole: [20, 30) waited 20 ms.
        o.piece(10, 20, 10, 1, 25 * MS, 10, 30, 0);
        let s = o.finish();
        assert_eq!((s.all.segments, s.all.waited_segments, s.all.waited_bytes), (3, 1, 10));
        assert_eq!(s.all.delay_ns.max(), Some(20 * MS));
        assert_eq!((s.out_of_order_segments, s.out_of_order_bytes), (1, 10));
        assert_eq!(s.distance_bytes.max(), Some(10));
        assert_eq!(s.distance_ns.max(), Some(20 * MS));
        let sf2 = s.by_subflow.iter().find(|w| w.subflow == Some(2)).unwrap();
        assert_eq!((sf2.waited_segments, sf2.delay_ns.max()), (1, Some(20 * MS)));
        // The buffer held 10 bytes for 20 of the 25 ms.
        assert_eq!(s.occupancy.count(), 25 * MS);
        assert_eq!(s.occupancy.quantile(0.5), Some(10));
        assert_eq!(s.occupancy_max, 10);
    }

    #[test]
    fn pieces_that_never_become_deliverable_are_counted_apart() {
        let mut o = Order::default();
        o.piece(10, 20, 10, 1, 0, 0, 0, 10);
        let s = o.finish();
        assert_eq!((s.undelivered_segments, s.undelivered_bytes, s.all.delay_ns.count()), (1, 10, 0));
    }
}
