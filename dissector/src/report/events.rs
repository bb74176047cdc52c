//! `events --side client|server`: the lines `ip mptcp monitor` (iproute2) would have printed on
//! one host, rebuilt from the capture, in the monitor's own format so that a tester can diff
//! them against the kernel's log (docs/events.md lists the fields the wire cannot show).
//!
//! The tracker's timeline (`Analysis::events`) is the wire's view: one event per packet that
//! shows something. A host's monitor prints a subset of it, from that host's point of view: its
//! own token, its local address first, its address ids, and only what that host's kernel
//! reports (ANNOUNCED, REMOVED and SF_PRIO on the receiving host only, SF_CLOSED only for a
//! subflow that ends while the connection is still established, no CLOSED on the host that
//! received MP_FASTCLOSE).
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use crate::track::{Analysis, AnomalyKind, Connection, Event, EventKind, Side, Subflow};
use mptcp_wire::crypto::Token;

/// Fields `ip mptcp monitor` can print that the wire cannot show: the interface index, the
/// path manager's timeout, the socket error and the reset details the kernel keeps to itself.
pub const UNKNOWABLE_FIELDS: &[&str] = &["ifindex", "timeout", "error", "reset_reason", "reset_flags"];

/// One event line as `ip mptcp monitor` prints it: `[%14s]` with the event name, then
/// `key=value` fields in the monitor's order (`token` first).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorLine {
    /// `CREATED`, `SF_ESTABLISHED`, ... or `UNKNOWN 15` for events iproute2 has no name for.
    pub kind: String,
    pub fields: Vec<(String, String)>,
    /// Capture time and frame of the packet that shows the event (our lines only).
    pub ts: Option<f64>,
    pub frame: Option<u64>,
}

impl MonitorLine {
    fn new(kind: &str, token: Token) -> Self {
        MonitorLine { kind: kind.into(), fields: vec![("token".into(), token.to_string())], ts: None, frame: None }
    }

    fn push(&mut self, key: &str, value: impl fmt::Display) {
        self.fields.push((key.into(), value.to_string()));
    }

    /// The value of one field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Parses one line of `ip mptcp monitor` output (an optional prefix before `[` such as a
    /// timestamp is skipped). `None` for lines that are not events (blank lines, shell noise).
    pub fn parse(line: &str) -> Option<MonitorLine> {
        let start = line.find('[')?;
        let rest = line.get(start + 1..)?;
        let end = rest.find(']')?;
        let kind = rest.get(..end)?.trim();
        if kind.is_empty() {
            return None;
        }
        let mut fields = Vec::new();
        for word in rest.get(end + 1..)?.split_whitespace() {
            let (k, v) = word.split_once('=')?;
            fields.push((k.to_string(), v.to_string()));
        }
        Some(MonitorLine { kind: kind.to_string(), fields, ts: None, frame: None })
    }

    /// This (kernel) line is shown by `ours`: same event, and every field the kernel printed
    /// has the same value in ours, except the fields the wire cannot show.
    pub fn matched_by(&self, ours: &MonitorLine) -> bool {
        self.kind == ours.kind
            && self.fields.iter().filter(|(k, _)| !UNKNOWABLE_FIELDS.contains(&k.as_str())).all(|(k, v)| ours.get(k) == Some(v.as_str()))
    }
}

