//! The data types every later stage reads: connections, subflows, events and what the
//! analysis returns. The tracker fills them; reports, verification and plots read them.
//! Fields that only the tracker needs are `pub(super)` and skipped by serde.
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

mod data;
mod subflow;

use super::checks::Checks;
use super::kinds::{AnomalyKind, FoundBy, RoleRule, Side};
use mptcp_wire::crypto::{Idsn, Key, Token, Version};

/// Direction within a subflow or connection: `C2s` is from the SYN sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    C2s,
    S2c,
}

impl Dir {
    pub fn index(self) -> usize {
        match self {
            Dir::C2s => 0,
            Dir::S2c => 1,
        }
    }
    pub fn flip(self) -> Dir {
        match self {
            Dir::C2s => Dir::S2c,
            Dir::S2c => Dir::C2s,
        }
    }
    /// `c2s` or `s2c`, as the outputs name the directions.
    pub fn name(self) -> &'static str {
        match self {
            Dir::C2s => "c2s",
            Dir::S2c => "s2c",
        }
    }
}

pub use data::DataDir;
pub use subflow::*;

/// Connection state at the end of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    SynSent,
    /// Keys of both sides known (third ACK or first data seen).
    Established,
    /// Fell back to plain TCP.
    Fallback,
    /// MP_FASTCLOSE seen.
    FastClosed,
    /// All subflows closed.
    Closed,
    /// No packet for longer than the idle timeout (`--idle-timeout`): finished without an end.
    TimedOut,
}

/// The state as a person reads it in text reports (JSON keeps the snake_case names).
impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnState::SynSent => "SYN sent",
            ConnState::Established => "established",
            ConnState::Fallback => "fallback",
            ConnState::FastClosed => "fast-closed",
            ConnState::Closed => "closed",
            ConnState::TimedOut => "timed out",
        })
    }
}

/// A problem seen on a connection or in the capture: not a verification verdict, an oddity.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub frame: u64,
    pub kind: AnomalyKind,
    pub detail: String,
}

/// An address announced with ADD_ADDR.
#[derive(Debug, Clone, Serialize)]
pub struct Announcement {
    /// Which side announced.
    pub by: Side,
    pub address_id: u8,
    pub address: IpAddr,
    pub port: Option<u16>,
    pub frame: u64,
    pub echo: bool,
}

/// One MPTCP connection.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    /// 0-based, in order of the MP_CAPABLE SYNs in the capture; `stream --connection` takes it.
    pub id: usize,
    /// Version agreed: the SYN/ACK's MP_CAPABLE version (the SYN's until then).
    pub version: Option<u8>,
    /// Version the client proposed in its MP_CAPABLE SYN.
    pub syn_version: Option<u8>,
    /// MPTCP options on this connection's subflows with a wrong length or layout.
    pub malformed_options: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The keys (RFC 8684 §3.1), and the token and IDSN each determines. A server token may be
    /// known without its key: from the MP_JOIN SYNs of a connection found at the data level.
    pub client_key: Option<Key>,
    pub server_key: Option<Key>,
    pub client_token: Option<Token>,
    pub server_token: Option<Token>,
    pub client_idsn: Option<Idsn>,
    pub server_idsn: Option<Idsn>,
    /// Both sides set the A flag: DSS checksums in use.
    pub checksums: bool,
    pub state: ConnState,
    pub fallback: Option<Anomaly>,
    pub start_ts: f64,
    pub end_ts: f64,
    #[serde(skip)]
    pub subflow_ids: Vec<usize>,
    pub announced: Vec<Announcement>,
    pub removed_address_ids: Vec<u8>,
    pub checks: Checks,
    pub anomalies: Vec<Anomaly>,
    pub anomalies_dropped: u64,
    /// How the connection was found.
    pub found_by: FoundBy,
    /// What decided which end is the client (see `Subflow::role_rule`).
    pub role_rule: RoleRule,
    /// Where the capture appears to have been taken (issue 14), from the first subflow.
    pub capture_point: super::receiver::CapturePoint,
    /// Data-level measures per direction (issue 4): `c2s` is from the MP_CAPABLE SYN sender.
    pub c2s: DataDir,
    pub s2c: DataDir,
    /// Frame of the first DATA_FIN per direction (`Dir::index`), for `events --side`.
    #[serde(skip)]
    pub data_fin_frames: [Option<u64>; 2],
    /// MP_CAPABLE flags of the SYN/ACK (C = 0x20 is the server's "no joins to id 0").
    #[serde(skip)]
    pub synack_flags: Option<u8>,
    /// MP_CAPABLE flags of the client's SYN.
    #[serde(skip)]
    pub syn_flags: u8,
    /// With several captures merged (`--merge`): the captures (0-based, in the order given)
    /// that saw packets of this connection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<usize>,
    /// DSS checksum failures and the MP_FAILs that answered them (RFC 8684 §3.7), the first 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksum_failures: Vec<ChecksumFailure>,
}

