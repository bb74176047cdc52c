//! A TCP flow and what it carried per direction; a subflow when MPTCP options are on it.
use std::net::{IpAddr, SocketAddr};

use mptcp_wire::crypto::Token;
use mptcp_wire::decode::{Tunnel, TunnelKind};
use mptcp_wire::seq::{DataSeq, SubflowSeq};
use serde::Serialize;

use super::super::kinds::{EndHow, RoleRule};
use super::{is_zero, Dir};

/// How a subflow came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubflowKind {
    /// The MP_CAPABLE subflow that created the connection.
    Initial,
    /// An MP_JOIN subflow.
    Join,
    /// A TCP connection that never carried MPTCP options.
    Tcp,
    /// Its handshake is not in the capture.
    Unknown,
}

/// What a subflow without a connection is known by (`Subflow::orphan_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanToken {
    /// No join SYN names a connection: the handshake is not in the capture. Written as an empty
    /// string.
    Unknown,
    /// The token of its MP_JOIN SYN, which no MP_CAPABLE handshake in the capture produced.
    Join(Token),
}

impl OrphanToken {
    /// The join SYN's token, when it carried one.
    pub fn token(self) -> Option<Token> {
        match self {
            OrphanToken::Unknown => None,
            OrphanToken::Join(t) => Some(t),
        }
    }
}

impl std::fmt::Display for OrphanToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrphanToken::Unknown => Ok(()),
            OrphanToken::Join(t) => t.fmt(f),
        }
    }
}

impl Serialize for OrphanToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The tunnel a subflow's first packet came through (`Subflow::tunnel`), its outer addresses
/// named by the end of the subflow they are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SubflowTunnel {
    pub kind: TunnelKind,
    /// VXLAN/Geneve VNI, GTP-U TEID, GRE key, top MPLS label, ERSPAN session id; null when the
    /// tunnel has none (IP in IP, GRE without key).
    pub id: Option<u32>,
    /// The outer IP address on the client's side and on the server's (null for MPLS straight over
    /// Ethernet).
    pub client_outer: Option<IpAddr>,
    pub server_outer: Option<IpAddr>,
    /// Encapsulations peeled to reach the subflow's IP header; the others are reported when more
    /// than one: the outermost.
    pub layers: u8,
}

impl SubflowTunnel {
    /// `t` as it came on a packet from the client (`from_client`) or from the server.
    pub fn new(t: Tunnel, from_client: bool) -> Self {
        let (client_outer, server_outer) = match t.outer {
            Some((src, dst)) if from_client => (Some(src), Some(dst)),
            Some((src, dst)) => (Some(dst), Some(src)),
            None => (None, None),
        };
        SubflowTunnel { kind: t.kind, id: t.id, client_outer, server_outer, layers: t.layers }
    }
}

/// `vxlan 100 203.0.113.1 > 203.0.113.2`: kind, id, the client's outer address > the server's.
impl std::fmt::Display for SubflowTunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(id) = self.id {
            write!(f, " {id}")?;
        }
        if let (Some(c), Some(s)) = (self.client_outer, self.server_outer) {
            write!(f, " {c} > {s}")?;
        }
        if self.layers > 1 {
            write!(f, " (outermost of {})", self.layers)?;
        }
        Ok(())
    }
}

/// What a subflow's packets came through, when a tunnel was among it (`Subflow::tunnels`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubflowTunnels {
    /// The tunnel of the subflow's first packet (the outermost when nested); absent when that
    /// packet was not tunnelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<SubflowTunnel>,
    /// The first frame that came through another tunnel (or none) than the first packet of its
    /// direction did; absent when none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_changed_frame: Option<u64>,
    /// The tunnel of the first packet per direction (`Dir::index`; `Some(None)`: not tunnelled),
    /// what later packets are compared with (GTP-U TEIDs and GRE keys differ per direction).
    #[serde(skip)]
    pub(in crate::track) first: [Option<Option<Tunnel>>; 2],
}

/// How a subflow ended.
#[derive(Debug, Clone, Serialize)]
pub struct SubflowEnd {
    pub how: EndHow,
    pub frame: u64,
    pub ts: f64,
    /// MP_TCPRST reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
}

