//! DSS checksums (RFC 8684 §3.3.1) and what a failure leads to (§3.7).
//!
//! A checksum covers a mapping's pseudo-header and its whole payload, which may span segments:
//! it is accumulated in subflow order and judged when the last byte arrives. The receiver only
//! hands a mapping's data on once its checksum passed, so the payload of a checksummed mapping
//! is held here until then (at most one mapping, 64 KiB, per subflow direction). When it fails
//! and the connection has another subflow, the receiver drops the data, answers with MP_FAIL and
//! resets the subflow, and the data reaches it again as a reinjection on another subflow: the
//! held bytes are dropped. On a connection that never had another subflow the receiver keeps the
//! data and both ends fall back to TCP (infinite mapping): the held bytes are placed.
//! (Linux, net/mptcp/subflow.c: a failed checksum resets the subflow unless the connection may
//! still fall back, which joining another subflow rules out.)
use super::checks::{CheckId, Verdict};
use super::data;
use super::mappings::Mapping;
use super::model::ChecksumFailure;
use super::{Analyzer, Ctx, Dir};
use mptcp_wire::crypto::{DssChecksum, DssChecksumVerdict};
use mptcp_wire::decode::TcpSegment;
use mptcp_wire::seq::DataSeq;

/// At most this many checksum failures are kept per connection.
const MAX_FAILURES: usize = 16;

/// DSS checksum being accumulated over a mapping's payload, which may span segments.
#[derive(Debug, Clone, Copy)]
pub(super) struct CsumInProgress {
    acc: DssChecksum,
    dsn: DataSeq,
    ssn: u32,
    data_len: u32,
    fed: u32,
    wire: u16,
    frame: u64,
    /// Length exactly 1 with DATA_FIN: the kernel does not validate these (see crypto docs).
    fin_only: bool,
}

