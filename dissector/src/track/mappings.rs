//! Per-subflow-direction state of the data level: the DSS mappings seen (RFC 8684 §3.3.1) and the
//! subflow sequence space already carried (to tell a TCP retransmission from a first copy).
//!
//! A mapping is carried by one segment but covers many, and a segment retransmitted long after
//! carries no mapping of its own: the table keeps every mapping whose subflow sequence space may
//! still be re-sent, bounded by sequence space (mappings far below what the peer has ACKed at the
//! subflow level are dropped) and by memory ([`MAX_MAPPINGS`] per subflow direction), never by a
//! small count of recent mappings.
use std::collections::VecDeque;

use mptcp_wire::seq::DataSeq;

/// A DSS mapping as it applies to one subflow direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub dsn: DataSeq,
    /// Relative subflow sequence of the first byte (1 = first payload byte).
    pub ssn: u32,
    /// Payload bytes the mapping covers (data-level length minus the DATA_FIN byte), or
    /// `u32::MAX` for an infinite mapping.
    pub data_len: u32,
}

impl Mapping {
    pub fn covers(&self, rel: u32) -> Option<u32> {
        let off = rel.wrapping_sub(self.ssn);
        (off < self.data_len).then_some(off)
    }
    fn infinite(&self) -> bool {
        self.data_len == u32::MAX
    }
    fn end(&self) -> u32 {
        self.ssn.wrapping_add(self.data_len)
    }
}

/// At most this many finite mappings per subflow direction (16 bytes each: 16 KiB). A bulk
/// transfer maps 16 KiB or more per mapping, so this spans 16 MiB of unacknowledged subflow
/// sequence space, more than any TCP window in our captures.
pub const MAX_MAPPINGS: usize = 1024;
/// Mappings ending this far below the peer's cumulative subflow ACK are dropped: a segment
/// below the ACK is only re-sent when every later ACK was lost (a capture taken at the receiver
/// sees ACKs the sender may never get).
pub const ACKED_SLACK: u32 = 4 << 20;
/// And of the mappings wholly below the peer's cumulative ACK, at most this many are kept (small
/// segments would otherwise keep [`MAX_MAPPINGS`] per direction of every open connection).
pub const MAX_ACKED_KEPT: usize = 128;

/// How many pieces [`MappingTable::pieces`] splits a segment into at most.
pub const MAX_PIECES: usize = 8;

/// One piece of a segment: (offset, length, the DSN of its first byte and whether its mapping
/// is 1 byte long, or `None` where no mapping covers it).
pub(crate) type Piece = (u32, u32, Option<(DataSeq, bool)>);

/// A segment split by mapping (see [`MappingTable::pieces`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pieces {
    list: [Piece; MAX_PIECES + 1],
    n: usize,
}

impl Pieces {
    pub fn iter(&self) -> impl Iterator<Item = Piece> + '_ {
        self.list.iter().take(self.n).copied()
    }
}

/// What [`MappingTable::add`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// First sighting, consistent with every mapping kept.
    New,
    /// The same mapping again (a retransmitted segment, or Linux repeating it).
    Repeat,
    /// Overlaps a kept mapping's subflow sequence space with another DSN offset.
    Conflict(Mapping),
}

/// The mappings of one subflow direction, sorted by subflow sequence.
#[derive(Debug, Clone, Default)]
pub(crate) struct MappingTable {
    maps: VecDeque<Mapping>,
    /// Sort key origin: keys are `ssn - anchor` (wrapping), all kept mappings lie within 2^31.
    anchor: u32,
    infinite: Option<Mapping>,
    /// The finite mapping added last (still kept): Linux repeats a mapping on every segment it
    /// covers, so most look-ups and most additions are answered by it without a search.
    last: Option<Mapping>,
    /// Mappings dropped to stay within [`MAX_MAPPINGS`].
    pub dropped: u64,
}

impl MappingTable {
    fn key(&self, ssn: u32) -> u32 {
        ssn.wrapping_sub(self.anchor)
    }

