//! Connection and subflow tracking: TCP flows by 4-tuple, MPTCP connections from MP_CAPABLE,
//! join subflows attached by token, verification of keys, HMACs and DSS checksums, events.
//!
//! Feed every decoded TCP segment to [`Analyzer::packet`] in capture order, then call
//! [`Analyzer::finish`]. A connection is finished when its subflows have all ended (and
//! [`Limits::close_delay_ns`] passed) or when it was idle for [`Limits::idle_timeout_ns`]: its
//! results are kept for the [`Analysis`] or, with [`Analyzer::hand_over_finished`], taken by the
//! caller as they finish ([`Analyzer::take_finished`]), and its state is freed. The open state is bounded by [`Limits`]; hitting the
//! bound is recorded.
//!
//! ```
//! use mptcp_dissector::track::{Analyzer, Limits};
//! let analyzer = Analyzer::new(Limits::default());
//! let analysis = analyzer.finish();
//! assert!(analysis.connections.is_empty());
//! ```
use ahash::HashMap;
use std::net::SocketAddr;

use mptcp_wire::crypto::Token;
use mptcp_wire::decode::TcpSegment;
use mptcp_wire::options::mptcp::MptcpOption;
use mptcp_wire::options::mptcp_options;

pub mod checks;
mod checksum;
mod copies;
pub mod data;
mod fastopen;
mod flows;
mod handshake;
mod hashing;
pub mod kinds;
mod live;
mod mapping;
mod mappings;
pub mod model;
pub mod receiver;
mod retire;
mod signals;
mod state;
#[cfg(test)]
mod testkit;

pub use data::{DataSink, NullSink};
use flows::swap_roles;
pub use kinds::{AnomalyKind, EndHow, FoundBy, ReinjectionVerdict, RoleRule, Side};
use live::Live;
use mappings::{Fresh, Mapping};
pub use model::DataDir;
pub use model::{
    Analysis, Announcement, Anomaly, ChecksumFailure, ConnState, Connection, Dir, Event, EventKind, MappingRecord, OrphanToken,
    ReinjectionSource, RttStats, SegmentRecord, Stats, Subflow, SubflowDir, SubflowEnd, SubflowKind, SubflowTunnel, SubflowTunnels,
};
pub use retire::Finished;
use state::FlowKey;

/// Bounds on tracked state and when open state is finished.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Memory the open state may take (flows, connections, reassembly buffers; estimated): past
    /// it new flows and connections are not tracked (`flows_dropped`, `connections_dropped`,
    /// anomaly `state_cap`). A guard against many connections open at once, not a count of
    /// what was seen.
    pub max_state_bytes: usize,
    pub max_events: usize,
    pub max_anomalies: usize,
    pub reassembly: crate::reassembly::ReassemblyLimits,
    /// A connection or flow without a packet for this long is finished as timed out; 0 never.
    /// Default 300 s, Zeek's `tcp_inactivity_timeout`.
    pub idle_timeout_ns: u64,
    /// An ended connection (every subflow closed by FIN or RST) is finished this long after
    /// its last packet, so late ACKs and retransmitted FINs still find it. Default 5 s, Zeek's
    /// `tcp_close_delay`.
    pub close_delay_ns: u64,
    /// Finish nothing before the end of the capture (no close delay, no idle timeout): every
    /// connection stays open to the end, as in a whole-capture view.
    pub keep_until_end: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // The estimate is below what is really held: 52 MiB gave 70 MB peak RSS with
            // 60,000 connections open at once; 40 MiB gives 57 MB, with the binary, the read
            // buffer and the reports within 64 MB (docs/performance.md).
            max_state_bytes: 40 << 20,
            max_events: 1_000_000,
            max_anomalies: 64,
            reassembly: crate::reassembly::ReassemblyLimits::default(),
            idle_timeout_ns: 300_000_000_000,
            close_delay_ns: 5_000_000_000,
            keep_until_end: false,
        }
    }
}

