//! What `pair` reports, and how its matching is bounded: plain values, serialised as the JSON
//! report (docs/pair.md).
use serde::Serialize;

use crate::track::kinds::kinds;
use crate::track::{Dir, ReinjectionVerdict, Side};

/// Which capture a packet came from.
pub(super) const CLIENT: usize = 0;
pub(super) const SERVER: usize = 1;

/// How matching is bounded.
#[derive(Debug, Clone, Copy)]
pub struct PairOptions {
    /// A segment not matched within this much capture time is final (lost / seen at one point).
    pub window_ns: u64,
    /// At most this many unmatched segments are held; the oldest are made final first.
    pub max_pending: usize,
    /// At most this many lost segments are listed per subflow and direction (all are counted).
    pub max_listed: usize,
    /// Keep the time of every delay sample for [`PairReport::owd_series`] (8 more bytes each).
    pub series: bool,
    /// At most this many flows (directed 4-tuples, linked across the captures) are followed;
    /// the segments of further ones are counted, not matched.
    pub max_flows: usize,
    /// At most this many segments with a DSS mapping per capture wait for their matching to be
    /// final (for the reinjection verdicts); past it the oldest pending copies are made final.
    pub max_records: usize,
    /// At most this many DSN ranges per capture are kept to find the original of a
    /// reinjection (within the window); past it the oldest are forgotten.
    pub max_pieces: usize,
    /// At most this many lost segments are listed in all (all are counted).
    pub max_listed_total: usize,
    /// At most this many delay samples are held for the median and p99 (8 bytes each, 16 with
    /// `series`); past it one in 2, then 4, ... is held, in every flow (n, min and max stay
    /// exact).
    pub max_samples: usize,
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions {
            window_ns: 10_000_000_000,
            max_pending: 100_000,
            max_listed: 1000,
            series: false,
            max_flows: 32_768,
            max_records: 100_000,
            max_pieces: 65_536,
            max_listed_total: 100_000,
            max_samples: 1 << 20,
        }
    }
}

/// A segment whose data (DSN range) had been sent before on another subflow of its connection.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reinjection {
    pub direction: Dir,
    /// The subflow carrying the reinjection, and the one that carried the original copy.
    pub subflow: String,
    pub original_subflow: String,
    /// DSN of its first byte (64-bit, raw; a JSON string, see `crate::json`) and its length.
    #[serde(serialize_with = "mptcp_wire::json::dec")]
    pub dsn: u64,
    pub len: u32,
    /// At the sender's capture: frame and seconds since its first packet.
    pub frame: u64,
    pub t_rel: f64,
    pub original_frame: u64,
    pub original_t_rel: f64,
    /// Seconds since the receiver capture's first packet at which each copy was seen there;
    /// `null`: lost between the points.
    pub original_arrived: Option<f64>,
    pub reinjection_arrived: Option<f64>,
    /// `useful` (the original was lost, or the reinjection arrived first), `redundant` (the
    /// original arrived first), `lost` (neither arrived).
    pub verdict: ReinjectionVerdict,
}

/// Reinjection verdicts of one direction.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ReinjectionSummary {
    pub count: u64,
    pub bytes: u64,
    pub useful: u64,
    pub redundant: u64,
    pub lost: u64,
}

/// A lost (or receiver-only) segment, as listed in the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Unmatched {
    /// Sequence number relative to the ISN of the SYN seen in the same capture; raw without it.
    pub seq: u32,
    /// Whether `seq` is relative (the SYN was seen).
    pub relative: bool,
    pub raw_seq: u32,
    pub len: u32,
    /// TCP flags, tcpdump style (`S`, `F`, `R`, `P`, `.`).
    pub flags: String,
    /// Capture time at the capture that saw it, seconds since the epoch (`sec.nanoseconds`).
    pub time: String,
    /// Seconds since that capture's first packet.
    pub t_rel: f64,
    /// Frame number in that capture.
    pub frame: u64,
}

/// One-way delay statistics, microseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OwdStats {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub p99: f64,
    pub max: f64,
}

