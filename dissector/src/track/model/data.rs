//! What the data level of one connection direction came to: bytes, completeness, gaps,
//! reinjections, goodput, the rebuilt stream's sha256, the receiver's view.
use mptcp_wire::seq::DataSeq;
use serde::Serialize;

use super::super::receiver::ReceiverView;

/// Data-level measures of one connection direction (docs/analyze.md).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataDir {
    /// DSN of the first data byte (IDSN + 1), when known.
    #[serde(serialize_with = "mptcp_wire::json::opt_dec")]
    pub first_dsn: Option<DataSeq>,
    /// DSN of the DATA_FIN, when seen.
    #[serde(serialize_with = "mptcp_wire::json::opt_dec")]
    pub data_fin_dsn: Option<DataSeq>,
    /// Highest data ACK the peer sent for this direction's data (64-bit).
    #[serde(serialize_with = "mptcp_wire::json::opt_dec")]
    pub data_acked: Option<DataSeq>,
    /// Distinct data-level bytes seen on the wire (captured or not).
    pub bytes: u64,
    /// Distinct data-level bytes whose content is in the capture.
    pub captured_bytes: u64,
    /// No gaps from the first DSN to the DATA_FIN, DATA_FIN seen, every byte captured, and the
    /// first DSN is the stream's start (IDSN + 1, known from the handshake's keys).
    pub complete: bool,
    /// The capture holds no handshake for this direction: its first DSN is the lowest one
    /// captured, not the stream's start. Such a stream is never `complete`; when everything
    /// from that DSN to the DATA_FIN is there, `complete_from` names the DSN.
    pub start_unknown: bool,
    /// With `start_unknown`: the stream is whole from this DSN (the first captured) to the
    /// DATA_FIN, what came before it is not in the capture.
    #[serde(serialize_with = "mptcp_wire::json::opt_dec", skip_serializing_if = "Option::is_none")]
    pub complete_from: Option<DataSeq>,
    /// DSN ranges `[start, end)` never seen (bounded list).
    #[serde(serialize_with = "mptcp_wire::json::dec_ranges")]
    pub gaps: Vec<(u64, u64)>,
    pub gap_bytes: u64,
    /// Number of gaps (the list keeps the first 256).
    pub gap_count: u64,
    /// DSN ranges seen on the wire whose bytes the capture cut (snaplen); first 256.
    #[serde(serialize_with = "mptcp_wire::json::dec_ranges")]
    pub uncaptured: Vec<(u64, u64)>,
    pub uncaptured_bytes: u64,
    /// Segments that carried data-level bytes already carried, in new subflow sequence space.
    pub reinjections: u64,
    pub reinjected_bytes: u64,
    /// Window probes: already-carried bytes re-sent in 1-byte mappings.
    pub probe_bytes: u64,
    /// Overlapping bytes that differ from what was carried first.
    pub mismatched_bytes: u64,
    /// Payload bytes outside every known mapping.
    pub unmapped_bytes: u64,
    /// TCP Fast Open: bytes the SYN carried, which lead the stream outside the data sequence
    /// space (not in `bytes`).
    #[serde(skip_serializing_if = "crate::json::is_zero")]
    pub syn_data_bytes: u64,
    /// Payload of mappings whose DSS checksum failed, dropped by the receiver (not in the
    /// stream: it came again on another subflow).
    #[serde(skip_serializing_if = "crate::json::is_zero")]
    pub checksum_failed_bytes: u64,
    /// Time of the first and last data-level byte.
    pub start_ts: Option<f64>,
    pub end_ts: Option<f64>,
    pub duration_s: f64,
    /// Distinct bytes over the duration, bits per second; 0 when the duration is shorter than
    /// [`MIN_RATE_DURATION_S`] (too short to carry a rate).
    pub goodput_bps: f64,
    /// sha256 of the rebuilt stream, when asked for and the stream is complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Bytes that reached the in-order stream.
    pub delivered_bytes: u64,
    /// Reassembly caps hit (pieces not buffered).
    pub caps_hit: u64,
    /// Bytes seen but not buffered because the reordering window was full; they are counted in
    /// `uncaptured` too (their content is not in the rebuilt stream).
    pub capped_bytes: u64,
    /// The receiver's view: head-of-line delay, reordering, duplicates and probes (issue 14).
    pub receiver: ReceiverView,
}
