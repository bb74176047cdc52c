//! DSS options to mappings and payload to data sequence numbers (RFC 8684 §3.3): 4-byte DSNs
//! and data ACKs widened against the last 64-bit value, DSS checksums accumulated over each
//! mapping, payload cut along mappings and subflow-level freshness and handed to the data level.
//! Payload that no mapping covers yet is held (`Pending`); without the handshake the ISN is
//! guessed from the mappings, and the connection found from the data sequence space.
use std::net::SocketAddr;

use super::checks::{CheckId, Verdict};
use super::data;
use super::mappings::{Added, Mapping};
use super::model::MappingRecord;
use super::state::Pending;
use super::{swap_roles, Analyzer, Anomaly, ConnState, Ctx, Dir, EventKind, ReinjectionSource};
use crate::track::kinds::{AnomalyKind, FoundBy, RoleRule};
use mptcp_wire::crypto::{self, Token};
use mptcp_wire::decode::TcpSegment;
use mptcp_wire::options::mptcp::{Dss, MptcpOption, SeqLen};
use mptcp_wire::options::mptcp_options;
use mptcp_wire::seq::{DataSeq, SubflowSeq};

/// At most this many pieces and bytes wait for a mapping per subflow direction.
const MAX_PENDING: usize = 64;

const MAX_PENDING_BYTES: usize = 256 << 10;

