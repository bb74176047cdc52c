//! Finishing: a connection whose subflows have all ended, or that went idle, leaves the tracker.
//! Its results are made final (held payload, data level, shares, end time), handed to a
//! caller ([`super::Analyzer::take_finished`]), and its state is freed, flows included: memory follows what is open at
//! once, not the length of the capture.
use super::kinds::{Near, NearRule};
use super::model::{ConnState, Connection, Event, Subflow, SubflowEnd, SubflowKind};
use super::receiver::CapturePoint;
use super::state::Flow;
use super::{Analyzer, Dir};
use crate::track::kinds::{AnomalyKind, EndHow, FoundBy};
use mptcp_wire::crypto::Token;

/// A connection or flow that finished: its results are final.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // held only until the driver takes it; no box per connection
pub enum Finished {
    /// A connection and its own subflows, in id order.
    Connection(Connection, Vec<Subflow>),
    /// A flow outside every connection (plain TCP, or MPTCP options without a connection in
    /// the capture: an orphan).
    Flow(Subflow),
    /// An event (with [`super::Analyzer::hand_over_events`]) and its connection's client and
    /// server tokens.
    Event(Event, [Option<Token>; 2]),
}

/// The default: keeps everything, for a whole-capture [`super::Analysis`].
#[derive(Default)]
pub(super) struct Collect {
    pub(super) conns: Vec<Connection>,
    pub(super) flows: Vec<Subflow>,
}

impl Collect {
    pub(super) fn push(&mut self, done: Finished) {
        match done {
            Finished::Connection(conn, subflows) => {
                self.conns.push(conn);
                self.flows.extend(subflows);
            }
            Finished::Flow(flow) => self.flows.push(flow),
            // Events are never retired.
            Finished::Event(..) => {}
        }
    }
}

/// How often (capture time) open state is swept for what timed out or ended unacknowledged.
const SWEEP_NS: u64 = 1_000_000_000;

/// At most this many finished flows are remembered (for the close delay) to recognise their
/// stragglers; past it the oldest are forgotten first.
const MAX_TOMBSTONES: usize = 65_536;

/// Flows finished lately: a straggler of one (a retransmitted FIN or ACK) is counted as late
/// instead of starting a new flow, for the close delay after the flow was finished.
#[derive(Default)]
pub(super) struct Tombstones {
    until: ahash::HashMap<super::FlowKey, u64>,
    order: std::collections::VecDeque<(u64, super::FlowKey)>,
}

impl Tombstones {
    fn add(&mut self, key: super::FlowKey, until_ns: u64) {
        if self.order.len() >= MAX_TOMBSTONES {
            self.pop();
        }
        self.until.insert(key, until_ns);
        self.order.push_back((until_ns, key));
    }

    fn pop(&mut self) {
        if let Some((t, k)) = self.order.pop_front() {
            if self.until.get(&k) == Some(&t) {
                self.until.remove(&k);
            }
        }
    }

    fn expire(&mut self, now_ns: u64) {
        while self.order.front().is_some_and(|&(t, _)| t <= now_ns) {
            self.pop();
        }
    }
}

