//! TCP Fast Open on an MPTCP connection (Linux ≥ 6.2, net/mptcp/fastopen.c). The MP_CAPABLE
//! SYN carries payload, which the server hands to the application ahead of the data-level
//! stream, but which lies outside the data sequence space: DSN IDSN + 1 is the first byte after
//! it, and the DSS mappings count subflow sequence numbers from its end (both stacks move the
//! subflow's ISN by its length). The rebuilt stream is that payload, then the data level.
use super::data::DataLevel;
use super::{Analyzer, Ctx, Dir};
use crate::track::kinds::AnomalyKind;
use mptcp_wire::decode::TcpSegment;
use mptcp_wire::seq::DataSeq;

/// The payload of a connection's SYN, until the stream of its direction starts.
#[derive(Debug, Clone, Default)]
pub(super) struct SynData {
    bytes: Vec<u8>,
    wire_len: u32,
}

impl Analyzer<'_> {
    /// Payload on a SYN. On the MP_CAPABLE SYN of a connection it is TCP Fast Open data: kept
    /// to lead the stream, and the subflow's mappings count from its end.
    pub(super) fn syn_payload(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        let (Some(cid), false) = (f.connection, f.join) else { return };
        f.work.dir_mut(ctx.dir).isn = Some(seg.seq.wrapping_add(seg.payload_len));
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let slot = &mut conn.work.syn_data[ctx.dir.index()];
        if slot.is_none() {
            let max = self.limits.max_anomalies;
            *slot = Some(Box::new(SynData { bytes: seg.payload.to_vec(), wire_len: seg.payload_len }));
            conn.data_mut(ctx.dir).syn_data_bytes = u64::from(seg.payload_len);
            conn.anomaly(max, ctx.frame, AnomalyKind::FastOpen, || {
                format!("the SYN carries {} bytes (TCP Fast Open): the stream begins with them, before DSN IDSN + 1", seg.payload_len)
            });
        }
    }

    /// Hands a direction's SYN payload, if any, to the data level ahead of its first byte.
    pub(super) fn lead_with_syn_data(&mut self, cid: usize, dir: Dir, start: DataSeq) {
        let Some(s) = self.conns.get_mut(cid).and_then(|c| c.work.syn_data[dir.index()].take()) else { return };
        self.data.lead(cid, dir, start, &s.bytes, s.wire_len);
    }
}

impl DataLevel<'_> {
    /// Bytes that come before `start` in the stream the application reads but outside the data
    /// sequence space (TCP Fast Open): hashed and handed to the sink first, numbered just below
    /// `start`.
    pub fn lead(&mut self, conn: usize, dir: Dir, start: DataSeq, captured: &[u8], wire_len: u32) {
        let dsn = start.0.wrapping_sub(u64::from(wire_len));
        self.deliver_outside(conn, dir, dsn, captured, wire_len);
    }
}
