//! Connection and subflow tracking: TCP flows by 4-tuple, MPTCP connections from MP_CAPABLE,
//! join subflows attached by token, verification of keys, HMACs and DSS checksums, events.
//!
//! Feed every decoded TCP segment to [`Analyzer::packet`] in capture order, then call
//! [`Analyzer::finish`]. All state is bounded by [`Limits`]; hitting a cap is recorded.
//!
//! ```
//! use mptcp_dissector::track::{Analyzer, Limits};
//! let analyzer = Analyzer::new(Limits::default());
//! let analysis = analyzer.finish();
//! assert!(analysis.connections.is_empty());
//! ```
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::crypto::{self, AddAddrHmacVerdict, DssChecksum, DssChecksumVerdict, Version};
use crate::decode::TcpSegment;
use crate::options::mptcp::{AddAddr, AddAddrVersion, Dss, MpCapable, MpJoin, MptcpOption, SeqLen};
use crate::options::mptcp_options;
use crate::seq::{DataSeq, SubflowSeq};

pub mod checks;
pub mod data;
mod mappings;
pub mod model;

use checks::{ids, Verdict};
pub use data::{DataDir, DataSink, NullSink};
use mappings::{Added, Fresh, Mapping};
pub use model::{
    Analysis, Announcement, Anomaly, ConnState, Connection, Dir, Event, EventKind, Observer, ReinjectionSource, RttStats, SegmentRecord,
    Stats, Subflow, SubflowDir, SubflowEnd, SubflowKind,
};

/// Caps on tracked state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_flows: usize,
    pub max_connections: usize,
    pub max_events: usize,
    pub max_anomalies: usize,
    pub reassembly: crate::reassembly::ReassemblyLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // ~1.8 KB per tracked flow: these caps keep a SYN flood within the 64 MB budget.
            max_flows: 16_384,
            max_connections: 8_192,
            max_events: 1_000_000,
            max_anomalies: 64,
            reassembly: crate::reassembly::ReassemblyLimits::default(),
        }
    }
}

/// DSS checksum being accumulated over a mapping's payload, which may span segments.
#[derive(Debug, Clone, Copy)]
struct CsumInProgress {
    acc: DssChecksum,
    ssn: u32,
    data_len: u32,
    fed: u32,
    wire: u16,
    frame: u64,
    /// Length exactly 1 with DATA_FIN: the kernel does not validate these (see crypto docs).
    fin_only: bool,
}

/// Payload waiting for its mapping (see `SubflowDir::pending`).
#[derive(Debug, Clone, Default)]
struct Pending {
    /// Subflow sequence number (absolute) of the first byte.
    seq: u32,
    len: u32,
    /// The captured bytes (a prefix of `len`).
    bytes: Vec<u8>,
    frame: u64,
    ts_ns: u64,
}

/// At most this many pieces and bytes wait for a mapping per subflow direction.
const MAX_PENDING: usize = 64;
const MAX_PENDING_BYTES: usize = 256 << 10;

type FlowKey = (IpAddr, u16, IpAddr, u16);

fn key_of(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if (a.ip(), a.port()) <= (b.ip(), b.port()) {
        (a.ip(), a.port(), b.ip(), b.port())
    } else {
        (b.ip(), b.port(), a.ip(), a.port())
    }
}

fn hex64(v: u64) -> String {
    format!("{v:016x}")
}
fn hex32(v: u32) -> String {
    format!("{v:08x}")
}

/// Per-packet context handed to option handlers.
#[derive(Clone, Copy)]
struct Ctx {
    frame: u64,
    ts: f64,
    ts_ns: u64,
    flow: usize,
    dir: Dir,
    saddr: SocketAddr,
    daddr: SocketAddr,
    flags: crate::decode::TcpFlags,
}

/// The tracker. Feed it packets in capture order.
pub struct Analyzer {
    limits: Limits,
    flow_index: HashMap<FlowKey, usize>,
    flows: Vec<Subflow>,
    conns: Vec<Connection>,
    tokens: HashMap<u32, usize>,
    events: Vec<Event>,
    anomalies: Vec<Anomaly>,
    anomalies_dropped: u64,
    stats: Stats,
    data: data::DataLevel,
    observer: Option<Box<dyn Observer>>,
    /// The record of the segment being processed.
    cur: SegmentRecord,
    /// Which bytes of the segment being processed are a first copy at the subflow level.
    cur_fresh: Fresh,
    /// The finite mapping the segment being processed carries.
    cur_mapping: Option<Mapping>,
}

impl Analyzer {
    pub fn new(limits: Limits) -> Self {
        Analyzer {
            limits,
            flow_index: HashMap::new(),
            flows: Vec::new(),
            conns: Vec::new(),
            tokens: HashMap::new(),
            events: Vec::new(),
            anomalies: Vec::new(),
            anomalies_dropped: 0,
            stats: Stats::default(),
            data: data::DataLevel::new(limits.reassembly),
            observer: None,
            cur: SegmentRecord::default(),
            cur_fresh: Fresh::default(),
            cur_mapping: None,
        }
    }