/// Payload of the checksummed mapping being verified, in arrival order: one byte buffer and
/// the pieces cut from it (both keep their capacity from mapping to mapping).
#[derive(Debug, Clone, Default)]
pub(super) struct Unchecked {
    pieces: Vec<Piece>,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Piece {
    dsn: DataSeq,
    at: usize,
    captured: usize,
    wire_len: u32,
    frame: u64,
    ts_ns: u64,
}

impl Analyzer<'_> {
    /// A mapping with a DSS checksum arrived (after it was recorded): starts verifying it.
    pub(super) fn start_checksum(&mut self, ctx: &Ctx, m: Mapping, wire: u16, dll: u16, fin: bool, repeat: bool) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let d = f.work.dir_mut(ctx.dir);
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
        if let Some(st) = stale {
            self.csum_not_checkable(ctx, st.frame, "the mapping's payload was not all captured in order");
        }
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            f.work.dir_mut(ctx.dir).csum =
                Some(CsumInProgress { acc, dsn: m.dsn, ssn: m.ssn, data_len, fed: 0, wire, frame: ctx.frame, fin_only });
        }
        if data_len == 0 {
            self.csum_complete(ctx);
        }
    }

    /// Feeds the part of a segment's payload (subflow offset `rel`) that the checksum in
    /// progress still needs, in subflow order.
    pub(super) fn feed_checksum(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>, rel: u32) {
        let Some(c) = self.flows.get(ctx.flow).and_then(|f| f.work.dir(ctx.dir).csum) else { return };
        let wire_len = seg.payload_len;
        let start = rel.wrapping_sub(c.ssn.wrapping_add(c.fed));
        if start != 0 && (start as i32) >= 0 {
            return; // a hole before this segment: wait for it
        }
        // Skip what was already fed (retransmission), feed the rest.
        let skip = if start == 0 { 0 } else { start.wrapping_neg() };
        if skip >= wire_len {
            return;
        }
        let avail = (wire_len - skip).min(c.data_len - c.fed);
        if !seg.payload_complete() {
            self.csum_not_checkable(ctx, c.frame, "payload cut by the capture's snaplen");
            return;
        }
        let bytes = seg.payload.get(skip as usize..(skip + avail) as usize).unwrap_or(&[]);
        let Some(cs) = self.flows.get_mut(ctx.flow).and_then(|f| f.work.dir_mut(ctx.dir).csum.as_mut()) else { return };
        cs.acc.update(bytes);
        cs.fed += avail;
        if cs.fed >= cs.data_len {
            self.csum_complete(ctx);
        }
    }

    /// The checksum in progress cannot be judged: its held bytes are placed as they came.
    fn csum_not_checkable(&mut self, ctx: &Ctx, frame: u64, why: &'static str) {
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            f.work.dir_mut(ctx.dir).csum = None;
        }
        if let Some(conn) = self.conn_of(ctx.flow).and_then(|c| self.conns.get_mut(c)) {
            let id = CheckId::DssChecksum;
            conn.checks.record(id, Verdict::NotCheckable, frame, || why.into());
        }
        self.release_unchecked(ctx.flow, ctx.dir, false);
    }

    fn csum_complete(&mut self, ctx: &Ctx) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let Some(c) = f.work.dir_mut(ctx.dir).csum.take() else { return };
        let Some(cid) = f.connection else { return };
        // Linux drops a failed mapping and resets the subflow once the connection cannot fall
        // back any more: after another subflow joined.
        let joined = self.conns.get(cid).is_some_and(|conn| self.subflows_of(conn).any(|s| s.join && s.established_ts.is_some()));
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let id = CheckId::DssChecksum;
        let mut drop = false;
        match c.acc.check(c.wire) {
            DssChecksumVerdict::Pass => conn.checks.record(id, Verdict::Pass, c.frame, String::new),
            DssChecksumVerdict::LegacyByteSwapped => conn.checks.record(id, Verdict::Legacy, c.frame, || {
                format!("checksum {:04x} is the byte-swapped value (Linux 5.14-5.18 on little-endian)", c.wire)
            }),
            DssChecksumVerdict::Fail if c.fin_only => conn
                .checks
                .record(id, Verdict::NotCheckable, c.frame, || "DATA_FIN-only mapping: receivers do not validate its checksum".into()),
            DssChecksumVerdict::Fail => {
                conn.checks.record(id, Verdict::Fail, c.frame, || {
                    format!("checksum {:04x} on the wire, {:04x} computed over the mapping at DSN {}", c.wire, c.acc.finish(), c.dsn.0)
                });
                drop = joined;
                if conn.checksum_failures.len() < MAX_FAILURES {
                    conn.checksum_failures.push(ChecksumFailure {
                        frame: Some(c.frame),
                        subflow: ctx.flow,
                        dir: ctx.dir,
                        dsn: Some(c.dsn),
                        length: c.data_len,
                        dropped: drop,
                        mp_fail_frame: None,
                        mp_fail_dsn: None,
                        others_open: None,
                        mp_fail_echo_frame: None,
                        options_stopped_frame: None,
                    });
                }
            }
        }
        self.release_unchecked(ctx.flow, ctx.dir, drop);
    }

    /// Holds a piece of payload that lies in the checksummed mapping being verified; false
    /// when there is none or the piece is outside it (then it is placed at once).
    pub(super) fn hold_unchecked(&mut self, flow: usize, dir: Dir, p: &data::Carried<'_>) -> bool {
        let Some(d) = self.flows.get_mut(flow).map(|f| f.work.dir_mut(dir)) else { return false };
        let Some(c) = d.csum.filter(|c| !c.fin_only) else { return false };
        let inside = p.dsn.0.wrapping_sub(c.dsn.0) < u64::from(c.data_len);
        if !inside {
            return false;
        }
        let u = &mut d.unchecked;
        u.pieces.push(Piece {
            dsn: p.dsn,
            at: u.bytes.len(),
            captured: p.captured.len(),
            wire_len: p.wire_len,
            frame: p.frame,
            ts_ns: p.ts_ns,
        });
        u.bytes.extend_from_slice(p.captured);
        true
    }

    /// Hands the held payload of a subflow direction to the stream (its checksum passed, could
    /// not be judged, or failed where the receiver keeps the data), or drops it (`drop`: counted;
    /// its range stays seen-but-uncaptured until another copy brings the bytes). The pieces were
    /// counted when they arrived; this only fills in their content.
    pub(super) fn release_unchecked(&mut self, flow: usize, dir: Dir, drop: bool) {
        let Some(f) = self.flows.get_mut(flow) else { return };
        let Some(cid) = f.connection else { return };
        let d = &mut f.work.dir_mut(dir);
        if d.unchecked.pieces.is_empty() {
            return;
        }
        let mut u = std::mem::take(&mut d.unchecked);
        if drop {
            let n: u64 = u.pieces.iter().map(|p| u64::from(p.wire_len)).sum();
            f.out.dir_mut(dir).checksum_failed_bytes += n;
            if let Some(conn) = self.conns.get_mut(cid) {
                conn.data_mut(dir).checksum_failed_bytes += n;
            }
        } else if let Some(start) = self.conns.get(cid).and_then(|c| c.data_start(dir)) {
            for p in &u.pieces {
                let captured = u.bytes.get(p.at..p.at + p.captured).unwrap_or(&[]);
                self.data.fill(cid, dir, start, p.dsn, captured, flow, p.frame, p.ts_ns);
            }
        }
        u.pieces.clear();
        u.bytes.clear();
        if let Some(f) = self.flows.get_mut(flow) {
            f.work.dir_mut(dir).unchecked = u;
        }
    }

    /// An MP_FAIL from the receiver of direction `ctx.dir.flip()`'s data on this subflow:
    /// tied to the checksum failure it answers (or noted alone, when the capture did not see
    /// the data fail: corrupted after the capture point).
    pub(super) fn note_mp_fail(&mut self, ctx: &Ctx, cid: usize, dsn: u64) {
        let data_dir = ctx.dir.flip();
        let others_open =
            self.conns.get(cid).map(|c| self.subflows_of(c).any(|s| s.id != ctx.flow && s.established_ts.is_some() && s.end.is_none()));
        let Some(conn) = self.conns.get_mut(cid) else { return };
        // The data sender answering an MP_FAIL with its own (Linux does, then falls back).
        if let Some(x) = conn
            .checksum_failures
            .iter_mut()
            .find(|x| x.subflow == ctx.flow && x.dir == ctx.dir && x.mp_fail_frame.is_some() && x.mp_fail_echo_frame.is_none())
        {
            x.mp_fail_echo_frame = Some(ctx.frame);
            return;
        }
        let n = conn.checksum_failures.len();
        match conn.checksum_failures.iter_mut().find(|x| x.subflow == ctx.flow && x.dir == data_dir && x.mp_fail_frame.is_none()) {
            Some(x) => {
                x.mp_fail_frame = Some(ctx.frame);
                x.mp_fail_dsn = Some(DataSeq(dsn));
                x.others_open = others_open;
            }
            None if n < MAX_FAILURES => conn.checksum_failures.push(ChecksumFailure {
                frame: None,
                subflow: ctx.flow,
                dir: data_dir,
                dsn: None,
                length: 0,
                dropped: false,
                mp_fail_frame: Some(ctx.frame),
                mp_fail_dsn: Some(DataSeq(dsn)),
                others_open,
                mp_fail_echo_frame: None,
                options_stopped_frame: None,
            }),
            None => {}
        }
    }

    /// A segment without any MPTCP option on a subflow of connection `cid`: the first one
    /// from a data sender after an MP_FAIL about its data is noted.
    pub(super) fn note_no_options(&mut self, ctx: &Ctx, cid: usize) {
        let Some(conn) = self.conns.get_mut(cid) else { return };
        for x in conn.checksum_failures.iter_mut() {
            if x.subflow == ctx.flow && x.dir == ctx.dir && x.mp_fail_frame.is_some() && x.options_stopped_frame.is_none() {
                x.options_stopped_frame = Some(ctx.frame);
            }
        }
    }
}