/// Per-direction state of a subflow.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubflowDir {
    /// TCP payload bytes on the wire (retransmissions included).
    pub bytes: u64,
    pub packets: u64,
    /// Payload bytes sent again at the TCP level (same subflow sequence numbers).
    pub retransmitted_bytes: u64,
    pub retransmitted_segments: u64,
    /// Payload bytes that mapped to data sequence numbers.
    pub mapped_bytes: u64,
    /// Data-level bytes this subflow carried first (new to the connection).
    pub new_data_bytes: u64,
    /// Data-level bytes already carried (by another subflow, or by this one at other subflow
    /// sequence numbers), sent again in new subflow sequence space: MPTCP reinjections.
    pub reinjected_bytes: u64,
    /// Data-level window probes: already-carried bytes re-sent in 1-byte mappings while the
    /// peer's window is closed (Linux `MPTcpExtWinProbe`).
    pub probe_bytes: u64,
    /// Payload bytes outside every known mapping.
    pub unmapped_bytes: u64,
    /// Where reinjected bytes had first been carried: (subflow id, bytes, delay ms of the first).
    pub reinjected_from: Vec<ReinjectionSource>,
    /// RTT of this direction's data (send → ACK), from seq/ack, Karn's rule.
    pub rtt: RttStats,
    /// This subflow's share of the connection's distinct data-level bytes in this direction.
    pub share: f64,
    /// Payload of mappings whose DSS checksum failed, dropped by the receiver (it reset the
    /// subflow; the data came again on another): in no other class.
    #[serde(skip_serializing_if = "is_zero")]
    pub checksum_failed_bytes: u64,
}

/// RTT samples of one subflow direction, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RttStats {
    pub samples: u64,
    pub min_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
    #[serde(skip)]
    pub(in crate::track) sum_ms: f64,
}

impl RttStats {
    pub(in crate::track) fn add(&mut self, ms: f64) {
        self.samples += 1;
        self.sum_ms += ms;
        self.min_ms = Some(self.min_ms.map_or(ms, |m| m.min(ms)));
        self.max_ms = Some(self.max_ms.map_or(ms, |m| m.max(ms)));
        self.avg_ms = Some(self.sum_ms / self.samples as f64);
    }
}

/// One TCP segment as the analyzer saw it: the input of time series (throughput, data
/// sequence and RTT plots). Returned by `Analyzer::packet` for each tracked segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentRecord {
    pub frame: u64,
    pub ts_ns: u64,
    pub subflow: usize,
    pub connection: Option<usize>,
    /// Direction of the segment within its subflow (C2s = from the SYN sender).
    pub c2s: bool,
    /// TCP payload length on the wire.
    pub payload_len: u32,
    /// The segment re-sent subflow sequence space already sent.
    pub tcp_retransmission: bool,
    /// Data sequence number of the first payload byte, when mapped.
    pub dsn: Option<DataSeq>,
    /// Data-level bytes new to the connection / already carried by another subflow.
    pub new_bytes: u64,
    pub reinjected_bytes: u64,
    /// Part of `reinjected_bytes` that this same subflow had carried first (under another
    /// mapping, at other subflow sequence numbers).
    pub reinjected_same_subflow_bytes: u64,
    /// Data ACK carried (64-bit, expanded), acknowledging the other direction's data.
    pub data_ack: Option<DataSeq>,
    /// An RTT sample this segment's ACK completed: (direction of the acknowledged data, ms).
    pub rtt: Option<(Dir, f64)>,
    /// Data-level bytes this segment made deliverable in order (it was next, or filled a hole).
    pub delivered_bytes: u64,
    /// Bytes seen above the next expected DSN after this segment's data was placed (the
    /// data-level reordering buffer); `None` when it placed no data.
    pub reorder_bytes: Option<u64>,
    /// The DSS mapping the segment carried, its DSN expanded to 64 bits.
    pub mapping: Option<MappingRecord>,
}

/// A DSS mapping as a segment carried it (RFC 8684 §3.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingRecord {
    /// Data sequence number of the mapping's first byte (a 4-byte DSN expanded).
    pub dsn: DataSeq,
    /// Subflow sequence number of its first byte, relative to the subflow's ISN.
    pub subflow_seq: SubflowSeq,
    /// Data-level length as carried (a DATA_FIN counts one; 0: infinite mapping).
    pub length: u16,
    pub data_fin: bool,
    /// The DSS checksum, when checksums are in use.
    pub checksum: Option<u16>,
    /// Not a DSS option: the implicit mapping of a v1 MP_CAPABLE carrying data (DSN = IDSN + 1,
    /// subflow sequence 1, RFC 8684 §3.1).
    pub implicit: bool,
}

/// Reinjected bytes attributed to the subflow that first carried them.
#[derive(Debug, Clone, Serialize)]
pub struct ReinjectionSource {
    /// Subflow id, or null when the origin fell out of the bounded history.
    pub subflow: Option<usize>,
    pub bytes: u64,
    /// Delay from the original transmission to the first reinjection of these bytes.
    pub first_delay_ms: Option<f64>,
}

