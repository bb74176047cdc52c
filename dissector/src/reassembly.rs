//! Data-level reassembly (RFC 8684 §3.3): rebuild one direction of an MPTCP connection's byte
//! stream from the mapped payload of all its subflows.
//!
//! The tracker decodes DSS mappings, expands DSNs to 64 bits and hands each mapped piece of
//! payload to [`Reassembler::insert`]. The reassembler delivers the data-level stream to a sink in
//! DSN order, each byte once, and accounts for what it saw: distinct bytes, duplicates (with the
//! subflow that carried them first, so reinjections can be explained), overlapping mappings whose
//! bytes disagree, ranges never seen (gaps) and ranges seen on the wire whose bytes the capture
//! does not have (snaplen, header-only captures).
//!
//! ```
//! use mptcp_dissector::reassembly::{Chunk, Reassembler, ReassemblyLimits};
//! let mut r = Reassembler::new(1000, ReassemblyLimits::default());
//! let mut out = Vec::new();
//! let mut sink = |c: Chunk<'_>| if let Chunk::Data { bytes, .. } = c { out.extend_from_slice(bytes) };
//! r.insert(1003, b"lo", 2, 2, 2, 20, &mut sink); // subflow 2, out of order: buffered
//! r.insert(1000, b"hel", 3, 1, 1, 10, &mut sink); // subflow 1 fills the hole: "hello"
//! r.data_fin(1005, 3);
//! let summary = r.finish(&mut sink);
//! assert!(summary.complete);
//! assert_eq!(out, b"hello");
//! ```
//!
//! # Sequence space
//! All positions are kept relative to the start DSN (`dsn.wrapping_sub(start)`), so streams that
//! start near `u64::MAX` and wrap to 0 work. A relative offset of 2^63 or more is taken to be
//! *before* the start (an old or bogus mapping): those bytes are counted in `before_start_bytes`
//! and otherwise ignored. Reported DSNs are absolute again; a reported range `(a, b)` is the
//! half-open range `[a, b)` in wrapping DSN space, so `b` may be numerically smaller than `a`.
//!
//! # How the caller learns about holes
//! The sink receives [`Chunk`]s. With [`HolePolicy::Stop`] (the default) it only ever receives
//! [`Chunk::Data`] for the contiguous, captured prefix of the stream; the first range that is
//! missing or uncaptured stops delivery, and [`Reassembler::finish`] reports every gap and
//! uncaptured range in the [`Summary`]. With [`HolePolicy::Skip`] the reassembler gives up on a
//! hole when it must (the out-of-order window is full, too many pieces, or `finish`) and tells the
//! sink with a [`Chunk::Hole`] before delivering the data that follows, so a writer can print
//! "gap of N bytes at DSN X". Either way, no byte is ever delivered out of order, twice, or past a
//! hole without the sink being told.
//!
//! # Memory
//! Bounded by [`ReassemblyLimits`], never by stream length: bytes are kept in one ring covering
//! at most `recent_bytes` already delivered (for mismatch checks) plus `max_buffered_bytes` of DSN
//! space above the delivery point; the range list holds at most `max_segments` entries
//! between calls, the origin history `history_ranges` entries, and reported range lists
//! [`MAX_REPORTED_RANGES`] entries each (with exact totals alongside).
//!
//! # DATA_FIN
//! [`Reassembler::data_fin`] fixes the end of the stream (the first DATA_FIN wins; a different one
//! later only counts in `data_fin_conflicts`). Bytes at or past the DATA_FIN's DSN are counted in
//! `after_fin_bytes` and dropped; bytes already buffered past it when it arrives are dropped and
//! removed from the `bytes`/`captured_bytes` totals; bytes already delivered past it cannot be
//! recalled and are only counted.

use std::collections::VecDeque;

/// Relative offsets at or above this are "before the start" (see the module docs).
const HALF: u64 = 1 << 63;
/// How many subflows an [`Insert`] attributes duplicates to; more go to `unattributed_bytes`.
pub const MAX_DUP_ORIGINS: usize = 4;
/// How many ranges each reported list in a [`Summary`] keeps (totals stay exact).
pub const MAX_REPORTED_RANGES: usize = 256;
/// How many skipped ("given up") never-seen holes are remembered to recognise late bytes.
const MAX_SKIPPED: usize = 64;
/// How many recent history entries are searched for a run to extend.
const COALESCE_LOOKBACK: usize = 8;

/// What to do about holes in the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HolePolicy {
    /// Deliver only the contiguous prefix; report holes in the [`Summary`]. If the range list
    /// overflows, the lowest hole is given up and delivery stops for good (`Summary::stalled_at`).
    #[default]
    Stop,
    /// Give up on a hole when the window or range list overflows, and at `finish`; the sink is
    /// told with [`Chunk::Hole`] and delivery continues after it.
    Skip,
}

/// Bounds on one reassembler's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Out-of-order window: captured bytes are buffered only up to this many DSNs above the
    /// delivery point. Default 4 MiB.
    pub max_buffered_bytes: usize,
    /// Maximum number of distinct out-of-order ranges above the delivery point. Default 16384.
    pub max_segments: usize,
    /// Maximum number of first-seen ranges remembered for duplicate attribution. Default 4096.
    pub history_ranges: usize,
    /// Delivered bytes kept to check retransmitted bytes against. Default 256 KiB.
    pub recent_bytes: usize,
    /// See [`HolePolicy`].
    pub hole_policy: HolePolicy,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            // Two subflows at a few Gbit/s reorder the data level by several MB (4.5 MB seen on
            // a 400 Mbit/s testbed capture); the buffer only grows as far as the reordering does.
            max_buffered_bytes: 32 << 20,
            max_segments: 16384,
            history_ranges: 4096,
            recent_bytes: 256 << 10,
            hole_policy: HolePolicy::Stop,
        }
    }
}

/// Why a range of the stream has no bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleKind {
    /// No mapping ever covered it.
    NeverSeen,
    /// Sent on the wire, but the capture does not have the bytes (snaplen, header-only capture,
    /// or dropped by the out-of-order window cap).
    Uncaptured,
}

/// What the sink receives, strictly in DSN order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Stream bytes starting at `dsn`.
    Data { dsn: u64, bytes: &'a [u8] },
    /// `len` DSNs starting at `dsn` will never be delivered (only with [`HolePolicy::Skip`]).
    Hole { dsn: u64, len: u64, kind: HoleKind },
}