impl Connection {
    /// A connection whose first subflow is `subflow`, found at `ts` (roles as the subflow's).
    pub(super) fn new(
        id: usize,
        client: SocketAddr,
        server: SocketAddr,
        found_by: FoundBy,
        role_rule: RoleRule,
        subflow: usize,
        ts: f64,
    ) -> Self {
        Connection {
            id,
            version: None,
            syn_version: None,
            malformed_options: 0,
            client,
            server,
            client_key: None,
            server_key: None,
            client_token: None,
            server_token: None,
            client_idsn: None,
            server_idsn: None,
            checksums: false,
            state: ConnState::Established,
            fallback: None,
            start_ts: ts,
            end_ts: ts,
            subflow_ids: vec![subflow],
            announced: Vec::new(),
            removed_address_ids: Vec::new(),
            checks: Checks::default(),
            anomalies: Vec::new(),
            anomalies_dropped: 0,
            found_by,
            role_rule,
            capture_point: Default::default(),
            c2s: DataDir::default(),
            s2c: DataDir::default(),
            syn_flags: 0,
            data_fin_frames: [None, None],
            synack_flags: None,
            inputs: Vec::new(),
            checksum_failures: Vec::new(),
        }
    }
    /// The tokens this connection is known by (client's, server's).
    pub fn tokens(&self) -> impl Iterator<Item = Token> {
        [self.client_token, self.server_token].into_iter().flatten()
    }
    /// The key of direction `d`'s sender.
    pub fn key(&self, d: Dir) -> Option<Key> {
        match d {
            Dir::C2s => self.client_key,
            Dir::S2c => self.server_key,
        }
    }
    pub fn data(&self, d: Dir) -> &DataDir {
        match d {
            Dir::C2s => &self.c2s,
            Dir::S2c => &self.s2c,
        }
    }
    pub(super) fn data_mut(&mut self, d: Dir) -> &mut DataDir {
        match d {
            Dir::C2s => &mut self.c2s,
            Dir::S2c => &mut self.s2c,
        }
    }
    pub(super) fn crypto_version(&self) -> Option<Version> {
        match self.version {
            Some(0) => Some(Version::V0),
            Some(1) => Some(Version::V1),
            _ => None,
        }
    }
    /// The key of direction `d`'s sender is known.
    pub fn has_key(&self, d: Dir) -> bool {
        self.key(d).is_some()
    }
    pub(super) fn anomaly(&mut self, max: usize, frame: u64, kind: AnomalyKind, detail: impl FnOnce() -> String) {
        if self.anomalies.len() < max {
            self.anomalies.push(Anomaly { frame, kind, detail: detail() });
        } else {
            self.anomalies_dropped += 1;
        }
    }
}

/// What `ip mptcp monitor` would have printed, reconstructed from the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    Created,
    Established,
    Announced,
    Removed,
    SfEstablished,
    SfPriority,
    SfClosed,
    Closed,
    Fallback,
    Fastclose,
    MpFail,
}

/// One event of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub ts: f64,
    /// `ts` in nanoseconds, exact.
    #[serde(skip)]
    pub ts_ns: u64,
    pub frame: u64,
    pub kind: EventKind,
    pub connection: Option<usize>,
    /// The server's token (what MP_JOIN SYNs from the client carry).
    pub token: Option<Token>,
    pub subflow: Option<usize>,
    /// Packet source and destination.
    pub saddr: SocketAddr,
    pub daddr: SocketAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything the analyzer found.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub connections: Vec<Connection>,
    pub subflows: Vec<Subflow>,
    pub events: Vec<Event>,
    /// Anomalies not tied to a connection (caps hit, undecodable packets, orphans).
    pub anomalies: Vec<Anomaly>,
    pub anomalies_dropped: u64,
    pub stats: Stats,
    /// With captures merged: per capture, whether it shared a connection with another one.
    pub inputs_shared: Vec<bool>,
}