/// Events that wait for their connection's token at most ([`Analyzer::hand_over_events`]).
pub const EVENT_WAIT: usize = 65_536;
/// How long (capture time) an event waits for its connection's token at most.
pub const EVENT_WAIT_NS: u64 = 10_000_000_000;

/// Where finished connections go: kept for the [`Analysis`], or queued for the caller to take
/// ([`Analyzer::take_finished`]).
enum Retired {
    Collect(retire::Collect),
    Hand(std::collections::VecDeque<Finished>),
}

impl Retired {
    fn push(&mut self, done: Finished) {
        match self {
            Retired::Collect(c) => c.push(done),
            Retired::Hand(q) => q.push_back(done),
        }
    }
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
    flags: mptcp_wire::decode::TcpFlags,
}

/// The tracker. Feed it packets in capture order.
pub struct Analyzer<'s> {
    limits: Limits,
    flow_index: HashMap<FlowKey, usize>,
    flows: Live<state::Flow>,
    conns: Live<state::Conn>,
    tokens: HashMap<Token, usize>,
    events: Vec<Event>,
    /// Keep events (`events`); `analyze` does not need them.
    keep_events: bool,
    /// With [`Analyzer::hand_over_events`]: the events not yet taken, in capture order, each with
    /// its connection's client token; `events_base` numbers the first in the timeline.
    event_queue: std::collections::VecDeque<(Event, Option<Token>)>,
    events_base: usize,
    /// Events are handed over (`Some`), waiting for their connection's token (`Some(true)`).
    hand_events: Option<bool>,
    retired: Retired,
    /// The latest packet time seen (captures are not always in time order).
    clock_ns: u64,
    next_sweep_ns: u64,
    state_cap_hit: bool,
    /// Connections marked idle so far, and the count when a scan for idle connections last
    /// left the state full: until another is marked, scanning again frees nothing.
    idle_marked: u64,
    idle_exhausted: Option<u64>,
    /// Connections (true) and lone flows (false) that ended with nothing more due, finished at
    /// the next packet.
    closing: Vec<(usize, bool)>,
    tombstones: retire::Tombstones,
    /// The capture has ended: everything is being finished.
    ending: bool,
    /// With captures merged: the capture of the packet being processed, and per capture
    /// whether a connection was seen in it and another one.
    cur_input: Option<usize>,
    inputs_shared: Vec<bool>,
    anomalies: Vec<Anomaly>,
    anomalies_dropped: u64,
    stats: Stats,
    /// A packet was seen (`stats.first_ts` is set).
    started: bool,
    data: data::DataLevel<'s>,
    /// The record of the segment being processed, and whether the segment was tracked (the
    /// record is complete).
    cur: SegmentRecord,
    cur_recorded: bool,
    /// Which bytes of the segment being processed are a first copy at the subflow level.
    cur_fresh: Fresh,
    /// The finite mapping the segment being processed carries.
    cur_mapping: Option<Mapping>,
    /// Recent segments of flows captured on two interfaces (track/copies.rs).
    recent: copies::Recent,
}

impl<'s> Analyzer<'s> {
    pub fn new(limits: Limits) -> Self {
        Analyzer {
            limits,
            flow_index: HashMap::default(),
            flows: Live::default(),
            conns: Live::default(),
            tokens: HashMap::default(),
            events: Vec::new(),
            keep_events: true,
            event_queue: std::collections::VecDeque::new(),
            events_base: 0,
            hand_events: None,
            retired: Retired::Collect(retire::Collect::default()),
            clock_ns: 0,
            next_sweep_ns: 0,
            state_cap_hit: false,
            idle_marked: 0,
            idle_exhausted: None,
            closing: Vec::new(),
            tombstones: retire::Tombstones::default(),
            ending: false,
            cur_input: None,
            inputs_shared: Vec::new(),
            anomalies: Vec::new(),
            anomalies_dropped: 0,
            stats: Stats::default(),
            started: false,
            data: data::DataLevel::new(limits.reassembly),
            cur: SegmentRecord::default(),
            cur_recorded: false,
            cur_fresh: Fresh::default(),
            cur_mapping: None,
            recent: copies::Recent::default(),
        }
    }