impl Analyzer<'_> {
    /// The open subflows of connection `c`.
    pub(super) fn subflows_of<'a>(&'a self, c: &'a Connection) -> impl Iterator<Item = &'a Flow> + Clone {
        c.subflow_ids.iter().filter_map(|&s| self.flows.get(s))
    }

    /// Estimated bytes of the open state.
    pub(super) fn state_bytes(&self) -> usize {
        self.fixed_bytes() + self.data.held_bytes()
    }

    /// Estimated bytes of the open flows and connections, without their reassembly buffers.
    fn fixed_bytes(&self) -> usize {
        self.flows.len() * super::state::FLOW_COST + self.conns.len() * super::state::CONN_COST
    }

    /// True when the open state leaves no room for `extra` more bytes (counted by the caller),
    /// after finishing the connections idle past the timeout, longest idle first.
    pub(super) fn state_full(&mut self, extra: usize) -> bool {
        let full = |a: &Self| a.state_bytes() + extra > a.limits.max_state_bytes;
        if !full(self) {
            return false;
        }
        if self.idle_exhausted == Some(self.idle_marked) {
            // No connection went idle since a scan freed all it could: no O(open) scan per
            // new flow while the state stays full.
            return true;
        }
        let mut idle: Vec<(f64, usize)> = self.conns.iter().filter_map(|c| c.work.idle.map(|(_, last)| (last, c.id))).collect();
        if idle.is_empty() {
            self.idle_exhausted = Some(self.idle_marked);
            return true;
        }
        idle.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Some headroom, so that a full state does not scan the connections at every new flow.
        let goal = extra + self.limits.max_state_bytes / 64;
        for (_, id) in idle {
            if self.state_bytes() + goal <= self.limits.max_state_bytes {
                break;
            }
            let frame = self.conns.get(id).and_then(|c| c.work.idle).map_or(0, |(f, _)| f);
            self.retire_connection(id, Some(frame));
        }
        let still = full(self);
        if still {
            self.idle_exhausted = Some(self.idle_marked);
        }
        still
    }

    /// A packet of connection `id`: one idle past the timeout is continued (counted, and said
    /// in an anomaly of the connection).
    pub(super) fn wake(&mut self, id: usize, frame: u64, ts: f64) {
        let max = self.limits.max_anomalies;
        let Some(c) = self.conns.get_mut(id) else { return };
        let Some((_, last)) = c.work.idle.take() else { return };
        self.stats.connections_resumed += 1;
        let timeout = self.limits.idle_timeout_ns as f64 / 1e9;
        c.anomaly(max, frame, AnomalyKind::ResumedAfterIdle, || {
            format!("packets again after {:.3} s without any (idle timeout {timeout} s): the connection continues", ts - last)
        });
    }

    /// The open state is full: reported once (the counters in [`super::Stats`] say how much
    /// was not tracked).
    pub(super) fn state_cap(&mut self, frame: u64) {
        if !self.state_cap_hit {
            self.state_cap_hit = true;
            let (max, flows, conns) = (self.limits.max_state_bytes, self.flows.len(), self.conns.len());
            self.global_anomaly(frame, AnomalyKind::StateCap, || {
                format!(
                    "open state reached {} MiB ({flows} flows, {conns} connections open at once): later flows and connections are not tracked until some finish",
                    max >> 20
                )
            });
        }
    }

    /// A segment of flow `key`, which is not open, belongs to a flow finished lately.
    pub(super) fn is_late(&mut self, key: &super::FlowKey) -> bool {
        self.tombstones.expire(self.clock_ns);
        self.tombstones.until.contains_key(key)
    }

    /// After a segment of `flow`: a connection (or lone flow) whose subflows have all ended with
    /// nothing more due (both FINs acknowledged) is finished at the next packet.
    pub(super) fn note_quiet(&mut self, flow: usize) {
        if self.limits.keep_until_end {
            return;
        }
        // A router's capture holds each segment twice: the copy of the last one is still due,
        // so such a flow waits for the close delay.
        let Some(f) = self.flows.get(flow).filter(|f| f.end.is_some() && f.quiet() && !f.work.copies.ttl_varies) else { return };
        match f.connection {
            None => self.closing.push((flow, false)),
            Some(c) => {
                let Some(conn) = self.conns.get(c) else { return };
                if self.subflows_of(conn).all(|f| f.end.is_some() && f.quiet() || f.unanswered()) {
                    self.closing.push((c, true));
                }
            }
        }
    }

    /// Notes the capture clock; finishes what became quiet, and once a second of capture time
    /// what ended `close_delay` ago or went idle.
    pub(super) fn tick(&mut self, ts_ns: u64, frame: u64) {
        self.clock_ns = self.clock_ns.max(ts_ns);
        if !self.closing.is_empty() {
            for (id, is_conn) in std::mem::take(&mut self.closing) {
                if is_conn {
                    self.retire_connection(id, None);
                } else {
                    self.retire_flow(id);
                }
            }
        }
        // The reassembly buffers get what the open flows and connections leave of the budget.
        self.data.set_room(self.limits.max_state_bytes.saturating_sub(self.fixed_bytes()));
        let (flows, conns, bytes) = (self.flows.len() as u64, self.conns.len() as u64, self.state_bytes() as u64);
        let st = &mut self.stats;
        st.peak_open_flows = st.peak_open_flows.max(flows);
        st.peak_open_connections = st.peak_open_connections.max(conns);
        st.peak_state_bytes = st.peak_state_bytes.max(bytes);
        if self.clock_ns >= self.next_sweep_ns && !self.limits.keep_until_end {
            self.tombstones.expire(self.clock_ns);
            self.data.rebalance();
            self.next_sweep_ns = self.clock_ns.saturating_add(SWEEP_NS);
            self.sweep(frame);
        }
    }

    fn since_ns(&self, ts: f64) -> u64 {
        self.clock_ns.saturating_sub((ts.max(0.0) * 1e9) as u64)
    }

    fn timed_out(&self, last_ts: f64) -> bool {
        self.limits.idle_timeout_ns > 0 && self.since_ns(last_ts) >= self.limits.idle_timeout_ns
    }

    /// Finishes the connections and lone flows that ended `close_delay` ago or went idle.
    fn sweep(&mut self, frame: u64) {
        let delay = self.limits.close_delay_ns;
        let mut done = Vec::new();
        for c in self.conns.iter() {
            let flows = self.subflows_of(c);
            let last = flows.clone().map(|f| f.last_ts).fold(c.end_ts, f64::max);
            // Every subflow ended by FIN or RST; a join never answered does not keep it open, but
            // a connection whose only subflows are unanswered SYNs may still see them retried.
            let ended = flows.clone().any(|f| f.end.is_some()) && flows.clone().all(|f| f.end.is_some() || f.unanswered());
            if ended {
                if self.since_ns(last) >= delay || self.timed_out(last) {
                    done.push((c.id, false));
                }
            } else if self.timed_out(last) && c.work.idle.is_none() {
                done.push((c.id, true));
            }
        }
        for (id, idle) in done {
            if idle {
                // Kept: finished as timed out when the room is needed (make_room) or at the end.
                let last = self.conns.get(id).map(|c| self.subflows_of(c).map(|f| f.last_ts).fold(c.end_ts, f64::max));
                if let (Some(c), Some(last)) = (self.conns.get_mut(id), last) {
                    c.work.idle = Some((frame, last));
                    self.idle_marked += 1;
                }
            } else {
                self.retire_connection(id, None);
            }
        }
        let lone: Vec<usize> = self
            .flows
            .iter()
            .filter(|f| f.connection.is_none())
            .filter(|f| f.end.is_some() && self.since_ns(f.last_ts) >= delay || self.timed_out(f.last_ts))
            .map(|f| f.id)
            .collect();
        for id in lone {
            self.retire_flow(id);
        }
    }

    fn forget_flow(&mut self, id: usize) -> Option<Flow> {
        let f = self.flows.remove(id)?;
        let key = super::state::key_of(f.client, f.server);
        if self.flow_index.get(&key) == Some(&id) {
            self.flow_index.remove(&key);
            if !self.ending {
                self.tombstones.add(key, self.clock_ns.saturating_add(self.limits.close_delay_ns));
            }
        }
        Some(f)
    }

    fn retire_flow(&mut self, id: usize) {
        if let Some(f) = self.forget_flow(id) {
            // No connection, no MPTCP option: plain TCP (an orphan has an `orphan_token`).
            if f.connection.is_none() && f.orphan_token.is_none() {
                match f.kind {
                    SubflowKind::Tcp => self.stats.tcp_connections += 1,
                    SubflowKind::Unknown => self.stats.tcp_flows_without_syn += 1,
                    _ => {}
                }
            }
            self.retired.push(Finished::Flow(f.out));
        }
    }

    /// Makes connection `id`'s results final, hands it to the sink and frees it. `timed_out`:
    /// the frame that found it idle.
    pub(super) fn retire_connection(&mut self, id: usize, timed_out: Option<u64>) {
        let Some(ids) = self.conns.get(id).map(|c| c.subflow_ids.clone()) else { return };
        if let Some(frame) = timed_out {
            self.stats.connections_timed_out += 1;
            let timeout = self.limits.idle_timeout_ns as f64 / 1e9;
            if let Some(c) = self.conns.get_mut(id) {
                c.state = ConnState::TimedOut;
            }
            for &s in &ids {
                if let Some(f) = self.flows.get_mut(s).filter(|f| f.end.is_none() && !f.unanswered()) {
                    f.end = Some(SubflowEnd { how: EndHow::TimedOut, frame, ts: f.last_ts + timeout, reason: None });
                }
            }
        }
        for &s in &ids {
            self.flush_pending_of(s);
        }
        // A SYN's payload whose direction carried nothing else is its whole stream.
        for d in [Dir::C2s, Dir::S2c] {
            if let Some(start) = self.conns.get(id).filter(|c| c.work.syn_data[d.index()].is_some()).and_then(|c| c.data_start(d)) {
                self.data.start(id, d, start);
                self.lead_with_syn_data(id, d, start);
            }
        }
        let Some(mut conn) = self.conns.remove(id) else { return };
        self.data.finish_connection(&mut conn);
        // The MP_CAPABLE SYN was in the capture and no SYN/ACK with the option answered it.
        let unanswered = conn.found_by == FoundBy::MpCapable && conn.synack_flags.is_none();
        self.stats.mp_capable_unanswered += u64::from(unanswered);
        let mut subflows: Vec<Flow> = ids.iter().filter_map(|&s| self.forget_flow(s)).collect();
        subflows.sort_by_key(|f| f.id);
        if let Some(first) = subflows.iter().find(|f| !f.join) {
            conn.capture_point = CapturePoint::of(first, first.work.copies.count);
        }
        for f in &mut subflows {
            if f.end.is_none() && f.unanswered() {
                f.end = Some(SubflowEnd { how: EndHow::NoAnswer, frame: f.first_frame, ts: f.start_ts, reason: None });
            }
            for d in [Dir::C2s, Dir::S2c] {
                let total = conn.data(d).bytes;
                let sd = f.dir_mut(d);
                sd.share = if total > 0 { sd.new_data_bytes as f64 / total as f64 } else { 0.0 };
            }
        }
        conn.end_ts = subflows.iter().map(|f| f.last_ts).fold(conn.end_ts, f64::max);
        // Events before the SYN/ACK (CREATED) had no token yet.
        if let (Some(first), Some(token)) = (conn.work.first_event, conn.server_token.as_ref()) {
            for e in self.events.iter_mut().skip(first).filter(|e| e.connection == Some(id) && e.token.is_none()) {
                e.token = Some(*token);
            }
        }
        // Events handed over and not yet taken: their token, and the client's (the connection
        // is gone when they are taken).
        let first = conn.work.first_event.map(|f| f.saturating_sub(self.events_base));
        if let Some(first) = first.filter(|_| !self.event_queue.is_empty()) {
            let client = conn.client_token;
            for (e, c) in self.event_queue.iter_mut().skip(first).filter(|(e, _)| e.connection == Some(id)) {
                e.token = e.token.or(conn.server_token);
                *c = client;
            }
        }
        for token in conn.tokens() {
            if self.tokens.get(&token) == Some(&id) {
                self.tokens.remove(&token);
            }
        }
        if conn.inputs.len() > 1 {
            for &i in &conn.inputs {
                if let Some(s) = self.inputs_shared.get_mut(i) {
                    *s = true;
                }
            }
        }
        self.retired.push(Finished::Connection(conn.out, subflows.into_iter().map(|f| f.out).collect()));
    }

    /// Finishes everything still open (the end of the capture), in id order.
    pub(super) fn retire_all(&mut self) {
        self.ending = true;
        let conns: Vec<usize> = self.conns.ids().collect();
        for id in conns {
            let idle = self.conns.get(id).and_then(|c| c.work.idle).map(|(frame, _)| frame);
            self.retire_connection(id, idle);
        }
        let flows: Vec<usize> = self.flows.ids().collect();
        for id in flows {
            self.retire_flow(id);
        }
    }
}