    /// The mapping covering relative subflow sequence `rel`, with the offset into it.
    pub fn find(&self, rel: u32) -> Option<(Mapping, u32)> {
        if let Some(m) = self.last {
            if let Some(off) = m.covers(rel) {
                return Some((m, off));
            }
        }
        let k = self.key(rel);
        let i = self.maps.partition_point(|m| self.key(m.ssn) <= k);
        // Mappings rarely overlap (repeats are not stored twice): look back a few.
        for m in self.maps.range(..i).rev().take(8) {
            if let Some(off) = m.covers(rel) {
                return Some((*m, off));
            }
        }
        let inf = self.infinite?;
        inf.covers(rel).map(|off| (inf, off))
    }

    /// Splits `len` bytes at relative subflow sequence `rel` by mapping: each piece is
    /// `(offset, length, Some((dsn, one_byte_mapping)))`, or `None` where no mapping covers it.
    /// At most [`MAX_PIECES`] pieces; the last one takes whatever is left.
    pub fn pieces(&self, rel: u32, len: u32) -> Pieces {
        let mut out = Pieces::default();
        let mut off = 0u32;
        while off < len {
            let r = rel.wrapping_add(off);
            let last = out.n + 1 >= MAX_PIECES;
            let (take, what) = match self.find(r) {
                Some((m, moff)) => ((m.data_len - moff).min(len - off), Some((m.dsn + moff as usize, m.data_len == 1))),
                None if last => (len - off, None),
                None => (self.next_start(r, len - off).unwrap_or(len - off), None),
            };
            if let Some(p) = out.list.get_mut(out.n) {
                *p = (off, take, what);
                out.n += 1;
            }
            off += take;
            if last && off < len {
                if let Some(p) = out.list.get_mut(out.n) {
                    *p = (off, len - off, None);
                    out.n += 1;
                }
                break;
            }
        }
        out
    }

    /// Distance from `rel` to the start of the next mapping, when less than `within`.
    pub fn next_start(&self, rel: u32, within: u32) -> Option<u32> {
        let k = self.key(rel);
        let i = self.maps.partition_point(|m| self.key(m.ssn) <= k);
        let finite = self.maps.get(i).map(|m| m.ssn.wrapping_sub(rel));
        let inf = self.infinite.map(|m| m.ssn.wrapping_sub(rel)).filter(|&d| d > 0);
        [finite, inf].into_iter().flatten().filter(|&d| d > 0 && d < within).min()
    }

    /// The infinite mapping covering `rel`, if any.
    pub fn find_infinite(&self, rel: u32) -> Option<(Mapping, u32)> {
        let inf = self.infinite?;
        inf.covers(rel).map(|off| (inf, off))
    }

    /// Records a mapping; says whether it is new, a repeat or conflicts with a kept one.
    pub fn add(&mut self, m: Mapping) -> Added {
        if m.infinite() {
            if self.infinite == Some(m) {
                return Added::Repeat;
            }
            self.infinite = Some(m);
            return Added::New;
        }
        if self.last == Some(m) {
            return Added::Repeat;
        }
        if self.maps.is_empty() {
            // Leave room below for mappings that arrive out of order.
            self.anchor = m.ssn.wrapping_sub(1 << 30);
        }
        let k = self.key(m.ssn);
        if k >= 3 << 30 {
            // Far ahead of the anchor: move it up (every kept mapping stays within 2^31 of the
            // new one or is dropped).
            let anchor = m.ssn.wrapping_sub(1 << 30);
            self.maps.retain(|x| x.ssn.wrapping_sub(anchor) < 3 << 30);
            self.anchor = anchor;
            self.last = None;
        }
        let k = self.key(m.ssn);
        let i = self.maps.partition_point(|x| self.key(x.ssn) < k);
        // Linux repeats a mapping on every segment it covers: the common case, found at once.
        if self.maps.get(i) == Some(&m) {
            self.last = Some(m);
            return Added::Repeat;
        }
        let mut conflict = None;
        // Neighbours that may overlap: before (ending after m starts) and after (starting
        // before m ends).
        let lo = i.saturating_sub(8);
        for x in self.maps.range(lo..).take(16) {
            if *x == m {
                return Added::Repeat;
            }
            let start = m.ssn.wrapping_sub(x.ssn);
            let overlaps = start < x.data_len || x.ssn.wrapping_sub(m.ssn) < m.data_len;
            let same_offset = (m.dsn - x.dsn) as u64 as u32 == start && DataSeq(m.dsn.0.wrapping_sub(u64::from(start))) == x.dsn;
            if overlaps && !same_offset && conflict.is_none() {
                conflict = Some(*x);
            }
        }
        if self.maps.len() >= MAX_MAPPINGS {
            if self.maps.pop_front() == self.last {
                self.last = None;
            }
            self.dropped += 1;
        }
        let i = self.maps.partition_point(|x| self.key(x.ssn) < k);
        self.maps.insert(i, m);
        self.last = Some(m);
        conflict.map_or(Added::New, Added::Conflict)
    }