impl Analysis {
    /// Subflows that carried MPTCP options but belong to no connection in the capture.
    pub fn orphans(&self) -> impl Iterator<Item = &Subflow> {
        self.subflows.iter().filter(|s| s.connection.is_none() && s.kind != SubflowKind::Tcp)
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Counters over the whole capture.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub packets: u64,
    pub tcp_packets: u64,
    pub mptcp_packets: u64,
    pub option_errors: u64,
    /// Segments whose options the capture's snaplen cut.
    pub options_cut: u64,
    pub flows_dropped: u64,
    pub connections_dropped: u64,
    pub events_dropped: u64,
    /// Packets of flows already finished and freed (a straggler within the close delay after
    /// their end): counted, not tracked.
    pub late_packets: u64,
    /// Connections finished because they were idle longer than the idle timeout (when the
    /// open state needed their room, or at the end of the capture).
    pub connections_timed_out: u64,
    /// Connections that carried packets again after being idle longer than the idle timeout:
    /// continued, not split.
    #[serde(skip_serializing_if = "is_zero")]
    pub connections_resumed: u64,
    /// Most connections and flows open at once, and the estimated memory of the open state
    /// then (bytes; sampled once a second of capture time).
    pub peak_open_connections: u64,
    pub peak_open_flows: u64,
    pub peak_state_bytes: u64,
    /// Under memory pressure: the smallest window of delivered bytes a direction kept to compare
    /// re-sent bytes with (the configured 256 KiB otherwise; 0: none compared for a while).
    pub min_recent_window: Option<u64>,
    /// With captures merged: packets seen at two capture points, counted once.
    #[serde(skip_serializing_if = "is_zero")]
    pub merged_duplicates: u64,
    /// Segments captured twice by one capture, on their way into and out of a router (TTL or
    /// hop limit one lower): counted once, the second copy not analysed.
    #[serde(skip_serializing_if = "is_zero")]
    pub forwarded_copies: u64,
    /// Plain TCP: flows outside every MPTCP connection that carried no MPTCP option, with their
    /// SYN in the capture (a connection) or without it (a flow caught mid-way).
    pub tcp_connections: u64,
    pub tcp_flows_without_syn: u64,
    /// MPTCP connections whose MP_CAPABLE SYN no MP_CAPABLE SYN/ACK answered: the server
    /// answered without the option or never, and the client went on in plain TCP or gave up
    /// (a server without MPTCP, or a middlebox that strips or drops the option; RFC 8684 §3.6).
    pub mp_capable_unanswered: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    /// `first_ts` in nanoseconds, exact (what `-t r` counts from).
    #[serde(skip)]
    pub first_ts_ns: u64,
    /// Digits of a second the capture's timestamps hold (6 or 9; 0 before any packet).
    #[serde(skip)]
    pub ts_digits: u8,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::testkit::{connection, subflow};

    #[test]
    fn dir_flip_is_an_involution_and_indexes_differ() {
        for d in [Dir::C2s, Dir::S2c] {
            assert_ne!(d.flip(), d);
            assert_eq!(d.flip().flip(), d);
            assert_ne!(d.index(), d.flip().index());
        }
    }

    #[test]
    fn rtt_stats_keep_min_avg_max() {
        let mut r = RttStats::default();
        for ms in [10.0, 30.0, 20.0] {
            r.add(ms);
        }
        assert_eq!((r.samples, r.min_ms, r.avg_ms, r.max_ms), (3, Some(10.0), Some(20.0), Some(30.0)));
    }

    #[test]
    fn anomalies_beyond_the_cap_are_counted_not_kept() {
        let mut c = connection();
        for frame in 0..5 {
            c.anomaly(3, frame, AnomalyKind::StateCap, || "detail".into());
        }
        assert_eq!((c.anomalies.len(), c.anomalies_dropped), (3, 2));
    }

    #[test]
    fn orphans_are_mptcp_subflows_without_connection() {
        let mut tcp = subflow();
        tcp.kind = SubflowKind::Tcp;
        let mut orphan = subflow();
        orphan.id = 1;
        orphan.kind = SubflowKind::Join;
        let mut member = subflow();
        member.id = 2;
        member.kind = SubflowKind::Join;
        member.connection = Some(0);
        let a = Analysis {
            connections: vec![connection()],
            subflows: vec![tcp, orphan, member],
            events: Vec::new(),
            anomalies: Vec::new(),
            anomalies_dropped: 0,
            stats: Stats::default(),
            inputs_shared: Vec::new(),
        };
        assert_eq!(a.orphans().map(|s| s.id).collect::<Vec<_>>(), vec![1]);
    }
}