    /// Queues every finished connection (and flow outside a connection) for the caller
    /// ([`Analyzer::take_finished`]) instead of keeping it: [`Analyzer::finish`] then returns an
    /// [`Analysis`] without connections and subflows, and memory follows what is open at once.
    pub fn hand_over_finished(mut self) -> Self {
        self.retired = Retired::Hand(std::collections::VecDeque::new());
        self
    }

    /// The oldest finished connection or flow not yet taken (with
    /// [`Analyzer::hand_over_finished`]; always `None` otherwise).
    pub fn take_finished(&mut self) -> Option<Finished> {
        match &mut self.retired {
            Retired::Hand(q) => q.pop_front(),
            Retired::Collect(_) => None,
        }
    }

    /// Hands every event over ([`Analyzer::take_event`]) instead of keeping the timeline: the
    /// [`Analysis`] then has no events, and memory follows the events not yet taken. With
    /// `wait_for_token`, an event of a connection whose server token is not known yet (CREATED
    /// at the SYN) waits for the token (the SYN/ACK) or the connection's end, as the kept
    /// timeline shows it; at most [`EVENT_WAIT`] events and [`EVENT_WAIT_NS`] of capture time,
    /// past which it is handed without it. Without, each event is handed after its packet.
    pub fn hand_over_events(mut self, wait_for_token: bool) -> Self {
        self.hand_events = Some(wait_for_token);
        self
    }

    /// The oldest event not yet taken that is ready (with [`Analyzer::hand_over_events`];
    /// always `None` otherwise), with its connection's client and server tokens as known now.
    pub fn take_event(&mut self) -> Option<(Event, [Option<Token>; 2])> {
        let wait = self.hand_events?;
        let queued = self.event_queue.len();
        let (front, _) = self.event_queue.front_mut()?;
        let open = front.connection.and_then(|c| self.conns.get(c));
        if front.token.is_none() {
            front.token = open.and_then(|c| c.server_token);
        }
        let ready = !wait
            || front.token.is_some()
            || open.is_none()
            || self.ending
            || queued > EVENT_WAIT
            || front.ts_ns.saturating_add(EVENT_WAIT_NS) < self.clock_ns;
        if !ready {
            return None;
        }
        let (e, client) = self.event_queue.pop_front()?;
        self.events_base += 1;
        let client = client.or_else(|| e.connection.and_then(|c| self.conns.get(c)).and_then(|c| c.client_token));
        let server = e.token;
        Some((e, [client, server]))
    }

    /// Keeps the event timeline (on by default); `analyze` turns it off.
    pub fn with_events(mut self, on: bool) -> Self {
        self.keep_events = on;
        self
    }

    /// Computes the sha256 of every rebuilt data stream (reported for complete streams).
    pub fn with_hashes(mut self, on: bool) -> Self {
        self.data.set_hash(on);
        self
    }

    /// Hashes large streams on a helper thread (default with [`Analyzer::with_hashes`] on a
    /// machine with more than one core); off when the cores are busy with other captures.
    pub fn with_hash_thread(mut self, on: bool) -> Self {
        if !on {
            self.data.set_hash_offload(false);
        }
        self
    }

    /// Sends the data-level byte stream of one connection direction to `sink` as it is rebuilt
    /// (lend one by `&mut`, `Box::new(&mut sink)`, to own it again after the run).
    pub fn with_sink(mut self, connection: usize, dir: Dir, sink: Box<dyn DataSink + 's>) -> Self {
        self.data.set_sink(connection, dir, sink);
        self
    }

    fn global_anomaly(&mut self, frame: u64, kind: AnomalyKind, detail: impl FnOnce() -> String) {
        if self.anomalies.len() < self.limits.max_anomalies * 16 {
            self.anomalies.push(Anomaly { frame, kind, detail: detail() });
        } else {
            self.anomalies_dropped += 1;
        }
    }

