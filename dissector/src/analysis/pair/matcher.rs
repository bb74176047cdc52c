//! The matching: each TCP segment of either capture joins its flow (linked across the captures
//! by SYN identity or 4-tuple) and waits, within the window, for its copy at the other capture;
//! a copy left unmatched becomes final (lost, or seen only at the receiver). Segments with a DSS
//! mapping are recorded for the reinjection verdicts.
use std::collections::VecDeque;

use super::ident::{idents, Flow4, Ident};
use super::model::{LinkedBy, PairOptions, CLIENT, SERVER};
use super::reinject::Reinjector;
use mptcp_wire::decode::TcpSegment;
use mptcp_wire::options::tcp::{TcpOption, TcpOptionIter, KIND_MPTCP, KIND_TIMESTAMP};

/// A covering segment starts at most this many bytes before the segment it covers.
pub(super) const MAX_COVER_SPAN: u32 = 1 << 20;

/// One copy of a segment seen in one capture.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    pub(super) ts: u64,
    tsval: Option<u32>,
    ack: u32,
    pub(super) flags: u8,
    pub(super) frame: u64,
    /// Used to cover a segment of the other capture (segmentation offload): not unmatched.
    used: bool,
    /// Index of its [`DataRec`] among that capture's records, `NO_REC` without one.
    rec: u64,
}

const NO_REC: u64 = u64::MAX;

/// The flow of a segment over [`PairOptions::max_flows`]: not followed.
const NO_FLOW: u32 = u32::MAX;

/// How many recent DSS mappings per subflow and capture are kept for segments without their own.
const MAX_MAPS: usize = 16;

/// A segment with its own DSS mapping, for the reinjection verdicts.
#[derive(Debug, Clone, Copy)]
pub(super) struct DataRec {
    pub(super) flow: u32,
    pub(super) ts: u64,
    pub(super) frame: u64,
    /// Subflow sequence number relative to the ISN.
    pub(super) rel_seq: u32,
    pub(super) dsn: u64,
    /// A 4-byte DSN (kept in its own, 32-bit, space: ranges across its wrap are not compared).
    pub(super) short: bool,
    /// In a 1-byte mapping: a window probe when its byte was sent before, not a reinjection.
    pub(super) probe: bool,
    pub(super) len: u32,
    /// When a copy at the other capture matched it.
    pub(super) peer_ts: Option<u64>,
    /// Its matching is final (its copy left the pending set): `peer_ts` will not change.
    done: bool,
}

/// The unmatched copies of one key in one capture: the first inline, more only on retransmission.
#[derive(Debug)]
pub(super) struct Pending {
    first: Seen,
    more: Vec<Seen>,
}

/// (flow index, capture, seq, len)
pub(super) type Key = (u32, u8, u32, u32);

/// Per directed flow.
#[derive(Debug, Default)]
pub(super) struct FlowState {
    /// The 4-tuple at each capture (they differ behind a NAT).
    pub(super) key: [Option<Flow4>; 2],
    /// How the flows of the two captures were found to be one.
    pub(super) linked_by: Option<LinkedBy>,
    /// Subtracted from a capture's raw sequence numbers to put them in the common space (the
    /// first capture's): non-zero only when a middlebox rewrote the ISN.
    pub(super) shift: [u32; 2],
    /// The identities this flow waits under for its other capture's copy.
    idents: Vec<Ident>,
    /// Segments seen per capture.
    pub(super) segments: [u64; 2],
    /// ISN per capture (from a SYN seen there).
    pub(super) isn: [Option<u32>; 2],
    /// Whether a SYN without ACK was sent on this flow (it is c2s then), and its MPTCP subtype.
    pub(super) syn: Option<Option<u8>>,
    /// Which capture saw this flow's first segment first (fallback orientation).
    pub(super) first_seen: Option<usize>,
    /// Final unmatched copies per capture: count, bytes, listed.
    pub(super) unmatched: [u64; 2],
    pub(super) unmatched_bytes: [u64; 2],
    pub(super) listed: [Vec<(u32, u32, Seen)>; 2],
    /// The last DSS mappings seen per capture (newest last), for segments without their own.
    maps: [VecDeque<mptcp_wire::options::mptcp::DssMapping>; 2],
    /// server time − client time of every matched segment, ns: of one in [`Pairer::stride`]
    /// in order (every one until [`PairOptions::max_samples`] were held).
    pub(super) diffs: Vec<i64>,
    /// With [`PairOptions::series`]: the client capture's time of each of `diffs`.
    pub(super) times: Vec<u64>,
    /// Segments matched (delays measured), and the smallest and largest delay, exact.
    pub(super) nmatched: u64,
    pub(super) diff_min: i64,
    pub(super) diff_max: i64,
}

