//! The same traffic seen at two capture points (`mptcp-trace pair CLIENT SERVER`): TCP segments
//! matched across the two captures, loss between the points and one-way delay per subflow and
//! direction.
//!
//! Both captures are read streaming, merged in time order ([`MergedReader`]). A segment (a TCP
//! packet with payload, SYN or FIN) is identified by its directed 4-tuple, raw sequence number
//! and payload length. When the same key is seen several times (retransmissions), a copy is
//! matched to the unmatched copy of the other capture with the same TCP timestamp value and ack,
//! else to the first unmatched copy in order of appearance. A segment left unmatched for
//! [`PairOptions::window_ns`] of capture time (or pushed out by the [`PairOptions::max_pending`]
//! cap) is final: at the sender's capture it was lost between the points, at the receiver's it
//! was seen only there. Memory: the unmatched segments within the window, plus one delay sample
//! (8 bytes) per matched segment for the exact median and p99.
//!
//! A copy made final unmatched still counts as matched when unmatched copies at the other
//! capture with the same TSval cover its byte range (segmentation offload: TSO/GRO).
//!
//! Reinjections (MPTCP data sent again on another subflow) get a verdict from the matching:
//! useful when the original was lost between the points or the reinjection arrived first.
//!
//! A subflow is recognised at both points by its SYN (and SYN/ACK), so that a NAT between the
//! points does not break the matching: first by what MPTCP puts in it (MP_JOIN: the receiver's
//! token, the sender's address id and nonce; SYN/ACK: address id, nonce and truncated HMAC;
//! MP_CAPABLE: the sender's key where the option carries it), then by its ISN (SYN/ACK: with the
//! acknowledged ISN), and last, for subflows whose SYN was not captured, by equal 4-tuples. When a
//! middlebox rewrote the ISN, sequence numbers of the second point are translated into the first
//! point's space (and retransmissions are told apart by TSval alone).
use std::collections::VecDeque;
use std::net::IpAddr;

use serde::Serialize;

use crate::capture::merge::MergedReader;
use crate::capture::{CaptureError, CaptureReader};
use crate::decode::{decode, Decoded, TcpSegment};
use crate::track::ReinjectionVerdict;

/// Which capture a packet came from.
const CLIENT: usize = 0;
const SERVER: usize = 1;

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
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions { window_ns: 10_000_000_000, max_pending: 1_000_000, max_listed: 1000, series: false }
    }
}

type Flow4 = (IpAddr, u16, IpAddr, u16);

/// What a SYN or SYN/ACK says about its subflow that a NAT does not rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ident {
    /// MP_JOIN SYN: receiver's token, sender's address id, sender's nonce.
    JoinSyn(u32, u8, u32),
    /// MP_JOIN SYN/ACK: address id, truncated HMAC, nonce.
    JoinSynAck(u8, u64, u32),
    /// MP_CAPABLE with the sender's key (v0 SYN; SYN/ACK of both versions); true: SYN/ACK.
    Key(bool, u64),
    /// The ISN; SYN/ACK (true): with the acknowledged number.
    Isn(bool, u32, u32),
}

impl Ident {
    fn how(self) -> &'static str {
        match self {
            Ident::JoinSyn(..) | Ident::JoinSynAck(..) => "MP_JOIN",
            Ident::Key(..) => "MP_CAPABLE key",
            Ident::Isn(..) => "ISN",
        }
    }
}

/// The identities of a SYN or SYN/ACK, most specific first.
fn idents(seg: &TcpSegment<'_>) -> Vec<Ident> {
    use crate::options::mptcp::{MpJoin, MptcpOption};
    let synack = seg.flags.ack();
    let mut v = Vec::with_capacity(2);
    for o in crate::options::mptcp_options(seg.options).flatten() {
        match o.1 {
            MptcpOption::Join(MpJoin::Syn(j)) if !synack => v.push(Ident::JoinSyn(j.token, j.address_id, j.nonce)),
            MptcpOption::Join(MpJoin::SynAck(j)) if synack => v.push(Ident::JoinSynAck(j.address_id, j.hmac, j.nonce)),
            MptcpOption::Capable(c) => {
                if let Some(k) = c.sender_key {
                    v.push(Ident::Key(synack, k));
                }
            }
            _ => {}
        }
    }
    v.push(Ident::Isn(synack, seg.seq, if synack { seg.ack } else { 0 }));
    v
}

/// A covering segment starts at most this many bytes before the segment it covers.
const MAX_COVER_SPAN: u32 = 1 << 20;

/// One copy of a segment seen in one capture.
#[derive(Debug, Clone, Copy)]
struct Seen {
    ts: u64,
    tsval: Option<u32>,
    ack: u32,
    flags: u8,
    frame: u64,
    /// Used to cover a segment of the other capture (segmentation offload): not unmatched.
    used: bool,
    /// Index of its [`DataRec`] in that capture's list, `NO_REC` without one.
    rec: u32,
}

const NO_REC: u32 = u32::MAX;

/// How many recent DSS mappings per subflow and capture are kept for segments without their own.
const MAX_MAPS: usize = 16;

/// A segment with its own DSS mapping, for the reinjection verdicts.
#[derive(Debug, Clone, Copy)]
struct DataRec {
    flow: u32,
    ts: u64,
    frame: u64,
    /// Subflow sequence number relative to the ISN.
    rel_seq: u32,
    dsn: u64,
    /// A 4-byte DSN (kept in its own, 32-bit, space: ranges across its wrap are not compared).
    short: bool,
    /// In a 1-byte mapping: a window probe when its byte was sent before, not a reinjection.
    probe: bool,
    len: u32,
    /// When a copy at the other capture matched it.
    peer_ts: Option<u64>,
}

/// A segment whose data (DSN range) had been sent before on another subflow of its connection.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reinjection {
    pub direction: &'static str,
    /// The subflow carrying the reinjection, and the one that carried the original copy.
    pub subflow: String,
    pub original_subflow: String,
    /// DSN of its first byte (64-bit, raw; a JSON string, see `crate::json`) and its length.
    #[serde(serialize_with = "crate::json::dec")]
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

/// The unmatched copies of one key in one capture: the first inline, more only on retransmission.
#[derive(Debug)]
struct Pending {
    first: Seen,
    more: Vec<Seen>,
}