/// One subflow direction.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DirectionPair {
    /// `c2s` (sent at the client capture) or `s2c` (sent at the server capture).
    pub direction: Dir,
    /// `client` or `server`: the capture where these segments leave.
    pub sender_capture: Side,
    /// Segments (payload, SYN or FIN) seen at the sender's capture.
    pub sent_segments: u64,
    /// Segments seen at the receiver's capture.
    pub received_segments: u64,
    /// Segments matched across the captures.
    pub matched: u64,
    /// Sent and never seen at the other capture.
    pub lost_count: u64,
    pub lost_bytes: u64,
    /// The first [`PairOptions::max_listed`] of them, in order of appearance.
    pub lost: Vec<Unmatched>,
    pub lost_list_truncated: bool,
    /// Seen at the receiver's capture but never at the sender's.
    pub seen_only_at_receiver: u64,
    /// Receiver capture time − sender capture time, raw clocks.
    pub owd_us: Option<OwdStats>,
    /// The same corrected by the clock offset estimate (`clock_offset_us`).
    pub owd_corrected_us: Option<OwdStats>,
}

/// One subflow (a TCP 4-tuple), named client → server.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SubflowPair {
    /// `client_addr:port->server_addr:port`.
    pub subflow: String,
    /// The same subflow as the server capture saw it when that differs (a NAT between the
    /// points), else `null`.
    pub at_server: Option<String>,
    /// How its packets at the two captures were found to belong together; `null`: seen in one
    /// capture only.
    pub linked_by: Option<LinkedBy>,
    /// What its SYN offered; `null` without a SYN.
    pub kind: Option<SynKind>,
    pub c2s: DirectionPair,
    pub s2c: DirectionPair,
}

/// The whole `pair` report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairReport {
    /// TCP packets read per capture.
    pub client_tcp_packets: u64,
    pub server_tcp_packets: u64,
    pub subflows: Vec<SubflowPair>,
    /// All subflows' c2s and s2c delays, raw clocks.
    pub owd_c2s_us: Option<OwdStats>,
    pub owd_s2c_us: Option<OwdStats>,
    /// Server clock − client clock, estimated as (min c2s OWD − min s2c OWD) / 2, assuming the
    /// smallest delays are symmetric. `null` without delays both ways.
    pub clock_offset_us: Option<f64>,
    /// Segments matched across the captures, all subflows.
    pub matched: u64,
    /// Reinjections at the sender's capture per direction, and the first
    /// [`PairOptions::max_listed`] of each, in order of appearance.
    pub reinjections_c2s: ReinjectionSummary,
    pub reinjections_s2c: ReinjectionSummary,
    pub reinjections: Vec<Reinjection>,
    pub reinjections_truncated: bool,
    /// What the bounds on memory ([`PairOptions`]'s caps) left out when they were reached, one
    /// sentence each; absent from the JSON when none was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
    /// With [`PairOptions::series`] (not in the JSON): every delay sample over time, per subflow
    /// and direction, for `plot --kind owd`.
    #[serde(skip)]
    pub owd_series: Vec<OwdSeries>,
}

/// The one-way delay of each matched segment of a subflow direction, in the order matched.
#[derive(Debug, Clone, PartialEq)]
pub struct OwdSeries {
    pub subflow: String,
    pub direction: Dir,
    /// (seconds since the sender capture's first packet when it was seen there, one-way delay
    /// in ms corrected by the clock offset estimate when there is one, else raw).
    pub points: Vec<(f64, f64)>,
}

/// Seconds from a capture's first packet (`first`) to `ts`, rounded to the microsecond.
pub(super) fn t_rel(ts: u64, first: Option<u64>) -> f64 {
    ((ts.saturating_sub(first.unwrap_or(0))) as f64 / 1e3).round() / 1e6
}

kinds! {
    /// How a subflow's packets at the two captures were found to belong together.
    LinkedBy {
        /// Its MP_JOIN SYN (token, address id, nonce) or SYN/ACK (address id, truncated HMAC,
        /// nonce).
        MpJoin = "MP_JOIN",
        /// The sender's key in its MP_CAPABLE SYN or SYN/ACK.
        MpCapableKey = "MP_CAPABLE key",
        /// Its ISN (SYN/ACK: with the acknowledged number).
        Isn = "ISN",
        /// Equal 4-tuples: no SYN in one of the captures.
        FourTuple = "4-tuple",
    }
}

kinds! {
    /// What a subflow's SYN offered.
    SynKind {
        MpCapable = "MP_CAPABLE",
        MpJoin = "MP_JOIN",
        /// No MPTCP option, or another subtype.
        Tcp = "TCP",
    }
}