impl fmt::Display for MonitorLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind.starts_with("UNKNOWN ") {
            // iproute2 prints events it has no name for without padding: `[UNKNOWN 15]`.
            write!(f, "[{}]", self.kind)?;
        } else {
            write!(f, "[{:>14}]", self.kind)?;
        }
        for (k, v) in &self.fields {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// The connection's client sent this packet of subflow `sf`.
fn sent_by_client(sf: &Subflow, src: SocketAddr) -> bool {
    (src == sf.client) == sf.opened_by_client()
}

/// `saddr4`/`saddr6` (or `daddr…`) as iproute2 names them.
fn addr_key(prefix: &str, ip: IpAddr) -> String {
    format!("{prefix}{}", if ip.is_ipv4() { "4" } else { "6" })
}

fn push_endpoints(line: &mut MonitorLine, local: SocketAddr, remote: SocketAddr) {
    line.push(&addr_key("saddr", local.ip()), local.ip());
    line.push(&addr_key("daddr", remote.ip()), remote.ip());
    line.push("sport", local.port());
    line.push("dport", remote.port());
}

/// What one host knows about one subflow: whether it opened it, its address ids and ends.
struct HostView {
    local_id: Option<u8>,
    remote_id: Option<u8>,
    local: SocketAddr,
    remote: SocketAddr,
}

fn host_view(sf: &Subflow, me_client: bool) -> HostView {
    let opener = sf.opened_by_client() == me_client;
    let (mut local_id, mut remote_id) = (sf.client_address_id, sf.server_address_id);
    if !sf.join {
        // The MP_CAPABLE subflow uses address id 0 on both ends (RFC 8684 §3.4).
        (local_id, remote_id) = (Some(0), Some(0));
    }
    if opener {
        HostView { local_id, remote_id, local: sf.client, remote: sf.server }
    } else {
        HostView { local_id: remote_id, remote_id: local_id, local: sf.server, remote: sf.client }
    }
}

/// `token remid locid saddr daddr sport dport` of a subflow, as `mptcp_event_put_token_and_ssk`.
fn subflow_line(kind: &str, token: Token, sf: &Subflow, me_client: bool) -> MonitorLine {
    let v = host_view(sf, me_client);
    let mut line = MonitorLine::new(kind, token);
    if let Some(id) = v.remote_id {
        line.push("remid", id);
    }
    if let Some(id) = v.local_id {
        line.push("locid", id);
    }
    push_endpoints(&mut line, v.local, v.remote);
    line
}

/// CREATED / ESTABLISHED: the initial subflow's ends, and `flags` (server side 2, the peer's
/// MP_CAPABLE C flag "no joins to address id 0" 1) when not zero.
fn connection_line(kind: &str, token: Token, conn: &Connection, me_client: bool) -> MonitorLine {
    let mut line = MonitorLine::new(kind, token);
    line.push("remid", 0);
    line.push("locid", 0);
    let (local, remote) = if me_client { (conn.client, conn.server) } else { (conn.server, conn.client) };
    push_endpoints(&mut line, local, remote);
    let peer_flags = if me_client { conn.synack_flags.unwrap_or(0) } else { conn.syn_flags };
    let flags = u16::from(peer_flags & 0x20 != 0) | if me_client { 0 } else { 2 };
    if flags != 0 {
        line.push("flags", format_args!("{flags:x}"));
    }
    line
}

/// The lines `ip mptcp monitor` on `side` would have printed, in capture order. Connections
/// that fell back in the handshake produce none (the kernel never created an MPTCP socket);
/// events of connections whose token on that side is unknown (keys not captured) are left out.
/// `side` is the end whose monitor is rebuilt: the connection's client (the MP_CAPABLE SYN
/// sender) or its server, the same ends that announce addresses ([`Side`]).
pub fn monitor_lines(a: &Analysis, side: Side) -> Vec<MonitorLine> {
    let mut of: HashMap<usize, Vec<(u64, &Event)>> = HashMap::new();
    for (seq, e) in a.events.iter().enumerate() {
        if let Some(c) = e.connection {
            of.entry(c).or_default().push((seq as u64, e));
        }
    }
    let mut out: Vec<(u64, MonitorLine)> = Vec::new();
    for conn in &a.connections {
        let Some(events) = of.get(&conn.id) else { continue };
        let subflows: Vec<&Subflow> = conn.subflow_ids.iter().filter_map(|&s| a.subflows.get(s).filter(|f| f.id == s)).collect();
        out.extend(connection_lines(conn, &subflows, events, side));
    }
    out.sort_by_key(|(seq, _)| *seq);
    out.into_iter().map(|(_, l)| l).collect()
}

/// The monitor lines of one connection on `side` ([`monitor_lines`]), from its final state,
/// its `subflows` and its `events` in capture order (each with a sequence number the line
/// keeps, to merge connections' lines into capture order).
pub fn connection_lines(conn: &Connection, subflows: &[&Subflow], events: &[(u64, &Event)], side: Side) -> Vec<(u64, MonitorLine)> {
    let me_client = side == Side::Client;
    let mut out = Vec::new();
    if conn.fallback.as_ref().is_some_and(|f| f.kind == AnomalyKind::Handshake) {
        return out;
    }
    let Some(token) = (if me_client { conn.client_token } else { conn.server_token }) else { return out };
    let subflow = |s: usize| subflows.iter().copied().find(|f| f.id == s);
    // First DATA_FIN or MP_FASTCLOSE: from then on the connection is no longer established and
    // the kernel stops reporting SF_CLOSED (`mptcp_close_ssk`).
    let fastclose = events
        .iter()
        .find(|(_, e)| e.kind == EventKind::Fastclose)
        .map(|(_, e)| (e.frame, e.subflow.and_then(subflow).map(|s| sent_by_client(s, e.saddr))));
    // The backup flag each host reports per subflow: the B bit it last received.
    let mut backup: HashMap<usize, bool> = HashMap::new();
    let both_keys = conn.client_key.is_some() && conn.server_key.is_some();
    let first_fin = conn.data_fin_frames.iter().flatten().min().copied();
    let fc = fastclose.map(|(f, _)| f);
    for &(seq, e) in events {
        let sf = e.subflow.and_then(subflow).filter(|s| s.connection == Some(conn.id));
        // Did this host receive the packet that shows the event?
        let received = sf.map(|s| sent_by_client(s, e.saddr) != me_client);
        let still_established = [first_fin, fc].iter().flatten().all(|&f| e.frame < f);
        let line = match e.kind {
            // The client creates its socket on the SYN/ACK, the server on the third ACK.
            EventKind::Created if conn.server_key.is_some() && (me_client || both_keys) => {
                Some(connection_line("CREATED", token, conn, me_client))
            }
            EventKind::Established if both_keys => Some(connection_line("ESTABLISHED", token, conn, me_client)),
            EventKind::Announced if received == Some(true) => {
                let ann = conn.announced.iter().find(|x| x.frame == e.frame && Some(x.address_id) == e.address_id);
                ann.map(|ann| {
                    let mut line = MonitorLine::new("ANNOUNCED", token);
                    line.push("remid", ann.address_id);
                    line.push(&addr_key("daddr", ann.address), ann.address);
                    // No port in the ADD_ADDR: the kernel reports the subflow's remote port.
                    line.push("dport", ann.port.unwrap_or(e.saddr.port()));
                    line
                })
            }
            EventKind::Removed if received == Some(true) => e.address_id.map(|id| {
                let mut line = MonitorLine::new("REMOVED", token);
                line.push("remid", id);
                line
            }),
            // The join's responder accepts it only while the connection is established
            // (`mptcp_finish_join`); after a DATA_FIN it resets the subflow (MP_TCPRST).
            EventKind::SfEstablished => sf.filter(|s| still_established || s.opened_by_client() == me_client).map(|s| {
                let opener = s.opened_by_client() == me_client;
                // The responder reports the SYN's B bit, the initiator the SYN/ACK's.
                let b = if opener { s.synack_backup() } else { e.backup.unwrap_or(false) };
                backup.insert(s.id, b);
                let mut line = subflow_line("SF_ESTABLISHED", token, s, me_client);
                line.push("backup", u8::from(b));
                line
            }),
            EventKind::SfPriority if received == Some(true) => sf.map(|s| {
                let b = e.backup.unwrap_or(false);
                backup.insert(s.id, b);
                let mut line = subflow_line("SF_PRIO", token, s, me_client);
                line.push("backup", u8::from(b));
                line
            }),
            EventKind::SfClosed => sf
                .filter(|s| {
                    // A join that never completed exists only on the host that sent its SYN.
                    let exists_here = s.established_ts.is_some() || s.opened_by_client() == me_client;
                    // The host that reset the subflow after a DSS checksum failure (its RST
                    // carries MP_FAIL) reports no SF_CLOSED for it (seen on Linux 6.18).
                    let reset_here_on_mp_fail = received == Some(false)
                        && conn.checksum_failures.iter().any(|x| x.subflow == s.id && x.mp_fail_frame == Some(e.frame));
                    still_established && exists_here && !reset_here_on_mp_fail
                })
                .map(|s| {
                    let mut line = subflow_line("SF_CLOSED", token, s, me_client);
                    line.push("backup", u8::from(backup.get(&s.id).copied().unwrap_or(false)));
                    line
                }),
            EventKind::Closed => {
                // The host that received MP_FASTCLOSE drops its token before closing.
                let peer_fastclosed = fastclose.is_some_and(|(_, by_client)| by_client.is_some_and(|c| c != me_client));
                (!peer_fastclosed).then(|| MonitorLine::new("CLOSED", token))
            }
            _ => None,
        };
        if let Some(mut line) = line {
            line.ts = Some(e.ts);
            line.frame = Some(e.frame);
            out.push((seq, line));
        }
    }
    out
}

/// Lines wait at most this many for an earlier event of a connection still open
/// ([`Monitor`]); past that they are written, and the open connection's lines come when it ends.
pub const MONITOR_WAIT: usize = 65_536;

/// [`monitor_lines`] as the capture is read: fed the events as they come and each connection
/// when it is handed over finished, it gives each line once its connection ended and every
/// earlier event's connection did too, so lines come in capture order while memory holds the
/// events of the connections open and the lines waiting for them (at most [`MONITOR_WAIT`]).
pub struct Monitor {
    side: Side,
    seq: u64,
    /// Per open connection: its events so far, with their sequence numbers.
    pending: HashMap<usize, Vec<(u64, Event)>>,
    /// The first pending event's sequence number of each open connection that has one.
    firsts: std::collections::BTreeMap<u64, usize>,
    ready: std::collections::BTreeMap<u64, MonitorLine>,
}

impl Monitor {
    pub fn new(side: Side) -> Self {
        Monitor { side, seq: 0, pending: HashMap::new(), firsts: Default::default(), ready: Default::default() }
    }

    /// An event of the timeline, in capture order.
    pub fn event(&mut self, e: &Event) {
        self.seq += 1;
        let Some(c) = e.connection else { return };
        let events = self.pending.entry(c).or_default();
        if events.is_empty() {
            self.firsts.insert(self.seq, c);
        }
        events.push((self.seq, e.clone()));
    }

    /// Connection `conn` ended with its `subflows`: its lines of the events `keep` keeps.
    pub fn connection(&mut self, conn: &Connection, subflows: &[Subflow], keep: impl Fn(&Event) -> bool) {
        let Some(events) = self.pending.remove(&conn.id) else { return };
        if let Some(&(first, _)) = events.first() {
            self.firsts.remove(&first);
        }
        let kept: Vec<(u64, &Event)> = events.iter().filter(|(_, e)| keep(e)).map(|(s, e)| (*s, e)).collect();
        let subflows: Vec<&Subflow> = subflows.iter().collect();
        self.ready.extend(connection_lines(conn, &subflows, &kept, self.side));
    }

    /// The next line to write, if it need not wait any more.
    pub fn next_line(&mut self) -> Option<MonitorLine> {
        let (&seq, _) = self.ready.first_key_value()?;
        let waits = self.firsts.first_key_value().is_some_and(|(&open, _)| open < seq);
        if waits && self.ready.len() <= MONITOR_WAIT {
            return None;
        }
        self.ready.pop_first().map(|(_, l)| l)
    }

    /// The lines left at the end (connections not handed over have none).
    pub fn finish(&mut self) -> impl Iterator<Item = MonitorLine> + '_ {
        self.firsts.clear();
        self.pending.clear();
        std::mem::take(&mut self.ready).into_values()
    }
}

/// Writes one line as the monitor prints it, optionally prefixed with the capture time.
pub fn write_monitor_line<W: Write + ?Sized>(out: &mut W, l: &MonitorLine, timestamps: bool) -> io::Result<()> {
    if timestamps {
        write!(out, "{:.6} ", l.ts.unwrap_or(0.0))?;
    }
    writeln!(out, "{l}")
}

/// Writes the lines as the monitor prints them, optionally prefixed with the capture time.
pub fn write_monitor_text<W: Write>(out: &mut W, lines: &[MonitorLine], timestamps: bool) -> io::Result<()> {
    for l in lines {
        write_monitor_line(out, l, timestamps)?;
    }
    Ok(())
}