impl Analyzer<'_> {
    /// A subflow with DSS options and no connection (its handshake is not in the capture, or
    /// its join token is unknown) joins the connection whose data sequence space its DSNs and
    /// data ACKs fall in, or founds one. Two random 64-bit IDSNs within 2^32 of each other are
    /// a 1-in-2^31 coincidence. Returns the packet's direction (the flow's roles may be swapped
    /// to agree with the connection's).
    pub(super) fn infer_connection(&mut self, frame: u64, ts: f64, flow: usize, dir: Dir, seg: &TcpSegment<'_>) -> Dir {
        const NEAR: u64 = 1 << 32;
        let Some(f) = self.flows.get(flow) else { return dir };
        if f.connection.is_some() || f.work.mptcp_syn && f.orphan_token.is_none() {
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
                    let known = [c.work.last_dsn[x.index()], c.work.last_ack[x.flip().index()], c.work.lowest_seen[x.index()]];
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
            None => match self.new_connection(&ctx, FoundBy::DataLevel) {
                Some(cid) => (cid, false),
                None => return dir,
            },
        };
        let mut dir = dir;
        if let Some(f) = self.flows.get_mut(flow) {
            if flip {
                swap_roles(f);
                f.role_rule = RoleRule::DataLevel;
                dir = dir.flip();
            }
            // A join whose token no handshake produced now has its connection. If that
            // connection's keys are known the token is wrong (it stays the join's
            // `orphan_token`, and fails the connection's mp_join.token); if they are not, it is
            // the token of the connection's server, whose key the capture does not hold.
            if let (true, Some(token)) = (f.join, f.work.join_state.token) {
                if let Some(c) = self.conns.get_mut(cid) {
                    if c.client_key.is_some() || c.server_key.is_some() {
                        let id = CheckId::JoinToken;
                        let text = |t: Option<Token>| t.map(|t| t.to_string()).unwrap_or_default();
                        let (tc, ts) = (text(c.client_token), text(c.server_token));
                        c.checks.record(id, Verdict::Fail, f.first_frame, || {
                            format!("MP_JOIN SYN at frame {} carries token {token:08x}; its DSNs put it in this connection, whose tokens are {tc}/{ts}", f.first_frame)
                        });
                    } else if c.server_token.is_none() {
                        c.server_token = Some(Token(token));
                    }
                }
            }
        }
        // Where the rebuilt streams start: mapped DSNs only (see Connection::note_seen).
        for (v, fdir) in spaces.into_iter().take(1).flatten() {
            let x = if flip { fdir.flip() } else { fdir };
            if let Some(c) = self.conns.get_mut(cid) {
                let slot = &mut c.work.lowest_seen[x.index()];
                *slot = Some(slot.map_or(v, |o| o.min(v)));
            }
        }
        dir
    }

    /// After fallback the subflow stream is the data stream: its FIN ends the data (§3.7).
    pub(super) fn fin_under_infinite_mapping(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let Some(cid) = f.connection else { return };
        let d = f.work.dir(ctx.dir);
        let Some(isn) = d.isn else { return };
        let rel = seg.seq.wrapping_add(seg.payload_len).wrapping_sub(isn);
        let fin_dsn = d.mappings.find_infinite(rel).map(|(m, off)| m.dsn + off as usize);
        if let Some(dsn) = fin_dsn {
            let start = self.conns.get(cid).and_then(|c| c.data_start(ctx.dir));
            self.data.data_fin(cid, ctx.dir, dsn, start, ctx.frame);
        }
    }

    pub(super) fn on_dss(&mut self, ctx: &Ctx, d: &Dss) {
        let Some(cid) = self.conn_of(ctx.flow) else {
            // A 64-bit DSN needs no connection to be read (a join whose connection is elsewhere).
            if let Some(m) = d.mapping.filter(|m| m.dsn_len == SeqLen::Eight) {
                let (length, data_fin, checksum) = (m.data_level_length, d.data_fin, m.checksum);
                self.cur.mapping = Some(MappingRecord {
                    dsn: DataSeq(m.dsn),
                    subflow_seq: SubflowSeq(m.subflow_seq),
                    length,
                    data_fin,
                    checksum,
                    implicit: false,
                });
            }
            self.orphan_flow(ctx, "dss_without_connection");
            return;
        };
        let di = ctx.dir.index();
        if let Some(ack) = d.data_ack {
            if let Some(conn) = self.conns.get_mut(cid) {
                let peer = ctx.dir.flip().index();
                let reference = conn.work.last_dsn[peer].or(conn.work.last_ack[di]);
                let value = match (ack.len, reference) {
                    (SeqLen::Eight, _) => Some(DataSeq(ack.value)),
                    (_, Some(r)) => Some(DataSeq::expand32(ack.value as u32, r)),
                    (_, None) => None,
                };
                if let Some(v) = value {
                    conn.work.last_ack[di] = Some(conn.work.last_ack[di].map_or(v, |old| old.max(v)));
                    // A data ACK in this direction acknowledges the other direction's data.
                    let acked = conn.data_mut(ctx.dir.flip());
                    acked.data_acked = Some(acked.data_acked.map_or(v, |old| old.max(v)));
                    self.cur.data_ack = Some(v);
                }
            }
        }
        if let Some(m) = d.mapping {
            let Some(conn) = self.conns.get_mut(cid) else { return };
            let record = |dsn: DataSeq| MappingRecord {
                dsn,
                subflow_seq: SubflowSeq(m.subflow_seq),
                length: m.data_level_length,
                data_fin: d.data_fin,
                checksum: m.checksum,
                implicit: false,
            };
            let reference = conn.work.last_dsn[di]
                .or_else(|| conn.key(ctx.dir).zip(conn.crypto_version()).map(|(k, v)| crypto::key_material(v, k).idsn.first_dsn()));
            let dsn = match (m.dsn_len, reference) {
                (SeqLen::Eight, _) => DataSeq(m.dsn),
                (_, Some(r)) => DataSeq::expand32(m.dsn as u32, r),
                (_, None) => {
                    let max = self.limits.max_anomalies;
                    conn.anomaly(max, ctx.frame, AnomalyKind::DsnUnexpandable, || "4-byte DSN before any 64-bit reference".into());
                    return;
                }
            };
            conn.note_seen(ctx.dir, dsn);
            self.cur.mapping = Some(record(dsn));
            if m.data_level_length == 0 {
                // Infinite mapping: fallback (RFC 8684 §3.7).
                if conn.fallback.is_none() {
                    conn.state = ConnState::Fallback;
                    let after = conn.checksum_failures.iter().filter_map(|x| x.mp_fail_frame).next_back();
                    let detail = match after {
                        Some(f) => {
                            format!("infinite mapping at DSN {}, the answer to the MP_FAIL at frame {f} (DSS checksum failure)", dsn.0)
                        }
                        None => format!("infinite mapping at DSN {}", dsn.0),
                    };
                    conn.fallback = Some(Anomaly { frame: ctx.frame, kind: AnomalyKind::InfiniteMapping, detail });
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
                conn.work.last_dsn[di] = Some(conn.work.last_dsn[di].map_or(end, |old| old.max(end)));
            }
        } else if d.data_fin {
            // DATA_FIN without a mapping is not allowed by §3.3.3 (the mapping carries it).
            let max = self.limits.max_anomalies;
            if let Some(conn) = self.conns.get_mut(cid) {
                conn.anomaly(max, ctx.frame, AnomalyKind::DataFinWithoutMapping, || "DSS with F but no mapping".into());
            }
        }
    }

    /// Records a mapping on the current subflow direction and starts its checksum.
    pub(super) fn add_mapping(&mut self, ctx: &Ctx, m: Mapping, checksum: Option<u16>, dll: u16, fin: bool) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.work.dir_mut(ctx.dir);
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
                    let id = CheckId::MappingConsistency;
                    match conflict {
                        None => conn.checks.record(id, Verdict::Pass, ctx.frame, String::new),
                        Some(x) => conn.checks.record(id, Verdict::Fail, ctx.frame, || {
                            format!(
                                "mapping subflow seq {}+{} -> DSN {} overlaps subflow seq {}+{} -> DSN {} with another offset",
                                m.ssn, m.data_len, m.dsn, x.ssn, x.data_len, x.dsn
                            )
                        }),
                    }
                }
            }
        }
        if let Some(wire) = checksum {
            self.start_checksum(ctx, m, wire, dll, fin, repeat);
        }
    }

    /// Maps a segment's payload to data sequence numbers and hands it to the data level.
    pub(super) fn payload(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let Some(cid) = f.connection else { return };
        if f.work.dir(ctx.dir).isn.is_none() {
            self.guess_isn(ctx, seg);
        }
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let d = f.work.dir(ctx.dir);
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
        // Data-level placement, mapping by mapping (a segment may straddle mappings), and
        // within a mapping by subflow-level freshness (a TCP retransmission re-sends subflow
        // sequence space already carried; only the rest is new at the subflow level).
        let Some(f) = self.flows.get(ctx.flow) else { return };
        let pieces = f.work.dir(ctx.dir).mappings.pieces(rel, wire_len);
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
                    self.cur.dsn = Some(dsn);
                }
                let kind = if !is_fresh {
                    super::receiver::Carry::Retransmission
                } else if one_byte {
                    super::receiver::Carry::OneByte
                } else {
                    super::receiver::Carry::Normal
                };
                let carried =
                    data::Carried { flow: ctx.flow, dsn, captured: bytes, wire_len: b - a, kind, frame: ctx.frame, ts_ns: ctx.ts_ns };
                // The content of a checksummed mapping waits for its verdict (track/checksum.rs):
                // the piece is placed now as seen on the wire, its bytes once the checksum passed.
                let held = self.hold_unchecked(ctx.flow, ctx.dir, &carried);
                let carried = if held { data::Carried { captured: &[], ..carried } } else { carried };
                self.place_now(cid, ctx.dir, &carried);
            }
        }
        // The DSS checksum, fed in subflow order, after the bytes were held: a verdict hands
        // them to the stream or drops them.
        self.feed_checksum(ctx, seg, rel);
    }

    /// Places a piece and counts what it brought on the segment being processed.
    pub(super) fn place_now(&mut self, cid: usize, dir: Dir, carried: &data::Carried<'_>) {
        if let Some(placed) = self.place(cid, dir, carried) {
            self.cur.new_bytes += placed.new_bytes;
            self.cur.reinjected_bytes += placed.reinjected_bytes;
            self.cur.reinjected_same_subflow_bytes += placed.reinjected_same_subflow_bytes;
        }
    }

    /// Hands mapped payload to the data level and books what it found on the subflow that
    /// carried it and on its connection.
    fn place(&mut self, cid: usize, dir: Dir, carried: &data::Carried<'_>) -> Option<data::Placed> {
        let conn = self.conns.get_mut(cid)?;
        let start = conn.data_start(dir).unwrap_or(carried.dsn);
        if conn.work.syn_data[dir.index()].is_some() {
            self.data.start(cid, dir, start);
            self.lead_with_syn_data(cid, dir, start);
        }
        let conn = self.conns.get_mut(cid)?;
        let ts = carried.ts_ns as f64 / 1e9;
        let dd = conn.data_mut(dir);
        dd.first_dsn.get_or_insert(start);
        dd.start_ts.get_or_insert(ts);
        dd.end_ts = Some(ts);
        let placed = self.data.insert(cid, dir, start, carried)?;
        self.cur.delivered_bytes += placed.delivered_bytes;
        self.cur.reorder_bytes = Some(placed.reorder_bytes);
        let dd = self.conns.get_mut(cid)?.data_mut(dir);
        let sd = self.flows.get_mut(carried.flow)?.dir_mut(dir);
        sd.mapped_bytes += placed.mapped_bytes;
        sd.new_data_bytes += placed.new_bytes;
        sd.probe_bytes += placed.probe_bytes;
        dd.probe_bytes += placed.probe_bytes;
        for o in &placed.origins {
            add_source(&mut sd.reinjected_from, o);
        }
        if placed.reinjected_bytes > 0 {
            sd.reinjected_bytes += placed.reinjected_bytes;
            dd.reinjections += 1;
            dd.reinjected_bytes += placed.reinjected_bytes;
        }
        Some(placed)
    }

    /// Keeps first-copy payload that cannot be placed yet (no mapping, or no ISN), within
    /// bounds; beyond them it is counted as unmapped.
    fn hold(&mut self, ctx: &Ctx, cid: usize, seq: u32, len: u32, captured: &[u8]) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.work.dir_mut(ctx.dir);
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
        let d = f.work.dir_mut(ctx.dir);
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
        let d = f.work.dir_mut(dir);
        let Some(isn) = d.isn else { return };
        let waiting = std::mem::take(&mut d.pending);
        let mut keep = Vec::new();
        for p in waiting {
            let pieces = match self.flows.get(flow) {
                Some(f) => f.work.dir(dir).mappings.pieces(p.seq.wrapping_sub(isn), p.len),
                None => break,
            };
            for (off, take, what) in pieces.iter() {
                let bytes = p.bytes.get((off as usize).min(p.bytes.len())..((off + take) as usize).min(p.bytes.len())).unwrap_or(&[]);
                match what {
                    Some((dsn, one_byte)) => {
                        let kind = if one_byte { super::receiver::Carry::OneByte } else { super::receiver::Carry::Normal };
                        let carried = data::Carried { flow, dsn, captured: bytes, wire_len: take, kind, frame: p.frame, ts_ns: p.ts_ns };
                        if let Some(placed) = self.place(cid, dir, &carried) {
                            self.held_came_first(flow, dir, p.frame, &placed);
                        }
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
            f.work.dir_mut(dir).pending = keep;
        }
    }

    /// Held payload placed late: bytes another subflow carried only after this held copy was
    /// captured (its run began at a later frame) were first carried here. The classes follow
    /// capture order: this copy is the new one, the later one the reinjection.
    fn held_came_first(&mut self, flow: usize, dir: Dir, frame: u64, placed: &data::Placed) {
        for o in &placed.origins {
            let Some(other) = o.subflow.filter(|&s| s != flow && o.first_frame > frame) else { continue };
            if let Some(sd) = self.flows.get_mut(flow).map(|f| f.dir_mut(dir)) {
                sd.new_data_bytes += o.bytes;
                sd.reinjected_bytes = sd.reinjected_bytes.saturating_sub(o.bytes);
                if let Some(r) = sd.reinjected_from.iter_mut().find(|r| r.subflow == Some(other)) {
                    r.bytes = r.bytes.saturating_sub(o.bytes);
                }
                sd.reinjected_from.retain(|r| r.bytes > 0);
            }
            if let Some(sd) = self.flows.get_mut(other).map(|f| f.dir_mut(dir)) {
                sd.new_data_bytes = sd.new_data_bytes.saturating_sub(o.bytes);
                sd.reinjected_bytes += o.bytes;
                add_source(
                    &mut sd.reinjected_from,
                    &data::Origin { subflow: Some(flow), bytes: o.bytes, delay_ms: None, first_frame: frame },
                );
            }
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
                conn.anomaly(max, frame, AnomalyKind::UnmappedData, || {
                    format!("{n} payload bytes at relative subflow seq {rel} are outside every mapping seen (first of {n}+ such bytes)")
                });
            }
        }
    }

    /// When its connection finishes, held payload of flow `id` that no mapping came for is
    /// unmapped.
    pub(super) fn flush_pending_of(&mut self, id: usize) {
        // A checksum never judged (its mapping not all captured): its bytes as they came.
        for d in [Dir::C2s, Dir::S2c] {
            self.release_unchecked(id, d, false);
        }
        let mut left = Vec::new();
        let Some(f) = self.flows.get_mut(id) else { return };
        for d in [Dir::C2s, Dir::S2c] {
            let isn = f.work.dir(d).isn;
            for p in std::mem::take(&mut f.work.dir_mut(d).pending) {
                if let Some(cid) = f.connection {
                    left.push((f.id, d, cid, p.frame, isn.map_or(p.seq, |i| p.seq.wrapping_sub(i)), p.len));
                }
            }
        }
        for (flow, d, cid, frame, rel, n) in left {
            self.unmapped(flow, d, cid, frame, rel, n);
        }
    }
}

/// Adds reinjected bytes to the per-origin list (at most 16 origins; the first delay stays).
fn add_source(list: &mut Vec<ReinjectionSource>, o: &data::Origin) {
    let full = list.len() >= 16;
    match list.iter_mut().find(|r| r.subflow == o.subflow) {
        Some(r) => r.bytes += o.bytes,
        None if !full => list.push(ReinjectionSource { subflow: o.subflow, bytes: o.bytes, first_delay_ms: o.delay_ms }),
        None => {}
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