impl CapturePoint {
    /// Where the capture of a connection was taken, from its first subflow `f` and the segments
    /// of it captured twice (`copies`: on their way into and out of a router).
    pub(super) fn of(f: &Subflow, copies: u64) -> Self {
        let (client_ttl, server_ttl) = (f.ttl[0].filter(|&t| t > 0), f.ttl[1].filter(|&t| t > 0));
        let round = |v: f64| (v * 1e6).round() / 1e3;
        let syn_to_synack_ms = f.syn_ts.zip(f.synack_ts).map(|(a, b)| round(b - a));
        let synack_to_ack_ms = f.synack_ts.zip(f.established_ts).map(|(a, b)| round(b - a));
        let mut p = CapturePoint { near: Near::Unknown, rule: NearRule::None, client_ttl, server_ttl, syn_to_synack_ms, synack_to_ack_ms };
        // Segments captured on their way in and out: a router's capture.
        if copies > 0 {
            (p.near, p.rule) = (Near::Between, NearRule::ForwardedCopies);
            return p;
        }
        if let (Some(c), Some(s)) = (client_ttl, server_ttl) {
            let near = match (initial_ttl(c), initial_ttl(s)) {
                (true, false) => Some(Near::Client),
                (false, true) => Some(Near::Server),
                (false, false) => Some(Near::Between),
                (true, true) => None,
            };
            if let Some(near) = near {
                (p.near, p.rule) = (near, NearRule::Ttl);
                return p;
            }
        }
        if let (Some(a), Some(b)) = (syn_to_synack_ms, synack_to_ack_ms) {
            if 4.0 * a <= b {
                (p.near, p.rule) = (Near::Server, NearRule::Handshake);
            } else if 4.0 * b <= a {
                (p.near, p.rule) = (Near::Client, NearRule::Handshake);
            }
        }
        p
    }
}

fn initial_ttl(t: u8) -> bool {
    matches!(t, 64 | 128 | 255)
}