/// Which subflow first carried bytes that arrived again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dup {
    /// The subflow id given to `insert` when these bytes were first seen.
    pub subflow: u32,
    /// Lowest DSN of the duplicated bytes attributed to this subflow.
    pub dsn: u64,
    /// How many duplicated bytes this subflow carried first.
    pub bytes: u64,
    /// The first sighting lies in a run first seen at `first_frame`/`first_ts_ns` and last
    /// extended at `last_frame`/`last_ts_ns` (runs from one subflow are coalesced to keep the
    /// history small, so the exact time of each byte is somewhere in between).
    pub first_frame: u64,
    pub first_ts_ns: u64,
    pub last_frame: u64,
    pub last_ts_ns: u64,
}

/// What one [`Reassembler::insert`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Insert {
    /// Bytes never seen before.
    pub new_bytes: u64,
    /// Bytes seen before (retransmissions, reinjections, overlapping mappings).
    pub duplicate_bytes: u64,
    dups: [Dup; MAX_DUP_ORIGINS],
    dup_len: usize,
    /// Duplicate bytes whose first carrier is unknown (history evicted, or more origins than
    /// [`MAX_DUP_ORIGINS`]).
    pub unattributed_bytes: u64,
    /// Duplicate bytes whose content differs from the first sighting (both captured and still
    /// held). RFC 8684 §3.3.1: overlapping mappings must carry the same data.
    pub mismatched_bytes: u64,
    /// A cap was hit during this insert (see `Summary::caps_hit`).
    pub capped: bool,
    /// Captured bytes dropped because they were beyond the out-of-order window.
    pub capped_bytes: u64,
    /// Bytes falling in a hole already given up on (reported as a gap; not delivered).
    pub late_bytes: u64,
    /// Bytes before the start DSN (ignored).
    pub before_start_bytes: u64,
    /// Bytes at or past the DATA_FIN (ignored).
    pub after_fin_bytes: u64,
}

impl Insert {
    /// Duplicate bytes by first carrier, at most [`MAX_DUP_ORIGINS`] entries.
    pub fn duplicates(&self) -> &[Dup] {
        self.dups.get(..self.dup_len).unwrap_or(&[])
    }

    fn add_dup(&mut self, origin: &Origin, dsn: u64, bytes: u64) -> bool {
        let len = self.dup_len;
        if let Some(d) = self.dups.iter_mut().take(len).find(|d| d.subflow == origin.subflow) {
            d.bytes += bytes;
            if dsn.wrapping_sub(d.dsn) >= HALF {
                d.dsn = dsn;
            }
            if origin.first_ts_ns < d.first_ts_ns {
                d.first_ts_ns = origin.first_ts_ns;
                d.first_frame = origin.first_frame;
            }
            if origin.last_ts_ns > d.last_ts_ns {
                d.last_ts_ns = origin.last_ts_ns;
                d.last_frame = origin.last_frame;
            }
            return true;
        }
        match self.dups.get_mut(len) {
            Some(slot) => {
                *slot = Dup {
                    subflow: origin.subflow,
                    dsn,
                    bytes,
                    first_frame: origin.first_frame,
                    first_ts_ns: origin.first_ts_ns,
                    last_frame: origin.last_frame,
                    last_ts_ns: origin.last_ts_ns,
                };
                self.dup_len += 1;
                true
            }
            None => false,
        }
    }
}

/// A bounded list of DSN ranges with exact totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeReport {
    /// The first [`MAX_REPORTED_RANGES`] ranges `[a, b)`, absolute DSNs, in order.
    pub ranges: Vec<(u64, u64)>,
    /// How many ranges there were in all.
    pub count: u64,
    /// How many DSNs they cover in all.
    pub bytes: u64,
}

impl RangeReport {
    fn push(&mut self, a: u64, b: u64) {
        let len = b.wrapping_sub(a);
        if len == 0 {
            return;
        }
        self.bytes += len;
        let all_kept = self.count as usize == self.ranges.len();
        if let Some(last) = self.ranges.last_mut() {
            if last.1 == a && all_kept {
                last.1 = b;
                return;
            }
        }
        self.count += 1;
        if self.ranges.len() < MAX_REPORTED_RANGES {
            self.ranges.push((a, b));
        }
    }
}

/// The end-of-stream account of one direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// First data byte's DSN (IDSN + 1).
    pub start_dsn: u64,
    /// Exclusive end: the DATA_FIN's DSN if seen, else the highest byte seen + 1.
    pub end_dsn: u64,
    /// Distinct bytes seen (sent), captured or not.
    pub bytes: u64,
    /// Distinct bytes whose content the capture had (including ones dropped by the window cap).
    pub captured_bytes: u64,
    /// Bytes given to the sink.
    pub delivered_bytes: u64,
    /// Captured bytes buffered behind a hole and never delivered (Stop policy).
    pub undelivered_bytes: u64,
    /// Ranges never seen between start and end.
    pub gaps: RangeReport,
    /// Ranges seen on the wire whose bytes were not captured (or dropped by the window cap).
    pub uncaptured: RangeReport,
    /// DATA_FIN's DSN, if seen.
    pub data_fin: Option<u64>,
    /// Frame of the DATA_FIN, if seen.
    pub data_fin_frame: Option<u64>,
    /// No gap and nothing uncaptured from start to DATA_FIN, DATA_FIN seen, all delivered.
    pub complete: bool,
    /// With [`HolePolicy::Stop`]: DSN where delivery stopped for good because the range list
    /// overflowed.
    pub stalled_at: Option<u64>,
    /// How many times a limit was hit.
    pub caps_hit: u64,
    /// Captured bytes dropped by the out-of-order window cap.
    pub capped_bytes: u64,
    pub duplicate_bytes: u64,
    pub unattributed_bytes: u64,
    pub mismatched_bytes: u64,
    pub late_bytes: u64,
    pub before_start_bytes: u64,
    pub after_fin_bytes: u64,
    /// DATA_FINs whose DSN disagreed with the first one (or lay before the start).
    pub data_fin_conflicts: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Uncaptured,
    Captured,
}

/// A range `[start, end)` of relative offsets above the delivery point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Iv {
    start: u64,
    end: u64,
    kind: Kind,
}

/// A first-seen run of bytes from one subflow.
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

/// Who carried the piece being inserted.
#[derive(Clone, Copy)]
struct Carrier {
    subflow: u32,
    frame: u64,
    ts_ns: u64,
}

/// Reassembles one direction of one MPTCP connection at the data level.
#[derive(Debug)]
pub struct Reassembler {
    start: u64,
    limits: ReassemblyLimits,
    /// Everything below this relative offset is settled: delivered or given up.
    frontier: u64,
    /// Sorted, disjoint, adjacent same-kind ranges merged; all at or above `frontier`; `Captured`
    /// ranges lie within `buf`.
    ivs: Vec<Iv>,
    scratch: Vec<Iv>,
    /// Bytes of `[buf_start, buf_start + buf.len())`; `buf_start <= frontier`.
    buf: VecDeque<u8>,
    buf_start: u64,
    /// `[max(buf_start, recent_valid), frontier)` is delivered data, safe to compare against.
    recent_valid: u64,
    history: VecDeque<Origin>,
    skipped: VecDeque<(u64, u64)>,
    fin: Option<u64>,
    high: u64,
    /// Compare duplicate bytes with the first copy (see [`Reassembler::set_compare`]).
    no_compare: bool,
    s: Summary,
}