    /// Hands a [`SegmentRecord`] of every TCP segment to `observer` (share its results with
    /// an `Rc<RefCell<..>>`: the analyzer owns the box).
    pub fn with_observer(mut self, observer: Box<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Computes the sha256 of every rebuilt data stream (reported for complete streams).
    pub fn with_hashes(mut self, on: bool) -> Self {
        self.data.set_hash(on);
        self
    }

    /// Sends the data-level byte stream of one connection direction to `sink` as it is rebuilt.
    pub fn with_sink(mut self, connection: usize, dir: Dir, sink: Box<dyn DataSink>) -> Self {
        self.data.set_sink(connection, dir, sink);
        self
    }

    fn global_anomaly(&mut self, frame: u64, kind: &'static str, detail: impl FnOnce() -> String) {
        if self.anomalies.len() < self.limits.max_anomalies * 16 {
            self.anomalies.push(Anomaly { frame, kind, detail: detail() });
        } else {
            self.anomalies_dropped += 1;
        }
    }

    /// Counts a packet that did not decode to TCP.
    pub fn non_tcp(&mut self, frame: u64, ts_ns: u64, error: Option<&crate::decode::DecodeError>) {
        self.stats.packets += 1;
        self.touch_ts(ts_ns);
        if let Some(e) = error {
            let e = *e;
            self.global_anomaly(frame, "undecodable_packet", || e.to_string());
        }
    }

    fn touch_ts(&mut self, ts_ns: u64) {
        let ts = ts_ns as f64 / 1e9;
        // A packet at timestamp 0 is a timestamp like any other (ns-3 captures start there).
        if !self.stats.started {
            self.stats.started = true;
            self.stats.first_ts = ts;
        }
        self.stats.last_ts = ts;
    }

    fn event(&mut self, ctx: &Ctx, kind: EventKind, conn: Option<usize>, fill: impl FnOnce(&mut Event)) {
        if self.events.len() >= self.limits.max_events {
            self.stats.events_dropped += 1;
            return;
        }
        let token = conn.and_then(|c| self.conns.get(c)).and_then(|c| c.server_token.clone());
        let mut e = Event {
            ts: ctx.ts,
            frame: ctx.frame,
            kind,
            connection: conn,
            token,
            subflow: Some(ctx.flow),
            saddr: ctx.saddr,
            daddr: ctx.daddr,
            address_id: None,
            address: None,
            backup: None,
            reason: None,
        };
        fill(&mut e);
        self.events.push(e);
    }

    /// Finds or creates the flow of a segment; `None` when the flow cap is hit.
    fn flow_for(&mut self, frame: u64, ts: f64, seg: &TcpSegment<'_>) -> Option<(usize, Dir)> {
        let src = SocketAddr::new(seg.src, seg.sport);
        let dst = SocketAddr::new(seg.dst, seg.dport);
        let key = key_of(src, dst);
        let pure_syn = seg.flags.syn() && !seg.flags.ack();
        let mut reuse = None;
        if let Some(&id) = self.flow_index.get(&key) {
            if let Some(f) = self.flows.get(id) {
                // A SYN that reuses a 4-tuple whose flow ended, or with another ISN, is a new flow.
                let new_syn = pure_syn && (f.closed() || f.c2s.isn.is_some_and(|isn| isn != seg.seq) || f.client != src);
                if !new_syn {
                    let dir = if f.client == src { Dir::C2s } else { Dir::S2c };
                    return Some((id, dir));
                }
                // Stray segments before the SYN (no SYN, no payload, no connection: e.g. ACKs of
                // a join whose first SYN the capture missed, and the RST they drew) are the same
                // subflow's prelude, not a flow of their own: the SYN starts it afresh.
                if !f.syn_seen && f.c2s.bytes == 0 && f.s2c.bytes == 0 && f.connection.is_none() {
                    reuse = Some(id);
                }
            }
        }
        if reuse.is_none() && self.flows.len() >= self.limits.max_flows {
            self.stats.flows_dropped += 1;
            if self.stats.flows_dropped == 1 {
                let max = self.limits.max_flows;
                self.global_anomaly(frame, "flow_cap", || format!("more than {max} TCP flows: later flows are not tracked"));
            }
            return None;
        }
        // The SYN sender is the client; without the SYN, a SYN/ACK's receiver; else the end
        // with the higher (ephemeral) port.
        let (client, server, role_rule) = if seg.flags.syn() && seg.flags.ack() {
            (dst, src, "syn_ack")
        } else if seg.flags.syn() {
            (src, dst, "syn")
        } else if seg.sport > seg.dport {
            (src, dst, "ports")
        } else if seg.sport < seg.dport {
            (dst, src, "ports")
        } else {
            (src, dst, "first_packet")
        };
        let id = reuse.unwrap_or(self.flows.len());
        let kind = if seg.flags.syn() { SubflowKind::Tcp } else { SubflowKind::Unknown };
        let flow = Subflow::new(id, client, server, role_rule, kind, frame, ts);
        match self.flows.get_mut(id) {
            Some(slot) => *slot = flow,
            None => self.flows.push(flow),
        }
        self.flow_index.insert(key, id);
        let dir = if client == src { Dir::C2s } else { Dir::S2c };
        Some((id, dir))
    }

    /// Feeds one decoded TCP segment.
    pub fn packet(&mut self, frame: u64, ts_ns: u64, seg: &TcpSegment<'_>) {
        self.stats.packets += 1;
        self.stats.tcp_packets += 1;
        self.touch_ts(ts_ns);
        let ts = ts_ns as f64 / 1e9;
        let Some((flow, dir)) = self.flow_for(frame, ts, seg) else { return };
        let dir = self.infer_connection(frame, ts, flow, dir, seg);
        self.cur =
            SegmentRecord { frame, ts_ns, subflow: flow, c2s: dir == Dir::C2s, payload_len: seg.payload_len, ..SegmentRecord::default() };
        let ctx = Ctx {
            frame,
            ts,
            ts_ns,
            flow,
            dir,
            saddr: SocketAddr::new(seg.src, seg.sport),
            daddr: SocketAddr::new(seg.dst, seg.dport),
            flags: seg.flags,
        };
        self.tcp_level(&ctx, seg);

        let mut saw_mptcp = false;
        let mut saw_capable = false;
        for item in mptcp_options(seg.options) {
            match item {
                Ok((_, opt)) => {
                    saw_mptcp = true;
                    match opt {
                        MptcpOption::Capable(c) => {
                            saw_capable = true;
                            self.on_capable(&ctx, &c);
                        }
                        MptcpOption::Join(j) => self.on_join(&ctx, &j),
                        MptcpOption::Dss(d) => self.on_dss(&ctx, &d),
                        MptcpOption::AddAddr(a) => self.on_add_addr(&ctx, &a),
                        MptcpOption::RemoveAddr(r) => self.on_remove_addr(&ctx, r.address_ids),
                        MptcpOption::Prio(p) => self.on_prio(&ctx, p.backup, p.address_id),
                        MptcpOption::Fail(f) => self.on_fail(&ctx, f.dsn),
                        MptcpOption::FastClose(f) => self.on_fastclose(&ctx, f.receiver_key),
                        MptcpOption::TcpRst(r) => self.on_tcprst(&ctx, r.reason),
                        MptcpOption::Experimental { .. } | MptcpOption::Unknown { .. } => {}
                    }
                }
                // The capture's snaplen cut the option space: not a malformed option.
                Err(crate::options::OptionIssue::Walk(_)) if seg.options_truncated => {
                    saw_mptcp = true;
                    self.stats.options_cut += 1;
                }
                Err(issue) => {
                    saw_mptcp = true;
                    self.stats.option_errors += 1;
                    let max = self.limits.max_anomalies;
                    match self.flows.get(flow).and_then(|f| f.connection) {
                        Some(c) => {
                            if let Some(conn) = self.conns.get_mut(c) {
                                conn.malformed_options += 1;
                                conn.anomaly(max, frame, "malformed_option", || issue.to_string());
                            }
                        }
                        None => self.global_anomaly(frame, "malformed_option", || issue.to_string()),
                    }
                }
            }
        }
        if saw_mptcp {
            self.stats.mptcp_packets += 1;
        }
        if seg.flags.syn() && !seg.flags.ack() {
            if let Some(f) = self.flows.get_mut(flow) {
                f.last_syn_capable = saw_capable;
            }
        }
        // An MP_CAPABLE SYN answered by a SYN/ACK without MP_CAPABLE: plain TCP (RFC 8684 §3.1).
        if seg.flags.syn() && seg.flags.ack() && !saw_capable {
            self.on_synack_without_capable(&ctx);
        }
        if !seg.payload.is_empty() || seg.payload_len > 0 {
            self.payload(&ctx, seg);
        }
        if seg.flags.fin() {
            self.fin_under_infinite_mapping(&ctx, seg);
        }
        if let Some(obs) = self.observer.as_mut() {
            self.cur.connection = self.flows.get(flow).and_then(|f| f.connection);
            obs.segment(&self.cur);
        }
    }

    /// A subflow with DSS options and no connection (its handshake is not in the capture, or
    /// its join token is unknown) joins the connection whose data sequence space its DSNs and
    /// data ACKs fall in, or founds one. Two random 64-bit IDSNs within 2^32 of each other are
    /// a 1-in-2^31 coincidence. Returns the packet's direction (the flow's roles may be swapped
    /// to agree with the connection's).
    fn infer_connection(&mut self, frame: u64, ts: f64, flow: usize, dir: Dir, seg: &TcpSegment<'_>) -> Dir {
        const NEAR: u64 = 1 << 32;
        let Some(f) = self.flows.get(flow) else { return dir };
        if f.connection.is_some() || f.mptcp_syn && f.orphan_token.is_none() {
            return dir;
        }
        // Data spaces this segment shows, by the flow direction whose data they number.
        let mut spaces: [Option<(DataSeq, Dir)>; 2] = [None, None];
        for item in mptcp_options(seg.options) {
            match item {
                Ok((_, MptcpOption::Dss(d))) => {
                    if let Some(m) = d.mapping.filter(|m| m.dsn_len == SeqLen::Eight && m.data_level_length > 0) {
                        spaces[0] = Some((DataSeq(m.dsn), dir));
                    }
                    if let Some(a) = d.data_ack.filter(|a| a.len == SeqLen::Eight) {
                        spaces[1] = Some((DataSeq(a.value), dir.flip()));
                    }
                }
                // The keys found the connection (see on_capable).
                Ok((_, MptcpOption::Capable(_))) => return dir,
                _ => {}
            }
        }
        if spaces.iter().all(Option::is_none) {
            return dir;
        }
        let near = |a: DataSeq, b: DataSeq| a.0.wrapping_sub(b.0).min(b.0.wrapping_sub(a.0)) < NEAR;
        // The most recent connections first; a bounded search.
        let found = self.conns.iter().rev().take(1024).find_map(|c| {
            spaces.iter().flatten().find_map(|&(v, fdir)| {
                [Dir::C2s, Dir::S2c].into_iter().find_map(|x| {
                    let known = [c.last_dsn[x.index()], c.last_ack[x.flip().index()], c.lowest_seen[x.index()]];
                    known.into_iter().flatten().any(|k| near(v, k)).then_some((c.id, fdir != x))
                })
            })
        });
        let ctx = Ctx {
            frame,
            ts,
            ts_ns: 0,
            flow,
            dir,
            saddr: SocketAddr::new(seg.src, seg.sport),
            daddr: SocketAddr::new(seg.dst, seg.dport),
            flags: seg.flags,
        };
        let (cid, flip) = match found {
            Some((cid, flip)) => {
                if let Some(f) = self.flows.get_mut(flow) {
                    f.connection = Some(cid);
                }
                if let Some(c) = self.conns.get_mut(cid) {
                    c.subflow_ids.push(flow);
                }
                (cid, flip)
            }
            None => match self.new_connection(&ctx, "data_level") {
                Some(cid) => (cid, false),
                None => return dir,
            },
        };
        let mut dir = dir;
        if let Some(f) = self.flows.get_mut(flow) {
            if flip {
                swap_roles(f);
                f.role_rule = "data_level";
                dir = dir.flip();
            }
            // A join whose token no handshake produced now has its connection. If that
            // connection's keys are known the token is wrong (it stays the join's
            // `orphan_token`, and fails the connection's mp_join.token); if they are not, it is
            // the token of the connection's server, whose key the capture does not hold.
            if let (true, Some(token)) = (f.join, f.join_state.token) {
                if let Some(c) = self.conns.get_mut(cid) {
                    if c.keys.iter().any(Option::is_some) {
                        let (id, rfc) = ids::JOIN_TOKEN;
                        let (tc, ts) = (c.client_token.clone().unwrap_or_default(), c.server_token.clone().unwrap_or_default());
                        c.checks.record(id, rfc, Verdict::Fail, f.first_frame, || {
                            format!("MP_JOIN SYN at frame {} carries token {token:08x}; its DSNs put it in this connection, whose tokens are {tc}/{ts}", f.first_frame)
                        });
                    } else if c.server_token.is_none() {
                        c.server_token = Some(hex32(token));
                    }
                }
            }
        }
        // Where the rebuilt streams start: mapped DSNs only (see Connection::note_seen).
        for (v, fdir) in spaces.into_iter().take(1).flatten() {
            let x = if flip { fdir.flip() } else { fdir };
            if let Some(c) = self.conns.get_mut(cid) {
                let slot = &mut c.lowest_seen[x.index()];
                *slot = Some(slot.map_or(v, |o| o.min(v)));
            }
        }
        dir
    }

    /// After fallback the subflow stream is the data stream: its FIN ends the data (§3.7).
    fn fin_under_infinite_mapping(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let Some(cid) = f.connection else { return };
        let d = f.dir(ctx.dir);
        let Some(isn) = d.isn else { return };
        let rel = seg.seq.wrapping_add(seg.payload_len).wrapping_sub(isn);
        let fin_dsn = d.mappings.find_infinite(rel).map(|(m, off)| m.dsn + off as usize);
        if let Some(dsn) = fin_dsn {
            let start = self.conns.get(cid).and_then(|c| c.data_start(ctx.dir));
            self.data.data_fin(cid, ctx.dir, dsn, start, ctx.frame);
        }
    }

    /// TCP-level bookkeeping: ISNs, bytes, retransmissions, endings.
    fn tcp_level(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        f.last_ts = ctx.ts;
        let d = f.dir_mut(ctx.dir);
        if seg.flags.syn() {
            d.isn = Some(seg.seq);
        }
        d.packets += 1;
        if seg.flags.syn() && !seg.flags.ack() {
            f.syn_seen = true;
        }
        let d = f.dir_mut(ctx.dir);
        let len = seg.payload_len;
        self.cur_fresh = Fresh::default();
        self.cur_mapping = None;
        if len > 0 {
            d.bytes += u64::from(len);
            let start = SubflowSeq(seg.seq);
            let end = start + len as usize;
            // Bytes of subflow sequence space already carried are a TCP retransmission; bytes
            // filling a hole the capture had not seen are a first copy.
            let fresh = d.seen.carry(seg.seq, len);
            let again = len - fresh.total();
            self.cur_fresh = fresh;
            if again > 0 {
                d.retransmitted_bytes += u64::from(again);
                d.retransmitted_segments += 1;
                self.cur.tcp_retransmission = true;
            }
            match d.next_seq {
                Some(next) if start < next => {
                    d.next_seq = Some(next.max(end));
                    // Karn: no RTT sample across a retransmission (or a late first copy).
                    d.rtt_probe = None;
                }
                _ => {
                    d.next_seq = Some(end);
                    if d.rtt_probe.is_none() {
                        d.rtt_probe = Some((end, ctx.ts_ns));
                    }
                }
            }
        }
        if seg.flags.fin() {
            d.fin = true;
        }
        // This segment's ACK may complete an RTT probe of the other direction's data.
        if seg.flags.ack() {
            let other = f.dir_mut(ctx.dir.flip());
            if let Some(isn) = other.isn {
                other.mappings.prune(seg.ack.wrapping_sub(isn));
            }
            if let Some((end, sent)) = other.rtt_probe {
                if SubflowSeq(seg.ack) >= end {
                    other.rtt_probe = None;
                    let ms = ctx.ts_ns.saturating_sub(sent) as f64 / 1e6;
                    other.rtt.add(ms);
                    self.cur.rtt = Some((ctx.dir.flip(), ms));
                }
            }
        }
        if seg.flags.ack() && !seg.flags.syn() && f.established_ts.is_none() && f.synack_seen && ctx.dir == Dir::C2s {
            f.established_ts = Some(ctx.ts);
        }
        if seg.flags.syn() && seg.flags.ack() {
            f.synack_seen = true;
        }
        let was_closed = f.end.is_some();
        // RFC 9293 §3.10.7.3: in SYN-SENT a RST without ACK is ignored (servers send them in
        // answer to stray ACKs of a join whose SYN/ACK has not arrived yet); the SYN is then
        // retransmitted with the same ISN and the subflow goes on.
        let ignored_rst = seg.flags.rst() && !seg.flags.ack() && f.syn_seen && !f.synack_seen && ctx.dir == Dir::S2c;
        if ignored_rst {
            if let Some(cid) = f.connection {
                let max = self.limits.max_anomalies;
                if let Some(conn) = self.conns.get_mut(cid) {
                    conn.anomaly(max, ctx.frame, "rst_ignored_in_syn_sent", || {
                        "RST without ACK to a subflow in SYN-SENT: ignored by the receiver (RFC 9293 §3.10.7.3)".into()
                    });
                }
            }
        } else if seg.flags.rst() {
            f.rst = true;
            if f.end.is_none() {
                f.end = Some(SubflowEnd { how: "rst", frame: ctx.frame, ts: ctx.ts, reason: None });
            }
        } else if f.c2s.fin && f.s2c.fin && f.end.is_none() {
            f.end = Some(SubflowEnd { how: "fin", frame: ctx.frame, ts: ctx.ts, reason: None });
        }
        if !was_closed && f.end.is_some() {
            let conn = f.connection;
            if conn.is_some() {
                self.event(ctx, EventKind::SfClosed, conn, |_| {});
                self.maybe_closed(ctx, conn);
            }
        }
    }

    /// A connection whose subflows have all ended is closed.
    fn maybe_closed(&mut self, ctx: &Ctx, conn: Option<usize>) {
        let Some(c) = conn else { return };
        let Some(connection) = self.conns.get(c) else { return };
        // A join whose SYN was never answered never opened: it does not keep the connection open.
        let all_closed = connection.subflow_ids.iter().all(|&s| self.flows.get(s).is_some_and(|f| f.end.is_some() || f.unanswered()));
        if all_closed && !matches!(connection.state, ConnState::Closed) {
            if let Some(connection) = self.conns.get_mut(c) {
                if connection.state != ConnState::FastClosed && connection.state != ConnState::Fallback {
                    connection.state = ConnState::Closed;
                }
                connection.end_ts = ctx.ts;
            }
            self.event(ctx, EventKind::Closed, conn, |_| {});
        }
    }

    fn conn_of(&self, flow: usize) -> Option<usize> {
        self.flows.get(flow).and_then(|f| f.connection)
    }

    fn on_capable(&mut self, ctx: &Ctx, c: &MpCapable) {
        let flags = ctx.flags;
        let existing = self.conn_of(ctx.flow);
        if flags.syn() && !flags.ack() {
            // MP_CAPABLE SYN: a new connection (a retransmitted SYN reuses it).
            if existing.is_some() {
                return;
            }
            let Some(id) = self.new_connection(ctx, "mp_capable") else { return };
            let Some(f) = self.flows.get_mut(ctx.flow) else { return };
            f.kind = SubflowKind::Initial;
            f.mptcp_syn = true;
            let Some(conn) = self.conns.get_mut(id) else { return };
            conn.version = Some(c.version);
            conn.syn_version = Some(c.version);
            conn.state = ConnState::SynSent;
            conn.syn_flags = c.flags;
            // v0: the client's key is in the SYN.
            if let Some(k) = c.sender_key {
                set_key(conn, Dir::C2s, k, &mut self.tokens);
            }
            self.event(ctx, EventKind::Created, Some(id), |_| {});
            return;
        }
        let existing = match existing {
            Some(cid) => Some(cid),
            // The third ACK or first data of a connection whose SYN is not in the capture: its
            // keys found the connection (the client sends it).
            None if c.sender_key.is_some() && c.receiver_key.is_some() && !flags.syn() => {
                let id = self.new_connection(ctx, "mp_capable_ack");
                if let (Some(id), Some(f)) = (id, self.flows.get_mut(ctx.flow)) {
                    f.kind = SubflowKind::Initial;
                    if f.client != ctx.saddr {
                        swap_roles(f);
                    }
                    f.role_rule = "mp_capable_ack";
                    if let Some(conn) = self.conns.get_mut(id) {
                        conn.version = Some(c.version);
                        conn.client = ctx.saddr;
                        conn.server = ctx.daddr;
                        conn.role_rule = "mp_capable_ack";
                        conn.state = ConnState::SynSent;
                    }
                }
                id
            }
            None => None,
        };
        // The roles may just have been swapped: this packet is the client's.
        let ctx = &Ctx {
            dir: if existing.is_some() && self.flows.get(ctx.flow).is_some_and(|f| f.client == ctx.saddr) { Dir::C2s } else { ctx.dir },
            ..*ctx
        };
        let Some(cid) = existing else {
            // MP_CAPABLE on a flow whose SYN is not in the capture.
            self.orphan_flow(ctx, "mp_capable_without_syn");
            return;
        };
        let max = self.limits.max_anomalies;
        let Some(conn) = self.conns.get_mut(cid) else { return };
        if flags.syn() && flags.ack() {
            // SYN/ACK: the server's key and version.
            conn.version = Some(c.version);
            conn.checksums = (conn.syn_flags & 0x80 != 0) || (c.flags & 0x80 != 0);
            conn.synack_flags.get_or_insert(c.flags);
            if let Some(k) = c.sender_key {
                conn.synack_key = Some(k);
                set_key(conn, Dir::S2c, k, &mut self.tokens);
            }
            return;
        }
        // Third ACK (20 bytes) or first data (22/24): the sender's and receiver's keys.
        let (Some(sk), Some(rk)) = (c.sender_key, c.receiver_key) else { return };
        let (snd, rcv) = (ctx.dir, ctx.dir.flip());
        let mut mismatch = Vec::new();
        if let Some(known) = conn.key(rcv) {
            if known != rk {
                mismatch.push(format!("receiver key {rk:016x} is not the SYN/ACK key {known:016x}"));
            }
        }
        if let Some(known) = conn.key(snd) {
            if known != sk {
                mismatch.push(format!("sender key {sk:016x} is not the key {known:016x} seen before"));
            }
        }
        let (id, rfc) = ids::CAPABLE_KEY_ECHO;
        if mismatch.is_empty() {
            conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new);
        } else {
            let reason = mismatch.join("; ");
            conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || reason.clone());
            conn.anomaly(max, ctx.frame, "key_echo_mismatch", || reason);
        }
        let newly = conn.key(snd).is_none() || conn.key(rcv).is_none();
        if conn.key(snd).is_none() {
            set_key(conn, snd, sk, &mut self.tokens);
        }
        if conn.key(rcv).is_none() {
            set_key(conn, rcv, rk, &mut self.tokens);
        }
        if newly || conn.state == ConnState::SynSent {
            conn.state = ConnState::Established;
            self.event(ctx, EventKind::Established, Some(cid), |_| {});
        }
        // v1 MP_CAPABLE with data: an implicit mapping DSN = IDSN+1, subflow seq 1 (§3.1).
        if let Some(dll) = c.data_level_length {
            if let Some(conn) = self.conns.get(cid) {
                if let Some(idsn) = conn.key(snd).map(|k| crypto::key_material(Version::V1, k).idsn) {
                    let m = Mapping { dsn: DataSeq(idsn) + 1, ssn: 1, data_len: u32::from(dll) };
                    let checksum = c.checksum;
                    self.add_mapping(ctx, m, checksum, dll, false);
                }
            }
        }
    }

    /// Creates a connection whose first subflow is the current flow (roles as the flow's);
    /// `None` when the connection cap is hit.
    fn new_connection(&mut self, ctx: &Ctx, found_by: &'static str) -> Option<usize> {
        if self.conns.len() >= self.limits.max_connections {
            self.stats.connections_dropped += 1;
            if self.stats.connections_dropped == 1 {
                let max = self.limits.max_connections;
                self.global_anomaly(ctx.frame, "connection_cap", || {
                    format!("more than {max} MPTCP connections: later ones are not tracked")
                });
            }
            return None;
        }
        let id = self.conns.len();
        let f = self.flows.get_mut(ctx.flow)?;
        f.connection = Some(id);
        self.conns.push(Connection::new(id, f.client, f.server, found_by, f.role_rule, ctx.flow, ctx.ts));
        Some(id)
    }

    fn on_synack_without_capable(&mut self, ctx: &Ctx) {
        let Some(f) = self.flows.get(ctx.flow) else { return };
        if !f.mptcp_syn || f.kind != SubflowKind::Initial {
            return;
        }
        let Some(cid) = f.connection else { return };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        if conn.fallback.is_some() {
            return;
        }
        conn.state = ConnState::Fallback;
        let detail = if f.last_syn_capable {
            "MP_CAPABLE SYN answered by a SYN/ACK without MP_CAPABLE: plain TCP"
        } else {
            "MP_CAPABLE SYN(s) unanswered, SYN retried without MP_CAPABLE and answered: plain TCP (the client's fallback when MP_CAPABLE SYNs are dropped on the path)"
        };
        conn.fallback = Some(Anomaly { frame: ctx.frame, kind: "handshake", detail: detail.into() });
        // The subflow's byte stream is the data stream: an infinite mapping from byte 1.
        for dir in [Dir::C2s, Dir::S2c] {
            let m = Mapping { dsn: DataSeq(0), ssn: 1, data_len: u32::MAX };
            let ctx_dir = Ctx { dir, ..*ctx };
            self.add_mapping(&ctx_dir, m, None, 0, false);
            self.data.start(cid, dir, DataSeq(0));
        }
        self.event(ctx, EventKind::Fallback, Some(cid), |e| e.reason = Some("SYN/ACK without MP_CAPABLE".into()));
    }

    fn orphan_flow(&mut self, ctx: &Ctx, why: &'static str) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        if f.kind == SubflowKind::Tcp || f.kind == SubflowKind::Unknown {
            let first = f.kind == SubflowKind::Tcp || f.orphan_token.is_none();
            f.kind = SubflowKind::Unknown;
            if first && f.orphan_token.is_none() {
                f.orphan_token = Some(String::new());
                let (c, s) = (f.client, f.server);
                self.global_anomaly(ctx.frame, "orphan_subflow", || format!("{why}: subflow {c} -> {s} has no connection in the capture"));
            }
        }
    }

    fn on_join(&mut self, ctx: &Ctx, j: &MpJoin<'_>) {
        match j {
            MpJoin::Syn(s) => {
                let Some(f) = self.flows.get_mut(ctx.flow) else { return };
                if f.connection.is_some() {
                    return; // retransmitted SYN
                }
                f.kind = SubflowKind::Join;
                f.join = true;
                f.mptcp_syn = true;
                f.client_address_id = Some(s.address_id);
                f.backup = s.backup;
                f.join_state.token = Some(s.token);
                f.join_state.client_nonce = Some(s.nonce);
                match self.tokens.get(&s.token).copied() {
                    Some(cid) => {
                        f.connection = Some(cid);
                        let Some(conn) = self.conns.get_mut(cid) else { return };
                        f.join_state.initiator_is_client = conn.server_token.as_deref() == Some(&hex32(s.token));
                        conn.subflow_ids.push(ctx.flow);
                        let (id, rfc) = ids::JOIN_TOKEN;
                        conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new);
                    }
                    None => {
                        f.orphan_token = Some(hex32(s.token));
                        let token = s.token;
                        self.global_anomaly(ctx.frame, "join_unknown_token", || {
                            format!("MP_JOIN SYN with token {token:08x}, which no MP_CAPABLE handshake in the capture produced")
                        });
                    }
                }
            }
            MpJoin::SynAck(sa) => {
                let Some(f) = self.flows.get_mut(ctx.flow) else { return };
                f.server_address_id = Some(sa.address_id);
                f.join_state.server_nonce = Some(sa.nonce);
                f.join_state.server_hmac = Some(sa.hmac);
                f.join_state.synack_backup = sa.backup;
                f.join_state.synack_frame = ctx.frame;
                let js = f.join_state;
                let Some(cid) = f.connection else { return };
                let Some(conn) = self.conns.get_mut(cid) else { return };
                let (id, rfc) = ids::JOIN_SYNACK_HMAC;
                // B = the join responder, A = the initiator.
                let (a, b) = if js.initiator_is_client { (Dir::C2s, Dir::S2c) } else { (Dir::S2c, Dir::C2s) };
                match (conn.crypto_version(), conn.key(a), conn.key(b), js.client_nonce) {
                    (Some(v), Some(ka), Some(kb), Some(na)) => {
                        let expected = crypto::join_synack_hmac(v, kb, ka, sa.nonce, na);
                        if expected == sa.hmac {
                            conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new);
                        } else {
                            conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || {
                                format!("truncated HMAC {:016x}, expected {expected:016x}", sa.hmac)
                            });
                        }
                    }
                    _ => conn
                        .checks
                        .record(id, rfc, Verdict::NotCheckable, ctx.frame, || "keys or nonces of the join not in the capture".into()),
                }
            }
            MpJoin::Ack(ack) => {
                let Some(f) = self.flows.get_mut(ctx.flow) else { return };
                let js = f.join_state;
                let Some(cid) = f.connection else { return };
                if f.established_ts.is_none() {
                    f.established_ts = Some(ctx.ts);
                }
                let Some(conn) = self.conns.get_mut(cid) else { return };
                let (id, rfc) = ids::JOIN_ACK_HMAC;
                let (a, b) = if js.initiator_is_client { (Dir::C2s, Dir::S2c) } else { (Dir::S2c, Dir::C2s) };
                match (conn.crypto_version(), conn.key(a), conn.key(b), js.client_nonce, js.server_nonce) {
                    (Some(v), Some(ka), Some(kb), Some(na), Some(nb)) => {
                        let expected = crypto::join_ack_hmac(v, ka, kb, na, nb);
                        if &expected == ack.hmac {
                            conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new);
                        } else {
                            conn.checks
                                .record(id, rfc, Verdict::Fail, ctx.frame, || "third-ACK HMAC does not match the keys and nonces".into());
                        }
                    }
                    _ => conn
                        .checks
                        .record(id, rfc, Verdict::NotCheckable, ctx.frame, || "keys or nonces of the join not in the capture".into()),
                }
                let backup = self.flows.get(ctx.flow).is_some_and(|f| f.backup);
                let (caddr, saddr_id) =
                    self.flows.get(ctx.flow).map(|f| (f.client_address_id, f.server_address_id)).unwrap_or((None, None));
                self.event(ctx, EventKind::SfEstablished, Some(cid), |e| {
                    e.backup = Some(backup);
                    e.address_id = caddr.or(saddr_id);
                });
            }
        }
    }

    fn on_dss(&mut self, ctx: &Ctx, d: &Dss) {
        let Some(cid) = self.conn_of(ctx.flow) else {
            self.orphan_flow(ctx, "dss_without_connection");
            return;
        };
        let di = ctx.dir.index();
        if let Some(ack) = d.data_ack {
            if let Some(conn) = self.conns.get_mut(cid) {
                let peer = ctx.dir.flip().index();
                let reference = conn.last_dsn[peer].or(conn.last_ack[di]);
                let value = match (ack.len, reference) {
                    (SeqLen::Eight, _) => Some(DataSeq(ack.value)),
                    (_, Some(r)) => Some(DataSeq::expand32(ack.value as u32, r)),
                    (_, None) => None,
                };
                if let Some(v) = value {
                    conn.last_ack[di] = Some(conn.last_ack[di].map_or(v, |old| old.max(v)));
                    // A data ACK in this direction acknowledges the other direction's data.
                    let acked = conn.data_mut(ctx.dir.flip());
                    acked.data_acked = Some(acked.data_acked.map_or(v.0, |old| DataSeq(old).max(v).0));
                    self.cur.data_ack = Some(v.0);
                }
            }
        }
        if let Some(m) = d.mapping {
            let Some(conn) = self.conns.get_mut(cid) else { return };
            let reference = conn.last_dsn[di]
                .or_else(|| conn.key(ctx.dir).zip(conn.crypto_version()).map(|(k, v)| DataSeq(crypto::key_material(v, k).idsn) + 1));
            let dsn = match (m.dsn_len, reference) {
                (SeqLen::Eight, _) => DataSeq(m.dsn),
                (_, Some(r)) => DataSeq::expand32(m.dsn as u32, r),
                (_, None) => {
                    let max = self.limits.max_anomalies;
                    conn.anomaly(max, ctx.frame, "dsn_unexpandable", || "4-byte DSN before any 64-bit reference".into());
                    return;
                }
            };
            conn.note_seen(ctx.dir, dsn);
            if m.data_level_length == 0 {
                // Infinite mapping: fallback (RFC 8684 §3.7).
                if conn.fallback.is_none() {
                    conn.state = ConnState::Fallback;
                    conn.fallback =
                        Some(Anomaly { frame: ctx.frame, kind: "infinite_mapping", detail: format!("infinite mapping at DSN {}", dsn.0) });
                    self.event(ctx, EventKind::Fallback, Some(cid), |e| e.reason = Some("infinite mapping".into()));
                }
                let mapping = Mapping { dsn, ssn: m.subflow_seq, data_len: u32::MAX };
                self.add_mapping(ctx, mapping, None, 0, false);
                return;
            }
            let fin = d.data_fin;
            let data_len = u32::from(m.data_level_length) - u32::from(fin);
            let mapping = Mapping { dsn, ssn: m.subflow_seq, data_len };
            self.add_mapping(ctx, mapping, m.checksum, m.data_level_length, fin);
            if fin {
                let fin_dsn = dsn + data_len as usize;
                let start = self.conns.get(cid).and_then(|c| c.data_start(ctx.dir));
                self.data.data_fin(cid, ctx.dir, fin_dsn, start, ctx.frame);
                if let Some(conn) = self.conns.get_mut(cid) {
                    conn.data_fin_frames[di].get_or_insert(ctx.frame);
                }
            }
            if let Some(conn) = self.conns.get_mut(cid) {
                let end = dsn + m.data_level_length as usize;
                conn.last_dsn[di] = Some(conn.last_dsn[di].map_or(end, |old| old.max(end)));
            }
        } else if d.data_fin {
            // DATA_FIN without a mapping is not allowed by §3.3.3 (the mapping carries it).
            let max = self.limits.max_anomalies;
            if let Some(conn) = self.conns.get_mut(cid) {
                conn.anomaly(max, ctx.frame, "data_fin_without_mapping", || "DSS with F but no mapping".into());
            }
        }
    }

    /// Records a mapping on the current subflow direction and starts its checksum.
    fn add_mapping(&mut self, ctx: &Ctx, m: Mapping, checksum: Option<u16>, dll: u16, fin: bool) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.dir_mut(ctx.dir);
        let added = d.mappings.add(m);
        let repeat = added == Added::Repeat;
        let conflict = match added {
            Added::Conflict(x) => Some(x),
            _ => None,
        };
        let checked = !repeat && m.data_len != u32::MAX;
        if checked && !d.pending.is_empty() && d.isn.is_some() {
            self.resolve_pending(ctx.flow, ctx.dir);
        }
        if m.data_len != u32::MAX {
            self.cur_mapping = Some(m);
        }
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        if checked {
            if let Some(cid) = f.connection {
                if let Some(conn) = self.conns.get_mut(cid) {
                    let (id, rfc) = ids::MAPPING_CONSISTENCY;
                    match conflict {
                        None => conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new),
                        Some(x) => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || {
                            format!(
                                "mapping subflow seq {}+{} -> DSN {} overlaps subflow seq {}+{} -> DSN {} with another offset",
                                m.ssn, m.data_len, m.dsn, x.ssn, x.data_len, x.dsn
                            )
                        }),
                    }
                }
            }
        }
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.dir_mut(ctx.dir);
        let Some(wire) = checksum else { return };
        if repeat && d.csum.as_ref().is_none_or(|c| c.ssn != m.ssn) {
            return; // already verified
        }
        if d.csum.as_ref().is_some_and(|c| c.ssn == m.ssn) {
            return; // in progress
        }
        let stale = d.csum.take();
        let mut acc = DssChecksum::new(m.dsn.0, m.ssn, dll);
        let fin_only = fin && dll == 1;
        let data_len = if m.data_len == u32::MAX { 0 } else { m.data_len };
        if data_len == 0 {
            acc.update(&[]);
        }
        d.csum = Some(CsumInProgress { acc, ssn: m.ssn, data_len, fed: 0, wire, frame: ctx.frame, fin_only });
        if let Some(st) = stale {
            self.csum_not_checkable(ctx, st.frame, "the mapping's payload was not all captured in order");
        }
        if data_len == 0 {
            self.csum_complete(ctx);
        }
    }

    fn csum_not_checkable(&mut self, ctx: &Ctx, frame: u64, why: &'static str) {
        if let Some(cid) = self.conn_of(ctx.flow) {
            if let Some(conn) = self.conns.get_mut(cid) {
                let (id, rfc) = ids::DSS_CHECKSUM;
                conn.checks.record(id, rfc, Verdict::NotCheckable, frame, || why.into());
            }
        }
    }

    fn csum_complete(&mut self, ctx: &Ctx) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let Some(c) = f.dir_mut(ctx.dir).csum.take() else { return };
        let Some(cid) = f.connection else { return };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let (id, rfc) = ids::DSS_CHECKSUM;
        match c.acc.check(c.wire) {
            DssChecksumVerdict::Pass => conn.checks.record(id, rfc, Verdict::Pass, c.frame, String::new),
            DssChecksumVerdict::LegacyByteSwapped => conn.checks.record(id, rfc, Verdict::Legacy, c.frame, || {
                format!("checksum {:04x} is the byte-swapped value (Linux 5.14-5.18 on little-endian)", c.wire)
            }),
            DssChecksumVerdict::Fail if c.fin_only => conn
                .checks
                .record(id, rfc, Verdict::NotCheckable, c.frame, || "DATA_FIN-only mapping: receivers do not validate its checksum".into()),
            DssChecksumVerdict::Fail => conn.checks.record(id, rfc, Verdict::Fail, c.frame, || {
                format!("checksum {:04x} on the wire, {:04x} computed over the mapping", c.wire, c.acc.finish())
            }),
        }
    }

    /// Maps a segment's payload to data sequence numbers and hands it to the data level.
    fn payload(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let Some(cid) = f.connection else { return };
        if f.dir(ctx.dir).isn.is_none() {
            self.guess_isn(ctx, seg);
        }
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let d = f.dir(ctx.dir);
        let Some(isn) = d.isn else {
            // Handshake not in the capture and the ISN not pinned down yet: hold the bytes.
            let fresh = self.cur_fresh;
            for (a, b) in fresh.iter() {
                self.hold(ctx, cid, seg.seq.wrapping_add(a), b - a, seg.payload.get(a as usize..).unwrap_or(&[]));
            }
            return;
        };
        let rel = seg.seq.wrapping_sub(isn);
        let wire_len = seg.payload_len;
        let captured = seg.payload;
        // Checksum accumulation, in subflow order.
        if let Some(c) = d.csum {
            let start = rel.wrapping_sub(c.ssn.wrapping_add(c.fed));
            if start == 0 || (start as i32) < 0 {
                // Skip what was already fed (retransmission), feed the rest.
                let skip = if start == 0 { 0 } else { start.wrapping_neg() };
                let want = c.data_len - c.fed;
                if skip < wire_len {
                    let avail = (wire_len - skip).min(want);
                    if seg.payload_complete() {
                        let bytes = captured.get(skip as usize..(skip + avail) as usize).unwrap_or(&[]);
                        let done = if let Some(f) = self.flows.get_mut(ctx.flow) {
                            if let Some(cs) = f.dir_mut(ctx.dir).csum.as_mut() {
                                cs.acc.update(bytes);
                                cs.fed += avail;
                                cs.fed >= cs.data_len
                            } else {
                                false
                            }
                        } else {
                            false
                        };
                        if done {
                            self.csum_complete(ctx);
                        }
                    } else if let Some(f) = self.flows.get_mut(ctx.flow) {
                        let st = f.dir_mut(ctx.dir).csum.take();
                        if let Some(st) = st {
                            self.csum_not_checkable(ctx, st.frame, "payload cut by the capture's snaplen");
                        }
                    }
                }
            }
        }
        // Data-level placement, mapping by mapping (a segment may straddle mappings), and
        // within a mapping by subflow-level freshness (a TCP retransmission re-sends subflow
        // sequence space already carried; only the rest is new at the subflow level).
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let pieces = f.dir(ctx.dir).mappings.pieces(rel, wire_len);
        let fresh = self.cur_fresh;
        for (off, take, what) in pieces.iter() {
            for (a, b, is_fresh) in fresh.split(off, off + take) {
                let bytes = captured.get((a as usize).min(captured.len())..(b as usize).min(captured.len())).unwrap_or(&[]);
                let Some((dsn, one_byte)) = what else {
                    // Not covered (yet): a later segment may bring the mapping.
                    if is_fresh {
                        self.hold(ctx, cid, seg.seq.wrapping_add(a), b - a, bytes);
                    }
                    continue;
                };
                let dsn = dsn + (a - off) as usize;
                if self.cur.dsn.is_none() {
                    self.cur.dsn = Some(dsn.0);
                }
                let kind = if !is_fresh {
                    data::Carry::Retransmission
                } else if one_byte {
                    data::Carry::OneByte
                } else {
                    data::Carry::Normal
                };
                let (new, reinjected, from_self) = self.data.insert(
                    cid,
                    ctx.dir,
                    ctx.flow,
                    dsn,
                    bytes,
                    b - a,
                    kind,
                    ctx.frame,
                    ctx.ts_ns,
                    &mut self.flows,
                    &mut self.conns,
                );
                self.cur.new_bytes += new;
                self.cur.reinjected_bytes += reinjected;
                self.cur.reinjected_same_subflow_bytes += from_self;
            }
        }
    }

    /// Keeps first-copy payload that cannot be placed yet (no mapping, or no ISN), within
    /// bounds; beyond them it is counted as unmapped.
    fn hold(&mut self, ctx: &Ctx, cid: usize, seq: u32, len: u32, captured: &[u8]) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.dir_mut(ctx.dir);
        let held: usize = d.pending.iter().map(|p| p.bytes.len()).sum();
        let cap = captured.get(..(len as usize).min(captured.len())).unwrap_or(&[]);
        if d.pending.len() < MAX_PENDING && held + cap.len() <= MAX_PENDING_BYTES {
            d.pending.push(Pending { seq, len, bytes: cap.to_vec(), frame: ctx.frame, ts_ns: ctx.ts_ns });
        } else {
            let rel = d.isn.map_or(seq, |isn| seq.wrapping_sub(isn));
            self.unmapped(ctx.flow, ctx.dir, cid, ctx.frame, rel, len);
        }
    }

    /// Without the handshake, the ISN of a subflow direction is where its mappings put it: a
    /// segment carrying a mapping lies inside it, so `seq - ssn` minus at most the mapping's
    /// length less the segment's. Linux repeats a mapping on every segment it covers, and the
    /// first segment of each mapping pins the ISN down.
    fn guess_isn(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(m) = self.cur_mapping else { return };
        let plen = seg.payload_len;
        if m.data_len == u32::MAX || m.data_len < plen {
            return;
        }
        let (hi2, w2) = (seg.seq.wrapping_sub(m.ssn), m.data_len - plen);
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.dir_mut(ctx.dir);
        let next = match d.isn_guess {
            None => (hi2, w2),
            Some((hi, w)) => {
                // Intersect [hi - w, hi] with [hi2 - w2, hi2] (wrapping).
                let d2 = i64::from(hi2.wrapping_sub(hi) as i32);
                let (lo1, hi1, lo2, hi2r) = (-i64::from(w), 0i64, d2 - i64::from(w2), d2);
                let (lo, top) = (lo1.max(lo2), hi1.min(hi2r));
                if lo > top {
                    (hi2, w2) // inconsistent: start again from this segment
                } else {
                    (hi.wrapping_add(top as i32 as u32), (top - lo) as u32)
                }
            }
        };
        d.isn_guess = Some(next);
        if next.1 == 0 {
            d.isn = Some(next.0);
            self.resolve_pending(ctx.flow, ctx.dir);
        }
    }

    /// Places held payload that the mappings now cover (the ISN is known).
    fn resolve_pending(&mut self, flow: usize, dir: Dir) {
        let Some(f) = self.flows.get_mut(flow) else { return };
        let Some(cid) = f.connection else { return };
        let d = f.dir_mut(dir);
        let Some(isn) = d.isn else { return };
        let waiting = std::mem::take(&mut d.pending);
        let mut keep = Vec::new();
        for p in waiting {
            let pieces = match self.flows.get(flow) {
                Some(f) => f.dir(dir).mappings.pieces(p.seq.wrapping_sub(isn), p.len),
                None => break,
            };
            for (off, take, what) in pieces.iter() {
                let bytes = p.bytes.get((off as usize).min(p.bytes.len())..((off + take) as usize).min(p.bytes.len())).unwrap_or(&[]);
                match what {
                    Some((dsn, one_byte)) => {
                        let kind = if one_byte { data::Carry::OneByte } else { data::Carry::Normal };
                        self.data.insert(cid, dir, flow, dsn, bytes, take, kind, p.frame, p.ts_ns, &mut self.flows, &mut self.conns);
                    }
                    None => keep.push(Pending {
                        seq: p.seq.wrapping_add(off),
                        len: take,
                        bytes: bytes.to_vec(),
                        frame: p.frame,
                        ts_ns: p.ts_ns,
                    }),
                }
            }
        }
        if let Some(f) = self.flows.get_mut(flow) {
            f.dir_mut(dir).pending = keep;
        }
    }

    /// Counts payload bytes that no mapping covers (reported once per direction).
    fn unmapped(&mut self, flow: usize, dir: Dir, cid: usize, frame: u64, rel: u32, n: u32) {
        if n == 0 {
            return;
        }
        if let Some(f) = self.flows.get_mut(flow) {
            f.dir_mut(dir).unmapped_bytes += u64::from(n);
        }
        let max = self.limits.max_anomalies;
        if let Some(conn) = self.conns.get_mut(cid) {
            let dd = conn.data_mut(dir);
            let first = dd.unmapped_bytes == 0;
            dd.unmapped_bytes += u64::from(n);
            // Reported once per direction; the count is in `unmapped_bytes`.
            if first {
                conn.anomaly(max, frame, "unmapped_data", || {
                    format!("{n} payload bytes at relative subflow seq {rel} are outside every mapping seen (first of {n}+ such bytes)")
                });
            }
        }
    }

    fn on_add_addr(&mut self, ctx: &Ctx, a: &AddAddr) {
        let Some(cid) = self.conn_of(ctx.flow) else {
            self.orphan_flow(ctx, "add_addr_without_connection");
            return;
        };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let echo = matches!(a.version, AddAddrVersion::V1 { echo: true, .. });
        let by = if ctx.dir == Dir::C2s { "client" } else { "server" };
        if conn.announced.len() < 256 {
            conn.announced.push(Announcement { by, address_id: a.address_id, address: a.address, port: a.port, frame: ctx.frame, echo });
        }
        let (id, rfc) = ids::ADD_ADDR_HMAC;
        if matches!(a.version, AddAddrVersion::V1 { echo: false, .. }) {
            match (a.hmac, conn.key(ctx.dir), conn.key(ctx.dir.flip())) {
                (Some(h), Some(ks), Some(kr)) => match crypto::check_add_addr_hmac(ks, kr, a.address_id, a.address, a.port, h) {
                    AddAddrHmacVerdict::Pass => conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new),
                    AddAddrHmacVerdict::LegacyLeftmost => conn.checks.record(id, rfc, Verdict::Legacy, ctx.frame, || {
                        "legacy leftmost: the leftmost 64 bits of the HMAC (Linux before 5.8), RFC 8684 asks for the rightmost".into()
                    }),
                    AddAddrHmacVerdict::Fail => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || {
                        format!("HMAC {h:016x} matches neither end of HMAC(sender key‖receiver key, id‖address‖port)")
                    }),
                },
                (None, _, _) => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || "v1 ADD_ADDR without an HMAC".into()),
                _ => conn.checks.record(id, rfc, Verdict::NotCheckable, ctx.frame, || "keys not in the capture".into()),
            }
        }
        if !echo {
            let addr = match a.port {
                Some(p) => SocketAddr::new(a.address, p).to_string(),
                None => a.address.to_string(),
            };
            let aid = a.address_id;
            self.event(ctx, EventKind::Announced, Some(cid), |e| {
                e.address_id = Some(aid);
                e.address = Some(addr);
            });
        }
    }

    fn on_remove_addr(&mut self, ctx: &Ctx, ids: &[u8]) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        if let Some(conn) = self.conns.get_mut(cid) {
            for &i in ids {
                if conn.removed_address_ids.len() < 256 && !conn.removed_address_ids.contains(&i) {
                    conn.removed_address_ids.push(i);
                }
            }
        }
        for &i in ids {
            self.event(ctx, EventKind::Removed, Some(cid), |e| e.address_id = Some(i));
        }
    }

    fn on_prio(&mut self, ctx: &Ctx, backup: bool, address_id: Option<u8>) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            f.backup = backup;
        }
        self.event(ctx, EventKind::SfPriority, Some(cid), |e| {
            e.backup = Some(backup);
            e.address_id = address_id;
        });
    }

    fn on_fail(&mut self, ctx: &Ctx, dsn: u64) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        if let Some(conn) = self.conns.get_mut(cid) {
            if conn.fallback.is_none() {
                conn.fallback = Some(Anomaly { frame: ctx.frame, kind: "mp_fail", detail: format!("MP_FAIL at DSN {dsn}") });
                conn.state = ConnState::Fallback;
            }
        }
        self.event(ctx, EventKind::MpFail, Some(cid), |e| e.reason = Some(format!("dsn {dsn}")));
    }

    fn on_fastclose(&mut self, ctx: &Ctx, receiver_key: u64) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let (id, rfc) = ids::FASTCLOSE_KEY;
        match conn.key(ctx.dir.flip()) {
            Some(k) if k == receiver_key => conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new),
            Some(k) => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || {
                format!("MP_FASTCLOSE carries {receiver_key:016x}, the receiver's key is {k:016x}")
            }),
            None => conn.checks.record(id, rfc, Verdict::NotCheckable, ctx.frame, || "receiver's key not in the capture".into()),
        }
        let first = conn.state != ConnState::FastClosed;
        conn.state = ConnState::FastClosed;
        if first {
            self.event(ctx, EventKind::Fastclose, Some(cid), |_| {});
        }
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            if f.end.is_none() && ctx.flags.rst() {
                f.end = Some(SubflowEnd { how: "mp_fastclose", frame: ctx.frame, ts: ctx.ts, reason: None });
            }
        }
    }

    fn on_tcprst(&mut self, ctx: &Ctx, reason: u8) {
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            match &mut f.end {
                Some(e) if e.frame == ctx.frame => {
                    if e.how == "rst" {
                        e.how = "mp_tcprst";
                    }
                    e.reason = Some(reason);
                }
                None => f.end = Some(SubflowEnd { how: "mp_tcprst", frame: ctx.frame, ts: ctx.ts, reason: Some(reason) }),
                Some(_) => {}
            }
        }
    }

    /// Ends the analysis: flushes the data level and returns everything found.
    pub fn finish(mut self) -> Analysis {
        let mut left = Vec::new();
        for f in &mut self.flows {
            for d in [Dir::C2s, Dir::S2c] {
                let isn = f.dir(d).isn;
                for p in std::mem::take(&mut f.dir_mut(d).pending) {
                    if let Some(cid) = f.connection {
                        left.push((f.id, d, cid, p.frame, isn.map_or(p.seq, |i| p.seq.wrapping_sub(i)), p.len));
                    }
                }
            }
        }
        for (flow, d, cid, frame, rel, n) in left {
            self.unmapped(flow, d, cid, frame, rel, n);
        }
        self.data.finish(&mut self.flows, &mut self.conns);
        for f in &mut self.flows {
            if f.end.is_none() && f.connection.is_some() && f.unanswered() {
                f.end = Some(SubflowEnd { how: "no_answer", frame: f.first_frame, ts: f.start_ts, reason: None });
            }
        }
        // Events before the SYN/ACK (CREATED) had no token yet.
        for e in &mut self.events {
            if e.token.is_none() {
                e.token = e.connection.and_then(|c| self.conns.get(c)).and_then(|c| c.server_token.clone());
            }
        }
        for conn in &self.conns {
            for &sid in &conn.subflow_ids {
                if let Some(f) = self.flows.get_mut(sid) {
                    for d in [Dir::C2s, Dir::S2c] {
                        let total = conn.data(d).bytes;
                        let sd = f.dir_mut(d);
                        sd.share = if total > 0 { sd.new_data_bytes as f64 / total as f64 } else { 0.0 };
                    }
                }
            }
        }
        for conn in &mut self.conns {
            let last = conn.subflow_ids.iter().filter_map(|&s| self.flows.get(s)).map(|f| f.last_ts).fold(conn.end_ts, f64::max);
            conn.end_ts = last;
        }
        Analysis {
            connections: self.conns,
            subflows: self.flows,
            events: self.events,
            anomalies: self.anomalies,
            anomalies_dropped: self.anomalies_dropped,
            stats: self.stats,
        }
    }
}

