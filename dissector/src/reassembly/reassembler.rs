//! The reassembler itself: what each piece of payload does to the range set, the ring of held
//! bytes and the origin history, and how the stream is delivered to the sink in DSN order (see
//! the module docs of `reassembly` for the contract).
use std::collections::VecDeque;

use super::history::{Carrier, History};
use super::order::Order;
use super::ranges::{Kind, Ranges};
use super::ring::{to_usize, Ring};
use super::summary::{Chunk, HoleKind, HolePolicy, Insert, ReassemblyLimits, Summary, HALF};

/// How many skipped ("given up") never-seen holes are remembered to recognise late bytes.
const MAX_SKIPPED: usize = 64;

/// Reassembles one direction of one MPTCP connection at the data level.
#[derive(Debug)]
pub struct Reassembler {
    start: u64,
    limits: ReassemblyLimits,
    /// Everything below this relative offset is settled: delivered or given up.
    frontier: u64,
    /// The receiver's delivery point: `frontier`, or past it the end of the run of ranges seen
    /// on the wire, captured or not.
    wire: u64,
    /// What was seen above `frontier`; its `Captured` ranges lie within `ring`.
    ranges: Ranges,
    /// Held bytes; the ring never starts above `frontier`.
    ring: Ring,
    history: History,
    skipped: VecDeque<(u64, u64)>,
    fin: Option<u64>,
    high: u64,
    /// Compare duplicate bytes with the first copy (see [`Reassembler::set_compare`]).
    no_compare: bool,
    s: Summary,
    /// Head-of-line delays, reordering and buffer occupancy (the receiver's view).
    order: Order,
    /// Tests compare results with and without the in-order fast path.
    #[cfg(test)]
    pub(super) slow_only: bool,
}

impl Reassembler {
    /// `start_dsn` is the DSN of the first data byte (IDSN + 1).
    pub fn new(start_dsn: u64, limits: ReassemblyLimits) -> Self {
        Reassembler {
            start: start_dsn,
            limits,
            frontier: 0,
            wire: 0,
            ranges: Ranges::default(),
            ring: Ring::default(),
            history: History::new(limits.history_ranges),
            skipped: VecDeque::new(),
            fin: None,
            high: 0,
            no_compare: false,
            s: Summary { start_dsn, ..Summary::default() },
            order: Order::default(),
            #[cfg(test)]
            slow_only: false,
        }
    }

    /// DSN of the next byte the sink will receive.
    pub fn next_dsn(&self) -> u64 {
        self.abs(self.frontier)
    }

    /// Bytes currently held (buffered out of order plus the recent delivered window).
    pub fn held_bytes(&self) -> usize {
        self.ring.len()
    }

    /// Memory the held bytes take (the ring's allocation).
    pub fn memory_bytes(&self) -> usize {
        self.ring.capacity()
    }

    /// Changes how much this reassembler may hold: at most `recent` delivered bytes kept to
    /// compare re-sent bytes with, and a reordering window of `buffered` bytes above the delivery
    /// point (for later pieces). Lowering `recent` frees the bytes above it at once. Used to share
    /// a memory budget among many open connections: re-sent bytes older than the window are still
    /// counted and attributed, only not compared; pieces beyond the window are counted in
    /// `capped_bytes`.
    pub fn set_bounds(&mut self, recent: usize, buffered: usize) {
        let lower = recent < self.limits.recent_bytes;
        self.limits.recent_bytes = recent;
        self.limits.max_buffered_bytes = buffered;
        if lower {
            self.trim();
            self.ring.shrink();
        }
    }

    /// Out-of-order ranges currently tracked.
    pub fn pending_ranges(&self) -> usize {
        self.ranges.len()
    }

    fn abs(&self, rel: u64) -> u64 {
        self.start.wrapping_add(rel)
    }

    fn window(&self) -> u64 {
        u64::try_from(self.limits.max_buffered_bytes).unwrap_or(u64::MAX)
    }