impl Reassembler {
    /// `start_dsn` is the DSN of the first data byte (IDSN + 1).
    pub fn new(start_dsn: u64, limits: ReassemblyLimits) -> Self {
        Reassembler {
            start: start_dsn,
            limits,
            frontier: 0,
            ivs: Vec::new(),
            scratch: Vec::new(),
            buf: VecDeque::new(),
            buf_start: 0,
            recent_valid: 0,
            history: VecDeque::new(),
            skipped: VecDeque::new(),
            fin: None,
            high: 0,
            no_compare: false,
            s: Summary { start_dsn, ..Summary::default() },
        }
    }

    /// DSN of the next byte the sink will receive.
    pub fn next_dsn(&self) -> u64 {
        self.abs(self.frontier)
    }

    /// Bytes currently held (buffered out of order plus the recent delivered window).
    pub fn held_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Out-of-order ranges currently tracked.
    pub fn pending_ranges(&self) -> usize {
        self.ivs.len()
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

        if self.ivs.len() > self.limits.max_segments {
            out.capped = true;
            self.s.caps_hit += 1;
            while self.ivs.len() > self.limits.max_segments {
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
        let mut removed = 0u64;
        let mut removed_captured = 0u64;
        self.ivs.retain_mut(|iv| {
            if iv.end <= rel {
                return true;
            }
            let from = iv.start.max(rel);
            removed += iv.end - from;
            if iv.kind == Kind::Captured {
                removed_captured += iv.end - from;
            }
            iv.end = from;
            iv.start < iv.end
        });
        self.s.after_fin_bytes += removed;
        self.s.bytes = self.s.bytes.saturating_sub(removed);
        self.s.captured_bytes = self.s.captured_bytes.saturating_sub(removed_captured);
        self.high = self.high.min(rel.max(self.frontier));
    }

    /// Ends the stream: delivers what can be delivered (with [`HolePolicy::Skip`], everything,
    /// holes announced) and returns the account.
    pub fn finish(mut self, sink: &mut dyn FnMut(Chunk<'_>)) -> Summary {
        self.advance(sink);
        let end = self.fin.unwrap_or(self.high.max(self.frontier));
        match self.limits.hole_policy {
            HolePolicy::Skip => {
                while !self.ivs.is_empty() {
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
                for iv in std::mem::take(&mut self.ivs) {
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
        let covered = self.attribute(x, y, out);
        out.unattributed_bytes += dup.saturating_sub(covered);
        // Compare with the recently delivered bytes still held.
        let lo = x.max(self.buf_start).max(self.recent_valid);
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
        let i = self.ivs.partition_point(|iv| iv.end < a);
        let j = self.ivs.partition_point(|iv| iv.start <= b);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut cur = a;
        for k in i..j {
            let Some(&iv) = self.ivs.get(k) else { break };
            if iv.start < a {
                push_iv(&mut scratch, iv.start, iv.end.min(a), iv.kind);
            }
            let os = iv.start.max(a);
            let oe = iv.end.min(b);
            if cur < os {
                self.on_new(cur, os.min(b), kind, data, base, who, out);
                push_iv(&mut scratch, cur, os.min(b), kind);
                cur = os.min(b);
            }
            if os < oe {
                self.on_dup(os, oe, iv.kind, kind, data, base, out);
                push_iv(&mut scratch, os, oe, iv.kind.max(kind));
                cur = oe;
            }
            if iv.end > b {
                push_iv(&mut scratch, b.max(iv.start), iv.end, iv.kind);
            }
        }
        if cur < b {
            self.on_new(cur, b, kind, data, base, who, out);
            push_iv(&mut scratch, cur, b, kind);
        }
        if i <= j && j <= self.ivs.len() {
            self.ivs.splice(i..j, scratch.drain(..));
        }
        self.scratch = scratch;
    }

    #[allow(clippy::too_many_arguments)]
    fn on_new(&mut self, x: u64, y: u64, kind: Kind, data: &[u8], base: u64, who: Carrier, out: &mut Insert) {
        let n = y - x;
        out.new_bytes += n;
        self.s.bytes += n;
        if kind == Kind::Captured {
            self.s.captured_bytes += n;
            self.write(x, slice_rel(data, base, x, y));
        }
        self.record_origin(x, y, who);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_dup(&mut self, x: u64, y: u64, old: Kind, new: Kind, data: &[u8], base: u64, out: &mut Insert) {
        let n = y - x;
        out.duplicate_bytes += n;
        let covered = self.attribute(x, y, out);
        out.unattributed_bytes += n.saturating_sub(covered);
        match (old, new) {
            (Kind::Captured, Kind::Captured) => {
                out.mismatched_bytes += self.compare(x, slice_rel(data, base, x, y));
            }
            (Kind::Uncaptured, Kind::Captured) => {
                self.s.captured_bytes += n;
                self.write(x, slice_rel(data, base, x, y));
            }
            _ => {}
        }
    }

    /// Attributes duplicate `[x, y)` to the subflows that carried it first; returns how many
    /// bytes were attributed.
    fn attribute(&self, x: u64, y: u64, out: &mut Insert) -> u64 {
        let mut covered = 0;
        for o in self.history.iter().rev() {
            let (lo, hi) = (o.start.max(x), o.end.min(y));
            if lo < hi && out.add_dup(o, self.abs(lo), hi - lo) {
                covered += hi - lo;
            }
        }
        covered
    }

    fn record_origin(&mut self, x: u64, y: u64, who: Carrier) {
        if self.limits.history_ranges == 0 {
            return;
        }
        if let Some(o) = self.history.iter_mut().rev().take(COALESCE_LOOKBACK).find(|o| o.subflow == who.subflow && o.end == x) {
            o.end = y;
            o.last_frame = who.frame;
            o.last_ts_ns = who.ts_ns;
            return;
        }
        if self.history.len() >= self.limits.history_ranges {
            self.history.pop_front();
        }
        self.history.push_back(Origin {
            start: x,
            end: y,
            subflow: who.subflow,
            first_frame: who.frame,
            first_ts_ns: who.ts_ns,
            last_frame: who.frame,
            last_ts_ns: who.ts_ns,
        });
    }

    /// Writes captured bytes at relative offset `x` (>= frontier, within the window).
    fn write(&mut self, x: u64, bytes: &[u8]) {
        let (Some(off), Some(end)) =
            (to_usize(x.saturating_sub(self.buf_start)), to_usize((x + bytes.len() as u64).saturating_sub(self.buf_start)))
        else {
            return;
        };
        if x < self.buf_start {
            return;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let (s1, s2) = self.buf.as_mut_slices();
        let (d1, d2) = split_range_mut(s1, s2, off, bytes.len());
        let (b1, b2) = bytes.split_at(d1.len().min(bytes.len()));
        // Two memcpys (one per half of the ring): a zipped byte loop does not vectorise and
        // was the hottest line of `analyze`.
        let n1 = d1.len().min(b1.len());
        if let (Some(d), Some(b)) = (d1.get_mut(..n1), b1.get(..n1)) {
            d.copy_from_slice(b);
        }
        let n2 = d2.len().min(b2.len());
        if let (Some(d), Some(b)) = (d2.get_mut(..n2), b2.get(..n2)) {
            d.copy_from_slice(b);
        }
    }

    /// Whether later inserts compare duplicate bytes with the first copy (on by default). Off
    /// for pieces whose content is known not to be the data of their DSN (Linux window probes).
    pub fn set_compare(&mut self, on: bool) {
        self.no_compare = !on;
    }

    /// Counts bytes of `bytes` that differ from the held bytes at relative offset `x`.
    fn compare(&self, x: u64, bytes: &[u8]) -> u64 {
        if self.no_compare {
            return 0;
        }
        let Some(off) = x.checked_sub(self.buf_start).and_then(to_usize) else {
            return 0;
        };
        let (s1, s2) = self.buf.as_slices();
        let (h1, h2) = split_range(s1, s2, off, bytes.len());
        h1.iter().chain(h2).zip(bytes).filter(|(a, b)| a != b).count() as u64
    }

    /// Delivers captured ranges contiguous with the delivery point.
    fn advance(&mut self, sink: &mut dyn FnMut(Chunk<'_>)) {
        let mut moved = false;
        while let Some(&iv) = self.ivs.first() {
            if iv.start != self.frontier || iv.kind != Kind::Captured {
                break;
            }
            let n = iv.end - iv.start;
            if self.s.stalled_at.is_none() {
                if let Some(off) = to_usize(iv.start - self.buf_start) {
                    let (s1, s2) = self.buf.as_slices();
                    let (h1, h2) = split_range(s1, s2, off, to_usize(n).unwrap_or(0));
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
            self.ivs.remove(0);
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
        let (end, kind) = match self.ivs.first_mut() {
            Some(iv) if iv.start <= f => {
                if iv.kind == Kind::Captured {
                    self.advance(sink);
                    return true;
                }
                let end = iv.end.min(limit);
                iv.start = end;
                (end, HoleKind::Uncaptured)
            }
            Some(iv) => (iv.start.min(limit), HoleKind::NeverSeen),
            None if limit == u64::MAX => return false,
            None => (limit, HoleKind::NeverSeen),
        };
        if end <= f {
            return false;
        }
        if self.ivs.first().is_some_and(|iv| iv.start >= iv.end) {
            self.ivs.remove(0);
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
        self.recent_valid = end;
        self.trim();
        self.advance(sink);
        true
    }

    /// Drops held bytes no longer needed: keep at most `recent_bytes` of valid delivered data.
    fn trim(&mut self) {
        let recent = u64::try_from(self.limits.recent_bytes).unwrap_or(u64::MAX);
        let keep_from = self.frontier.saturating_sub(recent).max(self.recent_valid).max(self.buf_start);
        let buf_end = self.buf_start + self.buf.len() as u64;
        if keep_from >= buf_end {
            self.buf.clear();
            self.buf_start = keep_from;
        } else if keep_from > self.buf_start {
            let n = to_usize(keep_from - self.buf_start).unwrap_or(0);
            self.buf.drain(..n.min(self.buf.len()));
            self.buf_start = keep_from;
        }
    }
}

fn to_usize(x: u64) -> Option<usize> {
    usize::try_from(x).ok()
}

/// The bytes of `data` (starting at relative offset `base`) for `[x, y)`.
fn slice_rel(data: &[u8], base: u64, x: u64, y: u64) -> &[u8] {
    let lo = to_usize(x.saturating_sub(base)).unwrap_or(usize::MAX);
    let hi = to_usize(y.saturating_sub(base)).unwrap_or(usize::MAX);
    data.get(lo.min(data.len())..hi.min(data.len())).unwrap_or(&[])
}

fn push_iv(v: &mut Vec<Iv>, start: u64, end: u64, kind: Kind) {
    if start >= end {
        return;
    }
    if let Some(last) = v.last_mut() {
        if last.end == start && last.kind == kind {
            last.end = end;
            return;
        }
    }
    v.push(Iv { start, end, kind });
}

/// `[off, off + len)` of the concatenation `s1 ++ s2`, clipped, as two slices.
fn split_range<'a>(s1: &'a [u8], s2: &'a [u8], off: usize, len: usize) -> (&'a [u8], &'a [u8]) {
    let end = off.saturating_add(len);
    let a = s1.get(off.min(s1.len())..end.min(s1.len())).unwrap_or(&[]);
    let off2 = off.saturating_sub(s1.len());
    let end2 = end.saturating_sub(s1.len());
    let b = s2.get(off2.min(s2.len())..end2.min(s2.len())).unwrap_or(&[]);
    (a, b)
}

fn split_range_mut<'a>(s1: &'a mut [u8], s2: &'a mut [u8], off: usize, len: usize) -> (&'a mut [u8], &'a mut [u8]) {
    let end = off.saturating_add(len);
    let (l1, l2) = (s1.len(), s2.len());
    let a = s1.get_mut(off.min(l1)..end.min(l1)).unwrap_or(&mut []);
    let b = s2.get_mut(off.saturating_sub(l1).min(l2)..end.saturating_sub(l1).min(l2)).unwrap_or(&mut []);
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Collects what the sink receives, checking order as it goes.
    #[derive(Default, Debug)]
    struct Out {
        data: Vec<u8>,
        holes: Vec<(u64, u64, HoleKind)>,
        next: Option<u64>,
        out_of_order: bool,
    }

    impl Out {
        fn take(&mut self, c: Chunk<'_>) {
            let (dsn, len) = match c {
                Chunk::Data { dsn, bytes } => {
                    self.data.extend_from_slice(bytes);
                    (dsn, bytes.len() as u64)
                }
                Chunk::Hole { dsn, len, kind } => {
                    self.holes.push((dsn, len, kind));
                    (dsn, len)
                }
            };
            if self.next.is_some_and(|n| n != dsn) {
                self.out_of_order = true;
            }
            self.next = Some(dsn.wrapping_add(len));
        }
    }

    fn ins(r: &mut Reassembler, o: &mut Out, dsn: u64, bytes: &[u8], subflow: u32, frame: u64) -> Insert {
        r.insert(dsn, bytes, bytes.len() as u32, subflow, frame, frame * 1000, &mut |c| o.take(c))
    }

    fn stream(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn skip_limits() -> ReassemblyLimits {
        ReassemblyLimits { hole_policy: HolePolicy::Skip, ..ReassemblyLimits::default() }
    }

    #[test]
    fn in_order() {
        let s = stream(10_000);
        let mut r = Reassembler::new(100, ReassemblyLimits::default());
        let mut o = Out::default();
        for (k, c) in s.chunks(1400).enumerate() {
            let i = ins(&mut r, &mut o, 100 + (k * 1400) as u64, c, 1, k as u64);
            assert_eq!(i.new_bytes, c.len() as u64);
            assert_eq!(i.duplicate_bytes, 0);
        }
        assert_eq!(o.data, s);
        assert_eq!(r.pending_ranges(), 0);
        r.data_fin(10_100, 99);
        let sum = r.finish(&mut |c| o.take(c));
        assert!(sum.complete);
        assert_eq!((sum.bytes, sum.captured_bytes, sum.delivered_bytes), (10_000, 10_000, 10_000));
        assert_eq!(sum.end_dsn, 10_100);
        assert!(!o.out_of_order);
    }

    #[test]
    fn reversed_order() {
        let s = stream(5000);
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        let mut o = Out::default();
        let pieces: Vec<_> = s.chunks(100).enumerate().collect();
        for (k, c) in pieces.iter().rev() {
            ins(&mut r, &mut o, (*k * 100) as u64, c, 1, *k as u64);
            if *k != 0 {
                assert!(o.data.is_empty());
            }
        }
        assert_eq!(o.data, s);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(sum.duplicate_bytes, 0);
        assert_eq!(sum.gaps.count, 0);
    }

    #[test]
    fn gaps_reported_exactly() {
        let s = stream(1000);
        let mut r = Reassembler::new(1 << 32, ReassemblyLimits::default());
        let mut o = Out::default();
        let base = 1u64 << 32;
        ins(&mut r, &mut o, base, &s[..100], 1, 1);
        ins(&mut r, &mut o, base + 200, &s[200..300], 1, 2);
        ins(&mut r, &mut o, base + 500, &s[500..600], 2, 3);
        r.data_fin(base + 1000, 4);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(o.data, &s[..100]);
        assert_eq!(sum.gaps.ranges, vec![(base + 100, base + 200), (base + 300, base + 500), (base + 600, base + 1000)]);
        assert_eq!((sum.gaps.count, sum.gaps.bytes), (3, 700));
        assert_eq!(sum.undelivered_bytes, 200);
        assert!(!sum.complete);
    }

    #[test]
    fn skip_policy_announces_holes() {
        let s = stream(1000);
        let mut r = Reassembler::new(0, skip_limits());
        let mut o = Out::default();
        ins(&mut r, &mut o, 200, &s[200..300], 1, 2);
        r.insert(300, &[], 100, 1, 3, 3, &mut |c| o.take(c));
        ins(&mut r, &mut o, 0, &s[..100], 1, 1);
        r.data_fin(500, 4);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(o.holes, vec![(100, 100, HoleKind::NeverSeen), (300, 100, HoleKind::Uncaptured), (400, 100, HoleKind::NeverSeen)]);
        let mut expect = s[..100].to_vec();
        expect.extend_from_slice(&s[200..300]);
        assert_eq!(o.data, expect);
        assert!(!o.out_of_order);
        assert_eq!(sum.gaps.ranges, vec![(100, 200), (400, 500)]);
        assert_eq!(sum.uncaptured.ranges, vec![(300, 400)]);
        // A late byte for a hole already given up is counted, not delivered.
    }

    #[test]
    fn late_bytes_after_skip() {
        let s = stream(3000);
        let lim = ReassemblyLimits { max_buffered_bytes: 1000, ..skip_limits() };
        let mut r = Reassembler::new(0, lim);
        let mut o = Out::default();
        ins(&mut r, &mut o, 1000, &s[1000..2000], 1, 1); // fits exactly
        ins(&mut r, &mut o, 2000, &s[2000..2500], 1, 2); // window full: hole [0,1000) given up
        assert_eq!(o.holes, vec![(0, 1000, HoleKind::NeverSeen)]);
        assert_eq!(o.data, &s[1000..2500]);
        let i = ins(&mut r, &mut o, 0, &s[..100], 2, 3);
        assert_eq!((i.late_bytes, i.new_bytes, i.duplicate_bytes), (100, 0, 0));
        assert_eq!(o.data, &s[1000..2500]);
    }

    #[test]
    fn uncaptured_ranges_block_and_are_reported() {
        let s = stream(3000);
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        let mut o = Out::default();
        r.insert(0, &s[..1000], 1000, 1, 1, 1, &mut |c| o.take(c));
        // snaplen: only 60 of 1000 bytes captured
        r.insert(1000, &s[1000..1060], 1000, 1, 2, 2, &mut |c| o.take(c));
        r.insert(2000, &s[2000..3000], 1000, 1, 3, 3, &mut |c| o.take(c));
        assert_eq!(o.data, &s[..1060]);
        r.data_fin(3000, 4);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(sum.uncaptured.ranges, vec![(1060, 2000)]);
        assert_eq!(sum.gaps.count, 0);
        assert_eq!((sum.bytes, sum.captured_bytes), (3000, 2060));
        assert!(!sum.complete);

        // header-only capture: all seen, nothing captured, no caps hit
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        for k in 0..10_000u64 {
            r.insert(k * 1400, &[], 1400, 1, k, k, &mut |c| o.take(c));
        }
        r.data_fin(14_000_000, 1);
        assert_eq!(r.pending_ranges(), 1);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(sum.uncaptured.ranges, vec![(0, 14_000_000)]);
        assert_eq!((sum.bytes, sum.captured_bytes, sum.caps_hit), (14_000_000, 0, 0));
    }

    #[test]
    fn retransmission_fills_uncaptured() {
        let s = stream(200);
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        let mut o = Out::default();
        r.insert(0, &[], 200, 1, 1, 1, &mut |c| o.take(c));
        assert!(o.data.is_empty());
        let i = ins(&mut r, &mut o, 0, &s, 2, 2);
        assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (200, 0));
        assert_eq!(o.data, s);
        r.data_fin(200, 3);
        let sum = r.finish(&mut |c| o.take(c));
        assert!(sum.complete);
        assert_eq!(sum.captured_bytes, 200);
    }

    #[test]
    fn data_fin_completeness() {
        let s = stream(100);
        let mut r = Reassembler::new(7, ReassemblyLimits::default());
        let mut o = Out::default();
        ins(&mut r, &mut o, 7, &s, 1, 1);
        let sum = r.finish(&mut |c| o.take(c));
        assert!(!sum.complete, "no DATA_FIN");
        assert_eq!(sum.end_dsn, 107);

        let mut r = Reassembler::new(7, ReassemblyLimits::default());
        r.data_fin(107, 2);
        r.data_fin(108, 3); // conflicting
        let i = ins(&mut r, &mut o, 7, &[s.as_slice(), b"xyz"].concat(), 1, 1);
        assert_eq!(i.after_fin_bytes, 3);
        let sum = r.finish(&mut |c| o.take(c));
        assert!(sum.complete);
        assert_eq!((sum.data_fin, sum.data_fin_conflicts, sum.after_fin_bytes), (Some(107), 1, 3));

        // DATA_FIN arriving after out-of-order bytes past it
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        ins(&mut r, &mut o, 50, &s[50..], 1, 1);
        r.data_fin(60, 2);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!((sum.bytes, sum.after_fin_bytes), (10, 40));
        assert_eq!(sum.gaps.ranges, vec![(0, 50)]);
    }

    #[test]
    fn huge_jump_stays_bounded() {
        let s = stream(1400);
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        let mut o = Out::default();
        ins(&mut r, &mut o, 0, &s, 1, 1);
        for k in 0..100u64 {
            let i = ins(&mut r, &mut o, (1 << 30) + k * 1400, &s, 1, k + 2);
            assert!(i.capped);
            assert_eq!(i.capped_bytes, 1400);
        }
        let lim = ReassemblyLimits::default();
        assert!(r.held_bytes() <= lim.max_buffered_bytes + lim.recent_bytes);
        // 2^40 jump too
        let i = ins(&mut r, &mut o, 1 << 40, &s, 1, 1000);
        assert!(i.capped);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(o.data, s);
        assert_eq!(sum.caps_hit, 101);
        assert_eq!(sum.gaps.ranges, vec![(1400, 1 << 30), ((1 << 30) + 140_000, 1 << 40)]);
        assert_eq!(sum.uncaptured.bytes, 141_400);

        // Skip policy: the jump becomes one announced hole and delivery goes on.
        let mut r = Reassembler::new(0, skip_limits());
        let mut o = Out::default();
        ins(&mut r, &mut o, 0, &s, 1, 1);
        ins(&mut r, &mut o, 1 << 30, &s, 1, 2);
        // beyond the window: the hole is given up at once and the piece delivered
        assert_eq!(o.data.len(), 2800);
        let big = vec![1u8; 5 << 20];
        for (k, c) in big.chunks(1400).enumerate() {
            ins(&mut r, &mut o, (1 << 30) + 1400 + (k * 1400) as u64, c, 1, k as u64);
        }
        assert!(r.held_bytes() <= lim.max_buffered_bytes + lim.recent_bytes);
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(o.holes, vec![(1400, (1 << 30) - 1400, HoleKind::NeverSeen)]);
        assert_eq!(sum.delivered_bytes, 2800 + (5 << 20));
        assert!(!o.out_of_order);
    }

    #[test]
    fn window_skip_stops_at_new_piece() {
        // A far pending piece must not make the skip swallow a nearer new piece.
        let s = stream(3000);
        let lim = ReassemblyLimits { max_buffered_bytes: 1000, ..skip_limits() };
        let mut r = Reassembler::new(0, lim);
        let mut o = Out::default();
        ins(&mut r, &mut o, 900, &s[900..1000], 1, 1);
        ins(&mut r, &mut o, 2000, &s[2000..2100], 1, 2); // window: [0,900) given up
        assert_eq!(o.holes, vec![(0, 900, HoleKind::NeverSeen), (1000, 1000, HoleKind::NeverSeen)]);
        let mut r = Reassembler::new(0, lim);
        let mut o = Out::default();
        r.insert(0, &[], 10, 1, 1, 1, &mut |c| o.take(c)); // uncaptured at the delivery point
        ins(&mut r, &mut o, 800, &s[800..900], 1, 2); // pending, within the window
        ins(&mut r, &mut o, 1050, &s[1050..1100], 1, 3); // needs 100 DSNs of room
                                                         // whole holes are given up, up to the next pending data; [900,1050) is still awaited
        assert_eq!(o.holes, vec![(0, 10, HoleKind::Uncaptured), (10, 790, HoleKind::NeverSeen)]);
        let i = ins(&mut r, &mut o, 900, &s[900..1050], 1, 4);
        assert_eq!((i.late_bytes, i.new_bytes), (0, 150));
        assert_eq!(o.data, &s[800..1100]);
    }

    #[test]
    fn segment_cap_bounded() {
        let lim = ReassemblyLimits { max_segments: 64, ..ReassemblyLimits::default() };
        let mut r = Reassembler::new(0, lim);
        let mut o = Out::default();
        let s = stream(10);
        for k in 1..1000u64 {
            ins(&mut r, &mut o, k * 20, &s, 1, k);
            assert!(r.pending_ranges() <= 64);
        }
        let sum = r.finish(&mut |c| o.take(c));
        assert!(sum.caps_hit > 0);
        assert_eq!(sum.stalled_at, Some(0));
        assert!(o.data.is_empty());
        assert_eq!(sum.gaps.count, 999);

        let mut r = Reassembler::new(0, ReassemblyLimits { hole_policy: HolePolicy::Skip, ..lim });
        let mut o = Out::default();
        for k in 1..1000u64 {
            ins(&mut r, &mut o, k * 20, &s, 1, k);
        }
        r.finish(&mut |c| o.take(c));
        assert_eq!(o.data.len(), 9990);
        assert_eq!(o.holes.len(), 999);
        assert!(!o.out_of_order);
    }

    #[test]
    fn wrap_around_start() {
        let s = stream(4000);
        let start = u64::MAX - 1499;
        let mut r = Reassembler::new(start, ReassemblyLimits::default());
        let mut o = Out::default();
        ins(&mut r, &mut o, start.wrapping_add(2000), &s[2000..], 2, 2);
        ins(&mut r, &mut o, start, &s[..2500], 1, 1);
        assert_eq!(o.data, s);
        // before the start: ignored
        let mut p = vec![0u8; 10];
        p.extend_from_slice(&s[..10]);
        let i = ins(&mut r, &mut o, start - 10, &p, 1, 3);
        assert_eq!((i.before_start_bytes, i.duplicate_bytes), (10, 10));
        r.data_fin(start.wrapping_add(4000), 4);
        let sum = r.finish(&mut |c| o.take(c));
        assert!(sum.complete);
        assert_eq!(sum.end_dsn, 2500);
        assert_eq!(sum.duplicate_bytes, 510);
        assert_eq!(sum.mismatched_bytes, 0);
    }

    #[test]
    fn duplicate_attribution() {
        let s = stream(1500);
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        let mut o = Out::default();
        r.insert(0, &s[..1000], 1000, 1, 10, 5_000_000, &mut |c| o.take(c));
        let i = r.insert(500, &s[500..1500], 1000, 2, 20, 9_000_000, &mut |c| o.take(c));
        assert_eq!((i.new_bytes, i.duplicate_bytes, i.unattributed_bytes), (500, 500, 0));
        let d = i.duplicates();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].subflow, d[0].dsn, d[0].bytes, d[0].first_frame, d[0].first_ts_ns), (1, 500, 500, 10, 5_000_000));
        assert_eq!(o.data, s);

        // Out of order: a later piece covering several buffered pieces from two subflows.
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        ins(&mut r, &mut o, 100, &s[100..200], 3, 1);
        ins(&mut r, &mut o, 300, &s[300..400], 4, 2);
        ins(&mut r, &mut o, 400, &s[400..450], 3, 3);
        let i = ins(&mut r, &mut o, 50, &s[50..500], 5, 4);
        assert_eq!((i.new_bytes, i.duplicate_bytes), (200, 250));
        let mut d = i.duplicates().to_vec();
        d.sort_by_key(|d| d.subflow);
        assert_eq!(d.iter().map(|d| (d.subflow, d.bytes)).collect::<Vec<_>>(), vec![(3, 150), (4, 100)]);

        // History cap: the origin is forgotten, the duplicate stays counted.
        let lim = ReassemblyLimits { history_ranges: 2, ..ReassemblyLimits::default() };
        let mut r = Reassembler::new(0, lim);
        for k in 0..5u64 {
            ins(&mut r, &mut o, k * 100 + 1000, &s[..50], k as u32, k);
        }
        let i = ins(&mut r, &mut o, 1000, &s[..50], 9, 9);
        assert_eq!((i.duplicate_bytes, i.unattributed_bytes), (50, 50));
    }

    #[test]
    fn history_coalesces_runs() {
        let s = stream(100_000);
        let lim = ReassemblyLimits { history_ranges: 4, ..ReassemblyLimits::default() };
        let mut r = Reassembler::new(0, lim);
        let mut o = Out::default();
        for (k, c) in s.chunks(1000).enumerate() {
            // two subflows alternate 1000-byte runs of 500-byte packets
            let (a, b) = c.split_at(500);
            let sf = (k % 2) as u32;
            ins(&mut r, &mut o, (k * 1000) as u64, a, sf, 2 * k as u64);
            ins(&mut r, &mut o, (k * 1000 + 500) as u64, b, sf, 2 * k as u64 + 1);
        }
        let i = ins(&mut r, &mut o, 99_000, &s[99_000..], 7, 999);
        assert_eq!(i.unattributed_bytes, 0);
        assert_eq!(i.duplicates()[0].subflow, 1);
        assert_eq!((i.duplicates()[0].first_frame, i.duplicates()[0].last_frame), (198, 199));
    }

    #[test]
    fn mismatch_detection() {
        let s = stream(3000);
        let mut r = Reassembler::new(0, ReassemblyLimits::default());
        let mut o = Out::default();
        // buffered (out of order) then a differing overlap
        ins(&mut r, &mut o, 1000, &s[1000..2000], 1, 1);
        let mut bad = s[1500..2500].to_vec();
        bad[0] ^= 1;
        bad[10] ^= 1;
        bad[600] ^= 1; // beyond the buffered piece: new bytes, not compared
        let i = ins(&mut r, &mut o, 1500, &bad, 2, 2);
        assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (500, 2));
        // first sighting wins
        ins(&mut r, &mut o, 0, &s[..1000], 1, 3);
        assert_eq!(&o.data[..2000], &s[..2000]);
        // recently delivered
        let mut bad = s[100..200].to_vec();
        bad[5] ^= 0xff;
        let i = ins(&mut r, &mut o, 100, &bad, 3, 4);
        assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (100, 1));
        // uncaptured retransmission: nothing to compare
        let i = r.insert(100, &[], 100, 3, 5, 5, &mut |c| o.take(c));
        assert_eq!((i.duplicate_bytes, i.mismatched_bytes), (100, 0));
        let sum = r.finish(&mut |c| o.take(c));
        assert_eq!(sum.mismatched_bytes, 3);
    }

    #[test]
    fn mismatch_outside_recent_window_not_compared() {
        let s = stream(4000);
        let lim = ReassemblyLimits { recent_bytes: 1000, ..ReassemblyLimits::default() };
        let mut r = Reassembler::new(0, lim);
        let mut o = Out::default();
        ins(&mut r, &mut o, 0, &s, 1, 1);
        assert!(r.held_bytes() <= 1000);
        let i = ins(&mut r, &mut o, 0, &[0xAA; 4000], 2, 2);
        assert_eq!(i.duplicate_bytes, 4000);
        let expect = s[3000..].iter().filter(|&&b| b != 0xAA).count() as u64;
        assert_eq!(i.mismatched_bytes, expect);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let mut o = Out::default();
        let mut r = Reassembler::new(
            u64::MAX,
            ReassemblyLimits { max_buffered_bytes: 0, max_segments: 0, history_ranges: 0, recent_bytes: 0, hole_policy: HolePolicy::Skip },
        );
        ins(&mut r, &mut o, 5, &[1, 2, 3], 1, 1);
        ins(&mut r, &mut o, u64::MAX, &[1, 2, 3], 1, 1);
        r.insert(0, &[1, 2, 3, 4, 5], 2, 1, 1, 1, &mut |c| o.take(c)); // captured longer than wire
        r.insert(1 << 62, &[], u32::MAX, 1, 1, 1, &mut |c| o.take(c));
        r.data_fin(0, 1);
        r.data_fin(1 << 63, 1);
        let _ = r.finish(&mut |c| o.take(c));
        assert!(!o.out_of_order);
    }

    /// Model test: random overlapping pieces from several subflows, shuffled; some captured
    /// short (snaplen) and re-sent in full.
    type Pieces = (u64, Vec<u8>, Vec<(usize, usize, u32, usize)>, u64);

    fn pieces_strategy() -> impl Strategy<Value = Pieces> {
        (1usize..3000, any::<u64>(), any::<u64>()).prop_flat_map(|(n, start, seed)| {
            let start = if seed % 3 == 0 { u64::MAX - (seed % 4000) } else { start };
            (
                Just(start),
                proptest::collection::vec(any::<u8>(), n),
                proptest::collection::vec((0..n, 1usize..400, 0u32..4, 0usize..500), 1..60),
                Just(seed),
            )
        })
    }

    proptest! {
        #[test]
        fn random_overlaps_match_model((start, s, raw, seed) in pieces_strategy()) {
            let n = s.len();
            // Pieces [a, b) with a captured prefix; then cover everything fully once (so the
            // stream can be complete), then shuffle deterministically.
            let mut pieces: Vec<(usize, usize, u32, usize)> = raw
                .iter()
                .map(|&(a, l, sf, cap)| (a, (a + l).min(n), sf, cap))
                .collect();
            let mut a = 0;
            while a < n {
                let b = (a + 1 + (seed as usize + a) % 700).min(n);
                pieces.push((a, b, 9, usize::MAX));
                a = b;
            }
            let mut x = seed | 1;
            for i in (1..pieces.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                pieces.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut r = Reassembler::new(start, ReassemblyLimits::default());
            let mut o = Out::default();
            let mut total = 0u64;
            let mut new = 0u64;
            let mut seen = vec![false; n];
            for (k, &(a, b, sf, cap)) in pieces.iter().enumerate() {
                let c = (b - a).min(cap);
                let i = r.insert(start.wrapping_add(a as u64), &s[a..a + c], (b - a) as u32, sf, k as u64, k as u64, &mut |ch| o.take(ch));
                let fresh = seen[a..b].iter().filter(|v| !**v).count() as u64;
                seen[a..b].iter_mut().for_each(|v| *v = true);
                prop_assert_eq!(i.new_bytes, fresh);
                prop_assert_eq!(i.new_bytes + i.duplicate_bytes, (b - a) as u64);
                prop_assert_eq!(i.mismatched_bytes, 0);
                prop_assert_eq!(i.duplicates().iter().map(|d| d.bytes).sum::<u64>() + i.unattributed_bytes, i.duplicate_bytes);
                total += (b - a) as u64;
                new += i.new_bytes;
                // the sink has exactly the longest captured prefix so far
                prop_assert!(s.starts_with(&o.data));
            }
            r.data_fin(start.wrapping_add(n as u64), 1);
            let sum = r.finish(&mut |ch| o.take(ch));
            prop_assert!(!o.out_of_order);
            prop_assert_eq!(&o.data, &s);
            prop_assert_eq!(new, n as u64);
            prop_assert_eq!(sum.duplicate_bytes, total - n as u64);
            prop_assert_eq!(sum.bytes, n as u64);
            prop_assert!(sum.complete);
            prop_assert_eq!(sum.gaps.count, 0);
        }

        /// Tiny limits: whatever is delivered is in order and correct, and state stays bounded.
        #[test]
        fn tiny_limits_stay_correct_and_bounded(
            (start, s, raw, _seed) in pieces_strategy(),
            window in 0usize..2000, segs in 0usize..8, hist in 0usize..4, recent in 0usize..500,
            skip in any::<bool>(),
        ) {
            let lim = ReassemblyLimits {
                max_buffered_bytes: window, max_segments: segs, history_ranges: hist, recent_bytes: recent,
                hole_policy: if skip { HolePolicy::Skip } else { HolePolicy::Stop },
            };
            let mut r = Reassembler::new(start, lim);
            let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
            let mut o = Out::default();
            let n = s.len();
            for (k, &(a, l, sf, cap)) in raw.iter().enumerate() {
                let b = (a + l).min(n);
                let c = (b - a).min(cap);
                r.insert(start.wrapping_add(a as u64), &s[a..a + c], (b - a) as u32, sf, k as u64, 0, &mut |ch| {
                    if let Chunk::Data { dsn, bytes } = ch { got.push((dsn, bytes.to_vec())) }
                    o.take(ch)
                });
                prop_assert!(r.held_bytes() <= window + recent);
                prop_assert!(r.pending_ranges() <= segs);
            }
            r.finish(&mut |ch| {
                if let Chunk::Data { dsn, bytes } = ch { got.push((dsn, bytes.to_vec())) }
                o.take(ch)
            });
            prop_assert!(!o.out_of_order);
            for (dsn, bytes) in got {
                let off = dsn.wrapping_sub(start) as usize;
                prop_assert_eq!(&s[off..off + bytes.len()], &bytes[..]);
            }
        }

        /// Random pieces without the covering pass: gaps and uncaptured ranges match a model.
        #[test]
        fn random_gaps_match_model((start, s, raw, _seed) in pieces_strategy(), skip in any::<bool>()) {
            let n = s.len();
            let lim = ReassemblyLimits { hole_policy: if skip { HolePolicy::Skip } else { HolePolicy::Stop }, ..ReassemblyLimits::default() };
            let mut r = Reassembler::new(start, lim);
            let mut o = Out::default();
            // 0 = never seen, 1 = seen uncaptured, 2 = captured
            let mut st = vec![0u8; n];
            for (k, &(a, l, sf, cap)) in raw.iter().enumerate() {
                let b = (a + l).min(n);
                let c = (b - a).min(cap);
                r.insert(start.wrapping_add(a as u64), &s[a..a + c], (b - a) as u32, sf, k as u64, 0, &mut |ch| o.take(ch));
                for (i, v) in st[a..b].iter_mut().enumerate() {
                    *v = (*v).max(if i < c { 2 } else { 1 });
                }
            }
            r.data_fin(start.wrapping_add(n as u64), 1);
            let sum = r.finish(&mut |ch| o.take(ch));
            let mut gaps = Vec::new();
            let mut unc = Vec::new();
            let prefix = st.iter().take_while(|v| **v == 2).count();
            let mut i = prefix;
            while i < n {
                let v = st[i];
                let j = i + st[i..].iter().take_while(|w| **w == v).count();
                let range = (start.wrapping_add(i as u64), start.wrapping_add(j as u64));
                match v { 0 => gaps.push(range), 1 => unc.push(range), _ => {} }
                i = j;
            }
            if skip {
                // every hole announced, all captured data delivered in order
                let expect: Vec<u8> = s.iter().zip(&st).filter(|(_, v)| **v == 2).map(|(b, _)| *b).collect();
                prop_assert_eq!(&o.data, &expect);
                prop_assert_eq!(o.holes.iter().map(|h| h.1).sum::<u64>(), st.iter().filter(|v| **v != 2).count() as u64);
                prop_assert!(!o.out_of_order);
            } else {
                prop_assert_eq!(&o.data[..], &s[..prefix]);
                prop_assert!(o.holes.is_empty());
            }
            prop_assert_eq!(sum.gaps.ranges, gaps);
            prop_assert_eq!(sum.uncaptured.ranges, unc);
            prop_assert_eq!(sum.complete, prefix == n);
            prop_assert_eq!(sum.bytes, st.iter().filter(|v| **v != 0).count() as u64);
            prop_assert_eq!(sum.captured_bytes, st.iter().filter(|v| **v == 2).count() as u64);
        }
    }
}