impl FlowState {
    /// One matched segment's delay (server time − client time, ns; `tc` the client's time).
    fn delay(&mut self, tc: u64, tsrv: u64, stride: u64, series: bool) -> bool {
        let d = tsrv as i64 - tc as i64;
        if self.nmatched == 0 {
            (self.diff_min, self.diff_max) = (d, d);
        }
        (self.diff_min, self.diff_max) = (self.diff_min.min(d), self.diff_max.max(d));
        let keep = self.nmatched.is_multiple_of(stride);
        self.nmatched += 1;
        if keep {
            self.diffs.push(d);
            if series {
                self.times.push(tc);
            }
        }
        keep
    }
}

/// Matches the segments of two captures of the same traffic.
pub struct Pairer {
    pub(super) opts: PairOptions,
    /// (capture, 4-tuple) -> flow index (common to both captures once linked).
    pub(super) flows: ahash::HashMap<(u8, Flow4), u32>,
    /// SYN identities of flows seen at one capture so far: (capture, flow index).
    idents: ahash::HashMap<Ident, (u8, u32)>,
    pub(super) states: Vec<FlowState>,
    pending: ahash::HashMap<Key, Pending>,
    /// The keys of `pending`, ordered: the segments near a sequence number (coverage lookup).
    by_seq: std::collections::BTreeSet<Key>,
    pub(super) npending: usize,
    order: VecDeque<(u64, Key)>,
    pub(super) tcp_packets: [u64; 2],
    pub(super) first_ts: [Option<u64>; 2],
    /// Per capture: the records whose reinjection verdict is not given yet, the oldest first
    /// (taken by `reinj` as soon as the oldest one's matching is final).
    recs: [VecDeque<DataRec>; 2],
    /// Index of the first of `recs` among the capture's records.
    rec_base: [u64; 2],
    pub(super) reinj: Reinjector,
    /// What the bounds cost: segments of flows over `max_flows` (not matched), copies made
    /// final early by `max_pending` (or by the records' bound), lost segments not listed.
    pub(super) over_flows: u64,
    pub(super) pushed_out: u64,
    pub(super) listed_total: usize,
    /// One delay in `stride` is held per flow direction (doubled when the samples held reach
    /// [`PairOptions::max_samples`]); `samples` held in all.
    pub(super) stride: u64,
    samples: usize,
}