/// Swaps a flow's client and server (and everything per direction) when what the capture shows
/// later contradicts the guess made without a handshake.
fn swap_roles(f: &mut Subflow) {
    std::mem::swap(&mut f.client, &mut f.server);
    std::mem::swap(&mut f.c2s, &mut f.s2c);
    std::mem::swap(&mut f.client_address_id, &mut f.server_address_id);
}

/// Records one side's key and what derives from it, and registers its token.
fn set_key(conn: &mut Connection, side: Dir, key: u64, tokens: &mut HashMap<u32, usize>) {
    let version = conn.crypto_version().unwrap_or(Version::V1);
    let km = crypto::key_material(version, key);
    conn.keys[side.index()] = Some(key);
    match side {
        Dir::C2s => {
            conn.client_key = Some(hex64(key));
            conn.client_token = Some(hex32(km.token));
            conn.client_idsn = Some(km.idsn);
        }
        Dir::S2c => {
            conn.server_key = Some(hex64(key));
            conn.server_token = Some(hex32(km.token));
            conn.server_idsn = Some(km.idsn);
        }
    }
    // A token collision (two keys hashing to one token) keeps the first connection and is
    // visible as join checks failing on the second.
    tokens.entry(km.token).or_insert(conn.id);
    let last = &mut conn.last_dsn[side.index()];
    if last.is_none() {
        *last = Some(DataSeq(km.idsn) + 1);
    }
}