    /// Forgets mappings that end more than [`ACKED_SLACK`] below `acked` (relative subflow
    /// sequence the peer has cumulatively ACKed), and the oldest of those wholly below it past
    /// [`MAX_ACKED_KEPT`].
    pub fn prune(&mut self, acked: u32) {
        let below = |t: &Self, m: &Mapping| (acked.wrapping_sub(m.end()) as i32) >= 0 && t.key(m.end()) <= t.key(acked);
        if self.maps.len() > MAX_ACKED_KEPT && self.maps.get(MAX_ACKED_KEPT).is_some_and(|m| below(self, m)) {
            let n = self.maps.iter().take_while(|m| below(self, m)).count();
            for _ in MAX_ACKED_KEPT..n {
                if self.maps.pop_front() == self.last {
                    self.last = None;
                }
            }
        }
        let limit = acked.wrapping_sub(ACKED_SLACK);
        while let Some(m) = self.maps.front() {
            let end = m.end();
            // end <= limit, in wrapping terms, and not absurdly far (a bogus ACK).
            if (limit.wrapping_sub(end) as i32) >= 0 && self.key(end) <= self.key(limit) {
                if self.maps.pop_front() == self.last {
                    self.last = None;
                }
            } else {
                break;
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.maps.len()
    }
}

/// How many holes in its own subflow sequence space a direction remembers.
const MAX_HOLES: usize = 16;
/// How many separate fresh ranges one segment reports (a segment filling more holes than this
/// at once has its last fresh ranges merged).
const MAX_FRESH: usize = 4;

/// The subflow sequence space one direction has carried: the highest sequence seen and the
/// holes below it (segments the capture did not see). A segment below the highest sequence is a
/// TCP retransmission except where it fills a hole: those bytes are seen for the first time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeqSpace {
    next: Option<u32>,
    holes: [(u32, u32); MAX_HOLES],
    n: usize,
}

/// Which bytes of a segment were seen before: up to a few ranges of fresh bytes, as offsets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fresh {
    pub ranges: [(u32, u32); MAX_FRESH],
    pub n: usize,
}

