//! The receiver's view of a connection direction, as the reports show it (issue 14,
//! docs/analyze.md "The receiver's view"): head-of-line blocking delay per piece of new data,
//! data-level reordering, the reordering buffer's occupancy, and copies of bytes already
//! received (duplicates, TCP retransmissions of them, window probes) counted apart.
use serde::Serialize;

use super::kinds::{Near, NearRule};
use crate::reassembly::{Hist, OrderSummary, SubflowWait};

/// How a piece of mapped payload was carried, at the subflow level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// First copy of this subflow sequence space.
    Normal,
    /// First copy of this subflow sequence space, in a 1-byte mapping (a window probe when
    /// the byte was carried before).
    OneByte,
    /// Subflow sequence space already carried: a TCP retransmission.
    Retransmission,
}

/// Copies of data-level bytes already received, by how they were carried.
#[derive(Debug, Clone, Copy, Default)]
pub struct Copies {
    duplicate_segments: u64,
    duplicate_bytes: u64,
    retransmitted_segments: u64,
    retransmitted_bytes: u64,
    probe_segments: u64,
    probe_bytes: u64,
}

impl Copies {
    /// A piece carried as `kind` that brought `old` bytes already received.
    pub fn count(&mut self, kind: Carry, old: u64) {
        if old == 0 {
            return;
        }
        let (n, b) = match kind {
            Carry::Normal => (&mut self.duplicate_segments, &mut self.duplicate_bytes),
            Carry::Retransmission => (&mut self.retransmitted_segments, &mut self.retransmitted_bytes),
            Carry::OneByte => (&mut self.probe_segments, &mut self.probe_bytes),
        };
        *n += 1;
        *b += old;
    }
}

fn ms(ns: Option<u64>) -> Option<f64> {
    ns.map(|v| (v as f64 / 1e3).round() / 1e3)
}

/// Head-of-line delay of the pieces of new data one subflow (or all) carried.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HolDelay {
    /// Subflow id; absent for the whole direction, null for subflows pooled past 16.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subflow: Option<Option<usize>>,
    /// Pieces with new data-level bytes, and those bytes.
    pub segments: u64,
    pub bytes: u64,
    /// Pieces (and their new bytes) that waited at all before becoming deliverable in order.
    pub waited_segments: u64,
    pub waited_bytes: u64,
    /// Delay from arrival to in-order deliverability, milliseconds (pieces that became
    /// deliverable; percentiles within 1.6%, min and max exact).
    pub min_ms: Option<f64>,
    pub median_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// The distribution, for plots: (delay ms, fraction of the pieces with at most that delay)
    /// at zero and at the end of each non-empty histogram bucket ([`Hist::cdf`]); a few dozen
    /// entries, not the histogram, so a finished connection keeps little.
    #[serde(skip)]
    pub cdf: Vec<(f64, f64)>,
}

impl HolDelay {
    fn new(w: &SubflowWait, subflow: Option<Option<usize>>) -> Self {
        let h = &w.delay_ns;
        HolDelay {
            subflow,
            segments: w.segments,
            bytes: w.bytes,
            waited_segments: w.waited_segments,
            waited_bytes: w.waited_bytes,
            min_ms: ms(h.min()),
            median_ms: ms(h.quantile(0.5)),
            p90_ms: ms(h.quantile(0.9)),
            p99_ms: ms(h.quantile(0.99)),
            max_ms: ms(h.max()),
            cdf: h.cdf().into_iter().map(|(ns, f)| (ns as f64 / 1e6, f)).collect(),
        }
    }
}

/// Median, 99th percentile and maximum of a distribution.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spread {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Spread {
    fn new(h: &Hist, scale: f64) -> Self {
        let f = |v: Option<u64>| v.map(|v| (v as f64 / scale * 1e3).round() / 1e3);
        Spread { p50: f(h.quantile(0.5)), p99: f(h.quantile(0.99)), max: f(h.max()) }
    }
}

