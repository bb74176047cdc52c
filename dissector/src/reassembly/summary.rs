//! What the reassembler tells its caller: the sink's [`Chunk`]s, each insert's [`Insert`], the
//! end-of-stream [`Summary`], and the [`ReassemblyLimits`] that bound it.

use super::order::OrderSummary;

/// Relative offsets at or above this are "before the start" (see the module docs).
pub(super) const HALF: u64 = 1 << 63;

/// How many subflows an [`Insert`] attributes duplicates to; more go to `unattributed_bytes`.
pub const MAX_DUP_ORIGINS: usize = 4;
/// How many ranges each reported list in a [`Summary`] keeps (totals stay exact).
pub const MAX_REPORTED_RANGES: usize = 256;

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

/// What one [`Reassembler::insert`](super::Reassembler::insert) found.
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
    /// Bytes this insert made deliverable in order (given to the sink).
    pub delivered_bytes: u64,
    /// Bytes seen above the delivery point after this insert (the reordering buffer).
    pub reorder_bytes: u64,
}

impl Insert {
    /// Duplicate bytes by first carrier, at most [`MAX_DUP_ORIGINS`] entries.
    pub fn duplicates(&self) -> &[Dup] {
        self.dups.get(..self.dup_len).unwrap_or(&[])
    }

    /// Adds duplicate bytes first carried by `new.subflow`, merging with that subflow's entry.
    /// Returns false when all [`MAX_DUP_ORIGINS`] slots hold other subflows.
    pub(super) fn add_dup(&mut self, new: Dup) -> bool {
        let len = self.dup_len;
        if let Some(d) = self.dups.iter_mut().take(len).find(|d| d.subflow == new.subflow) {
            d.bytes += new.bytes;
            if new.dsn.wrapping_sub(d.dsn) >= HALF {
                d.dsn = new.dsn;
            }
            if new.first_ts_ns < d.first_ts_ns {
                d.first_ts_ns = new.first_ts_ns;
                d.first_frame = new.first_frame;
            }
            if new.last_ts_ns > d.last_ts_ns {
                d.last_ts_ns = new.last_ts_ns;
                d.last_frame = new.last_frame;
            }
            return true;
        }
        match self.dups.get_mut(len) {
            Some(slot) => {
                *slot = new;
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
    pub(super) fn push(&mut self, a: u64, b: u64) {
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
    /// Head-of-line delays, reordering and reordering-buffer occupancy.
    pub order: OrderSummary,
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