/// (flow index, capture, seq, len)
type Key = (u32, u8, u32, u32);

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

/// Per directed flow.
#[derive(Debug, Default)]
struct FlowState {
    /// The 4-tuple at each capture (they differ behind a NAT).
    key: [Option<Flow4>; 2],
    /// How the flows of the two captures were found to be one: an [`Ident::how`] or `4-tuple`.
    linked_by: Option<&'static str>,
    /// Subtracted from a capture's raw sequence numbers to put them in the common space (the
    /// first capture's): non-zero only when a middlebox rewrote the ISN.
    shift: [u32; 2],
    /// The identities this flow waits under for its other capture's copy.
    idents: Vec<Ident>,
    /// Segments seen per capture.
    segments: [u64; 2],
    /// ISN per capture (from a SYN seen there).
    isn: [Option<u32>; 2],
    /// Whether a SYN without ACK was sent on this flow (it is c2s then), and its MPTCP subtype.
    syn: Option<Option<u8>>,
    /// Which capture saw this flow's first segment first (fallback orientation).
    first_seen: Option<usize>,
    /// Final unmatched copies per capture: count, bytes, listed.
    unmatched: [u64; 2],
    unmatched_bytes: [u64; 2],
    listed: [Vec<(u32, u32, Seen)>; 2],
    /// The last DSS mappings seen per capture (newest last), for segments without their own.
    maps: [VecDeque<crate::options::mptcp::DssMapping>; 2],
    /// server time − client time of every matched segment, ns.
    diffs: Vec<i64>,
    /// With [`PairOptions::series`]: the client capture's time of each of `diffs`.
    times: Vec<u64>,
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
    pub direction: &'static str,
    /// `client` or `server`: the capture where these segments leave.
    pub sender_capture: &'static str,
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
    /// How its packets at the two captures were found to belong together: `MP_JOIN` (token,
    /// address id, nonce), `MP_CAPABLE key`, `ISN`, `4-tuple` (no SYN in one of the captures);
    /// `null`: seen in one capture only.
    pub linked_by: Option<&'static str>,
    /// `MP_CAPABLE`, `MP_JOIN` or `TCP` from the SYN; `null` without a SYN.
    pub kind: Option<&'static str>,
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
    /// With [`PairOptions::series`] (not in the JSON): every delay sample over time, per subflow
    /// and direction, for `plot --kind owd`.
    #[serde(skip)]
    pub owd_series: Vec<OwdSeries>,
}

/// The one-way delay of each matched segment of a subflow direction, in the order matched.
#[derive(Debug, Clone, PartialEq)]
pub struct OwdSeries {
    pub subflow: String,
    pub direction: &'static str,
    /// (seconds since the sender capture's first packet when it was seen there, one-way delay
    /// in ms corrected by the clock offset estimate when there is one, else raw).
    pub points: Vec<(f64, f64)>,
}

/// How the two captures ended (`None`: at their end).
pub struct PairEnds {
    pub client: Option<CaptureError>,
    pub server: Option<CaptureError>,
}

/// Matches the segments of two captures of the same traffic.
pub struct Pairer {
    opts: PairOptions,
    /// (capture, 4-tuple) -> flow index (common to both captures once linked).
    flows: ahash::HashMap<(u8, Flow4), u32>,
    /// SYN identities of flows seen at one capture so far: (capture, flow index).
    idents: ahash::HashMap<Ident, (u8, u32)>,
    states: Vec<FlowState>,
    pending: ahash::HashMap<Key, Pending>,
    /// The keys of `pending`, ordered: the segments near a sequence number (coverage lookup).
    by_seq: std::collections::BTreeSet<Key>,
    npending: usize,
    order: VecDeque<(u64, Key)>,
    tcp_packets: [u64; 2],
    first_ts: [Option<u64>; 2],
    recs: [Vec<DataRec>; 2],
}

fn tcp_options(seg: &TcpSegment<'_>) -> (Option<u32>, Option<u8>) {
    let (mut tsval, mut mptcp) = (None, None);
    let o = seg.options;
    let mut i = 0;
    while i < o.len() {
        let kind = o[i];
        if kind == 0 {
            break;
        }
        if kind == 1 {
            i += 1;
            continue;
        }
        let Some(&len) = o.get(i + 1) else { break };
        let len = usize::from(len);
        if len < 2 || i + len > o.len() {
            break;
        }
        if kind == 8 && len == 10 {
            tsval = Some(u32::from_be_bytes([o[i + 2], o[i + 3], o[i + 4], o[i + 5]]));
        }
        if kind == 30 && len >= 3 && mptcp.is_none() {
            mptcp = Some(o[i + 2] >> 4);
        }
        i += len;
    }
    (tsval, mptcp)
}

fn flag_names(f: u8) -> String {
    [(0x02, 'S'), (0x01, 'F'), (0x04, 'R'), (0x08, 'P'), (0x10, '.')].iter().filter(|(b, _)| f & b != 0).map(|&(_, c)| c).collect()
}

fn epoch(ts: u64) -> String {
    format!("{}.{:09}", ts / 1_000_000_000, ts % 1_000_000_000)
}

fn us(ns: f64) -> f64 {
    (ns / 1000.0 * 1000.0).round() / 1000.0
}

/// min / median (mean of the two middle values for an even count) / p99 (nearest rank) / max.
fn stats(samples: &mut [i64]) -> Option<OwdStats> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let median = if n % 2 == 1 { samples[n / 2] as f64 } else { (samples[n / 2 - 1] as f64 + samples[n / 2] as f64) / 2.0 };
    let rank = (n * 99).div_ceil(100).max(1) - 1;
    Some(OwdStats { n, min: us(samples[0] as f64), median: us(median), p99: us(samples[rank] as f64), max: us(samples[n - 1] as f64) })
}

fn endpoint(a: IpAddr, p: u16) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}:{p}"),
        IpAddr::V6(a) => format!("[{a}]:{p}"),
    }
}

impl Pairer {
    pub fn new(opts: PairOptions) -> Self {
        Pairer {
            opts,
            flows: Default::default(),
            idents: Default::default(),
            states: Vec::new(),
            pending: Default::default(),
            by_seq: Default::default(),
            npending: 0,
            order: VecDeque::new(),
            tcp_packets: [0; 2],
            first_ts: [None; 2],
            recs: [Vec::new(), Vec::new()],
        }
    }