impl Fresh {
    /// Adds `[a, b)`; ranges come in increasing order, and a range overlapping the last one
    /// (holes recorded from a capture whose sequence numbers jump about) only adds what is new.
    fn push(&mut self, a: u32, b: u32) {
        let a = match self.n.checked_sub(1).and_then(|i| self.ranges.get(i)) {
            Some(&(_, last_end)) => a.max(last_end),
            None => a,
        };
        if a >= b {
            return;
        }
        if let Some(last) = self.n.checked_sub(1).and_then(|i| self.ranges.get_mut(i)) {
            if last.1 == a {
                last.1 = b;
                return;
            }
        }
        match self.ranges.get_mut(self.n) {
            Some(slot) => {
                *slot = (a, b);
                self.n += 1;
            }
            // Full: merge into the last range (rare: one segment filling many holes at once).
            None => {
                if let Some(last) = self.ranges.last_mut() {
                    last.1 = b;
                }
            }
        }
    }
    /// Fresh ranges as segment offsets `[a, b)`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.ranges.iter().take(self.n).copied()
    }
    pub fn total(&self) -> u32 {
        self.iter().map(|(a, b)| b - a).sum()
    }
    /// The part of `[a, b)` (segment offsets) that is fresh, as a list of sub-ranges.
    pub fn split(&self, a: u32, b: u32) -> impl Iterator<Item = (u32, u32, bool)> + '_ {
        let mut out: [(u32, u32, bool); 2 * MAX_FRESH + 1] = [(0, 0, false); 2 * MAX_FRESH + 1];
        let mut k = 0;
        // The common case: the whole segment is a first copy.
        if let (1, Some(&(fa, fb))) = (self.n, self.ranges.first()) {
            if fa <= a && b <= fb {
                out[0] = (a, b, true);
                return out.into_iter().take(1);
            }
        }
        let mut cur = a;
        for (fa, fb) in self.iter() {
            let (lo, hi) = (fa.max(a), fb.min(b));
            if lo >= hi {
                continue;
            }
            if cur < lo {
                if let Some(s) = out.get_mut(k) {
                    *s = (cur, lo, false);
                    k += 1;
                }
            }
            if let Some(s) = out.get_mut(k) {
                *s = (lo, hi, true);
                k += 1;
            }
            cur = hi;
        }
        if cur < b {
            if let Some(s) = out.get_mut(k) {
                *s = (cur, b, false);
                k += 1;
            }
        }
        out.into_iter().take(k)
    }
}

impl SeqSpace {
    /// One past the highest subflow sequence number carried so far.
    pub fn next(&self) -> Option<u32> {
        self.next
    }