    /// Merging captures: the next packets come from capture `input` (0-based).
    pub fn set_input(&mut self, input: usize) {
        if self.inputs_shared.len() <= input {
            self.inputs_shared.resize(input + 1, false);
        }
        self.cur_input = Some(input);
    }

    /// Merging captures: a packet already seen at another capture point, counted once.
    pub fn duplicate(&mut self) {
        self.stats.merged_duplicates += 1;
    }

    /// Counts a packet that did not decode to TCP.
    pub fn non_tcp(&mut self, frame: u64, ts_ns: u64, error: Option<&mptcp_wire::decode::DecodeError>) {
        self.stats.packets += 1;
        self.touch_ts(ts_ns);
        self.tick(ts_ns, frame);
        if let Some(e) = error {
            let e = *e;
            self.global_anomaly(frame, AnomalyKind::UndecodablePacket, || e.to_string());
        }
    }

    fn touch_ts(&mut self, ts_ns: u64) {
        let ts = ts_ns as f64 / 1e9;
        // A packet at timestamp 0 is a timestamp like any other (ns-3 captures start there).
        if !self.started {
            self.started = true;
            self.stats.first_ts = ts;
            self.stats.first_ts_ns = ts_ns;
        }
        self.stats.last_ts = ts;
    }

    fn event(&mut self, ctx: &Ctx, kind: EventKind, conn: Option<usize>, fill: impl FnOnce(&mut Event)) {
        if !self.keep_events {
            return;
        }
        if self.hand_events.is_none() && self.events.len() >= self.limits.max_events {
            self.stats.events_dropped += 1;
            return;
        }
        let at = self.events_base + self.event_queue.len() + self.events.len();
        if let Some(c) = conn.and_then(|c| self.conns.get_mut(c)) {
            c.work.first_event.get_or_insert(at);
        }
        let token = conn.and_then(|c| self.conns.get(c)).and_then(|c| c.server_token);
        let mut e = Event {
            ts: ctx.ts,
            ts_ns: ctx.ts_ns,
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
        match self.hand_events {
            Some(_) => self.event_queue.push_back((e, None)),
            None => self.events.push(e),
        }
    }

    /// Feeds one decoded TCP segment; its record when it was tracked (not when the open state
    /// is full, or it is a straggler of a finished flow or a copy of a segment already seen).
    pub fn packet(&mut self, frame: u64, ts_ns: u64, seg: &TcpSegment<'_>) -> Option<&SegmentRecord> {
        self.cur_recorded = false;
        self.track(frame, ts_ns, seg);
        self.cur_recorded.then_some(&self.cur)
    }

    /// The record of the segment [`Analyzer::packet`] tracked last.
    pub fn record(&self) -> &SegmentRecord {
        &self.cur
    }

    fn track(&mut self, frame: u64, ts_ns: u64, seg: &TcpSegment<'_>) {
        self.stats.packets += 1;
        self.stats.tcp_packets += 1;
        self.touch_ts(ts_ns);
        self.tick(ts_ns, frame);
        let ts = ts_ns as f64 / 1e9;
        let Some((flow, dir)) = self.flow_for(frame, ts, seg) else {
            // Not tracked (the open state is full, or a straggler): still a packet of the file.
            self.count_mptcp_only(seg);
            return;
        };
        if let Some(c) = self.conn_of(flow).filter(|&c| self.conns.get(c).is_some_and(|c| c.work.idle.is_some())) {
            self.wake(c, frame, ts);
        }
        // The same segment captured again on its way out of a router: counted once.
        let side = usize::from((seg.src, seg.sport) < (seg.dst, seg.dport));
        if let Some(f) = self.flows.get_mut(flow) {
            if copies::is_copy(&mut f.work.copies, &mut self.recent, flow, side, ts_ns, seg) {
                self.stats.forwarded_copies += 1;
                self.count_mptcp_only(seg);
                return;
            }
        }
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
                Err(mptcp_wire::options::OptionIssue::Walk(_)) if seg.options_truncated => {
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
                                conn.anomaly(max, frame, AnomalyKind::MalformedOption, || issue.to_string());
                            }
                        }
                        None => self.global_anomaly(frame, AnomalyKind::MalformedOption, || issue.to_string()),
                    }
                }
            }
        }
        if saw_mptcp {
            self.stats.mptcp_packets += 1;
        } else if let Some(c) = self.conn_of(flow).filter(|&c| self.conns.get(c).is_some_and(|c| !c.checksum_failures.is_empty())) {
            self.note_no_options(&ctx, c);
        }
        if seg.flags.syn() && !seg.flags.ack() {
            if let Some(f) = self.flows.get_mut(flow) {
                f.work.last_syn_capable = saw_capable;
            }
        }
        // An MP_CAPABLE SYN answered by a SYN/ACK without MP_CAPABLE: plain TCP (RFC 8684 §3.1).
        if seg.flags.syn() && seg.flags.ack() && !saw_capable {
            self.on_synack_without_capable(&ctx);
        }
        if seg.flags.syn() && seg.payload_len > 0 {
            self.syn_payload(&ctx, seg);
        } else if !seg.payload.is_empty() || seg.payload_len > 0 {
            self.payload(&ctx, seg);
        }
        if seg.flags.fin() {
            self.fin_under_infinite_mapping(&ctx, seg);
        }
        self.cur.connection = self.flows.get(flow).and_then(|f| f.connection);
        self.cur_recorded = true;
        if let (Some(i), Some(c)) = (self.cur_input, self.conn_of(flow)) {
            if let Some(conn) = self.conns.get_mut(c).filter(|c| !c.inputs.contains(&i)) {
                conn.inputs.push(i);
                conn.inputs.sort_unstable();
            }
        }
        self.note_quiet(flow);
    }

    /// Counts a segment that is not analysed in the header's "with MPTCP options".
    fn count_mptcp_only(&mut self, seg: &TcpSegment<'_>) {
        if mptcp_options(seg.options).next().is_some() {
            self.stats.mptcp_packets += 1;
        }
    }

    /// Flows and connections open now (not yet finished and handed on).
    pub fn open_counts(&self) -> (usize, usize) {
        (self.flows.len(), self.conns.len())
    }

    /// A connection still open (not yet finished and handed on), by id.
    pub fn open_connection(&self, id: usize) -> Option<&Connection> {
        self.conns.get(id).map(|c| &c.out)
    }

    fn conn_of(&self, flow: usize) -> Option<usize> {
        self.flows.get(flow).and_then(|f| f.connection)
    }

    /// Ends the analysis: finishes everything still open and returns what was found (the
    /// connections and subflows only when they were not handed over: see
    /// [`Analyzer::finish_handing`]).
    pub fn finish(self) -> Analysis {
        self.finish_handing(|_| {})
    }

    /// [`Analyzer::finish`], handing what is still to be taken (with
    /// [`Analyzer::hand_over_finished`]) to `hand`, in id order.
    pub fn finish_handing(mut self, mut hand: impl FnMut(Finished)) -> Analysis {
        let bytes = self.state_bytes() as u64;
        self.stats.peak_state_bytes = self.stats.peak_state_bytes.max(bytes);
        self.retire_all();
        self.stats.min_recent_window = self.data.min_recent.map(|m| m as u64);
        // The events still waiting (all ready now), before the connections they belong to.
        while let Some((e, tokens)) = self.take_event() {
            hand(Finished::Event(e, tokens));
        }
        let (mut connections, mut subflows) = match self.retired {
            Retired::Collect(c) => (c.conns, c.flows),
            Retired::Hand(q) => {
                q.into_iter().for_each(&mut hand);
                (Vec::new(), Vec::new())
            }
        };
        connections.sort_by_key(|c| c.id);
        subflows.sort_by_key(|f| f.id);
        Analysis {
            inputs_shared: self.inputs_shared,
            connections,
            subflows,
            events: self.events,
            anomalies: self.anomalies,
            anomalies_dropped: self.anomalies_dropped,
            stats: self.stats,
        }
    }
}