    /// The flow of a segment at capture `side`: known, or the other capture's copy of it (by
    /// SYN identity, else by 4-tuple), or new.
    fn flow(&mut self, side: usize, f: Flow4, seg: &TcpSegment<'_>) -> u32 {
        if let Some(&i) = self.flows.get(&(side as u8, f)) {
            return i;
        }
        let other = 1 - side;
        let ids = if seg.flags.syn() { idents(seg) } else { Vec::new() };
        let free = |states: &[FlowState], i: u32| states.get(i as usize).is_some_and(|st| st.key[side].is_none());
        let by_ident = ids.iter().find_map(|id| {
            let &(s, i) = self.idents.get(id)?;
            (usize::from(s) == other && free(&self.states, i)).then_some((i, id.how()))
        });
        let link = by_ident.or_else(|| {
            let &i = self.flows.get(&(other as u8, f))?;
            free(&self.states, i).then_some((i, "4-tuple"))
        });
        let i = match link {
            Some((i, how)) => {
                let Some(st) = self.states.get_mut(i as usize) else { return i };
                st.key[side] = Some(f);
                st.linked_by = Some(how);
                if let (Some(o), true) = (st.isn[other], seg.flags.syn()) {
                    st.shift[side] = seg.seq.wrapping_sub(o).wrapping_add(st.shift[other]);
                }
                for id in std::mem::take(&mut st.idents) {
                    self.idents.remove(&id);
                }
                i
            }
            None => {
                let i = self.states.len() as u32;
                let mut key = [None; 2];
                key[side] = Some(f);
                for &id in &ids {
                    self.idents.insert(id, (side as u8, i));
                }
                self.states.push(FlowState { key, idents: ids, ..Default::default() });
                i
            }
        };
        self.flows.insert((side as u8, f), i);
        i
    }