/// The TSval of the timestamp option (the last well-formed one) and the subtype of the first
/// MPTCP option: the options the matching needs, walked as the tracker walks them.
pub(super) fn tcp_options(seg: &TcpSegment<'_>) -> (Option<u32>, Option<u8>) {
    let (mut tsval, mut mptcp) = (None, None);
    for o in TcpOptionIter::new(seg.options).flatten() {
        let TcpOption::Other { kind, bytes, .. } = o else { continue };
        if kind == KIND_TIMESTAMP && bytes.len() == 10 {
            tsval = bytes.get(2..6).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes);
        }
        if kind == KIND_MPTCP && mptcp.is_none() {
            if let Some(&b) = bytes.get(2) {
                mptcp = Some(b >> 4);
            }
        }
    }
    (tsval, mptcp)
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
            recs: [VecDeque::new(), VecDeque::new()],
            rec_base: [0; 2],
            reinj: Reinjector::new(opts.max_listed, opts.window_ns, opts.max_pieces),
            over_flows: 0,
            pushed_out: 0,
            listed_total: 0,
            stride: 1,
            samples: 0,
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
            free(&self.states, i).then_some((i, LinkedBy::FourTuple))
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
            None if self.states.len() >= self.opts.max_flows || self.states.len() >= NO_FLOW as usize => return NO_FLOW,
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
        if fi == NO_FLOW {
            self.over_flows += 1;
            return;
        }
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
            let own = mptcp_wire::options::mptcp_options(seg.options).find_map(|o| match o {
                Ok((_, mptcp_wire::options::mptcp::MptcpOption::Dss(d))) => d.mapping,
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
                {
                    rec = self.rec_base[side] + self.recs[side].len() as u64;
                    self.recs[side].push_back(DataRec {
                        flow: fi,
                        ts,
                        frame,
                        rel_seq,
                        dsn: match m.dsn_len {
                            mptcp_wire::options::mptcp::SeqLen::Eight => m.dsn.wrapping_add(u64::from(off)),
                            mptcp_wire::options::mptcp::SeqLen::Four => u64::from((m.dsn as u32).wrapping_add(off)),
                        },
                        short: m.dsn_len == mptcp_wire::options::mptcp::SeqLen::Four,
                        probe: m.data_level_length == 1,
                        len: seg.payload_len,
                        peer_ts: None,
                        done: false,
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
            let (tc, tsrv) = if side == SERVER { (m.ts, ts) } else { (ts, m.ts) };
            if st.delay(tc, tsrv, self.stride, self.opts.series) {
                self.sampled();
            }
            for (sd, r, t) in [(side, rec, m.ts), (1 - side, m.rec, ts)] {
                self.set_peer(sd, r, t);
                self.settle(sd, r);
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
        if self.order.len() > self.npending.saturating_mul(2).saturating_add(4096) {
            self.compact_order();
        }
        // the caps: pending copies, the records waiting for their matching
        while self.npending > self.opts.max_pending {
            if !self.pop_capped() {
                break;
            }
        }
        while self.recs[side].len() > self.opts.max_records && self.recs[side].front().is_some_and(|r| !r.done) {
            if !self.pop_capped() {
                break;
            }
        }
    }

    /// A delay sample was held: past [`PairOptions::max_samples`], every other one held is
    /// dropped, in every flow, and one in twice as many is held from now on.
    fn sampled(&mut self) {
        self.samples += 1;
        if self.samples <= self.opts.max_samples {
            return;
        }
        self.stride = self.stride.saturating_mul(2);
        self.samples = 0;
        for st in &mut self.states {
            let mut i = 0;
            st.diffs.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            let mut i = 0;
            st.times.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            st.diffs.shrink_to_fit();
            st.times.shrink_to_fit();
            self.samples += st.diffs.len();
        }
    }

    /// Drops the entries of `order` whose copy is no longer pending (matched): it keeps them
    /// until their time is over otherwise, which at a high rate is many more than are pending.
    fn compact_order(&mut self) {
        let pending = &self.pending;
        self.order.retain(|(t, key)| pending.get(key).is_some_and(|p| p.first.ts == *t || p.more.iter().any(|c| c.ts == *t)));
    }

    /// [`Self::pop_oldest`] for a cap: counts a copy made final before its time.
    fn pop_capped(&mut self) -> bool {
        let n = self.npending;
        let more = self.pop_oldest();
        if self.npending < n {
            self.pushed_out += 1;
        }
        more
    }

    /// The matching of record `rec` of capture `side` is final; the records final from the
    /// oldest on get their reinjection verdict and are forgotten.
    fn settle(&mut self, side: usize, rec: u64) {
        let side = side.min(1);
        let Some(i) = rec.checked_sub(self.rec_base[side]).and_then(|i| usize::try_from(i).ok()) else { return };
        let Some(r) = self.recs[side].get_mut(i) else { return };
        r.done = true;
        while let Some(r) = self.recs[side].front().filter(|r| r.done).copied() {
            self.recs[side].pop_front();
            let idx = self.rec_base[side];
            self.rec_base[side] += 1;
            if self.is_c2s(r.flow as usize) == (side == CLIENT) {
                self.reinj.record(side, idx, &r, self.first_ts);
            }
        }
    }

    /// Whether flow `i` is sent at the client's side: a flow whose SYN (without ACK) was seen
    /// is c2s; its reverse s2c; without a SYN, the capture that saw the flow's first segment
    /// first is its sender.
    pub(super) fn is_c2s(&self, i: usize) -> bool {
        let Some(st) = self.states.get(i) else { return true };
        if st.syn.is_some() {
            return true;
        }
        let Some((side, (s, sp, d, dp))) = st.key.iter().enumerate().find_map(|(i, k)| Some((i as u8, (*k)?))) else { return true };
        let rev = self.flows.get(&(side, (d, dp, s, sp))).and_then(|&r| self.states.get(r as usize));
        if rev.is_some_and(|r| r.syn.is_some()) {
            return false;
        }
        st.first_seen != Some(SERVER)
    }

    fn expire(&mut self, now: u64) {
        while self.order.front().is_some_and(|&(t, _)| t.saturating_add(self.opts.window_ns) < now) {
            self.pop_oldest();
        }
    }

    /// Makes the oldest pending copy final (if it is still pending). False when none is left.
    pub(super) fn pop_oldest(&mut self) -> bool {
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
        self.final_copy(key, side, copy);
        self.settle(side, copy.rec);
        true
    }

    /// A copy left pending unmatched: covered by pieces at the other capture, used to cover,
    /// or lost / seen only at the receiver.
    fn final_copy(&mut self, key: Key, side: usize, copy: Seen) {
        if let Some(t_other) = self.cover(key, copy) {
            self.set_peer(side, copy.rec, t_other);
            let (tc, tsrv) = if side == SERVER { (t_other, copy.ts) } else { (copy.ts, t_other) };
            let (stride, series) = (self.stride, self.opts.series);
            if self.states.get_mut(key.0 as usize).is_some_and(|st| st.delay(tc, tsrv, stride, series)) {
                self.sampled();
            }
            return;
        }
        if copy.used {
            return;
        }
        if let Some(st) = self.states.get_mut(key.0 as usize) {
            st.unmatched[side] += 1;
            st.unmatched_bytes[side] += u64::from(key.3);
            if st.listed[side].len() < self.opts.max_listed && self.listed_total < self.opts.max_listed_total {
                st.listed[side].push((key.2, key.3, copy));
                self.listed_total += 1;
            }
        }
    }

    fn set_peer(&mut self, side: usize, rec: u64, ts: u64) {
        let side = side.min(1);
        let Some(i) = rec.checked_sub(self.rec_base[side]).and_then(|i| usize::try_from(i).ok()) else { return };
        if let Some(r) = self.recs[side].get_mut(i) {
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
}