    /// One piece of mapped payload. `dsn` is the DSN of its first byte; `captured` the bytes the
    /// capture has (a prefix of the piece; may be empty); `wire_len` the piece's length on the
    /// wire (the range `[dsn, dsn + wire_len)` was sent). `subflow` is an opaque id used to
    /// attribute duplicates. Contiguous data is delivered to `sink` before returning.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        dsn: u64,
        captured: &[u8],
        wire_len: u32,
        subflow: u32,
        frame: u64,
        ts_ns: u64,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) -> Insert {
        // The receiver's view counts by the headers' lengths: bytes seen on the wire whose
        // content the capture cut (snaplen) reached the receiver all the same. Its delivery
        // point runs over them; the stream's (`frontier`) waits for a copy that has them.
        let before = self.wire.max(self.frontier);
        let delivered = self.s.delivered_bytes;
        let mut out = self.insert_piece(dsn, captured, wire_len, subflow, frame, ts_ns, sink);
        out.delivered_bytes = self.s.delivered_bytes - delivered;
        self.wire = self.ranges.run_end(self.wire.max(self.frontier));
        out.reorder_bytes = self.ranges.total().saturating_sub(self.wire - self.frontier);
        let rel = dsn.wrapping_sub(self.start);
        let (start, end) = if rel >= HALF {
            let e = rel.wrapping_add(u64::from(wire_len));
            (0, if e >= HALF { 0 } else { e })
        } else {
            (rel, rel + u64::from(wire_len))
        };
        // Bytes past the DATA_FIN were dropped: the piece is deliverable once the rest is.
        let end = self.fin.map_or(end, |f| end.min(f));
        self.order.piece(start, end, out.new_bytes, subflow, ts_ns, before, self.wire, out.reorder_bytes);
        out
    }

    /// Memory the head-of-line and reordering figures hold (see
    /// [`OrderSummary`](super::OrderSummary); the final figures are in [`Summary::order`]).
    pub fn order_memory_bytes(&self) -> usize {
        self.order.memory_bytes()
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_piece(
        &mut self,
        dsn: u64,
        captured: &[u8],
        wire_len: u32,
        subflow: u32,
        frame: u64,
        ts_ns: u64,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) -> Insert {
        let mut out = Insert::default();
        let who = Carrier { subflow, frame, ts_ns };
        let mut rel = dsn.wrapping_sub(self.start);
        let mut len = u64::from(wire_len);
        let mut skip = 0u64; // leading bytes of `captured` before the start
        if rel >= HALF {
            let dist = rel.wrapping_neg();
            if len <= dist {
                out.before_start_bytes = len;
                self.finish_insert(&out);
                return out;
            }
            out.before_start_bytes = dist;
            rel = 0;
            len -= dist;
            skip = dist;
        }
        let mut end = rel + len; // rel < 2^63 and len < 2^32: no overflow
        if let Some(fin) = self.fin {
            if end > fin {
                let cut = end - rel.max(fin);
                out.after_fin_bytes = cut;
                end -= cut;
            }
        }
        if end <= rel {
            self.finish_insert(&out);
            return out;
        }
        let cap_len = (captured.len() as u64).saturating_sub(skip);
        let cap_end = end.min(rel + cap_len);
        let data = to_usize(skip).and_then(|s| captured.get(s..)).and_then(|d| d.get(..to_usize(cap_end - rel)?)).unwrap_or(&[]);
        let cap_end = rel + data.len() as u64;

        if self.limits.hole_policy == HolePolicy::Skip && cap_end > rel {
            // Make room by giving up the lowest holes (whole holes: once the window has moved
            // past a hole's start it is stale), but never past this piece's start.
            let need = cap_end.saturating_sub(self.window()).min(rel);
            while self.frontier < need {
                if !self.skip_one(rel, sink) {
                    break;
                }
            }
        }

        // Part already settled.
        if rel < self.frontier {
            let y = end.min(self.frontier);
            let dy = cap_end.clamp(rel, y);
            let d = data.get(..to_usize(dy - rel).unwrap_or(0)).unwrap_or(&[]);
            self.settled_overlap(rel, y, d, &mut out);
        }

        // Part above the delivery point.
        let a = rel.max(self.frontier);
        if a < end {
            let store_end = cap_end.min(self.frontier.saturating_add(self.window()));
            if a == self.frontier
                && store_end == end
                && self.fast_path_allowed()
                && !matches!(self.ranges.first(), Some(iv) if iv.start < end)
            {
                // In order: nothing pending below `end`, so the whole piece is new and
                // deliverable at once. The same accounting as `paint` + `advance`, without
                // the range list; the bytes go to the sink from the packet, and to the ring
                // only to compare later copies with.
                self.in_order(a, end, slice_rel(data, rel, a, end), who, &mut out, sink);
                self.high = self.high.max(end);
                self.finish_insert(&out);
                return out;
            }
            if a < store_end {
                self.paint(a, store_end, Kind::Captured, data, rel, who, &mut out);
            }
            let cut_from = a.max(store_end);
            if cut_from < cap_end {
                out.capped = true;
                out.capped_bytes = cap_end - cut_from;
                self.s.caps_hit += 1;
                self.paint(cut_from, cap_end, Kind::Uncaptured, &[], rel, who, &mut out);
            }
            let unc_from = a.max(cap_end);
            if unc_from < end {
                self.paint(unc_from, end, Kind::Uncaptured, &[], rel, who, &mut out);
            }
            self.advance(sink);
        }
        self.high = self.high.max(end);

        if self.ranges.len() > self.limits.max_segments {
            out.capped = true;
            self.s.caps_hit += 1;
            while self.ranges.len() > self.limits.max_segments {
                if !self.skip_one(u64::MAX, sink) {
                    break;
                }
            }
        }
        self.finish_insert(&out);
        out
    }

    fn finish_insert(&mut self, out: &Insert) {
        let s = &mut self.s;
        s.duplicate_bytes += out.duplicate_bytes;
        s.unattributed_bytes += out.unattributed_bytes;
        s.mismatched_bytes += out.mismatched_bytes;
        s.capped_bytes += out.capped_bytes;
        s.late_bytes += out.late_bytes;
        s.before_start_bytes += out.before_start_bytes;
        s.after_fin_bytes += out.after_fin_bytes;
    }

    /// DATA_FIN at `dsn` (RFC 8684 §3.3.3): the stream's data ends just before `dsn`.
    pub fn data_fin(&mut self, dsn: u64, frame: u64) {
        let rel = dsn.wrapping_sub(self.start);
        if rel >= HALF || self.fin.is_some_and(|f| f != rel) {
            self.s.data_fin_conflicts += 1;
            return;
        }
        if self.fin.is_some() {
            return;
        }
        self.fin = Some(rel);
        self.s.data_fin = Some(dsn);
        self.s.data_fin_frame = Some(frame);
        if self.frontier > rel {
            self.s.after_fin_bytes += self.frontier - rel;
        }
        // Drop what is pending at or past the DATA_FIN.
        let (removed, removed_captured) = self.ranges.cut_at(rel);
        self.s.after_fin_bytes += removed;
        self.s.bytes = self.s.bytes.saturating_sub(removed);
        self.s.captured_bytes = self.s.captured_bytes.saturating_sub(removed_captured);
        self.high = self.high.min(rel.max(self.frontier));
        self.wire = self.wire.min(rel.max(self.frontier));
    }

    /// Ends the stream: delivers what can be delivered (with [`HolePolicy::Skip`], everything,
    /// holes announced) and returns the account.
    pub fn finish(mut self, sink: &mut dyn FnMut(Chunk<'_>)) -> Summary {
        self.advance(sink);
        // What waits now was never deliverable while the capture ran.
        self.s.order = self.order.finish();
        let end = self.fin.unwrap_or(self.high.max(self.frontier));
        match self.limits.hole_policy {
            HolePolicy::Skip => {
                while !self.ranges.is_empty() {
                    if !self.skip_one(u64::MAX, sink) {
                        break;
                    }
                }
                if self.frontier < end {
                    self.skip_one(end, sink);
                }
            }
            HolePolicy::Stop => {
                let mut cur = self.frontier;
                for iv in self.ranges.take_all() {
                    if iv.start > cur {
                        self.s.gaps.push(self.abs(cur), self.abs(iv.start));
                    }
                    match iv.kind {
                        Kind::Uncaptured => self.s.uncaptured.push(self.abs(iv.start), self.abs(iv.end)),
                        Kind::Captured => self.s.undelivered_bytes += iv.end - iv.start,
                    }
                    cur = iv.end;
                }
                if cur < end {
                    self.s.gaps.push(self.abs(cur), self.abs(end));
                }
            }
        }
        let mut s = self.s;
        s.end_dsn = self.start.wrapping_add(end);
        s.complete = self.fin.is_some_and(|f| self.frontier >= f) && s.gaps.count == 0 && s.uncaptured.count == 0 && s.stalled_at.is_none();
        s
    }

    /// Duplicate bytes in `[x, y)` below the delivery point; `data` is the captured prefix.
    fn settled_overlap(&mut self, x: u64, y: u64, data: &[u8], out: &mut Insert) {
        let mut late = 0;
        for &(a, b) in &self.skipped {
            let (lo, hi) = (a.max(x), b.min(y));
            if lo < hi {
                late += hi - lo;
            }
        }
        out.late_bytes += late;
        let dup = (y - x).saturating_sub(late);
        out.duplicate_bytes += dup;
        let covered = self.history.attribute(x, y, self.start, out);
        out.unattributed_bytes += dup.saturating_sub(covered);
        // Compare with the recently delivered bytes still held.
        let lo = x.max(self.ring.comparable_from());
        let hi = (x + data.len() as u64).min(self.frontier);
        if lo < hi {
            let d = data.get(to_usize(lo - x).unwrap_or(usize::MAX)..).unwrap_or(&[]);
            out.mismatched_bytes += self.compare(lo, d.get(..to_usize(hi - lo).unwrap_or(0)).unwrap_or(&[]));
        }
    }

    /// Marks `[a, b)` as seen with `kind` (kinds only upgrade), accounting new and duplicate
    /// bytes. `data` holds the piece's captured bytes starting at relative offset `base`.
    #[allow(clippy::too_many_arguments)]
    fn paint(&mut self, a: u64, b: u64, kind: Kind, data: &[u8], base: u64, who: Carrier, out: &mut Insert) {
        let Reassembler { ranges, ring, history, s, start, no_compare, .. } = self;
        ranges.paint(a, b, kind, |x, y, old| {
            let n = y - x;
            match old {
                None => {
                    out.new_bytes += n;
                    s.bytes += n;
                    if kind == Kind::Captured {
                        s.captured_bytes += n;
                        ring.write(x, slice_rel(data, base, x, y));
                    }
                    history.record(x, y, who);
                }
                Some(old) => {
                    out.duplicate_bytes += n;
                    let covered = history.attribute(x, y, *start, out);
                    out.unattributed_bytes += n.saturating_sub(covered);
                    match (old, kind) {
                        (Kind::Captured, Kind::Captured) if !*no_compare => {
                            out.mismatched_bytes += ring.compare(x, slice_rel(data, base, x, y));
                        }
                        (Kind::Uncaptured, Kind::Captured) => {
                            s.captured_bytes += n;
                            ring.write(x, slice_rel(data, base, x, y));
                        }
                        _ => {}
                    }
                }
            }
        });
    }

    /// Whether later inserts compare duplicate bytes with the first copy (on by default). Off
    /// for pieces whose content is known not to be the data of their DSN (Linux window probes).
    pub fn set_compare(&mut self, on: bool) {
        self.no_compare = !on;
    }

    /// Counts bytes of `bytes` that differ from the delivered bytes held at relative offset `x`.
    fn compare(&self, x: u64, bytes: &[u8]) -> u64 {
        if self.no_compare {
            return 0;
        }
        self.ring.compare(x, bytes)
    }

    #[cfg(test)]
    fn fast_path_allowed(&self) -> bool {
        !self.slow_only
    }

    #[cfg(not(test))]
    fn fast_path_allowed(&self) -> bool {
        true
    }

    /// A captured piece `[a, b)` starting at the delivery point with nothing pending below
    /// `b`: new bytes, delivered at once (then whatever pending range follows it).
    fn in_order(&mut self, a: u64, b: u64, bytes: &[u8], who: Carrier, out: &mut Insert, sink: &mut dyn FnMut(Chunk<'_>)) {
        let n = b - a;
        out.new_bytes += n;
        self.s.bytes += n;
        self.s.captured_bytes += n;
        // Without a recent window (memory pressure) nothing delivered is kept to compare with.
        if self.limits.recent_bytes > 0 {
            self.ring.write(a, bytes);
        }
        self.history.record(a, b, who);
        if self.s.stalled_at.is_none() {
            if !bytes.is_empty() {
                sink(Chunk::Data { dsn: self.abs(a), bytes });
            }
            self.s.delivered_bytes += n;
        }
        self.frontier = b;
        self.advance(sink);
        self.trim();
    }

    /// Delivers captured ranges contiguous with the delivery point.
    fn advance(&mut self, sink: &mut dyn FnMut(Chunk<'_>)) {
        let mut moved = false;
        while let Some(&iv) = self.ranges.first() {
            if iv.start != self.frontier || iv.kind != Kind::Captured {
                break;
            }
            let n = iv.end - iv.start;
            if self.s.stalled_at.is_none() {
                if let Some((h1, h2)) = self.ring.get(iv.start, to_usize(n).unwrap_or(0)) {
                    if !h1.is_empty() {
                        sink(Chunk::Data { dsn: self.abs(iv.start), bytes: h1 });
                    }
                    if !h2.is_empty() {
                        sink(Chunk::Data { dsn: self.abs(iv.start + h1.len() as u64), bytes: h2 });
                    }
                }
                self.s.delivered_bytes += n;
            }
            self.frontier = iv.end;
            self.ranges.pop_first();
            moved = true;
        }
        if moved {
            self.trim();
        }
    }

    /// Gives up the lowest hole: the whole range up to the next pending range, but not past
    /// `limit`. Reports it, moves the delivery point past it and delivers what
    /// follows. Returns false if there was nothing to give up.
    fn skip_one(&mut self, limit: u64, sink: &mut dyn FnMut(Chunk<'_>)) -> bool {
        let f = self.frontier;
        let (end, kind) = match self.ranges.first().copied() {
            Some(iv) if iv.start <= f => {
                if iv.kind == Kind::Captured {
                    self.advance(sink);
                    return true;
                }
                let end = iv.end.min(limit);
                self.ranges.raise_first_start(end);
                (end, HoleKind::Uncaptured)
            }
            Some(iv) => (iv.start.min(limit), HoleKind::NeverSeen),
            None if limit == u64::MAX => return false,
            None => (limit, HoleKind::NeverSeen),
        };
        if end <= f {
            return false;
        }
        if self.ranges.first().is_some_and(|iv| iv.start >= iv.end) {
            self.ranges.pop_first();
        }
        let (a, b) = (self.abs(f), self.abs(end));
        match kind {
            HoleKind::NeverSeen => {
                self.s.gaps.push(a, b);
                if self.skipped.len() >= MAX_SKIPPED {
                    self.skipped.pop_front();
                }
                self.skipped.push_back((f, end));
            }
            HoleKind::Uncaptured => self.s.uncaptured.push(a, b),
        }
        match self.limits.hole_policy {
            HolePolicy::Skip => {
                if self.s.stalled_at.is_none() {
                    sink(Chunk::Hole { dsn: a, len: end - f, kind });
                }
            }
            HolePolicy::Stop => {
                self.s.stalled_at.get_or_insert(a);
            }
        }
        self.frontier = end;
        self.ring.invalidate_below(end);
        self.trim();
        self.advance(sink);
        true
    }

    /// Drops held bytes no longer needed: keep at most `recent_bytes` of valid delivered data.
    fn trim(&mut self) {
        self.ring.trim(self.frontier, self.limits.recent_bytes);
    }
}

/// The bytes of `data` (starting at relative offset `base`) for `[x, y)`.
fn slice_rel(data: &[u8], base: u64, x: u64, y: u64) -> &[u8] {
    let lo = to_usize(x.saturating_sub(base)).unwrap_or(usize::MAX);
    let hi = to_usize(y.saturating_sub(base)).unwrap_or(usize::MAX);
    data.get(lo.min(data.len())..hi.min(data.len())).unwrap_or(&[])
}