/// A mapping whose DSS checksum failed, and the MP_FAIL that answered it (RFC 8684 §3.7).
#[derive(Debug, Clone, Serialize)]
pub struct ChecksumFailure {
    /// Frame of the failed mapping; `None` when the capture did not see it fail (an MP_FAIL for
    /// data that passed at the capture point, or that it does not hold: corrupted beyond it).
    pub frame: Option<u64>,
    pub subflow: usize,
    /// Direction of the data whose checksum failed.
    pub dir: Dir,
    /// DSN of the failed mapping.
    #[serde(serialize_with = "mptcp_wire::json::opt_dec")]
    pub dsn: Option<DataSeq>,
    /// Its length (data bytes).
    pub length: u32,
    /// The receiver dropped the mapping's data (it had another subflow) instead of keeping it
    /// and falling back.
    pub dropped: bool,
    pub mp_fail_frame: Option<u64>,
    #[serde(serialize_with = "mptcp_wire::json::opt_dec")]
    pub mp_fail_dsn: Option<DataSeq>,
    /// Other subflows were established and open when the MP_FAIL was sent.
    pub others_open: Option<bool>,
    /// The data sender's own MP_FAIL in answer (Linux echoes it before falling back).
    pub mp_fail_echo_frame: Option<u64>,
    /// After the MP_FAIL, the first segment from the data sender on that subflow without any
    /// MPTCP option (after an infinite mapping that is the fallback; without one, a fallback
    /// the peer was never told of).
    pub options_stopped_frame: Option<u64>,
}

/// One TCP flow; a subflow when MPTCP options are on it.
#[derive(Debug, Clone, Serialize)]
pub struct Subflow {
    pub id: usize,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// What decided which end is the client.
    pub role_rule: RoleRule,
    pub kind: SubflowKind,
    pub join: bool,
    pub connection: Option<usize>,
    /// Address ids: the client's (MP_JOIN SYN) and the server's (MP_JOIN SYN/ACK).
    pub client_address_id: Option<u8>,
    pub server_address_id: Option<u8>,
    /// Backup as requested in the join handshake and changed by MP_PRIO (latest value).
    pub backup: bool,
    pub first_frame: u64,
    pub start_ts: f64,
    pub established_ts: Option<f64>,
    pub last_ts: f64,
    pub end: Option<SubflowEnd>,
    /// Set when the subflow carried MPTCP options and has no connection in the capture: the
    /// token of its join SYN that matched none, or none known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphan_token: Option<OrphanToken>,
    /// The tunnels its packets came through; absent (and no JSON field) when none did. Boxed
    /// so that flows without tunnels, nearly all, stay as small as before.
    #[serde(flatten)]
    pub tunnels: Option<Box<SubflowTunnels>>,
    pub c2s: SubflowDir,
    pub s2c: SubflowDir,
    /// First IP TTL / hop limit seen per direction (`Dir::index`), and the times of the SYN
    /// and SYN/ACK: where the capture was taken (`receiver::CapturePoint`).
    #[serde(skip)]
    pub ttl: [Option<u8>; 2],
    #[serde(skip)]
    pub syn_ts: Option<f64>,
    #[serde(skip)]
    pub synack_ts: Option<f64>,
    /// A join: its initiator is the connection's client (its SYN carried the server's token).
    #[serde(skip)]
    pub initiator_is_client: bool,
    /// A join: the B flag of its MP_JOIN SYN/ACK, what the initiator's kernel reports as
    /// `backup`.
    #[serde(skip)]
    pub synack_backup: bool,
}

impl Subflow {
    /// A flow seen for the first time at `frame`, with nothing carried yet.
    pub(in crate::track) fn new(
        id: usize,
        client: SocketAddr,
        server: SocketAddr,
        role_rule: RoleRule,
        kind: SubflowKind,
        frame: u64,
        ts: f64,
    ) -> Self {
        Subflow {
            id,
            client,
            server,
            role_rule,
            kind,
            join: false,
            connection: None,
            client_address_id: None,
            server_address_id: None,
            backup: false,
            first_frame: frame,
            start_ts: ts,
            established_ts: None,
            last_ts: ts,
            end: None,
            orphan_token: None,
            tunnels: None,
            c2s: SubflowDir::default(),
            s2c: SubflowDir::default(),
            initiator_is_client: false,
            synack_backup: false,
            ttl: [None, None],
            syn_ts: None,
            synack_ts: None,
        }
    }
    pub fn dir(&self, d: Dir) -> &SubflowDir {
        match d {
            Dir::C2s => &self.c2s,
            Dir::S2c => &self.s2c,
        }
    }
    pub(in crate::track) fn dir_mut(&mut self, d: Dir) -> &mut SubflowDir {
        match d {
            Dir::C2s => &mut self.c2s,
            Dir::S2c => &mut self.s2c,
        }
    }
    /// The connection's client sent this subflow's SYN (always so for the initial subflow).
    pub fn opened_by_client(&self) -> bool {
        !self.join || self.initiator_is_client
    }
    /// The tunnel of the subflow's first packet, if any.
    pub fn tunnel(&self) -> Option<&SubflowTunnel> {
        self.tunnels.as_ref().and_then(|t| t.tunnel.as_ref())
    }
    /// The first frame that came through another tunnel than its direction's first packet.
    pub fn tunnel_changed_frame(&self) -> Option<u64> {
        self.tunnels.as_ref().and_then(|t| t.tunnel_changed_frame)
    }
    /// B flag of the MP_JOIN SYN/ACK (false when none was seen).
    pub fn synack_backup(&self) -> bool {
        self.synack_backup
    }
}