/// The receiver's view of one direction (docs/analyze.md).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReceiverView {
    /// Head-of-line delay of every piece of new data, and per subflow that carried it.
    pub hol: HolDelay,
    pub hol_by_subflow: Vec<HolDelay>,
    /// Pieces left out of the delay figures (too many waiting at once), and pieces that never
    /// became deliverable (a hole below them was never filled in the capture).
    pub untracked_segments: u64,
    pub undelivered_segments: u64,
    pub undelivered_bytes: u64,
    /// Pieces whose first new byte lay above the next expected DSN, and their new bytes.
    pub out_of_order_segments: u64,
    pub out_of_order_bytes: u64,
    /// How far above the next expected DSN they began (bytes), and how long until the byte
    /// expected then arrived (ms).
    pub reorder_distance_bytes: Spread,
    pub reorder_distance_ms: Spread,
    /// Bytes seen above the next expected DSN, over time (time-weighted, from the first to
    /// the last piece).
    pub reorder_buffer_bytes: Spread,
    /// Pieces in new subflow sequence space whose data-level bytes had all or partly been
    /// received already (reinjections that lost the race), and those bytes.
    pub duplicate_segments: u64,
    pub duplicate_bytes: u64,
    /// TCP retransmissions (subflow sequence space already carried) whose data-level bytes had
    /// been received already.
    pub retransmitted_duplicate_segments: u64,
    pub retransmitted_duplicate_bytes: u64,
    /// Window probes: 1-byte mappings of a byte already received.
    pub probe_segments: u64,
    pub probe_bytes: u64,
}

impl ReceiverView {
    pub fn new(o: &OrderSummary, c: Copies) -> Self {
        ReceiverView {
            hol: HolDelay::new(&o.all, None),
            hol_by_subflow: o.by_subflow.iter().map(|w| HolDelay::new(w, Some(w.subflow.map(|s| s as usize)))).collect(),
            untracked_segments: o.untracked_segments,
            undelivered_segments: o.undelivered_segments,
            undelivered_bytes: o.undelivered_bytes,
            out_of_order_segments: o.out_of_order_segments,
            out_of_order_bytes: o.out_of_order_bytes,
            reorder_distance_bytes: Spread::new(&o.distance_bytes, 1.0),
            reorder_distance_ms: Spread::new(&o.distance_ns, 1e6),
            reorder_buffer_bytes: Spread { max: Some(o.occupancy_max as f64), ..Spread::new(&o.occupancy, 1.0) },
            duplicate_segments: c.duplicate_segments,
            duplicate_bytes: c.duplicate_bytes,
            retransmitted_duplicate_segments: c.retransmitted_segments,
            retransmitted_duplicate_bytes: c.retransmitted_bytes,
            probe_segments: c.probe_segments,
            probe_bytes: c.probe_bytes,
        }
    }
}

/// Where the capture appears to have been taken on a connection's path, from its first
/// subflow (docs/analyze.md, "Capture point").
///
/// * TTL: a packet captured on the host that sent it still has its initial TTL (64, 128 or
///   255 on common systems); one that crossed a router before the capture has less. When one
///   end's packets carry an initial value and the other's do not, the capture is at the first
///   end; when neither does, somewhere between.
/// * Otherwise the handshake's timing: next to the server the SYN/ACK follows the SYN at once
///   and the third ACK comes a round trip later; next to the client, the other way round. One
///   gap must be at least 4 times the other to decide.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CapturePoint {
    /// Client, server, between or unknown.
    pub near: Near,
    /// What told: TTL, handshake, forwarded copies (segments captured in and out of a router) or
    /// nothing.
    pub rule: NearRule,
    pub client_ttl: Option<u8>,
    pub server_ttl: Option<u8>,
    pub syn_to_synack_ms: Option<f64>,
    pub synack_to_ack_ms: Option<f64>,
}

impl CapturePoint {
    /// Whether the capture is next to the receiver of direction `c2s` (client to server) or not.
    pub fn at_receiver(&self, c2s: bool) -> Option<bool> {
        match (self.near, c2s) {
            (Near::Server, true) | (Near::Client, false) => Some(true),
            (Near::Client, true) | (Near::Server, false) => Some(false),
            _ => None,
        }
    }
}