    /// One packet of capture `side` (0 client, 1 server).
    pub fn packet(&mut self, side: usize, frame: u64, ts: u64, seg: &TcpSegment<'_>) {
        let side = side.min(1);
        self.tcp_packets[side] += 1;
        self.first_ts[side].get_or_insert(ts);
        self.expire(ts);
        let flags = seg.flags;
        if seg.payload_len == 0 && !flags.syn() && !flags.fin() {
            return;
        }
        let fi = self.flow(side, (seg.src, seg.sport, seg.dst, seg.dport), seg);
        let (tsval, mptcp) = tcp_options(seg);
        let Some(st) = self.states.get_mut(fi as usize) else { return };
        let kseq = seg.seq.wrapping_sub(st.shift[side]);
        // acks are compared only where no ISN was rewritten (the reverse space would shift too)
        let same_ack = st.shift == [0, 0];
        st.segments[side] += 1;
        st.first_seen.get_or_insert(side);
        if flags.syn() {
            st.isn[side].get_or_insert(seg.seq);
            if !flags.ack() && st.syn.is_none() {
                st.syn = Some(mptcp);
            }
        }
        let mut rec = NO_REC;
        if let (Some(isn), true) = (st.isn[side], seg.payload_len > 0) {
            let rel_seq = seg.seq.wrapping_sub(isn);
            let own = crate::options::mptcp_options(seg.options).find_map(|o| match o {
                Ok((_, crate::options::mptcp::MptcpOption::Dss(d))) => d.mapping,
                _ => None,
            });
            let maps = &mut st.maps[side];
            if let Some(m) = own {
                if maps.len() >= MAX_MAPS {
                    maps.pop_front();
                }
                maps.push_back(m);
            }
            // its own mapping, else the newest recent one of the subflow that holds its first byte
            let map = own
                .filter(|m| rel_seq.wrapping_sub(m.subflow_seq) < u32::from(m.data_level_length))
                .or_else(|| maps.iter().rev().find(|m| rel_seq.wrapping_sub(m.subflow_seq) < u32::from(m.data_level_length)).copied());
            if let Some(m) = map {
                let off = rel_seq.wrapping_sub(m.subflow_seq);
                if u32::try_from(self.recs[side].len()).is_ok_and(|n| n < NO_REC) {
                    rec = self.recs[side].len() as u32;
                    self.recs[side].push(DataRec {
                        flow: fi,
                        ts,
                        frame,
                        rel_seq,
                        dsn: match m.dsn_len {
                            crate::options::mptcp::SeqLen::Eight => m.dsn.wrapping_add(u64::from(off)),
                            crate::options::mptcp::SeqLen::Four => u64::from((m.dsn as u32).wrapping_add(off)),
                        },
                        short: m.dsn_len == crate::options::mptcp::SeqLen::Four,
                        probe: m.data_level_length == 1,
                        len: seg.payload_len,
                        peer_ts: None,
                    });
                }
            }
        }
        let copy = Seen { ts, tsval, ack: seg.ack, flags: flags.0, frame, used: false, rec };
        let other: Key = (fi, (1 - side) as u8, kseq, seg.payload_len);
        if let Some(p) = self.pending.get_mut(&other) {
            // identity (TSval and ack) first, else the oldest copy
            let idx = if copy.tsval.is_some() {
                std::iter::once(&p.first)
                    .chain(p.more.iter())
                    .position(|c| c.tsval == copy.tsval && (c.ack == copy.ack || !same_ack))
                    .unwrap_or(0)
            } else {
                0
            };
            let m = if idx == 0 {
                match p.more.is_empty() {
                    true => {
                        let m = p.first;
                        self.pending.remove(&other);
                        self.by_seq.remove(&other);
                        m
                    }
                    false => std::mem::replace(&mut p.first, p.more.remove(0)),
                }
            } else {
                p.more.remove(idx - 1)
            };
            self.npending -= 1;
            for (sd, r, t) in [(side, rec, m.ts), (1 - side, m.rec, ts)] {
                if let Some(r) = self.recs[sd].get_mut(r as usize) {
                    r.peer_ts.get_or_insert(t);
                }
            }
            let (tc, tsrv) = if side == SERVER { (m.ts, ts) } else { (ts, m.ts) };
            st.diffs.push(tsrv as i64 - tc as i64);
            if self.opts.series {
                st.times.push(tc);
            }
            return;
        }
        let key: Key = (fi, side as u8, kseq, seg.payload_len);
        match self.pending.get_mut(&key) {
            Some(p) => p.more.push(copy),
            None => {
                self.pending.insert(key, Pending { first: copy, more: Vec::new() });
                self.by_seq.insert(key);
            }
        }
        self.npending += 1;
        self.order.push_back((ts, key));
        while self.npending > self.opts.max_pending {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    fn expire(&mut self, now: u64) {
        while self.order.front().is_some_and(|&(t, _)| t.saturating_add(self.opts.window_ns) < now) {
            self.pop_oldest();
        }
    }

    /// Makes the oldest pending copy final (if it is still pending). False when none is left.
    fn pop_oldest(&mut self) -> bool {
        let Some((t, key)) = self.order.pop_front() else { return false };
        let Some(p) = self.pending.get_mut(&key) else { return true };
        let copy = if p.first.ts == t {
            if p.more.is_empty() {
                let c = p.first;
                self.pending.remove(&key);
                self.by_seq.remove(&key);
                c
            } else {
                let next = p.more.remove(0);
                std::mem::replace(&mut p.first, next)
            }
        } else if let Some(i) = p.more.iter().position(|c| c.ts == t) {
            p.more.remove(i)
        } else {
            return true;
        };
        self.npending -= 1;
        let side = usize::from(key.1).min(1);
        if let Some(t_other) = self.cover(key, copy) {
            self.set_peer(side, copy.rec, t_other);
            let (tc, tsrv) = if side == SERVER { (t_other, copy.ts) } else { (copy.ts, t_other) };
            if let Some(st) = self.states.get_mut(key.0 as usize) {
                st.diffs.push(tsrv as i64 - tc as i64);
                if self.opts.series {
                    st.times.push(tc);
                }
            }
            return true;
        }
        if copy.used {
            return true;
        }
        if let Some(st) = self.states.get_mut(key.0 as usize) {
            st.unmatched[side] += 1;
            st.unmatched_bytes[side] += u64::from(key.3);
            if st.listed[side].len() < self.opts.max_listed {
                st.listed[side].push((key.2, key.3, copy));
            }
        }
        true
    }

    fn set_peer(&mut self, side: usize, rec: u32, ts: u64) {
        if let Some(r) = self.recs[side.min(1)].get_mut(rec as usize) {
            r.peer_ts.get_or_insert(ts);
        }
    }

    /// Whether the byte range of `key` (a copy being made final) is covered by the unmatched
    /// segments of the same flow at the other capture (segmentation offload: one segment at one
    /// point, several at the other, either way). Only pieces whose first unmatched copy has the
    /// same TSval count (offload keeps it; a retransmission has a newer one), when both have one.
    /// If covered, the pieces are marked used and the time of the last one is returned.
    fn cover(&mut self, key: Key, copy: Seen) -> Option<u64> {
        let tsval = copy.tsval;
        let (fi, side, seq, len) = key;
        if len == 0 {
            return None;
        }
        let other = 1 - side.min(1);
        let (start, end) = (u64::from(seq), u64::from(seq) + u64::from(len));
        let lo = (fi, other, seq.saturating_sub(MAX_COVER_SPAN), 0);
        let hi = (fi, other, u32::try_from(end).unwrap_or(u32::MAX), 0);
        let mut cur = start;
        let mut pieces = Vec::new();
        for &k in self.by_seq.range(lo..hi) {
            let (s, e) = (u64::from(k.2), u64::from(k.2) + u64::from(k.3));
            if k.3 == 0 || e <= start {
                continue;
            }
            let same = self.pending.get(&k).is_some_and(|p| tsval.is_none() || p.first.tsval.is_none() || p.first.tsval == tsval);
            if !same {
                continue;
            }
            if s > cur {
                break;
            }
            pieces.push(k);
            cur = cur.max(e);
            if cur >= end {
                break;
            }
        }
        if cur < end {
            return None;
        }
        let mut last = 0;
        for k in pieces {
            if let Some(p) = self.pending.get_mut(&k) {
                p.first.used = true;
                last = last.max(p.first.ts);
                let r = p.first.rec;
                self.set_peer(usize::from(other), r, copy.ts);
            }
        }
        Some(last)
    }

    /// Ends matching: every pending copy is final; builds the report.
    pub fn finish(mut self) -> PairReport {
        while self.pop_oldest() {}
        // Orientation: a flow whose SYN (without ACK) was seen is c2s; its reverse s2c; without
        // a SYN, the capture that saw the flow's first segment first is its sender.
        let c2s: Vec<bool> = self
            .states
            .iter()
            .map(|st| {
                if st.syn.is_some() {
                    return true;
                }
                let Some((side, (s, sp, d, dp))) = st.key.iter().enumerate().find_map(|(i, k)| Some((i as u8, (*k)?))) else { return true };
                let rev = self.flows.get(&(side, (d, dp, s, sp))).and_then(|&r| self.states.get(r as usize));
                if rev.is_some_and(|r| r.syn.is_some()) {
                    return false;
                }
                st.first_seen != Some(SERVER)
            })
            .collect();
        let first_ts = self.first_ts;
        // (name, kind, c2s flow, s2c flow, name at the server, linked by)
        type Sub = (String, Option<&'static str>, Option<usize>, Option<usize>, Option<String>, Option<&'static str>);
        let mut subs: Vec<Sub> = Vec::new();
        let mut index: ahash::HashMap<String, usize> = Default::default();
        let mut names = vec![String::new(); self.states.len()];
        let named = |k: Flow4, is_c2s: bool| {
            let (s, sp, d, dp) = k;
            if is_c2s {
                format!("{}->{}", endpoint(s, sp), endpoint(d, dp))
            } else {
                format!("{}->{}", endpoint(d, dp), endpoint(s, sp))
            }
        };
        for (i, (st, &is_c2s)) in self.states.iter().zip(c2s.iter()).enumerate() {
            let Some(k) = st.key[CLIENT].or(st.key[SERVER]) else { continue };
            let name = named(k, is_c2s);
            let at_server = match st.key {
                [Some(a), Some(b)] if a != b => Some(named(b, is_c2s)),
                _ => None,
            };
            names[i].clone_from(&name);
            let at = *index.entry(name.clone()).or_insert_with(|| {
                subs.push((name, None, None, None, at_server, None));
                subs.len() - 1
            });
            let e = &mut subs[at];
            e.5 = e.5.or(st.linked_by);
            if is_c2s {
                e.2 = Some(i);
                if let Some(m) = st.syn {
                    e.1 = Some(match m {
                        Some(0) => "MP_CAPABLE",
                        Some(1) => "MP_JOIN",
                        _ => "TCP",
                    });
                }
            } else {
                e.3 = Some(i);
            }
        }
        subs.sort_by(|a, b| a.0.cmp(&b.0));
        let (reinjections_c2s, reinjections_s2c, reinjections, reinjections_truncated) =
            reinjections(&self.recs, &c2s, &names, first_ts, self.opts.max_listed);
        let mut all = [Vec::new(), Vec::new()];
        // a direction's report, its delay samples (sorted) and, with `series`, (sender time, delay)
        type Built = (DirectionPair, Vec<i64>, Vec<(f64, i64)>);
        let build = |st: Option<&mut FlowState>, c2s: bool| -> Built {
            let (snd, rcv) = if c2s { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
            let mut owd: Vec<i64> = Vec::new();
            let mut series = Vec::new();
            let mut d = DirectionPair {
                direction: if c2s { "c2s" } else { "s2c" },
                sender_capture: if c2s { "client" } else { "server" },
                sent_segments: 0,
                received_segments: 0,
                matched: 0,
                lost_count: 0,
                lost_bytes: 0,
                lost: Vec::new(),
                lost_list_truncated: false,
                seen_only_at_receiver: 0,
                owd_us: None,
                owd_corrected_us: None,
            };
            if let Some(st) = st {
                d.sent_segments = st.segments[snd];
                d.received_segments = st.segments[rcv];
                d.matched = st.diffs.len() as u64;
                d.lost_count = st.unmatched[snd];
                d.lost_bytes = st.unmatched_bytes[snd];
                d.lost_list_truncated = st.unmatched[snd] > st.listed[snd].len() as u64;
                d.seen_only_at_receiver = st.unmatched[rcv];
                let mut listed = std::mem::take(&mut st.listed[snd]);
                listed.sort_by_key(|x| x.2.frame);
                let (isn, shift) = (st.isn[snd], st.shift[snd]);
                d.lost = listed
                    .into_iter()
                    .map(|(seq, len, c)| Unmatched {
                        seq: isn.map_or(seq.wrapping_add(shift), |i| seq.wrapping_add(shift).wrapping_sub(i)),
                        relative: isn.is_some(),
                        raw_seq: seq.wrapping_add(shift),
                        len,
                        flags: flag_names(c.flags),
                        time: epoch(c.ts),
                        t_rel: ((c.ts.saturating_sub(first_ts[snd].unwrap_or(0))) as f64 / 1e3).round() / 1e6,
                        frame: c.frame,
                    })
                    .collect();
                owd = std::mem::take(&mut st.diffs);
                let times = std::mem::take(&mut st.times);
                if !c2s {
                    owd.iter_mut().for_each(|x| *x = -*x);
                }
                // the sender's time: the client's for c2s, the client's arrival − delay for s2c
                series = times
                    .iter()
                    .zip(&owd)
                    .map(|(&tc, &o)| {
                        let sent = if c2s { tc } else { tc.saturating_add_signed(-o) };
                        (t_rel(sent, first_ts[snd]), o)
                    })
                    .collect();
                d.owd_us = stats(&mut owd);
            }
            (d, owd, series)
        };
        let mut out = Vec::new();
        let mut matched = 0;
        let mut raw_series = Vec::new();
        for (name, kind, fwd, rev, at_server, linked_by) in subs {
            let (a, oa, sa) = build(fwd.and_then(|i| self.states.get_mut(i)), true);
            let (b, ob, sb) = build(rev.and_then(|i| self.states.get_mut(i)), false);
            for (dir, pts) in [("c2s", sa), ("s2c", sb)] {
                if !pts.is_empty() {
                    raw_series.push((name.clone(), dir, pts));
                }
            }
            matched += a.matched + b.matched;
            all[0].push(oa);
            all[1].push(ob);
            out.push(SubflowPair { subflow: name, at_server, linked_by, kind, c2s: a, s2c: b });
        }
        let mut fw: Vec<i64> = all[0].iter().flatten().copied().collect();
        let mut bw: Vec<i64> = all[1].iter().flatten().copied().collect();
        let (owd_c2s_us, owd_s2c_us) = (stats(&mut fw), stats(&mut bw));
        let offset_ns = match (fw.first(), bw.first()) {
            (Some(&a), Some(&b)) => Some((a as f64 - b as f64) / 2.0),
            _ => None,
        };
        if let Some(off) = offset_ns {
            for (sp, (oa, ob)) in out.iter_mut().zip(all[0].iter().zip(all[1].iter())) {
                let mut a: Vec<i64> = oa.iter().map(|&x| x - off.round() as i64).collect();
                let mut b: Vec<i64> = ob.iter().map(|&x| x + off.round() as i64).collect();
                sp.c2s.owd_corrected_us = stats(&mut a);
                sp.s2c.owd_corrected_us = stats(&mut b);
            }
        }
        let off = offset_ns.unwrap_or(0.0);
        let owd_series = raw_series
            .into_iter()
            .map(|(subflow, direction, pts)| {
                let corr = if direction == "c2s" { -off } else { off };
                let points = pts.into_iter().map(|(t, o)| (t, (o as f64 + corr) / 1e6)).collect();
                OwdSeries { subflow, direction, points }
            })
            .collect();
        PairReport {
            owd_series,
            client_tcp_packets: self.tcp_packets[CLIENT],
            server_tcp_packets: self.tcp_packets[SERVER],
            subflows: out,
            owd_c2s_us,
            owd_s2c_us,
            clock_offset_us: offset_ns.map(us),
            matched,
            reinjections_c2s,
            reinjections_s2c,
            reinjections,
            reinjections_truncated,
        }
    }
}

fn t_rel(ts: u64, first: Option<u64>) -> f64 {
    ((ts.saturating_sub(first.unwrap_or(0))) as f64 / 1e3).round() / 1e6
}

/// The reinjections at each sender's capture: a segment new in its subflow's sequence space
/// (beyond all that subflow sent before: not a TCP retransmission, however re-segmented) whose
/// DSN range overlaps data sent before, on another subflow or on the same one (as `analyze`
/// counts them); the original is the first such copy.
fn reinjections(
    recs: &[Vec<DataRec>; 2],
    c2s: &[bool],
    names: &[String],
    first_ts: [Option<u64>; 2],
    max_listed: usize,
) -> (ReinjectionSummary, ReinjectionSummary, Vec<Reinjection>, bool) {
    let mut sums = [ReinjectionSummary::default(), ReinjectionSummary::default()];
    let mut list = Vec::new();
    let mut truncated = false;
    for side in [CLIENT, SERVER] {
        let (snd, rcv) = (side, 1 - side);
        // per flow: the end of the highest subflow sequence number sent so far
        let mut high: ahash::HashMap<u32, u32> = Default::default();
        // DSN start -> indices of the records starting there
        let mut by_dsn: std::collections::BTreeMap<(bool, u64), Vec<usize>> = Default::default();
        let mine = |r: &DataRec| c2s.get(r.flow as usize).is_some_and(|&c| c == (side == CLIENT));
        for (i, r) in recs[snd].iter().enumerate().filter(|(_, r)| mine(r)) {
            let end_seq = r.rel_seq.wrapping_add(r.len);
            let fresh = match high.get_mut(&r.flow) {
                Some(h) if (r.rel_seq.wrapping_sub(*h) as i32) < 0 => {
                    if (end_seq.wrapping_sub(*h) as i32) > 0 {
                        *h = end_seq;
                    }
                    false
                }
                Some(h) => {
                    *h = end_seq;
                    true
                }
                None => {
                    high.insert(r.flow, end_seq);
                    true
                }
            };
            let end = r.dsn.saturating_add(u64::from(r.len));
            let orig = by_dsn
                .range((r.short, r.dsn.saturating_sub(u64::from(MAX_COVER_SPAN)))..(r.short, end))
                .flat_map(|(_, v)| v.iter().copied())
                .filter_map(|j| recs[snd].get(j).map(|o| (j, o)))
                .filter(|(_, o)| o.dsn.saturating_add(u64::from(o.len)) > r.dsn)
                .min_by_key(|&(j, _)| j);
            by_dsn.entry((r.short, r.dsn)).or_default().push(i);
            let (true, false, Some((_, o))) = (fresh, r.probe, orig) else { continue };
            let verdict = match (o.peer_ts, r.peer_ts) {
                (None, None) => ReinjectionVerdict::Lost,
                (None, Some(_)) => ReinjectionVerdict::Useful,
                (Some(a), Some(b)) if b < a => ReinjectionVerdict::Useful,
                _ => ReinjectionVerdict::Redundant,
            };
            let sum = &mut sums[side];
            sum.count += 1;
            sum.bytes += u64::from(r.len);
            match verdict {
                ReinjectionVerdict::Useful => sum.useful += 1,
                ReinjectionVerdict::Redundant => sum.redundant += 1,
                ReinjectionVerdict::Lost => sum.lost += 1,
            }
            if sum.count as usize > max_listed {
                truncated = true;
                continue;
            }
            let name = |f: u32| names.get(f as usize).cloned().unwrap_or_default();
            list.push(Reinjection {
                direction: if side == CLIENT { "c2s" } else { "s2c" },
                subflow: name(r.flow),
                original_subflow: name(o.flow),
                dsn: r.dsn,
                len: r.len,
                frame: r.frame,
                t_rel: t_rel(r.ts, first_ts[snd]),
                original_frame: o.frame,
                original_t_rel: t_rel(o.ts, first_ts[snd]),
                original_arrived: o.peer_ts.map(|t| t_rel(t, first_ts[rcv])),
                reinjection_arrived: r.peer_ts.map(|t| t_rel(t, first_ts[rcv])),
                verdict,
            });
        }
    }
    let [a, b] = sums;
    (a, b, list, truncated)
}

/// Reads both captures (streaming, merged in time order) and matches their segments.
pub fn pair(client: CaptureReader, server: CaptureReader, opts: PairOptions) -> (PairReport, PairEnds) {
    let mut reader = MergedReader::new(vec![client, server]);
    let mut p = Pairer::new(opts);
    while let Some(m) = reader.next_packet() {
        if let Decoded::Tcp(seg) = decode(m.packet.linktype, m.packet.data) {
            p.packet(m.input, m.input_frame, m.packet.ts_ns, &seg);
        }
    }
    let mut ends = reader.ends().into_iter().map(|(e, _)| e);
    let client = ends.next().flatten();
    let server = ends.next().flatten();
    (p.finish(), PairEnds { client, server })
}

/// The report as text, like `analyze`'s.
pub fn render_text(r: &PairReport, client: &str, server: &str) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "client capture {client}: {} TCP packets; server capture {server}: {} TCP packets",
        r.client_tcp_packets, r.server_tcp_packets
    );
    let _ = writeln!(s, "{} segments matched across the captures", r.matched);
    let fmt = |o: &Option<OwdStats>| match o {
        Some(o) => format!("min {:.3} ms, median {:.3} ms, p99 {:.3} ms (n {})", o.min / 1e3, o.median / 1e3, o.p99 / 1e3, o.n),
        None => "-".to_string(),
    };
    match r.clock_offset_us {
        Some(o) => {
            let _ = writeln!(s, "clock offset (server - client, from both directions' minimum delays): {o:.1} µs");
        }
        None => {
            let _ = writeln!(s, "clock offset: not estimated (no delays both ways)");
        }
    }
    for sp in &r.subflows {
        let _ = writeln!(s, "\nsubflow {} ({})", sp.subflow, sp.kind.unwrap_or("no SYN seen"));
        match (&sp.at_server, sp.linked_by) {
            (Some(n), Some(by)) => {
                let _ = writeln!(s, "  at the server capture: {n} (a NAT between the points; found by {by})");
            }
            (_, None) => {
                let _ = writeln!(s, "  seen in one capture only");
            }
            _ => {}
        }
        for d in [&sp.c2s, &sp.s2c] {
            let _ = writeln!(
                s,
                "  {}: sent {} segments (at the {} capture), received {}, lost between the points {} ({} bytes), seen only at the receiver {}",
                d.direction, d.sent_segments, d.sender_capture, d.received_segments, d.lost_count, d.lost_bytes, d.seen_only_at_receiver
            );
            let _ = writeln!(s, "    one-way delay: {}", fmt(&d.owd_us));
            if d.owd_corrected_us.is_some() {
                let _ = writeln!(s, "    corrected by the offset: {}", fmt(&d.owd_corrected_us));
            }
            for l in &d.lost {
                let _ = writeln!(
                    s,
                    "    lost: seq {}{} len {} [{}] at {} s (frame {})",
                    l.seq,
                    if l.relative { "" } else { " (raw)" },
                    l.len,
                    l.flags,
                    l.t_rel,
                    l.frame
                );
            }
            if d.lost_list_truncated {
                let _ = writeln!(s, "    ... ({} lost in all)", d.lost_count);
            }
        }
    }
    for (dir, sum) in [("c2s", &r.reinjections_c2s), ("s2c", &r.reinjections_s2c)] {
        let _ = writeln!(
            s,
            "\nreinjections {dir}: {} ({} bytes): useful {}, redundant {}, neither copy arrived {}",
            sum.count, sum.bytes, sum.useful, sum.redundant, sum.lost
        );
        let t = |x: Option<f64>| x.map_or("lost".to_string(), |x| format!("{x} s"));
        for x in r.reinjections.iter().filter(|x| x.direction == dir && x.verdict != ReinjectionVerdict::Redundant) {
            let _ = writeln!(
                s,
                "  {}: dsn {} len {} on {} at {} s (frame {}), original on {} at {} s (frame {}); arrived: original {}, reinjection {}",
                x.verdict,
                x.dsn,
                x.len,
                x.subflow,
                x.t_rel,
                x.frame,
                x.original_subflow,
                x.original_t_rel,
                x.original_frame,
                t(x.original_arrived),
                t(x.reinjection_arrived)
            );
        }
    }
    if r.reinjections_truncated {
        let _ = writeln!(s, "  (the JSON list holds the first {} per direction)", r.reinjections.len());
    }
    if r.matched == 0 {
        let _ = writeln!(s, "\nno segment was seen in both captures: they share no traffic");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp::TcpFlags;

    const C: &str = "192.0.2.1";
    const S: &str = "203.0.113.2";

    #[allow(clippy::too_many_arguments)]
    /// A segment c2s (client 1000 -> server 80) or s2c, with a timestamp option holding `tsval`.
    fn feed(p: &mut Pairer, side: usize, frame: u64, ms: u64, c2s: bool, flags: u8, seq: u32, len: u32, tsval: u32, opts: &mut Vec<u8>) {
        opts.clear();
        opts.extend_from_slice(&[1, 1, 8, 10]);
        opts.extend_from_slice(&tsval.to_be_bytes());
        opts.extend_from_slice(&[0, 0, 0, 0]);
        send(p, side, frame, ms, (C, 1000), c2s, flags, seq, 1, len, opts);
    }

    /// One segment between `client` and the server's port 80 (c2s: from the client).
    #[allow(clippy::too_many_arguments)]
    fn send(
        p: &mut Pairer,
        side: usize,
        frame: u64,
        ms: u64,
        client: (&str, u16),
        c2s: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        len: u32,
        options: &[u8],
    ) {
        let (a, b): (IpAddr, IpAddr) = (client.0.parse().unwrap(), S.parse().unwrap());
        let (src, dst, sport, dport) = if c2s { (a, b, client.1, 80) } else { (b, a, 80, client.1) };
        let seg = TcpSegment {
            src,
            dst,
            sport,
            dport,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 65535,
            ttl: 64,
            checksum: 0,
            options,
            options_truncated: false,
            payload: &[],
            payload_len: len,
        };
        p.packet(side, frame, ms * 1_000_000, &seg);
    }

    #[test]
    fn a_retransmission_is_matched_to_its_own_copy() {
        let mut p = Pairer::new(PairOptions::default());
        let o = &mut Vec::new();
        feed(&mut p, CLIENT, 1, 0, true, 0x02, 100, 0, 1, o); // SYN
        feed(&mut p, SERVER, 1, 5, true, 0x02, 100, 0, 1, o);
        feed(&mut p, CLIENT, 2, 10, true, 0x18, 101, 500, 2, o); // lost
        feed(&mut p, CLIENT, 3, 300, true, 0x10, 101, 500, 3, o); // retransmission
        feed(&mut p, SERVER, 2, 307, true, 0x10, 101, 500, 3, o);
        let r = p.finish();
        assert_eq!(r.subflows.len(), 1);
        let d = &r.subflows[0].c2s;
        assert_eq!((d.sent_segments, d.received_segments, d.matched, d.lost_count), (3, 2, 2, 1));
        assert_eq!((d.lost[0].seq, d.lost[0].len, d.lost[0].frame, d.lost[0].flags.as_str()), (1, 500, 2, "P."));
        let owd = d.owd_us.as_ref().unwrap();
        assert_eq!((owd.min, owd.max, owd.median), (5000.0, 7000.0, 6000.0));
        assert_eq!(r.subflows[0].kind, Some("TCP"));
        assert_eq!(r.clock_offset_us, None);
    }

    /// A segment between `src` (port 1000 on the client side) and the server, with extra options.
    #[allow(clippy::too_many_arguments)]
    fn feed_at(
        p: &mut Pairer,
        side: usize,
        ms: u64,
        client: (&str, u16),
        c2s: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        len: u32,
        extra: &[u8],
    ) {
        let mut opts = vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];
        opts.extend_from_slice(extra);
        send(p, side, 0, ms, client, c2s, flags, seq, ack, len, &opts);
    }

    #[test]
    fn a_join_behind_a_nat_that_rewrites_addresses_ports_and_isns_is_matched() {
        let mut p = Pairer::new(PairOptions::default());
        // MP_JOIN SYN: token 0xa1b2c3d4, address id 2, nonce 0x01020304 (RFC 8684 Figure 5)
        let join_syn = [30, 12, 0x10, 2, 0xa1, 0xb2, 0xc3, 0xd4, 1, 2, 3, 4];
        // MP_JOIN SYN/ACK: address id 0, truncated HMAC, nonce (Figure 6)
        let join_synack = [30, 16, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9];
        let (cl, nat) = (("198.51.100.1", 1000), ("203.0.113.129", 5555));
        // the middlebox adds 7000 to c2s sequence numbers and 300 to s2c ones
        feed_at(&mut p, CLIENT, 0, cl, true, 0x02, 100, 0, 0, &join_syn);
        feed_at(&mut p, SERVER, 5, nat, true, 0x02, 7100, 0, 0, &join_syn);
        feed_at(&mut p, SERVER, 6, nat, false, 0x12, 900, 7101, 0, &join_synack);
        feed_at(&mut p, CLIENT, 11, cl, false, 0x12, 600, 101, 0, &join_synack);
        feed_at(&mut p, CLIENT, 20, cl, true, 0x10, 101, 601, 500, &[]);
        feed_at(&mut p, CLIENT, 21, cl, true, 0x10, 601, 601, 500, &[]); // lost
        feed_at(&mut p, SERVER, 26, nat, true, 0x10, 7101, 901, 500, &[]);
        feed_at(&mut p, SERVER, 30, nat, false, 0x10, 901, 7601, 100, &[]);
        feed_at(&mut p, CLIENT, 36, cl, false, 0x10, 601, 601, 100, &[]);
        // a plain 4-tuple elsewhere is not taken for the join
        feed_at(&mut p, SERVER, 40, ("192.0.2.1", 1000), true, 0x10, 101, 1, 500, &[]);
        let r = p.finish();
        let j = r.subflows.iter().find(|s| s.kind == Some("MP_JOIN")).expect("the join");
        assert_eq!(j.subflow, "198.51.100.1:1000->203.0.113.2:80");
        assert_eq!(j.at_server.as_deref(), Some("203.0.113.129:5555->203.0.113.2:80"));
        assert_eq!(j.linked_by, Some("MP_JOIN"));
        assert_eq!((j.c2s.sent_segments, j.c2s.matched, j.c2s.lost_count), (3, 2, 1));
        assert_eq!((j.c2s.lost[0].seq, j.c2s.lost[0].raw_seq), (501, 601));
        assert_eq!((j.s2c.sent_segments, j.s2c.matched, j.s2c.lost_count), (2, 2, 0));
        assert_eq!(j.c2s.owd_us.as_ref().map(|o| o.max), Some(6000.0));
        let other = r.subflows.iter().find(|s| s.kind.is_none()).expect("the plain flow");
        assert_eq!(other.linked_by, None);
        assert_eq!(r.matched, 4);
    }

    #[test]
    fn unmatched_segments_are_final_after_the_window_and_the_cap() {
        let mut p = Pairer::new(PairOptions { window_ns: 1_000_000_000, max_pending: 2, max_listed: 1, series: false });
        let o = &mut Vec::new();
        for i in 0..5u32 {
            feed(&mut p, CLIENT, u64::from(i) + 1, u64::from(i), true, 0x10, 1000 + i * 100, 100, i, o);
        }
        // the cap made the first three final; the window the fourth
        assert_eq!(p.npending, 2);
        feed(&mut p, SERVER, 1, 1004, false, 0x10, 7, 10, 9, o);
        assert_eq!(p.npending, 2);
        let r = p.finish();
        let d = &r.subflows[0].c2s;
        assert_eq!((d.lost_count, d.lost.len(), d.lost_list_truncated), (5, 1, true));
        assert!(!d.lost[0].relative);
        assert_eq!(r.subflows[0].s2c.lost_count, 1);
        assert_eq!(r.matched, 0);
    }

    #[test]
    fn segmentation_offload_is_matched_by_byte_coverage() {
        let mut p = Pairer::new(PairOptions::default());
        let o = &mut Vec::new();
        // TSO: one 2856-byte segment at the client, two 1428-byte ones at the server
        feed(&mut p, CLIENT, 1, 10, true, 0x10, 1000, 2856, 1, o);
        feed(&mut p, SERVER, 1, 15, true, 0x10, 1000, 1428, 1, o);
        feed(&mut p, SERVER, 2, 16, true, 0x10, 2428, 1428, 1, o);
        // GRO: two at the client, one at the server
        feed(&mut p, CLIENT, 2, 20, true, 0x10, 5000, 1428, 2, o);
        feed(&mut p, CLIENT, 3, 21, true, 0x10, 6428, 1428, 2, o);
        feed(&mut p, SERVER, 3, 30, true, 0x10, 5000, 2856, 2, o);
        // half covered: lost, and the piece seen only at the server
        feed(&mut p, CLIENT, 4, 40, true, 0x10, 9000, 2856, 3, o);
        feed(&mut p, SERVER, 4, 45, true, 0x10, 9000, 1428, 3, o);
        // exact matching still comes first
        feed(&mut p, CLIENT, 5, 50, true, 0x10, 20000, 1428, 4, o);
        feed(&mut p, SERVER, 5, 52, true, 0x10, 20000, 1428, 4, o);
        // a lost original is not covered by pieces of a later copy (another TSval)
        feed(&mut p, CLIENT, 6, 60, true, 0x10, 30000, 2856, 5, o);
        feed(&mut p, SERVER, 6, 300, true, 0x10, 30000, 1428, 6, o);
        feed(&mut p, SERVER, 7, 301, true, 0x10, 31428, 1428, 6, o);
        let r = p.finish();
        let d = &r.subflows[0].c2s;
        assert_eq!((d.sent_segments, d.received_segments, d.matched), (6, 7, 4));
        assert_eq!((d.lost_count, d.lost_bytes, d.lost[0].frame, d.lost[1].frame, d.seen_only_at_receiver), (2, 5712, 4, 6, 3));
        // delays: to the last covering piece (6 ms), each small one to the big one (10, 9 ms)
        let owd = d.owd_us.as_ref().unwrap();
        assert_eq!((owd.n, owd.min, owd.max), (4, 2000.0, 10000.0));
        assert_eq!(owd.median, 7500.0);
    }

    #[test]
    fn odd_options_do_not_panic() {
        for opts in [&[8u8][..], &[8, 10, 1], &[30, 2], &[30, 1, 0], &[2, 0, 8, 10], &[1, 1, 1, 30, 3, 0x10], &[8, 255, 0, 0]] {
            let seg = TcpSegment {
                src: C.parse().unwrap(),
                dst: S.parse().unwrap(),
                sport: 1,
                dport: 2,
                seq: 0,
                ack: 0,
                flags: TcpFlags(0x02),
                ttl: 64,
                checksum: 0,
                window: 0,
                options: opts,
                options_truncated: false,
                payload: &[],
                payload_len: 0,
            };
            let _ = tcp_options(&seg);
        }
    }
}