    /// Records a segment `[seq, seq + len)` (absolute) and returns its fresh parts.
    pub fn carry(&mut self, seq: u32, len: u32) -> Fresh {
        let mut fresh = Fresh::default();
        if len == 0 {
            return fresh;
        }
        let end = seq.wrapping_add(len);
        let Some(next) = self.next else {
            self.next = Some(end);
            fresh.push(0, len);
            return fresh;
        };
        let ahead = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0; // a after b
                                                                     // The common case: no holes, the segment continues the sequence.
        if self.n == 0 && !ahead(seq, next) {
            if ahead(end, next) {
                fresh.push(next.wrapping_sub(seq), len);
                self.next = Some(end);
            }
            return fresh;
        }
        // Holes (absolute), filled by this segment where they overlap.
        let mut kept = [(0u32, 0u32); MAX_HOLES];
        let mut nk = 0;
        let mut parts = [(0u32, 0u32); MAX_HOLES];
        let mut np = 0;
        for &(ha, hb) in self.holes.iter().take(self.n) {
            // overlap of [seq, end) and [ha, hb)
            let lo = if ahead(seq, ha) { seq } else { ha };
            let hi = if ahead(end, hb) { hb } else { end };
            if ahead(hi, lo) {
                if let Some(p) = parts.get_mut(np) {
                    *p = (lo.wrapping_sub(seq), hi.wrapping_sub(seq));
                    np += 1;
                }
                for (a, b) in [(ha, lo), (hi, hb)] {
                    if ahead(b, a) {
                        if let Some(k) = kept.get_mut(nk) {
                            *k = (a, b);
                            nk += 1;
                        }
                    }
                }
            } else if let Some(k) = kept.get_mut(nk) {
                *k = (ha, hb);
                nk += 1;
            }
        }
        self.holes = kept;
        self.n = nk;
        let parts = parts.get_mut(..np).unwrap_or(&mut []);
        parts.sort_unstable();
        for &(a, b) in parts.iter() {
            fresh.push(a.min(len), b.min(len));
        }
        if ahead(end, next) {
            if ahead(seq, next) {
                // A jump: the bytes in between were not captured (yet).
                if self.n < MAX_HOLES {
                    if let Some(h) = self.holes.get_mut(self.n) {
                        *h = (next, seq);
                        self.n += 1;
                    }
                }
                fresh.push(0, len);
            } else {
                fresh.push(next.wrapping_sub(seq), len);
            }
            self.next = Some(end);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(dsn: u64, ssn: u32, len: u32) -> Mapping {
        Mapping { dsn: DataSeq(dsn), ssn, data_len: len }
    }

    #[test]
    fn old_mappings_are_found_long_after() {
        // A mapping carried 100 mappings back still maps a retransmitted segment.
        let mut t = MappingTable::default();
        for i in 0..100u32 {
            assert_eq!(t.add(m(1_000_000 + u64::from(i) * 2000, 1 + i * 1000, 1000)), Added::New);
        }
        assert_eq!(t.find(1 + 3 * 1000 + 10), Some((m(1_006_000, 3001, 1000), 10)));
        assert_eq!(t.find(100_001), None);
        assert_eq!(t.add(m(1_006_000, 3001, 1000)), Added::Repeat);
    }

    #[test]
    fn out_of_order_mappings_sorted() {
        let mut t = MappingTable::default();
        t.add(m(5000, 2001, 1000));
        t.add(m(1000, 1, 1000));
        t.add(m(3000, 1001, 1000));
        assert_eq!(t.find(1500).map(|x| x.0.dsn), Some(DataSeq(3000)));
        assert_eq!(t.find(1).map(|x| x.0.dsn), Some(DataSeq(1000)));
    }

    #[test]
    fn conflicts_detected() {
        let mut t = MappingTable::default();
        t.add(m(1000, 1, 1000));
        // Same offset: consistent.
        assert_eq!(t.add(m(1499, 500, 10)), Added::New);
        assert!(matches!(t.add(m(9000, 600, 10)), Added::Conflict(_)));
    }

    #[test]
    fn bounded_by_ack_and_count() {
        let mut t = MappingTable::default();
        for i in 0..(MAX_MAPPINGS as u32 + 10) {
            t.add(m(u64::from(i) * 100, 1 + i * 100, 100));
        }
        assert_eq!(t.len(), MAX_MAPPINGS);
        assert_eq!(t.dropped, 10);
        t.prune(1 + 1000 * 100 + ACKED_SLACK);
        assert!(t.find(5000).is_none());
        assert!(t.find(1 + 1000 * 100 + 5).is_some());
    }

    proptest::proptest! {
        /// Whatever the sequence numbers do (jumps, wraps, overlaps with recorded holes), the
        /// fresh ranges of a segment are sorted, disjoint and inside it (found by fuzzing: holes
        /// recorded across a wrap overlapped, and a segment's fresh bytes exceeded its length).
        #[test]
        fn fresh_ranges_stay_inside_the_segment(segs in proptest::collection::vec((proptest::prelude::any::<u32>(), 1u32..70_000), 1..64)) {
            let mut s = SeqSpace::default();
            for (seq, len) in segs {
                let f = s.carry(seq, len);
                let mut prev = 0;
                for (a, b) in f.iter() {
                    proptest::prop_assert!(prev <= a && a < b && b <= len, "{:?} in a segment of {len}", f.iter().collect::<Vec<_>>());
                    prev = b;
                }
                proptest::prop_assert!(f.total() <= len);
            }
        }
    }

    #[test]
    fn seq_space_retransmission_and_holes() {
        let mut s = SeqSpace::default();
        assert_eq!(s.carry(100, 10).total(), 10);
        // jump: [110, 120) not captured
        assert_eq!(s.carry(120, 10).total(), 10);
        // plain retransmission
        assert_eq!(s.carry(100, 10).total(), 0);
        // fills the hole: fresh
        let f = s.carry(110, 10);
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![(0, 10)]);
        // overlapping retransmission extending past the end: tail is fresh
        let f = s.carry(125, 10);
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![(5, 10)]);
        let parts: Vec<_> = f.split(0, 10).collect();
        assert_eq!(parts, vec![(0, 5, false), (5, 10, true)]);
        // wrap-around
        let mut s = SeqSpace::default();
        s.carry(u32::MAX - 4, 10);
        assert_eq!(s.carry(u32::MAX - 4, 10).total(), 0);
        assert_eq!(s.carry(5, 10).total(), 10);
    }
}
